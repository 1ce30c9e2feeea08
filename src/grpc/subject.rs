use tonic::{Request, Response, Status};

use super::{
    Ready, authenticated,
    convert::{self, MAX_TEXT_BYTES, Violations},
};
use crate::{
    app::ConsentInput,
    auth::Scope,
    domain::{pseudonym::SubjectRef, subject::SubjectHistory},
    proto,
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
    Some(convert::subject_state(organisation, subject, &history))
}

#[tonic::async_trait]
impl proto::subject_service_server::SubjectService for SubjectApi {
    async fn record_consent(
        &self,
        request: Request<proto::RecordConsentRequest>,
    ) -> Result<Response<proto::RecordConsentResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        violations.id("purpose", &request.purpose);
        let action = violations
            .required::<proto::ConsentAction>("action", request.action)
            .and_then(convert::consent_action);
        let at = violations.timestamp("at", request.at.as_ref());
        let notice_version = violations.text("notice_version", request.notice_version, 200);
        let source = violations.text("source", request.source, MAX_TEXT_BYTES);
        let action = violations.into_required(action, "action")?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .record_consent(
                &request.organisation,
                &request.subject,
                ConsentInput {
                    purpose: request.purpose,
                    action,
                    notice_version,
                    source,
                    at,
                    parental: request.parental,
                },
            )
            .await?;
        Ok(Response::new(proto::RecordConsentResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn record_objection(
        &self,
        request: Request<proto::RecordObjectionRequest>,
    ) -> Result<Response<proto::RecordObjectionResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        let target =
            convert::objection_target(&mut violations, request.direct_marketing, &request.purpose);
        let at = violations.timestamp("at", request.at.as_ref());
        violations.into_result(())?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .record_objection(&request.organisation, &request.subject, target, at)
            .await?;
        Ok(Response::new(proto::RecordObjectionResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn withdraw_objection(
        &self,
        request: Request<proto::WithdrawObjectionRequest>,
    ) -> Result<Response<proto::WithdrawObjectionResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        let target =
            convert::objection_target(&mut violations, request.direct_marketing, &request.purpose);
        violations.into_result(())?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .withdraw_objection(&request.organisation, &request.subject, target)
            .await?;
        Ok(Response::new(proto::WithdrawObjectionResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn record_compelling_grounds(
        &self,
        request: Request<proto::RecordCompellingGroundsRequest>,
    ) -> Result<Response<proto::RecordCompellingGroundsResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        violations.id("purpose", &request.purpose);
        let grounds = violations.text("grounds", request.grounds, MAX_TEXT_BYTES);
        if grounds.is_none() {
            violations.add("grounds", "must state the grounds");
        }
        violations.into_result(())?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .record_grounds(
                &request.organisation,
                &request.subject,
                &request.purpose,
                grounds.as_deref().unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(proto::RecordCompellingGroundsResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn set_birth(
        &self,
        request: Request<proto::SetBirthRequest>,
    ) -> Result<Response<proto::SetBirthResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        let birth = violations.birth(&request.birth_date, request.birth_year);
        let birth = violations.into_required(birth, "birth_date")?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .set_birth(&request.organisation, &request.subject, birth)
            .await?;
        Ok(Response::new(proto::SetBirthResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn lift_restriction(
        &self,
        request: Request<proto::LiftRestrictionRequest>,
    ) -> Result<Response<proto::LiftRestrictionResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        let note = violations.text("note", request.note, MAX_TEXT_BYTES);
        if note.is_none() {
            violations.add(
                "note",
                "must say why and how the subject was told (Art. 18(3))",
            );
        }
        violations.into_result(())?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let written = app
            .lift_restriction(
                &request.organisation,
                &request.subject,
                note.as_deref().unwrap_or_default(),
            )
            .await?;
        Ok(Response::new(proto::LiftRestrictionResponse {
            state: state(&request.organisation, written),
        }))
    }

    async fn get_subject_state(
        &self,
        request: Request<proto::GetSubjectStateRequest>,
    ) -> Result<Response<proto::GetSubjectStateResponse>, Status> {
        let app = self.ready.get()?;
        let (caller, request) = authenticated(request)?;
        let mut violations = Violations::default();
        violations.id("organisation", &request.organisation);
        violations.required_subject("subject", &request.subject);
        violations.into_result(())?;
        caller.require(Scope::Subjects, &request.organisation)?;
        let read = app
            .subject_history(&request.organisation, &request.subject)
            .await?;
        Ok(Response::new(proto::GetSubjectStateResponse {
            state: state(&request.organisation, read),
        }))
    }
}
