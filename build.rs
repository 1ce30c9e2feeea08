//! Compiles the contracts in `proto/` with protox (no system protoc) and writes the encoded
//! descriptor set that server reflection serves.

use std::{env, fs, path::PathBuf};

use prost::Message as _;

const PROTOS: &[&str] = &[
    "proto/purposed/v1/bench.proto",
    "proto/purposed/v1/decision.proto",
    "proto/purposed/v1/document.proto",
    "proto/purposed/v1/registry.proto",
    "proto/purposed/v1/rights.proto",
    "proto/purposed/v1/subject.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // tonic-prost-build does not emit these itself.
    println!("cargo:rerun-if-changed=proto");
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }

    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("purposed_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        // prost's codec, but undecodable bytes are INVALID_ARGUMENT (see src/grpc/codec.rs).
        .codec_path("crate::grpc::codec::Codec")
        .compile_fds(descriptors)?;
    Ok(())
}
