//! RightsService requests.

use super::fields::{
    self, MAX_FILTER_VALUES, MAX_REQUEST_PURPOSES, MAX_TEXT_BYTES, Violations, parse_all,
};
use crate::domain::text::Language;
use crate::{
    app::{Limits, ListInput, RequestInput, TransitionInput},
    domain::names::{ExtensionMonths, OrganisationId, RequestId, TaskId},
    error::Error,
    grpc::wire,
    proto,
};

/// One rights request of an organisation, by the caller's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOf {
    pub organisation: OrganisationId,
    pub request_id: RequestId,
}

/// A page of an organisation's requests: the filters, the key to continue after, the size.
#[derive(Clone, Debug)]
pub struct RequestsPage {
    pub organisation: OrganisationId,
    pub filters: ListInput,
    pub after: Option<u64>,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct Extension {
    pub of: RequestOf,
    pub months: ExtensionMonths,
    pub reason: String,
    pub actor: String,
}

/// A page of an organisation's tasks, of one request when given.
#[derive(Clone, Debug)]
pub struct TasksPage {
    pub organisation: OrganisationId,
    pub request_id: Option<RequestId>,
    pub open_only: bool,
    pub after: Option<u64>,
    pub size: usize,
}

#[derive(Clone, Debug)]
pub struct TaskCompletion {
    pub organisation: OrganisationId,
    pub task_id: TaskId,
    pub actor: String,
    pub note: Option<String>,
}

/// Where a watcher starts: after this event id (0 for the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsAfter {
    pub organisation: OrganisationId,
    pub after_event_id: u64,
}

fn request_of(
    violations: &mut Violations,
    organisation: String,
    request_id: String,
) -> Option<RequestOf> {
    let organisation = violations.parsed("organisation", organisation);
    let request_id = violations.parsed("request_id", request_id);
    Some(RequestOf {
        organisation: organisation?,
        request_id: request_id?,
    })
}

pub fn submit_rights_request(
    request: proto::SubmitRightsRequestRequest,
    _: &Limits,
) -> Result<RequestInput, Error> {
    parse_all(|violations| {
        let of = request_of(violations, request.organisation, request.request_id);
        let kind = violations
            .required::<proto::RightsRequestType>("type", request.r#type)
            .and_then(wire::request_kind_from);
        let subject = violations.parsed("subject", request.subject);
        let received_at = violations.timestamp("received_at", request.received_at.as_ref());
        let mut purposes = Vec::new();
        if violations.at_most("purposes", request.purposes.len(), MAX_REQUEST_PURPOSES) {
            for (index, purpose) in request.purposes.into_iter().enumerate() {
                purposes.extend(violations.parsed(&format!("purposes[{index}]"), purpose));
            }
        }
        let details = violations.text("details", request.details, MAX_TEXT_BYTES);
        let actor = violations.actor("actor", request.actor);
        let RequestOf {
            organisation,
            request_id,
        } = of?;
        Some(RequestInput {
            organisation,
            request_id,
            kind: kind?,
            subject: subject?,
            received_at,
            purposes: fields::fold_repeats(purposes),
            direct_marketing: request.direct_marketing,
            details,
            actor,
        })
    })
}

pub fn get_rights_request(
    request: proto::GetRightsRequestRequest,
    _: &Limits,
) -> Result<RequestOf, Error> {
    parse_all(|violations| request_of(violations, request.organisation, request.request_id))
}

pub fn list_rights_requests(
    request: proto::ListRightsRequestsRequest,
    _: &Limits,
) -> Result<RequestsPage, Error> {
    parse_all(|violations| {
        let organisation = violations.parsed("organisation", request.organisation);
        let mut statuses = Vec::new();
        if violations.at_most("statuses", request.statuses.len(), MAX_FILTER_VALUES) {
            for (index, value) in request.statuses.iter().enumerate() {
                statuses.extend(
                    violations
                        .required::<proto::RightsRequestStatus>(
                            &format!("statuses[{index}]"),
                            *value,
                        )
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
        let (size, after) = fields::page_key(violations, request.page_size, &request.page_token);
        Some(RequestsPage {
            organisation: organisation?,
            filters: ListInput {
                statuses: fields::fold_repeats(statuses),
                kinds: fields::fold_repeats(kinds),
                overdue: request.overdue,
                due_before,
            },
            after,
            size,
        })
    })
}

pub fn transition_rights_request(
    request: proto::TransitionRightsRequestRequest,
    _: &Limits,
) -> Result<TransitionInput, Error> {
    parse_all(|violations| {
        let of = request_of(violations, request.organisation, request.request_id);
        let status = violations
            .required::<proto::RightsRequestStatus>("status", request.status)
            .and_then(wire::status_from);
        let rejection_reason = violations
            .enumeration::<proto::RejectionReason>("rejection_reason", request.rejection_reason)
            .and_then(wire::rejection_reason_from);
        let actor = violations.actor("actor", request.actor);
        let note = violations.text("note", request.note, MAX_TEXT_BYTES);
        let RequestOf {
            organisation,
            request_id,
        } = of?;
        Some(TransitionInput {
            organisation,
            request_id,
            status: status?,
            actor,
            note,
            rejection_reason,
        })
    })
}

pub fn extend_rights_request(
    request: proto::ExtendRightsRequestRequest,
    _: &Limits,
) -> Result<Extension, Error> {
    parse_all(|violations| {
        let of = request_of(violations, request.organisation, request.request_id);
        let months = violations.parsed("months", request.months);
        let reason = violations.stated(
            "reason",
            request.reason,
            "must state why; the subject must be told (Art. 12(3))",
        );
        let actor = violations.actor("actor", request.actor);
        Some(Extension {
            of: of?,
            months: months?,
            reason: reason?,
            actor,
        })
    })
}

pub fn list_rights_tasks(
    request: proto::ListRightsTasksRequest,
    _: &Limits,
) -> Result<TasksPage, Error> {
    parse_all(|violations| {
        let organisation = violations.parsed("organisation", request.organisation);
        let request_id = if request.request_id.is_empty() {
            Some(None)
        } else {
            violations
                .parsed("request_id", request.request_id)
                .map(Some)
        };
        let (size, after) = fields::page_key(violations, request.page_size, &request.page_token);
        Some(TasksPage {
            organisation: organisation?,
            request_id: request_id?,
            open_only: request.open_only,
            after,
            size,
        })
    })
}

pub fn complete_rights_task(
    request: proto::CompleteRightsTaskRequest,
    _: &Limits,
) -> Result<TaskCompletion, Error> {
    parse_all(|violations| {
        let organisation = violations.parsed("organisation", request.organisation);
        let task_id = violations.parsed("task_id", request.task_id);
        let actor = violations.actor("actor", request.actor);
        let note = violations.text("note", request.note, MAX_TEXT_BYTES);
        Some(TaskCompletion {
            organisation: organisation?,
            task_id: task_id?,
            actor,
            note,
        })
    })
}

/// A verified access request's report, in a language.
#[derive(Clone, Debug)]
pub struct AccessReportOf {
    pub of: RequestOf,
    pub language: Option<Language>,
}

pub fn get_access_report(
    request: proto::GetAccessReportRequest,
    _: &Limits,
) -> Result<AccessReportOf, Error> {
    parse_all(|violations| {
        let language = violations.language("language", request.language);
        let of = request_of(violations, request.organisation, request.request_id);
        Some(AccessReportOf { of: of?, language })
    })
}

pub fn watch_rights_events(
    request: proto::WatchRightsEventsRequest,
    _: &Limits,
) -> Result<EventsAfter, Error> {
    parse_all(|violations| {
        let organisation = violations.parsed("organisation", request.organisation);
        Some(EventsAfter {
            organisation: organisation?,
            after_event_id: request.after_event_id,
        })
    })
}
