//! Test harness: every test gets its own database (a SQLite file in a temporary directory, or
//! a uniquely named PostgreSQL database when `PURPOSED_TEST_POSTGRES` names a server) and its
//! own server on a free port, reached through the generated clients.

pub mod process;

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use purposed::{
    domain::pseudonym::SubjectKey,
    proto::{
        decision_service_client::DecisionServiceClient,
        document_service_client::DocumentServiceClient,
        registry_service_client::RegistryServiceClient, rights_service_client::RightsServiceClient,
        subject_service_client::SubjectServiceClient,
    },
    server::{
        config::Settings,
        startup::{Application, StartupError},
    },
};
use sea_orm::{ConnectionTrait, Database};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// Admin URL of a PostgreSQL server to create test databases on, e.g.
/// `postgres://postgres:postgres@127.0.0.1:5432/postgres`. Unset: SQLite.
pub const POSTGRES_ENV: &str = "PURPOSED_TEST_POSTGRES";

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    postgres: Option<(String, String)>,
    _directory: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|elapsed| elapsed.subsec_nanos())
                    .unwrap_or_default();
                let name = format!(
                    "purposed_test_{}_{}_{nanos}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|error| {
                    panic!("{POSTGRES_ENV} is set but unreachable: {error}")
                });
                static LEFTOVERS: std::sync::Once = std::sync::Once::new();
                let mut first = false;
                LEFTOVERS.call_once(|| first = true);
                if first {
                    drop_leftovers(&admin, &admin_url).await;
                }
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the test database");
                admin.close().await.ok();
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("admin URL ends with /DATABASE");
                TestDatabase {
                    url: format!("{base}/{name}"),
                    postgres: Some((admin_url, name)),
                    _directory: None,
                }
            }
            _ => {
                let directory = tempfile::tempdir().expect("temporary directory");
                let url = format!(
                    "sqlite://{}",
                    directory.path().join("purposed.db").display()
                );
                TestDatabase {
                    url,
                    postgres: None,
                    _directory: Some(directory),
                }
            }
        }
    }
}

impl TestDatabase {
    /// The admin URL and the database name, for a PostgreSQL test database.
    pub fn postgres(&self) -> Option<(&str, &str)> {
        self.postgres
            .as_ref()
            .map(|(admin_url, name)| (admin_url.as_str(), name.as_str()))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Not joined: a test drops its database while its runtime (and its server on it) is
        // blocked here, and a connection the server had begun would then never finish
        // authenticating, holding DROP DATABASE up for PostgreSQL's authentication timeout.
        // Once the test returns, its runtime ends, the half-open connection closes and the
        // drop goes through. Whatever a process exiting first leaves behind, the next run
        // drops (`drop_leftovers`).
        std::thread::spawn(move || {
            let dropped = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()
                .and_then(|runtime| runtime.block_on(drop_database(&admin_url, &name)));
            if dropped.is_none() {
                eprintln!("could not drop test database {name}");
            }
        });
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Option<()> {
    let admin = Database::connect(admin_url).await.ok()?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok()?;
    admin.close().await.ok()
}

/// Drops the test databases of test processes that are gone (their names carry the pid).
async fn drop_leftovers(admin: &sea_orm::DatabaseConnection, admin_url: &str) {
    let Ok(rows) = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'purposed\\_test\\_%'",
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let pid = name
            .split('_')
            .nth(2)
            .and_then(|pid| pid.parse::<u32>().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = drop_database(admin_url, &name).await;
        }
    }
}

/// A running server with its own database.
pub struct TestApp {
    pub address: SocketAddr,
    /// Where the metrics are served, when the settings asked for them.
    pub metrics_address: Option<SocketAddr>,
    pub channel: Channel,
    database: Option<TestDatabase>,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<Result<(), StartupError>>>,
}

impl TestApp {
    pub fn database(&self) -> &TestDatabase {
        self.database
            .as_ref()
            .expect("the database lives as long as the app")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL of the server's database, for tests that look underneath it.
    pub fn database_url(&self) -> String {
        self.database
            .as_ref()
            .map(|database| database.url.clone())
            .expect("the database lives as long as the app")
    }

    pub fn decision(&self) -> DecisionServiceClient<Channel> {
        DecisionServiceClient::new(self.channel.clone())
    }

    pub fn registry(&self) -> RegistryServiceClient<Channel> {
        RegistryServiceClient::new(self.channel.clone())
    }

    pub fn subjects(&self) -> SubjectServiceClient<Channel> {
        SubjectServiceClient::new(self.channel.clone())
    }

    pub fn rights(&self) -> RightsServiceClient<Channel> {
        RightsServiceClient::new(self.channel.clone())
    }

    pub fn documents(&self) -> DocumentServiceClient<Channel> {
        DocumentServiceClient::new(self.channel.clone())
    }

    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// Stops the server gracefully; returns how it ended and its database, which lives on.
    pub async fn stop(mut self) -> (Result<(), StartupError>, TestDatabase) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let ended = match self.handle.take() {
            Some(handle) => handle.await.expect("server task"),
            None => Ok(()),
        };
        let database = self
            .database
            .take()
            .expect("the database lives as long as the app");
        (ended, database)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The subject key of the PostgreSQL tests (a SQLite file keeps a generated one beside it).
pub const TEST_SUBJECT_KEY: &str =
    "5ec2e7f00d5ec2e7f00d5ec2e7f00d5ec2e7f00d5ec2e7f00d5ec2e7f00d5ec2";

pub fn settings(database_url: &str) -> Settings {
    let mut settings = Settings::new(
        "127.0.0.1:0".parse().expect("loopback address"),
        database_url,
    );
    settings.database_retry = Duration::from_millis(50);
    if database_url.starts_with("postgres") {
        settings.subject_key = Some(SubjectKey::from_hex(TEST_SUBJECT_KEY).expect("test key"));
    }
    settings
}

/// Starts a server on port 0 with its own database and waits until it reports SERVING.
pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts a server with the example manifests applied.
pub async fn spawn_demo() -> TestApp {
    spawn_with(|settings| settings.demo = true).await
}

pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create().await;
    let mut settings = settings(&database.url);
    configure(&mut settings);
    let app = start(settings, database).await;
    wait_until_serving(&app).await;
    app
}

/// `TEST_LOG=1 cargo test ...` shows the in-process servers' log with each test's output
/// (libtest captures it, so a passing test stays quiet); without it nothing is logged.
fn init_test_logging() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            purposed::server::telemetry::init_with(
                purposed::server::config::LogFormat::Text,
                tracing_subscriber::fmt::TestWriter::new(),
            );
        }
    });
}

/// Starts a server without waiting for it to be ready.
pub async fn start(settings: Settings, database: TestDatabase) -> TestApp {
    init_test_logging();
    let application = Application::build(settings).await.expect("bind port 0");
    let address = application.address();
    let metrics_address = application.metrics_address();
    let (shutdown, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));
    // The listener is bound already, so the connection succeeds at once.
    let channel = Channel::from_shared(format!("http://{address}"))
        .expect("valid URI")
        .connect()
        .await
        .expect("connect to the test server");
    TestApp {
        address,
        metrics_address,
        channel,
        database: Some(database),
        shutdown: Some(shutdown),
        handle: Some(handle),
    }
}

/// Follows the health Watch stream until the server reports SERVING.
pub async fn wait_until_serving(app: &TestApp) {
    let mut stream = app
        .health()
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health watch")
        .into_inner();
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(update) = stream.message().await.expect("health stream") {
            if update.status == ServingStatus::Serving as i32 {
                return;
            }
        }
        panic!("health stream ended before SERVING");
    })
    .await;
    assert!(waited.is_ok(), "server did not become ready within 60 s");
}

/// The manifest text of an example, as the demo embeds it.
pub fn example(name: &str) -> &'static str {
    purposed::server::startup::DEMO_MANIFESTS
        .iter()
        .find(|(path, _)| path.ends_with(&format!("/{name}.yaml")))
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("no example {name}"))
}

/// The text of `GET /metrics`, over plain HTTP/1.1.
pub async fn scrape(address: SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("metrics port");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("response");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

/// The value of one series in a scrape.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}
