//! A router the client mounts to receive the notifications of one topic
//! as bytes: the server's `Notify` on a topic reaches the cast of that
//! name, and this cast hands its payload, undecoded, to a channel.

use std::{future::ready, sync::Arc};

use bytes::Bytes;
use rpc_core::{HandlerFuture, MethodInfo, MethodKind, Request, Router, RouterInfo};
use tokio::sync::mpsc;

/// Serves one cast, named after the topic, that forwards its payload.
#[derive(Debug)]
pub(crate) struct Listener {
    info: &'static RouterInfo,
    payloads: mpsc::UnboundedSender<Bytes>,
}

impl Listener {
    /// A listener of `topic`, and the payloads it receives.
    pub(crate) fn new(topic: &str) -> (Self, mpsc::UnboundedReceiver<Bytes>) {
        // `Router::info` is `'static`: one small leak per process.
        let topic: &'static str = Box::leak(topic.to_owned().into_boxed_str());
        let methods: &'static [MethodInfo] = Box::leak(Box::new([MethodInfo::new(
            topic,
            MethodKind::Cast,
            &[],
            "()",
            "The notifications `rpc listen` prints.",
            None,
        )]));
        let info = Box::leak(Box::new(RouterInfo::new(
            "RpcListen",
            "The topic `rpc listen` receives.",
            methods,
        )));
        let (payloads, received) = mpsc::unbounded_channel();
        (Self { info, payloads }, received)
    }
}

impl Router for Listener {
    fn info(&self) -> &'static RouterInfo {
        self.info
    }

    fn dispatch(self: Arc<Self>, _method: usize, request: Request) -> HandlerFuture {
        // The receiver is gone only once `listen` is done.
        let _ = self
            .payloads
            .send(Bytes::copy_from_slice(request.payload()));
        Box::pin(ready(request.reply(&())))
    }
}
