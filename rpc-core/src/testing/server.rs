//! [`TestServer`]: a real server on a free port, for end-to-end tests.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

use crate::{
    client::{Client, ClientBuilder},
    error::{ConnectError, ServeError},
    server::{Server, ServerBuilder},
};

/// A [`Server`] listening on a free port of 127.0.0.1, with what a test
/// needs to reach it.
///
/// Dropping it begins a graceful shutdown without waiting, as dropping a
/// [`Server`] does: the listener stops once the sessions have ended, which
/// takes up to the shutdown grace if handlers are still running. A test
/// that must know the server is gone awaits [`shutdown`](Self::shutdown);
/// whatever is left ends with the test's runtime.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// # async fn example(routers: rpc::ServerBuilder) -> Result<(), Box<dyn std::error::Error>> {
/// let server = rpc::testing::TestServer::start(routers).await?;
/// let client = server.client().await?;
/// let routers = client.peer().discover().await?;
/// # let _ = routers;
/// server.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    server: Server,
    addr: SocketAddr,
}

impl TestServer {
    /// Binds 127.0.0.1 on a port the system chooses and starts serving
    /// `builder`'s routers with its configuration.
    ///
    /// # Errors
    ///
    /// As [`ServerBuilder::bind`]: refused routers or configuration, or no
    /// socket.
    pub async fn start(builder: ServerBuilder) -> Result<Self, ServeError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(ServeError::Bind)?;
        let addr = listener.local_addr().map_err(ServeError::Bind)?;
        let server = builder.serve(listener)?;
        Ok(Self { server, addr })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's `ws://` URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The server itself: its registry, its connection count.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Connects a client with the default configuration and no routers.
    ///
    /// # Errors
    ///
    /// As [`Client::connect`].
    pub async fn client(&self) -> Result<Client, ConnectError> {
        self.connect(Client::builder()).await
    }

    /// Connects `builder`'s client (its routers, its configuration).
    ///
    /// # Errors
    ///
    /// As [`ClientBuilder::connect`].
    pub async fn connect(&self, builder: ClientBuilder) -> Result<Client, ConnectError> {
        builder.connect(&self.url()).await
    }

    /// Shuts the server down gracefully and waits until every task of it
    /// has ended; see [`Server::shutdown`].
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
