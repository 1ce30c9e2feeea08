//! The domain's enums and instants as the wire spells them. Each pair is listed once; the
//! matches the macro writes are exhaustive, so a variant missing on either side does not
//! compile. To the wire: `wire::<name>(value)`; from it: `wire::<name>_from(value)`, `None`
//! for the wire's UNSPECIFIED.

use prost_types::Timestamp as ProtoTimestamp;

use crate::{
    domain::{
        decision::{Decision, Effect, ObligationCode, ReasonCode},
        document::Kind as DocumentKind,
        policy::{LegalBasis, OrganisationRole, RecipientKind, RetentionEvent},
        review::Severity,
        rights::{EventKind, RejectionReason, RequestKind, Status, TaskStatus},
        subject::ConsentAction,
        taxonomy::Sensitivity,
    },
    proto,
    render::Format as DocumentFormat,
};

/// A domain enum and its wire twin, variant for variant: `=>` writes the way to the wire,
/// `<=>` both ways.
macro_rules! wire_enum {
    ($domain:ident => proto::$wire:ident, $to_wire:ident, [$($variant:ident),* $(,)?]) => {
        pub fn $to_wire(value: $domain) -> proto::$wire {
            match value {
                $($domain::$variant => proto::$wire::$variant,)*
            }
        }
    };
    ($domain:ident <=> proto::$wire:ident, $to_wire:ident, $from_wire:ident, [$($variant:ident),* $(,)?]) => {
        wire_enum!($domain => proto::$wire, $to_wire, [$($variant),*]);

        pub fn $from_wire(value: proto::$wire) -> Option<$domain> {
            match value {
                proto::$wire::Unspecified => None,
                $(proto::$wire::$variant => Some($domain::$variant),)*
            }
        }
    };
}

wire_enum!(Decision => proto::Decision, decision, [Allow, Deny, Conditional]);

wire_enum!(Effect => proto::ReasonEffect, effect, [Allow, Deny, Condition]);

wire_enum!(ObligationCode => proto::ObligationCode, obligation_code, [EraseBy, EraseAfterEvent, RecordBalancingTest]);

wire_enum!(RetentionEvent => proto::RetentionEvent, retention_event, [
    Collection, ContractEnd, AccountDeletion, ConsentWithdrawal, LastActivity,
]);

wire_enum!(OrganisationRole => proto::OrganisationRole, organisation_role, [Controller, Processor]);

wire_enum!(Severity => proto::FindingSeverity, finding_severity, [Error, Warning, Notice]);

wire_enum!(DocumentKind <=> proto::DocumentKind, document_kind, document_kind_from, [
    SubprocessorList, ProcessingRecord,
]);

wire_enum!(DocumentFormat <=> proto::DocumentFormat, document_format, document_format_from, [
    Markdown, Csv, Json, Html, JsonLd,
]);

wire_enum!(Sensitivity <=> proto::Sensitivity, sensitivity, sensitivity_from, [
    Ordinary, Special, Criminal,
]);

wire_enum!(RecipientKind <=> proto::RecipientKind, recipient_kind, recipient_kind_from, [
    Processor, Subprocessor, IndependentController, JointController,
]);

wire_enum!(LegalBasis => proto::LegalBasis, legal_basis, [
    Consent, Contract, LegalObligation, VitalInterests, PublicTask, LegitimateInterests,
    ControllerInstructions,
]);

wire_enum!(ConsentAction <=> proto::ConsentAction, consent_action, consent_action_from, [
    Grant, Withdraw,
]);

wire_enum!(RequestKind <=> proto::RightsRequestType, request_kind, request_kind_from, [
    Access, Rectification, Erasure, Restriction, Portability, Objection, WithdrawConsent,
]);

wire_enum!(Status <=> proto::RightsRequestStatus, status, status_from, [
    Received, IdentityPending, Verified, InProgress, Completed, Rejected, Cancelled,
]);

wire_enum!(RejectionReason <=> proto::RejectionReason, rejection_reason, rejection_reason_from, [
    IdentityNotVerified, ManifestlyUnfounded, Excessive, NotPortable, ErasureException,
    CompellingGrounds,
]);

wire_enum!(EventKind => proto::RightsEventKind, event_kind, [
    Submitted, StatusChanged, Extended, TaskCreated, TaskCompleted,
]);

wire_enum!(TaskStatus => proto::TaskStatus, task_status, [Open, Done]);

macro_rules! wire_reason_codes {
    ($($code:ident => $name:literal,)*) => {
        wire_enum!(ReasonCode => proto::ReasonCode, reason_code, [$($code),*]);
    };
}

crate::domain::decision::with_reason_codes!(wire_reason_codes);

pub fn timestamp(at: jiff::Timestamp) -> ProtoTimestamp {
    ProtoTimestamp {
        seconds: at.as_second(),
        nanos: at.subsec_nanosecond(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_has_a_wire_code() {
        let mut seen = std::collections::HashSet::new();
        for code in ReasonCode::ALL {
            let wire = reason_code(code);
            assert_ne!(wire, proto::ReasonCode::Unspecified);
            assert!(seen.insert(wire), "{code:?} shares its wire code");
            // Deny codes are 1-29, allow codes 30-59, conditions 60-89, as the contract says.
            let number = wire as i32;
            let range = match code.effect() {
                Effect::Deny => 1..30,
                Effect::Allow => 30..60,
                Effect::Condition => 60..90,
            };
            assert!(range.contains(&number), "{code:?} is {number}");
            // The domain's name is the wire's, which the metrics label with.
            assert_eq!(
                proto::ReasonCode::from_str_name(&format!("REASON_CODE_{}", code.name())),
                Some(wire),
                "{code:?}"
            );
        }
        // Every wire code but UNSPECIFIED is one of the domain's.
        let wire_codes = (1..100)
            .filter(|number| proto::ReasonCode::try_from(*number).is_ok())
            .count();
        assert_eq!(wire_codes, ReasonCode::ALL.len());
    }
}
