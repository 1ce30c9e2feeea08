//! RightsService end to end: every request type from submission to completion, its deadline,
//! its effects on Check, the recipients' tasks and the event stream.

use std::time::Duration;

use purposed::{
    domain::{calendar, geo::Territory},
    proto::{
        self, CompleteRightsTaskRequest, ConsentAction, Decision, ExtendRightsRequestRequest,
        GetAccessReportRequest, GetRightsRequestRequest, ListRightsRequestsRequest,
        ListRightsTasksRequest, ReasonCode, RecordConsentRequest, RejectionReason, RightsEventKind,
        RightsRequest, RightsRequestStatus, RightsRequestType, SubmitRightsRequestRequest,
        TransitionRightsRequestRequest, WatchRightsEventsRequest,
    },
};
use tonic::{Code, Status};

use crate::{
    decision::{apply, check, codes},
    subjects::{DESK, ask, desk},
    support::{TestApp, example, spawn_app},
};

fn request(kind: RightsRequestType, request_id: &str, subject: &str) -> SubmitRightsRequestRequest {
    SubmitRightsRequestRequest {
        organisation: "desk".into(),
        request_id: request_id.into(),
        r#type: kind as i32,
        subject: subject.into(),
        actor: "desk-agent".into(),
        ..Default::default()
    }
}

async fn submit(app: &TestApp, submission: SubmitRightsRequestRequest) -> RightsRequest {
    app.rights()
        .submit_rights_request(submission)
        .await
        .expect("submit")
        .into_inner()
        .request
        .expect("request")
}

async fn try_move(
    app: &TestApp,
    request_id: &str,
    status: RightsRequestStatus,
    note: &str,
    reason: RejectionReason,
) -> Result<RightsRequest, Status> {
    app.rights()
        .transition_rights_request(TransitionRightsRequestRequest {
            organisation: "desk".into(),
            request_id: request_id.into(),
            status: status as i32,
            actor: "desk-agent".into(),
            note: note.into(),
            rejection_reason: reason as i32,
        })
        .await
        .map(|response| response.into_inner().request.expect("request"))
}

async fn move_to(app: &TestApp, request_id: &str, status: RightsRequestStatus) -> RightsRequest {
    try_move(app, request_id, status, "", RejectionReason::Unspecified)
        .await
        .unwrap_or_else(|status| panic!("move to {status:?}"))
}

async fn verify(app: &TestApp, request_id: &str) -> RightsRequest {
    move_to(app, request_id, RightsRequestStatus::IdentityPending).await;
    move_to(app, request_id, RightsRequestStatus::Verified).await
}

async fn grant(app: &TestApp, subject: &str, purpose: &str) {
    app.subjects()
        .record_consent(RecordConsentRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: purpose.into(),
            action: ConsentAction::Grant as i32,
            ..Default::default()
        })
        .await
        .expect("grant");
}

fn event_statuses(request: &RightsRequest) -> Vec<(RightsEventKind, RightsRequestStatus)> {
    request
        .events
        .iter()
        .map(|event| (event.kind(), event.status()))
        .collect()
}

fn latvia() -> Territory {
    Territory::parse("LV").expect("LV")
}

fn today() -> jiff::civil::Date {
    calendar::local_date(latvia(), jiff::Timestamp::now())
}

fn days_ago(days: i64) -> prost_types::Timestamp {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days);
    purposed::grpc::wire::timestamp(at)
}

#[tokio::test]
async fn access_from_submission_to_completion() {
    let app = desk().await;
    let submitted = submit(
        &app,
        request(RightsRequestType::Access, "access-1", "alice"),
    )
    .await;
    assert_eq!(submitted.status(), RightsRequestStatus::Received);
    assert_eq!(submitted.clock_started_on, today().to_string());
    assert_eq!(
        submitted.due_on,
        calendar::deadline(latvia(), today(), 1).to_string()
    );
    assert_eq!(submitted.first_due_on, submitted.due_on);
    assert!(!submitted.overdue);
    assert_eq!(
        event_statuses(&submitted),
        [(RightsEventKind::Submitted, RightsRequestStatus::Received)]
    );
    assert_eq!(submitted.events[0].actor, "desk-agent");

    let early = app
        .rights()
        .get_access_report(GetAccessReportRequest {
            organisation: "desk".into(),
            request_id: "access-1".into(),
            language: String::new(),
        })
        .await
        .expect_err("identity not verified");
    assert_eq!(early.code(), Code::FailedPrecondition);

    let verified = verify(&app, "access-1").await;
    assert_eq!(verified.status(), RightsRequestStatus::Verified);
    let report = app
        .rights()
        .get_access_report(GetAccessReportRequest {
            organisation: "desk".into(),
            request_id: "access-1".into(),
            language: String::new(),
        })
        .await
        .expect("report")
        .into_inner()
        .report
        .expect("report");
    let purposes: Vec<&str> = report
        .purposes
        .iter()
        .map(|purpose| purpose.id.as_str())
        .collect();
    assert_eq!(
        purposes,
        ["analytics", "backups", "bookkeeping", "orders"],
        "no newsletter: alice never consented"
    );
    let orders = report
        .purposes
        .iter()
        .find(|purpose| purpose.id == "orders")
        .expect("orders");
    assert_eq!(orders.legal_basis_article, "Art. 6(1)(b)");
    assert_eq!(orders.data_sources, ["the customer"]);
    assert_eq!(orders.retention[0].period, "P1Y");
    let courier = orders
        .recipients
        .iter()
        .find(|recipient| recipient.id == "courier")
        .expect("courier");
    let countries: Vec<&str> = courier
        .locations
        .iter()
        .map(|location| location.country.as_str())
        .collect();
    assert_eq!(countries, ["EE", "LV"]);
    let rights: Vec<RightsRequestType> = report.rights.iter().map(|right| right.r#type()).collect();
    assert!(rights.contains(&RightsRequestType::Portability));
    let erasure = report
        .rights
        .iter()
        .find(|right| right.r#type() == RightsRequestType::Erasure)
        .expect("erasure right");
    assert!(
        !erasure.purposes.contains(&"bookkeeping".to_owned()),
        "{:?}",
        erasure.purposes
    );
    assert_eq!(report.controller, "Desk SIA");
    assert_eq!(report.subject_ref, submitted.subject_ref);

    move_to(&app, "access-1", RightsRequestStatus::InProgress).await;
    let completed = move_to(&app, "access-1", RightsRequestStatus::Completed).await;
    assert_eq!(
        event_statuses(&completed),
        [
            (RightsEventKind::Submitted, RightsRequestStatus::Received),
            (
                RightsEventKind::StatusChanged,
                RightsRequestStatus::IdentityPending
            ),
            (
                RightsEventKind::StatusChanged,
                RightsRequestStatus::Verified
            ),
            (
                RightsEventKind::StatusChanged,
                RightsRequestStatus::InProgress
            ),
            (
                RightsEventKind::StatusChanged,
                RightsRequestStatus::Completed
            ),
        ]
    );
    let illegal = try_move(
        &app,
        "access-1",
        RightsRequestStatus::Verified,
        "",
        RejectionReason::Unspecified,
    )
    .await
    .expect_err("completed is final");
    assert_eq!(illegal.code(), Code::FailedPrecondition);
    assert!(
        illegal.message().contains("COMPLETED"),
        "{}",
        illegal.message()
    );
}

#[tokio::test]
async fn erasure_keeps_legal_obligations_and_completes_when_every_recipient_is_told() {
    let app = desk().await;
    grant(&app, "bob", "newsletter").await;
    submit(
        &app,
        request(RightsRequestType::Erasure, "erase-bob", "bob"),
    )
    .await;
    let before = check(&app, ask("orders", "user.contact.email", "aws", "bob")).await;
    assert_eq!(
        before.decision(),
        Decision::Allow,
        "nothing changes before verification"
    );

    let verified = verify(&app, "erase-bob").await;
    assert_eq!(verified.status(), RightsRequestStatus::InProgress);
    assert_eq!(verified.retained.len(), 1);
    assert_eq!(verified.retained[0].purpose, "bookkeeping");
    assert_eq!(verified.retained[0].article, "Art. 17(3)(b)");
    let mut told: Vec<(&str, Vec<String>)> = verified
        .tasks
        .iter()
        .map(|task| (task.recipient.as_str(), task.purposes.clone()))
        .collect();
    told.sort();
    assert_eq!(
        told,
        [
            (
                "aws",
                vec![
                    "analytics".to_owned(),
                    "backups".to_owned(),
                    "orders".to_owned()
                ]
            ),
            ("courier", vec!["orders".to_owned()]),
            ("mailer", vec!["newsletter".to_owned()]),
        ],
        "every recipient but the accountant, who keeps the books"
    );

    let erased = check(&app, ask("orders", "user.contact.email", "aws", "bob")).await;
    assert_eq!(erased.decision(), Decision::Deny);
    assert!(codes(&erased).contains(&ReasonCode::ErasureRequested));
    let kept = check(
        &app,
        ask("bookkeeping", "user.financial", "accountant", "bob"),
    )
    .await;
    assert_eq!(kept.decision(), Decision::Allow);
    assert!(codes(&kept).contains(&ReasonCode::LegalObligationExemption));

    let too_early = try_move(
        &app,
        "erase-bob",
        RightsRequestStatus::Completed,
        "",
        RejectionReason::Unspecified,
    )
    .await
    .expect_err("tasks open");
    assert_eq!(too_early.code(), Code::FailedPrecondition);
    assert!(
        too_early.message().contains("3 open task"),
        "{}",
        too_early.message()
    );

    let task_ids: Vec<u64> = verified.tasks.iter().map(|task| task.id).collect();
    let mut last = None;
    for id in &task_ids {
        let done = app
            .rights()
            .complete_rights_task(CompleteRightsTaskRequest {
                organisation: "desk".into(),
                task_id: *id,
                actor: "worker-7".into(),
                note: "deleted from the recipient's systems".into(),
            })
            .await
            .expect("complete")
            .into_inner();
        assert_eq!(done.task.expect("task").status(), proto::TaskStatus::Done);
        last = done.request;
    }
    let finished = last.expect("request");
    assert_eq!(finished.status(), RightsRequestStatus::Completed);
    let closing = finished.events.last().expect("events");
    assert_eq!(
        (closing.kind(), closing.actor.as_str()),
        (RightsEventKind::StatusChanged, "system")
    );

    let again = app
        .rights()
        .complete_rights_task(CompleteRightsTaskRequest {
            organisation: "desk".into(),
            task_id: task_ids[0],
            actor: "worker-7".into(),
            note: String::new(),
        })
        .await
        .expect_err("already done");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let unknown = app
        .rights()
        .complete_rights_task(CompleteRightsTaskRequest {
            organisation: "desk".into(),
            task_id: 999_999,
            actor: String::new(),
            note: String::new(),
        })
        .await
        .expect_err("no such task");
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn restriction_stops_all_but_storage_until_lifted() {
    let app = desk().await;
    submit(
        &app,
        request(RightsRequestType::Restriction, "restrict-carol", "carol"),
    )
    .await;
    let verified = verify(&app, "restrict-carol").await;
    assert_eq!(verified.status(), RightsRequestStatus::InProgress);
    assert!(!verified.tasks.is_empty());

    let restricted = check(&app, ask("orders", "user.contact.email", "aws", "carol")).await;
    assert_eq!(restricted.decision(), Decision::Deny);
    assert!(codes(&restricted).contains(&ReasonCode::RestrictionActive));
    let stored = check(&app, ask("backups", "user.contact.email", "aws", "carol")).await;
    assert_eq!(stored.decision(), Decision::Allow);
    assert!(codes(&stored).contains(&ReasonCode::StorageOnly));

    app.subjects()
        .lift_restriction(proto::LiftRestrictionRequest {
            organisation: "desk".into(),
            subject: "carol".into(),
            note: "accuracy confirmed; carol was told by e-mail on the 3rd".into(),
        })
        .await
        .expect("lift");
    let lifted = check(&app, ask("orders", "user.contact.email", "aws", "carol")).await;
    assert_eq!(lifted.decision(), Decision::Allow);
}

#[tokio::test]
async fn rectification_tells_every_recipient() {
    let app = desk().await;
    submit(
        &app,
        SubmitRightsRequestRequest {
            details: "my delivery address changed to Brīvības iela 2".into(),
            ..request(RightsRequestType::Rectification, "rectify-dan", "dan")
        },
    )
    .await;
    let verified = verify(&app, "rectify-dan").await;
    let mut recipients: Vec<&str> = verified
        .tasks
        .iter()
        .map(|task| task.recipient.as_str())
        .collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["accountant", "aws", "courier"],
        "no mailer: dan never consented to the newsletter"
    );
    assert_eq!(
        verified.details,
        "my delivery address changed to Brīvības iela 2"
    );
    let tasks = app
        .rights()
        .list_rights_tasks(ListRightsTasksRequest {
            organisation: "desk".into(),
            request_id: "rectify-dan".into(),
            open_only: true,
            ..Default::default()
        })
        .await
        .expect("tasks")
        .into_inner()
        .tasks;
    assert_eq!(tasks.len(), 3);
    assert!(
        tasks
            .iter()
            .all(|task| task.r#type() == RightsRequestType::Rectification
                && task.subject_ref == verified.subject_ref)
    );
    assert_eq!(
        tasks
            .iter()
            .find(|task| task.recipient == "courier")
            .expect("courier")
            .recipient_name,
        "Courier AS"
    );
}

#[tokio::test]
async fn portability_covers_consent_and_contract_or_is_rejected() {
    let app = desk().await;
    grant(&app, "erin", "newsletter").await;
    submit(
        &app,
        request(RightsRequestType::Portability, "port-erin", "erin"),
    )
    .await;
    let verified = verify(&app, "port-erin").await;
    assert_eq!(verified.status(), RightsRequestStatus::Verified);
    let portable: Vec<&str> = verified
        .portable
        .iter()
        .map(|note| note.purpose.as_str())
        .collect();
    assert_eq!(portable, ["newsletter", "orders"]);

    // Capturi processes on its customers' instructions: nothing rests on consent or contract.
    apply(&app, example("capturi")).await;
    app.rights()
        .submit_rights_request(SubmitRightsRequestRequest {
            organisation: "capturi".into(),
            ..request(RightsRequestType::Portability, "port-capturi", "frank")
        })
        .await
        .expect("submit");
    let transition = |status: RightsRequestStatus| TransitionRightsRequestRequest {
        organisation: "capturi".into(),
        request_id: "port-capturi".into(),
        status: status as i32,
        ..Default::default()
    };
    let rejected = app
        .rights()
        .transition_rights_request(transition(RightsRequestStatus::Verified))
        .await
        .expect("verify")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(rejected.status(), RightsRequestStatus::Rejected);
    assert_eq!(rejected.rejection_reason(), RejectionReason::NotPortable);
}

#[tokio::test]
async fn objections_take_effect_at_once() {
    let app = desk().await;
    grant(&app, "gina", "newsletter").await;
    let marketing = submit(
        &app,
        SubmitRightsRequestRequest {
            direct_marketing: true,
            ..request(RightsRequestType::Objection, "object-marketing", "gina")
        },
    )
    .await;
    assert_eq!(marketing.status(), RightsRequestStatus::Completed);
    assert_eq!(
        event_statuses(&marketing),
        [
            (RightsEventKind::Submitted, RightsRequestStatus::Received),
            (
                RightsEventKind::StatusChanged,
                RightsRequestStatus::Completed
            ),
        ]
    );
    let denied = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", "gina"),
    )
    .await;
    assert!(codes(&denied).contains(&ReasonCode::ObjectionActive));

    let analytics = submit(
        &app,
        SubmitRightsRequestRequest {
            purposes: vec!["analytics".into()],
            ..request(RightsRequestType::Objection, "object-analytics", "gina")
        },
    )
    .await;
    assert_eq!(analytics.status(), RightsRequestStatus::Received);
    let stopped = check(&app, ask("analytics", "user.online.usage", "aws", "gina")).await;
    assert_eq!(stopped.decision(), Decision::Deny);

    let rejected = try_move(
        &app,
        "object-analytics",
        RightsRequestStatus::Rejected,
        "the analytics detect fraud on gina's account",
        RejectionReason::CompellingGrounds,
    )
    .await
    .expect("reject with grounds");
    assert_eq!(
        rejected.rejection_reason(),
        RejectionReason::CompellingGrounds
    );
    let resumed = check(&app, ask("analytics", "user.online.usage", "aws", "gina")).await;
    assert_eq!(resumed.decision(), Decision::Allow);
    assert!(codes(&resumed).contains(&ReasonCode::CompellingGrounds));

    let invalid = app
        .rights()
        .submit_rights_request(SubmitRightsRequestRequest {
            purposes: vec!["bookkeeping".into()],
            ..request(RightsRequestType::Objection, "object-books", "gina")
        })
        .await
        .expect_err("not objectionable");
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(
        invalid.message().contains("purposes[0]"),
        "{}",
        invalid.message()
    );
}

#[tokio::test]
async fn withdrawing_consent_completes_at_once() {
    let app = desk().await;
    grant(&app, "hugo", "newsletter").await;
    let allowed = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", "hugo"),
    )
    .await;
    assert_eq!(allowed.decision(), Decision::Allow);
    let withdrawal = submit(
        &app,
        request(RightsRequestType::WithdrawConsent, "withdraw-hugo", "hugo"),
    )
    .await;
    assert_eq!(withdrawal.status(), RightsRequestStatus::Completed);
    assert!(
        withdrawal.events[1].note.contains("newsletter"),
        "{}",
        withdrawal.events[1].note
    );
    let denied = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", "hugo"),
    )
    .await;
    assert_eq!(denied.decision(), Decision::Deny);
    assert!(codes(&denied).contains(&ReasonCode::ConsentWithdrawn));
}

#[tokio::test]
async fn submission_is_idempotent_by_request_id() {
    let app = desk().await;
    let first = app
        .rights()
        .submit_rights_request(request(RightsRequestType::Access, "same-id", "ivan"))
        .await
        .expect("first")
        .into_inner();
    assert!(first.created);
    let retry = app
        .rights()
        .submit_rights_request(request(RightsRequestType::Access, "same-id", "ivan"))
        .await
        .expect("retry")
        .into_inner();
    assert!(!retry.created);
    assert_eq!(retry.request, first.request);

    let conflicting = app
        .rights()
        .submit_rights_request(request(RightsRequestType::Erasure, "same-id", "ivan"))
        .await
        .expect_err("another payload");
    assert_eq!(conflicting.code(), Code::AlreadyExists);

    // Racing duplicates: exactly one creates.
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let mut client = app.rights();
            tokio::spawn(async move {
                client
                    .submit_rights_request(request(RightsRequestType::Access, "raced-id", "judy"))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for racer in racers {
        if racer
            .await
            .expect("task")
            .expect("submit")
            .into_inner()
            .created
        {
            created += 1;
        }
    }
    assert_eq!(created, 1);
    let listed = app
        .rights()
        .list_rights_requests(ListRightsRequestsRequest {
            organisation: "desk".into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .requests;
    assert_eq!(
        listed
            .iter()
            .filter(|found| found.request_id == "raced-id")
            .count(),
        1
    );
}

#[tokio::test]
async fn deadlines_extend_once_and_overdue_requests_are_listed() {
    let app = desk().await;
    let recent = submit(
        &app,
        SubmitRightsRequestRequest {
            received_at: Some(days_ago(3)),
            ..request(RightsRequestType::Access, "recent", "kim")
        },
    )
    .await;
    let started: jiff::civil::Date = recent.clock_started_on.parse().expect("date");
    assert_eq!(
        recent.due_on,
        calendar::deadline(latvia(), started, 1).to_string()
    );

    let extension = |request_id: &str, months: u32| ExtendRightsRequestRequest {
        organisation: "desk".into(),
        request_id: request_id.into(),
        months,
        reason: "the request covers ten years of records".into(),
        actor: "dpo".into(),
    };
    let extended = app
        .rights()
        .extend_rights_request(extension("recent", 2))
        .await
        .expect("extend")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(
        extended.due_on,
        calendar::deadline(latvia(), started, 3).to_string()
    );
    assert_eq!(extended.first_due_on, recent.due_on);
    assert_eq!(extended.extension_months, 2);
    assert_eq!(
        extended.events.last().expect("event").kind(),
        RightsEventKind::Extended
    );
    let twice = app
        .rights()
        .extend_rights_request(extension("recent", 1))
        .await
        .expect_err("once only");
    assert_eq!(twice.code(), Code::FailedPrecondition);
    let three = app
        .rights()
        .extend_rights_request(extension("recent", 3))
        .await
        .expect_err("two months at most");
    assert_eq!(three.code(), Code::InvalidArgument);

    let old = submit(
        &app,
        SubmitRightsRequestRequest {
            received_at: Some(days_ago(45)),
            ..request(RightsRequestType::Access, "old", "lena")
        },
    )
    .await;
    assert!(old.overdue);
    let late = app
        .rights()
        .extend_rights_request(extension("old", 1))
        .await
        .expect_err("after the first due date");
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(
        late.message().contains("before the first due date"),
        "{}",
        late.message()
    );

    let list = |overdue: bool, due_before: &str, page_token: &str| ListRightsRequestsRequest {
        organisation: "desk".into(),
        overdue,
        due_before: due_before.into(),
        page_size: 1,
        page_token: page_token.into(),
        ..Default::default()
    };
    let overdue = app
        .rights()
        .list_rights_requests(list(true, "", ""))
        .await
        .expect("overdue")
        .into_inner();
    let ids: Vec<&str> = overdue
        .requests
        .iter()
        .map(|found| found.request_id.as_str())
        .collect();
    assert_eq!(ids, ["old"]);
    assert!(overdue.next_page_token.is_empty());

    let first_page = app
        .rights()
        .list_rights_requests(list(false, "", ""))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(first_page.requests[0].request_id, "recent");
    assert!(
        first_page.requests[0].events.is_empty(),
        "listings leave events out"
    );
    let second_page = app
        .rights()
        .list_rights_requests(list(false, "", &first_page.next_page_token))
        .await
        .expect("page")
        .into_inner();
    assert_eq!(second_page.requests[0].request_id, "old");

    let due_soon = app
        .rights()
        .list_rights_requests(list(false, &today().to_string(), ""))
        .await
        .expect("due before")
        .into_inner();
    assert_eq!(due_soon.requests[0].request_id, "old");

    let completed_only = app
        .rights()
        .list_rights_requests(ListRightsRequestsRequest {
            organisation: "desk".into(),
            statuses: vec![RightsRequestStatus::Completed as i32],
            ..Default::default()
        })
        .await
        .expect("by status")
        .into_inner();
    assert!(completed_only.requests.is_empty());
}

#[tokio::test]
async fn the_clock_can_wait_for_identity_proof() {
    let app = spawn_app().await;
    apply(
        &app,
        &DESK.replace(
            "  dpo: {email: dpo@desk.example}\n",
            "  dpo: {email: dpo@desk.example}\n  rights: {clock_waits_for_identity: true}\n",
        ),
    )
    .await;
    let submitted = submit(
        &app,
        SubmitRightsRequestRequest {
            received_at: Some(days_ago(20)),
            ..request(RightsRequestType::Access, "waiting", "mia")
        },
    )
    .await;
    assert!(!submitted.due_on.is_empty());
    let pending = move_to(&app, "waiting", RightsRequestStatus::IdentityPending).await;
    assert!(pending.due_on.is_empty(), "the clock waits");
    assert!(pending.clock_started_on.is_empty());
    let verified = move_to(&app, "waiting", RightsRequestStatus::Verified).await;
    assert_eq!(verified.clock_started_on, today().to_string());
    assert_eq!(
        verified.due_on,
        calendar::deadline(latvia(), today(), 1).to_string()
    );
}

#[tokio::test]
async fn workers_follow_events_and_resume_where_they_stopped() {
    let app = desk().await;
    let mut stream = app
        .rights()
        .watch_rights_events(WatchRightsEventsRequest {
            organisation: "desk".into(),
            after_event_id: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    submit(&app, request(RightsRequestType::Erasure, "watched", "nora")).await;
    verify(&app, "watched").await;

    let mut seen = Vec::new();
    while seen.len() < 6 {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("an event within 30 s")
            .expect("stream")
            .expect("open stream");
        seen.push(next.event.expect("event"));
    }
    let kinds: Vec<RightsEventKind> = seen.iter().map(|event| event.kind()).collect();
    assert_eq!(
        kinds,
        [
            RightsEventKind::Submitted,
            RightsEventKind::StatusChanged,
            RightsEventKind::StatusChanged,
            RightsEventKind::TaskCreated,
            RightsEventKind::TaskCreated,
            RightsEventKind::StatusChanged,
        ]
    );
    assert_eq!(seen[5].status(), RightsRequestStatus::InProgress);
    let ids: Vec<u64> = seen.iter().map(|event| event.id).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let recipients: Vec<&str> = seen
        .iter()
        .filter(|event| event.kind() == RightsEventKind::TaskCreated)
        .map(|event| event.recipient.as_str())
        .collect();
    assert_eq!(recipients, ["aws", "courier"]);
    drop(stream);

    // A worker that saw up to the fourth event resumes with the fifth.
    let mut resumed = app
        .rights()
        .watch_rights_events(WatchRightsEventsRequest {
            organisation: "desk".into(),
            after_event_id: seen[3].id,
        })
        .await
        .expect("watch")
        .into_inner();
    let next = resumed
        .message()
        .await
        .expect("stream")
        .expect("event")
        .event
        .expect("event");
    assert_eq!(next.id, seen[4].id);
}

#[tokio::test]
async fn bad_rights_requests_are_refused() {
    let app = desk().await;
    let cases: Vec<(&str, SubmitRightsRequestRequest, Code, &str)> = vec![
        (
            "unknown type",
            SubmitRightsRequestRequest {
                r#type: 99,
                ..request(RightsRequestType::Access, "bad-1", "x")
            },
            Code::InvalidArgument,
            "type",
        ),
        (
            "no type",
            SubmitRightsRequestRequest {
                r#type: 0,
                ..request(RightsRequestType::Access, "bad-2", "x")
            },
            Code::InvalidArgument,
            "type",
        ),
        (
            "received in the future",
            SubmitRightsRequestRequest {
                received_at: Some(prost_types::Timestamp {
                    seconds: 4_102_444_800,
                    nanos: 0,
                }),
                ..request(RightsRequestType::Access, "bad-3", "x")
            },
            Code::InvalidArgument,
            "received_at",
        ),
        (
            "empty subject",
            request(RightsRequestType::Access, "bad-4", ""),
            Code::InvalidArgument,
            "subject",
        ),
        (
            "unknown organisation",
            SubmitRightsRequestRequest {
                organisation: "nowhere".into(),
                ..request(RightsRequestType::Access, "bad-5", "x")
            },
            Code::NotFound,
            "nowhere",
        ),
        (
            "bad request id",
            request(RightsRequestType::Access, "no spaces please", "x"),
            Code::InvalidArgument,
            "request_id",
        ),
        (
            "unknown purpose",
            SubmitRightsRequestRequest {
                purposes: vec!["ghost".into()],
                ..request(RightsRequestType::WithdrawConsent, "bad-6", "x")
            },
            Code::InvalidArgument,
            "purposes[0]",
        ),
        (
            "purposes on access",
            SubmitRightsRequestRequest {
                purposes: vec!["orders".into()],
                ..request(RightsRequestType::Access, "bad-7", "x")
            },
            Code::InvalidArgument,
            "purposes",
        ),
        (
            "objection to nothing",
            request(RightsRequestType::Objection, "bad-8", "x"),
            Code::InvalidArgument,
            "purposes",
        ),
    ];
    for (name, submission, code, mentions) in cases {
        let status = app
            .rights()
            .submit_rights_request(submission)
            .await
            .expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(
            status.message().contains(mentions),
            "{name}: {}",
            status.message()
        );
    }
    let missing = app
        .rights()
        .get_rights_request(GetRightsRequestRequest {
            organisation: "desk".into(),
            request_id: "never-submitted".into(),
        })
        .await
        .expect_err("unknown request");
    assert_eq!(missing.code(), Code::NotFound);
    submit(&app, request(RightsRequestType::Access, "to-reject", "x")).await;
    let without_reason = try_move(
        &app,
        "to-reject",
        RightsRequestStatus::Rejected,
        "",
        RejectionReason::Unspecified,
    )
    .await
    .expect_err("a rejection needs a reason");
    assert_eq!(without_reason.code(), Code::InvalidArgument);
    let wrong_reason = try_move(
        &app,
        "to-reject",
        RightsRequestStatus::Rejected,
        "",
        RejectionReason::NotPortable,
    )
    .await
    .expect_err("not a portability request");
    assert_eq!(wrong_reason.code(), Code::InvalidArgument);
    let rejected = try_move(
        &app,
        "to-reject",
        RightsRequestStatus::Rejected,
        "third request this week",
        RejectionReason::Excessive,
    )
    .await
    .expect("rejected");
    assert_eq!(rejected.rejection_reason(), RejectionReason::Excessive);
}

/// The Art. 15 reply names the purposes and recipients in the subject's language, where the
/// organisation gives one, and in its default language otherwise.
#[tokio::test]
async fn an_access_report_speaks_the_language_asked_for() {
    let app = spawn_app().await;
    crate::decision::apply(&app, &crate::registry::format_2_example()).await;
    let organisation = "example-shop-lv";
    app.rights()
        .submit_rights_request(SubmitRightsRequestRequest {
            organisation: organisation.into(),
            ..request(RightsRequestType::Access, "access-lv", "ilze@example.lv")
        })
        .await
        .expect("submit");
    for status in [
        RightsRequestStatus::IdentityPending,
        RightsRequestStatus::Verified,
    ] {
        app.rights()
            .transition_rights_request(TransitionRightsRequestRequest {
                organisation: organisation.into(),
                request_id: "access-lv".into(),
                status: status as i32,
                actor: "desk-agent".into(),
                ..Default::default()
            })
            .await
            .expect("move");
    }
    let report = |language: &str| {
        let mut rights = app.rights();
        let language = language.to_owned();
        async move {
            rights
                .get_access_report(GetAccessReportRequest {
                    organisation: organisation.into(),
                    request_id: "access-lv".into(),
                    language,
                })
                .await
                .expect("report")
                .into_inner()
                .report
                .expect("a report")
        }
    };
    let english = report("en").await;
    assert_eq!(english.purposes[0].name, "Order processing and delivery");
    assert_eq!(
        english.purposes[0].retention[0].description,
        "accounting records"
    );
    let latvian = report("").await;
    assert_eq!(latvian.purposes[0].name, "Pasūtījumu apstrāde un piegāde");
    assert_eq!(
        report("et").await.purposes[0].name,
        latvian.purposes[0].name
    );
}
