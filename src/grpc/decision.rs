use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{
    Ready, authenticated,
    convert::{self, Violations},
};
use crate::{auth::Scope, metrics::Metrics, proto};

pub struct DecisionApi {
    ready: Ready,
    metrics: Arc<Metrics>,
}

impl DecisionApi {
    pub fn new(ready: Ready, metrics: Arc<Metrics>) -> DecisionApi {
        DecisionApi { ready, metrics }
    }
}

#[tonic::async_trait]
impl proto::decision_service_server::DecisionService for DecisionApi {
    async fn check(
        &self,
        request: Request<proto::CheckRequest>,
    ) -> Result<Response<proto::CheckResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        let input = convert::check_input(request, "", &mut violations);
        let input = violations.into_result(input)?;
        caller.require(Scope::Decide, &input.organisation)?;
        let outcome = app.check(&input).await?;
        self.metrics.record_decision(&outcome);
        Ok(Response::new(convert::check_response(&outcome)))
    }

    async fn batch_check(
        &self,
        request: Request<proto::BatchCheckRequest>,
    ) -> Result<Response<proto::BatchCheckResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let inputs = convert::batch_check_inputs(request, app.limits().max_batch_checks)?;
        // One question about another organisation refuses the whole batch.
        for input in &inputs {
            caller.require(Scope::Decide, &input.organisation)?;
        }
        let outcomes = app.batch_check(&inputs).await?;
        for outcome in &outcomes {
            self.metrics.record_decision(outcome);
        }
        Ok(Response::new(proto::BatchCheckResponse {
            results: outcomes.iter().map(convert::check_response).collect(),
        }))
    }

    async fn list_recipients(
        &self,
        request: Request<proto::ListRecipientsRequest>,
    ) -> Result<Response<proto::ListRecipientsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        let (input, include_denied) = convert::list_recipients_input(request, &mut violations);
        let input = violations.into_result(input)?;
        caller.require(Scope::Decide, &input.organisation)?;
        let (revision, recipients) = app.list_recipients(&input, include_denied).await?;
        Ok(Response::new(proto::ListRecipientsResponse {
            recipients: recipients.iter().map(convert::recipient_decision).collect(),
            revision,
        }))
    }
}
