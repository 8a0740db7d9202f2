//! The leaves of a value: unit, bools, integers (through `int`), floats,
//! chars, strings and byte strings, both ways.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::decode::Decoder;
use super::encode::{Encoder, expected, null, string};
use super::int::IntType;
use super::{TranscodeError, TranscodeErrorKind};
use crate::schema::Type;

impl Encoder<'_> {
    /// Writes a value of a type that holds no other.
    pub(super) fn scalar(&mut self, json: &Value, ty: &Type) -> Result<(), TranscodeError> {
        match ty {
            Type::Bool => match json {
                Value::Bool(b) => self.out.push(u8::from(*b)),
                other => return Err(expected("a boolean", other)),
            },
            // `as` rounds to the nearest f32, as `serde_json` does when it
            // reads an f32.
            #[allow(clippy::cast_possible_truncation)]
            Type::F32 => {
                let float = float_from_json(json, "a number (f32)")? as f32;
                self.out.extend_from_slice(&float.to_le_bytes());
            }
            Type::F64 => {
                let float = float_from_json(json, "a number (f64)")?;
                self.out.extend_from_slice(&float.to_le_bytes());
            }
            Type::Char => self.char(string(json, "a one-character string")?)?,
            Type::String => self.str(string(json, "a string")?),
            Type::Bytes => self.bytes(json)?,
            _ => match IntType::of(ty) {
                Some(int) => int.write(int.parse_json(json)?, &mut self.out),
                // `Type::Unit`: no bytes.
                None => null(json)?,
            },
        }
        Ok(())
    }

    fn bytes(&mut self, json: &Value) -> Result<(), TranscodeError> {
        match json {
            Value::String(text) => {
                let bytes = STANDARD
                    .decode(text)
                    .map_err(|_| TranscodeErrorKind::InvalidBase64)?;
                self.len(bytes.len());
                self.out.extend_from_slice(&bytes);
                Ok(())
            }
            // What `serde_json` writes for bytes.
            Value::Array(items) => {
                self.len(items.len());
                let byte = IntType::of(&Type::U8).expect("an integer type");
                for (index, item) in items.iter().enumerate() {
                    let value = byte
                        .parse_json(item)
                        .map_err(|kind| TranscodeError::from(kind).at_index(index))?;
                    byte.write(value, &mut self.out);
                }
                Ok(())
            }
            other => Err(expected("a base64 string or an array of bytes", other)),
        }
    }

    pub(super) fn char(&mut self, text: &str) -> Result<(), TranscodeError> {
        match text.chars().count() {
            1 => {
                self.str(text);
                Ok(())
            }
            count => Err(TranscodeErrorKind::InvalidChar(count).into()),
        }
    }

    pub(super) fn str(&mut self, text: &str) {
        self.len(text.len());
        self.out.extend_from_slice(text.as_bytes());
    }
}

impl Decoder<'_> {
    /// A value of a type that holds no other.
    pub(super) fn scalar(&mut self, ty: &Type) -> Result<Value, TranscodeError> {
        Ok(match ty {
            Type::Bool => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => return Err(TranscodeErrorKind::InvalidBool(other).into()),
            },
            Type::F32 => float_to_json(f64::from(f32::from_le_bytes(self.array()?))),
            Type::F64 => float_to_json(f64::from_le_bytes(self.array()?)),
            Type::Char => {
                let len = self.len()?;
                let text = self.str(len)?;
                match text.chars().count() {
                    1 => Value::String(text.to_owned()),
                    count => return Err(TranscodeErrorKind::InvalidChar(count).into()),
                }
            }
            Type::String => {
                let len = self.len()?;
                Value::String(self.str(len)?.to_owned())
            }
            Type::Bytes => {
                let len = self.len()?;
                Value::String(STANDARD.encode(self.take(len)?))
            }
            _ => match IntType::of(ty) {
                Some(int) => int.read(&mut self.rest)?.to_json(),
                // `Type::Unit`: no bytes.
                None => Value::Null,
            },
        })
    }
}

fn float_from_json(json: &Value, what: &'static str) -> Result<f64, TranscodeError> {
    match json {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(text) => match text.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(expected(what, json)),
        },
        other => Err(expected(what, other)),
    }
}

/// A float as `serde_json` writes it, except that NaN and the infinities,
/// which `serde_json` turns into `null`, are strings.
fn float_to_json(value: f64) -> Value {
    if value.is_nan() {
        Value::from("NaN")
    } else if value.is_infinite() {
        Value::from(if value > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        Value::from(value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{decode, encode};
    use crate::schema::Type;

    #[test]
    fn unit_is_null_and_only_null() {
        assert_eq!(encode(&json!(null), &Type::Unit), Ok(vec![]));
        assert_eq!(
            encode(&json!([]), &Type::Unit),
            Err("at $: expected null, found an array".to_owned())
        );
    }

    #[test]
    fn floats_take_numbers_integers_and_the_names_of_non_numbers() {
        assert_eq!(
            encode(&json!(1.5), &Type::F32),
            Ok(1.5f32.to_le_bytes().to_vec())
        );
        assert_eq!(
            encode(&json!(2), &Type::F64),
            Ok(2f64.to_le_bytes().to_vec())
        );
        assert_eq!(
            encode(&json!("-Infinity"), &Type::F64),
            Ok(f64::NEG_INFINITY.to_le_bytes().to_vec())
        );
        assert!(encode(&json!("NaN"), &Type::F32).is_ok());
        assert_eq!(
            encode(&json!("nan"), &Type::F64),
            Err("at $: expected a number (f64), found a string".to_owned())
        );
    }

    #[test]
    fn chars_are_one_character_strings() {
        assert_eq!(encode(&json!("é"), &Type::Char), Ok(vec![2, 0xc3, 0xa9]));
        assert_eq!(
            encode(&json!("ab"), &Type::Char),
            Err("at $: expected one character, found 2".to_owned())
        );
    }

    #[test]
    fn bytes_are_base64_or_an_array_of_numbers() {
        assert_eq!(encode(&json!("AAEC"), &Type::Bytes), Ok(vec![3, 0, 1, 2]));
        assert_eq!(
            encode(&json!([0, 1, 2]), &Type::Bytes),
            Ok(vec![3, 0, 1, 2])
        );
        assert_eq!(
            encode(&json!("AAE"), &Type::Bytes),
            Err("at $: invalid base64".to_owned())
        );
        assert_eq!(
            encode(&json!([1, 256]), &Type::Bytes),
            Err("at $[1]: 256 is out of range for u8".to_owned())
        );
    }

    #[test]
    fn bytes_decode_to_json_of_the_same_conventions() {
        assert_eq!(
            decode(&f64::NAN.to_le_bytes(), &Type::F64),
            Ok(json!("NaN"))
        );
        assert_eq!(
            decode(&f32::INFINITY.to_le_bytes(), &Type::F32),
            Ok(json!("Infinity"))
        );
        assert_eq!(
            decode(&1.1f32.to_le_bytes(), &Type::F32),
            Ok(json!(f64::from(1.1f32)))
        );
        assert_eq!(decode(&[3, 0, 1, 2], &Type::Bytes), Ok(json!("AAEC")));
        assert_eq!(decode(&[2, 0xc3, 0xa9], &Type::Char), Ok(json!("é")));
        assert_eq!(
            decode(&[2], &Type::Bool),
            Err("at $: invalid bool byte 0x02".to_owned())
        );
        assert_eq!(
            decode(&[2, 0xff, 0xfe], &Type::String),
            Err("at $: invalid UTF-8 in a string".to_owned())
        );
        assert_eq!(
            decode(&[2, b'a', b'b'], &Type::Char),
            Err("at $: expected one character, found 2".to_owned())
        );
    }
}
