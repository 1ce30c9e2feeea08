//! RegistryService answers.

use super::contact;
use crate::{
    app::ApplyOutcome,
    domain::{
        Spelling as _,
        diff::DecisionChange,
        engine::{CategoryNode, RevisionInfo},
        geo,
        policy::{CustomCategory, Mechanism, Organisation, Purpose, Recipient, RecipientStatus},
        text::{Language, Localised},
    },
    grpc::wire,
    proto,
};

fn decision_change(change: &DecisionChange) -> proto::DecisionChange {
    proto::DecisionChange {
        purpose: change.purpose.clone(),
        category: change.category.clone(),
        recipient: change.recipient.clone(),
        before: wire::decision(change.before).into(),
        after: wire::decision(change.after).into(),
        after_reasons: change
            .after_reasons
            .iter()
            .map(|code| wire::reason_code(*code).into())
            .collect(),
    }
}

pub fn apply_response(outcome: &ApplyOutcome) -> proto::ApplyManifestResponse {
    proto::ApplyManifestResponse {
        organisation: outcome.organisation.clone(),
        revision: outcome.revision,
        changed: outcome.changed,
        decision_changes: outcome
            .decision_changes
            .iter()
            .map(decision_change)
            .collect(),
        decision_changes_truncated: outcome.decision_changes_truncated,
        warnings: outcome.warnings.iter().map(ToString::to_string).collect(),
        applied_at: outcome.times.map(|times| wire::timestamp(times.applied_at)),
        effective_from: outcome
            .times
            .map(|times| wire::timestamp(times.effective_from)),
    }
}

pub fn organisation(organisation: &Organisation, info: &RevisionInfo) -> proto::Organisation {
    proto::Organisation {
        id: organisation.id.clone(),
        legal_name: organisation.legal_name.clone(),
        registration_number: organisation.registration_number.clone().unwrap_or_default(),
        country: organisation.country.to_string(),
        role: wire::organisation_role(organisation.role).into(),
        dpo: organisation.dpo.as_ref().map(contact),
        source: organisation.source.clone(),
        minimum_age: organisation
            .minimum_age
            .as_ref()
            .map_or(0, |minimum| u32::from(minimum.years)),
        minimum_age_source: organisation
            .minimum_age
            .as_ref()
            .map(|minimum| minimum.source.clone())
            .unwrap_or_default(),
        revision: info.number,
        applied_at: Some(wire::timestamp(info.applied_at)),
        legitimate_interests_without_test: organisation.untested_interests.as_str().to_owned(),
        effective_from: Some(wire::timestamp(info.effective_from)),
        language: organisation
            .language
            .map(|language| language.to_string())
            .unwrap_or_default(),
        address: organisation
            .accountability
            .address
            .clone()
            .unwrap_or_default(),
        supervisory_authority: match &organisation.accountability.supervisory_authority {
            Some(named) => Some(proto::SupervisoryAuthority {
                name: named.name.clone(),
                address: named.address.clone().unwrap_or_default(),
                website: named.website.clone().unwrap_or_default(),
                source: named.source.clone(),
                built_in: false,
            }),
            None => geo::supervisory_authority(organisation.country).map(|authority| {
                proto::SupervisoryAuthority {
                    name: authority.name.to_owned(),
                    address: String::new(),
                    website: authority.website.to_owned(),
                    source: String::new(),
                    built_in: true,
                }
            }),
        },
        reviewed_on: organisation
            .accountability
            .reviewed_on
            .map(|date| date.to_string())
            .unwrap_or_default(),
    }
}

/// A category; `own` is the organisation's entry for it, whose name may be asked for in a
/// language.
pub fn category(
    node: &CategoryNode,
    parent: Option<&CategoryNode>,
    own: Option<&CustomCategory>,
    language: Option<Language>,
) -> proto::Category {
    proto::Category {
        key: node.key.to_string(),
        name: own.map_or_else(|| node.name.to_string(), |own| shown(&own.name, language)),
        parent: parent
            .map(|parent| parent.key.to_string())
            .unwrap_or_default(),
        sensitivity: wire::sensitivity(node.sensitivity).into(),
        dpv: node.dpv.as_deref().unwrap_or_default().to_owned(),
        builtin: node.builtin,
        source: node.source.as_deref().unwrap_or_default().to_owned(),
    }
}

fn mechanism(mechanism: Mechanism) -> proto::TransferMechanism {
    match mechanism {
        Mechanism::Scc { .. } => proto::TransferMechanism::Scc,
        Mechanism::Bcr => proto::TransferMechanism::Bcr,
        Mechanism::CodeOfConduct => proto::TransferMechanism::CodeOfConduct,
        Mechanism::Certification => proto::TransferMechanism::Certification,
        Mechanism::Dpf => proto::TransferMechanism::Dpf,
    }
}

/// A text in the language asked for, or the default's.
fn shown(text: &Localised, language: Option<Language>) -> String {
    text.in_language(language).to_owned()
}

fn shown_or_empty(text: Option<&Localised>, language: Option<Language>) -> String {
    text.map(|text| shown(text, language)).unwrap_or_default()
}

pub fn recipient(recipient: &Recipient, language: Option<Language>) -> proto::Recipient {
    proto::Recipient {
        id: recipient.id.clone(),
        name: shown(&recipient.name, language),
        kind: wire::recipient_kind(recipient.kind).into(),
        parent: recipient.parent.clone().unwrap_or_default(),
        locations: recipient
            .locations
            .iter()
            .map(ToString::to_string)
            .collect(),
        agreements: recipient
            .agreements
            .iter()
            .map(|agreement| proto::ProcessingAgreement {
                reference: agreement.reference.clone(),
                effective_from: agreement
                    .effective_from
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
                effective_to: agreement
                    .effective_to
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
                source: agreement.source.clone(),
            })
            .collect(),
        safeguards: recipient
            .safeguards
            .iter()
            .map(|safeguard| proto::Safeguard {
                mechanism: mechanism(safeguard.mechanism).into(),
                scc_module: safeguard.mechanism.scc_module().map_or(0, u32::from),
                countries: safeguard
                    .countries
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                reference: safeguard.reference.clone().unwrap_or_default(),
                source: safeguard.source.clone(),
            })
            .collect(),
        status: match recipient.status {
            RecipientStatus::Active => proto::RecipientStatus::Active,
            RecipientStatus::Proposed { .. } => proto::RecipientStatus::Proposed,
            RecipientStatus::Retired => proto::RecipientStatus::Retired,
        }
        .into(),
        objection_window_ends: recipient
            .status
            .objection_window_ends()
            .map(|date| date.to_string())
            .unwrap_or_default(),
        description: shown_or_empty(recipient.description.as_ref(), language),
        registration_number: recipient.registration_number.clone().unwrap_or_default(),
        address: recipient.address.clone().unwrap_or_default(),
        source: recipient.source.clone(),
        data_processed: shown_or_empty(recipient.data_processed.as_ref(), language),
        arrangement: shown_or_empty(
            recipient
                .arrangement
                .as_ref()
                .map(|arrangement| &arrangement.essence),
            language,
        ),
    }
}

pub fn purpose(purpose: &Purpose, language: Option<Language>) -> proto::Purpose {
    proto::Purpose {
        id: purpose.id.clone(),
        name: shown(&purpose.name, language),
        description: shown_or_empty(purpose.description.as_ref(), language),
        legal_basis: purpose
            .legal_basis
            .map_or(proto::LegalBasis::Unspecified, wire::legal_basis)
            .into(),
        balancing_test: purpose.balancing_test.clone().unwrap_or_default(),
        legitimate_interest: purpose.legitimate_interest.clone().unwrap_or_default(),
        legal_basis_source: purpose.legal_basis_source.clone().unwrap_or_default(),
        special_category_condition: purpose
            .special_condition
            .map(|condition| condition.point().to_owned())
            .unwrap_or_default(),
        criminal_data_authorisation: purpose
            .criminal_data_authorisation
            .clone()
            .unwrap_or_default(),
        direct_marketing: purpose.direct_marketing,
        storage_only: purpose.storage_only,
        consent_unless: purpose
            .consent_unless
            .as_ref()
            .map(|unless| proto::EngagementCondition {
                id: unless.condition.id.clone(),
                description: unless.condition.description.clone(),
            }),
        legal_basis_qualifier: shown_or_empty(purpose.legal_basis_qualifier.as_ref(), language),
        data_protection: purpose
            .data_protection
            .as_ref()
            .map(|protection| protection.technique.as_str().to_owned())
            .unwrap_or_default(),
        conditional_categories: purpose
            .conditional_categories
            .iter()
            .map(|conditional| proto::ConditionalCategory {
                category: conditional.category.clone(),
                when: shown(&conditional.when, language),
                source: conditional.source.clone(),
            })
            .collect(),
        consent_unless_source: purpose
            .consent_unless
            .as_ref()
            .map(|unless| unless.source.clone())
            .unwrap_or_default(),
        data_subjects: purpose.data_subjects.clone(),
        categories: purpose.categories.clone(),
        engagements: purpose
            .engagements
            .iter()
            .map(|engagement| proto::Engagement {
                recipient: engagement.recipient.clone(),
                categories: engagement.categories.clone(),
                condition: engagement.condition.as_ref().map(|condition| {
                    proto::EngagementCondition {
                        id: condition.id.clone(),
                        description: condition.description.clone(),
                    }
                }),
                source: engagement.source.clone(),
                data_processed: shown_or_empty(engagement.data_processed.as_ref(), language),
            })
            .collect(),
        retention: purpose
            .retention
            .iter()
            .map(|rule| proto::RetentionRule {
                period: rule.period.to_string(),
                counted_from: wire::retention_event(rule.from).into(),
                categories: rule.categories.clone(),
                description: shown_or_empty(rule.description.as_ref(), language),
                source: rule.source.clone(),
            })
            .collect(),
        data_sources: purpose.data_sources.clone(),
        source: purpose.source.clone(),
    }
}

pub fn revision(organisation: &str, info: &RevisionInfo) -> proto::Revision {
    proto::Revision {
        organisation: organisation.to_owned(),
        number: info.number,
        applied_at: Some(wire::timestamp(info.applied_at)),
        manifest_sha256: info.manifest_sha256.clone(),
        effective_from: Some(wire::timestamp(info.effective_from)),
    }
}
