//! Schemas written the way Rust writes types, for people: `Vec<Option<i64>>`,
//! `struct Point { x: i32, y: i32 }`. Tools print these (the `rpc`
//! command-line tool, snapshots of `discover()` in review).

use std::fmt;

use super::{Definition, Field, Shape, Type, VariantShape};

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Unit => f.write_str("()"),
            Type::Bool => f.write_str("bool"),
            Type::I8 => f.write_str("i8"),
            Type::I16 => f.write_str("i16"),
            Type::I32 => f.write_str("i32"),
            Type::I64 => f.write_str("i64"),
            Type::I128 => f.write_str("i128"),
            Type::U8 => f.write_str("u8"),
            Type::U16 => f.write_str("u16"),
            Type::U32 => f.write_str("u32"),
            Type::U64 => f.write_str("u64"),
            Type::U128 => f.write_str("u128"),
            Type::F32 => f.write_str("f32"),
            Type::F64 => f.write_str("f64"),
            Type::Char => f.write_str("char"),
            Type::String => f.write_str("String"),
            Type::Bytes => f.write_str("Bytes"),
            Type::Option(inner) => write!(f, "Option<{inner}>"),
            Type::Seq(inner) => write!(f, "Vec<{inner}>"),
            Type::Map { key, value } => write!(f, "Map<{key}, {value}>"),
            Type::Tuple(items) => tuple(f, items),
            Type::Array { item, len } => write!(f, "[{item}; {len}]"),
            Type::Named(name) => f.write_str(name),
        }
    }
}

fn tuple(f: &mut fmt::Formatter<'_>, items: &[Type]) -> fmt::Result {
    f.write_str("(")?;
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    if items.len() == 1 {
        f.write_str(",")?;
    }
    f.write_str(")")
}

fn fields(f: &mut fmt::Formatter<'_>, fields: &[Field]) -> fmt::Result {
    if fields.is_empty() {
        return f.write_str(" {}");
    }
    f.write_str(" { ")?;
    for (index, field) in fields.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}: {}", field.name, field.ty)?;
    }
    f.write_str(" }")
}

/// `struct Point { x: i32, y: i32 }`, `enum Shape { Circle { r: f64 }, Empty }`,
/// on one line, without docs.
impl fmt::Display for Definition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.shape {
            Shape::UnitStruct => write!(f, "struct {};", self.name),
            Shape::Newtype(inner) => write!(f, "struct {}({inner});", self.name),
            Shape::TupleStruct(items) => {
                write!(f, "struct {}", self.name)?;
                tuple(f, items)?;
                f.write_str(";")
            }
            Shape::Struct(list) => {
                write!(f, "struct {}", self.name)?;
                fields(f, list)
            }
            Shape::Enum(variants) => {
                write!(f, "enum {} {{", self.name)?;
                for (index, variant) in variants.iter().enumerate() {
                    f.write_str(if index == 0 { " " } else { ", " })?;
                    f.write_str(&variant.name)?;
                    match &variant.shape {
                        VariantShape::Unit => {}
                        VariantShape::Newtype(inner) => write!(f, "({inner})")?,
                        VariantShape::Tuple(items) => tuple(f, items)?,
                        VariantShape::Struct(list) => fields(f, list)?,
                    }
                }
                f.write_str(if variants.is_empty() { "}" } else { " }" })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Variant;

    #[test]
    fn types_and_definitions_read_as_rust() {
        let ty = Type::Seq(Box::new(Type::Option(Box::new(Type::Tuple(vec![
            Type::I64,
            Type::Named("Point".to_owned()),
        ])))));
        assert_eq!(ty.to_string(), "Vec<Option<(i64, Point)>>");
        assert_eq!(Type::Tuple(vec![Type::U8]).to_string(), "(u8,)");
        let shape = Definition {
            name: "Shape".to_owned(),
            docs: String::new(),
            shape: Shape::Enum(vec![
                Variant::new(
                    "Circle",
                    "",
                    0,
                    VariantShape::Struct(vec![Field::new("r", "", Type::F64)]),
                ),
                Variant::new(
                    "Rect",
                    "",
                    1,
                    VariantShape::Tuple(vec![Type::F64, Type::F64]),
                ),
                Variant::new("Empty", "", 2, VariantShape::Unit),
            ]),
        };
        assert_eq!(
            shape.to_string(),
            "enum Shape { Circle { r: f64 }, Rect(f64, f64), Empty }"
        );
    }
}
