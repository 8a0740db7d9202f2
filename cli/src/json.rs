//! JSON <-> postcard by the method's schema, through the library's
//! transcoder (`rpc_core::schema`); docs/protocol.md, "JSON", gives the
//! conventions.

use bytes::Bytes;
use rpc_core::{
    RemoteError,
    schema::{self, Definition, Type},
};
use serde_json::Value;

use crate::{connect::Method, error::CliError};

/// `text`, a JSON array (in order) or object (by name), as the postcard
/// arguments of `method`.
pub(crate) fn args(method: &Method<'_>, text: &str) -> Result<Bytes, CliError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|err| CliError::usage(format!("ARGS_JSON is not JSON: {err}")))?;
    schema::args_to_postcard(
        &value,
        &method.param_names(),
        &method.schema.params,
        method.types,
    )
    .map(Bytes::from)
    .map_err(|err| {
        CliError::usage(format!(
            "the arguments do not fit `{}`: {err}",
            method.info.signature()
        ))
    })
}

/// An answer, item or notification of type `ty` as JSON; `what` names it
/// in the error when the bytes do not decode.
pub(crate) fn decode(
    bytes: &[u8],
    ty: &Type,
    types: &[Definition],
    what: &str,
) -> Result<Value, String> {
    schema::from_postcard(bytes, ty, types)
        .map_err(|err| format!("the {what} does not decode as `{ty}`: {err}"))
}

/// An error answer's value, decoded as `ty` when there is one; `null`
/// when there is none or it does not decode.
pub(crate) fn error_data(remote: &RemoteError, ty: Option<&Type>, types: &[Definition]) -> Value {
    ty.and_then(|ty| schema::from_postcard(remote.data(), ty, types).ok())
        .unwrap_or(Value::Null)
}
