//! `rpc`: the command line of wsduplex, as grpcurl is gRPC's. It lists
//! what a server serves (`discover`), calls its methods (`call`), reads
//! its streams (`stream`) and the notifications it pushes (`listen`),
//! writing arguments and answers as JSON, which it turns into postcard and
//! back by the type schemas the server's discover answer carries.
//!
//! docs/cli.md is the guide; `rpc --help` lists the exit codes.

mod args;
mod commands;
mod connect;
mod error;
mod json;
mod listener;
mod output;
mod render;
mod types;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("rpc: cannot start the runtime: {err}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.report(),
    }
}
