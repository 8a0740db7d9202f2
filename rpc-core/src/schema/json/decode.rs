//! postcard -> JSON.
//!
//! The bytes and the schema may both be hostile. Every element of a
//! sequence, map or array takes at least one byte unless its type takes
//! none, so a count beyond the remaining bytes fails at once, before
//! anything is allocated; counts of types that take no bytes (`Vec<()>`)
//! draw on one budget for the whole value.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::int::read_varint;
use super::{
    MAX_EMPTY_ELEMENTS, MAX_JSON_DEPTH, TranscodeError, TranscodeErrorKind, definition, enter,
};
use crate::schema::{Definition, Shape, Type, Variant, VariantShape};

/// Reads postcard bytes while walking a type, building its JSON.
pub(super) struct Decoder<'a> {
    pub(super) rest: &'a [u8],
    types: &'a [Definition],
    /// Whether values of a named type may take no bytes; `None` while it is
    /// being worked out, which ends recursion through the type itself.
    empty: HashMap<&'a str, Option<bool>>,
    /// How many more elements of types that take no bytes may be decoded.
    empty_budget: usize,
}

impl<'a> Decoder<'a> {
    pub(super) fn new(bytes: &'a [u8], types: &'a [Definition]) -> Self {
        Self {
            rest: bytes,
            types,
            empty: HashMap::new(),
            empty_budget: MAX_EMPTY_ELEMENTS,
        }
    }

    /// How many bytes are left.
    pub(super) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Reads a value of type `ty`.
    ///
    /// Each kind of type has its own function: this one recurses once per
    /// level of the value, and a debug build gives a function a stack
    /// frame as large as all of its arms together.
    pub(super) fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, TranscodeError> {
        let depth = enter(depth)?;
        match ty {
            Type::Option(inner) => self.option(inner, depth),
            Type::Seq(item) => {
                let count = self.len()?;
                self.elements(count, item, depth)
            }
            Type::Map { key, value } => self.map(key, value, depth),
            Type::Tuple(items) => self.tuple(items, depth),
            Type::Array { item, len } => self.elements(*len as usize, item, depth),
            Type::Named(name) => self.named(name, depth),
            scalar => self.scalar(scalar),
        }
    }

    fn option(&mut self, inner: &Type, depth: usize) -> Result<Value, TranscodeError> {
        match self.byte()? {
            0 => Ok(Value::Null),
            1 => self.value(inner, depth),
            other => Err(TranscodeErrorKind::InvalidOptionTag(other).into()),
        }
    }

    fn named(&mut self, name: &str, depth: usize) -> Result<Value, TranscodeError> {
        match &definition(self.types, name)?.shape {
            Shape::UnitStruct => Ok(Value::Null),
            Shape::Newtype(inner) => self.value(inner, depth),
            Shape::TupleStruct(items) => self.tuple(items, depth),
            Shape::Struct(fields) => {
                self.fields(fields.iter().map(|field| (&field.name, &field.ty)), depth)
            }
            Shape::Enum(variants) => self.variant(name, variants, depth),
        }
    }

    /// `count` elements of type `item`, as an array.
    fn elements(
        &mut self,
        count: usize,
        item: &Type,
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        self.check_count(count, &[item])?;
        let mut items = Vec::with_capacity(count.min(self.rest.len()));
        for index in 0..count {
            items.push(
                self.value(item, depth)
                    .map_err(|error| error.at_index(index))?,
            );
        }
        Ok(Value::Array(items))
    }

    fn tuple(&mut self, items: &[Type], depth: usize) -> Result<Value, TranscodeError> {
        let mut values = Vec::with_capacity(items.len());
        for (index, ty) in items.iter().enumerate() {
            values.push(
                self.value(ty, depth)
                    .map_err(|error| error.at_index(index))?,
            );
        }
        Ok(Value::Array(values))
    }

    fn fields<'f>(
        &mut self,
        fields: impl Iterator<Item = (&'f String, &'f Type)>,
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        let mut object = Map::new();
        for (name, ty) in fields {
            let value = self.value(ty, depth).map_err(|error| error.at_key(name))?;
            object.insert(name.clone(), value);
        }
        Ok(Value::Object(object))
    }

    /// An enum: `"Unit"` or `{"Variant": content}`, as `serde_json` writes
    /// them.
    fn variant(
        &mut self,
        ty: &str,
        variants: &[Variant],
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        let index = u32::try_from(read_varint(&mut self.rest, 32)?).expect("a 32-bit varint");
        // Indexes are in declaration order, skipped variants leaving gaps.
        let Ok(position) = variants.binary_search_by_key(&index, |variant| variant.index) else {
            return Err(TranscodeErrorKind::UnknownVariantIndex {
                ty: ty.to_owned(),
                index,
            }
            .into());
        };
        let variant = &variants[position];
        let content = match &variant.shape {
            VariantShape::Unit => return Ok(Value::String(variant.name.clone())),
            VariantShape::Newtype(inner) => self.value(inner, depth),
            VariantShape::Tuple(items) => self.tuple(items, depth),
            VariantShape::Struct(fields) => {
                self.fields(fields.iter().map(|field| (&field.name, &field.ty)), depth)
            }
        }
        .map_err(|error| error.at_key(&variant.name))?;
        let mut object = Map::new();
        object.insert(variant.name.clone(), content);
        Ok(Value::Object(object))
    }

    /// Fails unless `count` elements of the types `parts` could follow:
    /// one byte each at least, unless all of `parts` may take none.
    pub(super) fn check_count(
        &mut self,
        count: usize,
        parts: &[&Type],
    ) -> Result<(), TranscodeError> {
        if count == 0 {
            return Ok(());
        }
        if !parts.iter().all(|part| self.may_be_empty(part, 0)) {
            if count > self.rest.len() {
                return Err(TranscodeErrorKind::UnexpectedEnd.into());
            }
            return Ok(());
        }
        self.empty_budget = self
            .empty_budget
            .checked_sub(count)
            .ok_or(TranscodeErrorKind::TooManyEmpty)?;
        Ok(())
    }

    /// Whether a value of type `ty` may take no bytes.
    fn may_be_empty(&mut self, ty: &Type, depth: usize) -> bool {
        // Past the depth limit, decoding fails anyway.
        if depth >= MAX_JSON_DEPTH {
            return false;
        }
        match ty {
            Type::Unit => true,
            Type::Tuple(items) => items.iter().all(|item| self.may_be_empty(item, depth + 1)),
            Type::Array { item, len } => *len == 0 || self.may_be_empty(item, depth + 1),
            Type::Named(name) => {
                let Ok(definition) = definition(self.types, name) else {
                    return false;
                };
                match self.empty.get(definition.name.as_str()) {
                    Some(Some(known)) => return *known,
                    // Through itself: a type that only ever holds itself has
                    // no finite value, so no empty one either.
                    Some(None) => return false,
                    None => {}
                }
                self.empty.insert(&definition.name, None);
                let empty = match &definition.shape {
                    Shape::UnitStruct => true,
                    Shape::Newtype(inner) => self.may_be_empty(inner, depth + 1),
                    Shape::TupleStruct(items) => {
                        items.iter().all(|item| self.may_be_empty(item, depth + 1))
                    }
                    Shape::Struct(fields) => fields
                        .iter()
                        .all(|field| self.may_be_empty(&field.ty, depth + 1)),
                    Shape::Enum(_) => false,
                };
                self.empty.insert(&definition.name, Some(empty));
                empty
            }
            _ => false,
        }
    }

    pub(super) fn byte(&mut self) -> Result<u8, TranscodeError> {
        let [byte] = self.array()?;
        Ok(byte)
    }

    pub(super) fn array<const N: usize>(&mut self) -> Result<[u8; N], TranscodeError> {
        let bytes = self.take(N)?;
        Ok(bytes.try_into().expect("N bytes"))
    }

    /// A length or a count.
    pub(super) fn len(&mut self) -> Result<usize, TranscodeError> {
        let len = read_varint(&mut self.rest, 64)?;
        usize::try_from(len).map_err(|_| TranscodeErrorKind::UnexpectedEnd.into())
    }

    pub(super) fn take(&mut self, len: usize) -> Result<&'a [u8], TranscodeError> {
        if len > self.rest.len() {
            return Err(TranscodeErrorKind::UnexpectedEnd.into());
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    pub(super) fn str(&mut self, len: usize) -> Result<&'a str, TranscodeError> {
        std::str::from_utf8(self.take(len)?).map_err(|_| TranscodeErrorKind::InvalidUtf8.into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::from_postcard;
    use crate::schema::{Definition, Field, Shape, Type, Variant, VariantShape};

    fn decode(bytes: &[u8], ty: &Type) -> Result<serde_json::Value, String> {
        let types = vec![Definition {
            name: "List".to_owned(),
            docs: String::new(),
            shape: Shape::Struct(vec![
                Field::new("value", "", Type::I64),
                Field::new(
                    "next",
                    "",
                    Type::Option(Box::new(Type::Named("List".to_owned()))),
                ),
            ]),
        }];
        from_postcard(bytes, ty, &types).map_err(|error| error.to_string())
    }

    fn seq(item: Type) -> Type {
        Type::Seq(Box::new(item))
    }

    #[test]
    fn malformed_bytes_are_named() {
        assert_eq!(
            decode(&[1, 1, 2], &seq(Type::U8)),
            Err("at $: 1 trailing bytes after the value".to_owned())
        );
        assert_eq!(
            decode(&[2, 0x80, 0x01], &seq(Type::U16)),
            Err("at $[1]: unexpected end of bytes".to_owned())
        );
        assert_eq!(
            decode(&[4, 3], &Type::Named("List".to_owned())),
            Err("at $.next: invalid option tag 0x03".to_owned())
        );
    }

    #[test]
    fn a_count_beyond_the_bytes_left_fails_before_allocating() {
        let huge = postcard::to_allocvec(&u64::MAX).unwrap();
        assert_eq!(
            decode(&huge, &seq(Type::U64)),
            Err("at $: unexpected end of bytes".to_owned())
        );
        // Elements that take no bytes are legal past the end, up to a budget.
        let small = postcard::to_allocvec(&vec![(); 3]).unwrap();
        assert_eq!(
            decode(&small, &seq(Type::Unit)),
            Ok(json!([null, null, null]))
        );
        assert_eq!(
            decode(&huge, &seq(Type::Unit)),
            Err("at $: more than 65536 elements that take no bytes".to_owned())
        );
        // The budget is for the whole value, not each sequence.
        let many: Vec<Vec<()>> = vec![vec![(); 40_000]; 2];
        let bytes = postcard::to_allocvec(&many).unwrap();
        assert_eq!(
            decode(&bytes, &seq(seq(Type::Unit))),
            Err("at $[1]: more than 65536 elements that take no bytes".to_owned())
        );
    }

    #[test]
    fn unknown_variant_indexes_are_refused() {
        let types = vec![Definition {
            name: "E".to_owned(),
            docs: String::new(),
            shape: Shape::Enum(vec![Variant::new("A", "", 1, VariantShape::Unit)]),
        }];
        let ty = Type::Named("E".to_owned());
        assert_eq!(from_postcard(&[1], &ty, &types), Ok(json!("A")));
        assert_eq!(
            from_postcard(&[0], &ty, &types).unwrap_err().to_string(),
            "at $: no variant of `E` has index 0"
        );
    }

    #[test]
    fn recursion_ends_at_the_depth_limit() {
        let list = Type::Named("List".to_owned());
        assert_eq!(
            decode(&[2, 1, 4, 0], &list),
            Ok(json!({"value": 1, "next": {"value": 2, "next": null}}))
        );
        let deep: Vec<u8> = std::iter::repeat_n([2, 1], 1000).flatten().collect();
        let error = decode(&deep, &list).unwrap_err();
        assert!(error.ends_with("nested deeper than 256 levels"), "{error}");
    }
}
