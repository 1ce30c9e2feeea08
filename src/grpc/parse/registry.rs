//! RegistryService requests. An apply's manifest is parsed by the application, which also
//! checks the organisation it names before anything is read.

use super::{
    OrganisationAt, OrganisationPage,
    fields::{Page, Violations, parse_all},
};
use crate::{
    app::{ApplyInput, Limits},
    domain::{policy::RecipientKind, taxonomy::Sensitivity},
    error::Error,
    grpc::wire,
    proto,
};

/// Registered recipients, of one kind when given.
#[derive(Clone, Debug)]
pub struct RecipientsPage {
    pub of: OrganisationPage,
    pub kind: Option<RecipientKind>,
}

/// Categories, of one sensitivity when given.
#[derive(Clone, Debug)]
pub struct CategoriesPage {
    pub of: OrganisationPage,
    pub sensitivity: Option<Sensitivity>,
}

pub fn apply_manifest(
    request: proto::ApplyManifestRequest,
    _: &Limits,
) -> Result<ApplyInput, Error> {
    let proto::ApplyManifestRequest {
        manifest,
        dry_run,
        expected_revision,
        effective_from,
    } = request;
    parse_all(|violations| {
        let effective_from = violations.timestamp("effective_from", effective_from.as_ref());
        Some(ApplyInput {
            manifest,
            dry_run,
            expected_revision,
            effective_from,
        })
    })
}

fn organisation_at(
    violations: &mut Violations,
    organisation: String,
    revision: Option<u64>,
    language: String,
) -> Option<OrganisationAt> {
    let language = violations.language("language", language);
    let organisation = violations.parsed("organisation", organisation)?;
    Some(OrganisationAt {
        organisation,
        revision,
        language,
    })
}

/// An organisation at a revision, and a page of something of its.
fn organisation_page(
    violations: &mut Violations,
    organisation: String,
    revision: Option<u64>,
    language: String,
    page: (u32, &str),
) -> Option<OrganisationPage> {
    let at = organisation_at(violations, organisation, revision, language);
    let page = violations.page(page.0, page.1);
    Some(OrganisationPage { at: at?, page })
}

pub fn get_organisation(
    request: proto::GetOrganisationRequest,
    _: &Limits,
) -> Result<OrganisationAt, Error> {
    parse_all(|violations| {
        organisation_at(
            violations,
            request.organisation,
            request.revision,
            request.language,
        )
    })
}

pub fn list_organisations(
    request: proto::ListOrganisationsRequest,
    _: &Limits,
) -> Result<Page, Error> {
    parse_all(|violations| Some(violations.page(request.page_size, &request.page_token)))
}

pub fn list_purposes(
    request: proto::ListPurposesRequest,
    _: &Limits,
) -> Result<OrganisationPage, Error> {
    let page = (request.page_size, request.page_token.as_str());
    parse_all(|violations| {
        organisation_page(
            violations,
            request.organisation,
            request.revision,
            request.language,
            page,
        )
    })
}

pub fn list_registered_recipients(
    request: proto::ListRegisteredRecipientsRequest,
    _: &Limits,
) -> Result<RecipientsPage, Error> {
    let page = (request.page_size, request.page_token.as_str());
    parse_all(|violations| {
        let of = organisation_page(
            violations,
            request.organisation,
            request.revision,
            request.language,
            page,
        );
        let kind = violations
            .enumeration::<proto::RecipientKind>("kind", request.kind)
            .and_then(wire::recipient_kind_from);
        Some(RecipientsPage { of: of?, kind })
    })
}

pub fn list_categories(
    request: proto::ListCategoriesRequest,
    _: &Limits,
) -> Result<CategoriesPage, Error> {
    let page = (request.page_size, request.page_token.as_str());
    parse_all(|violations| {
        let of = organisation_page(
            violations,
            request.organisation,
            request.revision,
            request.language,
            page,
        );
        let sensitivity = violations
            .enumeration::<proto::Sensitivity>("sensitivity", request.sensitivity)
            .and_then(wire::sensitivity_from);
        Some(CategoriesPage {
            of: of?,
            sensitivity,
        })
    })
}

pub fn list_revisions(
    request: proto::ListRevisionsRequest,
    _: &Limits,
) -> Result<OrganisationPage, Error> {
    let page = (request.page_size, request.page_token.as_str());
    parse_all(|violations| {
        organisation_page(violations, request.organisation, None, String::new(), page)
    })
}

pub fn get_revision(
    request: proto::GetRevisionRequest,
    _: &Limits,
) -> Result<OrganisationAt, Error> {
    parse_all(|violations| {
        organisation_at(
            violations,
            request.organisation,
            request.revision,
            String::new(),
        )
    })
}
