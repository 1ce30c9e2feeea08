//! The audit log on a real server and database: what the write paths append, that
//! `purposed audit verify` finds the chain intact, and that it names the seq of every row
//! tampered with straight in the database.

use std::process::Output;

use purposed::{
    domain::audit::{self, Entry},
    proto::{
        ConsentAction, ExtendRightsRequestRequest, LiftRestrictionRequest,
        RecordCompellingGroundsRequest, RecordConsentRequest, RecordObjectionRequest,
        RejectionReason, RightsRequestStatus, RightsRequestType, SetBirthRequest,
        SubmitRightsRequestRequest, TransitionRightsRequestRequest, WithdrawObjectionRequest,
    },
    store::{Store, StoreOptions},
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use tokio::process::Command;
use tonic::Code;

use crate::{
    decision::{apply, shop_manifest},
    subjects::{DESK, desk},
    support::TestApp,
};

/// One audit row as stored.
#[derive(Clone, Debug)]
struct Row {
    id: i64,
    seq: i64,
    at: i64,
    actor: String,
    kind: String,
    subject: Option<String>,
    detail: String,
    prev_hash: String,
    hash: String,
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .expect("connect to the test database")
}

async fn rows(db: &DatabaseConnection, organisation: &str) -> Vec<Row> {
    let sql = format!(
        "SELECT id, seq, at, actor, kind, subject, detail, prev_hash, hash FROM audit_log \
         WHERE organisation_id = '{organisation}' ORDER BY seq"
    );
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("read the audit log")
        .into_iter()
        .map(|row| Row {
            id: row.try_get("", "id").expect("id"),
            seq: row.try_get("", "seq").expect("seq"),
            at: row.try_get("", "at").expect("at"),
            actor: row.try_get("", "actor").expect("actor"),
            kind: row.try_get("", "kind").expect("kind"),
            subject: row.try_get("", "subject").expect("subject"),
            detail: row.try_get("", "detail").expect("detail"),
            prev_hash: row.try_get("", "prev_hash").expect("prev_hash"),
            hash: row.try_get("", "hash").expect("hash"),
        })
        .collect()
}

fn kinds(rows: &[Row]) -> Vec<&str> {
    rows.iter().map(|row| row.kind.as_str()).collect()
}

async fn sql(db: &DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement)
        .await
        .unwrap_or_else(|error| panic!("{statement}: {error}"));
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL that puts `row` back exactly as it was.
fn insert(organisation: &str, row: &Row) -> String {
    format!(
        "INSERT INTO audit_log (id, organisation_id, seq, at, actor, kind, subject, detail, \
         prev_hash, hash) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        row.id,
        quoted(organisation),
        row.seq,
        row.at,
        quoted(&row.actor),
        quoted(&row.kind),
        row.subject.as_deref().map_or("NULL".to_owned(), quoted),
        quoted(&row.detail),
        quoted(&row.prev_hash),
        quoted(&row.hash),
    )
}

async fn verify(url: &str) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_purposed"))
        .args(["audit", "verify", "--database-url", url])
        .env_remove("DATABASE_URL")
        .output()
        .await
        .expect("run purposed audit verify");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

async fn assert_intact(url: &str, entries: usize, organisations: usize) {
    let (output, stdout) = verify(url).await;
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some(
            format!("audit log intact: {entries} entries in {organisations} organisations")
                .as_str()
        ),
        "{stdout}"
    );
    let checked = lines
        .iter()
        .filter(|line| line.starts_with("checked organisation "))
        .count();
    assert_eq!(
        checked, organisations,
        "one line per organisation checked: {stdout}"
    );
}

/// Runs verify, expects exit 1, returns the problem lines.
async fn problems(url: &str) -> Vec<String> {
    let (output, stdout) = verify(url).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("audit log damaged"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|line| !line.starts_with("checked organisation "))
        .map(str::to_owned)
        .collect()
}

fn submission(
    kind: RightsRequestType,
    request_id: &str,
    subject: &str,
) -> SubmitRightsRequestRequest {
    SubmitRightsRequestRequest {
        organisation: "desk".into(),
        request_id: request_id.into(),
        r#type: kind as i32,
        subject: subject.into(),
        actor: "desk-agent".into(),
        ..Default::default()
    }
}

async fn transition(
    app: &TestApp,
    request_id: &str,
    status: RightsRequestStatus,
) -> Result<purposed::proto::RightsRequest, tonic::Status> {
    app.rights()
        .transition_rights_request(TransitionRightsRequestRequest {
            organisation: "desk".into(),
            request_id: request_id.into(),
            status: status as i32,
            actor: "desk-agent".into(),
            note: String::new(),
            rejection_reason: RejectionReason::Unspecified as i32,
        })
        .await
        .map(|response| response.into_inner().request.expect("request"))
}

async fn grant(app: &TestApp, subject: &str) {
    app.subjects()
        .record_consent(RecordConsentRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "newsletter".into(),
            action: ConsentAction::Grant as i32,
            ..Default::default()
        })
        .await
        .expect("grant");
}

#[tokio::test]
async fn verify_finds_real_writes_intact_and_names_each_tampered_row() {
    let app = desk().await;
    apply(&app, &shop_manifest()).await;
    grant(&app, "alice").await;
    app.rights()
        .submit_rights_request(submission(RightsRequestType::Access, "access-1", "alice"))
        .await
        .expect("submit");
    transition(&app, "access-1", RightsRequestStatus::IdentityPending)
        .await
        .expect("identity pending");
    transition(&app, "access-1", RightsRequestStatus::Verified)
        .await
        .expect("verified");

    let db = connect(&app.database_url()).await;
    let before = rows(&db, "desk").await;
    assert_eq!(
        kinds(&before),
        [
            "registry.apply",
            "subject.consent",
            "request.submitted",
            "request.transition",
            "request.transition"
        ]
    );
    assert_eq!(
        before[4].detail,
        "request_id=access-1 from=identity_pending to=verified tasks=0 by=desk-agent"
    );

    // Writes that fail or change nothing append nothing.
    let illegal = transition(&app, "access-1", RightsRequestStatus::Received)
        .await
        .expect_err("verified cannot go back to received");
    assert_eq!(illegal.code(), Code::FailedPrecondition);
    app.rights()
        .submit_rights_request(submission(RightsRequestType::Access, "access-1", "alice"))
        .await
        .expect("an idempotent replay");
    let taken = app
        .rights()
        .submit_rights_request(submission(RightsRequestType::Erasure, "access-1", "alice"))
        .await
        .expect_err("the request id is taken");
    assert_eq!(taken.code(), Code::AlreadyExists);
    apply(&app, DESK).await;
    let nothing_to_withdraw = app
        .subjects()
        .withdraw_objection(WithdrawObjectionRequest {
            organisation: "desk".into(),
            subject: "alice".into(),
            direct_marketing: true,
            ..Default::default()
        })
        .await
        .expect_err("no objection stands");
    assert_eq!(nothing_to_withdraw.code(), Code::NotFound);
    assert_eq!(rows(&db, "desk").await.len(), before.len());
    db.close().await.ok();

    let (stopped, database) = app.stop().await;
    stopped.expect("clean stop");
    let url = database.url.clone();
    assert_intact(&url, 6, 2).await;

    let db = connect(&url).await;
    let chain = rows(&db, "desk").await;

    // An altered field.
    sql(
        &db,
        &format!(
            "UPDATE audit_log SET detail = 'request_id=access-1 type=erasure status=received' \
             WHERE id = {}",
            chain[2].id
        ),
    )
    .await;
    let found = problems(&url).await;
    assert_eq!(
        found,
        [format!(
            "organisation \"desk\", seq 3 (row id {}): altered: its content no longer matches \
             its hash: a field was changed after it was written",
            chain[2].id
        )]
    );
    sql(
        &db,
        &format!(
            "UPDATE audit_log SET detail = {} WHERE id = {}",
            quoted(&chain[2].detail),
            chain[2].id
        ),
    )
    .await;
    assert_intact(&url, 6, 2).await;

    // A deleted entry in the middle: named at its seq, by the row after the gap.
    sql(
        &db,
        &format!("DELETE FROM audit_log WHERE id = {}", chain[1].id),
    )
    .await;
    let found = problems(&url).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(&format!(
            "organisation \"desk\", seq 2 (row id {}): deleted: seq 2 is missing",
            chain[2].id
        )),
        "{found:?}"
    );
    sql(&db, &insert("desk", &chain[1])).await;
    assert_intact(&url, 6, 2).await;

    // A deleted tail: only the head knows it was there.
    sql(
        &db,
        &format!("DELETE FROM audit_log WHERE id = {}", chain[4].id),
    )
    .await;
    let found = problems(&url).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("organisation \"desk\", seq 5 ")
            && found[0].contains("deleted: seq 5 is missing from the end"),
        "{found:?}"
    );
    sql(&db, &insert("desk", &chain[4])).await;
    assert_intact(&url, 6, 2).await;

    // A forged entry, hashed correctly onto the chain but not through the head.
    let forged = Entry {
        organisation: "desk".into(),
        seq: 6,
        at: chain[4].at + 1,
        actor: "mallory".into(),
        kind: "request.transition".into(),
        subject: chain[4].subject.clone(),
        detail: "request_id=access-1 from=verified to=completed tasks=0".into(),
    };
    let forged_row = Row {
        id: chain[4].id + 1_000,
        seq: 6,
        at: forged.at,
        actor: forged.actor.clone(),
        kind: forged.kind.clone(),
        subject: forged.subject.clone(),
        detail: forged.detail.clone(),
        prev_hash: chain[4].hash.clone(),
        hash: audit::hash(&forged, &chain[4].hash),
    };
    sql(&db, &insert("desk", &forged_row)).await;
    let found = problems(&url).await;
    assert_eq!(
        found,
        [format!(
            "organisation \"desk\", seq 6 (row id {}): inserted: it lies beyond the chain's head \
             (seq 5): it was added without going through the chain",
            forged_row.id
        )]
    );
    // Moving the head along too is the one forgery the chain cannot see (see docs/audit.md).
    sql(
        &db,
        &format!(
            "UPDATE audit_heads SET seq = 6, hash = {} WHERE organisation_id = 'desk'",
            quoted(&forged_row.hash)
        ),
    )
    .await;
    assert_intact(&url, 7, 2).await;
    db.close().await.ok();
}

#[tokio::test]
async fn every_write_path_appends_to_one_intact_chain() {
    let app = desk().await;
    grant(&app, "alice").await;
    let subjects = || app.subjects();
    subjects()
        .record_objection(RecordObjectionRequest {
            organisation: "desk".into(),
            subject: "carol".into(),
            purpose: "analytics".into(),
            ..Default::default()
        })
        .await
        .expect("objection");
    subjects()
        .record_compelling_grounds(RecordCompellingGroundsRequest {
            organisation: "desk".into(),
            subject: "carol".into(),
            purpose: "analytics".into(),
            grounds: "fraud detection on carol's account".into(),
        })
        .await
        .expect("grounds");
    subjects()
        .withdraw_objection(WithdrawObjectionRequest {
            organisation: "desk".into(),
            subject: "carol".into(),
            purpose: "analytics".into(),
            ..Default::default()
        })
        .await
        .expect("withdraw");
    for _ in 0..2 {
        subjects()
            .set_birth(SetBirthRequest {
                organisation: "desk".into(),
                subject: "dave".into(),
                birth_date: "2010-05-31".into(),
                ..Default::default()
            })
            .await
            .expect("birth, then the same birth again");
    }

    app.rights()
        .submit_rights_request(submission(
            RightsRequestType::Restriction,
            "restrict-1",
            "eve",
        ))
        .await
        .expect("submit");
    transition(&app, "restrict-1", RightsRequestStatus::IdentityPending)
        .await
        .expect("identity pending");
    let verified = transition(&app, "restrict-1", RightsRequestStatus::Verified)
        .await
        .expect("verified");
    for task in &verified.tasks {
        app.rights()
            .complete_rights_task(purposed::proto::CompleteRightsTaskRequest {
                organisation: "desk".into(),
                task_id: task.id,
                actor: "worker-7".into(),
                note: String::new(),
            })
            .await
            .expect("complete");
    }
    subjects()
        .lift_restriction(LiftRestrictionRequest {
            organisation: "desk".into(),
            subject: "eve".into(),
            note: "told eve by e-mail".into(),
        })
        .await
        .expect("lift");

    app.rights()
        .submit_rights_request(submission(RightsRequestType::Erasure, "erase-1", "frank"))
        .await
        .expect("submit");
    transition(&app, "erase-1", RightsRequestStatus::IdentityPending)
        .await
        .expect("identity pending");
    transition(&app, "erase-1", RightsRequestStatus::Verified)
        .await
        .expect("verified");
    app.rights()
        .submit_rights_request(submission(RightsRequestType::Access, "access-2", "gina"))
        .await
        .expect("submit");
    app.rights()
        .extend_rights_request(ExtendRightsRequestRequest {
            organisation: "desk".into(),
            request_id: "access-2".into(),
            months: 1,
            reason: "gina asked for ten years of records".into(),
            actor: "dpo".into(),
        })
        .await
        .expect("extend");

    let url = app.database_url();
    let db = connect(&url).await;
    let chain = rows(&db, "desk").await;
    db.close().await.ok();
    let mut seen: Vec<&str> = kinds(&chain);
    seen.sort_unstable();
    seen.dedup();
    let mut every = vec![
        "registry.apply",
        "subject.consent",
        "subject.objection",
        "subject.grounds",
        "subject.objection_withdrawn",
        "subject.birth",
        "subject.restriction",
        "subject.restriction_lifted",
        "subject.erasure",
        "request.submitted",
        "request.transition",
        "request.extended",
        "task.completed",
    ];
    every.sort_unstable();
    assert_eq!(seen, every);
    assert_eq!(
        chain
            .iter()
            .filter(|row| row.kind == "subject.birth")
            .count(),
        1,
        "the same birth twice is one change"
    );
    assert!(!verified.tasks.is_empty(), "the restriction told someone");
    assert_eq!(
        chain.iter().map(|row| row.seq).collect::<Vec<_>>(),
        (1..=chain.len() as i64).collect::<Vec<_>>()
    );
    for row in &chain {
        match row.kind.as_str() {
            "registry.apply" => assert_eq!(row.subject, None),
            _ => {
                let subject = row.subject.as_deref().expect("a subject");
                assert!(
                    subject.len() == 64 && subject.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{row:?}"
                );
            }
        }
        // Identifiers and free text stay out of the log.
        for word in [
            "alice",
            "carol",
            "dave",
            "eve ",
            "frank",
            "gina",
            "fraud",
            "2010-05-31",
        ] {
            assert!(
                !row.detail.contains(word) && row.subject.as_deref() != Some(word),
                "{word} in {row:?}"
            );
        }
        // A server without auth knows its callers only as anonymous.
        assert_eq!(row.actor, "anonymous");
    }

    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .expect("connect");
    let report = store.verify_audit().await.expect("verify");
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!(report.entries, chain.len() as u64);
    assert_eq!(report.organisations, 1);
}

#[tokio::test]
async fn concurrent_writers_of_one_organisation_keep_one_chain() {
    let app = desk().await;
    let writes: Vec<_> = (0..16)
        .map(|n| {
            let app_subjects = app.subjects();
            async move {
                let mut client = app_subjects;
                client
                    .record_consent(RecordConsentRequest {
                        organisation: "desk".into(),
                        subject: format!("subject-{n}"),
                        purpose: "newsletter".into(),
                        action: ConsentAction::Grant as i32,
                        ..Default::default()
                    })
                    .await
                    .expect("grant");
            }
        })
        .map(tokio::spawn)
        .collect();
    for write in writes {
        write.await.expect("writer");
    }
    let url = app.database_url();
    let store = Store::connect(&url, &StoreOptions::default())
        .await
        .expect("connect");
    let report = store.verify_audit().await.expect("verify");
    assert!(report.intact(), "{:?}", report.problems);
    assert_eq!(report.entries, 17);
}

#[tokio::test]
async fn verify_misses_no_chain_deleted_whole() {
    let app = desk().await;
    apply(&app, &shop_manifest()).await;
    grant(&app, "alice").await;
    let url = app.database_url();
    assert_intact(&url, 3, 2).await;

    // One organisation's every entry and its head, as a tamperer would delete them.
    let db = connect(&url).await;
    sql(&db, "DELETE FROM audit_log WHERE organisation_id = 'desk'").await;
    sql(
        &db,
        "DELETE FROM audit_heads WHERE organisation_id = 'desk'",
    )
    .await;
    let found = problems(&url).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with(
            "organisation \"desk\", seq 1: deleted: the organisation holds stored data"
        ),
        "{found:?}"
    );

    // The whole log.
    sql(&db, "DELETE FROM audit_log").await;
    sql(&db, "DELETE FROM audit_heads").await;
    let found = problems(&url).await;
    let named: Vec<&str> = found
        .iter()
        .filter_map(|line| line.split('"').nth(1))
        .collect();
    assert_eq!(named, ["desk", "example-shop"], "{found:?}");
}

#[tokio::test]
async fn verify_creates_nothing_where_there_is_no_database() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let missing = directory.path().join("absent.db");
    let (output, stdout) = verify(&format!("sqlite://{}", missing.display())).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(!missing.exists(), "verify created {}", missing.display());
    let created: Vec<_> = std::fs::read_dir(directory.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(created.is_empty(), "{created:?}");
}
