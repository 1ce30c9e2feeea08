//! Driving one RPC at a server: closed loops (a fixed number of calls in flight) and an open
//! loop (calls sent on a fixed schedule whatever the answers do), with latencies in an HDR
//! histogram.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use purposed::proto::{
    CheckRequest, benchmark_service_client::BenchmarkServiceClient,
    decision_service_client::DecisionServiceClient,
};
use tonic::transport::Channel;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rpc {
    Noop,
    Check,
}

/// One client of a connection, able to make either call.
#[derive(Clone)]
struct Caller {
    decision: DecisionServiceClient<Channel>,
    noop: BenchmarkServiceClient<Channel>,
}

impl Caller {
    fn new(channel: Channel) -> Caller {
        Caller {
            decision: DecisionServiceClient::new(channel.clone()),
            noop: BenchmarkServiceClient::new(channel),
        }
    }

    async fn call(&mut self, rpc: Rpc, request: CheckRequest) -> Result<(), tonic::Status> {
        let answer = match rpc {
            Rpc::Check => self.decision.check(request).await?,
            Rpc::Noop => self.noop.noop(request).await?,
        };
        // An answer without a decision would mean the call did not do its work.
        if answer.into_inner().decision == 0 {
            return Err(tonic::Status::internal("an answer without a decision"));
        }
        Ok(())
    }
}

/// A failed call as a run reports it: the status code and message.
fn failure(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

pub fn histogram() -> Histogram<u64> {
    // Nanoseconds from 1 ns to 60 s, three significant digits.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// What one run measured.
pub struct Measured {
    pub rpc: Rpc,
    pub calls: u64,
    pub errors: u64,
    /// The status of the first failed call, so that a run that fails says how.
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
}

impl Measured {
    pub fn empty(rpc: Rpc) -> Measured {
        Measured {
            rpc,
            calls: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latency: histogram(),
        }
    }

    pub fn add(&mut self, other: &Measured) {
        self.calls += other.calls;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.elapsed += other.elapsed;
        self.latency
            .add(&other.latency)
            .expect("histograms of the same bounds");
    }

    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    pub fn micros_at(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// The connections of a run, `streams` callers on each.
pub struct Pool {
    callers: Vec<Caller>,
}

impl Pool {
    pub async fn open(address: std::net::SocketAddr, connections: usize) -> Result<Pool, String> {
        let mut callers = Vec::with_capacity(connections);
        for _ in 0..connections {
            callers.push(Caller::new(crate::server::connect(address).await?));
        }
        Ok(Pool { callers })
    }
}

/// Closed loop: `streams` calls in flight on each connection, each sent as soon as the one
/// before it is answered. Calls answered within the warm-up are not counted.
pub async fn closed_loop(
    pool: &Pool,
    streams: usize,
    rpc: Rpc,
    requests: Arc<Vec<CheckRequest>>,
    warmup: Duration,
    measure: Duration,
) -> Measured {
    let begin = Instant::now();
    let counted_from = begin + warmup;
    let until = counted_from + measure;
    let mut tasks = Vec::new();
    for (connection, caller) in pool.callers.iter().enumerate() {
        for stream in 0..streams {
            let mut caller = caller.clone();
            let requests = requests.clone();
            // Each caller starts at its own place in the request sequence.
            let mut next = (connection * streams + stream) * 7919 % requests.len();
            tasks.push(tokio::spawn(async move {
                let mut measured = Measured::empty(rpc);
                loop {
                    let request = requests[next].clone();
                    next = (next + 1) % requests.len();
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    let answered = caller.call(rpc, request).await;
                    let done = Instant::now();
                    if sent >= counted_from && done <= until {
                        match answered {
                            Ok(()) => {
                                measured.calls += 1;
                                let nanos = (done - sent).as_nanos() as u64;
                                measured.latency.saturating_record(nanos.max(1));
                            }
                            Err(status) => {
                                measured.errors += 1;
                                measured.first_error.get_or_insert_with(|| failure(&status));
                            }
                        }
                    }
                }
                measured
            }));
        }
    }
    let mut total = Measured::empty(rpc);
    for task in tasks {
        match task.await {
            Ok(measured) => total.add(&Measured {
                elapsed: Duration::ZERO,
                ..measured
            }),
            Err(panicked) => {
                total.errors += 1;
                total
                    .first_error
                    .get_or_insert_with(|| panicked.to_string());
            }
        }
    }
    total.elapsed = measure;
    total
}

/// Open loop: calls are due at a fixed rate and each one's latency is counted from when it
/// was due, not from when it could be sent, so a slow answer cannot hide the calls queued
/// behind it (no coordinated omission). Calls run on the pool's connections in turn.
pub async fn open_loop(
    pool: &Pool,
    rpc: Rpc,
    requests: Arc<Vec<CheckRequest>>,
    rate: f64,
    warmup: Duration,
    measure: Duration,
) -> Measured {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let begin = Instant::now();
    let counted_from = begin + warmup;
    let until = counted_from + measure;
    let latency = Arc::new(Mutex::new(histogram()));
    let calls = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let mut tasks = tokio::task::JoinSet::new();
    let mut sequence: u64 = 0;
    let mut ticker = tokio::time::interval(Duration::from_millis(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    'schedule: loop {
        ticker.tick().await;
        let now = Instant::now();
        // Send every call that has fallen due since the last tick.
        loop {
            let due = begin + interval.mul_f64(sequence as f64);
            if due >= until {
                break 'schedule;
            }
            if due > now {
                break;
            }
            let index = sequence as usize;
            sequence += 1;
            let mut caller = pool.callers[index % pool.callers.len()].clone();
            let request = requests[index % requests.len()].clone();
            let (latency, calls, errors) = (latency.clone(), calls.clone(), errors.clone());
            let first_error = first_error.clone();
            tasks.spawn(async move {
                let answered = caller.call(rpc, request).await;
                let done = Instant::now();
                if due < counted_from {
                    return;
                }
                match answered {
                    Ok(()) => {
                        calls.fetch_add(1, Ordering::Relaxed);
                        let nanos = (done - due).as_nanos() as u64;
                        if let Ok(mut histogram) = latency.lock() {
                            histogram.saturating_record(nanos.max(1));
                        }
                    }
                    Err(status) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut first) = first_error.lock() {
                            first.get_or_insert_with(|| failure(&status));
                        }
                    }
                }
            });
        }
        // Reap finished calls so the set does not grow with the run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let latency = latency
        .lock()
        .map(|histogram| histogram.clone())
        .unwrap_or_else(|_| histogram());
    Measured {
        rpc,
        calls: calls.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|first| first.clone()),
        elapsed: measure,
        latency,
    }
}
