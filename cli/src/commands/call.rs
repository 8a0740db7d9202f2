//! `rpc call URL METHOD [ARGS_JSON]`.

use rpc_core::{MethodKind, Peer, RouterInfo};
use serde_json::Value;

use crate::{
    args::{Request, Server},
    connect::{self, Method},
    error::CliError,
    json, output,
};

pub(super) async fn run(server: &Server, request: &Request, pretty: bool) -> Result<(), CliError> {
    let client = connect::connect(server, None).await?;
    let routers = connect::discover(&client).await?;
    let answer = call(client.peer(), &routers, server, request).await;
    client.close().await;
    if let Some(answer) = answer? {
        output::json(&answer, pretty);
    }
    Ok(())
}

/// Calls (or casts) `request.method` with its JSON arguments; the answer
/// as JSON, `None` for a cast. `listen --call` calls through it too.
pub(super) async fn call(
    peer: &Peer,
    routers: &[RouterInfo],
    server: &Server,
    request: &Request,
) -> Result<Option<Value>, CliError> {
    let method = Method::find(routers, &request.method)?;
    method.expect_kind(&[MethodKind::Call, MethodKind::Cast], "rpc call")?;
    let args = json::args(&method, &request.args)?;
    let options = method.call_options(server, &request.meta);
    if method.info.kind == MethodKind::Cast {
        return peer
            .cast_raw(&request.method, args, options)
            .await
            .map(|()| None)
            .map_err(|err| CliError::request(err, |_| Value::Null));
    }
    let answer = peer
        .call_raw(&request.method, args, options)
        .await
        .map_err(|err| {
            CliError::request(err, |remote| {
                json::error_data(remote, method.schema.error.as_ref(), method.types)
            })
        })?;
    json::decode(&answer, &method.schema.returns, method.types, "answer")
        .map(Some)
        .map_err(CliError::Mismatch)
}
