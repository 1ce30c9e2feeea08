//! `purposed document`: one of the organisation's documents, written by a running server
//! from the revision Check enforces.

use std::path::PathBuf;

use clap::Args;
use purposed::{
    domain::{document::Kind, names::OrganisationId, text::Language},
    grpc::wire,
    proto::{self, document_service_client::DocumentServiceClient},
    render::Format,
};

use crate::{ServerArgs, connect, describe, rights::spelled, timestamp};

#[derive(Args)]
pub struct DocumentArgs {
    /// The document.
    #[arg(value_parser = spelled::<Kind>())]
    kind: Kind,
    #[arg(long)]
    organisation: OrganisationId,
    /// The language of its texts, ISO 639 (default: the organisation's).
    #[arg(long)]
    language: Option<Language>,
    #[arg(long, value_parser = spelled::<Format>(), default_value = "markdown")]
    format: Format,
    /// Write from this revision (default: the one in force now, or at --at).
    #[arg(long)]
    revision: Option<u64>,
    /// Write from the revision in force at this moment, RFC 3339.
    #[arg(long)]
    at: Option<jiff::Timestamp>,
    /// Write it to this file instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn document(args: DocumentArgs) -> Result<(), String> {
    let mut client = DocumentServiceClient::new(connect(&args.server).await?);
    let response = client
        .render_document(proto::RenderDocumentRequest {
            organisation: args.organisation.into(),
            kind: wire::document_kind(args.kind).into(),
            revision: args.revision,
            at: args.at.map(timestamp),
            language: args
                .language
                .map(|language| language.to_string())
                .unwrap_or_default(),
            format: wire::document_format(args.format).into(),
        })
        .await
        .map_err(|status| describe(&status))?
        .into_inner();
    match &args.output {
        Some(path) => {
            std::fs::write(path, &response.content)
                .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
            eprintln!(
                "wrote {} ({}, revision {}) to {}",
                response.title,
                response.media_type,
                response.revision,
                path.display()
            );
        }
        None => out!("{}", String::from_utf8_lossy(&response.content).trim_end()),
    }
    Ok(())
}
