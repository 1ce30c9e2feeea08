use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use super::{
    Ready, authenticated,
    convert::{self, MAX_FILTER_VALUES, MAX_REQUEST_PURPOSES, MAX_TEXT_BYTES, Violations},
};
use crate::{
    app::{App, ListInput, RequestInput, TransitionInput},
    auth::Scope,
    domain::{engine::CompiledPolicy, rights::RequestRecord},
    proto,
};

pub struct RightsApi {
    ready: Ready,
}

impl RightsApi {
    pub fn new(ready: Ready) -> RightsApi {
        RightsApi { ready }
    }
}

/// A request as the caller sees it, judged overdue on the organisation's today.
fn encode(app: &App, request: &RequestRecord) -> Result<proto::RightsRequest, Status> {
    let policy = app.policy(&request.organisation, None)?;
    Ok(encode_with(&policy, request))
}

fn encode_with(policy: &CompiledPolicy, request: &RequestRecord) -> proto::RightsRequest {
    let today = App::today(policy.registry().organisation.country);
    let name = |recipient: &str| {
        policy
            .registry()
            .recipient(recipient)
            .map(|found| found.name.clone())
            .unwrap_or_default()
    };
    convert::rights_request(request, today, &name)
}

fn next_token(next: Option<u64>) -> String {
    next.map(|key| convert::Page::token(&key.to_string()))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl proto::rights_service_server::RightsService for RightsApi {
    async fn submit_rights_request(
        &self,
        request: Request<proto::SubmitRightsRequestRequest>,
    ) -> Result<Response<proto::SubmitRightsRequestResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.request_id("request_id", &request.request_id);
        let kind = violations
            .required::<proto::RightsRequestType>("type", request.r#type)
            .and_then(convert::request_kind);
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
        caller.require(Scope::Rights, &request.organisation)?;
        let outcome = app
            .submit_rights_request(RequestInput {
                organisation: request.organisation,
                request_id: request.request_id,
                kind,
                subject: request.subject,
                received_at,
                purposes: convert::fold_repeats(request.purposes),
                direct_marketing: request.direct_marketing,
                details,
                actor,
            })
            .await?;
        Ok(Response::new(proto::SubmitRightsRequestResponse {
            request: Some(encode(app, &outcome.request)?),
            created: outcome.created,
        }))
    }

    async fn get_rights_request(
        &self,
        request: Request<proto::GetRightsRequestRequest>,
    ) -> Result<Response<proto::GetRightsRequestResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.request_id("request_id", &request.request_id);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let found = app
            .rights_request(&request.organisation, &request.request_id)
            .await?;
        Ok(Response::new(proto::GetRightsRequestResponse {
            request: Some(encode(app, &found)?),
        }))
    }

    async fn list_rights_requests(
        &self,
        request: Request<proto::ListRightsRequestsRequest>,
    ) -> Result<Response<proto::ListRightsRequestsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        let mut statuses = Vec::new();
        if violations.at_most("statuses", request.statuses.len(), MAX_FILTER_VALUES) {
            for (index, value) in request.statuses.iter().enumerate() {
                statuses.extend(
                    violations
                        .required::<proto::RightsRequestStatus>(
                            &format!("statuses[{index}]"),
                            *value,
                        )
                        .and_then(convert::status),
                );
            }
        }
        let mut kinds = Vec::new();
        if violations.at_most("types", request.types.len(), MAX_FILTER_VALUES) {
            for (index, value) in request.types.iter().enumerate() {
                kinds.extend(
                    violations
                        .required::<proto::RightsRequestType>(&format!("types[{index}]"), *value)
                        .and_then(convert::request_kind),
                );
            }
        }
        let (statuses, kinds) = (
            convert::fold_repeats(statuses),
            convert::fold_repeats(kinds),
        );
        let due_before = violations.date("due_before", &request.due_before);
        let (size, after) =
            convert::page_key(&mut violations, request.page_size, &request.page_token);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let filters = ListInput {
            statuses,
            kinds,
            overdue: request.overdue,
            due_before,
        };
        let (requests, next) = app
            .list_rights_requests(&request.organisation, &filters, after, size)
            .await?;
        let policy = app.policy(&request.organisation, None)?;
        Ok(Response::new(proto::ListRightsRequestsResponse {
            requests: requests
                .iter()
                .map(|found| encode_with(&policy, found))
                .collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn transition_rights_request(
        &self,
        request: Request<proto::TransitionRightsRequestRequest>,
    ) -> Result<Response<proto::TransitionRightsRequestResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.request_id("request_id", &request.request_id);
        let status = violations
            .required::<proto::RightsRequestStatus>("status", request.status)
            .and_then(convert::status);
        let rejection_reason = violations
            .enumeration::<proto::RejectionReason>("rejection_reason", request.rejection_reason)
            .and_then(convert::rejection_reason);
        let actor = violations.actor("actor", request.actor);
        let note = violations.text("note", request.note, MAX_TEXT_BYTES);
        let status = violations.into_required(status, "status")?;
        caller.require(Scope::Rights, &request.organisation)?;
        let moved = app
            .transition_rights_request(TransitionInput {
                organisation: request.organisation,
                request_id: request.request_id,
                status,
                actor,
                note,
                rejection_reason,
            })
            .await?;
        Ok(Response::new(proto::TransitionRightsRequestResponse {
            request: Some(encode(app, &moved)?),
        }))
    }

    async fn extend_rights_request(
        &self,
        request: Request<proto::ExtendRightsRequestRequest>,
    ) -> Result<Response<proto::ExtendRightsRequestResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.request_id("request_id", &request.request_id);
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
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let extended = app
            .extend_rights_request(
                &request.organisation,
                &request.request_id,
                months,
                reason.as_deref().unwrap_or_default(),
                &actor,
            )
            .await?;
        Ok(Response::new(proto::ExtendRightsRequestResponse {
            request: Some(encode(app, &extended)?),
        }))
    }

    async fn list_rights_tasks(
        &self,
        request: Request<proto::ListRightsTasksRequest>,
    ) -> Result<Response<proto::ListRightsTasksResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        if !request.request_id.is_empty() {
            violations.request_id("request_id", &request.request_id);
        }
        let (size, after) =
            convert::page_key(&mut violations, request.page_size, &request.page_token);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let request_id = (!request.request_id.is_empty()).then_some(request.request_id.as_str());
        let (tasks, next) = app
            .list_rights_tasks(
                &request.organisation,
                request_id,
                request.open_only,
                after,
                size,
            )
            .await?;
        let policy = app.policy(&request.organisation, None)?;
        Ok(Response::new(proto::ListRightsTasksResponse {
            tasks: tasks
                .iter()
                .map(|task| {
                    let name = policy
                        .registry()
                        .recipient(&task.recipient)
                        .map(|found| found.name.clone())
                        .unwrap_or_default();
                    convert::rights_task(&request.organisation, task, &name)
                })
                .collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn complete_rights_task(
        &self,
        request: Request<proto::CompleteRightsTaskRequest>,
    ) -> Result<Response<proto::CompleteRightsTaskResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.task_id("task_id", request.task_id);
        let actor = violations.actor("actor", request.actor);
        let note = violations.text("note", request.note, MAX_TEXT_BYTES);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let (task, parent) = app
            .complete_rights_task(&request.organisation, request.task_id, &actor, note)
            .await?;
        let encoded = encode(app, &parent)?;
        let task = encoded
            .tasks
            .iter()
            .find(|candidate| candidate.id == task.id)
            .cloned();
        Ok(Response::new(proto::CompleteRightsTaskResponse {
            task,
            request: Some(encoded),
        }))
    }

    async fn get_access_report(
        &self,
        request: Request<proto::GetAccessReportRequest>,
    ) -> Result<Response<proto::GetAccessReportResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.request_id("request_id", &request.request_id);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let (found, policy, report) = app
            .access_report(&request.organisation, &request.request_id)
            .await?;
        Ok(Response::new(proto::GetAccessReportResponse {
            report: Some(convert::access_report(
                &policy.registry().organisation,
                policy.info(),
                found.subject,
                &report,
            )),
        }))
    }

    type WatchRightsEventsStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = Result<proto::WatchRightsEventsResponse, Status>>
                + Send,
        >,
    >;

    async fn watch_rights_events(
        &self,
        request: Request<proto::WatchRightsEventsRequest>,
    ) -> Result<Response<Self::WatchRightsEventsStream>, Status> {
        let app: Arc<App> = self.ready.get()?.clone();
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.into_result(())?;
        caller.require(Scope::Rights, &request.organisation)?;
        let organisation = request.organisation.clone();
        let events = app
            .watch_rights_events(
                &request.organisation,
                request.after_event_id,
                caller.valid_until(),
            )
            .await?;
        let stream = events.map(move |event| {
            event
                .map(|event| proto::WatchRightsEventsResponse {
                    event: Some(convert::rights_event(&organisation, &event)),
                })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
