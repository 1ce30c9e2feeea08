//! Time from a registry apply until Check answers from the new revision. A poller asks
//! Check without pause on a connection of its own while another applies a changed manifest;
//! the clock starts when the apply is sent.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Instant,
};

use clap::Args;
use purposed::proto::{
    ApplyManifestRequest, CheckRequest, decision_service_client::DecisionServiceClient,
    registry_service_client::RegistryServiceClient,
};
use serde_json::json;

use crate::{
    Common,
    drive::histogram,
    report::{self, round1},
    server::{Server, ServerSpec, connect, scratch, sqlite_url},
};

#[derive(Args)]
pub struct VisibilityArgs {
    #[command(flatten)]
    common: Common,
    /// Applies measured.
    #[arg(long, default_value_t = 100)]
    applies: usize,
    /// Database URL; default a fresh SQLite file. A PostgreSQL database given here must be
    /// empty or hold only purposed's tables.
    #[arg(long)]
    database_url: Option<String>,
}

const MANIFEST: &str = include_str!("../../../../examples/peero.yaml");

pub async fn run(args: VisibilityArgs) -> Result<(), String> {
    let directory = scratch()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| sqlite_url(directory.path()));
    let server = Server::start(&ServerSpec {
        binary: &args.common.binary,
        database_url: &url,
        demo: true,
        bench_noop: false,
        database_pool: None,
    })
    .await?;
    let mut registry = RegistryServiceClient::new(connect(server.address).await?);
    let mut decision = DecisionServiceClient::new(connect(server.address).await?);
    let question = CheckRequest {
        organisation: "peero".into(),
        purpose: "notifications".into(),
        category: "user.device.identifier".into(),
        recipient: "onesignal".into(),
        ..CheckRequest::default()
    };

    let mut acknowledged = histogram();
    let mut visible = histogram();
    let mut after_ack = 0_usize;
    for apply in 0..args.applies {
        // A changed legal name makes a new revision without changing any decision.
        let manifest = MANIFEST.replacen(
            "legal_name: SIA Peero",
            &format!("legal_name: SIA Peero (load {apply})"),
            1,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let poller = {
            let mut decision = decision.clone();
            let question = question.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let answer = decision
                        .check(question.clone())
                        .await
                        .map_err(|status| format!("check: {status}"))?;
                    seen.push((Instant::now(), answer.into_inner().revision));
                }
                Ok::<_, String>(seen)
            })
        };
        let applied = registry
            .apply_manifest(ApplyManifestRequest {
                manifest,
                dry_run: false,
                expected_revision: None,
                effective_from: None,
            })
            .await
            .map_err(|status| format!("apply: {status}"))?
            .into_inner();
        let acked = Instant::now();
        if !applied.changed {
            return Err("the changed manifest made no new revision".into());
        }
        // Let the poller see the new revision, then stop it.
        loop {
            let answer = decision
                .check(question.clone())
                .await
                .map_err(|status| format!("check: {status}"))?;
            if answer.into_inner().revision >= applied.revision {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let seen = poller.await.map_err(|error| error.to_string())??;
        let first = seen
            .iter()
            .find(|(_, revision)| *revision >= applied.revision)
            .map(|(at, _)| *at)
            .ok_or("the poller never saw the new revision")?;
        if first > acked {
            after_ack += 1;
        }
        acknowledged.saturating_record((acked - start).as_nanos() as u64);
        visible.saturating_record((first - start).as_nanos() as u64);
    }
    server.stop().await?;

    let micros = |histogram: &hdrhistogram::Histogram<u64>, quantile: f64| {
        round1(histogram.value_at_quantile(quantile) as f64 / 1000.0)
    };
    println!(
        "apply acknowledged: p50 {} µs, p99 {} µs; first Check on the new revision: p50 {} µs, p99 {} µs ({} of {} after the acknowledgement)",
        micros(&acknowledged, 0.5),
        micros(&acknowledged, 0.99),
        micros(&visible, 0.5),
        micros(&visible, 0.99),
        after_ack,
        args.applies
    );
    let result = json!({
        "benchmark": "visibility",
        "environment": report::environment(),
        "database": if url.starts_with("postgres") { "postgresql" } else { "sqlite" },
        "applies": args.applies,
        "apply_acknowledged_us": {
            "p50": micros(&acknowledged, 0.5),
            "p99": micros(&acknowledged, 0.99),
            "max": round1(acknowledged.max() as f64 / 1000.0),
        },
        "visible_us": {
            "p50": micros(&visible, 0.5),
            "p99": micros(&visible, 0.99),
            "max": round1(visible.max() as f64 / 1000.0),
        },
        "visible_after_acknowledgement": after_ack,
    });
    report::write(args.common.out.as_deref(), &result)
}
