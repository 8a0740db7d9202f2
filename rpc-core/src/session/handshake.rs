//! The protocol handshake that follows the WebSocket upgrade: the client
//! sends `Hello` with the versions it speaks, the server answers `Welcome`
//! with the highest common version and its limits, or closes with 1002.
//!
//! Input is refused with the same close codes as in the session (text 1003,
//! invalid UTF-8 1007, oversize 1009, malformed frames 1002), and a server
//! that begins shutting down refuses a handshake not yet finished with 1013.

use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::{
    codec,
    config::SessionConfig,
    error::{CloseReason, HandshakeError},
    protocol::{
        Features, Frame, Hello, Limits, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Welcome, close_code,
    },
    transport::{self, BoxTransport, Outgoing, Received},
};

/// Server side: reads `Hello`, answers `Welcome`; returns the client's limits
/// and the features granted. Once `shutdown` is cancelled, closes with 1013
/// instead.
pub(crate) async fn accept(
    ws: &mut BoxTransport,
    session_id: u64,
    config: &SessionConfig,
    shutdown: &CancellationToken,
) -> Result<(Limits, Features), HandshakeError> {
    let hello = tokio::select! {
        biased;
        () = shutdown.cancelled() => Err(HandshakeError::Refused(CloseReason::local(
            close_code::TRY_AGAIN_LATER,
            "server is shutting down",
        ))),
        hello = read(ws, config, "hello", |frame| match frame {
            Frame::Hello(hello) => Some(hello),
            _ => None,
        }) => hello,
    };
    let hello = match hello {
        Ok(hello) => hello,
        Err(err) => return Err(refused(ws, err).await),
    };
    let Some(version) = hello.negotiate() else {
        let reason = format!(
            "no common protocol version: server speaks {MIN_PROTOCOL_VERSION}..={PROTOCOL_VERSION}, client {}..={}",
            hello.min_version, hello.max_version
        );
        refuse(ws, close_code::PROTOCOL, &reason).await;
        return Err(HandshakeError::VersionMismatch {
            ours: (MIN_PROTOCOL_VERSION, PROTOCOL_VERSION),
            theirs: Some((hello.min_version, hello.max_version)),
        });
    };
    let features = Features::from_names(&hello.features);
    let welcome = Welcome {
        version,
        session_id,
        features: features.names(),
        limits: limits(config),
    };
    let bytes = codec::encode(&Frame::Welcome(welcome)).map_err(HandshakeError::Malformed)?;
    ws.send(Outgoing::Binary(bytes))
        .await
        .map_err(HandshakeError::Transport)?;
    Ok((hello.limits, features))
}

/// Client side: sends `Hello`, reads `Welcome`.
pub(crate) async fn open(
    ws: &mut BoxTransport,
    config: &SessionConfig,
) -> Result<Welcome, HandshakeError> {
    let hello = Frame::Hello(Hello {
        min_version: MIN_PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        features: Features::all().names(),
        limits: limits(config),
    });
    let bytes = codec::encode(&hello).map_err(HandshakeError::Malformed)?;
    ws.send(Outgoing::Binary(bytes))
        .await
        .map_err(HandshakeError::Transport)?;
    let welcome = read(ws, config, "welcome", |frame| match frame {
        Frame::Welcome(welcome) => Some(welcome),
        _ => None,
    })
    .await;
    let welcome = match welcome {
        Ok(welcome) => welcome,
        Err(err) => return Err(refused(ws, err).await),
    };
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&welcome.version) {
        let err = HandshakeError::VersionMismatch {
            ours: (MIN_PROTOCOL_VERSION, PROTOCOL_VERSION),
            theirs: Some((welcome.version, welcome.version)),
        };
        return Err(refused(ws, err).await);
    }
    Ok(welcome)
}

/// The limits a session announces to its peer.
pub(crate) fn limits(config: &SessionConfig) -> Limits {
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Limits {
        max_message_size: to_u32(config.max_message_size),
        max_in_flight: to_u32(config.max_in_flight),
        max_reassembly: to_u32(config.max_reassembly),
        max_partials: to_u32(config.max_partials),
    }
}

/// Reads the next message, skipping pings and pongs, and takes the
/// `expected` handshake frame out of it with `pick`.
async fn read<T>(
    ws: &mut BoxTransport,
    config: &SessionConfig,
    expected: &'static str,
    pick: impl FnOnce(Frame<'_>) -> Option<T>,
) -> Result<T, HandshakeError> {
    let bytes = loop {
        match ws.next().await {
            Some(Received::Binary(bytes)) => break bytes,
            Some(Received::Nothing) => {}
            Some(Received::End(reason)) if reason.by_peer => {
                return Err(HandshakeError::Closed(reason));
            }
            Some(Received::End(reason)) => return Err(HandshakeError::Refused(reason)),
            None => {
                return Err(HandshakeError::Closed(CloseReason::abnormal(
                    "connection ended without a close frame",
                )));
            }
        }
    };
    let frame = codec::decode(&bytes, config.max_message_size)
        .map_err(HandshakeError::Malformed)?
        .frame;
    let got = frame.kind();
    pick(frame).ok_or_else(|| HandshakeError::UnexpectedFrame {
        expected,
        got: got.to_owned(),
    })
}

/// Sends the close frame `err` calls for, if any (none when the peer closed
/// or the connection failed), and hands `err` back.
async fn refused(ws: &mut BoxTransport, err: HandshakeError) -> HandshakeError {
    let reason = match &err {
        HandshakeError::Refused(reason) => reason.clone(),
        HandshakeError::Malformed(codec_err) => transport::malformed(codec_err),
        HandshakeError::UnexpectedFrame { .. } | HandshakeError::VersionMismatch { .. } => {
            CloseReason::local(close_code::PROTOCOL, err.to_string())
        }
        HandshakeError::Closed(_) | HandshakeError::Transport(_) => return err,
    };
    refuse(ws, reason.code, &reason.reason).await;
    err
}

/// Closes a connection whose handshake failed, with a reason for the peer.
pub(crate) async fn refuse(ws: &mut BoxTransport, code: u16, reason: &str) {
    let _ = ws
        .send(Outgoing::Close(CloseReason::local(code, reason)))
        .await;
}
