//! JSON -> postcard.

use serde_json::{Map, Value};

use super::int::write_varint;
use super::{JsonKind, TranscodeError, TranscodeErrorKind, definition, enter, known_names};
use crate::schema::{Definition, Shape, Type, Variant, VariantShape};

/// Writes postcard bytes while walking a JSON value along its type.
pub(super) struct Encoder<'a> {
    types: &'a [Definition],
    pub(super) out: Vec<u8>,
}

impl<'a> Encoder<'a> {
    pub(super) fn new(types: &'a [Definition]) -> Self {
        Self {
            types,
            out: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> Vec<u8> {
        self.out
    }

    /// Writes `json` as a value of type `ty`.
    ///
    /// Each kind of type has its own function: this one recurses once per
    /// level of the value, and a debug build gives a function a stack
    /// frame as large as all of its arms together.
    pub(super) fn value(
        &mut self,
        json: &Value,
        ty: &Type,
        depth: usize,
    ) -> Result<(), TranscodeError> {
        let depth = enter(depth)?;
        match ty {
            // `null` is `None`: `Some(None)` of an `Option<Option<T>>` has no
            // JSON of its own, as in `serde_json`.
            Type::Option(_) if json.is_null() => {
                self.out.push(0);
                Ok(())
            }
            Type::Option(inner) => {
                self.out.push(1);
                self.value(json, inner, depth)
            }
            Type::Seq(item) => {
                let items = array(json)?;
                self.len(items.len());
                self.elements(items, item, depth)
            }
            Type::Map { key, value } => self.map(json, key, value, depth),
            Type::Tuple(items) => self.tuple(array(json)?, items, depth),
            Type::Array { item, len } => {
                let items = array(json)?;
                check_len(items.len(), *len as usize)?;
                self.elements(items, item, depth)
            }
            Type::Named(name) => self.named(json, name, depth),
            scalar => self.scalar(json, scalar),
        }
    }

    fn named(&mut self, json: &Value, name: &str, depth: usize) -> Result<(), TranscodeError> {
        match &definition(self.types, name)?.shape {
            Shape::UnitStruct => null(json),
            Shape::Newtype(inner) => self.value(json, inner, depth),
            Shape::TupleStruct(items) => self.tuple(array(json)?, items, depth),
            Shape::Struct(fields) => self.fields(
                object(json)?,
                fields.iter().map(|field| (field.name.as_str(), &field.ty)),
                depth,
            ),
            Shape::Enum(variants) => self.variant(json, variants, depth),
        }
    }

    /// Writes the elements of a sequence or an array.
    fn elements(
        &mut self,
        items: &[Value],
        item: &Type,
        depth: usize,
    ) -> Result<(), TranscodeError> {
        for (index, element) in items.iter().enumerate() {
            self.value(element, item, depth)
                .map_err(|error| error.at_index(index))?;
        }
        Ok(())
    }

    /// Writes the elements of a tuple, which must be as many as `types`.
    pub(super) fn tuple(
        &mut self,
        items: &[Value],
        types: &[Type],
        depth: usize,
    ) -> Result<(), TranscodeError> {
        check_len(items.len(), types.len())?;
        for (index, (element, ty)) in items.iter().zip(types).enumerate() {
            self.value(element, ty, depth)
                .map_err(|error| error.at_index(index))?;
        }
        Ok(())
    }

    /// Writes the fields of a struct, in their order, from an object keyed
    /// by their names.
    pub(super) fn fields<'f>(
        &mut self,
        object: &Map<String, Value>,
        fields: impl ExactSizeIterator<Item = (&'f str, &'f Type)> + Clone,
        depth: usize,
    ) -> Result<(), TranscodeError> {
        let mut found = 0;
        for (name, ty) in fields.clone() {
            match (object.get(name), ty) {
                (Some(json), _) => {
                    found += 1;
                    self.value(json, ty, depth)
                        .map_err(|error| error.at_key(name))?;
                }
                // As serde's derive reads a missing `Option` field.
                (None, Type::Option(_)) => self.out.push(0),
                (None, _) => return Err(TranscodeErrorKind::MissingField(name.to_owned()).into()),
            }
        }
        if found < object.len() {
            return Err(unknown_field(object, fields));
        }
        Ok(())
    }

    /// Writes an enum: `"Unit"` or `{"Variant": content}`.
    fn variant(
        &mut self,
        json: &Value,
        variants: &[Variant],
        depth: usize,
    ) -> Result<(), TranscodeError> {
        let (name, content) = match json {
            Value::String(name) => (name, None),
            Value::Object(object) if object.len() == 1 => {
                let (name, content) = object.iter().next().expect("one key");
                (name, Some(content))
            }
            Value::Object(object) => {
                return Err(TranscodeErrorKind::VariantKeys(object.len()).into());
            }
            other => {
                return Err(expected(
                    "a variant name or an object of one key, the variant",
                    other,
                ));
            }
        };
        let Some(variant) = variants.iter().find(|variant| variant.name == *name) else {
            let (known, more) = known_names(variants.iter().map(|variant| variant.name.as_str()));
            return Err(TranscodeErrorKind::UnknownVariant {
                name: name.clone(),
                known,
                more,
            }
            .into());
        };
        write_varint(u128::from(variant.index), &mut self.out);
        let Some(content) = content else {
            return match variant.shape {
                VariantShape::Unit => Ok(()),
                _ => Err(expected(
                    "an object of one key, the variant, with its content",
                    json,
                )),
            };
        };
        match &variant.shape {
            // `{"Unit": null}` is read as `"Unit"`.
            VariantShape::Unit => null(content),
            VariantShape::Newtype(inner) => self.value(content, inner, depth),
            VariantShape::Tuple(items) => {
                array(content).and_then(|items_json| self.tuple(items_json, items, depth))
            }
            VariantShape::Struct(fields) => object(content).and_then(|object| {
                self.fields(
                    object,
                    fields.iter().map(|field| (field.name.as_str(), &field.ty)),
                    depth,
                )
            }),
        }
        .map_err(|error| error.at_key(name))
    }

    pub(super) fn len(&mut self, len: usize) {
        write_varint(len as u128, &mut self.out);
    }
}

/// The error for an object with a key that is none of `fields`. Apart from
/// [`Encoder::fields`], whose stack frame is on the path of every level.
#[cold]
fn unknown_field<'f>(
    object: &Map<String, Value>,
    fields: impl ExactSizeIterator<Item = (&'f str, &'f Type)> + Clone,
) -> TranscodeError {
    let unknown = object
        .keys()
        .find(|key| !fields.clone().any(|(name, _)| name == key.as_str()))
        .map_or_else(String::new, Clone::clone);
    let (known, more) = known_names(fields.map(|(name, _)| name));
    TranscodeErrorKind::UnknownField {
        name: unknown,
        known,
        more,
    }
    .into()
}

pub(super) fn null(json: &Value) -> Result<(), TranscodeError> {
    match json {
        Value::Null => Ok(()),
        other => Err(expected("null", other)),
    }
}

pub(super) fn string<'j>(json: &'j Value, what: &'static str) -> Result<&'j str, TranscodeError> {
    match json {
        Value::String(text) => Ok(text),
        other => Err(expected(what, other)),
    }
}

pub(super) fn array(json: &Value) -> Result<&[Value], TranscodeError> {
    match json {
        Value::Array(items) => Ok(items),
        other => Err(expected("an array", other)),
    }
}

pub(super) fn object(json: &Value) -> Result<&Map<String, Value>, TranscodeError> {
    match json {
        Value::Object(object) => Ok(object),
        other => Err(expected("an object", other)),
    }
}

pub(super) fn check_len(found: usize, expected: usize) -> Result<(), TranscodeError> {
    if found == expected {
        Ok(())
    } else {
        Err(TranscodeErrorKind::Length { expected, found }.into())
    }
}

pub(super) fn expected(what: &'static str, found: &Value) -> TranscodeError {
    TranscodeErrorKind::Expected {
        expected: what,
        found: JsonKind::of(found),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::to_postcard;
    use crate::schema::{Definition, Field, Shape, Type, Variant, VariantShape};

    fn named(name: &str, shape: Shape) -> Definition {
        Definition {
            name: name.to_owned(),
            docs: String::new(),
            shape,
        }
    }

    fn shape_enum() -> Vec<Definition> {
        vec![named(
            "Shape",
            Shape::Enum(vec![
                Variant::new("Empty", "", 0, VariantShape::Unit),
                Variant::new(
                    "Circle",
                    "",
                    2,
                    VariantShape::Struct(vec![Field::new("r", "", Type::F64)]),
                ),
                Variant::new("Rect", "", 3, VariantShape::Tuple(vec![Type::U8, Type::U8])),
                Variant::new("Id", "", 4, VariantShape::Newtype(Type::String)),
            ]),
        )]
    }

    fn encode(json: &serde_json::Value, ty: &Type) -> Result<Vec<u8>, String> {
        to_postcard(json, ty, &shape_enum()).map_err(|error| error.to_string())
    }

    #[test]
    fn enums_are_externally_tagged() {
        let ty = Type::Named("Shape".to_owned());
        assert_eq!(encode(&json!("Empty"), &ty), Ok(vec![0]));
        assert_eq!(encode(&json!({"Empty": null}), &ty), Ok(vec![0]));
        let mut circle = vec![2];
        circle.extend_from_slice(&1.0f64.to_le_bytes());
        assert_eq!(encode(&json!({"Circle": {"r": 1.0}}), &ty), Ok(circle));
        assert_eq!(encode(&json!({"Rect": [1, 2]}), &ty), Ok(vec![3, 1, 2]));
        assert_eq!(encode(&json!({"Id": "a"}), &ty), Ok(vec![4, 1, b'a']));
        assert_eq!(
            encode(&json!({"Circle": {"r": "big"}}), &ty),
            Err("at $.Circle.r: expected a number (f64), found a string".to_owned())
        );
        assert_eq!(
            encode(&json!("Circle"), &ty),
            Err("at $: expected an object of one key, the variant, with its content, found a string".to_owned())
        );
        assert_eq!(
            encode(&json!({"Empty": null, "Id": "a"}), &ty),
            Err("at $: expected an object of one key, the variant, found 2 keys".to_owned())
        );
    }

    #[test]
    fn a_type_that_only_holds_itself_ends_at_the_depth_limit() {
        let types = vec![named(
            "Loop",
            Shape::Newtype(Type::Named("Loop".to_owned())),
        )];
        let error = to_postcard(&json!(1), &Type::Named("Loop".to_owned()), &types).unwrap_err();
        assert_eq!(error.to_string(), "at $: nested deeper than 256 levels");
        let error = to_postcard(&json!(1), &Type::Named("Nowhere".to_owned()), &types).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at $: type `Nowhere` is not defined in the schema"
        );
    }
}
