//! purposed-scale: how long the decision index takes to compile, and how much memory it
//! holds, at 1k, 10k and 100k rules (the rule sets of the decide benchmark). Heap bytes are
//! counted by a global allocator wrapper, so the figures are the index's own, not the
//! process's.
//!
//! `cargo run --release -p purposed-bench --bin purposed-scale -- [--out FILE]`

use std::{
    alloc::{GlobalAlloc, Layout, System},
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use purposed::{
    app::SubjectCache,
    domain::{
        engine::{CompiledPolicy, RevisionInfo},
        pseudonym::SubjectKey,
        subject::{ConsentAction, ConsentEvent, SubjectState},
    },
};
use purposed_bench::rules::{RuleSet, asked_at};
use serde_json::json;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(size, Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const COMPILES: usize = 7;

fn revision() -> RevisionInfo {
    RevisionInfo {
        number: 1,
        applied_at: asked_at(),
        effective_from: asked_at(),
        manifest_sha256: "0".repeat(64),
    }
}

fn mib(bytes: usize) -> f64 {
    (bytes as f64 / 1024.0 / 1024.0 * 100.0).round() / 100.0
}

const SUBJECTS: usize = 1_000_000;

/// The heap a million subjects take in the server's subject cache, each with one consent,
/// as the server holds them after loading them from the database.
fn subject_cache() -> serde_json::Value {
    let key = SubjectKey::from_hex(&"ab".repeat(32)).expect("a valid key");
    let organisations: Vec<Arc<str>> = ["apollo", "capturi", "peero", "pro-balances", "sendberry"]
        .into_iter()
        .map(Arc::from)
        .collect();
    let purpose: Arc<str> = Arc::from("newsletter");
    let at = asked_at();
    let before = LIVE.load(Ordering::Relaxed);
    let cache = SubjectCache::default();
    for index in 0..SUBJECTS {
        let organisation = &organisations[index % organisations.len()];
        let subject = key.pseudonymise(
            organisation,
            &format!("subject-{index}")
                .parse()
                .expect("a valid subject id"),
        );
        let state = SubjectState {
            consents: vec![ConsentEvent {
                purpose: purpose.clone(),
                action: ConsentAction::Grant,
                at,
                notice_version: None,
                parental: false,
            }],
            ..SubjectState::default()
        };
        cache.put(organisation, subject, &state);
    }
    let bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "subject cache: {} subjects with one consent each hold {:.1} MiB of heap, {} bytes a subject",
        cache.len(),
        mib(bytes),
        bytes / SUBJECTS
    );
    json!({
        "subjects": cache.len(),
        "heap_mib": mib(bytes),
        "bytes_per_subject": bytes / SUBJECTS,
    })
}

fn main() -> ExitCode {
    let out = std::env::args()
        .skip_while(|arg| arg != "--out")
        .nth(1)
        .map(std::path::PathBuf::from);
    let mut results = Vec::new();
    println!(
        "{:>8} {:>12} {:>12} {:>14} {:>14}",
        "rules", "compile p50", "compile max", "registry MiB", "index MiB"
    );
    for size in SIZES {
        let rules = RuleSet::generate(size, 42);
        let before_registry = LIVE.load(Ordering::Relaxed);
        let registry = Arc::new(rules.registry());
        let registry_bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before_registry);

        let mut times: Vec<Duration> = Vec::with_capacity(COMPILES);
        let mut index_bytes = 0;
        for _ in 0..COMPILES {
            let before = LIVE.load(Ordering::Relaxed);
            let began = Instant::now();
            let policy = CompiledPolicy::compile(registry.clone(), revision());
            times.push(began.elapsed());
            index_bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before);
            drop(policy);
        }
        times.sort();
        let median = times[COMPILES / 2];
        let max = times[COMPILES - 1];
        println!(
            "{:>8} {:>10.1}ms {:>10.1}ms {:>14.2} {:>14.2}",
            rules.rule_count(),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            mib(registry_bytes),
            mib(index_bytes)
        );
        results.push(json!({
            "rules": rules.rule_count(),
            "compile_ms_p50": (median.as_secs_f64() * 1e4).round() / 10.0,
            "compile_ms_max": (max.as_secs_f64() * 1e4).round() / 10.0,
            "compiles": COMPILES,
            "registry_mib": mib(registry_bytes),
            "index_mib": mib(index_bytes),
        }));
    }
    let subjects = subject_cache();
    let result = json!({
        "benchmark": "scale",
        "subject_cache": subjects,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "when": jiff::Timestamp::now().to_string(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "results": results,
    });
    if let Some(out) = out {
        let text = match serde_json::to_string_pretty(&result) {
            Ok(text) => text,
            Err(error) => {
                eprintln!("purposed-scale: {error}");
                return ExitCode::FAILURE;
            }
        };
        if let Err(error) = std::fs::write(&out, text + "\n") {
            eprintln!("purposed-scale: {}: {error}", out.display());
            return ExitCode::FAILURE;
        }
        println!("results written to {}", out.display());
    }
    ExitCode::SUCCESS
}
