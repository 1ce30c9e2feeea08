//! One integration binary: each test starts the real server on port 0 with a database of its
//! own (SQLite by default; PostgreSQL when PURPOSED_TEST_POSTGRES names a server) and talks to
//! it with the generated clients.

mod support;

mod audit;
mod bad_input;
mod catalogue;
mod cli;
mod conformance;
mod decision;
mod differential;
mod documents;
mod durability;
mod hardening;
mod health;
mod operations;
mod registry;
mod replicas;
mod rights;
mod security;
mod seeds;
mod store;
mod subjects;
mod valid_time;
