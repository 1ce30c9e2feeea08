//! Shared pieces of purposed's benchmarks. Nothing here is built by `cargo test` at the
//! workspace root: run `cargo bench -p purposed-bench` (see BENCHMARKS.md).
