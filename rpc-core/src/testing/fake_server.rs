//! [`FakeServer`]: a listener whose connections are [`FakePeer`]s, for
//! testing a real client against a server that misbehaves.

use std::{
    net::{Ipv4Addr, SocketAddr},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use tokio::net::TcpListener;

use super::{
    PATIENCE,
    peer::{End, FakePeer, unlimited},
};
use crate::protocol::{Frame, Limits, PROTOCOL_VERSION, Welcome};

/// A fake server on a free port of 127.0.0.1: each
/// [`accept`](Self::accept) takes one connection, answers its `Hello` with
/// a `Welcome` carrying the limits and features the test chose, and hands
/// the connection over as a [`FakePeer`] that the test drives by hand.
///
/// # Panics
///
/// As [`FakePeer`]'s methods, its methods are assertions and panic when the
/// client does not do what they expect.
///
/// ```no_run
/// # extern crate rpc_core as rpc;
/// use rpc::{Client, testing::FakeServer};
///
/// # async fn example() {
/// let fake = FakeServer::bind().await;
/// let url = fake.url();
/// let (mut server, client) = tokio::join!(fake.accept(), Client::connect(&url));
/// let client = client.expect("the client connects");
///
/// let peer = client.peer().clone();
/// let call = tokio::spawn(async move { peer.call::<_, u64>("ping", &()).await });
/// let (id, _args) = server.expect_call("ping").await;
/// server.reply(id, &42u64).await;
/// assert_eq!(call.await.unwrap().unwrap(), 42);
/// # }
/// ```
#[must_use]
#[derive(Debug)]
pub struct FakeServer {
    listener: TcpListener,
    addr: SocketAddr,
    limits: Limits,
    features: Vec<String>,
    patience: Duration,
    next_session: AtomicU64,
}

impl FakeServer {
    /// Limits a fake server announces by default: 1 MiB messages and
    /// reassembly, 16 calls in flight, 16 fragmented messages at once.
    pub const LIMITS: Limits = Limits {
        max_message_size: 1 << 20,
        max_in_flight: 16,
        max_reassembly: 1 << 20,
        max_partials: 16,
    };

    /// Binds 127.0.0.1 on a port the system chooses.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub async fn bind() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|err| panic!("fake server: cannot bind 127.0.0.1:0: {err}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("fake server: no local address: {err}"));
        Self {
            listener,
            addr,
            limits: Self::LIMITS,
            features: Vec::new(),
            patience: PATIENCE,
            next_session: AtomicU64::new(1),
        }
    }

    /// The limits its `Welcome` announces; [`LIMITS`](Self::LIMITS) by
    /// default.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The optional features its `Welcome` grants (by their wire names,
    /// whatever the client asked for); none by default.
    pub fn features<I, S>(mut self, features: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.features = features.into_iter().map(Into::into).collect();
        self
    }

    /// How long [`accept`](Self::accept) waits for a client, and the
    /// patience of the peers it makes; [`PATIENCE`] by default.
    pub fn patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its `ws://` URL, for the client.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Accepts one connection, upgrades it, reads the client's `Hello`
    /// (kept: [`FakePeer::hello`]) and answers with a `Welcome` for this
    /// build's protocol version, a new session id, and this fake's limits
    /// and features.
    ///
    /// # Panics
    ///
    /// When no client comes within the patience, or its first message is
    /// not a `Hello`.
    pub async fn accept(&self) -> FakePeer {
        let mut peer = self.accept_upgrade().await;
        let received = peer.expect_frame().await;
        let Frame::Hello(hello) = received.frame() else {
            panic!("fake server: expected a hello, received {received:?}");
        };
        let welcome = Welcome {
            version: PROTOCOL_VERSION,
            session_id: self.next_session.fetch_add(1, Ordering::Relaxed),
            features: self.features.clone(),
            limits: self.limits,
        };
        peer.send(&Frame::Welcome(welcome), &()).await;
        peer.with_hello(hello)
    }

    /// Accepts one connection and upgrades it, without the protocol
    /// handshake: the test reads the `Hello` and answers it (or does not)
    /// itself.
    ///
    /// # Panics
    ///
    /// When no client comes within the patience, or the upgrade fails.
    pub async fn accept_upgrade(&self) -> FakePeer {
        let accepted = async {
            let (tcp, _) = self
                .listener
                .accept()
                .await
                .unwrap_or_else(|err| panic!("fake server: accept failed: {err}"));
            tokio_tungstenite::accept_async_with_config(tcp, Some(unlimited()))
                .await
                .unwrap_or_else(|err| panic!("fake server: the upgrade failed: {err}"))
        };
        let ws = tokio::time::timeout(self.patience, accepted)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "fake server: expected a client, none came within {:?}",
                    self.patience
                )
            });
        FakePeer::new(ws, End::Server).patience(self.patience)
    }
}
