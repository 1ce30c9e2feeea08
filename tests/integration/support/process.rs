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
    panics: Arc<AtomicUsize>,
}

impl ServerProcess {
    /// Starts `purposed serve --demo` on port 0 and waits until health reports SERVING.
    pub async fn start(database_url: &str) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_purposed"))
            .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
            .args(["--database-url", database_url, "--demo"])
            .env_remove("RUST_LOG")
            .env("PURPOSED_SUBJECT_KEY", TEST_SUBJECT_KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
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
            panics,
        }
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
