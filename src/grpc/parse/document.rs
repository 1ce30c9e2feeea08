//! DocumentService requests.

use super::fields::{Violations, parse_all};
use crate::{
    app::{DocumentInput, Limits, ReviewInput},
    error::Error,
    grpc::wire,
    proto,
};

pub fn render_document(
    request: proto::RenderDocumentRequest,
    _: &Limits,
) -> Result<DocumentInput, Error> {
    let proto::RenderDocumentRequest {
        organisation,
        kind,
        revision,
        at,
        language,
        format,
    } = request;
    parse_all(|violations: &mut Violations| {
        let organisation = violations.parsed("organisation", organisation);
        let kind = violations
            .required::<proto::DocumentKind>("kind", kind)
            .and_then(wire::document_kind_from);
        let format = violations
            .required::<proto::DocumentFormat>("format", format)
            .and_then(wire::document_format_from);
        let at = violations.timestamp("at", at.as_ref());
        let language = violations.language("language", language);
        Some(DocumentInput {
            organisation: organisation?,
            kind: kind?,
            revision,
            at,
            language,
            format: format?,
        })
    })
}

pub fn review_registry(
    request: proto::ReviewRegistryRequest,
    _: &Limits,
) -> Result<ReviewInput, Error> {
    let proto::ReviewRegistryRequest {
        organisation,
        revision,
        today,
    } = request;
    parse_all(|violations: &mut Violations| {
        let organisation = violations.parsed("organisation", organisation);
        let today = violations.date("today", &today);
        Some(ReviewInput {
            organisation: organisation?,
            revision,
            today,
        })
    })
}
