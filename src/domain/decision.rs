//! What a decision says: the outcome, its reasons with their articles and readable messages,
//! obligations and transfers. Reasons carry their facts, not text; the message is rendered
//! only when asked for, which keeps `decide()` free of formatting.

use std::{fmt, sync::Arc};

use jiff::{Timestamp, civil::Date};

use super::{
    geo::{Adequacy, Territory},
    policy::{LegalBasis, Period, RetentionEvent, SpecialCondition},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    Deny,
    Conditional,
}

impl Decision {
    /// Deny overrides conditions, conditions override allows; the order of reasons is
    /// irrelevant.
    pub fn from_reasons(reasons: &[Reason]) -> Decision {
        let mut decision = Decision::Allow;
        for reason in reasons {
            match reason.effect() {
                Effect::Deny => return Decision::Deny,
                Effect::Condition => decision = Decision::Conditional,
                Effect::Allow => {}
            }
        }
        decision
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Decision::Allow => "ALLOW",
            Decision::Deny => "DENY",
            Decision::Conditional => "CONDITIONAL",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
    Condition,
}

/// Every reason code, once. The enum, `ReasonCode::ALL` and `ReasonCode::name` are made
/// from this list, and so is the wire mapping (`grpc::wire::reason_code`): a new code is
/// added here, and the compiler then names every match that must decide what it means.
macro_rules! with_reason_codes {
    ($then:ident) => {
        $then! {
            UnknownOrganisation => "UNKNOWN_ORGANISATION",
            UnknownPurpose => "UNKNOWN_PURPOSE",
            UnknownCategory => "UNKNOWN_CATEGORY",
            UnknownRecipient => "UNKNOWN_RECIPIENT",
            NoLegalBasis => "NO_LEGAL_BASIS",
            CategoryNotDeclared => "CATEGORY_NOT_DECLARED",
            SpecialCategoryWithoutCondition => "SPECIAL_CATEGORY_WITHOUT_CONDITION",
            RecipientNotEngaged => "RECIPIENT_NOT_ENGAGED",
            NoProcessingAgreement => "NO_PROCESSING_AGREEMENT",
            SubprocessorNotAuthorised => "SUBPROCESSOR_NOT_AUTHORISED",
            TransferWithoutSafeguard => "TRANSFER_WITHOUT_SAFEGUARD",
            ConsentMissing => "CONSENT_MISSING",
            ConsentWithdrawn => "CONSENT_WITHDRAWN",
            BelowConsentAge => "BELOW_CONSENT_AGE",
            BelowServiceAge => "BELOW_SERVICE_AGE",
            ObjectionActive => "OBJECTION_ACTIVE",
            RestrictionActive => "RESTRICTION_ACTIVE",
            ErasureRequested => "ERASURE_REQUESTED",
            RetentionExpired => "RETENTION_EXPIRED",
            LegalBasis => "LEGAL_BASIS",
            SpecialCategoryCondition => "SPECIAL_CATEGORY_CONDITION",
            ProcessingAgreement => "PROCESSING_AGREEMENT",
            ProcessingInEea => "PROCESSING_IN_EEA",
            TransferAdequacy => "TRANSFER_ADEQUACY",
            TransferScc => "TRANSFER_SCC",
            TransferDpf => "TRANSFER_DPF",
            TransferBcr => "TRANSFER_BCR",
            TransferCodeOfConduct => "TRANSFER_CODE_OF_CONDUCT",
            TransferCertification => "TRANSFER_CERTIFICATION",
            ConsentGiven => "CONSENT_GIVEN",
            ParentalConsent => "PARENTAL_CONSENT",
            CompellingGrounds => "COMPELLING_GROUNDS",
            StorageOnly => "STORAGE_ONLY",
            LegalObligationExemption => "LEGAL_OBLIGATION_EXEMPTION",
            InHouse => "IN_HOUSE",
            ConsentRequired => "CONSENT_REQUIRED",
            NoObjectionRequired => "NO_OBJECTION_REQUIRED",
            EngagementCondition => "ENGAGEMENT_CONDITION",
        }
    };
}
pub(crate) use with_reason_codes;

macro_rules! define_reason_codes {
    ($($code:ident => $name:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ReasonCode {
            $($code,)*
        }

        impl ReasonCode {
            pub const ALL: [ReasonCode; [$($name),*].len()] = [$(ReasonCode::$code),*];

            /// The code's name, as the wire spells it without its `REASON_CODE_` prefix.
            pub fn name(self) -> &'static str {
                match self {
                    $(ReasonCode::$code => $name,)*
                }
            }
        }
    };
}

with_reason_codes!(define_reason_codes);

impl ReasonCode {
    pub fn effect(self) -> Effect {
        use ReasonCode::*;
        match self {
            UnknownOrganisation
            | UnknownPurpose
            | UnknownCategory
            | UnknownRecipient
            | NoLegalBasis
            | CategoryNotDeclared
            | SpecialCategoryWithoutCondition
            | RecipientNotEngaged
            | NoProcessingAgreement
            | SubprocessorNotAuthorised
            | TransferWithoutSafeguard
            | ConsentMissing
            | ConsentWithdrawn
            | BelowConsentAge
            | BelowServiceAge
            | ObjectionActive
            | RestrictionActive
            | ErasureRequested
            | RetentionExpired => Effect::Deny,
            LegalBasis
            | SpecialCategoryCondition
            | ProcessingAgreement
            | ProcessingInEea
            | TransferAdequacy
            | TransferScc
            | TransferDpf
            | TransferBcr
            | TransferCodeOfConduct
            | TransferCertification
            | ConsentGiven
            | ParentalConsent
            | CompellingGrounds
            | StorageOnly
            | LegalObligationExemption
            | InHouse => Effect::Allow,
            ConsentRequired | NoObjectionRequired | EngagementCondition => Effect::Condition,
        }
    }
}

/// One reason with the facts it was found on.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    UnknownOrganisation {
        organisation: Arc<str>,
        /// When the organisation has revisions but none in force for the question's times.
        at: Option<When>,
    },
    UnknownPurpose {
        purpose: Arc<str>,
    },
    UnknownCategory {
        category: Arc<str>,
    },
    UnknownRecipient {
        recipient: Arc<str>,
    },
    NoLegalBasis {
        purpose: Arc<str>,
        /// Set when the basis is legitimate interests without a balancing test.
        missing_balancing_test: bool,
        source: Arc<str>,
    },
    CategoryNotDeclared {
        purpose: Arc<str>,
        category: Arc<str>,
        source: Arc<str>,
    },
    SpecialCategoryWithoutCondition {
        purpose: Arc<str>,
        category: Arc<str>,
        criminal: bool,
        source: Arc<str>,
    },
    RecipientNotEngaged {
        purpose: Arc<str>,
        recipient: Arc<str>,
        why: NotEngaged,
        source: Arc<str>,
    },
    RecipientRetired {
        recipient: Arc<str>,
        via: Option<Arc<str>>,
        source: Arc<str>,
    },
    NoProcessingAgreement {
        processor: Arc<str>,
        /// The asked recipient when the processor without an agreement sits above it.
        via: Option<Arc<str>>,
        day: Date,
        source: Arc<str>,
    },
    SubprocessorNotAuthorised {
        subprocessor: Arc<str>,
        via: Option<Arc<str>>,
        why: NotAuthorised,
        source: Arc<str>,
    },
    TransferWithoutSafeguard {
        recipient: Arc<str>,
        via: Option<Arc<str>>,
        territory: Territory,
        day: Date,
        /// The US adequacy decision exists but the recipient is not DPF-certified; Canada's
        /// covers only commercial organisations.
        note: Option<&'static str>,
        source: Arc<str>,
    },
    ConsentMissing {
        purpose: Arc<str>,
    },
    ConsentWithdrawn {
        purpose: Arc<str>,
        withdrawn_at: Timestamp,
    },
    BelowConsentAge {
        purpose: Arc<str>,
        age: i16,
        threshold: u8,
        country: Territory,
    },
    /// The organisation serves no one under `minimum` and processes nobody's data below it,
    /// whatever the purpose.
    BelowServiceAge {
        age: i16,
        minimum: u8,
        source: Arc<str>,
    },
    ObjectionActive {
        purpose: Arc<str>,
        direct_marketing: bool,
        objected_at: Timestamp,
    },
    RestrictionActive {
        purpose: Arc<str>,
    },
    ErasureRequested {
        purpose: Arc<str>,
        verified_at: Timestamp,
    },
    RetentionExpired {
        purpose: Arc<str>,
        period: Period,
        expired_at: Timestamp,
        source: Arc<str>,
    },
    LegalBasis {
        purpose: Arc<str>,
        basis: LegalBasis,
        balancing_test: Option<Arc<str>>,
        source: Arc<str>,
    },
    SpecialCategoryCondition {
        purpose: Arc<str>,
        category: Arc<str>,
        condition: SpecialCategoryGround,
        source: Arc<str>,
    },
    ProcessingAgreement {
        processor: Arc<str>,
        reference: Arc<str>,
        source: Arc<str>,
    },
    ProcessingInEea {
        recipient: Arc<str>,
        chain: bool,
        source: Arc<str>,
    },
    Transfer(Transfer),
    ConsentGiven {
        purpose: Arc<str>,
        given_at: Timestamp,
        notice_version: Option<Arc<str>>,
    },
    ParentalConsent {
        purpose: Arc<str>,
        threshold: u8,
    },
    CompellingGrounds {
        purpose: Arc<str>,
        grounds: Arc<str>,
    },
    StorageOnly {
        purpose: Arc<str>,
    },
    LegalObligationExemption {
        purpose: Arc<str>,
        source: Arc<str>,
    },
    InHouse {
        organisation: Arc<str>,
        source: Arc<str>,
    },
    ConsentRequired {
        purpose: Arc<str>,
        explicit: bool,
        age_threshold: u8,
        country: Territory,
        /// The condition under which the purpose needs no consent, when it has one.
        unless: Option<Arc<str>>,
    },
    NoObjectionRequired {
        purpose: Arc<str>,
        direct_marketing: bool,
    },
    EngagementCondition {
        recipient: Arc<str>,
        condition: Arc<str>,
        description: Arc<str>,
        source: Arc<str>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotEngaged {
    /// No engagement of the recipient under the purpose.
    NotForPurpose,
    /// Engaged, but limited to other categories.
    NotForCategory,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAuthorised {
    ObjectionWindowOpen { ends: Date },
    Retired,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SpecialCategoryGround {
    Article9(SpecialCondition),
    Article10(Arc<str>),
}

/// How data reaches one location of a recipient or of a processor above it.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    pub recipient: Arc<str>,
    pub territory: Territory,
    pub mechanism: TransferMechanism,
    /// The clause the safeguard (or the recipient's location) came from.
    pub source: Arc<str>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TransferMechanism {
    WithinEea,
    Adequacy(&'static Adequacy),
    Dpf,
    Bcr {
        reference: Option<Arc<str>>,
    },
    Scc {
        module: u8,
        reference: Option<Arc<str>>,
    },
    CodeOfConduct {
        reference: Option<Arc<str>>,
    },
    Certification {
        reference: Option<Arc<str>>,
    },
    None,
}

impl TransferMechanism {
    pub fn detail(&self) -> String {
        let with_reference = |name: String, reference: &Option<Arc<str>>| match reference {
            Some(reference) => format!("{name} ({reference})"),
            None => name,
        };
        match self {
            TransferMechanism::WithinEea => "within the EEA".to_owned(),
            TransferMechanism::Adequacy(adequacy) => {
                format!(
                    "adequacy decision for {}: {}",
                    adequacy.name, adequacy.decision
                )
            }
            TransferMechanism::Dpf => {
                "EU-US Data Privacy Framework certification (Decision (EU) 2023/1795)".to_owned()
            }
            TransferMechanism::Bcr { reference } => {
                with_reference("binding corporate rules".to_owned(), reference)
            }
            TransferMechanism::Scc { module, reference } => with_reference(
                format!("standard contractual clauses (Decision (EU) 2021/914), module {module}"),
                reference,
            ),
            TransferMechanism::CodeOfConduct { reference } => {
                with_reference("approved code of conduct".to_owned(), reference)
            }
            TransferMechanism::Certification { reference } => {
                with_reference("approved certification".to_owned(), reference)
            }
            TransferMechanism::None => "no adequacy decision and no safeguard".to_owned(),
        }
    }
}

fn via(via: &Option<Arc<str>>) -> String {
    match via {
        Some(recipient) => format!(", which {recipient} sits under,"),
        None => String::new(),
    }
}

impl Reason {
    pub fn code(&self) -> ReasonCode {
        match self {
            Reason::UnknownOrganisation { .. } => ReasonCode::UnknownOrganisation,
            Reason::UnknownPurpose { .. } => ReasonCode::UnknownPurpose,
            Reason::UnknownCategory { .. } => ReasonCode::UnknownCategory,
            Reason::UnknownRecipient { .. } => ReasonCode::UnknownRecipient,
            Reason::NoLegalBasis { .. } => ReasonCode::NoLegalBasis,
            Reason::CategoryNotDeclared { .. } => ReasonCode::CategoryNotDeclared,
            Reason::SpecialCategoryWithoutCondition { .. } => {
                ReasonCode::SpecialCategoryWithoutCondition
            }
            Reason::RecipientNotEngaged { .. } | Reason::RecipientRetired { .. } => {
                ReasonCode::RecipientNotEngaged
            }
            Reason::NoProcessingAgreement { .. } => ReasonCode::NoProcessingAgreement,
            Reason::SubprocessorNotAuthorised { .. } => ReasonCode::SubprocessorNotAuthorised,
            Reason::TransferWithoutSafeguard { .. } => ReasonCode::TransferWithoutSafeguard,
            Reason::ConsentMissing { .. } => ReasonCode::ConsentMissing,
            Reason::ConsentWithdrawn { .. } => ReasonCode::ConsentWithdrawn,
            Reason::BelowConsentAge { .. } => ReasonCode::BelowConsentAge,
            Reason::BelowServiceAge { .. } => ReasonCode::BelowServiceAge,
            Reason::ObjectionActive { .. } => ReasonCode::ObjectionActive,
            Reason::RestrictionActive { .. } => ReasonCode::RestrictionActive,
            Reason::ErasureRequested { .. } => ReasonCode::ErasureRequested,
            Reason::RetentionExpired { .. } => ReasonCode::RetentionExpired,
            Reason::LegalBasis { .. } => ReasonCode::LegalBasis,
            Reason::SpecialCategoryCondition { .. } => ReasonCode::SpecialCategoryCondition,
            Reason::ProcessingAgreement { .. } => ReasonCode::ProcessingAgreement,
            Reason::ProcessingInEea { .. } => ReasonCode::ProcessingInEea,
            Reason::Transfer(transfer) => match transfer.mechanism {
                TransferMechanism::Adequacy(_) => ReasonCode::TransferAdequacy,
                TransferMechanism::Dpf => ReasonCode::TransferDpf,
                TransferMechanism::Bcr { .. } => ReasonCode::TransferBcr,
                TransferMechanism::Scc { .. } => ReasonCode::TransferScc,
                TransferMechanism::CodeOfConduct { .. } => ReasonCode::TransferCodeOfConduct,
                TransferMechanism::Certification { .. } => ReasonCode::TransferCertification,
                // Never built: locations in the EEA and uncovered ones have reasons of their own.
                TransferMechanism::WithinEea => ReasonCode::ProcessingInEea,
                TransferMechanism::None => ReasonCode::TransferWithoutSafeguard,
            },
            Reason::ConsentGiven { .. } => ReasonCode::ConsentGiven,
            Reason::ParentalConsent { .. } => ReasonCode::ParentalConsent,
            Reason::CompellingGrounds { .. } => ReasonCode::CompellingGrounds,
            Reason::StorageOnly { .. } => ReasonCode::StorageOnly,
            Reason::LegalObligationExemption { .. } => ReasonCode::LegalObligationExemption,
            Reason::InHouse { .. } => ReasonCode::InHouse,
            Reason::ConsentRequired { .. } => ReasonCode::ConsentRequired,
            Reason::NoObjectionRequired { .. } => ReasonCode::NoObjectionRequired,
            Reason::EngagementCondition { .. } => ReasonCode::EngagementCondition,
        }
    }

    pub fn effect(&self) -> Effect {
        self.code().effect()
    }

    /// The article the reason rests on; empty for ids that do not resolve.
    pub fn article(&self) -> &'static str {
        match self {
            Reason::UnknownOrganisation { .. }
            | Reason::UnknownPurpose { .. }
            | Reason::UnknownCategory { .. }
            | Reason::UnknownRecipient { .. }
            | Reason::EngagementCondition { .. } => "",
            Reason::NoLegalBasis { .. } => "Art. 6(1)",
            Reason::CategoryNotDeclared { .. } => "Art. 5(1)(b),(c)",
            Reason::SpecialCategoryWithoutCondition {
                criminal: false, ..
            } => "Art. 9(1),(2)",
            Reason::SpecialCategoryWithoutCondition { criminal: true, .. } => "Art. 10",
            Reason::RecipientNotEngaged { .. } | Reason::RecipientRetired { .. } => "Art. 28(1)",
            Reason::NoProcessingAgreement { .. } | Reason::ProcessingAgreement { .. } => {
                "Art. 28(3)"
            }
            Reason::SubprocessorNotAuthorised { .. } => "Art. 28(2),(4)",
            Reason::TransferWithoutSafeguard { .. } => "Art. 44-46",
            Reason::ConsentMissing { .. } | Reason::ConsentGiven { .. } => "Art. 6(1)(a)",
            Reason::ConsentWithdrawn { .. } => "Art. 7(3)",
            Reason::BelowConsentAge { .. } | Reason::ParentalConsent { .. } => "Art. 8(1)",
            Reason::BelowServiceAge { .. } => "Art. 5(1)(b)",
            Reason::ObjectionActive {
                direct_marketing: true,
                ..
            } => "Art. 21(2),(3)",
            Reason::ObjectionActive { .. } | Reason::CompellingGrounds { .. } => "Art. 21(1)",
            Reason::RestrictionActive { .. } => "Art. 18(1)",
            Reason::StorageOnly { .. } => "Art. 18(2)",
            Reason::ErasureRequested { .. } => "Art. 17(1)",
            Reason::LegalObligationExemption { .. } => "Art. 17(3)(b)",
            Reason::InHouse { .. } => "Art. 4(9)",
            Reason::RetentionExpired { .. } => "Art. 5(1)(e)",
            Reason::LegalBasis { basis, .. } => basis.article(),
            Reason::SpecialCategoryCondition {
                condition: SpecialCategoryGround::Article9(condition),
                ..
            } => match condition {
                SpecialCondition::ExplicitConsent => "Art. 9(2)(a)",
                SpecialCondition::Employment => "Art. 9(2)(b)",
                SpecialCondition::VitalInterests => "Art. 9(2)(c)",
                SpecialCondition::NotForProfitBody => "Art. 9(2)(d)",
                SpecialCondition::MadePublic => "Art. 9(2)(e)",
                SpecialCondition::LegalClaims => "Art. 9(2)(f)",
                SpecialCondition::SubstantialPublicInterest => "Art. 9(2)(g)",
                SpecialCondition::HealthOrSocialCare => "Art. 9(2)(h)",
                SpecialCondition::PublicHealth => "Art. 9(2)(i)",
                SpecialCondition::ArchivingResearchStatistics => "Art. 9(2)(j)",
                SpecialCondition::Controller => "Art. 9(2), 28(3)(a)",
            },
            Reason::SpecialCategoryCondition {
                condition: SpecialCategoryGround::Article10(_),
                ..
            } => "Art. 10",
            Reason::ProcessingInEea { .. } => "Art. 44",
            Reason::Transfer(transfer) => match transfer.mechanism {
                TransferMechanism::Adequacy(_) | TransferMechanism::Dpf => "Art. 45",
                TransferMechanism::Bcr { .. } => "Art. 46(2)(b), 47",
                TransferMechanism::Scc { .. } => "Art. 46(2)(c)",
                TransferMechanism::CodeOfConduct { .. } => "Art. 46(2)(e)",
                TransferMechanism::Certification { .. } => "Art. 46(2)(f)",
                TransferMechanism::WithinEea => "Art. 44",
                TransferMechanism::None => "Art. 44-46",
            },
            Reason::ConsentRequired { .. } => "Art. 6(1)(a), 7, 8",
            Reason::NoObjectionRequired {
                direct_marketing: true,
                ..
            } => "Art. 21(2),(3)",
            Reason::NoObjectionRequired { .. } => "Art. 21(1)",
        }
    }

    /// The manifest clause behind the reason, where there is one.
    pub fn source(&self) -> Option<&str> {
        match self {
            Reason::NoLegalBasis { source, .. }
            | Reason::CategoryNotDeclared { source, .. }
            | Reason::SpecialCategoryWithoutCondition { source, .. }
            | Reason::RecipientNotEngaged { source, .. }
            | Reason::RecipientRetired { source, .. }
            | Reason::NoProcessingAgreement { source, .. }
            | Reason::SubprocessorNotAuthorised { source, .. }
            | Reason::TransferWithoutSafeguard { source, .. }
            | Reason::RetentionExpired { source, .. }
            | Reason::BelowServiceAge { source, .. }
            | Reason::LegalBasis { source, .. }
            | Reason::SpecialCategoryCondition { source, .. }
            | Reason::ProcessingAgreement { source, .. }
            | Reason::ProcessingInEea { source, .. }
            | Reason::LegalObligationExemption { source, .. }
            | Reason::InHouse { source, .. }
            | Reason::EngagementCondition { source, .. } => Some(source),
            Reason::Transfer(transfer) => Some(&transfer.source),
            _ => None,
        }
    }

    /// A readable explanation naming the ids involved.
    pub fn message(&self) -> String {
        match self {
            Reason::UnknownOrganisation {
                organisation,
                at: None,
            } => {
                format!("organisation {organisation:?} has no registry")
            }
            Reason::UnknownOrganisation {
                organisation,
                at: Some(When { at, known_at }),
            } => {
                format!(
                    "organisation {organisation:?} had no registry in force at {at} by what was known at {known_at}: no revision applied by then describes the processing from {at} or earlier"
                )
            }
            Reason::UnknownPurpose { purpose } => {
                format!("purpose {purpose:?} is not in the registry")
            }
            Reason::UnknownCategory { category } => format!(
                "category {category:?} is neither in the default taxonomy nor among the organisation's own"
            ),
            Reason::UnknownRecipient { recipient } => {
                format!("recipient {recipient:?} is not in the registry")
            }
            Reason::NoLegalBasis {
                purpose,
                missing_balancing_test: true,
                ..
            } => format!(
                "purpose {purpose:?} relies on legitimate interests but records no balancing test (the organisation's legitimate_interests_without_test is deny)"
            ),
            Reason::NoLegalBasis { purpose, .. } => {
                format!("purpose {purpose:?} has no legal basis")
            }
            Reason::CategoryNotDeclared {
                purpose, category, ..
            } => format!(
                "category {category:?} is not among the categories declared for purpose {purpose:?}"
            ),
            Reason::SpecialCategoryWithoutCondition {
                purpose,
                category,
                criminal: false,
                ..
            } => format!(
                "category {category:?} is a special category and purpose {purpose:?} records no Art. 9(2) condition"
            ),
            Reason::SpecialCategoryWithoutCondition {
                purpose,
                category,
                criminal: true,
                ..
            } => format!(
                "category {category:?} is criminal-offence data and purpose {purpose:?} records no Art. 10 authorisation"
            ),
            Reason::RecipientNotEngaged {
                purpose,
                recipient,
                why,
                ..
            } => match why {
                NotEngaged::NotForPurpose => {
                    format!("recipient {recipient:?} is not engaged for purpose {purpose:?}")
                }
                NotEngaged::NotForCategory => format!(
                    "recipient {recipient:?} is engaged for purpose {purpose:?} only for other categories"
                ),
            },
            Reason::RecipientRetired {
                recipient,
                via: through,
                ..
            } => format!("recipient {recipient:?}{} is retired", via(through)),
            Reason::NoProcessingAgreement {
                processor,
                via: through,
                day,
                ..
            } => format!(
                "processor {processor:?}{} has no processing agreement in force on {day}",
                via(through)
            ),
            Reason::SubprocessorNotAuthorised {
                subprocessor,
                via: through,
                why,
                ..
            } => match why {
                NotAuthorised::ObjectionWindowOpen { ends } => format!(
                    "subprocessor {subprocessor:?}{} is proposed and its objection window runs until {ends}",
                    via(through)
                ),
                NotAuthorised::Retired => {
                    format!("subprocessor {subprocessor:?}{} is retired", via(through))
                }
            },
            Reason::TransferWithoutSafeguard {
                recipient,
                via: through,
                territory,
                day,
                note,
                ..
            } => {
                let mut message = format!(
                    "{recipient:?}{} processes data in {territory}, outside the EEA, with no adequacy decision in force on {day} and no safeguard",
                    via(through)
                );
                if let Some(note) = note {
                    message.push_str(" (");
                    message.push_str(note);
                    message.push(')');
                }
                message
            }
            Reason::ConsentMissing { purpose } => {
                format!("purpose {purpose:?} rests on consent and the subject has given none")
            }
            Reason::ConsentWithdrawn {
                purpose,
                withdrawn_at,
            } => format!("the subject withdrew consent to purpose {purpose:?} at {withdrawn_at}"),
            Reason::BelowConsentAge {
                purpose,
                age,
                threshold,
                country,
            } => format!(
                "purpose {purpose:?} rests on consent and the subject may be {age}, below the age of {threshold} set in {country}, with no parental consent recorded"
            ),
            Reason::BelowServiceAge { age, minimum, .. } => format!(
                "the organisation processes no personal data of anyone under {minimum}, and the subject may be {age}"
            ),
            Reason::ObjectionActive {
                purpose,
                direct_marketing: true,
                objected_at,
            } => format!(
                "purpose {purpose:?} is direct marketing and the subject objected to direct marketing at {objected_at}"
            ),
            Reason::ObjectionActive {
                purpose,
                objected_at,
                ..
            } => format!(
                "the subject objected to purpose {purpose:?} at {objected_at} and no compelling grounds are recorded"
            ),
            Reason::RestrictionActive { purpose } => format!(
                "the subject's data is restricted and purpose {purpose:?} does more than store it"
            ),
            Reason::ErasureRequested {
                purpose,
                verified_at,
            } => format!(
                "the subject's erasure request was verified at {verified_at} and purpose {purpose:?} does not rest on a legal obligation"
            ),
            Reason::RetentionExpired {
                purpose,
                period,
                expired_at,
                ..
            } => format!(
                "purpose {purpose:?} keeps this data for {period} from collection, which ended at {expired_at}"
            ),
            Reason::LegalBasis {
                purpose,
                basis,
                balancing_test,
                ..
            } => match balancing_test {
                Some(test) => format!(
                    "purpose {purpose:?} rests on {} (balancing test: {test})",
                    basis.describe()
                ),
                None if *basis == LegalBasis::LegitimateInterests => format!(
                    "purpose {purpose:?} rests on legitimate interests without a recorded balancing test, which the organisation allows with an obligation to record it"
                ),
                None => format!("purpose {purpose:?} rests on {}", basis.describe()),
            },
            Reason::SpecialCategoryCondition {
                purpose,
                category,
                condition,
                ..
            } => match condition {
                SpecialCategoryGround::Article9(SpecialCondition::Controller) => format!(
                    "special category {category:?} is processed for purpose {purpose:?} as a processor, on the controller's own Art. 9(2) condition"
                ),
                SpecialCategoryGround::Article9(condition) => format!(
                    "special category {category:?} is processed for purpose {purpose:?} under Art. {} ({})",
                    condition.point(),
                    condition.describe()
                ),
                SpecialCategoryGround::Article10(authorisation) => format!(
                    "criminal-offence data {category:?} is processed for purpose {purpose:?} as authorised by {authorisation}"
                ),
            },
            Reason::ProcessingAgreement {
                processor,
                reference,
                ..
            } => format!("processor {processor:?} is bound by processing agreement {reference:?}"),
            Reason::ProcessingInEea {
                recipient,
                chain: true,
                ..
            } => format!(
                "{recipient:?} and the processors it sits under process data only within the EEA"
            ),
            Reason::ProcessingInEea { recipient, .. } => {
                format!("{recipient:?} processes data only within the EEA")
            }
            Reason::Transfer(transfer) => format!(
                "{:?} processes data in {}, covered by {}",
                transfer.recipient,
                transfer.territory,
                transfer.mechanism.detail()
            ),
            Reason::ConsentGiven {
                purpose,
                given_at,
                notice_version,
            } => match notice_version {
                Some(version) => format!(
                    "the subject consented to purpose {purpose:?} at {given_at} (notice {version})"
                ),
                None => format!("the subject consented to purpose {purpose:?} at {given_at}"),
            },
            Reason::ParentalConsent { purpose, threshold } => format!(
                "the subject is under {threshold}; consent to purpose {purpose:?} was given or authorised by the holder of parental responsibility"
            ),
            Reason::CompellingGrounds { purpose, grounds } => format!(
                "the subject objected to purpose {purpose:?}; compelling legitimate grounds are recorded: {grounds}"
            ),
            Reason::StorageOnly { purpose } => {
                format!("the subject's data is restricted and purpose {purpose:?} only stores it")
            }
            Reason::LegalObligationExemption { purpose, .. } => format!(
                "the subject's erasure request does not reach purpose {purpose:?}, which rests on a legal obligation"
            ),
            Reason::InHouse { organisation, .. } => {
                format!("{organisation:?} processes the data itself; no recipient receives it")
            }
            Reason::ConsentRequired {
                purpose,
                unless: Some(condition),
                age_threshold,
                country,
                ..
            } => format!(
                "purpose {purpose:?} rests on the subject's consent unless {condition:?} holds (assert it in satisfied_conditions): the consent must be on record, and below {age_threshold} ({country}) that of the holder of parental responsibility"
            ),
            Reason::ConsentRequired {
                purpose,
                explicit,
                age_threshold,
                country,
                unless: None,
            } => format!(
                "purpose {purpose:?} rests on {} consent: the subject's consent must be on record, and below {age_threshold} ({country}) that of the holder of parental responsibility",
                if *explicit {
                    "explicit"
                } else {
                    "the subject's"
                }
            ),
            Reason::NoObjectionRequired {
                purpose,
                direct_marketing: true,
            } => format!(
                "purpose {purpose:?} is direct marketing: the subject must not have objected to it"
            ),
            Reason::NoObjectionRequired { purpose, .. } => format!(
                "purpose {purpose:?} rests on public task or legitimate interests: the subject must not have objected under Art. 21(1) without compelling grounds recorded"
            ),
            Reason::EngagementCondition {
                recipient,
                condition,
                description,
                ..
            } => format!(
                "recipient {recipient:?} is engaged only where {condition:?} holds: {description}"
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObligationCode {
    EraseBy,
    EraseAfterEvent,
    RecordBalancingTest,
}

/// Something the caller must do when it goes ahead.
#[derive(Clone, Debug, PartialEq)]
pub struct Obligation {
    pub duty: Duty,
    pub source: Arc<str>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Duty {
    /// Erase or anonymise the data a retention period after an event; `due` when the event
    /// is the collection and its moment is known.
    Erase {
        period: Period,
        from: RetentionEvent,
        due: Option<Timestamp>,
    },
    /// Record the balancing test of a purpose on legitimate interests, which the
    /// organisation lets Check allow before it is recorded.
    RecordBalancingTest { purpose: Arc<str> },
}

impl Obligation {
    pub fn code(&self) -> ObligationCode {
        match self.duty {
            Duty::Erase { due: Some(_), .. } => ObligationCode::EraseBy,
            Duty::Erase { due: None, .. } => ObligationCode::EraseAfterEvent,
            Duty::RecordBalancingTest { .. } => ObligationCode::RecordBalancingTest,
        }
    }

    pub fn article(&self) -> &'static str {
        match self.duty {
            Duty::Erase { .. } => "Art. 5(1)(e)",
            Duty::RecordBalancingTest { .. } => "Art. 5(2), 6(1)(f)",
        }
    }

    /// The erasure's due moment, if it has one.
    pub fn due(&self) -> Option<Timestamp> {
        match self.duty {
            Duty::Erase { due, .. } => due,
            Duty::RecordBalancingTest { .. } => None,
        }
    }

    pub fn message(&self) -> String {
        match &self.duty {
            Duty::Erase {
                period,
                due: Some(due),
                ..
            } => format!("erase or anonymise the data by {due} ({period} after collection)"),
            Duty::Erase {
                period,
                from,
                due: None,
            } if period.is_zero() => {
                format!("erase or anonymise the data upon {}", from.describe())
            }
            Duty::Erase {
                period,
                from,
                due: None,
            } => format!(
                "erase or anonymise the data {period} after {}",
                from.describe()
            ),
            Duty::RecordBalancingTest { purpose } => format!(
                "record the balancing test of purpose {purpose:?}: the organisation allows legitimate interests before it is recorded (legitimate_interests_without_test: allow_with_obligation), and must be able to show it"
            ),
        }
    }
}

/// The whole answer to one question.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub obligations: Vec<Obligation>,
    pub transfers: Vec<Transfer>,
    /// The registry revision decided on; 0 when the organisation is unknown.
    pub revision: u64,
    /// When that revision was applied and since when it describes the processing.
    pub revision_times: Option<RevisionTimes>,
    /// The question's two times, for an answer from the catalog.
    pub asked: Option<When>,
}

/// A revision's transaction time (`applied_at`) and valid time (`effective_from`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevisionTimes {
    pub applied_at: Timestamp,
    pub effective_from: Timestamp,
}

/// Which revision a question is answered from, by its two times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    /// Valid time: the moment the question is about.
    pub at: Timestamp,
    /// Transaction time: only what was applied by then counts ("what would purposed have
    /// answered at `known_at`").
    pub known_at: Timestamp,
}

impl When {
    /// A question about now, with what is known now.
    pub fn now(now: Timestamp) -> When {
        When {
            at: now,
            known_at: now,
        }
    }
}

impl Outcome {
    pub fn from_reasons(
        reasons: Vec<Reason>,
        obligations: Vec<Obligation>,
        transfers: Vec<Transfer>,
        revision: u64,
    ) -> Outcome {
        let decision = Decision::from_reasons(&reasons);
        Outcome {
            decision,
            obligations: if decision == Decision::Deny {
                Vec::new()
            } else {
                obligations
            },
            reasons,
            transfers,
            revision,
            revision_times: None,
            asked: None,
        }
    }
}
