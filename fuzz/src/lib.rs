//! Shared pieces of purposed's fuzz targets: the example manifests compiled once, a fixed
//! clock, a fixed subject key, and helpers the targets share (the handlers' own parsing is
//! `purposed::grpc::parse`, which the targets call directly).

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use purposed::{
    domain::{
        catalog::{Catalog, History},
        engine::{CompiledPolicy, RevisionInfo},
        geo::Territory,
        policy::Registry,
        pseudonym::SubjectKey,
    },
    error::Error,
    grpc::parse::fields::Violations,
    manifest,
};

/// The example manifests of the repository, the seeds of the manifest targets and the
/// registries the engine target asks.
pub const EXAMPLES: [(&str, &str); 5] = [
    ("apollo", include_str!("../../examples/apollo.yaml")),
    ("capturi", include_str!("../../examples/capturi.yaml")),
    ("peero", include_str!("../../examples/peero.yaml")),
    (
        "pro-balances",
        include_str!("../../examples/pro-balances.yaml"),
    ),
    ("sendberry", include_str!("../../examples/sendberry.yaml")),
];

/// "Now" of every target: fixed, so that a crash reproduces on any day.
pub fn now() -> Timestamp {
    Timestamp::from_second(1_768_478_400).expect("2026-01-15T12:00:00Z is in range")
}

/// When the example revisions count as applied (before it, an organisation has no registry).
pub fn applied_at() -> Timestamp {
    Timestamp::from_second(1_577_836_800).expect("2020-01-01T00:00:00Z is in range")
}

/// One example manifest, parsed and compiled.
pub struct Example {
    pub name: &'static str,
    pub text: &'static str,
    pub policy: Arc<CompiledPolicy>,
}

/// The example manifests, parsed and compiled once.
pub fn examples() -> &'static [Example] {
    static EXAMPLES_COMPILED: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES_COMPILED.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|&(name, text)| {
                let parsed = manifest::parse(text, manifest::DEFAULT_MAX_BYTES)
                    .unwrap_or_else(|error| panic!("examples/{name}.yaml is invalid: {error}"));
                let policy = compile(parsed.registry, 1, applied_at());
                Example {
                    name,
                    text,
                    policy: Arc::new(policy),
                }
            })
            .collect()
    })
}

/// A catalog holding every example organisation at revision 1.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Catalog::new(examples().iter().map(|example| {
            (
                Arc::<str>::from(example.policy.registry().organisation.id.as_str()),
                History::new(vec![example.policy.clone()]),
            )
        }))
    })
}

/// The example organisation with this id, if any.
pub fn example_policy(organisation: &str) -> Option<&'static Arc<CompiledPolicy>> {
    examples()
        .iter()
        .map(|example| &example.policy)
        .find(|policy| policy.registry().organisation.id == organisation)
}

/// A fixed subject key (the server reads one from PURPOSED_SUBJECT_KEY).
pub fn subject_key() -> &'static SubjectKey {
    static KEY: OnceLock<SubjectKey> = OnceLock::new();
    KEY.get_or_init(|| {
        SubjectKey::from_hex(&"5a".repeat(32)).expect("64 hex digits make a valid key")
    })
}

/// Countries whose rights deadlines the targets compute: every country with a holiday
/// calendar, and two without one (weekends only; UTC and a European time zone).
pub fn deadline_countries() -> &'static [Territory] {
    static COUNTRIES: OnceLock<Vec<Territory>> = OnceLock::new();
    COUNTRIES.get_or_init(|| {
        purposed::domain::calendar::HOLIDAY_CALENDARS
            .iter()
            .copied()
            .chain(["IE", "US"])
            .map(|code| Territory::parse(code).expect("a valid country code"))
            .collect()
    })
}

/// The gRPC status of an error, through purposed's one mapping (`grpc::status`).
pub fn status(error: Error) -> tonic::Status {
    let invalid = matches!(error, Error::InvalidArgument(_));
    let status = tonic::Status::from(error);
    if invalid {
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(!status.message().is_empty());
    }
    status
}

/// A registry compiled as revision `number`, applied at `applied_at`.
pub fn compile(registry: Registry, number: u64, applied_at: Timestamp) -> CompiledPolicy {
    CompiledPolicy::compile(
        Arc::new(registry),
        RevisionInfo {
            number,
            applied_at,
            effective_from: applied_at,
            manifest_sha256: String::new(),
        },
    )
}

/// `App::moment` of a parsed input: the moment, or `None` after its refusal went through
/// the status mapping.
pub fn moment_or_refused(field: &str, at: Option<Timestamp>) -> Option<Timestamp> {
    match moment(field, at, now()) {
        Ok(at) => Some(at),
        Err(error) => {
            status(error);
            None
        }
    }
}

/// A validated request's result as the handler returns it: the value, or its status.
pub fn finish<T>(violations: Violations, value: T) -> Option<T> {
    match violations.into_result(value) {
        Ok(value) => Some(value),
        Err(error) => {
            status(error);
            None
        }
    }
}

// ---- helpers of the handlers, re-exported for the targets ------------------------------

pub use purposed::app::{ObjectionTarget, moment};
pub use purposed::grpc::parse::fields::page_key;
