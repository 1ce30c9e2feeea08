use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::{Ready, encode::decision as encode, parse};
use crate::{
    proto,
    server::{auth::Scope, metrics::Metrics},
};

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
        let (app, caller, input) = self.ready.begin(request, parse::decision::check)?;
        caller.require(Scope::Decide, &input.question.organisation)?;
        let outcome = app.check(&input).await?;
        self.metrics.record_decision(&outcome);
        Ok(Response::new(encode::check_response(&outcome)))
    }

    async fn batch_check(
        &self,
        request: Request<proto::BatchCheckRequest>,
    ) -> Result<Response<proto::BatchCheckResponse>, Status> {
        let (app, caller, inputs) = self.ready.begin(request, parse::decision::batch_check)?;
        // One question about another organisation refuses the whole batch.
        for input in &inputs {
            caller.require(Scope::Decide, &input.question.organisation)?;
        }
        let outcomes = app.batch_check(&inputs).await?;
        for outcome in &outcomes {
            self.metrics.record_decision(outcome);
        }
        Ok(Response::new(proto::BatchCheckResponse {
            results: outcomes.iter().map(encode::check_response).collect(),
        }))
    }

    async fn list_recipients(
        &self,
        request: Request<proto::ListRecipientsRequest>,
    ) -> Result<Response<proto::ListRecipientsResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::decision::list_recipients)?;
        caller.require(Scope::Decide, &input.question.organisation)?;
        let (revision, recipients) = app
            .list_recipients(&input.question, input.include_denied, input.language)
            .await?;
        Ok(Response::new(proto::ListRecipientsResponse {
            recipients: recipients.iter().map(encode::recipient_decision).collect(),
            revision,
        }))
    }
}
