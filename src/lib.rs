//! purposed: a gRPC policy decision point for GDPR. Backend services ask it whether a
//! purpose may share a category of personal data with a recipient; it answers from the
//! organisation's registry, kept as policy-as-code manifests and compiled into memory.

pub mod app;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod manifest;
pub mod proto;
pub mod render;
pub mod server;
pub mod store;
