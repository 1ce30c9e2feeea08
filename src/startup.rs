//! Start-up: bind first (so tests and operators know the port at once), serve health as
//! NOT_SERVING, then connect, migrate and load the registry in the background, and only then
//! turn SERVING. Shutdown turns NOT_SERVING first and lets in-flight calls finish.

use std::{future::Future, net::SocketAddr, sync::Arc};

use tokio::net::TcpListener;
use tonic::{server::NamedService, transport::server::TcpIncoming};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    app::App,
    config::Settings,
    domain::pseudonym::SubjectKey,
    error::Error,
    grpc::{DecisionApi, NoopApi, Ready, RegistryApi, RightsApi, SubjectApi},
    proto::{
        self, benchmark_service_server::BenchmarkServiceServer,
        decision_service_server::DecisionServiceServer,
        registry_service_server::RegistryServiceServer, rights_service_server::RightsServiceServer,
        subject_service_server::SubjectServiceServer,
    },
    store::{self, Store, StoreError},
};

/// The example manifests, embedded so that `--demo` works from any directory.
pub const DEMO_MANIFESTS: &[(&str, &str)] = &[
    (
        "examples/peero.yaml",
        include_str!("../examples/peero.yaml"),
    ),
    (
        "examples/apollo.yaml",
        include_str!("../examples/apollo.yaml"),
    ),
    (
        "examples/sendberry.yaml",
        include_str!("../examples/sendberry.yaml"),
    ),
    (
        "examples/pro-balances.yaml",
        include_str!("../examples/pro-balances.yaml"),
    ),
    (
        "examples/capturi.yaml",
        include_str!("../examples/capturi.yaml"),
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
    settings: Settings,
    subject_key: SubjectKey,
}

const SERVICES: [&str; 4] = [
    <DecisionServiceServer<DecisionApi> as NamedService>::NAME,
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
}

impl Application {
    /// Binds the listen address; port 0 picks a free port, which `address()` reports.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        store::backend_of(&settings.database_url)
            .map_err(|error| StartupError::Config(error.to_string()))?;
        // A missing key is a configuration error: refuse to start rather than wait.
        let subject_key =
            crate::config::resolve_subject_key(&settings).map_err(StartupError::Config)?;
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    address: settings.listen,
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartupError::Bind {
            address: settings.listen,
            source,
        })?;
        Ok(Application {
            listener,
            address,
            settings,
            subject_key,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Serves until `shutdown` resolves, or until start-up fails for good.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Application {
            listener,
            address,
            settings,
            subject_key,
        } = self;
        let (reporter, health) = tonic_health::server::health_reporter();
        set_health(&reporter, ServingStatus::NotServing).await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()
            .map_err(|error| StartupError::Init(format!("reflection: {error}")))?;

        let ready = Ready::default();
        let max_message = settings.max_message_bytes;
        let settings_grace = settings.shutdown_grace;
        let decision = DecisionServiceServer::new(DecisionApi::new(ready.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message);
        let registry = RegistryServiceServer::new(RegistryApi::new(ready.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message);
        let subjects = SubjectServiceServer::new(SubjectApi::new(ready.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message);
        let rights = RightsServiceServer::new(RightsApi::new(ready.clone()))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message);

        let noop = settings.bench_noop.then(|| {
            tracing::warn!("serving the benchmark-only no-op RPC");
            BenchmarkServiceServer::new(NoopApi::new())
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message)
        });

        let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
        let init = tokio::spawn({
            let reporter = reporter.clone();
            let ready = ready.clone();
            async move {
                match initialise(&settings, subject_key).await {
                    Ok(app) => {
                        ready.set(Arc::new(app));
                        set_health(&reporter, ServingStatus::Serving).await;
                        tracing::info!("registry loaded; serving");
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "start-up failed");
                        let _receiver_gone = failed_tx.send(error.to_string());
                    }
                }
            }
        });

        tracing::info!(address = %address, "listening");
        let failure = Arc::new(std::sync::Mutex::new(None::<String>));
        let (draining_tx, draining_rx) = tokio::sync::oneshot::channel::<()>();
        let stopping = {
            let reporter = reporter.clone();
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
                set_health(&reporter, ServingStatus::NotServing).await;
                end_health_watches(reporter).await;
                if let Ok(app) = ready.get() {
                    app.stop_streams();
                }
                let _ = draining_tx.send(());
            }
        };
        let serving = tonic::transport::Server::builder()
            // Method names only: request bodies may carry subject identifiers.
            .trace_fn(|request| tracing::info_span!("rpc", method = %request.uri().path()))
            .add_service(health)
            .add_service(reflection)
            .add_service(decision)
            .add_service(registry)
            .add_service(subjects)
            .add_service(rights)
            .add_optional_service(noop)
            .serve_with_incoming_shutdown(incoming(listener), stopping);
        // Draining waits for every open stream; a client holding one open (a health watch)
        // must not keep the process alive past the grace period.
        let grace = settings_grace;
        let served = tokio::select! {
            served = serving => served,
            () = async {
                if draining_rx.await.is_ok() {
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
            let outcome = app.apply(text, false, None).await?;
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
