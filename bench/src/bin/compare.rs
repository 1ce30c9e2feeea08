//! Runs the decision comparison and writes `bench/results/decide.json`.
//!
//!     cargo run --release -p purposed-bench --bin compare [-- --sizes 1000,10000 \
//!         --out PATH --criterion DIR]
//!
//! Builds the three engines for every size (setup timed) and checks that they decide the
//! questions as the rules say (a disagreement aborts with exit code 1); then times them: the
//! mean per decision over runs of consecutive decisions (by the thread's CPU clock and by the
//! wall clock, median of rounds), and p50/p90/p99 over decisions each timed with `Instant`.
//! purposed and Cedar with entity data are timed in interleaved rounds over all sizes, so
//! that other work on the machine disturbs every size and engine alike. Where `cargo bench` has left
//! criterion estimates (in DIR, by default `$CARGO_TARGET_DIR/criterion`), their means are
//! added beside ours.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use purposed_bench::{
    measure::{Fixture, Impl, Latency, REQUESTS, SIZES, affordable, timer_overhead_ns},
    rules::{self, kinds},
};
use serde_json::{Value, json};

/// Decisions wanted per timed run, and the floor and time budget when they are slow.
const WANTED: usize = 20_000;
const FLOOR: usize = 50;
const MEAN_BUDGET: Duration = Duration::from_secs(15);
const LATENCY_BUDGET: Duration = Duration::from_secs(30);
const ROUNDS: usize = 3;
/// Rounds over every size for purposed and Cedar with entity data, and the decisions timed
/// one by one in each.
const FAST_ROUNDS: usize = 15;
const LATENCY_PER_ROUND: usize = 2_000;

struct Args {
    sizes: Vec<usize>,
    out: PathBuf,
    criterion: PathBuf,
}

fn args() -> Args {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target"));
    let mut parsed = Args {
        sizes: SIZES.to_vec(),
        out: manifest.join("results/decide.json"),
        criterion: target.join("criterion"),
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--sizes" => {
                parsed.sizes = value
                    .split(',')
                    .map(|size| size.trim().parse().expect("--sizes: rule counts"))
                    .collect()
            }
            "--out" => parsed.out = value.into(),
            "--criterion" => parsed.criterion = value.into(),
            _ => panic!("unknown flag {flag}; flags: --sizes, --out, --criterion"),
        }
    }
    parsed
}

fn main() {
    let args = args();
    let started = Instant::now();
    let load_start = load_average();
    let overhead = timer_overhead_ns();
    eprintln!("timer overhead (p50 of an empty Instant pair): {overhead} ns");

    // Every size is built and checked first, so that the timing rounds can interleave sizes
    // and engines: interference from other work on the machine then falls on all alike.
    let fixtures: Vec<Fixture> = args
        .sizes
        .iter()
        .map(|&size| {
            Fixture::build(size, true).unwrap_or_else(|error| {
                eprintln!("the engines disagree at {size} rules, nothing timed: {error}");
                std::process::exit(1);
            })
        })
        .collect();

    let mut measured: BTreeMap<(usize, Impl), Measured> = BTreeMap::new();
    // Cedar with a policy per rule is slow: timed on its own, within a time budget.
    for fixture in &fixtures {
        let which = Impl::CedarPolicyPerRule;
        measured.insert((fixture.size, which), measure_alone(fixture, which));
    }
    // purposed and Cedar with entity data: FAST_ROUNDS rounds, each a pass over the whole
    // question set timed as one (a mean) and LATENCY_PER_ROUND decisions timed one by one,
    // for every size and both engines in turn.
    let fast = [Impl::Purposed, Impl::CedarEntityData];
    let mut rounds: BTreeMap<(usize, Impl), Vec<[f64; 2]>> = BTreeMap::new();
    let mut samples: BTreeMap<(usize, Impl), Vec<u64>> = BTreeMap::new();
    for round in 0..FAST_ROUNDS {
        for fixture in &fixtures {
            for which in fast {
                let mean = fixture.mean_ns(which, REQUESTS);
                rounds
                    .entry((fixture.size, which))
                    .or_default()
                    .push([mean.cpu_ns, mean.wall_ns].map(|ns| (ns * 10.0).round() / 10.0));
                samples
                    .entry((fixture.size, which))
                    .or_default()
                    .extend(fixture.latencies(which, round * LATENCY_PER_ROUND, LATENCY_PER_ROUND));
            }
        }
    }
    for (key, rounds) in rounds {
        let latency = Latency::of(samples.remove(&key).unwrap_or_default());
        measured.insert(
            key,
            Measured {
                cpu_ns: median(&rounds, 0),
                wall_ns: median(&rounds, 1),
                rounds,
                mean_count: REQUESTS,
                latency,
            },
        );
    }

    let mut sizes_out = Vec::new();
    let mut p50: BTreeMap<(usize, Impl), u64> = BTreeMap::new();
    let mut mean: BTreeMap<(usize, Impl), f64> = BTreeMap::new();
    for fixture in &fixtures {
        let size = fixture.size;
        let mut results = serde_json::Map::new();
        for which in Impl::ALL {
            let measured = &measured[&(size, which)];
            p50.insert((size, which), measured.latency.p50_ns);
            mean.insert((size, which), measured.cpu_ns);
            let criterion = criterion_mean(&args.criterion, which, size);
            eprintln!(
                "[{size}] {:<22} mean cpu {:>11.0} ns  wall {:>11.0}  p50 {:>10}  p99 {:>10}  \
                 ({} timed){}",
                which.name(),
                measured.cpu_ns,
                measured.wall_ns,
                measured.latency.p50_ns,
                measured.latency.p99_ns,
                measured.latency.samples,
                criterion
                    .map(|ns| format!("  criterion mean {ns:.0} ns"))
                    .unwrap_or_default()
            );
            results.insert(
                which.name().into(),
                json!({
                    "setup_s": fixture.setup.engine_s(which),
                    "mean_ns": measured.cpu_ns,
                    "mean_wall_ns": measured.wall_ns,
                    "mean_ns_rounds": measured.rounds,
                    "mean_decisions_per_round": measured.mean_count,
                    "p50_ns": measured.latency.p50_ns,
                    "p90_ns": measured.latency.p90_ns,
                    "p99_ns": measured.latency.p99_ns,
                    "max_ns": measured.latency.max_ns,
                    "latency_mean_ns": measured.latency.mean_ns,
                    "latency_samples": measured.latency.samples,
                    "criterion_mean_ns": criterion,
                }),
            );
        }
        let best = best_cedar(&mean, size);
        let setup = &fixture.setup;
        sizes_out.push(json!({
            "rules": size,
            "purposes": fixture.rules.purposes.len(),
            "recipients": fixture.rules.recipients.len(),
            "categories": fixture.rules.categories.len(),
            "engagements": fixture.rules.grants.iter().map(Vec::len).sum::<usize>(),
            "cedar_policies": {
                "policy_per_rule": setup.cedar_policy_per_rule.policy_count,
                "entity_data": setup.cedar_entity_data.policy_count,
                "policy_per_rule_text_bytes": setup.cedar_policy_per_rule.policy_text_bytes,
            },
            "requests": {
                "count": fixture.tally.requests,
                "cedar_policy_per_rule_checked_on_first": fixture.tally.cedar_checked[0],
                "cedar_entity_data_checked_on_first": fixture.tally.cedar_checked[1],
                "allow": fixture.tally.allows,
                "deny": fixture.tally.denies,
                "kinds": kinds(&fixture.reqs),
                "all_checked_agree_with_the_rules": true,
            },
            "setup_s": {
                "generate_rules_and_requests": setup.generate_s,
                "purposed_registry_structs": setup.purposed_registry_s,
                "purposed_compile": setup.purposed_compile_s,
                "cedar_policy_per_rule_policies": setup.cedar_policy_per_rule.policies_s,
                "cedar_policy_per_rule_entities": setup.cedar_policy_per_rule.entities_s,
                "cedar_entity_data_policies": setup.cedar_entity_data.policies_s,
                "cedar_entity_data_entities": setup.cedar_entity_data.entities_s,
                "cedar_requests_prebuilt_untimed": setup.cedar_policy_per_rule.requests_s
                    + setup.cedar_entity_data.requests_s,
                "agreement_check": setup.check_s,
            },
            "results": results,
            "ratios": {
                "best_cedar": best.name(),
                "best_cedar_over_purposed_mean": mean[&(size, best)] / mean[&(size, Impl::Purposed)],
                "best_cedar_over_purposed_p50":
                    p50[&(size, best)] as f64 / p50[&(size, Impl::Purposed)] as f64,
                "cedar_entity_data_over_purposed_mean":
                    mean[&(size, Impl::CedarEntityData)] / mean[&(size, Impl::Purposed)],
                "cedar_policy_per_rule_over_purposed_mean":
                    mean[&(size, Impl::CedarPolicyPerRule)] / mean[&(size, Impl::Purposed)],
            },
        }));
    }

    let (small, large) = (args.sizes[0], *args.sizes.last().expect("a size"));
    let scaling = p50[&(large, Impl::Purposed)] as f64 / p50[&(small, Impl::Purposed)] as f64;
    let ten_x_mean = args.sizes.iter().all(|&size| {
        mean[&(size, best_cedar(&mean, size))] >= 10.0 * mean[&(size, Impl::Purposed)]
    });
    let ten_x_p50 = args.sizes.iter().all(|&size| {
        let best = best_cedar(&mean, size);
        p50[&(size, best)] >= 10 * p50[&(size, Impl::Purposed)]
    });
    let report = json!({
        "benchmark": "decide: purposed CompiledPolicy::decide vs cedar-policy Authorizer::is_authorized",
        "machine": machine(),
        "versions": versions(),
        "method": {
            "requests_per_size": REQUESTS,
            "zipf_s": rules::ZIPF_S,
            "rules_per_purpose": rules::RULES_PER_PURPOSE,
            "recipients": rules::RECIPIENTS,
            "category_tree": format!(
                "{} x {} x {} under user",
                rules::TOP_CATEGORIES, rules::MIDDLES_PER_TOP, rules::LEAVES_PER_MIDDLE
            ),
            "order": "every size built and checked first; then Cedar policy-per-rule timed \
                      alone per size; then purposed and Cedar entity data timed in interleaved \
                      rounds (each round: every size, both engines)",
            "mean": format!(
                "mean_ns is by the thread's CPU clock (CLOCK_THREAD_CPUTIME_ID), so time \
                 preempted by other work is left out; mean_wall_ns by the wall clock. purposed \
                 and Cedar entity data: median of {FAST_ROUNDS} rounds, each one pass over the \
                 {REQUESTS} questions timed as one. Cedar policy per rule: median of {ROUNDS} \
                 rounds of up to {WANTED} consecutive decisions (at most {}s a round, at least \
                 {FLOOR})",
                MEAN_BUDGET.as_secs()
            ),
            "percentiles": format!(
                "decisions each timed with Instant, nearest rank, timer overhead included: \
                 purposed and Cedar entity data {} ({LATENCY_PER_ROUND} a round over \
                 {FAST_ROUNDS} rounds); Cedar policy per rule up to {WANTED} (at most {}s, at \
                 least {FLOOR})",
                FAST_ROUNDS * LATENCY_PER_ROUND,
                LATENCY_BUDGET.as_secs()
            ),
            "timer_overhead_ns": overhead,
            "cedar_requests": "prebuilt before timing (Request::new and Context), so Cedar's \
                               timed cost is is_authorized alone",
            "single_thread": true,
        },
        "sizes": sizes_out,
        "ratios": {
            "purposed_p50_largest_over_smallest": scaling,
            "sizes": [small, large],
        },
        "targets": {
            "purposed_10x_faster_than_best_cedar_at_every_size_by_mean": ten_x_mean,
            "purposed_10x_faster_than_best_cedar_at_every_size_by_p50": ten_x_p50,
            "purposed_p50_largest_within_1_5x_of_smallest": scaling <= 1.5,
        },
        "load_average": {"start": load_start, "end": load_average()},
        "wall_time_s": started.elapsed().as_secs_f64(),
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent).expect("creating the results folder");
    }
    let text = serde_json::to_string_pretty(&report).expect("JSON") + "\n";
    std::fs::write(&args.out, text).expect("writing the results");
    eprintln!(
        "purposed p50 {large}/{small}: {scaling:.2}x; 10x by mean: {ten_x_mean}, by p50: \
         {ten_x_p50}; wrote {}",
        args.out.display()
    );
}

struct Measured {
    /// Median over rounds of the mean by the thread's CPU clock.
    cpu_ns: f64,
    /// Median over rounds of the mean by the wall clock.
    wall_ns: f64,
    /// Each round's [CPU, wall] mean.
    rounds: Vec<[f64; 2]>,
    mean_count: usize,
    latency: Latency,
}

/// Times one engine on its own: the mean over ROUNDS runs of consecutive decisions (the
/// median kept), then latencies, each within a time budget.
fn measure_alone(fixture: &Fixture, which: Impl) -> Measured {
    // A short run to estimate the cost (the agreement check already warmed everything).
    let probe = if which == Impl::CedarPolicyPerRule {
        5
    } else {
        2_000
    };
    let estimate = fixture.mean_ns(which, probe).wall_ns;
    let mean_count = affordable(WANTED, FLOOR, estimate, MEAN_BUDGET);
    let rounds: Vec<[f64; 2]> = (0..ROUNDS)
        .map(|_| {
            let mean = fixture.mean_ns(which, mean_count);
            [mean.cpu_ns, mean.wall_ns].map(|ns| (ns * 10.0).round() / 10.0)
        })
        .collect();
    let latency_count = affordable(WANTED, FLOOR, estimate, LATENCY_BUDGET);
    let latency = Latency::of(fixture.latencies(which, 0, latency_count));
    Measured {
        cpu_ns: median(&rounds, 0),
        wall_ns: median(&rounds, 1),
        rounds,
        mean_count,
        latency,
    }
}

/// The median of one field of the rounds.
fn median(rounds: &[[f64; 2]], field: usize) -> f64 {
    let mut values: Vec<f64> = rounds.iter().map(|round| round[field]).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The faster Cedar encoding at one size, by mean.
fn best_cedar(mean: &BTreeMap<(usize, Impl), f64>, size: usize) -> Impl {
    if mean[&(size, Impl::CedarEntityData)] <= mean[&(size, Impl::CedarPolicyPerRule)] {
        Impl::CedarEntityData
    } else {
        Impl::CedarPolicyPerRule
    }
}

/// Criterion's mean time per decision for one benchmark, if `cargo bench` left it.
fn criterion_mean(dir: &Path, which: Impl, size: usize) -> Option<f64> {
    let base = dir
        .join("decide")
        .join(which.name())
        .join(size.to_string())
        .join("new");
    let read = |name: &str| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(base.join(name)).ok()?).ok()
    };
    let per_iteration = read("estimates.json")?["mean"]["point_estimate"].as_f64()?;
    let elements = read("benchmark.json")?["throughput"]["Elements"].as_f64()?;
    Some(per_iteration / elements)
}

fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_once(':'))
            .map(|(_, value)| value.trim().to_string())
    };
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": field("model name"),
        "cpu_family_model": format!(
            "family {} model {} stepping {}",
            field("cpu family").unwrap_or_default(),
            field("model\t").unwrap_or_default(),
            field("stepping").unwrap_or_default()
        ),
        "cpu_mhz": field("cpu MHz"),
        "cache_size": field("cache size"),
        "memory": meminfo.lines().next().map(|line| line.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string()),
        "rustc": command_line(&std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()), &["-V"]),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Versions of the crates compared, from the workspace's Cargo.lock.
fn versions() -> Value {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"))
        .unwrap_or_default();
    let mut found = serde_json::Map::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("name = \"")
            .and_then(|s| s.strip_suffix('"'))
        else {
            continue;
        };
        if [
            "purposed",
            "cedar-policy",
            "cedar-policy-core",
            "criterion",
            "purposed-bench",
        ]
        .contains(&name)
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|s| s.strip_suffix('"'))
        {
            found.insert(name.into(), version.into());
        }
    }
    Value::Object(found)
}

fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok().map(|text| {
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    })
}
