//! purposed: a gRPC policy decision point for GDPR.

pub mod domain;
pub mod manifest;
pub mod proto;
pub mod store;
