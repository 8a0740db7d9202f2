//! Maps: a JSON object when their keys are strings in JSON (strings,
//! chars, integers, booleans, as `serde_json` writes them), else an array
//! of `[key, value]` pairs. Either form is read.

use serde_json::{Map, Value};

use super::decode::Decoder;
use super::encode::{Encoder, check_len, expected};
use super::int::IntType;
use super::{JsonKind, TranscodeError, TranscodeErrorKind};
use crate::schema::Type;

impl Encoder<'_> {
    /// Writes a map, from an object or from an array of `[key, value]`
    /// pairs.
    pub(super) fn map(
        &mut self,
        json: &Value,
        key: &Type,
        value: &Type,
        depth: usize,
    ) -> Result<(), TranscodeError> {
        match json {
            Value::Object(object) => {
                self.len(object.len());
                if let Some(int) = IntType::of(key) {
                    // serde_json orders keys as strings ("10" before "9"):
                    // in numeric order, the bytes are those a `BTreeMap`
                    // writes.
                    let mut entries = Vec::with_capacity(object.len());
                    for (text, json) in object {
                        let key = int
                            .parse_str(text)
                            .map_err(|kind| TranscodeError::from(kind).at_key(text))?;
                        entries.push((key, text, json));
                    }
                    entries.sort_by_key(|(key, ..)| *key);
                    for (key, text, json) in entries {
                        int.write(key, &mut self.out);
                        self.value(json, value, depth)
                            .map_err(|error| error.at_key(text))?;
                    }
                } else {
                    for (text, json) in object {
                        self.key(text, key, depth)
                            .and_then(|()| self.value(json, value, depth))
                            .map_err(|error| error.at_key(text))?;
                    }
                }
                Ok(())
            }
            Value::Array(pairs) => {
                self.len(pairs.len());
                for (index, pair) in pairs.iter().enumerate() {
                    self.pair(pair, key, value, depth)
                        .map_err(|error| error.at_index(index))?;
                }
                Ok(())
            }
            other => Err(expected(
                "an object or an array of [key, value] pairs",
                other,
            )),
        }
    }

    /// Writes one `[key, value]` pair of a map.
    fn pair(
        &mut self,
        pair: &Value,
        key: &Type,
        value: &Type,
        depth: usize,
    ) -> Result<(), TranscodeError> {
        let Value::Array(pair) = pair else {
            return Err(expected("a [key, value] pair", pair));
        };
        check_len(pair.len(), 2)?;
        self.value(&pair[0], key, depth)
            .map_err(|error| error.at_index(0))?;
        self.value(&pair[1], value, depth)
            .map_err(|error| error.at_index(1))
    }

    /// Writes an object key as a map key of type `ty`.
    fn key(&mut self, text: &str, ty: &Type, depth: usize) -> Result<(), TranscodeError> {
        match ty {
            Type::String => {
                self.str(text);
                Ok(())
            }
            Type::Char => self.char(text),
            Type::Bool => match text {
                "true" | "false" => {
                    self.out.push(u8::from(text == "true"));
                    Ok(())
                }
                _ => Err(TranscodeErrorKind::Expected {
                    expected: "`true` or `false` (bool)",
                    found: JsonKind::String,
                }
                .into()),
            },
            // A newtype of a string, a unit variant: whatever reads a string.
            _ => self.value(&Value::String(text.to_owned()), ty, depth),
        }
    }
}

impl Decoder<'_> {
    /// A map: an object when its keys are strings in JSON, else an array
    /// of `[key, value]` pairs.
    pub(super) fn map(
        &mut self,
        key: &Type,
        value: &Type,
        depth: usize,
    ) -> Result<Value, TranscodeError> {
        let count = self.len()?;
        self.check_count(count, &[key, value])?;
        if keys_are_strings(key) {
            let mut object = Map::new();
            for _ in 0..count {
                let key = match self.value(key, depth)? {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                let value = self
                    .value(value, depth)
                    .map_err(|error| error.at_key(&key))?;
                object.insert(key, value);
            }
            return Ok(Value::Object(object));
        }
        let mut pairs = Vec::with_capacity(count.min(self.rest.len()));
        for index in 0..count {
            let key = self
                .value(key, depth)
                .map_err(|error| error.at_index(0).at_index(index))?;
            let value = self
                .value(value, depth)
                .map_err(|error| error.at_index(1).at_index(index))?;
            pairs.push(Value::Array(vec![key, value]));
        }
        Ok(Value::Array(pairs))
    }
}

/// Whether a map with keys of type `key` is a JSON object (its keys are
/// strings in JSON as `serde_json` writes them) rather than an array of
/// `[key, value]` pairs.
pub(super) fn keys_are_strings(key: &Type) -> bool {
    matches!(key, Type::String | Type::Char | Type::Bool) || IntType::of(key).is_some()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{decode, encode};
    use crate::schema::Type;

    #[test]
    fn integer_keys_are_written_in_numeric_order_as_a_btree_map_writes_them() {
        let ty = Type::Map {
            key: Box::new(Type::I32),
            value: Box::new(Type::Bool),
        };
        let map: std::collections::BTreeMap<i32, bool> =
            [(9, true), (10, false), (-1, true)].into();
        let expected = postcard::to_allocvec(&map).unwrap();
        assert_eq!(
            encode(&serde_json::to_value(&map).unwrap(), &ty),
            Ok(expected.clone())
        );
        assert_eq!(
            encode(&json!([[9, true], [10, false], [-1, true]]), &ty)
                .unwrap()
                .len(),
            expected.len()
        );
        assert_eq!(
            encode(&json!({"x": true}), &ty),
            Err("at $.x: expected an integer (i32), found a string".to_owned())
        );
        assert_eq!(
            encode(&json!([[1]]), &ty),
            Err("at $[0]: expected 2 elements, found 1".to_owned())
        );
    }

    #[test]
    fn maps_with_other_keys_are_arrays_of_pairs() {
        let ty = Type::Map {
            key: Box::new(Type::Tuple(vec![Type::U8, Type::U8])),
            value: Box::new(Type::String),
        };
        let map: std::collections::BTreeMap<(u8, u8), &str> = [((1, 2), "a")].into();
        let bytes = postcard::to_allocvec(&map).unwrap();
        assert_eq!(decode(&bytes, &ty), Ok(json!([[[1, 2], "a"]])));
        let ty = Type::Map {
            key: Box::new(Type::U64),
            value: Box::new(Type::Bool),
        };
        let map: std::collections::BTreeMap<u64, bool> = [(u64::MAX, true)].into();
        let bytes = postcard::to_allocvec(&map).unwrap();
        assert_eq!(
            decode(&bytes, &ty),
            Ok(json!({"18446744073709551615": true}))
        );
    }
}
