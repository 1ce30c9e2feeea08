//! RightsService requests.

use super::fields::{self, MAX_FILTER_VALUES, MAX_REQUEST_PURPOSES, MAX_TEXT_BYTES, Violations};
use crate::{
    app::{Limits, ListInput, RequestInput, TransitionInput},
    error::Error,
    grpc::wire,
    proto,
};

/// One rights request of an organisation, by the caller's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOf {
    pub organisation: String,
    pub request_id: String,
}

/// A page of an organisation's requests: the filters, the key to continue after, the size.
#[derive(Clone, Debug)]
pub struct RequestsPage {
    pub organisation: String,
    pub filters: ListInput,
    pub after: Option<u64>,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct Extension {
    pub of: RequestOf,
    /// One or two further months (Art. 12(3)).
    pub months: i8,
    pub reason: String,
    pub actor: String,
}

/// A page of an organisation's tasks, of one request when given.
#[derive(Clone, Debug)]
pub struct TasksPage {
    pub organisation: String,
    pub request_id: Option<String>,
    pub open_only: bool,
    pub after: Option<u64>,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct TaskCompletion {
    pub organisation: String,
    pub task_id: u64,
    pub actor: String,
    pub note: Option<String>,
}

/// Where a watcher starts: after this event id (0 for the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsAfter {
    pub organisation: String,
    pub after_event_id: u64,
}

fn request_of(violations: &mut Violations, organisation: String, request_id: String) -> RequestOf {
    violations.id("organisation", &organisation);
    violations.request_id("request_id", &request_id);
    RequestOf {
        organisation,
        request_id,
    }
}

pub fn submit_rights_request(
    request: proto::SubmitRightsRequestRequest,
    _: &Limits,
) -> Result<RequestInput, Error> {
    let mut violations = Violations::default();
    let of = request_of(&mut violations, request.organisation, request.request_id);
    let kind = violations
        .required::<proto::RightsRequestType>("type", request.r#type)
        .and_then(wire::request_kind_from);
    violations.required_subject("subject", &request.subject);
    let received_at = violations.timestamp("received_at", request.received_at.as_ref());
    if violations.at_most("purposes", request.purposes.len(), MAX_REQUEST_PURPOSES) {
        for (index, purpose) in request.purposes.iter().enumerate() {
            violations.id(&format!("purposes[{index}]"), purpose);
        }
    }
    let details = violations.text("details", request.details, MAX_TEXT_BYTES);
    let actor = violations.actor("actor", request.actor);
    let kind = violations.into_required(kind, "type")?;
    Ok(RequestInput {
        organisation: of.organisation,
        request_id: of.request_id,
        kind,
        subject: request.subject,
        received_at,
        purposes: fields::fold_repeats(request.purposes),
        direct_marketing: request.direct_marketing,
        details,
        actor,
    })
}

pub fn get_rights_request(
    request: proto::GetRightsRequestRequest,
    _: &Limits,
) -> Result<RequestOf, Error> {
    let mut violations = Violations::default();
    let of = request_of(&mut violations, request.organisation, request.request_id);
    violations.into_result(of)
}

pub fn list_rights_requests(
    request: proto::ListRightsRequestsRequest,
    _: &Limits,
) -> Result<RequestsPage, Error> {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let mut statuses = Vec::new();
    if violations.at_most("statuses", request.statuses.len(), MAX_FILTER_VALUES) {
        for (index, value) in request.statuses.iter().enumerate() {
            statuses.extend(
                violations
                    .required::<proto::RightsRequestStatus>(&format!("statuses[{index}]"), *value)
                    .and_then(wire::status_from),
            );
        }
    }
    let mut kinds = Vec::new();
    if violations.at_most("types", request.types.len(), MAX_FILTER_VALUES) {
        for (index, value) in request.types.iter().enumerate() {
            kinds.extend(
                violations
                    .required::<proto::RightsRequestType>(&format!("types[{index}]"), *value)
                    .and_then(wire::request_kind_from),
            );
        }
    }
    let due_before = violations.date("due_before", &request.due_before);
    let (size, after) = fields::page_key(&mut violations, request.page_size, &request.page_token);
    violations.into_result(RequestsPage {
        organisation: request.organisation,
        filters: ListInput {
            statuses: fields::fold_repeats(statuses),
            kinds: fields::fold_repeats(kinds),
            overdue: request.overdue,
            due_before,
        },
        after,
        size,
    })
}

pub fn transition_rights_request(
    request: proto::TransitionRightsRequestRequest,
    _: &Limits,
) -> Result<TransitionInput, Error> {
    let mut violations = Violations::default();
    let of = request_of(&mut violations, request.organisation, request.request_id);
    let status = violations
        .required::<proto::RightsRequestStatus>("status", request.status)
        .and_then(wire::status_from);
    let rejection_reason = violations
        .enumeration::<proto::RejectionReason>("rejection_reason", request.rejection_reason)
        .and_then(wire::rejection_reason_from);
    let actor = violations.actor("actor", request.actor);
    let note = violations.text("note", request.note, MAX_TEXT_BYTES);
    let status = violations.into_required(status, "status")?;
    Ok(TransitionInput {
        organisation: of.organisation,
        request_id: of.request_id,
        status,
        actor,
        note,
        rejection_reason,
    })
}

pub fn extend_rights_request(
    request: proto::ExtendRightsRequestRequest,
    _: &Limits,
) -> Result<Extension, Error> {
    let mut violations = Violations::default();
    let of = request_of(&mut violations, request.organisation, request.request_id);
    let months = match request.months {
        1 | 2 => request.months as i8,
        _ => {
            violations.add("months", "one or two further months (Art. 12(3))");
            0
        }
    };
    let reason = violations.text("reason", request.reason, MAX_TEXT_BYTES);
    if reason.is_none() {
        violations.add(
            "reason",
            "must state why; the subject must be told (Art. 12(3))",
        );
    }
    let actor = violations.actor("actor", request.actor);
    let reason = violations.into_required(reason, "reason")?;
    Ok(Extension {
        of,
        months,
        reason,
        actor,
    })
}

pub fn list_rights_tasks(
    request: proto::ListRightsTasksRequest,
    _: &Limits,
) -> Result<TasksPage, Error> {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    if !request.request_id.is_empty() {
        violations.request_id("request_id", &request.request_id);
    }
    let (size, after) = fields::page_key(&mut violations, request.page_size, &request.page_token);
    violations.into_result(TasksPage {
        organisation: request.organisation,
        request_id: (!request.request_id.is_empty()).then_some(request.request_id),
        open_only: request.open_only,
        after,
        size,
    })
}

pub fn complete_rights_task(
    request: proto::CompleteRightsTaskRequest,
    _: &Limits,
) -> Result<TaskCompletion, Error> {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.task_id("task_id", request.task_id);
    let actor = violations.actor("actor", request.actor);
    let note = violations.text("note", request.note, MAX_TEXT_BYTES);
    violations.into_result(TaskCompletion {
        organisation: request.organisation,
        task_id: request.task_id,
        actor,
        note,
    })
}

pub fn get_access_report(
    request: proto::GetAccessReportRequest,
    _: &Limits,
) -> Result<RequestOf, Error> {
    let mut violations = Violations::default();
    let of = request_of(&mut violations, request.organisation, request.request_id);
    violations.into_result(of)
}

pub fn watch_rights_events(
    request: proto::WatchRightsEventsRequest,
    _: &Limits,
) -> Result<EventsAfter, Error> {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.into_result(EventsAfter {
        organisation: request.organisation,
        after_event_id: request.after_event_id,
    })
}
