use tonic::{Request, Response, Status};

use super::{Ready, encode::subject as encode, parse};
use crate::{
    domain::{pseudonym::SubjectRef, subject::SubjectHistory},
    proto,
    server::auth::Scope,
};

pub struct SubjectApi {
    ready: Ready,
}

impl SubjectApi {
    pub fn new(ready: Ready) -> SubjectApi {
        SubjectApi { ready }
    }
}

fn state(
    organisation: &str,
    (subject, history): (SubjectRef, SubjectHistory),
) -> Option<proto::SubjectState> {
    Some(encode::subject_state(organisation, subject, &history))
}

#[tonic::async_trait]
impl proto::subject_service_server::SubjectService for SubjectApi {
    async fn record_consent(
        &self,
        request: Request<proto::RecordConsentRequest>,
    ) -> Result<Response<proto::RecordConsentResponse>, Status> {
        let (app, caller, input) = self.ready.begin(request, parse::subject::record_consent)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .record_consent(&of.organisation, &of.subject, input.consent)
            .await?;
        Ok(Response::new(proto::RecordConsentResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn record_objection(
        &self,
        request: Request<proto::RecordObjectionRequest>,
    ) -> Result<Response<proto::RecordObjectionResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::subject::record_objection)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .record_objection(&of.organisation, &of.subject, input.target, input.at)
            .await?;
        Ok(Response::new(proto::RecordObjectionResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn withdraw_objection(
        &self,
        request: Request<proto::WithdrawObjectionRequest>,
    ) -> Result<Response<proto::WithdrawObjectionResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::subject::withdraw_objection)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .withdraw_objection(&of.organisation, &of.subject, input.target)
            .await?;
        Ok(Response::new(proto::WithdrawObjectionResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn record_compelling_grounds(
        &self,
        request: Request<proto::RecordCompellingGroundsRequest>,
    ) -> Result<Response<proto::RecordCompellingGroundsResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::subject::record_compelling_grounds)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .record_grounds(
                &of.organisation,
                &of.subject,
                &input.purpose,
                &input.grounds,
            )
            .await?;
        Ok(Response::new(proto::RecordCompellingGroundsResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn set_birth(
        &self,
        request: Request<proto::SetBirthRequest>,
    ) -> Result<Response<proto::SetBirthResponse>, Status> {
        let (app, caller, input) = self.ready.begin(request, parse::subject::set_birth)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .set_birth(&of.organisation, &of.subject, input.birth)
            .await?;
        Ok(Response::new(proto::SetBirthResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn lift_restriction(
        &self,
        request: Request<proto::LiftRestrictionRequest>,
    ) -> Result<Response<proto::LiftRestrictionResponse>, Status> {
        let (app, caller, input) = self
            .ready
            .begin(request, parse::subject::lift_restriction)?;
        let of = input.of;
        caller.require(Scope::Subjects, &of.organisation)?;
        let written = app
            .lift_restriction(&of.organisation, &of.subject, &input.note)
            .await?;
        Ok(Response::new(proto::LiftRestrictionResponse {
            state: state(&of.organisation, written),
        }))
    }

    async fn get_subject_state(
        &self,
        request: Request<proto::GetSubjectStateRequest>,
    ) -> Result<Response<proto::GetSubjectStateResponse>, Status> {
        let (app, caller, of) = self
            .ready
            .begin(request, parse::subject::get_subject_state)?;
        caller.require(Scope::Subjects, &of.organisation)?;
        let read = app.subject_history(&of.organisation, &of.subject).await?;
        Ok(Response::new(proto::GetSubjectStateResponse {
            state: state(&of.organisation, read),
        }))
    }
}
