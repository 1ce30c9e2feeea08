//! DecisionService answers.

use crate::{
    app::RecipientOutcome,
    domain::decision::{Duty, Obligation, Outcome, Reason, Transfer, TransferMechanism},
    grpc::wire,
    proto,
};

pub fn reason(reason: &Reason) -> proto::Reason {
    proto::Reason {
        code: wire::reason_code(reason.code()).into(),
        article: reason.article().to_owned(),
        message: reason.message(),
        source: reason.source().unwrap_or_default().to_owned(),
        effect: wire::effect(reason.effect()).into(),
    }
}

fn obligation(obligation: &Obligation) -> proto::Obligation {
    let (retention_period, retention_from) = match &obligation.duty {
        Duty::Erase { period, from, .. } => {
            (period.to_string(), wire::retention_event(*from).into())
        }
        Duty::RecordBalancingTest { .. } => {
            (String::new(), proto::RetentionEvent::Unspecified.into())
        }
    };
    proto::Obligation {
        code: wire::obligation_code(obligation.code()).into(),
        article: obligation.article().to_owned(),
        message: obligation.message(),
        source: obligation.source.to_string(),
        due: obligation.due().map(wire::timestamp),
        retention_period,
        retention_from,
    }
}

fn transfer_mechanism(mechanism: &TransferMechanism) -> proto::TransferMechanism {
    match mechanism {
        TransferMechanism::WithinEea => proto::TransferMechanism::WithinEea,
        TransferMechanism::Adequacy(_) => proto::TransferMechanism::Adequacy,
        TransferMechanism::Dpf => proto::TransferMechanism::Dpf,
        TransferMechanism::Bcr { .. } => proto::TransferMechanism::Bcr,
        TransferMechanism::Scc { .. } => proto::TransferMechanism::Scc,
        TransferMechanism::CodeOfConduct { .. } => proto::TransferMechanism::CodeOfConduct,
        TransferMechanism::Certification { .. } => proto::TransferMechanism::Certification,
        TransferMechanism::None => proto::TransferMechanism::None,
    }
}

pub(super) fn transfer(transfer: &Transfer) -> proto::Transfer {
    proto::Transfer {
        recipient: transfer.recipient.to_string(),
        country: transfer.territory.to_string(),
        mechanism: transfer_mechanism(&transfer.mechanism).into(),
        detail: transfer.mechanism.detail(),
    }
}

pub fn check_response(outcome: &Outcome) -> proto::CheckResponse {
    proto::CheckResponse {
        decision: wire::decision(outcome.decision).into(),
        reasons: outcome.reasons.iter().map(reason).collect(),
        obligations: outcome.obligations.iter().map(obligation).collect(),
        revision: outcome.revision,
        transfers: outcome.transfers.iter().map(transfer).collect(),
        revision_applied_at: outcome
            .revision_times
            .map(|times| wire::timestamp(times.applied_at)),
        revision_effective_from: outcome
            .revision_times
            .map(|times| wire::timestamp(times.effective_from)),
        at: outcome.asked.map(|when| wire::timestamp(when.at)),
        known_at: outcome.asked.map(|when| wire::timestamp(when.known_at)),
    }
}

pub fn recipient_decision(recipient: &RecipientOutcome) -> proto::RecipientDecision {
    proto::RecipientDecision {
        recipient: recipient.recipient.clone(),
        name: recipient.name.clone(),
        decision: wire::decision(recipient.outcome.decision).into(),
        transfers: recipient.outcome.transfers.iter().map(transfer).collect(),
        reasons: recipient.outcome.reasons.iter().map(reason).collect(),
    }
}
