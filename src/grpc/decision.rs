use tonic::{Request, Response, Status};

use super::{
    Ready,
    convert::{self, Violations},
};
use crate::proto;

pub struct DecisionApi {
    ready: Ready,
}

impl DecisionApi {
    pub fn new(ready: Ready) -> DecisionApi {
        DecisionApi { ready }
    }
}

#[tonic::async_trait]
impl proto::decision_service_server::DecisionService for DecisionApi {
    async fn check(
        &self,
        request: Request<proto::CheckRequest>,
    ) -> Result<Response<proto::CheckResponse>, Status> {
        let app = self.ready.get()?;
        let mut violations = Violations::default();
        let input = convert::check_input(request.into_inner(), "", &mut violations);
        let input = violations.into_result(input)?;
        let outcome = app.check(&input).await?;
        Ok(Response::new(convert::check_response(&outcome)))
    }

    async fn batch_check(
        &self,
        request: Request<proto::BatchCheckRequest>,
    ) -> Result<Response<proto::BatchCheckResponse>, Status> {
        let app = self.ready.get()?;
        let inputs =
            convert::batch_check_inputs(request.into_inner(), app.limits().max_batch_checks)?;
        let outcomes = app.batch_check(&inputs).await?;
        Ok(Response::new(proto::BatchCheckResponse {
            results: outcomes.iter().map(convert::check_response).collect(),
        }))
    }

    async fn list_recipients(
        &self,
        request: Request<proto::ListRecipientsRequest>,
    ) -> Result<Response<proto::ListRecipientsResponse>, Status> {
        let app = self.ready.get()?;
        let mut violations = Violations::default();
        let (input, include_denied) =
            convert::list_recipients_input(request.into_inner(), &mut violations);
        let input = violations.into_result(input)?;
        let (revision, recipients) = app.list_recipients(&input, include_denied).await?;
        Ok(Response::new(proto::ListRecipientsResponse {
            recipients: recipients.iter().map(convert::recipient_decision).collect(),
            revision,
        }))
    }
}
