//! The Art. 15(1) information an access request receives, composed from the registry and
//! the subject's state.

use jiff::civil::Date;

use super::{
    decision::Transfer,
    engine::CompiledPolicy,
    policy::{LegalBasis, Purpose, Recipient},
    rights::{RequestKind, applicable_purposes},
    subject::SubjectState,
};

#[derive(Clone, Debug)]
pub struct AccessRecipient {
    pub recipient: Recipient,
    /// Each location with the mechanism covering it (Art. 15(1)(c), 15(2)).
    pub transfers: Vec<Transfer>,
}

#[derive(Clone, Debug)]
pub struct AccessPurpose {
    pub purpose: Purpose,
    /// Category keys with their names (Art. 15(1)(b)).
    pub categories: Vec<(String, String)>,
    pub recipients: Vec<AccessRecipient>,
}

#[derive(Clone, Debug)]
pub struct RightInfo {
    pub kind: RequestKind,
    pub description: String,
    /// The purposes it applies to; empty for all.
    pub purposes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct AccessReport {
    pub purposes: Vec<AccessPurpose>,
    pub rights: Vec<RightInfo>,
}

/// Composes the report: the purposes that may hold the subject's data (those on consent only
/// where the subject consented), with their categories, recipients, transfers and retention,
/// and the rights the subject has over them.
pub fn access_report(policy: &CompiledPolicy, subject: &SubjectState, day: Date) -> AccessReport {
    let registry = policy.registry();
    let purposes: Vec<&Purpose> = applicable_purposes(registry, subject).collect();
    let described = purposes
        .iter()
        .map(|purpose| AccessPurpose {
            purpose: (*purpose).clone(),
            categories: purpose
                .categories
                .iter()
                .map(|key| {
                    let name = policy
                        .category(key)
                        .map(|node| node.name.to_string())
                        .unwrap_or_default();
                    (key.clone(), name)
                })
                .collect(),
            recipients: purpose
                .engagements
                .iter()
                .filter_map(|engagement| registry.recipient(&engagement.recipient))
                .map(|recipient| AccessRecipient {
                    recipient: recipient.clone(),
                    transfers: policy.transfers(&recipient.id, day),
                })
                .collect(),
        })
        .collect();

    let ids = |keep: &dyn Fn(&Purpose) -> bool| -> Vec<String> {
        purposes
            .iter()
            .filter(|purpose| keep(purpose))
            .map(|purpose| purpose.id.clone())
            .collect()
    };
    let mut rights = vec![
        RightInfo {
            kind: RequestKind::Access,
            description: "a copy of the personal data and this information (Art. 15)".into(),
            purposes: Vec::new(),
        },
        RightInfo {
            kind: RequestKind::Rectification,
            description: "rectification of inaccurate and completion of incomplete data (Art. 16)".into(),
            purposes: Vec::new(),
        },
        RightInfo {
            kind: RequestKind::Restriction,
            description: "restriction of processing while accuracy or lawfulness is contested, or for legal claims (Art. 18)".into(),
            purposes: Vec::new(),
        },
    ];
    let erasable = ids(&|purpose| purpose.legal_basis != Some(LegalBasis::LegalObligation));
    if !erasable.is_empty() {
        rights.push(RightInfo {
            kind: RequestKind::Erasure,
            description:
                "erasure, except where a legal obligation requires the data to be kept (Art. 17)"
                    .into(),
            purposes: erasable,
        });
    }
    let portable = ids(&|purpose| {
        matches!(
            purpose.legal_basis,
            Some(LegalBasis::Consent | LegalBasis::Contract)
        )
    });
    if !portable.is_empty() {
        rights.push(RightInfo {
            kind: RequestKind::Portability,
            description: "the data provided, in a structured, machine-readable format (Art. 20)"
                .into(),
            purposes: portable,
        });
    }
    let objectionable = ids(&|purpose| {
        purpose.direct_marketing || purpose.legal_basis.is_some_and(LegalBasis::objectionable)
    });
    if !objectionable.is_empty() {
        rights.push(RightInfo {
            kind: RequestKind::Objection,
            description: "objection: absolute for direct marketing (Art. 21(2),(3)), otherwise on grounds relating to the subject's situation (Art. 21(1))".into(),
            purposes: objectionable,
        });
    }
    let consented = ids(&|purpose| purpose.takes_consent());
    if !consented.is_empty() {
        rights.push(RightInfo {
            kind: RequestKind::WithdrawConsent,
            description: "withdrawal of consent at any time, as easily as it was given (Art. 7(3))"
                .into(),
            purposes: consented,
        });
    }
    AccessReport {
        purposes: described,
        rights,
    }
}
