//! Integers of every width, between JSON (numbers and decimal strings) and
//! postcard (single bytes, varints, zigzag).

use std::num::IntErrorKind;

use serde_json::Value;

use super::{JsonKind, TranscodeErrorKind};
use crate::schema::Type;

/// The largest magnitude JSON carries as a number: beyond it a JavaScript
/// number (an f64) cannot hold every integer, so 64- and 128-bit integers
/// are written as decimal strings.
const MAX_SAFE: u128 = (1 << 53) - 1;

/// An integer type of the schema.
#[derive(Debug, Clone, Copy)]
pub(super) struct IntType {
    /// Its width in bits.
    bits: u32,
    signed: bool,
    /// `i32`.
    name: &'static str,
    /// `an integer (i32)`, for errors.
    pub(super) expected: &'static str,
}

impl IntType {
    /// The integer type `ty` is, if it is one.
    pub(super) fn of(ty: &Type) -> Option<Self> {
        macro_rules! int {
            ($bits:literal, $signed:literal, $name:literal) => {
                Self {
                    bits: $bits,
                    signed: $signed,
                    name: $name,
                    expected: concat!("an integer (", $name, ")"),
                }
            };
        }
        Some(match ty {
            Type::I8 => int!(8, true, "i8"),
            Type::I16 => int!(16, true, "i16"),
            Type::I32 => int!(32, true, "i32"),
            Type::I64 => int!(64, true, "i64"),
            Type::I128 => int!(128, true, "i128"),
            Type::U8 => int!(8, false, "u8"),
            Type::U16 => int!(16, false, "u16"),
            Type::U32 => int!(32, false, "u32"),
            Type::U64 => int!(64, false, "u64"),
            Type::U128 => int!(128, false, "u128"),
            _ => return None,
        })
    }

    /// Whether `value` fits, and it as a wire integer if so.
    fn check(self, value: Wide) -> Result<Wide, TranscodeErrorKind> {
        let fits = match (self.signed, value) {
            (false, Wide::Neg(_)) => false,
            (false, Wide::NonNeg(n)) => self.bits == 128 || n < 1 << self.bits,
            (true, Wide::Neg(n)) => self.bits == 128 || n >= -(1 << (self.bits - 1)),
            (true, Wide::NonNeg(n)) => n < 1 << (self.bits - 1),
        };
        if fits {
            Ok(value)
        } else {
            Err(TranscodeErrorKind::OutOfRange {
                value: value.to_string(),
                ty: self.name,
            })
        }
    }

    /// A JSON number or decimal string, as an integer of this type.
    pub(super) fn parse_json(self, json: &Value) -> Result<Wide, TranscodeErrorKind> {
        match json {
            Value::Number(n) => {
                if let Some(n) = n.as_u64() {
                    self.check(Wide::NonNeg(u128::from(n)))
                } else if let Some(n) = n.as_i64() {
                    self.check(Wide::Neg(i128::from(n)))
                } else {
                    // Only a float, or, with serde_json's `arbitrary_precision`,
                    // an integer wider than 64 bits, gets here.
                    self.parse_str(&n.to_string()).map_err(|error| match error {
                        TranscodeErrorKind::Expected { expected, .. } => {
                            TranscodeErrorKind::Expected {
                                expected,
                                found: JsonKind::Float,
                            }
                        }
                        other => other,
                    })
                }
            }
            Value::String(text) => self.parse_str(text),
            other => Err(TranscodeErrorKind::Expected {
                expected: self.expected,
                found: JsonKind::of(other),
            }),
        }
    }

    /// A decimal string (an object key, or a big integer), as an integer of
    /// this type.
    pub(super) fn parse_str(self, text: &str) -> Result<Wide, TranscodeErrorKind> {
        let parsed = if text.starts_with('-') {
            text.parse::<i128>().map(Wide::from_i128)
        } else {
            text.parse::<u128>().map(Wide::NonNeg)
        };
        match parsed {
            Ok(value) => self.check(value),
            Err(error) => Err(match error.kind() {
                IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => {
                    TranscodeErrorKind::OutOfRange {
                        value: text.to_owned(),
                        ty: self.name,
                    }
                }
                _ => TranscodeErrorKind::Expected {
                    expected: self.expected,
                    found: JsonKind::String,
                },
            }),
        }
    }

    /// Writes `value` (already checked to fit) as postcard does.
    pub(super) fn write(self, value: Wide, out: &mut Vec<u8>) {
        let bits = match value {
            // Two's complement for signed, truncated to the type's width
            // below: only i8 keeps these bits as they are.
            Wide::Neg(n) => n.cast_unsigned(),
            Wide::NonNeg(n) => n,
        };
        if self.bits == 8 {
            out.push(bits.to_le_bytes()[0]);
            return;
        }
        write_varint(
            match value {
                Wide::Neg(n) => zigzag(n),
                Wide::NonNeg(n) if self.signed => n << 1,
                Wide::NonNeg(n) => n,
            },
            out,
        );
    }

    /// Reads an integer of this type from the front of `bytes`.
    pub(super) fn read(self, bytes: &mut &[u8]) -> Result<Wide, TranscodeErrorKind> {
        if self.bits == 8 {
            let (&byte, rest) = bytes
                .split_first()
                .ok_or(TranscodeErrorKind::UnexpectedEnd)?;
            *bytes = rest;
            return Ok(if self.signed {
                Wide::from_i128(i128::from(byte.cast_signed()))
            } else {
                Wide::NonNeg(u128::from(byte))
            });
        }
        let raw = read_varint(bytes, self.bits)?;
        Ok(if self.signed {
            Wide::from_i128(unzigzag(raw))
        } else {
            Wide::NonNeg(raw)
        })
    }
}

/// Reads a varint of at most `bits` bits, as postcard does: at most
/// ceil(bits / 7) bytes, the last of which may not carry bits beyond the
/// width.
pub(super) fn read_varint(bytes: &mut &[u8], bits: u32) -> Result<u128, TranscodeErrorKind> {
    let max_bytes = bits.div_ceil(7);
    let last_byte_max = (1u8 << (bits % 7)) - 1;
    let mut value = 0u128;
    for i in 0..max_bytes {
        let (&byte, rest) = bytes
            .split_first()
            .ok_or(TranscodeErrorKind::UnexpectedEnd)?;
        *bytes = rest;
        value |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i == max_bytes - 1 && !bits.is_multiple_of(7) && byte > last_byte_max {
                break;
            }
            return Ok(value);
        }
    }
    Err(TranscodeErrorKind::VarintOverflow)
}

/// Writes a varint: 7 bits a byte, low bits first, the high bit set on
/// every byte but the last. Lengths, counts and variant indexes are varints
/// too.
pub(super) fn write_varint(mut rest: u128, out: &mut Vec<u8>) {
    loop {
        let low = rest.to_le_bytes()[0] & 0x7f;
        rest >>= 7;
        if rest == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn zigzag(n: i128) -> u128 {
    ((n << 1) ^ (n >> 127)).cast_unsigned()
}

fn unzigzag(n: u128) -> i128 {
    (n >> 1).cast_signed() ^ -(n & 1).cast_signed()
}

/// An integer of any type the schema has: one of them does not fit in
/// `i128`, another not in `u128`. Ordered by value (negatives first), which
/// is the order a `BTreeMap` keeps its integer keys in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Wide {
    /// Below zero.
    Neg(i128),
    /// Zero or above.
    NonNeg(u128),
}

impl Wide {
    fn from_i128(n: i128) -> Self {
        u128::try_from(n).map_or(Self::Neg(n), Self::NonNeg)
    }

    /// A JSON number, or a decimal string when its magnitude is beyond
    /// what a JavaScript number holds exactly.
    pub(super) fn to_json(self) -> Value {
        match self {
            Self::NonNeg(n) if n <= MAX_SAFE => Value::from(u64::try_from(n).unwrap_or(u64::MAX)),
            Self::Neg(n) if n.unsigned_abs() <= MAX_SAFE => {
                Value::from(i64::try_from(n).unwrap_or(i64::MIN))
            }
            _ => Value::String(self.to_string()),
        }
    }
}

impl std::fmt::Display for Wide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Neg(n) => n.fmt(f),
            Self::NonNeg(n) => n.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ty: &Type, json: &Value) -> Result<Vec<u8>, TranscodeErrorKind> {
        let int = IntType::of(ty).unwrap();
        let mut out = Vec::new();
        int.write(int.parse_json(json)?, &mut out);
        Ok(out)
    }

    #[test]
    fn integers_are_bytes_varints_and_zigzag_as_postcard_writes_them() {
        let cases: [(Type, Value, Vec<u8>); 7] = [
            (Type::U8, 255.into(), vec![0xff]),
            (Type::I8, (-1).into(), vec![0xff]),
            (Type::U16, 300.into(), vec![0xac, 0x02]),
            (Type::I32, (-3).into(), vec![0x05]),
            (
                Type::I64,
                "-9007199254740993".into(),
                postcard::to_allocvec(&-9_007_199_254_740_993_i64).unwrap(),
            ),
            (
                Type::U128,
                u128::MAX.to_string().into(),
                postcard::to_allocvec(&u128::MAX).unwrap(),
            ),
            (
                Type::I128,
                i128::MIN.to_string().into(),
                postcard::to_allocvec(&i128::MIN).unwrap(),
            ),
        ];
        for (ty, json, bytes) in cases {
            assert_eq!(encode(&ty, &json).unwrap(), bytes, "{ty:?} {json}");
            let int = IntType::of(&ty).unwrap();
            let mut rest = bytes.as_slice();
            assert_eq!(int.read(&mut rest).unwrap().to_json(), json, "{ty:?}");
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn beyond_two_to_the_53_integers_are_strings() {
        assert_eq!(
            Wide::NonNeg(MAX_SAFE).to_json(),
            Value::from(u64::try_from(MAX_SAFE).unwrap())
        );
        assert_eq!(
            Wide::NonNeg(MAX_SAFE + 1).to_json(),
            Value::from("9007199254740992")
        );
        assert_eq!(
            Wide::Neg(-i128::try_from(MAX_SAFE).unwrap() - 1).to_json(),
            Value::from("-9007199254740992")
        );
    }

    #[test]
    fn out_of_range_floats_and_junk_are_refused() {
        let out_of_range = encode(&Type::U8, &256.into()).unwrap_err();
        assert_eq!(out_of_range.to_string(), "256 is out of range for u8");
        assert!(matches!(
            encode(&Type::U32, &(-1).into()),
            Err(TranscodeErrorKind::OutOfRange { .. })
        ));
        assert!(matches!(
            encode(&Type::U128, &"1".repeat(40).into()),
            Err(TranscodeErrorKind::OutOfRange { .. })
        ));
        let float = encode(&Type::I32, &serde_json::json!(1.0)).unwrap_err();
        assert_eq!(
            float.to_string(),
            "expected an integer (i32), found a float"
        );
        let junk = encode(&Type::I32, &"1.5".into()).unwrap_err();
        assert_eq!(
            junk.to_string(),
            "expected an integer (i32), found a string"
        );
    }

    #[test]
    fn varints_longer_than_the_type_allows_overflow() {
        let mut too_long: &[u8] = &[0x80, 0x80, 0x80, 0x01];
        assert_eq!(
            read_varint(&mut too_long, 16),
            Err(TranscodeErrorKind::VarintOverflow)
        );
        // The third byte of a u16 carries only two bits.
        let mut too_big: &[u8] = &[0xff, 0xff, 0x04];
        assert_eq!(
            read_varint(&mut too_big, 16),
            Err(TranscodeErrorKind::VarintOverflow)
        );
        let mut max: &[u8] = &[0xff, 0xff, 0x03];
        assert_eq!(read_varint(&mut max, 16), Ok(u128::from(u16::MAX)));
        let mut cut: &[u8] = &[0x80];
        assert_eq!(
            read_varint(&mut cut, 32),
            Err(TranscodeErrorKind::UnexpectedEnd)
        );
    }
}
