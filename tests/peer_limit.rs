//! A side keeps its calls and streams within the `max_in_flight` its peer
//! announced: those beyond it wait here, in a bounded queue and within
//! their timeout, instead of being sent to be refused `busy`.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use common::{server_config, session_config, url, within};
use futures_util::future::join_all;
use rpc::{Client, ClientConfig, Error, Server, StreamOptions};
use tokio::sync::{Semaphore, mpsc};

/// What the handlers share with the test: how many run, and the gate they
/// wait at until the test lets them go.
struct State {
    running: AtomicUsize,
    most: AtomicUsize,
    started: mpsc::UnboundedSender<()>,
    release: Semaphore,
}

struct Desk(Arc<State>);

#[rpc::router]
impl Desk {
    #[rpc::call]
    async fn work(&self, n: u64) -> u64 {
        let state = &self.0;
        let now = state.running.fetch_add(1, Ordering::SeqCst) + 1;
        state.most.fetch_max(now, Ordering::SeqCst);
        let _ = state.started.send(());
        let _ = state
            .release
            .acquire()
            .await
            .map(tokio::sync::SemaphorePermit::forget);
        state.running.fetch_sub(1, Ordering::SeqCst);
        n
    }
}

struct Setup {
    server: Server,
    desk: Arc<State>,
    started: mpsc::UnboundedReceiver<()>,
}

/// A server running at most `limit` requests per connection.
async fn setup(limit: usize) -> Setup {
    let (started_tx, started) = mpsc::unbounded_channel();
    let desk = Arc::new(State {
        running: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        started: started_tx,
        release: Semaphore::new(0),
    });
    let server = Server::builder()
        .config(server_config().session(session_config().max_in_flight(limit)))
        .mount(Desk(Arc::clone(&desk)))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    Setup {
        server,
        desk,
        started,
    }
}

async fn client(server: &Server, queued: usize, timeout: Duration) -> DeskClient {
    let config = session_config()
        .max_queued_calls(queued)
        .call_timeout(timeout);
    let client = within(
        "connect",
        Client::builder()
            .config(ClientConfig::default().session(config))
            .connect(&url(server)),
    )
    .await
    .unwrap();
    DeskClient::new(client.peer())
}

#[tokio::test]
async fn calls_beyond_the_peers_limit_wait_instead_of_being_refused_busy() {
    let mut t = setup(2).await;
    let desk = client(&t.server, 16, Duration::from_secs(10)).await;
    let calls = join_all((0..6).map(|n| desk.work(n)));
    let release = async {
        // Two run; the other four wait on the client, not at the server.
        for _ in 0..2 {
            within("a start", t.started.recv()).await.unwrap();
        }
        assert_eq!(t.desk.running.load(Ordering::SeqCst), 2);
        t.desk.release.add_permits(6);
    };
    let (answers, ()) = tokio::join!(calls, release);
    let answers: Vec<u64> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, [0, 1, 2, 3, 4, 5]);
    assert_eq!(t.desk.most.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn past_the_queue_a_call_fails_at_once_as_busy() {
    let mut t = setup(1).await;
    let desk = client(&t.server, 1, Duration::from_secs(10)).await;
    let running = desk.work(1);
    let queued = desk.work(2);
    let refused = async {
        within("a start", t.started.recv()).await.unwrap();
        // `running` holds the one slot and `queued` waits for it: a third
        // call has no room.
        tokio::task::yield_now().await;
        let refused = desk.work(3).await;
        t.desk.release.add_permits(2);
        refused
    };
    let (running, queued, refused) = tokio::join!(running, queued, refused);
    assert_eq!((running.unwrap(), queued.unwrap()), (1, 2));
    let err = refused.unwrap_err();
    assert!(matches!(err, Error::QueueFull { max: 1 }), "{err:?}");
    assert!(err.is_busy());
}

#[tokio::test]
async fn a_call_waiting_for_a_slot_times_out_without_being_sent() {
    let mut t = setup(1).await;
    let desk = client(&t.server, 4, Duration::from_millis(200)).await;
    let first = desk.caller().call_with::<_, u64>(
        "work",
        &(1u64,),
        rpc::CallOptions::default().timeout(Duration::from_secs(10)),
    );
    let waiting = async {
        within("a start", t.started.recv()).await.unwrap();
        let waited = desk.work(2).await;
        t.desk.release.add_permits(1);
        waited
    };
    let (first, waited) = tokio::join!(first, waiting);
    assert_eq!(first.unwrap(), 1);
    assert!(matches!(waited, Err(Error::Timeout(_))), "{waited:?}");
    // Only the first ever reached the server.
    assert_eq!(t.desk.most.load(Ordering::SeqCst), 1);
    assert!(
        t.started.try_recv().is_err(),
        "the timed-out call never ran"
    );
}

#[tokio::test]
async fn a_refused_open_gives_its_slot_back() {
    let mut t = setup(1).await;
    let desk = client(&t.server, 4, Duration::from_secs(10)).await;
    // An open takes the server's one slot until its stream ends; a
    // refused one ends at once.
    let refused = desk
        .caller()
        .open::<_, u64>("nope", &(), StreamOptions::default())
        .await;
    assert!(refused.is_err());
    // The slot is free again: a call runs.
    let call = desk.work(5);
    let release = async {
        within("a start", t.started.recv()).await.unwrap();
        t.desk.release.add_permits(1);
    };
    let (answer, ()) = tokio::join!(call, release);
    assert_eq!(answer.unwrap(), 5);
}
