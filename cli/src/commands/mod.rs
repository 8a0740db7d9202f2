//! The subcommands, one file each.

mod call;
mod discover;
mod listen;
mod stream;

use crate::{args::Command, error::CliError};

/// Runs `command`.
pub(crate) async fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Discover { server, json } => discover::run(&server, json).await,
        Command::Call {
            server,
            request,
            pretty,
        } => call::run(&server, &request, pretty).await,
        Command::Stream {
            server,
            request,
            limit,
        } => stream::run(&server, &request, limit).await,
        Command::Listen {
            server,
            topic,
            ty,
            call,
            limit,
        } => {
            let listen = listen::Listen {
                topic,
                ty,
                call,
                limit,
            };
            listen.run(&server).await
        }
    }
}
