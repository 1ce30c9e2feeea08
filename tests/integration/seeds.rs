//! The questions of tests/seed_questions.yaml, each answered as its seed document implies,
//! asked over gRPC of a server that loaded the embedded example manifests (`--demo`).

use std::collections::BTreeMap;

use purposed::proto::{CheckRequest, ReasonCode};
use serde::Deserialize;

use crate::{decision::codes, support::spawn_demo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedQuestion {
    organisation: String,
    purpose: String,
    category: String,
    recipient: String,
    #[serde(default)]
    satisfied_conditions: Vec<String>,
    decision: String,
    reasons: Vec<String>,
    why: String,
}

#[tokio::test]
async fn every_seed_question_is_answered_as_its_document_implies() {
    let questions: Vec<SeedQuestion> =
        serde_saphyr::from_str(include_str!("../seed_questions.yaml"))
            .expect("seed_questions.yaml");
    let mut per_organisation: BTreeMap<&str, usize> = BTreeMap::new();
    for question in &questions {
        *per_organisation
            .entry(question.organisation.as_str())
            .or_default() += 1;
    }
    assert_eq!(
        per_organisation.keys().copied().collect::<Vec<_>>(),
        ["apollo", "capturi", "peero", "pro-balances", "sendberry"]
    );
    assert!(
        per_organisation.values().all(|count| *count >= 5),
        "{per_organisation:?}"
    );

    let app = spawn_demo().await;
    let mut failures = Vec::new();
    for question in &questions {
        let response = app
            .decision()
            .check(CheckRequest {
                organisation: question.organisation.clone(),
                purpose: question.purpose.clone(),
                category: question.category.clone(),
                recipient: question.recipient.clone(),
                satisfied_conditions: question.satisfied_conditions.clone(),
                ..Default::default()
            })
            .await
            .expect("check")
            .into_inner();
        let decision = response
            .decision()
            .as_str_name()
            .trim_start_matches("DECISION_")
            .to_owned();
        let found: Vec<String> = codes(&response)
            .into_iter()
            .map(|code: ReasonCode| {
                code.as_str_name()
                    .trim_start_matches("REASON_CODE_")
                    .to_owned()
            })
            .collect();
        let missing: Vec<&String> = question
            .reasons
            .iter()
            .filter(|code| !found.contains(code))
            .collect();
        let unsourced = response
            .reasons
            .iter()
            .any(|reason| reason.source.is_empty() && reason.code() == ReasonCode::LegalBasis);
        if decision != question.decision || !missing.is_empty() || unsourced {
            failures.push(format!(
                "{} / {} / {} / {}: expected {} with {:?}, got {decision} with {found:?} ({})",
                question.organisation,
                question.purpose,
                question.category,
                question.recipient,
                question.decision,
                question.reasons,
                question.why
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} seed questions failed:\n{}",
        failures.len(),
        questions.len(),
        failures.join("\n")
    );
}
