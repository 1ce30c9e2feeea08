//! The conformance corpus of tests/conformance/: every case against a real server.

use std::{collections::BTreeSet, path::Path};

use purposed::proto::{
    CheckRequest, ConsentAction, ReasonCode, RecordCompellingGroundsRequest, RecordConsentRequest,
    RecordObjectionRequest, RightsRequestStatus, RightsRequestType, SetBirthRequest,
    SubmitRightsRequestRequest, TransitionRightsRequestRequest,
};
use serde::Deserialize;

use crate::{
    decision::apply,
    support::{TestApp, spawn_app},
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    policy: Option<String>,
    policy_file: Option<String>,
    #[serde(default)]
    setup: Vec<Step>,
    #[serde(default)]
    questions: Vec<Question>,
    #[serde(default)]
    deadlines: Vec<Deadline>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum Step {
    Consent {
        subject: String,
        purpose: String,
        action: String,
        at: Option<String>,
        #[serde(default)]
        parental: bool,
    },
    Objection {
        subject: String,
        purpose: Option<String>,
        #[serde(default)]
        direct_marketing: bool,
    },
    Grounds {
        subject: String,
        purpose: String,
        grounds: String,
    },
    Birth {
        subject: String,
        year: Option<i32>,
        date: Option<String>,
    },
    Request {
        subject: String,
        #[serde(rename = "type")]
        kind: String,
        id: String,
        verify: Option<bool>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Question {
    organisation: Option<String>,
    purpose: String,
    category: String,
    recipient: String,
    subject: Option<String>,
    at: Option<String>,
    collected_at: Option<String>,
    #[serde(default)]
    conditions: Vec<String>,
    decision: String,
    #[serde(default)]
    reasons: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deadline {
    received_at: String,
    due_on: String,
}

fn timestamp(text: &str) -> prost_types::Timestamp {
    purposed::grpc::wire::timestamp(
        text.parse()
            .unwrap_or_else(|_| panic!("{text} is not RFC 3339")),
    )
}

fn code_name(code: i32) -> String {
    ReasonCode::try_from(code)
        .map(|code| {
            code.as_str_name()
                .trim_start_matches("REASON_CODE_")
                .to_owned()
        })
        .unwrap_or_else(|_| code.to_string())
}

fn request_type(name: &str) -> RightsRequestType {
    RightsRequestType::from_str_name(&format!("RIGHTS_REQUEST_TYPE_{}", name.to_uppercase()))
        .unwrap_or_else(|| panic!("unknown request type {name}"))
}

async fn set_up(app: &TestApp, organisation: &str, step: &Step) {
    match step {
        Step::Consent {
            subject,
            purpose,
            action,
            at,
            parental,
        } => {
            let action = match action.as_str() {
                "grant" => ConsentAction::Grant,
                "withdraw" => ConsentAction::Withdraw,
                other => panic!("unknown consent action {other}"),
            };
            app.subjects()
                .record_consent(RecordConsentRequest {
                    organisation: organisation.into(),
                    subject: subject.clone(),
                    purpose: purpose.clone(),
                    action: action.into(),
                    at: at.as_deref().map(timestamp),
                    parental: *parental,
                    ..Default::default()
                })
                .await
                .expect("consent");
        }
        Step::Objection {
            subject,
            purpose,
            direct_marketing,
        } => {
            app.subjects()
                .record_objection(RecordObjectionRequest {
                    organisation: organisation.into(),
                    subject: subject.clone(),
                    direct_marketing: *direct_marketing,
                    purpose: purpose.clone().unwrap_or_default(),
                    at: None,
                })
                .await
                .expect("objection");
        }
        Step::Grounds {
            subject,
            purpose,
            grounds,
        } => {
            app.subjects()
                .record_compelling_grounds(RecordCompellingGroundsRequest {
                    organisation: organisation.into(),
                    subject: subject.clone(),
                    purpose: purpose.clone(),
                    grounds: grounds.clone(),
                })
                .await
                .expect("grounds");
        }
        Step::Birth {
            subject,
            year,
            date,
        } => {
            app.subjects()
                .set_birth(SetBirthRequest {
                    organisation: organisation.into(),
                    subject: subject.clone(),
                    birth_date: date.clone().unwrap_or_default(),
                    birth_year: year.unwrap_or_default(),
                })
                .await
                .expect("birth");
        }
        Step::Request {
            subject,
            kind,
            id,
            verify,
        } => {
            app.rights()
                .submit_rights_request(SubmitRightsRequestRequest {
                    organisation: organisation.into(),
                    request_id: id.clone(),
                    r#type: request_type(kind).into(),
                    subject: subject.clone(),
                    ..Default::default()
                })
                .await
                .expect("request");
            if verify.unwrap_or(true) {
                app.rights()
                    .transition_rights_request(TransitionRightsRequestRequest {
                        organisation: organisation.into(),
                        request_id: id.clone(),
                        status: RightsRequestStatus::Verified.into(),
                        ..Default::default()
                    })
                    .await
                    .expect("verify");
            }
        }
    }
}

/// Runs one case; returns its failures and the reason codes it named.
async fn run(path: &Path) -> (Vec<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(path).expect("read case");
    let case: Case =
        serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let policy = match (&case.policy, &case.policy_file) {
        (Some(policy), None) => policy.clone(),
        (None, Some(file)) => std::fs::read_to_string(path.with_file_name("policies").join(file))
            .expect("policy file"),
        _ => panic!("{}: give policy or policy_file", path.display()),
    };
    let app = spawn_app().await;
    let organisation = apply(&app, &policy).await.organisation;
    for step in &case.setup {
        set_up(&app, &organisation, step).await;
    }

    let mut failures = Vec::new();
    let mut named = BTreeSet::new();
    for question in &case.questions {
        named.extend(question.reasons.iter().cloned());
        let response = app
            .decision()
            .check(CheckRequest {
                organisation: question
                    .organisation
                    .clone()
                    .unwrap_or_else(|| organisation.clone()),
                purpose: question.purpose.clone(),
                category: question.category.clone(),
                recipient: question.recipient.clone(),
                subject: question.subject.clone(),
                at: question.at.as_deref().map(timestamp),
                known_at: None,
                collected_at: question.collected_at.as_deref().map(timestamp),
                min_revision: None,
                satisfied_conditions: question.conditions.clone(),
            })
            .await
            .expect("check")
            .into_inner();
        let decision = response
            .decision()
            .as_str_name()
            .trim_start_matches("DECISION_")
            .to_owned();
        let codes: Vec<String> = response
            .reasons
            .iter()
            .map(|reason| code_name(reason.code))
            .collect();
        let missing: Vec<&String> = question
            .reasons
            .iter()
            .filter(|code| !codes.contains(code))
            .collect();
        let present: Vec<&String> = question
            .absent
            .iter()
            .filter(|code| codes.contains(code))
            .collect();
        if decision != question.decision || !missing.is_empty() || !present.is_empty() {
            failures.push(format!(
                "{} [{}]: {}/{}/{}{}: expected {} with {:?} (without {:?}), got {decision} with {codes:?}",
                path.file_name().unwrap_or_default().to_string_lossy(),
                case.name,
                question.purpose,
                question.category,
                question.recipient,
                question.subject.as_deref().map(|subject| format!(" for {subject}")).unwrap_or_default(),
                question.decision,
                question.reasons,
                question.absent,
            ));
        }
    }
    for (index, deadline) in case.deadlines.iter().enumerate() {
        let submitted = app
            .rights()
            .submit_rights_request(SubmitRightsRequestRequest {
                organisation: organisation.clone(),
                request_id: format!("deadline-{index}"),
                r#type: RightsRequestType::Access.into(),
                subject: format!("subject-{index}"),
                received_at: Some(timestamp(&deadline.received_at)),
                ..Default::default()
            })
            .await
            .expect("submit")
            .into_inner()
            .request
            .expect("request");
        if submitted.due_on != deadline.due_on {
            failures.push(format!(
                "{} [{}]: received {}: due {} expected, {} given",
                path.file_name().unwrap_or_default().to_string_lossy(),
                case.name,
                deadline.received_at,
                deadline.due_on,
                submitted.due_on
            ));
        }
    }
    (failures, named)
}

#[tokio::test]
async fn the_conformance_corpus_holds() {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut cases: Vec<_> = std::fs::read_dir(&directory)
        .expect("tests/conformance")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    let mut failures = Vec::new();
    let mut named = BTreeSet::new();
    let mut deadlines = 0;
    for case in &cases {
        let (failed, codes) = run(case).await;
        failures.extend(failed);
        named.extend(codes);
        deadlines += std::fs::read_to_string(case)
            .unwrap_or_default()
            .matches("received_at")
            .count();
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    let every_code: BTreeSet<String> = (1..100)
        .filter_map(|number| ReasonCode::try_from(number).ok())
        .map(|code| code_name(code as i32))
        .collect();
    let unnamed: Vec<&String> = every_code.difference(&named).collect();
    assert!(
        unnamed.is_empty(),
        "reason codes without a conformance case: {unnamed:?}"
    );
    assert!(deadlines >= 15, "{deadlines} deadline cases");
}
