//! Prometheus metrics, served as text on a port of their own. Labels are methods, status
//! codes, outcomes and reason codes: bounded sets that never carry a subject or an
//! organisation.

use std::{
    sync::{Arc, atomic::AtomicU64},
    time::Duration,
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::net::TcpListener;

use crate::domain::decision::{Decision, Outcome};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    outcome: &'static str,
    reason: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// 25 µs to ~26 s, doubling: a Check takes tens of microseconds, an apply of a large
/// manifest or a page of a big list can take seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_025, 2.0, 21))
}

/// What the index looked like when last asked; set by whoever owns the index.
#[derive(Debug, Default)]
pub struct IndexGauges {
    pub revision: Gauge,
    pub organisations: Gauge,
    pub compile_seconds: Gauge<f64, AtomicU64>,
    pub overdue_requests: Gauge,
    pub database_up: Gauge,
    pub event_streams: Gauge,
    pub event_reads: Counter,
}

pub struct Metrics {
    registry: Registry,
    /// The paths of purposed's RPCs: any other path is labelled `unknown`, so that callers,
    /// authenticated or not, cannot mint label values.
    methods: std::collections::HashSet<String>,
    rpc_calls: Family<RpcLabels, Counter>,
    rpc_seconds: HistogramFamily<RpcLabels>,
    decisions: Family<DecisionLabels, Counter>,
    pub index: Arc<IndexGauges>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("purposed");
        let rpc_calls = Family::<RpcLabels, Counter>::default();
        registry.register(
            "rpc_requests",
            "Calls answered, by method and gRPC status code",
            rpc_calls.clone(),
        );
        let rpc_seconds: HistogramFamily<RpcLabels> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "rpc_duration_seconds",
            "Time from a call's arrival to its answer's headers, by method and status code",
            rpc_seconds.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Reasons given by Check and BatchCheck answers, by the answer's outcome",
            decisions.clone(),
        );
        let index = Arc::new(IndexGauges::default());
        registry.register(
            "index_revision",
            "Sum of the organisations' latest loaded revisions: equal on replicas in step",
            index.revision.clone(),
        );
        registry.register(
            "index_organisations",
            "Organisations in the index",
            index.organisations.clone(),
        );
        registry.register(
            "index_compile_seconds",
            "How long the last compile of a registry revision took",
            index.compile_seconds.clone(),
        );
        registry.register(
            "rights_requests_overdue",
            "Open rights requests past their due date, all organisations",
            index.overdue_requests.clone(),
        );
        registry.register(
            "rights_event_streams",
            "WatchRightsEvents streams open now",
            index.event_streams.clone(),
        );
        registry.register(
            "rights_event_reads",
            "Database reads of the rights-event feeds (one per wake for all of an organisation's watchers)",
            index.event_reads.clone(),
        );
        registry.register(
            "database_up",
            "1 while the database answers, 0 while it does not",
            index.database_up.clone(),
        );
        Metrics {
            registry,
            methods: rpc_paths(),
            rpc_calls,
            rpc_seconds,
            decisions,
            index,
        }
    }

    /// One answered call, labelled by its gRPC path when it is one of purposed's RPCs.
    pub fn record_rpc(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        let labels = RpcLabels {
            method: if self.methods.contains(method) {
                method.to_owned()
            } else {
                "unknown".to_owned()
            },
            code: code_name(code),
        };
        self.rpc_calls.get_or_create(&labels).inc();
        self.rpc_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub fn record_decision(&self, outcome: &Outcome) {
        let decision = match outcome.decision {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Conditional => "conditional",
        };
        for reason in &outcome.reasons {
            self.decisions
                .get_or_create(&DecisionLabels {
                    outcome: decision,
                    reason: reason.code().name(),
                })
                .inc();
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            // Writing into a String cannot fail; an empty answer is the honest fallback.
            text.clear();
        }
        text
    }
}

/// `/package.Service/Method` of every RPC in purposed's descriptor set.
fn rpc_paths() -> std::collections::HashSet<String> {
    use prost::Message;
    let Ok(files) = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
    else {
        return Default::default();
    };
    let mut paths = std::collections::HashSet::new();
    for file in &files.file {
        for service in &file.service {
            for method in &service.method {
                paths.insert(format!(
                    "/{}.{}/{}",
                    file.package(),
                    service.name(),
                    method.name()
                ));
            }
        }
    }
    paths
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Brings the gauges up to date before a scrape.
pub type Refresh =
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>;

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    refresh: Refresh,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            let refresh = refresh.clone();
            async move {
                refresh().await;
                (
                    [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.encode(),
                )
            }
        }),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_purposed_rpcs_name_their_method() {
        let metrics = Metrics::new();
        metrics.record_rpc(
            "/purposed.v1.DecisionService/Check",
            tonic::Code::Ok,
            Duration::from_micros(30),
        );
        metrics.record_rpc(
            "/attacker/chosen-path",
            tonic::Code::Unauthenticated,
            Duration::from_micros(5),
        );
        let text = metrics.encode();
        assert!(
            text.contains(r#"method="/purposed.v1.DecisionService/Check",code="OK""#),
            "{text}"
        );
        assert!(
            text.contains(r#"method="unknown",code="UNAUTHENTICATED""#),
            "{text}"
        );
        assert!(!text.contains("attacker"), "{text}");
    }
}
