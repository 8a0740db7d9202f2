//! [`Schema`] for the standard library's types, as serde serializes them.

use super::{Schema, Type, Types};

macro_rules! primitive {
    ($($rust:ty => $ty:ident),* $(,)?) => {
        $(
            impl Schema for $rust {
                fn describe(_: &mut Types) -> Type {
                    Type::$ty
                }
            }
        )*
    };
}

primitive! {
    () => Unit, bool => Bool,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, i128 => I128,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64, u128 => U128,
    f32 => F32, f64 => F64, char => Char, String => String, str => String,
}

impl<T: Schema> Schema for Option<T> {
    fn describe(types: &mut Types) -> Type {
        Type::Option(Box::new(T::describe(types)))
    }
}

impl<T: Schema> Schema for Vec<T> {
    fn describe(types: &mut Types) -> Type {
        Type::Seq(Box::new(T::describe(types)))
    }
}
