//! A client stream with progress: the client uploads a file in chunks under
//! the server's credit, printing progress as chunks leave, and the server
//! answers once with a summary.
//!
//! Run it with `cargo run --example upload`.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use futures_util::{StreamExt, stream};
use rpc::{Client, Incoming, Server};
use serde::{Deserialize, Serialize};

/// What the server made of an upload.
#[derive(Debug, Serialize, Deserialize, rpc::Schema)]
struct Receipt {
    name: String,
    chunks: u64,
    bytes: u64,
    checksum: u32,
}

/// Stores uploads (here: counts and checksums them).
struct Store;

/// File uploads.
#[rpc::router]
impl Store {
    /// Receives the chunks of file `name`; answers with a receipt once the
    /// upload ends.
    #[rpc::stream]
    async fn upload(&self, name: String, mut chunks: Incoming<Vec<u8>>) -> Receipt {
        let mut receipt = Receipt {
            name,
            chunks: 0,
            bytes: 0,
            checksum: 0,
        };
        while let Some(chunk) = chunks.next().await {
            let Ok(chunk) = chunk else { break };
            receipt.chunks += 1;
            receipt.bytes += chunk.len() as u64;
            receipt.checksum = chunk.iter().fold(receipt.checksum, |sum, byte| {
                sum.rotate_left(5) ^ u32::from(*byte)
            });
        }
        receipt
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder().mount(Store).bind("127.0.0.1:0").await?;
    let client = Client::connect(&format!("ws://{}", server.local_addr().unwrap())).await?;

    // 4 MiB in 64 KiB chunks.
    let file: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let total = file.len();
    let sent = Arc::new(AtomicUsize::new(0));
    let chunks: Vec<Vec<u8>> = file.chunks(64 << 10).map(<[u8]>::to_vec).collect();
    let progress = {
        let sent = Arc::clone(&sent);
        stream::iter(chunks).inspect(move |chunk| {
            // Called as the uploader takes each chunk, which it does only
            // when the server has granted credit for it.
            let done = sent.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
            if done.is_multiple_of(1 << 20) {
                println!("uploaded {:>3}%", done * 100 / total);
            }
        })
    };

    let receipt = StoreClient::new(client.peer())
        .upload("data.bin".to_owned(), progress)
        .await?;
    println!(
        "server received {} in {} chunks, {} bytes, checksum {:08x}",
        receipt.name, receipt.chunks, receipt.bytes, receipt.checksum
    );
    assert_eq!(usize::try_from(receipt.bytes)?, total);

    client.close().await;
    server.shutdown().await;
    Ok(())
}
