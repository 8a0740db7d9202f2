//! [`Connector`]: everything needed to open a client connection to one URL,
//! checked once, so that a reconnecting client opens as many as it needs.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_tungstenite::tungstenite::{
    self,
    client::IntoClientRequest,
    http::{HeaderName, HeaderValue, Request},
};

use super::{Client, start};
use crate::{
    config::ClientConfig,
    error::{ConnectError, TransportError},
    recording::{self, RecordedSide},
    router::Routes,
    session::{Hooks, handshake},
    transport::{
        BoxTransport,
        websocket::{self, Io, WsTransport},
    },
};

/// Headers for the upgrade request, made anew at every (re)connect: a
/// fresh token, for example.
pub(crate) type Credentials =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Vec<(String, String)>> + Send>> + Send + Sync>;

/// The authorities a `wss://` connection trusts (nothing without TLS).
#[cfg(feature = "tls")]
type TlsChoice = crate::tls::ClientTls;
#[cfg(not(feature = "tls"))]
type TlsChoice = std::convert::Infallible;

/// What a connection is opened with: the URL and its parts, the routers
/// served on it, configuration, hooks and credentials.
#[derive(Clone)]
pub(crate) struct Connector {
    url: String,
    host: String,
    port: u16,
    #[cfg(feature = "tls")]
    tls: Option<(crate::tls::ClientTls, rustls_pki_types::ServerName<'static>)>,
    headers: Vec<(HeaderName, HeaderValue)>,
    credentials: Option<Credentials>,
    pub(crate) routes: Arc<Routes>,
    pub(crate) config: ClientConfig,
    pub(crate) hooks: Hooks,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("url", &self.url)
            .field("routes", &self.routes)
            .finish_non_exhaustive()
    }
}

/// The builder's parts a [`Connector`] is made of.
pub(crate) struct Parts {
    pub(crate) routes: Routes,
    pub(crate) config: ClientConfig,
    pub(crate) hooks: Hooks,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) credentials: Option<Credentials>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::ClientTls>,
}

impl Connector {
    /// Checks the URL, headers and configuration.
    pub(crate) fn new(parts: Parts, url: &str) -> Result<Self, ConnectError> {
        parts.config.validate().map_err(ConnectError::Config)?;
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| header(url, name, value))
            .collect::<Result<_, _>>()?;
        let mut connector = Self {
            url: String::new(),
            host: String::new(),
            port: 0,
            #[cfg(feature = "tls")]
            tls: None,
            headers,
            credentials: parts.credentials,
            routes: Arc::new(parts.routes),
            config: parts.config,
            hooks: parts.hooks,
        };
        #[cfg(feature = "tls")]
        let tls = parts.tls;
        #[cfg(not(feature = "tls"))]
        let tls = None;
        connector.aim(url, tls)?;
        Ok(connector)
    }

    /// The same connector, to another URL (a pool's next server).
    pub(crate) fn to(&self, url: &str) -> Result<Self, ConnectError> {
        let mut connector = self.clone();
        #[cfg(feature = "tls")]
        let tls = self.tls.as_ref().map(|(tls, _)| tls.clone());
        #[cfg(not(feature = "tls"))]
        let tls = None;
        connector.aim(url, tls)?;
        Ok(connector)
    }

    /// Points the connector at `url`, trusting `tls` for `wss://`.
    fn aim(
        &mut self,
        url: &str,
        #[cfg_attr(not(feature = "tls"), allow(unused_variables))] tls: Option<TlsChoice>,
    ) -> Result<(), ConnectError> {
        let request = request(url)?;
        let secure = request.uri().scheme_str() == Some("wss");
        #[cfg(not(feature = "tls"))]
        if secure {
            return Err(invalid(
                url,
                "wss:// needs TLS: build with the `tls` feature",
            ));
        }
        let host = request
            .uri()
            .host()
            .ok_or_else(|| invalid(url, "no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        self.port = request
            .uri()
            .port_u16()
            .unwrap_or(if secure { 443 } else { 80 });
        #[cfg(feature = "tls")]
        {
            self.tls = if secure {
                let name = crate::tls::ClientTls::server_name(&host)
                    .ok_or_else(|| invalid(url, "the host is not a DNS name or IP address"))?;
                Some((tls.unwrap_or_default(), name))
            } else {
                None
            };
        }
        self.host = host;
        url.clone_into(&mut self.url);
        Ok(())
    }

    /// The URL connections are opened to.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Opens a connection (over `io`, or a new TCP connection), upgrades it
    /// and performs the handshake, within the connect timeout.
    pub(crate) async fn connect<S>(&self, io: Option<S>) -> Result<Client, ConnectError>
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let limit = self.config.connect_timeout;
        // Boxed: TCP, TLS, upgrade and handshake together are many KiB of
        // state, which would otherwise sit in every caller's future.
        let (ws, welcome, remote_addr) = tokio::time::timeout(limit, Box::pin(self.open(io)))
            .await
            .map_err(|_| ConnectError::Timeout(limit))??;
        Ok(start(
            Arc::clone(&self.routes),
            self.config.session.clone(),
            ws,
            &welcome,
            remote_addr,
            self.hooks.clone(),
        ))
    }

    async fn open<S>(
        &self,
        io: Option<S>,
    ) -> Result<
        (
            BoxTransport,
            crate::protocol::Welcome,
            Option<std::net::SocketAddr>,
        ),
        ConnectError,
    >
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let mut request = request(&self.url)?;
        for (name, value) in &self.headers {
            request.headers_mut().append(name.clone(), value.clone());
        }
        if let Some(credentials) = &self.credentials {
            for (name, value) in credentials().await {
                let (name, value) = header(&self.url, &name, &value)?;
                request.headers_mut().append(name, value);
            }
        }
        let session = &self.config.session;
        let (io, remote_addr): (Box<dyn Io>, _) = if let Some(io) = io {
            (Box::new(io), None)
        } else {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(ConnectError::Io)?;
            websocket::tune(&tcp, session.tcp_keepalive);
            let remote_addr = tcp.peer_addr().ok();
            (Box::new(tcp), remote_addr)
        };
        #[cfg(feature = "tls")]
        let io = match &self.tls {
            Some((tls, name)) => tls
                .connect(name.clone(), io)
                .await
                .map_err(ConnectError::Tls)?,
            None => io,
        };
        let config = websocket::ws_config(session);
        let (ws, _response) =
            tokio_tungstenite::client_async_with_config(request, io, Some(config))
                .await
                .map_err(upgrade_error)?;
        let mut ws = recording::tap(
            Box::new(WsTransport::new(ws)),
            session,
            RecordedSide::Client,
            None,
        );
        let welcome = handshake::open(&mut ws, session)
            .await
            .map_err(ConnectError::Handshake)?;
        Ok((ws, welcome, remote_addr))
    }
}

fn invalid(url: &str, why: &'static str) -> ConnectError {
    ConnectError::InvalidUrl {
        url: url.to_owned(),
        why,
    }
}

/// The upgrade request for `url`, whose scheme must be `ws` or `wss`.
fn request(url: &str) -> Result<Request<()>, ConnectError> {
    let request = url
        .into_client_request()
        .map_err(|_| invalid(url, "not a URL"))?;
    match request.uri().scheme_str() {
        Some("ws" | "wss") => Ok(request),
        _ => Err(invalid(url, "the scheme must be ws:// or wss://")),
    }
}

fn header(url: &str, name: &str, value: &str) -> Result<(HeaderName, HeaderValue), ConnectError> {
    let name = HeaderName::try_from(name).map_err(|_| invalid(url, "bad header name"))?;
    let value = HeaderValue::try_from(value).map_err(|_| invalid(url, "bad header value"))?;
    Ok((name, value))
}

fn upgrade_error(err: tungstenite::Error) -> ConnectError {
    match err {
        tungstenite::Error::Http(response) => ConnectError::Refused {
            status: response.status().as_u16(),
            body: response
                .body()
                .as_deref()
                .map(|body| String::from_utf8_lossy(body).into_owned()),
        },
        tungstenite::Error::Io(io) => ConnectError::Io(io),
        other => ConnectError::Upgrade(TransportError::websocket(other)),
    }
}
