//! Calls, casts and discover in both directions over real sockets.

mod common;

use std::time::Duration;

use common::{FnRouter, connect, connect_with, serve, within};
use rpc::{CallOptions, ErrorCode, HandlerError, MethodKind};
use tokio::sync::mpsc;

fn calculator() -> FnRouter {
    FnRouter::new("Calculator")
        .call("add", |req| async move {
            let (a, b): (i64, i64) = req.args()?;
            req.reply(&(a + b))
        })
        .call("fail", |_req| async move {
            Err(HandlerError::application(
                "the calculator is broken",
                &42u32,
            ))
        })
        .call("header", |req| async move {
            let value = req.header("trace-id").map(str::to_owned);
            req.reply(&value)
        })
}

#[tokio::test]
async fn call_returns_the_typed_answer() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let sum: i64 = within("call", client.peer().call("add", &(40, 2)))
        .await
        .unwrap();
    assert_eq!(sum, 42);
}

#[tokio::test]
async fn many_concurrent_calls_each_get_their_own_answer() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let calls = (0..200i64).map(|i| {
        let peer = client.peer().clone();
        async move { peer.call::<_, i64>("add", &(i, i)).await }
    });
    let sums = within("calls", futures_util::future::join_all(calls)).await;
    for (i, sum) in sums.into_iter().enumerate() {
        assert_eq!(sum.unwrap(), 2 * i64::try_from(i).unwrap());
    }
}

#[tokio::test]
async fn cast_runs_the_handler_without_a_reply() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let router = FnRouter::new("Log").cast("log", move |req| {
        let tx = tx.clone();
        async move {
            let (line,): (String,) = req.args()?;
            tx.send(line).unwrap();
            req.reply(&())
        }
    });
    let server = serve(router).await;
    let client = connect(&server).await;
    client.peer().cast("log", &("hello",)).await.unwrap();
    assert_eq!(within("cast", rx.recv()).await.unwrap(), "hello");
}

#[tokio::test]
async fn the_server_calls_a_router_the_client_mounted() {
    let (lobby, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let server_router = lobby.call("relay", |req| async move {
        // A handler calling back into the caller on the same connection.
        let (text,): (String,) = req.args()?;
        let echoed: String = req
            .session()
            .peer()
            .call("shout", &(text,))
            .await
            .map_err(|err| HandlerError::new(ErrorCode::INTERNAL, err.to_string()))?;
        req.reply(&echoed)
    });
    let client_router = FnRouter::new("Shouter").call("shout", |req| async move {
        let (text,): (String,) = req.args()?;
        req.reply(&text.to_uppercase())
    });
    let server = serve(server_router).await;
    let client = connect_with(&server, client_router).await;

    let relayed: String = within("relay", client.peer().call("relay", &("hi",)))
        .await
        .unwrap();
    assert_eq!(relayed, "HI");

    let () = within("join", client.peer().call("join", &()))
        .await
        .unwrap();
    let session = sessions.recv().await.unwrap();
    assert_eq!(session.id(), client.session().id());
    let shouted: String = within(
        "server call",
        session.peer().call("shout", &("from outside",)),
    )
    .await
    .unwrap();
    assert_eq!(shouted, "FROM OUTSIDE");
}

#[tokio::test]
async fn an_unknown_method_is_answered_with_its_code() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, i64>("subtract", &(1, 2)))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::UNKNOWN_METHOD));
    assert!(err.to_string().contains("subtract"), "{err}");
}

#[tokio::test]
async fn bad_arguments_are_answered_with_their_code() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, i64>("add", &("one", "two")))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS));
    // Extra arguments are trailing bytes, refused too.
    let err = within(
        "call",
        client.peer().call::<_, i64>("add", &(1i64, 2i64, 3i64)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::BAD_ARGUMENTS));
    // The connection is still usable.
    let sum: i64 = client.peer().call("add", &(1, 2)).await.unwrap();
    assert_eq!(sum, 3);
}

#[tokio::test]
async fn a_handler_error_arrives_with_code_message_and_data() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, ()>("fail", &()))
        .await
        .unwrap_err();
    let remote = err.remote().expect("a remote error");
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert_eq!(remote.message(), "the calculator is broken");
    assert_eq!(remote.decode_data::<u32>().unwrap(), 42);
    assert!(!err.is_timeout() && !err.is_closed());
}

#[tokio::test]
async fn headers_reach_the_handler() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let options = CallOptions::default()
        .header("trace-id", "abc123")
        .timeout(Duration::from_secs(5));
    let seen: Option<String> = within("call", client.peer().call_with("header", &(), options))
        .await
        .unwrap();
    assert_eq!(seen.as_deref(), Some("abc123"));
}

#[tokio::test]
async fn discover_describes_the_mounted_routers() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    let routers = within("discover", client.peer().discover()).await.unwrap();
    assert_eq!(routers.len(), 1);
    assert_eq!(routers[0].name, "Calculator");
    let names: Vec<_> = routers[0].methods.iter().map(|m| m.name.as_ref()).collect();
    assert_eq!(names, ["add", "fail", "header"]);
    assert!(
        routers[0]
            .methods
            .iter()
            .all(|m| m.kind == MethodKind::Call)
    );
}

#[tokio::test]
async fn the_server_discovers_the_client() {
    let (server_router, mut sessions) = FnRouter::new("Lobby").join_hands_out_sessions();
    let client_router = FnRouter::new("Phone").cast("ring", |req| async move { req.reply(&()) });
    let server = serve(server_router).await;
    let client = connect_with(&server, client_router).await;
    let () = client.peer().call("join", &()).await.unwrap();
    let session = sessions.recv().await.unwrap();
    let routers = within("discover", session.peer().discover()).await.unwrap();
    assert_eq!(routers[0].name, "Phone");
    assert_eq!(routers[0].methods[0].kind, MethodKind::Cast);
}

#[tokio::test]
async fn a_panicking_handler_answers_internal_and_the_session_survives() {
    let router = calculator().call("panic", |req| async move {
        let (explode,): (bool,) = req.args()?;
        assert!(!explode, "the handler broke");
        req.reply(&())
    });
    let server = serve(router).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, ()>("panic", &(true,)))
        .await
        .unwrap_err();
    assert_eq!(err.remote_code(), Some(ErrorCode::INTERNAL), "{err:?}");
    let sum: i64 = client.peer().call("add", &(1, 1)).await.unwrap();
    assert_eq!(sum, 2);
}

#[tokio::test]
async fn reusing_the_id_of_a_running_call_closes_the_session() {
    use futures_util::SinkExt;
    use rpc::{
        codec,
        protocol::{Call, Frame},
    };
    use tokio_tungstenite::tungstenite::Message;

    let router = calculator().call("wait", |req| async move {
        std::future::pending::<()>().await;
        req.reply(&())
    });
    let server = serve(router).await;
    let mut ws = common::raw::handshaken(server.local_addr().unwrap()).await;
    let call = codec::encode_with(
        &Frame::Call(Call {
            id: 9,
            method: "wait",
            headers: Vec::new(),
        }),
        &(),
    )
    .unwrap();
    ws.send(Message::Binary(call.clone())).await.unwrap();
    ws.send(Message::Binary(call)).await.unwrap();
    // An error frame with id 9 would fail the running call instead: the
    // reuse is a connection error, as stream-id reuse is in HTTP/2.
    let (code, reason) = within("close", common::raw::expect_close(&mut ws)).await;
    assert_eq!(code, 1002);
    assert!(
        reason.contains("call id 9 is already in flight"),
        "{reason}"
    );
}

#[tokio::test]
async fn casts_and_calls_after_the_session_closed_fail_at_once() {
    let server = serve(calculator()).await;
    let client = connect(&server).await;
    client.session().close();
    let err = client.peer().cast("add", &(1, 2)).await.unwrap_err();
    assert!(err.is_closed(), "{err:?}");
    let err = client
        .peer()
        .call::<_, i64>("add", &(1, 2))
        .await
        .unwrap_err();
    assert!(err.is_closed(), "{err:?}");
}

#[tokio::test]
async fn an_error_message_is_cut_to_1_kib() {
    let router = FnRouter::new("Loud").call("shout", |_req| async move {
        Err::<rpc::Reply, _>(HandlerError::new(ErrorCode::APPLICATION, "é".repeat(4096)))
    });
    let server = serve(router).await;
    let client = connect(&server).await;
    let err = within("call", client.peer().call::<_, ()>("shout", &()))
        .await
        .unwrap_err();
    let remote = err.remote().expect("an error answer");
    assert_eq!(remote.code(), ErrorCode::APPLICATION);
    assert!(
        remote.message().len() <= 1024,
        "{} bytes",
        remote.message().len()
    );
    assert!(remote.message().starts_with("éé"));
}
