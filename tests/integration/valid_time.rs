//! Valid time and transaction time: an organisation imports its history with
//! `effective_from`, Check answers for moments before the first apply, and `known_at` tells
//! what purposed answered then from what it knows now.

use purposed::proto::{
    ApplyManifestRequest, ApplyManifestResponse, CheckRequest, CheckResponse, Decision,
    ListRevisionsRequest, ReasonCode,
};
use tonic::Code;

use crate::{
    decision::{check, codes, question, shop_manifest},
    support::{self, TestApp, spawn_app},
};

fn timestamp(text: &str) -> prost_types::Timestamp {
    purposed::grpc::wire::timestamp(text.parse().expect("RFC 3339"))
}

fn moment(at: Option<prost_types::Timestamp>) -> jiff::Timestamp {
    let at = at.expect("a timestamp");
    jiff::Timestamp::new(at.seconds, at.nanos).expect("a valid timestamp")
}

/// The shop as it was before the courier received phone numbers.
fn shop_before_phones() -> String {
    let today = shop_manifest();
    let before = today.replace(
        "categories: [user.identity.name, user.contact.phone, user.transactions.delivery]",
        "categories: [user.identity.name, user.transactions.delivery]",
    );
    assert_ne!(before, today, "the example's courier engagement moved");
    before
}

async fn apply_from(app: &TestApp, manifest: &str, effective_from: &str) -> ApplyManifestResponse {
    app.registry()
        .apply_manifest(ApplyManifestRequest {
            manifest: manifest.to_owned(),
            effective_from: Some(timestamp(effective_from)),
            ..Default::default()
        })
        .await
        .expect("apply")
        .into_inner()
}

/// orders / user.contact.phone / courier, at `at`, known at `known_at` (now when `None`).
async fn phone_to_courier(
    app: &TestApp,
    at: &str,
    known_at: Option<prost_types::Timestamp>,
) -> CheckResponse {
    check(
        app,
        CheckRequest {
            at: Some(timestamp(at)),
            known_at,
            ..question("example-shop", "orders", "user.contact.phone", "courier")
        },
    )
    .await
}

#[tokio::test]
async fn an_imported_history_answers_for_its_own_dates_and_for_what_was_known_when() {
    let app = spawn_app().await;
    // The history, imported today: the shop's first notice took effect on 2023-06-01, the
    // one that gave the courier phone numbers on 2024-09-01.
    let first = apply_from(&app, &shop_before_phones(), "2023-06-01T00:00:00Z").await;
    let second = apply_from(&app, &shop_manifest(), "2024-09-01T00:00:00Z").await;
    assert_eq!((first.revision, second.revision), (1, 2));
    assert_eq!(
        moment(first.effective_from),
        "2023-06-01T00:00:00Z".parse().unwrap()
    );
    assert!(moment(second.applied_at) > moment(first.applied_at));

    // Both dates are before either apply: the history answers them.
    let early = phone_to_courier(&app, "2024-01-15T12:00:00Z", None).await;
    assert_eq!(early.decision(), Decision::Deny);
    assert_eq!(early.revision, 1);
    assert!(codes(&early).contains(&ReasonCode::RecipientNotEngaged));
    assert_eq!(
        moment(early.revision_effective_from),
        "2023-06-01T00:00:00Z".parse().unwrap()
    );
    assert_eq!(moment(early.revision_applied_at), moment(first.applied_at));
    assert_eq!(moment(early.at), "2024-01-15T12:00:00Z".parse().unwrap());
    assert!(moment(early.known_at) >= moment(second.applied_at));

    let later = phone_to_courier(&app, "2025-01-15T12:00:00Z", None).await;
    assert_eq!(later.decision(), Decision::Allow);
    assert_eq!(later.revision, 2);

    // Before the first notice took effect, no revision describes the processing.
    let before = phone_to_courier(&app, "2023-01-01T00:00:00Z", None).await;
    assert_eq!(before.decision(), Decision::Deny);
    assert_eq!(codes(&before), [ReasonCode::UnknownOrganisation]);
    assert!(
        before.reasons[0].message.contains("by what was known at"),
        "{}",
        before.reasons[0].message
    );

    // What purposed knew once only the first revision was applied: 2025 too was revision 1.
    let then = phone_to_courier(&app, "2025-01-15T12:00:00Z", first.applied_at).await;
    assert_eq!((then.decision(), then.revision), (Decision::Deny, 1));
    assert_eq!(moment(then.known_at), moment(first.applied_at));

    // A correction found later: the courier had phone numbers from 2024-03-01. The same
    // content as the latest revision, with another effective_from, is a revision.
    let correction = apply_from(&app, &shop_manifest(), "2024-03-01T00:00:00Z").await;
    assert!(correction.changed);
    assert_eq!(correction.revision, 3);
    let corrected = phone_to_courier(&app, "2024-06-01T00:00:00Z", None).await;
    assert_eq!(
        (corrected.decision(), corrected.revision),
        (Decision::Allow, 3)
    );
    // ... which does not rewrite what was answered before it was known.
    let as_answered = phone_to_courier(&app, "2024-06-01T00:00:00Z", second.applied_at).await;
    assert_eq!(
        (as_answered.decision(), as_answered.revision),
        (Decision::Deny, 1)
    );
    // Re-applying it with the same effective_from changes nothing.
    let again = apply_from(&app, &shop_manifest(), "2024-03-01T00:00:00Z").await;
    assert_eq!((again.changed, again.revision), (false, 3));

    // Nothing was known before the first apply.
    let mut before_any = first.applied_at.expect("applied_at");
    before_any.seconds -= 1;
    let unknown = phone_to_courier(&app, "2025-01-15T12:00:00Z", Some(before_any)).await;
    assert_eq!(codes(&unknown), [ReasonCode::UnknownOrganisation]);

    // The times are stored: after a restart, the same answers and the same revisions.
    let (ended, database) = app.stop().await;
    ended.expect("clean stop");
    let app = support::start(support::settings(&database.url), database).await;
    support::wait_until_serving(&app).await;
    let revisions = app
        .registry()
        .list_revisions(ListRevisionsRequest {
            organisation: "example-shop".into(),
            ..Default::default()
        })
        .await
        .expect("list revisions")
        .into_inner()
        .revisions;
    let effective: Vec<(u64, jiff::Timestamp)> = revisions
        .iter()
        .map(|revision| (revision.number, moment(revision.effective_from)))
        .collect();
    assert_eq!(
        effective,
        [
            (3, "2024-03-01T00:00:00Z".parse().unwrap()),
            (2, "2024-09-01T00:00:00Z".parse().unwrap()),
            (1, "2023-06-01T00:00:00Z".parse().unwrap()),
        ]
    );
    let as_answered = phone_to_courier(&app, "2024-06-01T00:00:00Z", second.applied_at).await;
    assert_eq!(as_answered.revision, 1);
    let corrected = phone_to_courier(&app, "2024-06-01T00:00:00Z", None).await;
    assert_eq!(corrected.revision, 3);
}

#[tokio::test]
async fn a_revision_without_effective_from_takes_effect_when_applied_and_one_may_be_scheduled() {
    let app = spawn_app().await;
    let applied = crate::decision::apply(&app, &shop_before_phones()).await;
    assert_eq!(applied.effective_from, applied.applied_at);
    // Phones for the courier from a day far ahead: today still answers from revision 1.
    let scheduled = apply_from(&app, &shop_manifest(), "2099-01-01T00:00:00Z").await;
    assert_eq!(scheduled.revision, 2);
    let today = check(
        &app,
        question("example-shop", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!((today.decision(), today.revision), (Decision::Deny, 1));
    let then = phone_to_courier(&app, "2099-06-01T00:00:00Z", None).await;
    assert_eq!((then.decision(), then.revision), (Decision::Allow, 2));
}

#[tokio::test]
async fn known_at_after_now_is_refused_with_its_field_named() {
    let app = spawn_app().await;
    crate::decision::apply(&app, &shop_manifest()).await;
    let status = app
        .decision()
        .check(CheckRequest {
            known_at: Some(timestamp("2999-01-01T00:00:00Z")),
            ..question("example-shop", "orders", "user.contact.phone", "courier")
        })
        .await
        .expect_err("a known_at in the future");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("known_at"),
        "{}",
        status.message()
    );
    let bad = app
        .registry()
        .apply_manifest(ApplyManifestRequest {
            manifest: shop_manifest(),
            effective_from: Some(prost_types::Timestamp {
                seconds: 0,
                nanos: -1,
            }),
            ..Default::default()
        })
        .await
        .expect_err("a malformed effective_from");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("effective_from"),
        "{}",
        bad.message()
    );
}
