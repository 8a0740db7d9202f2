//! `rpc listen URL TOPIC [--type TYPE] [--call METHOD ARGS_JSON] [--limit N]`.

use base64::Engine as _;
use bytes::Bytes;
use rpc_core::Client;
use serde_json::json;
use tokio::sync::mpsc;

use crate::{
    args::{Request, Server},
    connect,
    error::CliError,
    json,
    listener::Listener,
    output::{self, Written},
    types,
};

/// What to listen to, and what to call first.
#[derive(Debug)]
pub(super) struct Listen {
    pub(super) topic: String,
    /// `--type`, as written.
    pub(super) ty: Option<String>,
    /// `--call METHOD ARGS_JSON`.
    pub(super) call: Option<Vec<String>>,
    pub(super) limit: Option<u64>,
}

impl Listen {
    pub(super) async fn run(self, server: &Server) -> Result<(), CliError> {
        let (listener, mut payloads) = Listener::new(&self.topic);
        let client = connect::connect(server, Some(listener)).await?;
        let routers = if self.ty.is_some() || self.call.is_some() {
            connect::discover(&client).await?
        } else {
            Vec::new()
        };
        let types = connect::all_types(&routers);
        let ty = match &self.ty {
            Some(text) => Some(types::parse(text, &types).map_err(CliError::Usage)?),
            None => None,
        };
        if let Some(call) = &self.call {
            let request = Request {
                method: call[0].clone(),
                args: call[1].clone(),
                meta: Vec::new(),
            };
            super::call::call(client.peer(), &routers, server, &request).await?;
        }
        let mut printed = 0;
        while self.limit.is_none_or(|limit| printed < limit) {
            let payload = self.next(&client, &mut payloads, server).await?;
            let line = match &ty {
                Some(ty) => {
                    json::decode(&payload, ty, &types, "notification").map_err(CliError::Usage)?
                }
                None => json!({
                    "topic": self.topic,
                    "bytes": base64::engine::general_purpose::STANDARD.encode(&payload),
                }),
            };
            if output::json(&line, false) == Written::ReaderGone {
                break;
            }
            printed += 1;
        }
        client.close().await;
        Ok(())
    }

    /// The next notification, within `--timeout` when it is given; an
    /// error when the connection ends first.
    async fn next(
        &self,
        client: &Client,
        payloads: &mut mpsc::UnboundedReceiver<Bytes>,
        server: &Server,
    ) -> Result<Bytes, CliError> {
        let next = async {
            tokio::select! {
                // What arrived before the close is printed first.
                biased;
                payload = payloads.recv() => payload.ok_or(None),
                reason = client.peer().closed() => Err(Some(reason)),
            }
        };
        let next = match server.timeout {
            Some(limit) => tokio::time::timeout(limit, next).await.map_err(|_| {
                CliError::Timeout(format!(
                    "no notification on `{}` within {limit:?}",
                    self.topic
                ))
            })?,
            None => next.await,
        };
        next.map_err(|reason| {
            CliError::Connection(match reason {
                Some(reason) => format!("the connection ended: {reason}"),
                None => "the connection ended".to_owned(),
            })
        })
    }
}
