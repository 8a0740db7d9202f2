//! The protocol handshake that follows the WebSocket upgrade: the client
//! sends `Hello` with the versions it speaks, the server answers `Welcome`
//! with the highest common version and its limits, or closes with 1002.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{
    codec,
    config::SessionConfig,
    error::{CloseReason, HandshakeError, TransportError},
    protocol::{Frame, Hello, Limits, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, Welcome, close_code},
    transport::{self, Ws},
};

/// Server side: reads `Hello`, answers `Welcome`; returns the client's limits.
pub(crate) async fn accept(
    ws: &mut Ws,
    session_id: u64,
    config: &SessionConfig,
) -> Result<Limits, HandshakeError> {
    let message = match next_message(ws).await {
        Ok(message) => message,
        Err(err) => {
            refuse(ws, close_code::PROTOCOL, &err.to_string()).await;
            return Err(err);
        }
    };
    let hello = match codec::decode(&message, config.max_message_size) {
        Ok(codec::Decoded {
            frame: Frame::Hello(hello),
            ..
        }) => hello,
        Ok(decoded) => {
            let err = HandshakeError::UnexpectedFrame {
                expected: "hello",
                got: decoded.frame.kind().to_owned(),
            };
            refuse(ws, close_code::PROTOCOL, &err.to_string()).await;
            return Err(err);
        }
        Err(err) => {
            let err = HandshakeError::Malformed(err);
            refuse(ws, close_code::PROTOCOL, &err.to_string()).await;
            return Err(err);
        }
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
    let welcome = Welcome {
        version,
        session_id,
        features: Vec::new(),
        limits: limits(config),
    };
    let bytes = codec::encode(&Frame::Welcome(welcome)).map_err(HandshakeError::Malformed)?;
    ws.send(Message::Binary(bytes))
        .await
        .map_err(|err| HandshakeError::Transport(TransportError(err)))?;
    Ok(hello.limits)
}

/// Client side: sends `Hello`, reads `Welcome`.
pub(crate) async fn open(ws: &mut Ws, config: &SessionConfig) -> Result<Welcome, HandshakeError> {
    let hello = Frame::Hello(Hello {
        min_version: MIN_PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
        features: Vec::new(),
        limits: limits(config),
    });
    let bytes = codec::encode(&hello).map_err(HandshakeError::Malformed)?;
    ws.send(Message::Binary(bytes))
        .await
        .map_err(|err| HandshakeError::Transport(TransportError(err)))?;
    let message = next_message(ws).await?;
    let decoded =
        codec::decode(&message, config.max_message_size).map_err(HandshakeError::Malformed)?;
    let Frame::Welcome(welcome) = decoded.frame else {
        return Err(HandshakeError::UnexpectedFrame {
            expected: "welcome",
            got: decoded.frame.kind().to_owned(),
        });
    };
    if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&welcome.version) {
        return Err(HandshakeError::VersionMismatch {
            ours: (MIN_PROTOCOL_VERSION, PROTOCOL_VERSION),
            theirs: Some((welcome.version, welcome.version)),
        });
    }
    Ok(welcome)
}

/// The limits a session announces to its peer.
fn limits(config: &SessionConfig) -> Limits {
    Limits {
        max_message_size: u32::try_from(config.max_message_size).unwrap_or(u32::MAX),
        max_in_flight: u32::try_from(config.max_in_flight).unwrap_or(u32::MAX),
    }
}

/// The next binary message, skipping pings and pongs.
async fn next_message(ws: &mut Ws) -> Result<bytes::Bytes, HandshakeError> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Binary(bytes))) => return Ok(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Ok(Message::Text(_))) => {
                return Err(HandshakeError::UnexpectedFrame {
                    expected: "binary",
                    got: "text message".to_owned(),
                });
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(HandshakeError::Closed(transport::received_close(
                    frame.as_ref(),
                )));
            }
            Some(Err(err)) => return Err(HandshakeError::Transport(TransportError(err))),
            None => {
                return Err(HandshakeError::Closed(CloseReason::abnormal(
                    "connection ended during the handshake",
                )));
            }
        }
    }
}

/// Closes a connection whose handshake failed, with a reason for the peer.
pub(crate) async fn refuse(ws: &mut Ws, code: u16, reason: &str) {
    let _ = ws
        .send(transport::close_message(&CloseReason::local(code, reason)))
        .await;
}
