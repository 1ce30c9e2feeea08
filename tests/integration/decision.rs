use std::time::Duration;

use prost::Message as _;
use purposed::proto::{
    self, ApplyManifestRequest, BatchCheckRequest, CheckRequest, CheckResponse, Decision,
    ListRecipientsRequest, ReasonCode, ReasonEffect, TransferMechanism,
    benchmark_service_client::BenchmarkServiceClient,
};
use tonic::Code;

use crate::support::{TestApp, spawn_app, spawn_with};

/// The complete example of docs/manifest.md.
pub fn shop_manifest() -> String {
    let doc = include_str!("../../docs/manifest.md");
    let start = doc
        .find("```yaml\nversion: 1\norganisation:\n  id: example-shop")
        .expect("docs/manifest.md has the complete example");
    let body = &doc[start + "```yaml\n".len()..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

pub async fn apply(app: &TestApp, manifest: &str) -> proto::ApplyManifestResponse {
    app.registry()
        .apply_manifest(ApplyManifestRequest {
            manifest: manifest.to_owned(),
            dry_run: false,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect("apply")
        .into_inner()
}

pub fn question(
    organisation: &str,
    purpose: &str,
    category: &str,
    recipient: &str,
) -> CheckRequest {
    CheckRequest {
        organisation: organisation.into(),
        purpose: purpose.into(),
        category: category.into(),
        recipient: recipient.into(),
        ..Default::default()
    }
}

pub async fn check(app: &TestApp, request: CheckRequest) -> CheckResponse {
    app.decision()
        .check(request)
        .await
        .expect("check")
        .into_inner()
}

/// An answer without the question's times, which are "now" when the question gives none: two
/// answers to the same question asked at two moments differ only there.
pub fn timeless(mut response: CheckResponse) -> CheckResponse {
    response.at = None;
    response.known_at = None;
    response
}

pub fn codes(response: &CheckResponse) -> Vec<ReasonCode> {
    response
        .reasons
        .iter()
        .map(|reason| ReasonCode::try_from(reason.code).expect("known code"))
        .collect()
}

fn timestamp(text: &str) -> prost_types::Timestamp {
    purposed::grpc::wire::timestamp(text.parse().expect("RFC 3339"))
}

#[tokio::test]
async fn check_answers_from_the_applied_registry_with_reasons() {
    let app = spawn_app().await;
    let applied = apply(&app, &shop_manifest()).await;
    assert_eq!(
        (applied.organisation.as_str(), applied.revision),
        ("example-shop", 1)
    );

    let allowed = check(
        &app,
        question("example-shop", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!(allowed.decision(), Decision::Allow);
    assert_eq!(allowed.revision, 1);
    let basis = &allowed.reasons[0];
    assert_eq!(basis.code(), ReasonCode::LegalBasis);
    assert_eq!(basis.article, "Art. 6(1)(b)");
    assert_eq!(basis.source, "Privacy policy §3.1");
    assert_eq!(basis.effect(), ReasonEffect::Allow);
    assert!(
        allowed
            .transfers
            .iter()
            .all(|transfer| transfer.mechanism() == TransferMechanism::WithinEea)
    );
    assert_eq!(allowed.obligations.len(), 1, "the 7-year retention applies");

    let denied = check(
        &app,
        question("example-shop", "orders", "user.contact.email", "courier"),
    )
    .await;
    assert_eq!(denied.decision(), Decision::Deny);
    let refusal = denied
        .reasons
        .iter()
        .find(|reason| reason.code() == ReasonCode::RecipientNotEngaged)
        .expect("RECIPIENT_NOT_ENGAGED");
    assert_eq!(refusal.effect(), ReasonEffect::Deny);
    assert_eq!(refusal.article, "Art. 28(1)");
    assert!(refusal.message.contains("courier"), "{}", refusal.message);
    assert!(
        denied.obligations.is_empty(),
        "a denial carries no obligations"
    );

    let conditional = check(
        &app,
        question("example-shop", "newsletter", "user.contact.email", "mailer"),
    )
    .await;
    assert_eq!(conditional.decision(), Decision::Conditional);
    let found = codes(&conditional);
    for expected in [
        ReasonCode::ConsentRequired,
        ReasonCode::NoObjectionRequired,
        ReasonCode::TransferDpf,
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    assert_eq!(conditional.transfers[0].country, "US");
    assert_eq!(conditional.transfers[0].mechanism(), TransferMechanism::Dpf);

    // With a subject that has given no consent, the consent purpose is denied.
    let mut with_subject = question("example-shop", "newsletter", "user.contact.email", "mailer");
    with_subject.subject = Some("customer-4711".into());
    let denied = check(&app, with_subject).await;
    assert_eq!(denied.decision(), Decision::Deny);
    assert!(codes(&denied).contains(&ReasonCode::ConsentMissing));
}

#[tokio::test]
async fn ids_that_do_not_resolve_are_deny_decisions() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;

    let unknown = check(
        &app,
        question("nobody", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!(unknown.decision(), Decision::Deny);
    assert_eq!(unknown.revision, 0);
    assert_eq!(codes(&unknown), [ReasonCode::UnknownOrganisation]);

    let all = check(
        &app,
        question("example-shop", "gone", "user.nothing", "ghost"),
    )
    .await;
    assert_eq!(all.decision(), Decision::Deny);
    assert_eq!(
        codes(&all)[..3],
        [
            ReasonCode::UnknownPurpose,
            ReasonCode::UnknownCategory,
            ReasonCode::UnknownRecipient
        ]
    );
}

#[tokio::test]
async fn in_house_processing_skips_disclosure_checks() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let response = check(
        &app,
        question(
            "example-shop",
            "orders",
            "user.transactions.orders",
            "example-shop",
        ),
    )
    .await;
    assert_eq!(response.decision(), Decision::Allow);
    assert!(codes(&response).contains(&ReasonCode::InHouse));
    assert!(response.transfers.is_empty());
}

#[tokio::test]
async fn batch_check_answers_in_order_and_names_the_bad_item() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let questions = vec![
        question("example-shop", "orders", "user.contact.email", "courier"),
        question("example-shop", "orders", "user.contact.phone", "courier"),
        question("example-shop", "newsletter", "user.contact.email", "mailer"),
    ];
    let results = app
        .decision()
        .batch_check(BatchCheckRequest {
            checks: questions.clone(),
        })
        .await
        .expect("batch")
        .into_inner()
        .results;
    let decisions: Vec<Decision> = results.iter().map(CheckResponse::decision).collect();
    assert_eq!(
        decisions,
        [Decision::Deny, Decision::Allow, Decision::Conditional]
    );
    // Each answer equals the single Check of the same question.
    for (asked, answered) in questions.into_iter().zip(&results) {
        assert_eq!(
            timeless(check(&app, asked).await),
            timeless(answered.clone())
        );
    }

    let mut bad = vec![question("example-shop", "orders", "user.contact.email", "courier"); 2];
    bad[1].purpose = String::new();
    let status = app
        .decision()
        .batch_check(BatchCheckRequest { checks: bad })
        .await
        .expect_err("invalid item");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("checks[1].purpose"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn list_recipients_names_who_may_receive_with_the_transfer_mechanism() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let request = ListRecipientsRequest {
        organisation: "example-shop".into(),
        purpose: "orders".into(),
        category: "user.contact.phone".into(),
        ..Default::default()
    };
    let listed = app
        .decision()
        .list_recipients(request.clone())
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<&str> = listed
        .recipients
        .iter()
        .map(|recipient| recipient.recipient.as_str())
        .collect();
    assert_eq!(ids, ["aws", "courier"]);
    assert_eq!(listed.revision, 1);
    assert!(
        listed
            .recipients
            .iter()
            .all(|recipient| recipient.decision() == Decision::Allow)
    );
    assert_eq!(listed.recipients[1].transfers.len(), 3);

    // Only AWS may receive the e-mail address for orders.
    let email = app
        .decision()
        .list_recipients(ListRecipientsRequest {
            category: "user.contact.email".into(),
            ..request.clone()
        })
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<&str> = email
        .recipients
        .iter()
        .map(|recipient| recipient.recipient.as_str())
        .collect();
    assert_eq!(ids, ["aws"]);

    let everyone = app
        .decision()
        .list_recipients(ListRecipientsRequest {
            category: "user.contact.email".into(),
            include_denied: true,
            ..request.clone()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(everyone.recipients.len(), 3);
    assert!(
        everyone
            .recipients
            .iter()
            .any(|recipient| recipient.decision() == Decision::Deny)
    );

    let missing = app
        .decision()
        .list_recipients(ListRecipientsRequest {
            purpose: "nothing".into(),
            ..request
        })
        .await
        .expect_err("unknown purpose");
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn a_past_moment_is_answered_with_the_revision_in_force_then() {
    let app = spawn_app().await;
    let manifest = shop_manifest();
    apply(&app, &manifest).await;
    let first_applied = app
        .registry()
        .get_revision(proto::GetRevisionRequest {
            organisation: "example-shop".into(),
            revision: Some(1),
        })
        .await
        .expect("revision 1")
        .into_inner()
        .revision
        .expect("revision")
        .applied_at
        .expect("applied_at");

    // Revision 2 stops engaging the courier for the phone number.
    let changed = manifest.replace(
        "categories: [user.identity.name, user.contact.phone, user.transactions.delivery]",
        "categories: [user.identity.name, user.transactions.delivery]",
    );
    assert_ne!(changed, manifest);
    let second = apply(&app, &changed).await;
    assert_eq!(second.revision, 2);
    assert!(
        second
            .decision_changes
            .iter()
            .any(|change| change.purpose == "orders"
                && change.category == "user.contact.phone"
                && change.recipient == "courier"
                && change.after() == Decision::Deny)
    );

    let now = check(
        &app,
        question("example-shop", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!((now.decision(), now.revision), (Decision::Deny, 2));

    let mut then = question("example-shop", "orders", "user.contact.phone", "courier");
    then.at = Some(prost_types::Timestamp {
        seconds: first_applied.seconds,
        nanos: first_applied.nanos,
    });
    let past = check(&app, then.clone()).await;
    assert_eq!((past.decision(), past.revision), (Decision::Allow, 1));

    then.at = Some(timestamp("2001-01-01T00:00:00Z"));
    let before = check(&app, then).await;
    assert_eq!(codes(&before), [ReasonCode::UnknownOrganisation]);
    assert!(
        before.reasons[0].message.contains("in force"),
        "{}",
        before.reasons[0].message
    );
}

#[tokio::test]
async fn retention_counts_from_collection() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let mut asked = question("example-shop", "orders", "user.contact.phone", "courier");
    asked.collected_at = Some(timestamp("2010-01-01T00:00:00Z"));
    let expired = check(&app, asked.clone()).await;
    assert_eq!(expired.decision(), Decision::Deny);
    assert!(codes(&expired).contains(&ReasonCode::RetentionExpired));

    asked.collected_at = Some(timestamp("2026-01-01T00:00:00Z"));
    let kept = check(&app, asked).await;
    assert_eq!(kept.decision(), Decision::Allow);
    let due = kept.obligations[0].due.expect("due");
    assert_eq!(due, timestamp("2033-01-01T00:00:00Z"));
}

#[tokio::test]
async fn min_revision_waits_then_answers_unavailable() {
    let app =
        spawn_with(|settings| settings.limits.min_revision_wait = Duration::from_secs(3)).await;
    apply(&app, &shop_manifest()).await;
    let mut asked = question("example-shop", "orders", "user.contact.phone", "courier");
    asked.min_revision = Some(1);
    assert_eq!(check(&app, asked.clone()).await.revision, 1);

    // A Check that needs revision 2 waits for the apply that produces it (or, had the apply
    // come first, finds it at once): either way it answers from revision 2.
    asked.min_revision = Some(2);
    let waiting = {
        let mut client = app.decision();
        let asked = asked.clone();
        tokio::spawn(async move { client.check(asked).await })
    };
    apply(
        &app,
        &shop_manifest().replace("Courier AS", "Courier AS (renamed)"),
    )
    .await;
    let answered = waiting
        .await
        .expect("task")
        .expect("answered within the wait");
    assert_eq!(answered.into_inner().revision, 2);

    // Nothing will produce revision 3: after the wait, UNAVAILABLE.
    asked.min_revision = Some(3);
    let status = app.decision().check(asked).await.expect_err("not loaded");
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("revision 3"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn the_benchmark_noop_is_served_only_when_asked_for() {
    let app = spawn_app().await;
    let status = BenchmarkServiceClient::new(app.channel.clone())
        .noop(question(
            "peero",
            "notifications",
            "user.device.identifier",
            "onesignal",
        ))
        .await
        .expect_err("no no-op without --bench-noop");
    assert_eq!(status.code(), Code::Unimplemented);
}

#[tokio::test]
async fn the_benchmark_noop_answers_in_the_size_and_shape_of_check() {
    let app = spawn_with(|settings| {
        settings.demo = true;
        settings.bench_noop = true;
    })
    .await;
    let asked = question(
        "peero",
        "notifications",
        "user.device.identifier",
        "onesignal",
    );
    let checked = app
        .decision()
        .check(asked.clone())
        .await
        .expect("check")
        .into_inner();
    let noop = BenchmarkServiceClient::new(app.channel.clone())
        .noop(asked)
        .await
        .expect("noop")
        .into_inner();
    // The floor is only a fair one if it encodes as much as Check does.
    let (checked_len, noop_len) = (checked.encoded_len(), noop.encoded_len());
    assert!(
        checked_len.abs_diff(noop_len) * 10 <= checked_len,
        "noop answer {noop_len} bytes, check answer {checked_len} bytes"
    );
    assert_eq!(noop.decision, checked.decision);
    assert_eq!(codes(&noop), codes(&checked));
    assert_eq!(noop.transfers.len(), checked.transfers.len());
}
