//! The server side of the WebSocket upgrade, done here rather than by
//! tungstenite so that the authentication hook can await: read the request
//! head (bounded), check it is a WebSocket upgrade, admit it (connection
//! limit, shutdown, origin, subprotocol, then the hook), answer 101 and hand
//! tungstenite the connection with every byte read past the head.
//!
//! The caller bounds the whole of it by the handshake timeout.

use std::{io, net::SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{handshake::derive_accept_key, protocol::Role},
};

use super::{
    Context,
    forwarded::{self, elements},
};
use crate::{
    auth::{Refusal, UpgradeRequest},
    identity::Identity,
    metrics::record::{self, ConnectionRefusal},
    transport::{
        BoxTransport,
        websocket::{self, Io, WsTransport},
    },
};

/// Largest request head read, in bytes, as tungstenite's own bound; past it
/// the connection is dropped without an answer.
const MAX_HEAD: usize = 64 << 10;

/// Most headers in a request, as tungstenite's own bound; past it the
/// connection is dropped without an answer.
const MAX_HEADERS: usize = 124;

/// An upgrade that became a WebSocket.
pub(super) struct Upgraded {
    pub(super) ws: BoxTransport,
    pub(super) identity: Option<Identity>,
    /// The client's address, a forwarded one when the peer is a trusted proxy.
    pub(super) remote_addr: Option<SocketAddr>,
}

/// Why an upgrade did not become a WebSocket.
#[derive(Debug, thiserror::Error)]
pub(super) enum UpgradeRefused {
    #[error("answered HTTP {status}: {reason}")]
    Answered { status: u16, reason: String },
    #[error("request head over {MAX_HEAD} bytes or {MAX_HEADERS} headers; dropped")]
    TooLarge,
    #[error("malformed request head; dropped")]
    Malformed,
    #[error("connection closed before the request head ended")]
    Closed,
    #[error("upgrade i/o failed")]
    Io(#[source] io::Error),
}

/// Reads the upgrade request from `io`, admits or refuses it, and answers.
/// `admitted` is false when the connection is over the limit, to be told 503.
pub(super) async fn upgrade(
    mut io: Box<dyn Io>,
    peer: Option<SocketAddr>,
    certificates: Option<Vec<bytes::Bytes>>,
    admitted: bool,
    ctx: &Context,
) -> Result<Upgraded, UpgradeRefused> {
    let (head, leftover) = read_head(&mut io).await?;
    let accept = match admit(&head, admitted, ctx) {
        Ok(accept) => accept,
        Err(answer) => return Err(answer.send(io).await),
    };
    let remote_addr = forwarded::client_addr(peer, &head.headers, &ctx.config.trusted_proxies);
    let identity = match authenticate(head, remote_addr, peer, certificates, ctx).await {
        Ok(identity) => identity,
        Err(answer) => return Err(answer.send(io).await),
    };
    let protocol = match &ctx.config.subprotocol {
        Some(protocol) => format!("Sec-WebSocket-Protocol: {protocol}\r\n"),
        None => String::new(),
    };
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"
    );
    io.write_all(response.as_bytes())
        .await
        .map_err(UpgradeRefused::Io)?;
    io.flush().await.map_err(UpgradeRefused::Io)?;
    let config = websocket::ws_config(&ctx.config.session);
    let ws = WebSocketStream::from_partially_read(io, leftover, Role::Server, Some(config)).await;
    Ok(Upgraded {
        ws: Box::new(WsTransport::new(ws)),
        identity,
        remote_addr,
    })
}

/// The parsed request head, owned.
pub(super) struct Head {
    method: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    version: u8,
    uri: http::Uri,
    headers: HeaderMap,
}

impl Head {
    /// The head of a request an HTTP server (hyper) has parsed already.
    #[cfg(feature = "hyper")]
    pub(super) fn of<B>(request: &http::Request<B>) -> Self {
        let version = match request.version() {
            http::Version::HTTP_09 | http::Version::HTTP_10 => 0,
            _ => 1,
        };
        Self {
            method: request.method().as_str().to_owned(),
            version,
            uri: request.uri().clone(),
            headers: request.headers().clone(),
        }
    }

    #[cfg(feature = "hyper")]
    pub(super) fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// Runs the authentication hook, if any, on the request `head` from the
/// client at `remote_addr` (the connection's `peer`, or the address a
/// trusted proxy forwarded).
pub(super) async fn authenticate(
    head: Head,
    remote_addr: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    certificates: Option<Vec<bytes::Bytes>>,
    ctx: &Context,
) -> Result<Option<Identity>, Answer> {
    match &ctx.auth {
        Some(hook) => {
            let request = UpgradeRequest::new(&head.uri, head.headers, remote_addr, peer)
                .with_client_certificates(certificates);
            hook(request).await.map_err(Answer::from)
        }
        None => Ok(None),
    }
}

/// Reads until the blank line that ends the head; returns the head and the
/// bytes read past it.
async fn read_head(io: &mut Box<dyn Io>) -> Result<(Head, Vec<u8>), UpgradeRefused> {
    let mut buf = vec![0; 4096];
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            if filled == MAX_HEAD {
                return Err(UpgradeRefused::TooLarge);
            }
            buf.resize((filled * 2).min(MAX_HEAD), 0);
        }
        let read = io
            .read(&mut buf[filled..])
            .await
            .map_err(UpgradeRefused::Io)?;
        if read == 0 {
            return Err(UpgradeRefused::Closed);
        }
        // Parse the first read, so that what is not HTTP at all (a TLS
        // hello to a plain server) is refused at once, then only once the
        // end of the head may have arrived, so that a head sent a byte at a
        // time is not parsed once a byte.
        let first = filled == 0;
        let window = &buf[filled.saturating_sub(3)..filled + read];
        filled += read;
        let may_end =
            window.windows(2).any(|w| w == b"\n\n") || window.windows(3).any(|w| w == b"\n\r\n");
        if !first && !may_end {
            continue;
        }
        if let Some((len, head)) = parse(&buf[..filled])? {
            buf.truncate(filled);
            buf.drain(..len);
            return Ok((head, buf));
        }
    }
}

/// The head at the start of `buf` and its length, or `None` if it is
/// incomplete.
fn parse(buf: &[u8]) -> Result<Option<(usize, Head)>, UpgradeRefused> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(UpgradeRefused::TooLarge),
        Err(_) => return Err(UpgradeRefused::Malformed),
    };
    let mut map = HeaderMap::with_capacity(request.headers.len());
    for header in &*request.headers {
        let name = HeaderName::from_bytes(header.name.as_bytes());
        let value = HeaderValue::from_bytes(header.value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(UpgradeRefused::Malformed);
        };
        map.append(name, value);
    }
    let uri = request
        .path
        .and_then(|path| path.parse().ok())
        .ok_or(UpgradeRefused::Malformed)?;
    Ok(Some((
        len,
        Head {
            method: request.method.unwrap_or_default().to_owned(),
            version: request.version.unwrap_or_default(),
            uri,
            headers: map,
        },
    )))
}

/// Checks that `head` is a WebSocket upgrade the server takes now, from an
/// allowed origin with the required subprotocol; returns the
/// `Sec-WebSocket-Accept` value, or the answer that refuses it.
pub(super) fn admit(head: &Head, admitted: bool, ctx: &Context) -> Result<String, Answer> {
    let headers = &head.headers;
    if head.method != "GET" {
        return Err(Answer::new(405, "websocket upgrades use GET").with("Allow", "GET"));
    }
    if head.version < 1 {
        return Err(Answer::new(400, "websocket upgrades need HTTP/1.1"));
    }
    if !elements(headers, &header::UPGRADE).any(|t| t.eq_ignore_ascii_case("websocket"))
        || !elements(headers, &header::CONNECTION).any(|t| t.eq_ignore_ascii_case("upgrade"))
    {
        return Err(Answer::new(
            426,
            "this is a websocket endpoint: send `Connection: Upgrade` and `Upgrade: websocket`",
        )
        .with("Upgrade", "websocket"));
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION) != Some(&HeaderValue::from_static("13")) {
        return Err(Answer::new(426, "this server speaks websocket version 13")
            .with("Sec-WebSocket-Version", "13"));
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .filter(|key| !key.is_empty())
    else {
        return Err(Answer::new(400, "missing Sec-WebSocket-Key"));
    };
    if !admitted {
        record::connection_refused(ConnectionRefusal::ConnectionLimit);
        tracing::warn!(
            limit = ctx.config.max_connections,
            "connection limit crossed"
        );
        return Err(Answer::new(503, "too many connections; try again later"));
    }
    if ctx.shutdown.is_cancelled() {
        return Err(Answer::new(503, "server is shutting down"));
    }
    if let (Some(allowed), Some(origin)) =
        (&ctx.config.allowed_origins, headers.get(header::ORIGIN))
        && !allowed
            .iter()
            .any(|ok| ok.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
    {
        return Err(Answer::new(403, "origin not allowed"));
    }
    if let Some(required) = &ctx.config.subprotocol
        && !elements(headers, &header::SEC_WEBSOCKET_PROTOCOL).any(|t| t == required)
    {
        return Err(Answer::new(
            400,
            format!("this server requires the websocket subprotocol `{required}`"),
        ));
    }
    Ok(derive_accept_key(key.as_bytes()))
}

/// An HTTP answer that refuses the upgrade: status, reason as the body, and
/// the header the status calls for, if any.
pub(super) struct Answer {
    status: u16,
    reason: String,
    header: Option<(&'static str, &'static str)>,
}

impl Answer {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            header: None,
        }
    }

    /// Adds the header `name: value`.
    fn with(mut self, name: &'static str, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }

    /// The answer as an HTTP response, for a server that writes it itself.
    #[cfg(feature = "hyper")]
    pub(super) fn into_response(self) -> http::Response<String> {
        let mut response = http::Response::new(self.reason);
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::FORBIDDEN);
        if let Some((name, value)) = self.header
            && let Ok(name) = HeaderName::from_bytes(name.as_bytes())
        {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }

    /// Writes the answer, then closes the connection.
    async fn send(self, mut io: Box<dyn Io>) -> UpgradeRefused {
        let Self {
            status,
            reason,
            header,
        } = self;
        let header =
            header.map_or_else(String::new, |(name, value)| format!("{name}: {value}\r\n"));
        let phrase = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|code| code.canonical_reason())
            .unwrap_or("Refused");
        let response = format!(
            "HTTP/1.1 {status} {phrase}\r\nConnection: close\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{header}\r\n{reason}",
            reason.len()
        );
        let written = async {
            io.write_all(response.as_bytes()).await?;
            io.shutdown().await
        };
        match written.await {
            Ok(()) => UpgradeRefused::Answered { status, reason },
            Err(err) => UpgradeRefused::Io(err),
        }
    }
}

impl From<Refusal> for Answer {
    fn from(refusal: Refusal) -> Self {
        Self::new(refusal.status(), refusal.reason())
    }
}
