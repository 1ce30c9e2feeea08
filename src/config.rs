//! Settings of a running server, gathered from the command line and `PURPOSED_*` /
//! `DATABASE_URL` environment variables by the CLI.

use std::{net::SocketAddr, time::Duration};

use crate::{app::Limits, store::StoreOptions};

/// The embedded default: a SQLite file in the working directory, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://purposed.db";
pub const DEFAULT_LISTEN: &str = "[::]:50051";
/// Largest gRPC message accepted; a manifest (1 MiB) and a full batch fit well inside.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub store: StoreOptions,
    /// Apply the embedded example manifests at start.
    pub demo: bool,
    pub limits: Limits,
    pub max_message_bytes: usize,
    /// How long to wait before retrying an unreachable database at start.
    pub database_retry: Duration,
    /// After a shutdown signal, how long in-flight calls (and long-lived streams such as a
    /// health watch) may run before their connections are closed.
    pub shutdown_grace: Duration,
}

impl Settings {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Settings {
        Settings {
            listen,
            database_url: database_url.into(),
            store: StoreOptions::default(),
            demo: false,
            limits: Limits::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            database_retry: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
