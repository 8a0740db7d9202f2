//! Every feature at once: calls, casts, `Result`, options, the session,
//! `self: Arc<Self>`, destructuring patterns, helper methods, and the stub.

use std::sync::{Arc, Mutex};

use rpc::Session;

#[derive(Default)]
struct Board {
    cells: Mutex<Vec<(u32, u32)>>,
}

/// A shared board.
#[rpc::router]
impl Board {
    /// Places a mark.
    #[rpc::call(name = "board.place", timeout = "1m")]
    async fn place(&self, (x, y): (u32, u32)) -> Result<usize, String> {
        let mut cells = self.cells.lock().unwrap();
        if cells.contains(&(x, y)) {
            return Err(format!("({x}, {y}) is taken"));
        }
        cells.push((x, y));
        Ok(cells.len())
    }

    #[rpc::call(timeout = "250ms")]
    async fn cells(self: Arc<Self>) -> Vec<(u32, u32)> {
        self.cells.lock().unwrap().clone()
    }

    /// Clears the board and says who did.
    #[rpc::cast]
    async fn clear(&self, _: bool, session: &Session, reason: String) {
        let _ = (session.identity(), reason);
        self.cells.lock().unwrap().clear();
    }

    #[rpc::call]
    async fn ping(&self) {}

    fn helper(&self) -> usize {
        self.cells.lock().unwrap().len()
    }
}

async fn use_the_stub(peer: &rpc::Peer) -> Result<(), rpc::Error> {
    let board = BoardClient::new(peer);
    let placed: Result<usize, String> = board.place((1, 2)).await?;
    let _ = placed;
    let _: Vec<(u32, u32)> = board.cells().await?;
    board.clear(true, "done".to_owned()).await?;
    board.ping().await?;
    let _: &rpc::Peer = board.clone().caller();
    Ok(())
}

fn main() {
    let _ = use_the_stub;
    let _ = Board::default().helper();
    let info = rpc::routers().find(|info| info.name == "Board").unwrap();
    let names: Vec<&str> = info.methods.iter().map(|m| m.name.as_ref()).collect();
    assert_eq!(names, ["board.place", "cells", "clear", "ping"]);
    assert_eq!(info.methods[0].params[0].name, "arg0");
    assert_eq!(info.methods[0].params[0].ty, "(u32, u32)");
    assert_eq!(info.methods[2].params.len(), 2);
    assert_eq!(info.methods[1].timeout_ms, Some(250));
}
