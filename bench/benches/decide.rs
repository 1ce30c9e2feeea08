//! Per-decision latency of purposed against Cedar, on the same rules and the same questions,
//! at 1k, 10k and 100k rules (see `src/rules.rs` for how the rules map to each engine).
//!
//!     cargo bench -p purposed-bench --bench decide
//!
//! Every size is built, then every engine decides every question and is compared with the
//! rules: a single disagreement aborts the run before anything is timed. Each benchmark
//! iteration decides a fixed run of consecutive questions (wrapping around the 10,000), so
//! criterion's time per iteration divided by the run length (its "elements") is the time per
//! decision. `PURPOSED_BENCH_SIZES=1000,10000` limits the sizes.
//!
//! Cedar with one policy per rule evaluates every policy on every request, so its cost grows
//! with the rule count: its runs are short and its samples few at 10k and 100k.
//! For p50/p99 (criterion reports means) and the JSON report, see `src/bin/compare.rs`.

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use purposed_bench::measure::{Fixture, Impl, SIZES};

/// Decisions per iteration, samples, warm-up and measurement time for one engine and size.
struct Plan {
    run: usize,
    samples: usize,
    warm_up: Duration,
    measure: Duration,
    flat: bool,
}

fn plan(which: Impl, size: usize) -> Plan {
    let quick = Plan {
        run: 1_000,
        samples: 50,
        warm_up: Duration::from_secs(2),
        measure: Duration::from_secs(5),
        flat: false,
    };
    match (which, size) {
        (Impl::CedarPolicyPerRule, ..=1_000) => Plan { run: 100, ..quick },
        (Impl::CedarPolicyPerRule, ..=10_000) => Plan {
            run: 10,
            samples: 20,
            measure: Duration::from_secs(10),
            flat: true,
            ..quick
        },
        (Impl::CedarPolicyPerRule, _) => Plan {
            run: 1,
            samples: 10,
            warm_up: Duration::from_secs(3),
            measure: Duration::from_secs(20),
            flat: true,
        },
        _ => quick,
    }
}

pub fn sizes() -> Vec<usize> {
    match std::env::var("PURPOSED_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|size| {
                size.trim()
                    .parse()
                    .expect("PURPOSED_BENCH_SIZES: rule counts")
            })
            .collect(),
        Err(_) => SIZES.to_vec(),
    }
}

fn decide(c: &mut Criterion) {
    for size in sizes() {
        let fixture = Fixture::build(size, true).unwrap_or_else(|error| {
            eprintln!("the engines disagree at {size} rules, nothing timed: {error}");
            std::process::exit(1);
        });
        let mut group = c.benchmark_group("decide");
        for which in Impl::ALL {
            let plan = plan(which, size);
            group
                .throughput(Throughput::Elements(plan.run as u64))
                .sample_size(plan.samples)
                .warm_up_time(plan.warm_up)
                .measurement_time(plan.measure)
                .sampling_mode(if plan.flat {
                    SamplingMode::Flat
                } else {
                    SamplingMode::Auto
                });
            let mut start = 0;
            group.bench_with_input(BenchmarkId::new(which.name(), size), &which, |b, &which| {
                b.iter(|| {
                    let allowed = fixture.run(which, start, plan.run);
                    start = (start + plan.run) % fixture.reqs.len();
                    allowed
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, decide);
criterion_main!(benches);
