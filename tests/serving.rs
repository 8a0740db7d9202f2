//! You bind, we serve: a listener the caller bound, any stream of accepted
//! connections (Unix sockets here), and a server that says when it stopped.

mod common;

use common::{FnRouter, server_config, within};
use rpc::{Client, Server};
use tokio::net::{TcpSocket, UnixListener, UnixStream};

fn calculator() -> rpc::ServerBuilder {
    let router = FnRouter::new("Calc").call("add", |req| async move {
        let (a, b): (i64, i64) = req.args()?;
        req.reply(&(a + b))
    });
    Server::builder()
        .config(server_config())
        .mount(router.finished())
}

#[tokio::test]
async fn a_listener_the_caller_bound_is_served() {
    // Socket options of the caller's choosing, then the listener.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(16).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = calculator().serve(listener).unwrap();
    assert_eq!(server.local_addr(), Some(addr));
    let client = within("connect", Client::connect(&format!("ws://{addr}")))
        .await
        .unwrap();
    let sum: i64 = client.peer().call("add", &(2, 3)).await.unwrap();
    assert_eq!(sum, 5);
    assert!(client.session().remote_addr().is_some());
}

/// A Unix socket in a fresh directory, removed with it.
struct SocketPath(std::path::PathBuf);

impl SocketPath {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("rpc-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir.join("socket"))
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
    }
}

#[tokio::test]
async fn unix_sockets_are_served_through_serve_with_and_the_server_stops_when_they_end() {
    let path = SocketPath::new("serve-with");
    let listener = UnixListener::bind(&path.0).unwrap();
    // At most two connections, then the stream ends.
    let incoming = futures_util::stream::unfold((listener, 0), |(listener, served)| async move {
        if served == 2 {
            return None;
        }
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, (listener, served + 1)))
    });
    let server = calculator().serve_with(incoming).unwrap();
    assert_eq!(server.local_addr(), None);

    let mut clients = Vec::new();
    for n in 0..2i64 {
        let stream = UnixStream::connect(&path.0).await.unwrap();
        let client = within(
            "connect",
            Client::builder().connect_with(stream, "ws://localhost/rpc"),
        )
        .await
        .unwrap();
        let sum: i64 = client.peer().call("add", &(n, 1)).await.unwrap();
        assert_eq!(sum, n + 1);
        assert_eq!(client.session().remote_addr(), None);
        clients.push(client);
    }
    // The stream has ended; the server goes on serving its sessions, and
    // stops once they have ended.
    let stopped = server.stopped();
    tokio::pin!(stopped);
    assert!(
        futures_util::poll!(stopped.as_mut()).is_pending(),
        "two sessions still run"
    );
    let sum: i64 = clients[1].peer().call("add", &(20, 22)).await.unwrap();
    assert_eq!(sum, 42);
    for client in clients {
        client.close().await;
    }
    within("stopped", stopped).await;
}
