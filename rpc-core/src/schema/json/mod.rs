//! JSON values to postcard bytes and back, driven by a [`Type`]: how a
//! peer without the Rust types (the `rpc` command-line tool, a script)
//! builds arguments and reads answers.
//!
//! The JSON is what `serde_json` writes for the Rust value, so output of
//! `serde_json::to_value` can be sent as it is, with these exceptions
//! (docs/json.md has the full table): integers of 64 and 128 bits whose
//! magnitude exceeds 2^53 - 1 are decimal strings; NaN and the infinities
//! are the strings `"NaN"`, `"Infinity"`, `"-Infinity"`; [`Type::Bytes`] is a
//! base64 string; a map whose keys are neither strings, chars, integers nor
//! booleans is an array of `[key, value]` pairs. Unknown object keys are
//! refused, and a missing field is refused unless it is an option.
//!
//! The schema and the bytes may come from a hostile peer: nesting is
//! limited to [`MAX_JSON_DEPTH`] levels (named types included, so a recursive
//! type ends), nothing is allocated for a declared length the remaining
//! bytes could not hold, and decoding costs time linear in its input.
//!
//! Layout: `encode` and `decode` walk a value along its type; `scalar`
//! holds the leaves both ways, `int` the integers of every width, `map` the
//! two forms of maps, and `error` the error and its JSON path.

mod decode;
mod encode;
mod error;
mod int;
mod map;
mod scalar;

use serde_json::Value;

use super::{Definition, Type, find_definition};

use error::known_names;
pub use error::{JsonKind, TranscodeError, TranscodeErrorKind};

/// How deep a value may nest: every option, container, newtype and named
/// type is a level. Past it, transcoding fails with
/// [`TranscodeErrorKind::TooDeep`] rather than overflowing the stack.
pub const MAX_JSON_DEPTH: usize = 256;

/// How many elements of types that take no bytes (`()`, unit structs,
/// empty tuples) one decoding may produce in all: a few bytes of a
/// `Vec<()>` may declare billions of them.
const MAX_EMPTY_ELEMENTS: usize = 1 << 16;

/// Encodes the JSON `value` as postcard bytes of a value of type `ty`,
/// looking named types up in `types` (sorted by name, as a
/// [`RouterSchema`](super::RouterSchema) keeps them).
pub fn to_postcard(
    value: &Value,
    ty: &Type,
    types: &[Definition],
) -> Result<Vec<u8>, TranscodeError> {
    let mut encoder = encode::Encoder::new(types);
    encoder.value(value, ty, 0)?;
    Ok(encoder.finish())
}

/// Decodes postcard `bytes` of a value of type `ty` into JSON, looking named
/// types up in `types`. Every byte must belong to the value.
pub fn from_postcard(
    bytes: &[u8],
    ty: &Type,
    types: &[Definition],
) -> Result<Value, TranscodeError> {
    let mut decoder = decode::Decoder::new(bytes, types);
    let value = decoder.value(ty, 0)?;
    match decoder.remaining() {
        0 => Ok(value),
        left => Err(TranscodeErrorKind::TrailingBytes(left).into()),
    }
}

/// Encodes the arguments of a method, its argument tuple: `args` is a JSON
/// array of them in order, or an object keyed by parameter name. `names`
/// and `params` are the method's parameter names and types, in order
/// ([`MethodInfo::params`](crate::MethodInfo::params) and
/// [`MethodSchema::params`](super::MethodSchema::params)). In an object, a
/// missing argument of an option type is `None`.
pub fn args_to_postcard(
    args: &Value,
    names: &[&str],
    params: &[Type],
    types: &[Definition],
) -> Result<Vec<u8>, TranscodeError> {
    let mut encoder = encode::Encoder::new(types);
    match args {
        Value::Array(items) => encoder.tuple(items, params, 0)?,
        Value::Object(object) => {
            if names.len() != params.len() {
                return Err(TranscodeErrorKind::ParamNames {
                    names: names.len(),
                    params: params.len(),
                }
                .into());
            }
            let fields = names.iter().copied().zip(params);
            encoder.fields(object, fields, 0)?;
        }
        other => {
            return Err(TranscodeErrorKind::Expected {
                expected: "an array or an object of arguments",
                found: JsonKind::of(other),
            }
            .into());
        }
    }
    Ok(encoder.finish())
}

/// One level deeper, or [`TranscodeErrorKind::TooDeep`].
fn enter(depth: usize) -> Result<usize, TranscodeError> {
    if depth >= MAX_JSON_DEPTH {
        return Err(TranscodeErrorKind::TooDeep.into());
    }
    Ok(depth + 1)
}

fn definition<'a>(types: &'a [Definition], name: &str) -> Result<&'a Definition, TranscodeError> {
    find_definition(types, name)
        .ok_or_else(|| TranscodeErrorKind::UndefinedType(name.to_owned()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_positional_or_by_name() {
        let params = [Type::I32, Type::Option(Box::new(Type::String))];
        let names = ["a", "b"];
        let by_position = serde_json::json!([7, "hi"]);
        let expected = postcard::to_allocvec(&(7, Some("hi"))).unwrap();
        assert_eq!(
            args_to_postcard(&by_position, &names, &params, &[]).unwrap(),
            expected
        );
        let by_name = serde_json::json!({"b": "hi", "a": 7});
        assert_eq!(
            args_to_postcard(&by_name, &names, &params, &[]).unwrap(),
            expected
        );
        let omitted = serde_json::json!({"a": 7});
        let none = postcard::to_allocvec(&(7, None::<String>)).unwrap();
        assert_eq!(
            args_to_postcard(&omitted, &names, &params, &[]).unwrap(),
            none
        );

        let wrong = serde_json::json!({"a": 7, "b": 3});
        let error = args_to_postcard(&wrong, &names, &params, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at $.b: expected a string, found an integer"
        );
        let short = serde_json::json!([7]);
        let error = args_to_postcard(&short, &names, &params, &[]).unwrap_err();
        assert_eq!(error.to_string(), "at $: expected 2 elements, found 1");
        let unknown = serde_json::json!({"a": 7, "c": 1});
        let error = args_to_postcard(&unknown, &names, &params, &[]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "at $: unknown field `c`, expected one of `a`, `b`"
        );
    }
}

/// Transcoding without named types, errors as their text: what the unit
/// tests of the submodules compare.
#[cfg(test)]
mod test_support {
    use crate::schema::Type;

    pub(super) fn encode(json: &serde_json::Value, ty: &Type) -> Result<Vec<u8>, String> {
        super::to_postcard(json, ty, &[]).map_err(|error| error.to_string())
    }

    pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<serde_json::Value, String> {
        super::from_postcard(bytes, ty, &[]).map_err(|error| error.to_string())
    }
}
