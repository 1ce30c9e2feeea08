//! Operating the binary: SIGTERM under load loses no call in flight, and readiness follows
//! the database.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use purposed::proto::{
    GetRightsRequestRequest, RightsRequestType, SubmitRightsRequestRequest,
    decision_service_client::DecisionServiceClient, rights_service_client::RightsServiceClient,
};
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::watch;
use tonic::Code;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    decision::question,
    support::{TestDatabase, process::ServerProcess, spawn_with},
};

const CLIENTS: usize = 8;
const ORGANISATION: &str = "pro-balances";

/// What one call came to, and whether it was sent before the SIGTERM.
struct Answer {
    sent_before_signal: bool,
    answered_after_signal: bool,
    /// The rights request submitted, if the call was a submission.
    request_id: Option<String>,
    outcome: Result<(), tonic::Status>,
}

#[tokio::test]
async fn sigterm_under_load_answers_every_call_in_flight() {
    let database = TestDatabase::create().await;
    let server = ServerProcess::start(&database.url).await;
    let channel = server.channel().await;
    let (signalled_tx, signalled) = watch::channel(None::<Instant>);
    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let acknowledged = Arc::new(Mutex::new(BTreeMap::<String, ()>::new()));
    let (progress_tx, mut progress) = watch::channel(0_usize);

    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let channel = channel.clone();
            let signalled = signalled.clone();
            let answers = answers.clone();
            let acknowledged = acknowledged.clone();
            let progress_tx = progress_tx.clone();
            tokio::spawn(async move {
                let mut rights = RightsServiceClient::new(channel.clone());
                let mut decide = DecisionServiceClient::new(channel);
                for sequence in 0.. {
                    let sent_before_signal = signalled.borrow().is_none();
                    let request_id = format!("drain-{client}-{sequence}");
                    let submits = sequence % 2 == 0;
                    let outcome = if submits {
                        rights
                            .submit_rights_request(SubmitRightsRequestRequest {
                                organisation: ORGANISATION.into(),
                                request_id: request_id.clone(),
                                r#type: RightsRequestType::Access.into(),
                                subject: format!("drain-subject-{client}-{sequence}"),
                                actor: "shutdown test".into(),
                                ..Default::default()
                            })
                            .await
                            .map(|_| {
                                acknowledged
                                    .lock()
                                    .expect("acknowledged")
                                    .insert(request_id.clone(), ());
                            })
                    } else {
                        decide
                            .check(question(ORGANISATION, "a", "b", "c"))
                            .await
                            .map(|_| ())
                    };
                    let failed = outcome.is_err();
                    answers.lock().expect("answers").push(Answer {
                        sent_before_signal,
                        answered_after_signal: signalled.borrow().is_some(),
                        request_id: submits.then_some(request_id),
                        outcome,
                    });
                    progress_tx.send_modify(|count| *count += 1);
                    if failed {
                        return;
                    }
                }
            })
        })
        .collect();

    progress
        .wait_for(|count| *count >= 200)
        .await
        .expect("clients make progress");
    signalled_tx.send_replace(Some(Instant::now()));
    server.terminate();
    let started = Instant::now();
    let status = server.wait(Duration::from_secs(30)).await;
    assert!(status.success(), "exit status {status:?}");
    eprintln!("shutdown: exited {:?} after SIGTERM", started.elapsed());
    for client in clients {
        client.await.expect("client task");
    }

    let answers = std::mem::take(&mut *answers.lock().expect("answers"));
    // Sent before the SIGTERM, answered after it: in flight when the signal came.
    let in_flight_answered = answers
        .iter()
        .filter(|answer| {
            answer.sent_before_signal && answer.answered_after_signal && answer.outcome.is_ok()
        })
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|answer| answer.outcome.is_err())
        .collect();
    eprintln!(
        "shutdown: {} calls, {in_flight_answered} in flight at the signal and answered, {} \
         refused once draining began",
        answers.len(),
        refused.len()
    );
    assert!(
        in_flight_answered >= 1,
        "no call was in flight at the signal"
    );
    // Calls that met the closing connection were refused before any work: retryable codes,
    // and (below) no submission among them was stored.
    for answer in &refused {
        let status = answer.outcome.as_ref().expect_err("refused");
        assert!(
            matches!(status.code(), Code::Unavailable | Code::Cancelled),
            "{status:?}"
        );
    }

    // Every acknowledged submission is stored.
    let server = ServerProcess::start(&database.url).await;
    let mut rights = RightsServiceClient::new(server.channel().await);
    let acknowledged = acknowledged.lock().expect("acknowledged").clone();
    assert!(!acknowledged.is_empty());
    for request_id in acknowledged.keys() {
        rights
            .get_rights_request(GetRightsRequestRequest {
                organisation: ORGANISATION.into(),
                request_id: request_id.clone(),
            })
            .await
            .unwrap_or_else(|status| panic!("{request_id} acknowledged but lost: {status:?}"));
    }
    for request_id in refused
        .iter()
        .filter_map(|answer| answer.request_id.as_ref())
    {
        let status = rights
            .get_rights_request(GetRightsRequestRequest {
                organisation: ORGANISATION.into(),
                request_id: request_id.clone(),
            })
            .await
            .expect_err("a refused submission was done without an answer");
        assert_eq!(status.code(), Code::NotFound, "{request_id}");
    }
}

async fn health_of(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health answers whatever the database does")
        .into_inner()
        .status
}

#[tokio::test]
async fn readiness_follows_the_database() {
    let app = spawn_with(|settings| {
        settings.database_check_interval = Duration::from_millis(100);
        settings.store.connect_timeout = Duration::from_secs(1);
    })
    .await;
    let Some((admin_url, name)) = app.database().postgres() else {
        eprintln!("readiness_follows_the_database: PostgreSQL only (set PURPOSED_TEST_POSTGRES)");
        return;
    };
    let (admin_url, name) = (admin_url.to_owned(), name.to_owned());
    let admin = Database::connect(&admin_url).await.expect("admin");
    let mut health = app.health();
    assert_eq!(
        health_of(&mut health, "").await,
        ServingStatus::Serving as i32
    );

    // The database goes away: no new connections, and the pool's are cut.
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .expect("refuse connections");
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .expect("cut connections");
    let mut watch = health
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch")
        .into_inner();
    let wait_for = async |watch: &mut tonic::Streaming<_>, wanted: ServingStatus| {
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(update) = watch.message().await.expect("health stream") {
                let update: tonic_health::pb::HealthCheckResponse = update;
                if update.status == wanted as i32 {
                    return;
                }
            }
            panic!("health stream ended");
        })
        .await
        .unwrap_or_else(|_| panic!("not {wanted:?} within 30 s"));
    };
    wait_for(&mut watch, ServingStatus::NotServing).await;
    // Liveness stays up: an outage must not restart the replica.
    assert_eq!(
        health_of(&mut health, "liveness").await,
        ServingStatus::Serving as i32
    );

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("allow connections");
    wait_for(&mut watch, ServingStatus::Serving).await;
    admin.close().await.ok();
}
