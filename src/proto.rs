//! Generated contracts of `proto/purposed/v1`.

#![allow(clippy::all, clippy::pedantic, missing_docs)]

tonic::include_proto!("purposed.v1");

/// Encoded descriptor set of every contract, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("purposed_descriptor");
