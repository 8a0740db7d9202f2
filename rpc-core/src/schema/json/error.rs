//! [`TranscodeError`]: what went wrong, and where in the JSON.

use std::fmt;

use serde_json::Value;

use super::{MAX_EMPTY_ELEMENTS, MAX_JSON_DEPTH};

/// Why a value could not be transcoded, and where in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {kind}")]
#[non_exhaustive]
pub struct TranscodeError {
    path: Path,
    kind: TranscodeErrorKind,
}

impl TranscodeError {
    /// Where in the JSON (given, or being written) it happened:
    /// `$`, `$.points[2].x`, `$.shape.Circle.r`, `$["odd key"]`.
    pub fn path(&self) -> String {
        self.path.to_string()
    }

    /// What went wrong.
    pub fn kind(&self) -> &TranscodeErrorKind {
        &self.kind
    }

    /// The same error, one array element further out.
    pub(super) fn at_index(mut self, index: usize) -> Self {
        self.path.0.push(Segment::Index(index));
        self
    }

    /// The same error, one object member further out.
    pub(super) fn at_key(mut self, key: &str) -> Self {
        self.path.0.push(Segment::Key(key.to_owned()));
        self
    }
}

impl From<TranscodeErrorKind> for TranscodeError {
    fn from(kind: TranscodeErrorKind) -> Self {
        Self {
            path: Path::default(),
            kind,
        }
    }
}

/// What went wrong in a [`TranscodeError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscodeErrorKind {
    /// The JSON is of another kind than the type needs.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the type needs: `an integer (i32)`, `an object`.
        expected: &'static str,
        /// What the JSON has.
        found: JsonKind,
    },
    /// An integer does not fit its type.
    #[error("{value} is out of range for {ty}")]
    OutOfRange {
        /// The integer, in decimal.
        value: String,
        /// Its type: `u8`, `i64`.
        ty: &'static str,
    },
    /// An object has a key that is no field of the struct (or no parameter
    /// of the method).
    #[error("unknown field `{name}`, expected {}", one_of(.known, *.more))]
    UnknownField {
        /// The key.
        name: String,
        /// The first fields of the struct.
        known: Vec<String>,
        /// How many more there are.
        more: usize,
    },
    /// A field without an option type is missing.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// An enum has no variant of this name.
    #[error("unknown variant `{name}`, expected {}", one_of(.known, *.more))]
    UnknownVariant {
        /// The name given.
        name: String,
        /// The first variants of the enum.
        known: Vec<String>,
        /// How many more there are.
        more: usize,
    },
    /// An enum value in bytes names a variant the enum does not have.
    #[error("no variant of `{ty}` has index {index}")]
    UnknownVariantIndex {
        /// The enum.
        ty: String,
        /// The index read.
        index: u32,
    },
    /// An enum in JSON is an object of more or fewer keys than one.
    #[error("expected an object of one key, the variant, found {0} keys")]
    VariantKeys(usize),
    /// A tuple, fixed-size array or argument list has another length.
    #[error("expected {expected} elements, found {found}")]
    Length {
        /// The type's length.
        expected: usize,
        /// The JSON's.
        found: usize,
    },
    /// The names and types of a method's parameters differ in number.
    #[error("the schema names {names} parameters but types {params}")]
    ParamNames {
        /// How many names.
        names: usize,
        /// How many types.
        params: usize,
    },
    /// A named type is not among the definitions.
    #[error("type `{0}` is not defined in the schema")]
    UndefinedType(String),
    /// Bytes are left over after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// The bytes end inside the value.
    #[error("unexpected end of bytes")]
    UnexpectedEnd,
    /// A string in bytes is not UTF-8.
    #[error("invalid UTF-8 in a string")]
    InvalidUtf8,
    /// A char is not exactly one character.
    #[error("expected one character, found {0}")]
    InvalidChar(usize),
    /// A bool in bytes is neither `00` nor `01`.
    #[error("invalid bool byte {0:#04x}")]
    InvalidBool(u8),
    /// An option in bytes starts with neither `00` nor `01`.
    #[error("invalid option tag {0:#04x}")]
    InvalidOptionTag(u8),
    /// A varint has more bytes, or more bits, than its type holds.
    #[error("varint too long for its type")]
    VarintOverflow,
    /// The value nests deeper than [`MAX_JSON_DEPTH`].
    #[error("nested deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep,
    /// The bytes declare more elements of a type that takes no bytes than
    /// one value may have.
    #[error("more than {MAX_EMPTY_ELEMENTS} elements that take no bytes")]
    TooManyEmpty,
    /// A byte string is not base64 (standard alphabet, with padding).
    #[error("invalid base64")]
    InvalidBase64,
}

/// The kind of a JSON value, as errors name what they found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number without fraction or exponent.
    Integer,
    /// Any other number.
    Float,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl JsonKind {
    /// The kind of `value`.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.is_f64() => Self::Float,
            Value::Number(_) => Self::Integer,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }
}

impl fmt::Display for JsonKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Integer => "an integer",
            Self::Float => "a float",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// A path into JSON, innermost step first: errors add steps as they
/// unwind, so the path costs nothing until something fails.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Path(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Index(usize),
    Key(String),
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in self.0.iter().rev() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if is_identifier(key) => write!(f, ".{key}")?,
                Segment::Key(key) => write!(f, "[{}]", Value::from(key.as_str()))?,
            }
        }
        Ok(())
    }
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// How many known names an error lists.
const KNOWN_LISTED: usize = 10;

/// The first names of `all` for an error, and how many more there are.
pub(super) fn known_names<'a>(all: impl ExactSizeIterator<Item = &'a str>) -> (Vec<String>, usize) {
    let more = all.len().saturating_sub(KNOWN_LISTED);
    (all.take(KNOWN_LISTED).map(str::to_owned).collect(), more)
}

fn one_of(known: &[String], more: usize) -> String {
    if known.is_empty() {
        return "none".to_owned();
    }
    let names: Vec<String> = known.iter().map(|name| format!("`{name}`")).collect();
    let list = format!("one of {}", names.join(", "));
    if more == 0 {
        list
    } else {
        format!("{list} and {more} more")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_as_json_paths() {
        let error = TranscodeError::from(TranscodeErrorKind::UnexpectedEnd)
            .at_key("x")
            .at_index(2)
            .at_key("odd key")
            .at_key("points");
        assert_eq!(error.path(), r#"$.points["odd key"][2].x"#);
        assert_eq!(
            error.to_string(),
            r#"at $.points["odd key"][2].x: unexpected end of bytes"#
        );
        assert_eq!(
            TranscodeError::from(TranscodeErrorKind::TooDeep).path(),
            "$"
        );
    }

    #[test]
    pub(super) fn known_names_are_cut_at_ten() {
        let names: Vec<String> = (0..12).map(|i| format!("V{i}")).collect();
        let (known, more) = known_names(names.iter().map(String::as_str));
        let kind = TranscodeErrorKind::UnknownVariant {
            name: "X".to_owned(),
            known,
            more,
        };
        assert_eq!(
            kind.to_string(),
            "unknown variant `X`, expected one of `V0`, `V1`, `V2`, `V3`, `V4`, `V5`, `V6`, \
             `V7`, `V8`, `V9` and 2 more"
        );
    }
}
