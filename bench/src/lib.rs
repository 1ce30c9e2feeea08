//! Shared pieces of purposed's benchmarks. Nothing here is built by `cargo test` at the
//! workspace root: run `cargo bench -p purposed-bench` (see BENCHMARKS.md).
//!
//! - [`rules`]: the synthetic rule set, its questions, and the three engines that decide them
//!   (purposed, Cedar with a policy per rule, Cedar with the rules as entity data);
//! - [`measure`]: building a size's fixture (timed), checking agreement, and timing.

pub mod measure;
pub mod rules;
