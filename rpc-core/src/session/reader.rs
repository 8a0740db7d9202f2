//! The reader loop: decodes each message and routes it. It never runs user
//! code: handlers start on tasks of their own.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{StreamExt, stream::SplitStream};
use tokio_tungstenite::tungstenite::Message;

use super::{Shared, inbound, pending::Answer};
use crate::{
    codec::{self, Decoded},
    error::{CloseReason, RemoteError},
    protocol::{CONNECTION_ERROR_ID, Described, Frame, close_code},
    transport::{self, Ws},
};

/// Reads until the session closes; returns the stream for lingering.
pub(super) async fn run(mut stream: SplitStream<Ws>, shared: &Arc<Shared>) -> SplitStream<Ws> {
    loop {
        let next = tokio::select! {
            biased;
            () = shared.closing.cancelled() => break,
            next = stream.next() => next,
        };
        let outcome = match next {
            Some(Ok(Message::Binary(bytes))) => on_message(shared, &bytes).await,
            Some(Ok(Message::Text(_))) => Err(CloseReason::local(
                close_code::UNSUPPORTED_DATA,
                "text messages are not accepted; send binary frames",
            )),
            // Tungstenite answers pings itself; pongs need nothing.
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Ok(()),
            Some(Ok(Message::Close(frame))) => Err(transport::received_close(frame.as_ref())),
            Some(Err(err)) => Err(transport::read_failure(&err)),
            None => Err(CloseReason::abnormal(
                "connection ended without a close frame",
            )),
        };
        if let Err(reason) = outcome {
            if !reason.by_peer {
                tracing::warn!(code = reason.code, reason = %reason.reason, "input refused");
            }
            shared.close(reason);
            break;
        }
    }
    stream
}

/// Handles one binary message; an error closes the session with that reason.
async fn on_message(shared: &Arc<Shared>, message: &Bytes) -> Result<(), CloseReason> {
    let Decoded { frame, payload } = codec::decode(message, shared.config.max_message_size)
        .map_err(|err| {
            CloseReason::local(
                close_code::PROTOCOL,
                format!("malformed frame: {}", crate::router::err_chain(&err)),
            )
        })?;
    match frame {
        Frame::Call(call) => {
            if call.id == CONNECTION_ERROR_ID {
                return Err(CloseReason::local(
                    close_code::PROTOCOL,
                    "call id 0 is reserved",
                ));
            }
            let incoming = inbound::Incoming {
                id: Some(call.id),
                method: call.method,
                headers: &call.headers,
                payload,
            };
            inbound::admit(shared, incoming).await;
        }
        Frame::Cast(cast) => {
            let incoming = inbound::Incoming {
                id: None,
                method: cast.method,
                headers: &cast.headers,
                payload,
            };
            inbound::admit(shared, incoming).await;
        }
        Frame::Notify(notify) => {
            let incoming = inbound::Incoming {
                id: None,
                method: notify.topic,
                headers: &[],
                payload,
            };
            inbound::admit(shared, incoming).await;
        }
        Frame::Reply(reply) => deliver(shared, reply.id, Answer::Value(payload)),
        Frame::Described(Described { id }) => deliver(shared, id, Answer::Value(payload)),
        Frame::Error(error) if error.id == CONNECTION_ERROR_ID => {
            tracing::warn!(code = %error.code, message = error.message, "peer reported an error");
        }
        Frame::Error(error) => {
            let remote = RemoteError::new(error.code, error.message.to_owned(), payload);
            deliver(shared, error.id, Answer::Failed(remote));
        }
        Frame::Cancel(cancel) => {
            if shared.inbound.cancel(cancel.id) {
                tracing::debug!(id = cancel.id, "call cancelled by the peer");
            }
        }
        Frame::Discover(discover) => {
            let answer = Frame::Described(Described { id: discover.id });
            match codec::encode_raw(&answer, &shared.described) {
                Ok(bytes) => {
                    let _ = shared.send(bytes).await;
                }
                Err(err) => tracing::error!(error = %err, "discover answer does not encode"),
            }
        }
        other @ (Frame::Hello(_) | Frame::Welcome(_)) => {
            return Err(CloseReason::local(
                close_code::PROTOCOL,
                format!("unexpected {} frame after the handshake", other.kind()),
            ));
        }
    }
    Ok(())
}

fn deliver(shared: &Shared, id: u64, answer: Answer) {
    if !shared.pending.complete(id, answer) {
        // A late answer to a call that timed out or was cancelled.
        tracing::debug!(id, "answer for no waiting call dropped");
    }
}
