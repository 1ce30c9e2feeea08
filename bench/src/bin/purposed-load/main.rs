//! purposed-load: the load generator of BENCHMARKS.md. Each command starts the purposed
//! binary it is given on a fresh database, drives it over gRPC, stops it, and writes what it
//! measured as JSON (and a summary on the terminal).
//!
//! - `grpc`: Check against the benchmark-only no-op, serial, concurrent and open-loop, without
//!   subjects and then with a subject in every request and a million subjects stored;
//! - `rights`: rights requests submitted per second on PostgreSQL at 1, 8 and 32 clients;
//! - `visibility`: time from a registry apply until Check answers from the new revision.

mod drive;
mod grpc;
mod report;
mod rights;
mod seed;
mod server;
mod visibility;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "purposed-load",
    about = "Load generator for purposed (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check against the no-op RPC: throughput ratio and added latency.
    Grpc(grpc::GrpcArgs),
    /// Rights requests submitted per second on PostgreSQL (synchronous commit on).
    Rights(rights::RightsArgs),
    /// Time from a registry apply until the next Check sees it.
    Visibility(visibility::VisibilityArgs),
}

/// What every command needs.
#[derive(Args)]
pub struct Common {
    /// The purposed server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/purposed")]
    binary: PathBuf,
    /// Where to write the JSON results.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{text:?} is not a positive number of seconds"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("purposed-load: tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Grpc(args) => grpc::run(args).await,
            Command::Rights(args) => rights::run(args).await,
            Command::Visibility(args) => visibility::run(args).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("purposed-load: {error}");
            ExitCode::FAILURE
        }
    }
}
