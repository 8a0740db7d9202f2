//! The three kinds of stream, with every way of writing one: the stub's
//! signatures and the metadata.

use std::{pin::Pin, sync::Arc};

use futures_util::{Stream, StreamExt, stream, stream::BoxStream};
use rpc::{BidiStream, Incoming, Session, StreamOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, rpc::Schema)]
struct Tick {
    n: u64,
}

#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Gone;

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("gone")
    }
}

struct Feeds;

/// Streams every way.
#[rpc::router]
impl Feeds {
    /// Ticks, made without awaiting.
    #[rpc::stream(timeout = "1h")]
    fn ticks(&self, every_ms: u64) -> impl Stream<Item = Tick> + Send + 'static {
        stream::iter(0..every_ms).map(|n| Tick { n })
    }

    /// Borrows the router while it streams.
    #[rpc::stream]
    fn borrowed(&self) -> impl Stream<Item = u64> + '_ {
        stream::iter(self.numbers())
    }

    /// Refusable, with fallible items.
    #[rpc::stream(name = "feeds.tail")]
    async fn tail(
        &self,
        session: &Session,
        from: u64,
    ) -> Result<Pin<Box<dyn Stream<Item = Result<String, Gone>> + Send>>, Gone> {
        let _ = session.id();
        if from > 10 {
            return Err(Gone);
        }
        Ok(Box::pin(stream::iter([Ok("line".to_owned()), Err(Gone)])))
    }

    /// Client streaming.
    #[rpc::stream]
    async fn sum(self: Arc<Self>, mut numbers: Incoming<u64>) -> Result<u64, Gone> {
        let mut total = 0;
        while let Some(n) = numbers.next().await {
            total += n.map_err(|_| Gone)?;
        }
        Ok(total)
    }

    /// Client streaming with nothing to answer.
    #[rpc::stream]
    async fn drain(&self, _: rpc::Incoming<Tick>) {}

    /// Bidirectional, the uploads between arguments.
    #[rpc::stream]
    fn echo(&self, prefix: String, lines: Incoming<String>, times: u8) -> BoxStream<'static, String> {
        let _ = times;
        lines
            .filter_map(move |line| {
                let prefix = prefix.clone();
                async move { line.ok().map(|line| format!("{prefix}{line}")) }
            })
            .boxed()
    }

    #[rpc::call]
    async fn options(&self) -> u8 {
        0
    }

    fn numbers(&self) -> Vec<u64> {
        vec![1, 2]
    }
}

/// The stub's signatures, spelled out.
async fn use_the_stub(peer: &rpc::Peer) -> Result<(), rpc::Error> {
    let feeds = FeedsClient::new(peer);
    let _: Incoming<Tick> = feeds.ticks(5).await?;
    let _: Incoming<Tick> = feeds.ticks_with(5, StreamOptions::default().window(4)).await?;
    let _: Incoming<u64> = feeds.borrowed().await?;
    let _: Result<Incoming<String>, Gone> = feeds.tail(3).await?;
    let summed: Result<u64, Gone> = feeds.sum(stream::iter(1..=3)).await?;
    let _ = summed;
    let options = StreamOptions::default().idle_timeout(std::time::Duration::from_secs(1));
    let _: Result<u64, Gone> = feeds.sum_with(stream::empty(), options).await?;
    let (): () = feeds.drain(stream::iter([Tick { n: 1 }])).await?;
    let lines = stream::iter(["a".to_owned()]);
    let _: BidiStream<String> = feeds.echo("> ".to_owned(), lines, 2).await?;
    let _: u8 = feeds.options().await?;
    Ok(())
}

fn main() {
    let _ = use_the_stub;
    let info = rpc::routers().find(|info| info.name == "Feeds").unwrap();
    let shown: Vec<(&str, rpc::MethodKind, Vec<(&str, &str)>, &str)> = info
        .methods
        .iter()
        .map(|m| {
            let params = m.params.iter().map(|p| (p.name.as_ref(), p.ty.as_ref())).collect();
            (m.name.as_ref(), m.kind, params, m.returns.as_ref())
        })
        .collect();
    use rpc::MethodKind::{Call, Stream};
    assert_eq!(
        shown,
        [
            ("ticks", Stream, vec![("every_ms", "u64")], "Stream<Item = Tick>"),
            ("borrowed", Stream, vec![], "Stream<Item = u64>"),
            (
                "feeds.tail",
                Stream,
                vec![("from", "u64")],
                "Result<Stream<Item = Result<String, Gone>>, Gone>"
            ),
            ("sum", Stream, vec![("numbers", "Incoming<u64>")], "Result<u64, Gone>"),
            ("drain", Stream, vec![("uploads", "Incoming<Tick>")], "()"),
            (
                "echo",
                Stream,
                vec![("prefix", "String"), ("times", "u8"), ("lines", "Incoming<String>")],
                "Stream<Item = String>"
            ),
            ("options", Call, vec![], "u8"),
        ]
    );
    assert_eq!(info.methods[0].timeout_ms, Some(3_600_000));
}
