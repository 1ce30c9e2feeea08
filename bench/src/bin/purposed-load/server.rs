//! A purposed server process started and stopped by the load generator, so that every run
//! measures a fresh server with known settings and can read its resident memory.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tokio_stream::StreamExt as _;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// The pseudonym key of every benchmark server: the seeder must pseudonymise as it does.
pub const SUBJECT_KEY: &str = "b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4c4b3e4";

pub struct ServerSpec<'a> {
    pub binary: &'a Path,
    pub database_url: &'a str,
    pub demo: bool,
    pub bench_noop: bool,
    pub database_pool: Option<u32>,
}

pub struct Server {
    child: Child,
    pub address: SocketAddr,
    /// From spawning the process until health reported SERVING.
    pub started_in: Duration,
}

impl Server {
    pub async fn start(spec: &ServerSpec<'_>) -> Result<Server, String> {
        let began = Instant::now();
        let mut command = Command::new(spec.binary);
        command
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(["--database-url", spec.database_url])
            .env("PURPOSED_SUBJECT_KEY", SUBJECT_KEY)
            .env("PURPOSED_METRICS_LISTEN", "127.0.0.1:0")
            // Benchmarks measure the service, not token checks: a closed loopback run.
            .env("PURPOSED_AUTH__DISABLED", "true")
            // "listening" is logged at INFO.
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if spec.demo {
            command.arg("--demo");
        }
        if spec.bench_noop {
            command.arg("--bench-noop");
        }
        if let Some(pool) = spec.database_pool {
            command.args(["--database-pool", &pool.to_string()]);
        }
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", spec.binary.display()))?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let mut lines = BufReader::new(stderr).lines();
        let address = loop {
            let line = lines
                .next_line()
                .await
                .map_err(|error| format!("reading the server's log: {error}"))?
                .ok_or("the server exited before listening")?;
            let Ok(record) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if record["message"] == "listening" {
                let address = record["address"]
                    .as_str()
                    .ok_or("listening without an address")?;
                break address
                    .parse::<SocketAddr>()
                    .map_err(|error| format!("listening on {address:?}: {error}"))?;
            }
        };
        // The log must keep draining, or the server would block on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_line)) = lines.next_line().await {} });

        let channel = connect(address).await?;
        let mut watch = HealthClient::new(channel)
            .watch(HealthCheckRequest::default())
            .await
            .map_err(|status| format!("health watch: {status}"))?
            .into_inner();
        loop {
            match watch.next().await {
                Some(Ok(status)) if status.status() == ServingStatus::Serving => break,
                Some(Ok(_)) => {}
                Some(Err(status)) => return Err(format!("health watch: {status}")),
                None => return Err("the server ended the health watch before serving".into()),
            }
        }
        Ok(Server {
            child,
            address,
            started_in: began.elapsed(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident and peak resident memory, in bytes, from /proc.
    pub fn memory(&self) -> Result<Memory, String> {
        let pid = self.pid().ok_or("the server has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|error| format!("/proc/{pid}/status: {error}"))?;
        let field = |name: &str| -> Result<u64, String> {
            crate::report::kib_field(&status, name)
                .map(|kib| kib * 1024)
                .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
        };
        Ok(Memory {
            resident_bytes: field("VmRSS:")?,
            peak_resident_bytes: field("VmHWM:")?,
        })
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) -> Result<(), String> {
        let pid = self.pid().ok_or("the server has exited")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .map_err(|error| format!("kill: {error}"))?;
        if !status.success() {
            return Err(format!("kill -TERM {pid} failed"));
        }
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .map_err(|_| "the server did not stop within 30 s of SIGTERM".to_owned())?
            .map_err(|error| format!("wait: {error}"))?;
        if exit.success() {
            Ok(())
        } else {
            Err(format!("the server exited with {exit}"))
        }
    }
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Memory {
    pub resident_bytes: u64,
    pub peak_resident_bytes: u64,
}

/// One HTTP/2 connection.
pub async fn connect(address: SocketAddr) -> Result<Channel, String> {
    Endpoint::from_shared(format!("http://{address}"))
        .map_err(|error| error.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|error| format!("connect {address}: {error}"))
}

/// A scratch directory for SQLite files, removed when dropped.
pub fn scratch() -> Result<tempfile::TempDir, String> {
    tempfile::Builder::new()
        .prefix("purposed-load-")
        .tempdir()
        .map_err(|error| format!("scratch directory: {error}"))
}

pub fn sqlite_url(directory: &Path) -> String {
    let path: PathBuf = directory.join("purposed.db");
    format!("sqlite://{}", path.display())
}
