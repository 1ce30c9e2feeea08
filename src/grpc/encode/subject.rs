//! SubjectService answers.

use crate::{
    domain::{
        pseudonym::SubjectRef,
        subject::{Birth, ObjectionScope, SubjectHistory},
    },
    grpc::wire,
    proto,
};

pub fn subject_state(
    organisation: &str,
    subject: SubjectRef,
    history: &SubjectHistory,
) -> proto::SubjectState {
    proto::SubjectState {
        organisation: organisation.to_owned(),
        subject_ref: subject.to_hex(),
        consents: history
            .consents
            .iter()
            .map(|record| proto::ConsentEvent {
                purpose: record.event.purpose.to_string(),
                action: wire::consent_action(record.event.action).into(),
                at: Some(wire::timestamp(record.event.at)),
                notice_version: record
                    .event
                    .notice_version
                    .as_deref()
                    .unwrap_or_default()
                    .to_owned(),
                source: record.source.clone().unwrap_or_default(),
                parental: record.event.parental,
                recorded_at: Some(wire::timestamp(record.recorded_at)),
            })
            .collect(),
        objections: history
            .objections
            .iter()
            .map(|record| proto::Objection {
                direct_marketing: record.objection.scope == ObjectionScope::DirectMarketing,
                purpose: match &record.objection.scope {
                    ObjectionScope::Purpose(purpose) => purpose.to_string(),
                    ObjectionScope::DirectMarketing => String::new(),
                },
                at: Some(wire::timestamp(record.objection.at)),
                compelling_grounds: record
                    .objection
                    .compelling_grounds
                    .as_deref()
                    .unwrap_or_default()
                    .to_owned(),
                withdrawn_at: record.objection.withdrawn_at.map(wire::timestamp),
                rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
            })
            .collect(),
        restrictions: history
            .restrictions
            .iter()
            .map(|record| proto::Restriction {
                from: Some(wire::timestamp(record.restriction.from)),
                lifted_at: record.restriction.lifted_at.map(wire::timestamp),
                rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
            })
            .collect(),
        erasure: history.erasure.as_ref().map(|record| proto::Erasure {
            verified_at: Some(wire::timestamp(record.erasure.verified_at)),
            rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
        }),
        birth_date: match history.birth {
            Some(Birth::Date(date)) => date.to_string(),
            _ => String::new(),
        },
        birth_year: match history.birth {
            Some(Birth::Year(year)) => i32::from(year),
            _ => 0,
        },
    }
}
