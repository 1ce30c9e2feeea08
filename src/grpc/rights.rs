use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use super::{Ready, encode::rights as encode, parse, parse::fields::Page};
use crate::{
    app::{App, Shown},
    domain::{engine::CompiledPolicy, rights::RequestRecord},
    proto,
    server::auth::Scope,
};

pub struct RightsApi {
    ready: Ready,
}

impl RightsApi {
    pub fn new(ready: Ready) -> RightsApi {
        RightsApi { ready }
    }
}

/// A request as the caller sees it, judged overdue on the organisation's today, under the
/// revision the application answered with.
fn encode_with(policy: &CompiledPolicy, request: &RequestRecord) -> proto::RightsRequest {
    let today = App::today(policy.registry().organisation.country);
    let name = |recipient: &str| {
        policy
            .registry()
            .recipient(recipient)
            .map(|found| found.name.text().to_owned())
            .unwrap_or_default()
    };
    encode::rights_request(request, today, &name)
}

fn next_token(next: Option<u64>) -> String {
    next.map(|key| Page::token(&key.to_string()))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl proto::rights_service_server::RightsService for RightsApi {
    async fn submit_rights_request(
        &self,
        request: Request<proto::SubmitRightsRequestRequest>,
    ) -> Result<Response<proto::SubmitRightsRequestResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::rights::submit_rights_request)?;
        caller.require(Scope::Rights, &input.organisation)?;
        let Shown { value, policy } = app.submit_rights_request(input).await?;
        Ok(Response::new(proto::SubmitRightsRequestResponse {
            request: Some(encode_with(&policy, &value.request)),
            created: value.created,
        }))
    }

    async fn get_rights_request(
        &self,
        request: Request<proto::GetRightsRequestRequest>,
    ) -> Result<Response<proto::GetRightsRequestResponse>, Status> {
        let (app, caller, of) = self
            .ready
            .begin(request, parse::rights::get_rights_request)?;
        caller.require(Scope::Rights, &of.organisation)?;
        let Shown { value, policy } = app.rights_request(&of.organisation, &of.request_id).await?;
        Ok(Response::new(proto::GetRightsRequestResponse {
            request: Some(encode_with(&policy, &value)),
        }))
    }

    async fn list_rights_requests(
        &self,
        request: Request<proto::ListRightsRequestsRequest>,
    ) -> Result<Response<proto::ListRightsRequestsResponse>, Status> {
        let (app, caller, page) = self
            .ready
            .begin(request, parse::rights::list_rights_requests)?;
        caller.require(Scope::Rights, &page.organisation)?;
        let Shown {
            value: (requests, next),
            policy,
        } = app
            .list_rights_requests(&page.organisation, &page.filters, page.after, page.size)
            .await?;
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
        let (app, caller, input) = self
            .ready
            .begin(request, parse::rights::transition_rights_request)?;
        caller.require(Scope::Rights, &input.organisation)?;
        let Shown { value, policy } = app.transition_rights_request(input).await?;
        Ok(Response::new(proto::TransitionRightsRequestResponse {
            request: Some(encode_with(&policy, &value)),
        }))
    }

    async fn extend_rights_request(
        &self,
        request: Request<proto::ExtendRightsRequestRequest>,
    ) -> Result<Response<proto::ExtendRightsRequestResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::rights::extend_rights_request)?;
        caller.require(Scope::Rights, &input.of.organisation)?;
        let Shown { value, policy } = app
            .extend_rights_request(
                &input.of.organisation,
                &input.of.request_id,
                input.months,
                &input.reason,
                &input.actor,
            )
            .await?;
        Ok(Response::new(proto::ExtendRightsRequestResponse {
            request: Some(encode_with(&policy, &value)),
        }))
    }

    async fn list_rights_tasks(
        &self,
        request: Request<proto::ListRightsTasksRequest>,
    ) -> Result<Response<proto::ListRightsTasksResponse>, Status> {
        let (app, caller, page) = self
            .ready
            .begin(request, parse::rights::list_rights_tasks)?;
        caller.require(Scope::Rights, &page.organisation)?;
        let Shown {
            value: (tasks, next),
            policy,
        } = app
            .list_rights_tasks(
                &page.organisation,
                page.request_id.as_deref(),
                page.open_only,
                page.after,
                page.size,
            )
            .await?;
        Ok(Response::new(proto::ListRightsTasksResponse {
            tasks: tasks
                .iter()
                .map(|task| {
                    let name = policy
                        .registry()
                        .recipient(&task.recipient)
                        .map(|found| found.name.text().to_owned())
                        .unwrap_or_default();
                    encode::rights_task(&page.organisation, task, &name)
                })
                .collect(),
            next_page_token: next_token(next),
        }))
    }

    async fn complete_rights_task(
        &self,
        request: Request<proto::CompleteRightsTaskRequest>,
    ) -> Result<Response<proto::CompleteRightsTaskResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::rights::complete_rights_task)?;
        caller.require(Scope::Rights, &input.organisation)?;
        let Shown {
            value: (task, parent),
            policy,
        } = app
            .complete_rights_task(&input.organisation, input.task_id, &input.actor, input.note)
            .await?;
        let encoded = encode_with(&policy, &parent);
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
        let (app, caller, input) = self
            .ready
            .begin(request, parse::rights::get_access_report)?;
        let of = input.of;
        caller.require(Scope::Rights, &of.organisation)?;
        let (found, policy, report) = app.access_report(&of.organisation, &of.request_id).await?;
        Ok(Response::new(proto::GetAccessReportResponse {
            report: Some(encode::access_report(
                &policy.registry().organisation,
                policy.info(),
                found.subject,
                &report,
                input.language,
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
        let (app, caller, from) = self
            .ready
            .begin(request, parse::rights::watch_rights_events)?;
        caller.require(Scope::Rights, &from.organisation)?;
        let events = app
            .watch_rights_events(
                &from.organisation,
                from.after_event_id,
                caller.valid_until(),
            )
            .await?;
        let organisation = from.organisation;
        let stream = events.map(move |event| {
            event
                .map(|event| proto::WatchRightsEventsResponse {
                    event: Some(encode::rights_event(&organisation, &event)),
                })
                .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
