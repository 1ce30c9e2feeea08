//! Every request message parsed once, at the edge, into what the application takes: one
//! function per RPC, collecting every invalid field at once (INVALID_ARGUMENT with a
//! `BadRequest` detail naming each). The handlers call these and nothing else to read a
//! request; the `request_convert` fuzz target calls the same functions.
//!
//! Each function takes the message and the server's limits, so that all have one shape.

pub mod decision;
pub mod document;
pub mod fields;
pub mod registry;
pub mod rights;
pub mod subject;

use fields::Page;

use crate::domain::names::{OrganisationId, RawSubject};
use crate::domain::text::Language;

/// An organisation and, for reads of the registry, the revision asked for (the latest when
/// `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganisationAt {
    pub organisation: OrganisationId,
    pub revision: Option<u64>,
    /// The language texts are shown in; `None` for the default.
    pub language: Option<Language>,
}

/// A page of something of an organisation's.
#[derive(Clone, Debug)]
pub struct OrganisationPage {
    pub at: OrganisationAt,
    pub page: Page,
}

/// A raw subject identifier of an organisation: it becomes a pseudonym in the application
/// and is never stored or shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectOf {
    pub organisation: OrganisationId,
    pub subject: RawSubject,
}
