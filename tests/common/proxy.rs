//! A TCP proxy on 127.0.0.1 that can turn the connections it carries into
//! half-open links: still open, but carrying nothing, as when a NAT box or
//! the peer's machine dies without a FIN.

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    sync::{oneshot, watch},
};

pub struct Proxy {
    addr: SocketAddr,
    /// Bumped by `freeze`: a connection accepted at an older epoch stops.
    epoch: watch::Sender<u64>,
    _stop: oneshot::Sender<()>,
}

impl Proxy {
    /// Forwards every connection made to [`addr`](Self::addr) to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (epoch, _) = watch::channel(0_u64);
        let (stop, stopped) = oneshot::channel();
        let epochs = epoch.clone();
        tokio::spawn(async move {
            let mut stopped = stopped;
            // Every carried connection lives in this task's set, so that
            // dropping the proxy drops them all.
            let mut carried = tokio::task::JoinSet::new();
            loop {
                let (client, _) = tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => accepted.unwrap(),
                };
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let born = *epochs.borrow();
                carried.spawn(carry(client, server, born, epochs.subscribe()));
            }
        });
        Self {
            addr,
            epoch,
            _stop: stop,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops carrying bytes on every connection open now, without closing
    /// any; connections made later are carried.
    pub fn freeze(&self) {
        self.epoch.send_modify(|epoch| *epoch += 1);
    }
}

/// Copies both ways until a freeze, then holds both sockets open and
/// silent until the proxy is dropped.
async fn carry(
    mut client: TcpStream,
    mut server: TcpStream,
    born: u64,
    mut epoch: watch::Receiver<u64>,
) {
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        _ = epoch.wait_for(|now| *now > born) => {}
    }
    std::future::pending::<()>().await;
}
