//! The `purposed` binary as a separate process, for tests that must kill it.

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::TEST_SUBJECT_KEY;

#[derive(serde::Deserialize)]
struct LogLine {
    message: String,
    address: Option<String>,
}

pub struct ServerProcess {
    child: Child,
    pub address: SocketAddr,
    pub metrics_address: SocketAddr,
    panics: Arc<AtomicUsize>,
}

/// How to start the binary beyond the test defaults.
#[derive(Default)]
pub struct Launch<'a> {
    /// Apply the example manifests at start (`--demo`).
    pub demo: bool,
    /// Extra environment, for example `PURPOSED_AUTH__*` settings.
    pub env: Vec<(&'a str, String)>,
}

impl ServerProcess {
    /// Starts `purposed serve --demo` on port 0 and waits until health reports SERVING.
    pub async fn start(database_url: &str) -> ServerProcess {
        ServerProcess::launch(
            database_url,
            Launch {
                demo: true,
                ..Launch::default()
            },
        )
        .await
    }

    /// Starts `purposed serve` on port 0 (metrics too) and waits until health reports
    /// SERVING. The environment is the test's own: no stray `PURPOSED_*` setting leaks in.
    pub async fn launch(database_url: &str, launch: Launch<'_>) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_purposed"));
        command
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(["--database-url", database_url])
            .env_remove("RUST_LOG")
            .env_remove("DATABASE_URL")
            .env_remove("PURPOSED_CONFIG")
            .env("PURPOSED_SUBJECT_KEY", TEST_SUBJECT_KEY)
            .env("PURPOSED_METRICS_LISTEN", "127.0.0.1:0")
            .envs(launch.env.iter().map(|(key, value)| (key, value)));
        if launch.demo {
            command.arg("--demo");
        } else if !launch
            .env
            .iter()
            .any(|(key, _)| key.starts_with("PURPOSED_AUTH__"))
        {
            command.env("PURPOSED_AUTH__DISABLED", "true");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut metrics_address = None;
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .expect("read the server's log")
                    .expect("the server exited before listening");
                // JSON is YAML, so the manifest parser reads the log lines too.
                let record: LogLine = serde_saphyr::from_str(&line)
                    .unwrap_or_else(|error| panic!("not a JSON log line: {line}: {error}"));
                if record.message == "metrics listening" {
                    metrics_address = record
                        .address
                        .as_deref()
                        .and_then(|address| address.parse().ok());
                    continue;
                }
                if record.message == "listening" {
                    let address = record
                        .address
                        .expect("the listening line names the address");
                    break address.parse::<SocketAddr>().expect("socket address");
                }
            }
        })
        .await
        .expect("listening within 60 s");
        // Keep draining the log, or the server would block on a full pipe; count panics.
        let panics = Arc::new(AtomicUsize::new(0));
        tokio::spawn({
            let panics = panics.clone();
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains("panicked at") {
                        eprintln!("server: {line}");
                        panics.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });

        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        let mut health = HealthClient::new(channel)
            .watch(HealthCheckRequest::default())
            .await
            .expect("watch")
            .into_inner();
        let serving = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(update) = health.message().await.expect("health") {
                if update.status == ServingStatus::Serving as i32 {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(serving, Ok(true)), "not SERVING within 60 s");
        ServerProcess {
            child,
            address,
            metrics_address: metrics_address.expect("the metrics address is logged first"),
            panics,
        }
    }

    /// A channel to the server's gRPC port.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .expect("uri")
            .connect()
            .await
            .expect("connect")
    }

    /// SIGTERM: the graceful shutdown an orchestrator asks for.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("a running server has a pid");
        // SAFETY: kill(2) with a pid we started and still own; no memory is involved.
        let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM delivered");
    }

    /// Waits for the process to exit, at most `within`; its exit status.
    pub async fn wait(mut self, within: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(within, self.child.wait())
            .await
            .expect("the server exits in time")
            .expect("reap the server")
    }

    /// The most memory the process has held so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("a running server has a pid");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    /// Panics the server has reported on its log so far.
    pub fn panics(&self) -> usize {
        self.panics.load(Ordering::Relaxed)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no shutdown hook, no flush, nothing runs.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reap the killed server");
    }
}
