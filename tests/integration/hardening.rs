//! Regressions of the defects an outside attack on the running service found (issue 11),
//! each on the database the run is given (SQLite, or PostgreSQL in CI's second pass).

use purposed::proto::{
    self, CompleteRightsTaskRequest, RightsEventKind, RightsRequestStatus, RightsRequestType,
    SubmitRightsRequestRequest, TransitionRightsRequestRequest,
};
use tokio::task::JoinSet;
use tonic::Code;

use crate::{
    decision::apply,
    support::{TestApp, spawn_app},
};

/// An organisation whose one purpose shares with seven processors, so that an erasure fans
/// out seven tasks.
fn fan_manifest() -> String {
    let mut recipients = String::new();
    let mut engaged = Vec::new();
    for index in 0..7 {
        recipients.push_str(&format!(
            "  - id: p{index}\n    name: Processor {index}\n    kind: processor\n    locations: [LV]\n    agreements: [{{reference: DPA, effective_from: 2020-01-01, source: row {index}}}]\n    source: row {index}\n"
        ));
        engaged.push(format!("{{id: p{index}}}"));
    }
    format!(
        "version: 1\norganisation:\n  id: fan\n  legal_name: Fan SIA\n  country: LV\n  role: controller\n  source: policy\nrecipients:\n{recipients}purposes:\n  - id: service\n    name: Service\n    legal_basis: contract\n    categories: [user.contact]\n    recipients: [{}]\n    source: policy\n",
        engaged.join(", ")
    )
}

fn submission(
    request_id: &str,
    kind: RightsRequestType,
    subject: &str,
) -> SubmitRightsRequestRequest {
    SubmitRightsRequestRequest {
        organisation: "fan".into(),
        request_id: request_id.into(),
        r#type: kind as i32,
        subject: subject.into(),
        actor: "desk".into(),
        ..Default::default()
    }
}

fn transition(request_id: &str, status: RightsRequestStatus) -> TransitionRightsRequestRequest {
    TransitionRightsRequestRequest {
        organisation: "fan".into(),
        request_id: request_id.into(),
        status: status as i32,
        actor: "desk".into(),
        ..Default::default()
    }
}

async fn fan() -> TestApp {
    let app = spawn_app().await;
    apply(&app, &fan_manifest()).await;
    app
}

/// Submits an erasure and verifies it: in progress, one open task per processor.
async fn erasure_in_progress(app: &TestApp, request_id: &str) -> Vec<u64> {
    let mut rights = app.rights();
    rights
        .submit_rights_request(submission(
            request_id,
            RightsRequestType::Erasure,
            request_id,
        ))
        .await
        .expect("submit");
    for status in [
        RightsRequestStatus::IdentityPending,
        RightsRequestStatus::Verified,
    ] {
        rights
            .transition_rights_request(transition(request_id, status))
            .await
            .expect("transition");
    }
    let request = rights
        .get_rights_request(proto::GetRightsRequestRequest {
            organisation: "fan".into(),
            request_id: request_id.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(request.status(), RightsRequestStatus::InProgress);
    request.tasks.iter().map(|task| task.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_of_concurrent_task_completions_completes_the_request() {
    let app = fan().await;
    for round in 0..5 {
        let request_id = format!("erase-{round}");
        let tasks = erasure_in_progress(&app, &request_id).await;
        assert_eq!(tasks.len(), 7);
        let mut completions = JoinSet::new();
        for task_id in tasks {
            let mut rights = app.rights();
            completions.spawn(async move {
                rights
                    .complete_rights_task(CompleteRightsTaskRequest {
                        organisation: "fan".into(),
                        task_id,
                        actor: format!("worker-{task_id}"),
                        note: String::new(),
                    })
                    .await
            });
        }
        for completion in completions.join_all().await {
            completion.expect("every completion is acknowledged");
        }
        let request = app
            .rights()
            .get_rights_request(proto::GetRightsRequestRequest {
                organisation: "fan".into(),
                request_id: request_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .request
            .expect("request");
        assert_eq!(
            request.status(),
            RightsRequestStatus::Completed,
            "round {round}: every task done"
        );
        let completed = request
            .events
            .iter()
            .filter(|event| {
                event.kind() == RightsEventKind::StatusChanged
                    && event.status() == RightsRequestStatus::Completed
            })
            .count();
        assert_eq!(completed, 1, "round {round}: one COMPLETED event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_wait_for_each_other_and_never_fail_internally() {
    let app = fan().await;
    let mut writers = JoinSet::new();
    for writer in 0..8 {
        let mut rights = app.rights();
        writers.spawn(async move {
            let mut codes = Vec::new();
            for index in 0..15 {
                let request_id = format!("w{writer}-{index}");
                let answers = [
                    rights
                        .submit_rights_request(submission(
                            &request_id,
                            RightsRequestType::Access,
                            &request_id,
                        ))
                        .await
                        .map(drop),
                    rights
                        .transition_rights_request(transition(
                            &request_id,
                            RightsRequestStatus::IdentityPending,
                        ))
                        .await
                        .map(drop),
                ];
                codes.extend(answers.into_iter().map(|answer| match answer {
                    Ok(()) => Code::Ok,
                    Err(status) => status.code(),
                }));
            }
            codes
        });
    }
    let codes: Vec<Code> = writers.join_all().await.into_iter().flatten().collect();
    let failed: Vec<_> = codes.iter().filter(|code| **code != Code::Ok).collect();
    assert!(
        failed.is_empty(),
        "each writer changes its own requests: {failed:?}"
    );

    // Racing transitions of one request: one wins, the rest are told it moved.
    app.rights()
        .submit_rights_request(submission("raced", RightsRequestType::Access, "raced"))
        .await
        .expect("submit");
    let mut racers = JoinSet::new();
    for _ in 0..8 {
        let mut rights = app.rights();
        racers.spawn(async move {
            rights
                .transition_rights_request(transition(
                    "raced",
                    RightsRequestStatus::IdentityPending,
                ))
                .await
                .map(drop)
                .map_err(|status| status.code())
        });
    }
    let outcomes = racers.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|outcome| matches!(
            outcome,
            Ok(()) | Err(Code::Aborted | Code::FailedPrecondition)
        )),
        "{outcomes:?}"
    );
}
