//! Start-up: bind first (so tests and operators know the port at once), serve health as
//! NOT_SERVING, then connect, migrate and load the registry in the background, and only then
//! turn SERVING. Shutdown turns NOT_SERVING first and lets in-flight calls finish.

use std::{
    future::Future,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use sea_orm::sqlx::postgres::PgListener;
use tokio::{net::TcpListener, sync::watch};
use tonic::{
    server::NamedService,
    transport::{Certificate, Identity, ServerTlsConfig, server::TcpIncoming},
};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    app::{App, ApplyInput},
    domain::pseudonym::SubjectKey,
    error::Error,
    grpc::{DecisionApi, DocumentApi, Gate, NoopApi, Ready, RegistryApi, RightsApi, SubjectApi},
    proto::{
        self, benchmark_service_server::BenchmarkServiceServer,
        decision_service_server::DecisionServiceServer,
        document_service_server::DocumentServiceServer,
        registry_service_server::RegistryServiceServer, rights_service_server::RightsServiceServer,
        subject_service_server::SubjectServiceServer,
    },
    server::{
        config::{Access, Settings, TlsFiles},
        metrics::{self, Metrics},
    },
    store::{self, Store, StoreError},
};

/// The example manifests, embedded so that `--demo` works from any directory.
pub const DEMO_MANIFESTS: &[(&str, &str)] = &[
    (
        "examples/peero.yaml",
        include_str!("../../examples/peero.yaml"),
    ),
    (
        "examples/apollo.yaml",
        include_str!("../../examples/apollo.yaml"),
    ),
    (
        "examples/sendberry.yaml",
        include_str!("../../examples/sendberry.yaml"),
    ),
    (
        "examples/pro-balances.yaml",
        include_str!("../../examples/pro-balances.yaml"),
    ),
    (
        "examples/capturi.yaml",
        include_str!("../../examples/capturi.yaml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot start: {0}")]
    Init(String),
    #[error("server failed: {0}")]
    Serve(#[from] tonic::transport::Error),
}

pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    metrics_listener: Option<TcpListener>,
    health_listener: Option<TcpListener>,
    settings: Settings,
    subject_key: SubjectKey,
    tls: Option<ServerTlsConfig>,
}

const SERVICES: [&str; 5] = [
    <DecisionServiceServer<DecisionApi> as NamedService>::NAME,
    <DocumentServiceServer<DocumentApi> as NamedService>::NAME,
    <RegistryServiceServer<RegistryApi> as NamedService>::NAME,
    <SubjectServiceServer<SubjectApi> as NamedService>::NAME,
    <RightsServiceServer<RightsApi> as NamedService>::NAME,
];

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for service in SERVICES {
        reporter.set_service_status(service, status).await;
    }
}

/// Ends every health watch stream: dropping a status's sender closes its watchers.
async fn end_health_watches(mut reporter: HealthReporter) {
    reporter.clear_service_status("").await;
    for service in SERVICES {
        reporter.clear_service_status(service).await;
    }
    reporter.clear_service_status(LIVENESS).await;
}

/// What health reports for the whole server and each service: SERVING once the registry is
/// loaded, while the database answers, until shutdown begins. `liveness` stays SERVING while
/// the process runs, so that a database outage takes replicas out of the load balancer
/// without restarting them.
#[derive(Clone)]
struct Readiness {
    reporter: HealthReporter,
    state: Arc<tokio::sync::Mutex<ReadyState>>,
}

struct ReadyState {
    loaded: bool,
    database_up: bool,
    draining: bool,
    reported: ServingStatus,
}

pub const LIVENESS: &str = "liveness";

impl Readiness {
    async fn new(reporter: HealthReporter) -> Readiness {
        set_health(&reporter, ServingStatus::NotServing).await;
        reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        Readiness {
            reporter,
            state: Arc::new(tokio::sync::Mutex::new(ReadyState {
                loaded: false,
                database_up: true,
                draining: false,
                reported: ServingStatus::NotServing,
            })),
        }
    }

    async fn update(&self, change: impl FnOnce(&mut ReadyState)) {
        // Held while reporting, so that two changes cannot report out of order.
        let mut state = self.state.lock().await;
        change(&mut state);
        let status = if state.loaded && state.database_up && !state.draining {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if status != state.reported {
            state.reported = status;
            set_health(&self.reporter, status).await;
        }
    }
}

/// The generated servers' size setters, in one place.
trait MessageLimits {
    fn limit_messages(self, bytes: usize) -> Self;
}

macro_rules! message_limits {
    ($($server:ty),*) => {$(
        impl MessageLimits for $server {
            fn limit_messages(self, bytes: usize) -> Self {
                self.max_decoding_message_size(bytes)
                    .max_encoding_message_size(bytes)
            }
        }
    )*};
}

message_limits!(
    DecisionServiceServer<DecisionApi>,
    RegistryServiceServer<RegistryApi>,
    SubjectServiceServer<SubjectApi>,
    RightsServiceServer<RightsApi>,
    DocumentServiceServer<DocumentApi>,
    BenchmarkServiceServer<NoopApi>
);

impl Application {
    /// Binds the listen address (and the metrics address); port 0 picks a free port, which
    /// `address()` (and `metrics_address()`) report.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        store::backend_of(&settings.database_url)
            .map_err(|error| StartupError::Config(error.to_string()))?;
        // A missing key is a configuration error: refuse to start rather than wait.
        let subject_key =
            crate::server::config::resolve_subject_key(&settings).map_err(StartupError::Config)?;
        let listener = bind(settings.listen).await?;
        let address = local_address(&listener, settings.listen)?;
        let metrics_listener = match settings.metrics_listen {
            Some(metrics_listen) => Some(bind(metrics_listen).await?),
            None => None,
        };
        let health_listener = match settings.health_listen {
            Some(health_listen) => Some(bind(health_listen).await?),
            None => None,
        };
        let tls = settings.tls.as_ref().map(tls_config);
        if matches!(settings.access, Access::Open) {
            tracing::warn!(
                "auth is off: every caller may act for every organisation (demo or closed network only)"
            );
        }
        Ok(Application {
            listener,
            address,
            metrics_listener,
            health_listener,
            settings,
            subject_key,
            tls,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn health_address(&self) -> Option<SocketAddr> {
        self.health_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, or until start-up fails for good.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Application {
            listener,
            address,
            metrics_listener,
            health_listener,
            settings,
            subject_key,
            tls,
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        let readiness = Readiness::new(reporter.clone()).await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|error| StartupError::Init(format!("reflection: {error}")))?;

        let ready = Ready::default();
        let metrics = Arc::new(Metrics::new());
        let max_message = settings.max_message_bytes;
        let grace = settings.shutdown_grace;
        let decision = DecisionServiceServer::new(DecisionApi::new(ready.clone(), metrics.clone()))
            .limit_messages(max_message);
        let registry =
            RegistryServiceServer::new(RegistryApi::new(ready.clone())).limit_messages(max_message);
        let subjects =
            SubjectServiceServer::new(SubjectApi::new(ready.clone())).limit_messages(max_message);
        let rights =
            RightsServiceServer::new(RightsApi::new(ready.clone())).limit_messages(max_message);
        let documents =
            DocumentServiceServer::new(DocumentApi::new(ready.clone())).limit_messages(max_message);
        let noop = settings.bench_noop.then(|| {
            tracing::warn!("serving the benchmark-only no-op RPC");
            BenchmarkServiceServer::new(NoopApi::new()).limit_messages(max_message)
        });
        let gate = Gate::new(
            settings.access.clone(),
            settings.max_concurrent_requests,
            settings.request_timeout,
            metrics.clone(),
        );

        let (draining_tx, draining) = watch::channel(false);
        if let Some(listener) = metrics_listener {
            spawn_metrics(listener, metrics.clone(), ready.clone(), draining.clone());
        }
        if let Some(listener) = health_listener {
            spawn_plain_health(listener, health.clone(), draining.clone());
        }

        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let init = tokio::spawn({
            let readiness = readiness.clone();
            let ready = ready.clone();
            let draining = draining.clone();
            let metrics = metrics.clone();
            async move {
                match initialise(&settings, subject_key).await {
                    Ok(app) => {
                        let app = Arc::new(app);
                        // Listening before serving: a replica that answers must also hear
                        // of the changes other replicas make from then on.
                        let listener = listen(&app).await;
                        ready.set(app.clone());
                        readiness.update(|state| state.loaded = true).await;
                        metrics.index.database_up.set(1);
                        tracing::info!("registry loaded; serving");
                        tokio::spawn(follow_changes(
                            app.clone(),
                            listener,
                            settings.revision_poll,
                            draining.clone(),
                        ));
                        follow_database(
                            app,
                            readiness,
                            metrics,
                            settings.database_check_interval,
                            draining,
                        )
                        .await;
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "start-up failed");
                        let _receiver_gone = failed_tx.send(error.to_string());
                    }
                }
            }
        });

        tracing::info!(address = %address, tls = tls.is_some(), "listening");
        let failure = Arc::new(std::sync::Mutex::new(None::<String>));
        let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
        let stopping = {
            let readiness = readiness.clone();
            let failure = failure.clone();
            let ready = ready.clone();
            async move {
                tokio::select! {
                    () = shutdown => tracing::info!("shutting down"),
                    Ok(error) = failed_rx => {
                        if let Ok(mut slot) = failure.lock() {
                            *slot = Some(error);
                        }
                    }
                }
                // Load balancers see NOT_SERVING while in-flight calls drain; then the health
                // watch streams end (they would otherwise hold the drain open).
                readiness.update(|state| state.draining = true).await;
                draining_tx.send_replace(true);
                end_health_watches(readiness.reporter.clone()).await;
                if let Ok(app) = ready.get() {
                    app.stop_streams();
                }
                let _ = drained_tx.send(());
            }
        };
        let mut server = tonic::transport::Server::builder();
        if let Some(tls) = tls {
            server = server
                .tls_config(tls)
                .map_err(|error| StartupError::Config(format!("tls: {error}")))?;
        }
        let serving = server
            // Headers past the gate's limit get a gRPC status from the gate; only a list
            // past this one is refused by HTTP/2 itself (431).
            .http2_max_header_list_size(crate::grpc::TRANSPORT_HEADER_BYTES)
            // Method names only: request bodies may carry subject identifiers.
            .trace_fn(|request| tracing::info_span!("rpc", method = %request.uri().path()))
            .layer(gate)
            .add_service(health)
            .add_service(reflection)
            .add_service(decision)
            .add_service(registry)
            .add_service(subjects)
            .add_service(rights)
            .add_service(documents)
            .add_optional_service(noop)
            .serve_with_incoming_shutdown(incoming(listener), stopping);
        // Draining waits for every open stream; a client holding one open (a health watch)
        // must not keep the process alive past the grace period.
        let served = tokio::select! {
            served = serving => served,
            () = async {
                if drained_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; closing the remaining connections");
                Ok(())
            }
        };
        init.abort();
        served?;
        let failure = failure.lock().ok().and_then(|mut slot| slot.take());
        match failure {
            Some(error) => Err(StartupError::Init(error)),
            None => Ok(()),
        }
    }
}

async fn bind(address: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartupError::Bind { address, source })
}

fn local_address(listener: &TcpListener, asked: SocketAddr) -> Result<SocketAddr, StartupError> {
    listener.local_addr().map_err(|source| StartupError::Bind {
        address: asked,
        source,
    })
}

fn tls_config(files: &TlsFiles) -> ServerTlsConfig {
    let config =
        ServerTlsConfig::new().identity(Identity::from_pem(&files.cert_pem, &files.key_pem));
    match &files.client_ca_pem {
        // With a client CA, rustls refuses a handshake without a certificate it signed.
        Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
        None => config,
    }
}

/// Checks the database every `interval` and turns readiness with it, until draining.
async fn follow_database(
    app: Arc<App>,
    readiness: Readiness,
    metrics: Arc<Metrics>,
    interval: Duration,
    mut draining: watch::Receiver<bool>,
) {
    let mut was_up = true;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = draining.wait_for(|draining| *draining) => return,
        }
        let up = tokio::time::timeout(interval.max(Duration::from_secs(1)), app.database_answers())
            .await
            .unwrap_or(false);
        if up != was_up {
            if up {
                tracing::info!("database answers again; serving");
            } else {
                tracing::warn!("database does not answer; not serving until it does");
            }
            was_up = up;
            metrics.index.database_up.set(i64::from(up));
            readiness.update(|state| state.database_up = up).await;
        }
    }
}

/// The health service alone, in plaintext, on a port of its own: Kubernetes' gRPC probes do
/// not speak TLS. It says what the main port's health says, and closes when draining ends.
fn spawn_plain_health<S>(listener: TcpListener, health: S, mut draining: watch::Receiver<bool>)
where
    S: tower_service::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    if let Ok(address) = listener.local_addr() {
        tracing::info!(address = %address, "health listening");
    }
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(health)
            .serve_with_incoming_shutdown(incoming(listener), async move {
                let _ = draining.wait_for(|draining| *draining).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(error = %error, "health port failed");
        }
    });
}

/// A listener for other writers' changes (PostgreSQL), or none: the poll then carries on.
async fn listen(app: &App) -> Option<PgListener> {
    match app.store().listen_for_changes().await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(error = %error, "cannot listen for changes; polling only");
            None
        }
    }
}

/// Keeps this replica's memory in step with what others write: at once when PostgreSQL
/// notifies a change, and every `poll` in case a notification was lost (or the writer was
/// `purposed apply --database-url`, or this is SQLite).
async fn follow_changes(
    app: Arc<App>,
    mut listener: Option<PgListener>,
    poll: Duration,
    mut draining: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let organisation = tokio::select! {
            () = async {
                let _ = draining.wait_for(|draining| *draining).await;
            } => return,
            _ = tick.tick() => {
                if listener.is_none() {
                    listener = listen(&app).await;
                }
                None
            }
            // `try_recv`, not `recv`: `recv` reconnects at once and for ever, and a connection
            // attempt that meets a database being dropped holds the drop up for a minute
            // (PostgreSQL 15). A lost connection is reopened at the next tick instead; the
            // catch-up below reads whatever was missed meanwhile.
            notification = async {
                match listener.as_mut() {
                    Some(listener) => listener.try_recv().await,
                    None => std::future::pending().await,
                }
            } => match notification {
                Ok(Some(notification)) => Some(notification.payload().to_owned()),
                Ok(None) | Err(_) => {
                    tracing::warn!("change notifications interrupted; polling until they resume");
                    listener = None;
                    None
                }
            },
        };
        match app.catch_up(organisation.as_deref()).await {
            Ok(0) => {}
            Ok(entries) => tracing::debug!(entries, "caught up with other writers"),
            Err(error) => tracing::warn!(error = %error, "cannot catch up with other writers"),
        }
    }
}

/// How long a count of overdue requests is reused: a scrape every few seconds must not
/// become a query per organisation every few seconds.
const OVERDUE_REFRESH: Duration = Duration::from_secs(30);

fn spawn_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    ready: Ready,
    mut draining: watch::Receiver<bool>,
) {
    let overdue_counted = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let index = metrics.index.clone();
    let refresh: metrics::Refresh = Arc::new(move || {
        let ready = ready.clone();
        let index = index.clone();
        let overdue_counted = overdue_counted.clone();
        Box::pin(async move {
            let Ok(app) = ready.get() else { return };
            let summary = app.index_summary();
            index
                .revision
                .set(i64::try_from(summary.revision_sum).unwrap_or(i64::MAX));
            index
                .organisations
                .set(i64::try_from(summary.organisations).unwrap_or(i64::MAX));
            index
                .compile_seconds
                .set(summary.last_compile.as_secs_f64());
            index
                .event_streams
                .set(i64::try_from(summary.event_streams).unwrap_or(i64::MAX));
            // A counter only moves forward, whichever of two scrapes at once comes last.
            index
                .event_reads
                .inner()
                .fetch_max(summary.event_reads, std::sync::atomic::Ordering::Relaxed);
            let due = overdue_counted
                .lock()
                .map(|counted| counted.is_none_or(|at| at.elapsed() >= OVERDUE_REFRESH))
                .unwrap_or(true);
            if due {
                match app.count_overdue().await {
                    Ok(overdue) => {
                        index
                            .overdue_requests
                            .set(i64::try_from(overdue).unwrap_or(i64::MAX));
                        if let Ok(mut counted) = overdue_counted.lock() {
                            *counted = Some(Instant::now());
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "cannot count overdue requests")
                    }
                }
            }
        })
    });
    if let Ok(address) = listener.local_addr() {
        tracing::info!(address = %address, "metrics listening");
    }
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = draining.wait_for(|draining| *draining).await;
        };
        if let Err(error) = metrics::serve(listener, metrics, refresh, shutdown).await {
            tracing::error!(error = %error, "metrics endpoint failed");
        }
    });
}

/// Accepted connections send small answers at once: without TCP_NODELAY, Nagle's algorithm
/// and the client's delayed acknowledgement hold a one-call-at-a-time caller at ~40 ms per
/// call. Keepalive finds peers that vanished without closing (a node gone from the cluster).
fn incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(std::time::Duration::from_secs(60)))
}

/// Connects (retrying while the database is unreachable), migrates, loads the registry and,
/// with `--demo`, applies the example manifests.
async fn initialise(settings: &Settings, subject_key: SubjectKey) -> Result<App, Error> {
    let store = loop {
        match Store::connect(&settings.database_url, &settings.store).await {
            Ok(store) => break store,
            Err(StoreError::Unavailable(error)) => {
                tracing::warn!(
                    database = %store::redact(&settings.database_url),
                    error = %error,
                    retry_in_ms = settings.database_retry.as_millis() as u64,
                    "database unreachable"
                );
                tokio::time::sleep(settings.database_retry).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    store.migrate().await?;
    tracing::info!(database = %store::redact(&settings.database_url), "migrations applied");
    let app = App::load(store, settings.limits.clone(), subject_key).await?;
    if settings.demo {
        for (name, text) in DEMO_MANIFESTS {
            let input = ApplyInput {
                manifest: (*text).to_owned(),
                dry_run: false,
                expected_revision: None,
                effective_from: None,
            };
            let outcome = app.apply(&input, |_| Ok::<_, Error>(())).await?;
            tracing::info!(
                manifest = name,
                organisation = %outcome.organisation,
                revision = outcome.revision,
                changed = outcome.changed,
                "demo manifest applied"
            );
        }
    }
    Ok(app)
}
