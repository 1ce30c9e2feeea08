//! Building one size's fixture (with its setup timed), checking that every engine agrees
//! with the rules on every question, and timing decisions.

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, Instant},
};

use crate::rules::{
    CedarEncoding, CedarEngine, CedarSetup, PurposedEngine, Req, RuleSet, Tally, check_agreement,
};

/// The rule counts compared.
pub const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// Questions per size, shared by every engine.
pub const REQUESTS: usize = 10_000;
pub const RULE_SEED: u64 = 0x0070_7572_706F_7365; // "purpose"
pub const REQUEST_SEED: u64 = 0x0000_7175_6573_7473; // "quests"

/// How many questions Cedar's policy-per-rule encoding is checked on: all of them up to
/// 10k rules; at 100k one decision takes a few hundred milliseconds (every policy is
/// evaluated), so all 10,000 would take most of an hour and the first 2,000 are checked.
/// purposed and Cedar's entity-data encoding are checked on every question at every size.
pub fn per_rule_check_limit(size: usize) -> usize {
    if size <= 10_000 { REQUESTS } else { 2_000 }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impl {
    Purposed,
    CedarPolicyPerRule,
    CedarEntityData,
}

impl Impl {
    pub const ALL: [Impl; 3] = [
        Impl::Purposed,
        Impl::CedarPolicyPerRule,
        Impl::CedarEntityData,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Impl::Purposed => "purposed",
            Impl::CedarPolicyPerRule => "cedar_policy_per_rule",
            Impl::CedarEntityData => "cedar_entity_data",
        }
    }
}

/// Setup of one size: seconds spent on each step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Setup {
    /// Generating the rule set and the questions (shared, not counted for any engine).
    pub generate_s: f64,
    /// Building purposed's `Registry` as domain structs (what loading a manifest yields).
    pub purposed_registry_s: f64,
    /// `CompiledPolicy::compile`.
    pub purposed_compile_s: f64,
    pub cedar_policy_per_rule: CedarSetup,
    pub cedar_entity_data: CedarSetup,
    /// Deciding every question with every engine and comparing with the rules.
    pub check_s: f64,
}

impl Setup {
    /// What each engine needs before its first decision (request building excluded).
    pub fn engine_s(&self, which: Impl) -> f64 {
        match which {
            Impl::Purposed => self.purposed_registry_s + self.purposed_compile_s,
            Impl::CedarPolicyPerRule => {
                self.cedar_policy_per_rule.policies_s + self.cedar_policy_per_rule.entities_s
            }
            Impl::CedarEntityData => {
                self.cedar_entity_data.policies_s + self.cedar_entity_data.entities_s
            }
        }
    }
}

pub struct Fixture {
    pub size: usize,
    pub rules: RuleSet,
    pub reqs: Vec<Req>,
    pub purposed: PurposedEngine,
    pub per_rule: CedarEngine,
    pub data: CedarEngine,
    pub setup: Setup,
    pub tally: Tally,
}

impl Fixture {
    /// Builds the three engines for `size` rules and checks them on every question. A
    /// disagreement is an error: nothing is timed on engines that decide differently.
    pub fn build(size: usize, log: bool) -> Result<Fixture, String> {
        let mut setup = Setup::default();
        let started = Instant::now();
        let rules = RuleSet::generate(size, RULE_SEED);
        let reqs = rules.requests(REQUESTS, REQUEST_SEED);
        setup.generate_s = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let registry = Arc::new(rules.registry());
        setup.purposed_registry_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let purposed = PurposedEngine::compile(registry);
        setup.purposed_compile_s = started.elapsed().as_secs_f64();
        if log {
            eprintln!(
                "[{size}] purposed: registry {:.3}s, compile {:.3}s",
                setup.purposed_registry_s, setup.purposed_compile_s
            );
        }

        let per_rule = CedarEngine::new(&rules, CedarEncoding::PolicyPerRule, &reqs);
        setup.cedar_policy_per_rule = per_rule.setup;
        let data = CedarEngine::new(&rules, CedarEncoding::EntityData, &reqs);
        setup.cedar_entity_data = data.setup;
        if log {
            eprintln!(
                "[{size}] cedar per rule: policies {:.3}s, entities {:.3}s; entity data: \
                 policies {:.3}s, entities {:.3}s",
                per_rule.setup.policies_s,
                per_rule.setup.entities_s,
                data.setup.policies_s,
                data.setup.entities_s
            );
        }

        let started = Instant::now();
        let tally = check_agreement(
            &rules,
            &reqs,
            &purposed,
            &[(&per_rule, per_rule_check_limit(size)), (&data, REQUESTS)],
        )?;
        setup.check_s = started.elapsed().as_secs_f64();
        if log {
            eprintln!(
                "[{size}] all three agree with the rules: purposed and Cedar entity data on all \
                 {} questions ({} allow, {} deny), Cedar policy per rule on the first {}; {:.1}s",
                tally.requests, tally.allows, tally.denies, tally.cedar_checked[0], setup.check_s
            );
        }
        Ok(Fixture {
            size,
            rules,
            reqs,
            purposed,
            per_rule,
            data,
            setup,
            tally,
        })
    }

    /// One decision of the i-th question.
    #[inline]
    pub fn decide(&self, which: Impl, index: usize) -> bool {
        match which {
            Impl::Purposed => self.purposed.decide(&self.rules, &self.reqs[index]),
            Impl::CedarPolicyPerRule => self.per_rule.decide(index),
            Impl::CedarEntityData => self.data.decide(index),
        }
    }

    /// Decides `count` questions in a row, starting at `start` and wrapping around; returns
    /// the number allowed (so nothing is optimised away).
    #[inline]
    pub fn run(&self, which: Impl, start: usize, count: usize) -> usize {
        let len = self.reqs.len();
        let mut allowed = 0;
        match which {
            Impl::Purposed => {
                for i in start..start + count {
                    allowed += self
                        .purposed
                        .decide(&self.rules, black_box(&self.reqs[i % len]))
                        as usize;
                }
            }
            Impl::CedarPolicyPerRule => {
                for i in start..start + count {
                    allowed += self.per_rule.decide(black_box(i % len)) as usize;
                }
            }
            Impl::CedarEntityData => {
                for i in start..start + count {
                    allowed += self.data.decide(black_box(i % len)) as usize;
                }
            }
        }
        allowed
    }

    /// Mean nanoseconds per decision over `count` decisions in a row (no per-call timer):
    /// by the wall clock, and by the thread's CPU clock (which leaves out the time the
    /// thread was preempted by other work on the machine).
    pub fn mean_ns(&self, which: Impl, count: usize) -> Mean {
        let cpu = thread_cpu_ns();
        let started = Instant::now();
        black_box(self.run(which, 0, count));
        let wall = started.elapsed().as_nanos() as f64;
        let cpu = thread_cpu_ns() - cpu;
        Mean {
            wall_ns: wall / count as f64,
            cpu_ns: cpu as f64 / count as f64,
        }
    }

    /// The latency of each of `count` decisions, in nanoseconds, each timed on its own.
    /// Starts at question `start` and wraps around.
    pub fn latencies(&self, which: Impl, start: usize, count: usize) -> Vec<u64> {
        let len = self.reqs.len();
        let mut out = Vec::with_capacity(count);
        for i in start..start + count {
            let index = black_box(i % len);
            let started = Instant::now();
            black_box(self.decide(which, index));
            out.push(started.elapsed().as_nanos() as u64);
        }
        out
    }
}

/// Mean time per decision of one run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mean {
    pub wall_ns: f64,
    pub cpu_ns: f64,
}

/// The calling thread's CPU time, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Summary of per-decision latencies.
#[derive(Clone, Copy, Debug, Default)]
pub struct Latency {
    pub samples: usize,
    pub mean_ns: f64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
}

impl Latency {
    pub fn of(mut samples: Vec<u64>) -> Latency {
        samples.sort_unstable();
        let n = samples.len();
        Latency {
            samples: n,
            mean_ns: samples.iter().sum::<u64>() as f64 / n as f64,
            p50_ns: percentile(&samples, 50.0),
            p90_ns: percentile(&samples, 90.0),
            p99_ns: percentile(&samples, 99.0),
            max_ns: *samples.last().unwrap_or(&0),
        }
    }
}

/// Nearest-rank percentile of sorted samples.
pub fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median cost of reading the clock twice around nothing: what `latencies` adds to
/// every sample.
pub fn timer_overhead_ns() -> u64 {
    let mut samples: Vec<u64> = (0..100_000)
        .map(|_| {
            let started = Instant::now();
            black_box(());
            started.elapsed().as_nanos() as u64
        })
        .collect();
    samples.sort_unstable();
    percentile(&samples, 50.0)
}

/// How many decisions to time for one engine: `wanted`, or fewer if they would take longer
/// than `budget` at `estimate_ns` each (never fewer than `floor`).
pub fn affordable(wanted: usize, floor: usize, estimate_ns: f64, budget: Duration) -> usize {
    let fit = (budget.as_nanos() as f64 / estimate_ns.max(1.0)) as usize;
    fit.clamp(floor, wanted)
}
