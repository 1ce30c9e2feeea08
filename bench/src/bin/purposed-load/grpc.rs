//! Check against the no-op, side by side in one server, so that the ratio between them is
//! what Check costs on top of the gRPC round trip.

use std::{sync::Arc, time::Duration};

use clap::Args;
use purposed::proto::CheckRequest;
use serde_json::{Value, json};

use crate::{
    Common,
    drive::{Measured, Pool, Rpc, closed_loop, open_loop},
    report::{self, mib, round1},
    seconds, seed,
    server::{Server, ServerSpec, scratch, sqlite_url},
};

#[derive(Args)]
pub struct GrpcArgs {
    #[command(flatten)]
    common: Common,
    /// Seconds counted in each round of each measurement.
    #[arg(long, default_value = "5", value_parser = seconds)]
    duration: Duration,
    /// Seconds run, uncounted, before each round.
    #[arg(long, default_value = "1", value_parser = seconds)]
    warmup: Duration,
    /// Rounds of each measurement; the no-op and Check take turns going first.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Connections of the concurrent and open-loop measurements.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Calls in flight on each connection in the concurrent measurement.
    #[arg(long, default_value_t = 64)]
    streams: usize,
    /// Subjects stored for the scenario with a subject in every request; 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    subjects: usize,
    /// Keep the databases here and reuse a seeded one on the next run (seeding a million
    /// subjects takes minutes); default a temporary directory.
    #[arg(long)]
    scratch: Option<std::path::PathBuf>,
    /// The open loop's rate, as a fraction of the no-op's concurrent throughput.
    #[arg(long, default_value_t = 0.5)]
    open_loop_fraction: f64,
}

const REQUESTS: usize = 100_000;

pub async fn run(args: GrpcArgs) -> Result<(), String> {
    let mut scenarios = Vec::new();

    println!("scenario: policy questions, no subject");
    let directory = scratch()?;
    let url = sqlite_url(directory.path());
    let server = Server::start(&spec(&args, &url)).await?;
    let requests = Arc::new(seed::requests(REQUESTS, None, 1)?);
    let mut scenario = measure(&args, &server, requests).await?;
    scenario["name"] = json!("policy");
    scenario["subjects_stored"] = json!(0);
    scenario["started_ms"] = json!(server.started_in.as_millis() as u64);
    server.stop().await?;
    scenarios.push(scenario);

    if args.subjects > 0 {
        println!(
            "scenario: a subject in every request, {} subjects stored",
            args.subjects
        );
        let directory = scratch()?;
        let kept = args
            .scratch
            .as_ref()
            .map(|path| path.join(format!("subjects-{}", args.subjects)));
        let path = kept.clone().unwrap_or_else(|| directory.path().to_owned());
        std::fs::create_dir_all(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        let url = sqlite_url(&path);
        let seeded = path.join("seeded");
        let per_organisation = if seeded.exists() {
            println!("  reusing the subjects seeded in {}", path.display());
            args.subjects / 5
        } else {
            // The demo organisations must exist before their subjects can.
            Server::start(&spec(&args, &url)).await?.stop().await?;
            let (per_organisation, took) = seed::subjects(&url, args.subjects).await?;
            println!(
                "  seeded {} subjects in {:.1} s",
                per_organisation * 5,
                took.as_secs_f64()
            );
            if kept.is_some() {
                std::fs::write(&seeded, b"")
                    .map_err(|error| format!("{}: {error}", seeded.display()))?;
            }
            per_organisation
        };
        let server = Server::start(&spec(&args, &url)).await?;
        let loaded = server.memory()?;
        println!(
            "  started in {:.2} s, {} MiB resident",
            server.started_in.as_secs_f64(),
            mib(loaded.resident_bytes)
        );
        let requests = Arc::new(seed::requests(REQUESTS, Some(per_organisation), 2)?);
        let mut scenario = measure(&args, &server, requests).await?;
        scenario["name"] = json!("subjects");
        scenario["subjects_stored"] = json!(per_organisation * 5);
        scenario["started_ms"] = json!(server.started_in.as_millis() as u64);
        scenario["memory_after_start"] = json!({
            "resident_mib": mib(loaded.resident_bytes),
            "peak_resident_mib": mib(loaded.peak_resident_bytes),
        });
        server.stop().await?;
        scenarios.push(scenario);
    }

    let result = json!({
        "benchmark": "grpc",
        "environment": report::environment(),
        "settings": {
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "rounds": args.rounds,
            "connections": args.connections,
            "streams_per_connection": args.streams,
            "open_loop_fraction": args.open_loop_fraction,
            "requests": REQUESTS,
        },
        "scenarios": scenarios,
    });
    report::write(args.common.out.as_deref(), &result)
}

fn spec<'a>(args: &'a GrpcArgs, url: &'a str) -> ServerSpec<'a> {
    ServerSpec {
        binary: &args.common.binary,
        database_url: url,
        demo: true,
        bench_noop: true,
        database_pool: None,
    }
}

/// Serial, concurrent and open-loop, each in rounds that alternate the no-op and Check.
async fn measure(
    args: &GrpcArgs,
    server: &Server,
    requests: Arc<Vec<CheckRequest>>,
) -> Result<Value, String> {
    let serial_pool = Pool::open(server.address, 1).await?;
    let pool = Pool::open(server.address, args.connections).await?;

    let serial = alternate(args.rounds, |rpc| {
        closed_loop(
            &serial_pool,
            1,
            rpc,
            requests.clone(),
            args.warmup,
            args.duration,
        )
    })
    .await?;
    let serial = compare("serial (1 connection, 1 call in flight)", &serial)?;

    let concurrent = alternate(args.rounds, |rpc| {
        closed_loop(
            &pool,
            args.streams,
            rpc,
            requests.clone(),
            args.warmup,
            args.duration,
        )
    })
    .await?;
    let label = format!(
        "concurrent ({} connections x {} calls in flight)",
        args.connections, args.streams
    );
    let rate = concurrent[0].per_second() * args.open_loop_fraction;
    let concurrent = compare(&label, &concurrent)?;

    let open = alternate(args.rounds, |rpc| {
        open_loop(
            &pool,
            rpc,
            requests.clone(),
            rate,
            args.warmup,
            args.duration,
        )
    })
    .await?;
    let label = format!(
        "open loop ({rate:.0} calls/s on {} connections)",
        args.connections
    );
    let mut open = compare(&label, &open)?;
    open["rate_per_s"] = json!(rate.round());

    let memory = server.memory()?;
    println!(
        "  {} MiB resident after the run",
        mib(memory.resident_bytes)
    );
    Ok(json!({
        "serial": serial,
        "concurrent": concurrent,
        "open_loop": open,
        "memory_after_run": {
            "resident_mib": mib(memory.resident_bytes),
            "peak_resident_mib": mib(memory.peak_resident_bytes),
        },
    }))
}

/// Runs `rounds` rounds of the no-op and Check, taking turns at going first; returns the
/// totals, no-op first.
async fn alternate<F, Fut>(rounds: usize, mut run: F) -> Result<[Measured; 2], String>
where
    F: FnMut(Rpc) -> Fut,
    Fut: Future<Output = Measured>,
{
    let mut noop = Measured::empty(Rpc::Noop);
    let mut check = Measured::empty(Rpc::Check);
    for round in 0..rounds.max(1) {
        let order = if round % 2 == 0 {
            [Rpc::Noop, Rpc::Check]
        } else {
            [Rpc::Check, Rpc::Noop]
        };
        for rpc in order {
            let measured = run(rpc).await;
            if measured.errors > 0 {
                return Err(format!(
                    "{} errors calling {rpc:?}, the first {}",
                    measured.errors,
                    measured.first_error.as_deref().unwrap_or("unknown")
                ));
            }
            match rpc {
                Rpc::Noop => noop.add(&measured),
                Rpc::Check => check.add(&measured),
            }
        }
    }
    Ok([noop, check])
}

fn compare(label: &str, [noop, check]: &[Measured; 2]) -> Result<Value, String> {
    if noop.calls == 0 || check.calls == 0 {
        return Err(format!("{label}: no calls were answered"));
    }
    let ratio = check.per_second() / noop.per_second();
    let added_p50 = check.micros_at(0.5) - noop.micros_at(0.5);
    let added_p99 = check.micros_at(0.99) - noop.micros_at(0.99);
    println!("  {label}");
    for measured in [noop, check] {
        println!(
            "    {:<5} {:>9.0} calls/s  p50 {:>8.1} µs  p99 {:>8.1} µs  p99.9 {:>8.1} µs",
            format!("{:?}", measured.rpc).to_lowercase(),
            measured.per_second(),
            measured.micros_at(0.5),
            measured.micros_at(0.99),
            measured.micros_at(0.999),
        );
    }
    println!(
        "    Check/no-op throughput {ratio:.3}, added p50 {added_p50:+.1} µs, p99 {added_p99:+.1} µs"
    );
    Ok(json!({
        "noop": stats(noop),
        "check": stats(check),
        "throughput_ratio": (ratio * 1000.0).round() / 1000.0,
        "added_p50_us": round1(added_p50),
        "added_p99_us": round1(added_p99),
    }))
}

fn stats(measured: &Measured) -> Value {
    json!({
        "calls": measured.calls,
        "seconds": measured.elapsed.as_secs_f64(),
        "per_s": measured.per_second().round(),
        "p50_us": round1(measured.micros_at(0.5)),
        "p90_us": round1(measured.micros_at(0.9)),
        "p99_us": round1(measured.micros_at(0.99)),
        "p999_us": round1(measured.micros_at(0.999)),
        "max_us": round1(measured.latency.max() as f64 / 1000.0),
    })
}
