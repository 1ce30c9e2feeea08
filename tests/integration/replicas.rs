//! Two server processes on one database: what is written through one is seen by the other —
//! a new registry revision (a Check carrying `min_revision` waits for it) and a subject's
//! consent — through PostgreSQL notifications, or on SQLite through the periodic catch-up.

use std::time::{Duration, Instant};

use purposed::proto::{
    ApplyManifestRequest, CheckRequest, ConsentAction, Decision, RecordConsentRequest,
    decision_service_client::DecisionServiceClient, registry_service_client::RegistryServiceClient,
    subject_service_client::SubjectServiceClient,
};

use crate::{
    subjects::{DESK, ask},
    support::{
        TestDatabase, metric,
        process::{Launch, ServerProcess},
        scrape,
    },
};

async fn replica(database: &TestDatabase) -> ServerProcess {
    // On PostgreSQL the poll is too slow to pass the test: notifications must carry it.
    let poll = if database.postgres().is_some() {
        "600"
    } else {
        "1"
    };
    ServerProcess::launch(
        &database.url,
        Launch {
            demo: false,
            env: vec![("PURPOSED_REVISION_POLL_SECONDS", poll.to_owned())],
        },
    )
    .await
}

async fn apply(server: &ServerProcess, manifest: &str) -> u64 {
    RegistryServiceClient::new(server.channel().await)
        .apply_manifest(ApplyManifestRequest {
            manifest: manifest.to_owned(),
            dry_run: false,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect("apply")
        .into_inner()
        .revision
}

/// Asks `server` about the revision, waiting (server side) until it has loaded it.
async fn check_at(server: &ServerProcess, revision: u64) -> u64 {
    let mut question = ask("newsletter", "user.contact.email", "mailer", "nobody");
    question.min_revision = Some(revision);
    DecisionServiceClient::new(server.channel().await)
        .check(question)
        .await
        .expect("the other replica loads the revision within min_revision_wait")
        .into_inner()
        .revision
}

async fn index_revision(server: &ServerProcess) -> f64 {
    metric(
        &scrape(server.metrics_address).await,
        "purposed_index_revision ",
    )
}

#[tokio::test]
async fn two_replicas_on_one_database_converge() {
    let database = TestDatabase::create().await;
    let first = replica(&database).await;
    let second = replica(&database).await;

    // A revision applied through the first is loaded by the second.
    let started = Instant::now();
    let revision = apply(&first, DESK).await;
    assert_eq!(check_at(&second, revision).await, revision);
    eprintln!(
        "replicas: revision {revision} seen by the other replica after {:?}",
        started.elapsed()
    );

    // And the other way round.
    let renamed = DESK.replacen("legal_name: Desk SIA", "legal_name: Desk SIA (renamed)", 1);
    let revision = apply(&second, &renamed).await;
    assert_eq!(revision, 2);
    assert_eq!(check_at(&first, revision).await, revision);

    // A consent recorded through one replica changes the other's decisions.
    let subject = "replicated-subject@example.com";
    let question: CheckRequest = ask("newsletter", "user.contact.email", "mailer", subject);
    let mut second_decide = DecisionServiceClient::new(second.channel().await);
    let before = second_decide
        .check(question.clone())
        .await
        .expect("check")
        .into_inner();
    assert_eq!(before.decision(), Decision::Deny);
    let started = Instant::now();
    SubjectServiceClient::new(first.channel().await)
        .record_consent(RecordConsentRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "newsletter".into(),
            action: ConsentAction::Grant as i32,
            notice_version: "2026-01".into(),
            source: "replica test".into(),
            ..Default::default()
        })
        .await
        .expect("grant through the first replica");
    // Each call is an answer from the second replica's memory; it changes when it catches up.
    loop {
        let answer = second_decide
            .check(question.clone())
            .await
            .expect("check")
            .into_inner();
        if answer.decision() == Decision::Allow {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the second replica never saw the consent"
        );
        tokio::task::yield_now().await;
    }
    eprintln!(
        "replicas: consent seen by the other replica after {:?}",
        started.elapsed()
    );

    assert_eq!(index_revision(&first).await, index_revision(&second).await);
}
