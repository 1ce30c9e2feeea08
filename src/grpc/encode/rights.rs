//! RightsService answers.

use super::{contact, decision::transfer};
use crate::{
    domain::{
        access::AccessReport,
        engine::RevisionInfo,
        policy::{LegalBasis, Organisation},
        pseudonym::SubjectRef,
        rights::{EventRecord, PurposeNote, RequestRecord, TaskRecord},
        text::Language,
    },
    grpc::wire,
    proto,
};

pub fn rights_event(organisation: &str, event: &EventRecord) -> proto::RightsEvent {
    proto::RightsEvent {
        id: event.id,
        organisation: organisation.to_owned(),
        request_id: event.request_id.clone(),
        kind: wire::event_kind(event.kind).into(),
        status: wire::status(event.status).into(),
        task_id: event.task_id.unwrap_or_default(),
        recipient: event.recipient.clone().unwrap_or_default(),
        at: Some(wire::timestamp(event.at)),
        actor: event.actor.clone(),
        note: event.note.clone().unwrap_or_default(),
    }
}

pub fn rights_task(
    organisation: &str,
    task: &TaskRecord,
    recipient_name: &str,
) -> proto::RightsTask {
    proto::RightsTask {
        id: task.id,
        organisation: organisation.to_owned(),
        request_id: task.request_id.clone(),
        r#type: wire::request_kind(task.kind).into(),
        recipient: task.recipient.clone(),
        recipient_name: recipient_name.to_owned(),
        purposes: task.purposes.clone(),
        subject_ref: task.subject.to_hex(),
        status: wire::task_status(task.status).into(),
        created_at: Some(wire::timestamp(task.created_at)),
        completed_at: task.completed_at.map(wire::timestamp),
        completed_by: task.completed_by.clone().unwrap_or_default(),
        note: task.note.clone().unwrap_or_default(),
    }
}

fn purpose_note(note: &PurposeNote) -> proto::PurposeNote {
    proto::PurposeNote {
        purpose: note.purpose.clone(),
        reason: note.reason.clone(),
        article: note.article.clone(),
    }
}

/// A request as the caller sees it; `today` decides whether it is overdue and `name` finds
/// recipients' names.
pub fn rights_request(
    request: &RequestRecord,
    today: jiff::civil::Date,
    name: &dyn Fn(&str) -> String,
) -> proto::RightsRequest {
    let date = |day: Option<jiff::civil::Date>| day.map(|day| day.to_string()).unwrap_or_default();
    proto::RightsRequest {
        organisation: request.organisation.clone(),
        request_id: request.request_id.clone(),
        r#type: wire::request_kind(request.kind).into(),
        subject_ref: request.subject.to_hex(),
        received_at: Some(wire::timestamp(request.received_at)),
        status: wire::status(request.status).into(),
        clock_started_on: date(request.clock.started_on),
        due_on: date(request.due_on),
        first_due_on: date(request.first_due_on),
        extension_months: u32::try_from(request.clock.extension_months).unwrap_or_default(),
        extension_reason: request.extension_reason.clone().unwrap_or_default(),
        overdue: request.overdue(today),
        purposes: request.purposes.clone(),
        direct_marketing: request.direct_marketing,
        details: request.details.clone().unwrap_or_default(),
        rejection_reason: request
            .rejection_reason
            .map_or(proto::RejectionReason::Unspecified, wire::rejection_reason)
            .into(),
        events: request
            .events
            .iter()
            .map(|event| rights_event(&request.organisation, event))
            .collect(),
        tasks: request
            .tasks
            .iter()
            .map(|task| rights_task(&request.organisation, task, &name(&task.recipient)))
            .collect(),
        retained: request.retained.iter().map(purpose_note).collect(),
        portable: request.portable.iter().map(purpose_note).collect(),
    }
}

pub fn access_report(
    organisation: &Organisation,
    info: &RevisionInfo,
    subject: SubjectRef,
    report: &AccessReport,
    language: Option<Language>,
) -> proto::AccessReport {
    proto::AccessReport {
        organisation: organisation.id.clone(),
        controller: organisation.legal_name.clone(),
        dpo: organisation.dpo.as_ref().map(contact),
        revision: info.number,
        generated_at: Some(wire::timestamp(jiff::Timestamp::now())),
        subject_ref: subject.to_hex(),
        purposes: report
            .purposes
            .iter()
            .map(|entry| {
                let encoded = super::registry::purpose(&entry.purpose, language);
                proto::AccessPurpose {
                    id: encoded.id,
                    name: encoded.name,
                    description: encoded.description,
                    legal_basis: encoded.legal_basis,
                    legal_basis_article: entry
                        .purpose
                        .legal_basis
                        .map(LegalBasis::article)
                        .unwrap_or_default()
                        .to_owned(),
                    categories: entry
                        .categories
                        .iter()
                        .map(|(key, name)| proto::AccessCategory {
                            key: key.clone(),
                            name: name.clone(),
                        })
                        .collect(),
                    recipients: entry
                        .recipients
                        .iter()
                        .map(|recipient| proto::AccessRecipient {
                            id: recipient.recipient.id.clone(),
                            name: recipient.recipient.name.in_language(language).to_owned(),
                            kind: wire::recipient_kind(recipient.recipient.kind).into(),
                            locations: recipient.transfers.iter().map(transfer).collect(),
                        })
                        .collect(),
                    retention: encoded.retention,
                    data_sources: encoded.data_sources,
                    source: encoded.source,
                }
            })
            .collect(),
        rights: report
            .rights
            .iter()
            .map(|right| proto::SubjectRight {
                r#type: wire::request_kind(right.kind).into(),
                article: right.kind.article().to_owned(),
                description: right.description.clone(),
                purposes: right.purposes.clone(),
            })
            .collect(),
        complaint: "the right to lodge a complaint with a supervisory authority (Art. 77)".to_owned(),
        automated_decision_making: "no automated decision-making, including profiling, is recorded for these purposes (Art. 22)".to_owned(),
    }
}
