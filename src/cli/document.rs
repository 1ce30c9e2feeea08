//! `purposed document`: one of the organisation's documents, written by a running server
//! from the revision Check enforces; `purposed review`: a DPO's review of a manifest.

use std::path::PathBuf;

use clap::Args;
use purposed::{
    domain::{
        document::Kind,
        engine::CompiledPolicy,
        names::OrganisationId,
        review::{Severity, review as review_registry},
        text::Language,
    },
    grpc::wire,
    manifest,
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

#[derive(Args)]
pub struct ReviewArgs {
    /// The manifest (YAML).
    file: PathBuf,
    /// Review as of this day, YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    today: Option<jiff::civil::Date>,
    /// Print the findings as JSON instead of lines.
    #[arg(long)]
    json: bool,
}

pub fn review(args: ReviewArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|error| format!("cannot read {}: {error}", args.file.display()))?;
    let parsed = manifest::parse(&text, manifest::DEFAULT_MAX_BYTES).map_err(|error| {
        let lines: Vec<String> = error.violations().iter().map(ToString::to_string).collect();
        format!(
            "{} is not a valid manifest:\n  {}",
            args.file.display(),
            lines.join("\n  ")
        )
    })?;
    let today = args.today.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
    });
    let policy = CompiledPolicy::unstored(
        parsed.registry,
        purposed::store::sha256_hex(&text),
        jiff::Timestamp::now(),
    );
    let findings = review_registry(&policy, today);
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&findings).map_err(|error| error.to_string())?
        );
    } else {
        for finding in &findings {
            out!(
                "{:<7} {} [{}] {}: {}",
                match finding.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Notice => "notice",
                },
                finding.code,
                finding.article,
                finding.subject,
                finding.message
            );
        }
    }
    let errors = findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
        .count();
    match errors {
        0 => Ok(()),
        1 => Err(format!(
            "the review of {} found 1 error",
            args.file.display()
        )),
        errors => Err(format!(
            "the review of {} found {errors} errors",
            args.file.display()
        )),
    }
}
