//! The policy model: an organisation's registry of categories, recipients and purposes, as
//! its manifest states them. A `Registry` is always valid: the manifest layer builds it only
//! after validation, and the store rebuilds it from rows that were valid when written.

use std::{fmt, str::FromStr};

use jiff::{Span, civil::Date, fmt::temporal::SpanParser};
use serde::{Deserialize, Serialize};

use super::{
    Spelling,
    geo::Territory,
    taxonomy::Sensitivity,
    text::{Language, Localised},
};

/// One organisation's whole registry at one revision. Collections are kept sorted by id so
/// that two registries with the same content compare equal whatever the manifest's order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub organisation: Organisation,
    pub categories: Vec<CustomCategory>,
    pub recipients: Vec<Recipient>,
    pub purposes: Vec<Purpose>,
    /// The organisation's documents as they are laid out: rows and sections in order, and
    /// the purposes and recipients each row describes. Kept in the manifest's order.
    #[serde(default)]
    pub documents: Vec<DocumentLayout>,
    /// Cookies and similar technologies (ePrivacy Art. 5(3)), in the manifest's order.
    #[serde(default)]
    pub cookies: Vec<Cookie>,
}

impl Registry {
    /// Sorts every collection so that equal content compares equal.
    pub fn normalise(mut self) -> Registry {
        self.categories.sort_by(|a, b| a.key.cmp(&b.key));
        self.recipients.sort_by(|a, b| a.id.cmp(&b.id));
        for recipient in &mut self.recipients {
            recipient.locations.sort();
            recipient.locations.dedup();
            recipient.agreements.sort_by(|a, b| {
                (a.effective_from, &a.reference).cmp(&(b.effective_from, &b.reference))
            });
            for safeguard in &mut recipient.safeguards {
                safeguard.countries.sort();
                safeguard.countries.dedup();
            }
            recipient.safeguards.sort_by(|a, b| {
                (a.mechanism, &a.countries, &a.reference, &a.source).cmp(&(
                    b.mechanism,
                    &b.countries,
                    &b.reference,
                    &b.source,
                ))
            });
        }
        self.purposes.sort_by(|a, b| a.id.cmp(&b.id));
        for purpose in &mut self.purposes {
            purpose.categories.sort();
            purpose.categories.dedup();
            purpose.data_subjects.sort();
            purpose.data_subjects.dedup();
            purpose.data_sources.sort();
            purpose.data_sources.dedup();
            purpose
                .engagements
                .sort_by(|a, b| a.recipient.cmp(&b.recipient));
            for engagement in &mut purpose.engagements {
                engagement.categories.sort();
                engagement.categories.dedup();
            }
            for rule in &mut purpose.retention {
                rule.categories.sort();
                rule.categories.dedup();
            }
            purpose.retention.sort_by(|a, b| {
                (a.from.as_str(), a.period.as_str(), &a.categories, &a.source).cmp(&(
                    b.from.as_str(),
                    b.period.as_str(),
                    &b.categories,
                    &b.source,
                ))
            });
        }
        self
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes
            .binary_search_by(|purpose| purpose.id.as_str().cmp(id))
            .ok()
            .map(|index| &self.purposes[index])
    }

    pub fn recipient(&self, id: &str) -> Option<&Recipient> {
        self.recipients
            .binary_search_by(|recipient| recipient.id.as_str().cmp(id))
            .ok()
            .map(|index| &self.recipients[index])
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: String,
    pub legal_name: String,
    pub registration_number: Option<String>,
    pub country: Territory,
    pub role: OrganisationRole,
    pub dpo: Option<Contact>,
    /// Whether the Art. 12(3) clock of a rights request waits for proof of the requester's
    /// identity (starting on the day it arrives) rather than running from receipt.
    pub clock_waits_for_identity: bool,
    /// The age below which the organisation processes nobody's data, if its documents set
    /// one (a service for adults only).
    pub minimum_age: Option<MinimumAge>,
    /// What Check does with a purpose on legitimate interests without a recorded balancing
    /// test.
    #[serde(default)]
    pub untested_interests: UntestedInterests,
    /// The language of the texts' default wording (format 2); `None` for a version 1
    /// manifest, which does not say.
    #[serde(default)]
    pub language: Option<Language>,
    /// What an Art. 30 record states about the organisation beyond its identity.
    #[serde(default)]
    pub accountability: Accountability,
    pub source: String,
}

/// The facts of an Art. 30 record that are the organisation's, not a purpose's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accountability {
    /// The organisation's postal address (Art. 30(1)(a), 13(1)(a)).
    #[serde(default)]
    pub address: Option<String>,
    /// The lead supervisory authority, where the manifest names it; otherwise the built-in
    /// authority of the organisation's country (`geo::supervisory_authority`).
    #[serde(default)]
    pub supervisory_authority: Option<Authority>,
    /// When the record was last reviewed.
    #[serde(default)]
    pub reviewed_on: Option<Date>,
    /// Technical and organisational security measures (Art. 30(1)(g), 30(2)(d), 32).
    #[serde(default)]
    pub security_measures: Vec<Measure>,
    /// The controllers the organisation acts for as a processor, or their category (Art.
    /// 30(2)(a)): a processor's, or a controller's that is also its customers' processor.
    #[serde(default)]
    pub controllers: Vec<ControllerServed>,
}

/// A supervisory authority (Art. 51).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub name: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    pub source: String,
}

/// One technical or organisational measure, as the document words it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub text: Localised,
    pub source: String,
}

/// A controller a processor acts for: named, or a category of customers, with the agreement
/// that binds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControllerServed {
    /// The controller, when the record names one; else `category` says who.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub category: Option<Localised>,
    #[serde(default)]
    pub agreement: Option<String>,
    pub source: String,
}

/// A document of the organisation as laid out: its rows (or sections) in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentLayout {
    pub id: String,
    pub kind: DocumentKind,
    pub title: Localised,
    /// The columns of the document's table, in order, with their headings as printed.
    #[serde(default)]
    pub columns: Vec<LayoutColumn>,
    pub rows: Vec<DocumentRow>,
    pub source: String,
}

/// A column of a document's table: what it shows, under which heading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutColumn {
    pub field: ColumnField,
    pub heading: Localised,
}

/// What a column of a recipients' table shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnField {
    /// The row's label as printed ("1.").
    Number,
    Name,
    RegistrationNumber,
    Address,
    Description,
    DataProcessed,
    Locations,
    Safeguards,
}

spelled!(ColumnField {
    Number => "number",
    Name => "name",
    RegistrationNumber => "registration_number",
    Address => "address",
    Description => "description",
    DataProcessed => "data_processed",
    Locations => "locations",
    Safeguards => "safeguards",
});

/// Whether a row of a document is a row of its table or a passage of its text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowPart {
    #[default]
    Table,
    Text,
}

spelled!(RowPart {
    Table => "table",
    Text => "text",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocumentKind {
    PrivacyNotice,
    SubprocessorList,
    ProcessingRecord,
    CookiePolicy,
}

spelled!(DocumentKind {
    PrivacyNotice => "privacy_notice",
    SubprocessorList => "subprocessor_list",
    ProcessingRecord => "processing_record",
    CookiePolicy => "cookie_policy",
});

/// One row or section: its label as printed ("1", "§4.2"), and what it describes. A row may
/// describe several purposes at once (Apollo's table) or one recipient (a subprocessor list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub label: String,
    #[serde(default)]
    pub part: RowPart,
    #[serde(default)]
    pub heading: Option<Localised>,
    #[serde(default)]
    pub purposes: Vec<String>,
    #[serde(default)]
    pub recipients: Vec<String>,
}

/// A cookie or similar technology (ePrivacy Directive Art. 5(3)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cookie {
    pub name: String,
    /// Who sets it: the organisation, or a recipient by id, or a third party named as text.
    pub provider: String,
    pub category: CookieCategory,
    /// The purpose it serves, when the registry has one.
    #[serde(default)]
    pub purpose: Option<String>,
    pub description: Localised,
    /// How long it lasts, as the document states it ("session", "13 months").
    pub duration: Localised,
    /// Whether storing or reading it needs the subject's consent: every category but
    /// `necessary` does (Art. 5(3)); a necessary one may still be stated as needing it.
    pub consent_required: bool,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieCategory {
    Necessary,
    Preferences,
    Statistics,
    Marketing,
}

spelled!(CookieCategory {
    Necessary => "necessary",
    Preferences => "preferences",
    Statistics => "statistics",
    Marketing => "marketing",
});

/// The organisation's choice for a purpose on legitimate interests whose balancing test is
/// not recorded (Art. 6(1)(f) with 5(2)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UntestedInterests {
    /// Check denies, NO_LEGAL_BASIS: without the test the basis is not shown.
    #[default]
    Deny,
    /// Check allows, with the obligation RECORD_BALANCING_TEST.
    AllowWithObligation,
}

spelled!(UntestedInterests {
    Deny => "deny",
    AllowWithObligation => "allow_with_obligation",
});

/// The youngest age an organisation serves, with the clause that says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinimumAge {
    pub years: u8,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrganisationRole {
    Controller,
    Processor,
}

spelled!(OrganisationRole {
    Controller => "controller",
    Processor => "processor",
});

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
}

/// A category key the organisation adds to the default taxonomy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomCategory {
    pub key: String,
    pub name: Localised,
    pub sensitivity: Sensitivity,
    pub dpv: Option<String>,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecipientKind {
    Processor,
    Subprocessor,
    IndependentController,
    JointController,
}

spelled!(RecipientKind {
    Processor => "processor",
    Subprocessor => "subprocessor",
    IndependentController => "independent_controller",
    JointController => "joint_controller",
});

impl RecipientKind {
    /// Processors and subprocessors act on instructions and need an Art. 28(3) agreement.
    pub fn is_processor(self) -> bool {
        matches!(self, RecipientKind::Processor | RecipientKind::Subprocessor)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub id: String,
    pub name: Localised,
    pub kind: RecipientKind,
    /// For a subprocessor: the processor (another recipient) it sits under.
    pub parent: Option<String>,
    pub locations: Vec<Territory>,
    pub agreements: Vec<Agreement>,
    pub safeguards: Vec<Safeguard>,
    pub status: RecipientStatus,
    pub description: Option<Localised>,
    /// The data it processes, as the document words it, beside the category keys.
    #[serde(default)]
    pub data_processed: Option<Localised>,
    /// For a joint controller: the essence of the Art. 26 arrangement.
    #[serde(default)]
    pub arrangement: Option<Arrangement>,
    pub registration_number: Option<String>,
    pub address: Option<String>,
    pub source: String,
}

/// The arrangement between joint controllers (Art. 26(1)), whose essence is made available
/// to the subject (Art. 26(2)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrangement {
    #[serde(default)]
    pub reference: Option<String>,
    pub essence: Localised,
    pub source: String,
}

/// An Art. 28(3) processing agreement; in force from `effective_from` to `effective_to`, both
/// days included. A document may attest an agreement without its dates: an open end is
/// unbounded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub reference: String,
    pub effective_from: Option<Date>,
    pub effective_to: Option<Date>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Safeguard {
    pub mechanism: Mechanism,
    /// The countries it covers; empty covers every location outside the EEA.
    pub countries: Vec<Territory>,
    pub reference: Option<String>,
    pub source: String,
}

/// Art. 46 and 47 safeguards, and the Data Privacy Framework certification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mechanism {
    /// Standard contractual clauses of Decision 2021/914, with their module (1-4).
    Scc {
        module: u8,
    },
    Bcr,
    CodeOfConduct,
    Certification,
    /// EU-US Data Privacy Framework certification; counts only for locations in the US.
    Dpf,
}

impl Mechanism {
    /// The manifest and storage spelling, without the SCC module.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Scc { .. } => "scc",
            Mechanism::Bcr => "bcr",
            Mechanism::CodeOfConduct => "code_of_conduct",
            Mechanism::Certification => "certification",
            Mechanism::Dpf => "dpf",
        }
    }

    pub fn scc_module(self) -> Option<u8> {
        match self {
            Mechanism::Scc { module } => Some(module),
            _ => None,
        }
    }

    /// The mechanism a name and module spell, if they are consistent.
    pub fn from_parts(name: &str, module: Option<u8>) -> Option<Mechanism> {
        match (name, module) {
            ("scc", Some(module @ 1..=4)) => Some(Mechanism::Scc { module }),
            ("bcr", None) => Some(Mechanism::Bcr),
            ("code_of_conduct", None) => Some(Mechanism::CodeOfConduct),
            ("certification", None) => Some(Mechanism::Certification),
            ("dpf", None) => Some(Mechanism::Dpf),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    Active,
    /// Announced; not authorised until the objection window's last day has passed.
    Proposed {
        objection_window_ends: Date,
    },
    Retired,
}

impl RecipientStatus {
    pub fn name(self) -> &'static str {
        match self {
            RecipientStatus::Active => "active",
            RecipientStatus::Proposed { .. } => "proposed",
            RecipientStatus::Retired => "retired",
        }
    }

    pub fn objection_window_ends(self) -> Option<Date> {
        match self {
            RecipientStatus::Proposed {
                objection_window_ends,
            } => Some(objection_window_ends),
            _ => None,
        }
    }

    /// The status a name and window end spell, if they are consistent.
    pub fn from_parts(name: &str, objection_window_ends: Option<Date>) -> Option<RecipientStatus> {
        match (name, objection_window_ends) {
            ("active", None) => Some(RecipientStatus::Active),
            ("retired", None) => Some(RecipientStatus::Retired),
            ("proposed", Some(objection_window_ends)) => Some(RecipientStatus::Proposed {
                objection_window_ends,
            }),
            _ => None,
        }
    }
}

/// Art. 6(1) legal bases, plus a processor's documented instructions (Art. 28(3)(a)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegalBasis {
    Consent,
    Contract,
    LegalObligation,
    VitalInterests,
    PublicTask,
    LegitimateInterests,
    ControllerInstructions,
}

impl Purpose {
    /// Whether the subject's consent (Art. 6(1)(a) or explicit consent under Art. 9(2)(a))
    /// is what the purpose rests on.
    pub fn rests_on_consent(&self) -> bool {
        self.legal_basis == Some(LegalBasis::Consent)
            || self.special_condition == Some(SpecialCondition::ExplicitConsent)
    }

    /// Whether the subject's consent to the purpose may be recorded and withdrawn: it rests
    /// on consent, or needs it for some subjects (`consent_unless`).
    pub fn takes_consent(&self) -> bool {
        self.rests_on_consent() || self.consent_unless.is_some()
    }

    /// Why the subject cannot object to the purpose under Art. 21, or `None` when they can.
    pub fn objection_refused(&self) -> Option<String> {
        let id = &self.id;
        if self.direct_marketing || self.legal_basis.is_some_and(LegalBasis::objectionable) {
            None
        } else if self.rests_on_consent() {
            Some(format!(
                "purpose {id:?} rests on consent: the subject withdraws consent rather than objects (Art. 7(3))"
            ))
        } else {
            Some(format!(
                "purpose {id:?} rests on {}; Art. 21(1) covers public task and legitimate interests",
                self.legal_basis.map_or("no basis", LegalBasis::describe)
            ))
        }
    }
}

impl LegalBasis {
    pub fn article(self) -> &'static str {
        match self {
            LegalBasis::Consent => "Art. 6(1)(a)",
            LegalBasis::Contract => "Art. 6(1)(b)",
            LegalBasis::LegalObligation => "Art. 6(1)(c)",
            LegalBasis::VitalInterests => "Art. 6(1)(d)",
            LegalBasis::PublicTask => "Art. 6(1)(e)",
            LegalBasis::LegitimateInterests => "Art. 6(1)(f)",
            LegalBasis::ControllerInstructions => "Art. 28(3)(a)",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            LegalBasis::Consent => "consent",
            LegalBasis::Contract => "performance of a contract",
            LegalBasis::LegalObligation => "a legal obligation",
            LegalBasis::VitalInterests => "vital interests",
            LegalBasis::PublicTask => "a task in the public interest",
            LegalBasis::LegitimateInterests => "legitimate interests",
            LegalBasis::ControllerInstructions => "the controller's documented instructions",
        }
    }

    /// Bases against which the subject may object under Art. 21(1).
    pub fn objectionable(self) -> bool {
        matches!(
            self,
            LegalBasis::PublicTask | LegalBasis::LegitimateInterests
        )
    }
}

spelled!(LegalBasis {
    Consent => "consent",
    Contract => "contract",
    LegalObligation => "legal_obligation",
    VitalInterests => "vital_interests",
    PublicTask => "public_task",
    LegitimateInterests => "legitimate_interests",
    ControllerInstructions => "controller_instructions",
});

/// The Art. 9(2) points that lift the prohibition on special categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecialCondition {
    ExplicitConsent,
    Employment,
    VitalInterests,
    NotForProfitBody,
    MadePublic,
    LegalClaims,
    SubstantialPublicInterest,
    HealthOrSocialCare,
    PublicHealth,
    ArchivingResearchStatistics,
    /// A processor's: the controller's own Art. 9(2) condition, on whose instructions it
    /// processes (Art. 28(3)(a), 29).
    Controller,
}

impl SpecialCondition {
    pub const ALL: [SpecialCondition; 11] = [
        SpecialCondition::ExplicitConsent,
        SpecialCondition::Employment,
        SpecialCondition::VitalInterests,
        SpecialCondition::NotForProfitBody,
        SpecialCondition::MadePublic,
        SpecialCondition::LegalClaims,
        SpecialCondition::SubstantialPublicInterest,
        SpecialCondition::HealthOrSocialCare,
        SpecialCondition::PublicHealth,
        SpecialCondition::ArchivingResearchStatistics,
        SpecialCondition::Controller,
    ];

    /// The point of Art. 9(2), which is also the manifest spelling: "9(2)(a)"; a
    /// processor's "controller".
    pub fn point(self) -> &'static str {
        match self {
            SpecialCondition::ExplicitConsent => "9(2)(a)",
            SpecialCondition::Employment => "9(2)(b)",
            SpecialCondition::VitalInterests => "9(2)(c)",
            SpecialCondition::NotForProfitBody => "9(2)(d)",
            SpecialCondition::MadePublic => "9(2)(e)",
            SpecialCondition::LegalClaims => "9(2)(f)",
            SpecialCondition::SubstantialPublicInterest => "9(2)(g)",
            SpecialCondition::HealthOrSocialCare => "9(2)(h)",
            SpecialCondition::PublicHealth => "9(2)(i)",
            SpecialCondition::ArchivingResearchStatistics => "9(2)(j)",
            SpecialCondition::Controller => "controller",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SpecialCondition::ExplicitConsent => "explicit consent",
            SpecialCondition::Employment => "employment and social security law",
            SpecialCondition::VitalInterests => "vital interests of a subject unable to consent",
            SpecialCondition::NotForProfitBody => "a not-for-profit body's members",
            SpecialCondition::MadePublic => "data manifestly made public by the subject",
            SpecialCondition::LegalClaims => "legal claims",
            SpecialCondition::SubstantialPublicInterest => "substantial public interest",
            SpecialCondition::HealthOrSocialCare => "health or social care",
            SpecialCondition::PublicHealth => "public health",
            SpecialCondition::ArchivingResearchStatistics => "archiving, research or statistics",
            SpecialCondition::Controller => {
                "the controller's own condition, on whose documented instructions a processor acts"
            }
        }
    }
}

serde_as_text!(
    SpecialCondition,
    |condition: &SpecialCondition| condition.point(),
    |text: &str| text.parse::<SpecialCondition>().ok()
);

impl FromStr for SpecialCondition {
    type Err = ();

    fn from_str(text: &str) -> Result<SpecialCondition, ()> {
        SpecialCondition::ALL
            .into_iter()
            .find(|condition| condition.point() == text)
            .ok_or(())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Purpose {
    pub id: String,
    pub name: Localised,
    pub description: Option<Localised>,
    pub legal_basis: Option<LegalBasis>,
    /// How the document qualifies the basis, in its words ("consent, where necessary").
    #[serde(default)]
    pub legal_basis_qualifier: Option<Localised>,
    /// Pseudonymisation or anonymisation the document says is applied.
    #[serde(default)]
    pub data_protection: Option<DataProtection>,
    /// Categories the document says are processed only in some cases ("if you choose to
    /// provide it").
    #[serde(default)]
    pub conditional_categories: Vec<ConditionalCategory>,
    /// What about the processing makes a DPIA likely (Art. 35(1),(3); the EDPB's criteria,
    /// WP248 rev.01), beside the special categories the registry already sees.
    #[serde(default)]
    pub dpia_criteria: Vec<DpiaCriterion>,
    /// The DPIA that answers them, where one is recorded.
    #[serde(default)]
    pub dpia: Option<DpiaRecord>,
    /// For legitimate interests: reference to the recorded balancing test.
    pub balancing_test: Option<String>,
    /// For legitimate interests: the interest pursued, as the notice states it (Art.
    /// 13(1)(d), 14(2)(b)). Not the balancing test: that weighs it.
    pub legitimate_interest: Option<String>,
    /// The clause the legal basis came from, where it differs from the purpose's.
    pub legal_basis_source: Option<String>,
    pub special_condition: Option<SpecialCondition>,
    /// For Art. 10 data: the Union or Member State law that authorises the processing.
    pub criminal_data_authorisation: Option<String>,
    pub direct_marketing: bool,
    pub storage_only: bool,
    /// A basis that depends on the subject: where the caller asserts the condition the purpose
    /// rests on `legal_basis`, elsewhere on the subject's consent (Apollo: "legitimate
    /// interests; consent where necessary").
    pub consent_unless: Option<ConsentUnless>,
    pub data_subjects: Vec<String>,
    pub data_sources: Vec<String>,
    pub categories: Vec<String>,
    pub engagements: Vec<Engagement>,
    pub retention: Vec<RetentionRule>,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    pub recipient: String,
    /// The categories the recipient may receive; empty means all of the purpose's.
    pub categories: Vec<String>,
    /// The data the recipient processes for the purpose, as the document words it.
    #[serde(default)]
    pub data_processed: Option<Localised>,
    pub condition: Option<EngagementCondition>,
    pub source: String,
}

/// When a purpose needs no consent besides its basis, with the clause that says so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentUnless {
    pub condition: EngagementCondition,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngagementCondition {
    pub id: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub period: Period,
    pub from: RetentionEvent,
    /// The categories it applies to; empty means all of the purpose's.
    pub categories: Vec<String>,
    pub description: Option<Localised>,
    pub source: String,
}

/// A technique applied to a purpose's data (Art. 4(5), 25(1), 32(1)(a)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataProtection {
    pub technique: Technique,
    #[serde(default)]
    pub description: Option<Localised>,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Technique {
    Pseudonymised,
    Anonymised,
}

spelled!(Technique {
    Pseudonymised => "pseudonymised",
    Anonymised => "anonymised",
});

/// The criteria of the EDPB's guidelines on DPIAs (WP248 rev.01) that a manifest states; the
/// sensitive data criterion the registry reads from the purpose's categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DpiaCriterion {
    /// Evaluation or scoring, including profiling and prediction (Art. 35(3)(a)).
    Profiling,
    /// Automated decisions with legal or similarly significant effect (Art. 22, 35(3)(a)).
    AutomatedDecisions,
    /// Systematic monitoring, of a publicly accessible area too (Art. 35(3)(c)).
    SystematicMonitoring,
    /// Processing on a large scale (Art. 35(3)(b)).
    LargeScale,
    /// Matching or combining data sets.
    CombinedDatasets,
    /// Vulnerable data subjects: children, employees, patients (recital 75).
    VulnerableSubjects,
    /// Innovative use or new technological solutions.
    NewTechnology,
    /// Processing that prevents subjects from exercising a right or using a service.
    PreventsRights,
}

spelled!(DpiaCriterion {
    Profiling => "profiling",
    AutomatedDecisions => "automated_decisions",
    SystematicMonitoring => "systematic_monitoring",
    LargeScale => "large_scale",
    CombinedDatasets => "combined_datasets",
    VulnerableSubjects => "vulnerable_subjects",
    NewTechnology => "new_technology",
    PreventsRights => "prevents_rights",
});

/// A recorded data protection impact assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DpiaRecord {
    pub reference: String,
    #[serde(default)]
    pub completed_on: Option<Date>,
    pub source: String,
}

/// A category processed only when something holds, in the document's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionalCategory {
    pub category: String,
    pub when: Localised,
    pub source: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionEvent {
    Collection,
    ContractEnd,
    AccountDeletion,
    ConsentWithdrawal,
    LastActivity,
}

spelled!(RetentionEvent {
    Collection => "collection",
    ContractEnd => "contract_end",
    AccountDeletion => "account_deletion",
    ConsentWithdrawal => "consent_withdrawal",
    LastActivity => "last_activity",
});

impl RetentionEvent {
    pub fn describe(self) -> &'static str {
        match self {
            RetentionEvent::Collection => "collection",
            RetentionEvent::ContractEnd => "the end of the contract",
            RetentionEvent::AccountDeletion => "the deletion of the account",
            RetentionEvent::ConsentWithdrawal => "the withdrawal of consent",
            RetentionEvent::LastActivity => "the subject's last activity",
        }
    }
}

/// An ISO 8601 duration of calendar units (years, months, weeks, days). Kept with its
/// canonical text so that registries compare by value.
#[derive(Clone)]
pub struct Period {
    text: String,
    span: Span,
}

impl Period {
    /// Parses an ISO 8601 duration made of years, months, weeks and days, for example "P1Y",
    /// "P30D" or "P1Y6M". Time units are refused: retention is counted in days.
    pub fn parse(text: &str) -> Result<Period, String> {
        // Only the ISO 8601 form: jiff's `FromStr` also takes its "friendly" format.
        let span: Span = SpanParser::new().parse_span(text).map_err(|_| {
            format!("{text:?} is not an ISO 8601 duration such as \"P30D\" or \"P1Y\"")
        })?;
        if span.is_negative() {
            return Err(format!("{text:?} is negative"));
        }
        if span.get_hours() != 0
            || span.get_minutes() != 0
            || span.get_seconds() != 0
            || span.get_milliseconds() != 0
            || span.get_microseconds() != 0
            || span.get_nanoseconds() != 0
        {
            return Err(format!(
                "{text:?} has time units; use years, months, weeks or days"
            ));
        }
        if span.get_years() > 200
            || span.get_months() > 2400
            || span.get_weeks() > 10_000
            || span.get_days() > 100_000
        {
            return Err(format!(
                "{text:?} is longer than any retention period can be"
            ));
        }
        Ok(Period {
            text: span.to_string(),
            span,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn span(&self) -> Span {
        self.span
    }

    pub fn is_zero(&self) -> bool {
        self.span.is_zero()
    }
}

serde_as_text!(
    Period,
    |period: &Period| period.text.clone(),
    |text: &str| Period::parse(text).ok()
);

impl PartialEq for Period {
    fn eq(&self, other: &Period) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Period({})", self.text)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_calendar_durations() {
        assert_eq!(Period::parse("P30D").unwrap().as_str(), "P30D");
        assert_eq!(Period::parse("P1Y6M").unwrap().as_str(), "P1Y6M");
        assert_eq!(Period::parse("p7y").unwrap().as_str(), "P7Y");
        assert!(Period::parse("PT5H").is_err());
        assert!(Period::parse("30 days").is_err());
        assert!(Period::parse("-P1D").is_err());
        assert!(Period::parse("P9999Y").is_err());
        assert!(Period::parse("P0D").unwrap().is_zero());
    }

    #[test]
    fn spellings_round_trip() {
        for &basis in LegalBasis::ALL {
            assert_eq!(basis.as_str().parse::<LegalBasis>(), Ok(basis));
        }
        for condition in SpecialCondition::ALL {
            assert_eq!(condition.point().parse::<SpecialCondition>(), Ok(condition));
        }
        for &event in RetentionEvent::ALL {
            assert_eq!(event.as_str().parse::<RetentionEvent>(), Ok(event));
        }
        for &kind in RecipientKind::ALL {
            assert_eq!(kind.as_str().parse::<RecipientKind>(), Ok(kind));
        }
    }
}
