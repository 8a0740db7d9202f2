//! `rpc stream URL METHOD [ARGS_JSON] [--limit N]`.

use futures_util::StreamExt;
use rpc_core::MethodKind;

use crate::{
    args::{Request, Server},
    connect::{self, Method},
    error::CliError,
    json,
    output::{self, Written},
};

pub(super) async fn run(
    server: &Server,
    request: &Request,
    limit: Option<u64>,
) -> Result<(), CliError> {
    let client = connect::connect(server, None).await?;
    let routers = connect::discover(&client).await?;
    let method = Method::find(&routers, &request.method)?;
    method.expect_kind(&[MethodKind::Stream], "rpc stream")?;
    let (Some(item), None) = (&method.schema.item, &method.schema.upload) else {
        return Err(CliError::usage(format!(
            "`{}` takes uploads or answers with one value; `rpc stream` opens server streams only",
            method.info.signature()
        )));
    };
    let args = json::args(&method, &request.args)?;
    let mut items = client
        .peer()
        .open_raw(&request.method, args, method.stream_options(&request.meta))
        .await
        .map_err(|err| {
            CliError::request(err, |remote| {
                json::error_data(remote, method.schema.error.as_ref(), method.types)
            })
        })?;
    let mut printed = 0;
    while limit.is_none_or(|limit| printed < limit) {
        let Some(next) = items.next().await else {
            break;
        };
        let bytes = next.map_err(|err| {
            CliError::stream(err, |remote| {
                json::error_data(remote, method.schema.item_error.as_ref(), method.types)
            })
        })?;
        let value = json::decode(&bytes, item, method.types, "item").map_err(CliError::Mismatch)?;
        if output::json(&value, false) == Written::ReaderGone {
            break;
        }
        printed += 1;
    }
    drop(items);
    client.close().await;
    Ok(())
}
