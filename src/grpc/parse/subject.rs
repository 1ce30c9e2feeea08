//! SubjectService requests.

use super::{
    SubjectOf,
    fields::{MAX_TEXT_BYTES, Violations, parse_all},
};
use crate::{
    app::{ConsentInput, Limits, ObjectionTarget},
    domain::{names::PurposeId, subject::Birth},
    error::Error,
    grpc::wire,
    proto,
};

/// Longest notice version, in bytes.
const MAX_NOTICE_VERSION_BYTES: usize = 200;

#[derive(Clone, Debug)]
pub struct Consent {
    pub of: SubjectOf,
    pub consent: ConsentInput,
}

#[derive(Clone, Debug)]
pub struct ObjectionRecord {
    pub of: SubjectOf,
    pub target: ObjectionTarget,
    pub at: Option<jiff::Timestamp>,
}

#[derive(Clone, Debug)]
pub struct ObjectionWithdrawal {
    pub of: SubjectOf,
    pub target: ObjectionTarget,
}

#[derive(Clone, Debug)]
pub struct Grounds {
    pub of: SubjectOf,
    pub purpose: PurposeId,
    pub grounds: String,
}

#[derive(Clone, Debug)]
pub struct BirthRecord {
    pub of: SubjectOf,
    pub birth: Birth,
}

#[derive(Clone, Debug)]
pub struct Lifting {
    pub of: SubjectOf,
    pub note: String,
}

fn subject_of(
    violations: &mut Violations,
    organisation: String,
    subject: String,
) -> Option<SubjectOf> {
    let organisation = violations.parsed("organisation", organisation);
    let subject = violations.parsed("subject", subject);
    Some(SubjectOf {
        organisation: organisation?,
        subject: subject?,
    })
}

pub fn record_consent(request: proto::RecordConsentRequest, _: &Limits) -> Result<Consent, Error> {
    parse_all(|violations| {
        let of = subject_of(violations, request.organisation, request.subject);
        let purpose = violations.parsed("purpose", request.purpose);
        let action = violations
            .required::<proto::ConsentAction>("action", request.action)
            .and_then(wire::consent_action_from);
        let at = violations.timestamp("at", request.at.as_ref());
        let notice_version = violations.text(
            "notice_version",
            request.notice_version,
            MAX_NOTICE_VERSION_BYTES,
        );
        let source = violations.text("source", request.source, MAX_TEXT_BYTES);
        Some(Consent {
            of: of?,
            consent: ConsentInput {
                purpose: purpose?,
                action: action?,
                notice_version,
                source,
                at,
                parental: request.parental,
            },
        })
    })
}

pub fn record_objection(
    request: proto::RecordObjectionRequest,
    _: &Limits,
) -> Result<ObjectionRecord, Error> {
    parse_all(|violations| {
        let objection = objection_of(
            violations,
            (request.organisation, request.subject),
            request.direct_marketing,
            request.purpose,
        );
        let at = violations.timestamp("at", request.at.as_ref());
        let (of, target) = objection?;
        Some(ObjectionRecord { of, target, at })
    })
}

pub fn withdraw_objection(
    request: proto::WithdrawObjectionRequest,
    _: &Limits,
) -> Result<ObjectionWithdrawal, Error> {
    parse_all(|violations| {
        let (of, target) = objection_of(
            violations,
            (request.organisation, request.subject),
            request.direct_marketing,
            request.purpose,
        )?;
        Some(ObjectionWithdrawal { of, target })
    })
}

pub fn record_compelling_grounds(
    request: proto::RecordCompellingGroundsRequest,
    _: &Limits,
) -> Result<Grounds, Error> {
    parse_all(|violations| {
        let of = subject_of(violations, request.organisation, request.subject);
        let purpose = violations.parsed("purpose", request.purpose);
        let grounds = violations.stated("grounds", request.grounds, "must state the grounds");
        Some(Grounds {
            of: of?,
            purpose: purpose?,
            grounds: grounds?,
        })
    })
}

pub fn set_birth(request: proto::SetBirthRequest, _: &Limits) -> Result<BirthRecord, Error> {
    parse_all(|violations| {
        let of = subject_of(violations, request.organisation, request.subject);
        let birth = violations.birth(&request.birth_date, request.birth_year);
        Some(BirthRecord {
            of: of?,
            birth: birth?,
        })
    })
}

pub fn lift_restriction(
    request: proto::LiftRestrictionRequest,
    _: &Limits,
) -> Result<Lifting, Error> {
    parse_all(|violations| {
        let of = subject_of(violations, request.organisation, request.subject);
        let note = violations.stated(
            "note",
            request.note,
            "must say why and how the subject was told (Art. 18(3))",
        );
        Some(Lifting {
            of: of?,
            note: note?,
        })
    })
}

pub fn get_subject_state(
    request: proto::GetSubjectStateRequest,
    _: &Limits,
) -> Result<SubjectOf, Error> {
    parse_all(|violations| subject_of(violations, request.organisation, request.subject))
}

/// A subject's objection: whose, and to what.
fn objection_of(
    violations: &mut Violations,
    (organisation, subject): (String, String),
    direct_marketing: bool,
    purpose: String,
) -> Option<(SubjectOf, ObjectionTarget)> {
    let of = subject_of(violations, organisation, subject);
    let target = objection_target(violations, direct_marketing, purpose);
    Some((of?, target?))
}

/// What an objection is to: exactly one of direct marketing or a purpose.
fn objection_target(
    violations: &mut Violations,
    direct_marketing: bool,
    purpose: String,
) -> Option<ObjectionTarget> {
    match (direct_marketing, purpose.is_empty()) {
        (true, true) => Some(ObjectionTarget::DirectMarketing),
        (false, false) => violations
            .parsed("purpose", purpose)
            .map(ObjectionTarget::Purpose),
        (true, false) => {
            violations.add("purpose", "name a purpose or direct_marketing, not both");
            None
        }
        (false, true) => {
            violations.add(
                "purpose",
                "name a purpose (Art. 21(1)) or set direct_marketing (Art. 21(2))",
            );
            None
        }
    }
}
