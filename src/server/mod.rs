//! The server's wiring: start-up and shutdown (`startup`), settings (`config`), token
//! verification (`auth`), Prometheus metrics (`metrics`) and logging (`telemetry`).

pub mod auth;
pub mod config;
pub mod metrics;
pub mod startup;
pub mod telemetry;
