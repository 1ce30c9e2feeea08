//! SubjectService: what a subject records changes the next Check at once.

use purposed::proto::{
    CheckRequest, ConsentAction, Decision, GetSubjectStateRequest, LiftRestrictionRequest,
    ReasonCode, RecordCompellingGroundsRequest, RecordConsentRequest, RecordObjectionRequest,
    SetBirthRequest, WithdrawObjectionRequest,
};
use tonic::Code;

use crate::{
    decision::{apply, check, codes},
    support::{self, TestApp, spawn_app},
};

/// An organisation whose purposes show every subject rule.
pub const DESK: &str = r#"
version: 1
organisation:
  id: desk
  legal_name: Desk SIA
  country: LV
  role: controller
  dpo: {email: dpo@desk.example}
  source: "desk policy §1"
recipients:
  - id: aws
    name: AWS EMEA SARL
    kind: processor
    locations: [IE]
    agreements: [{reference: AWS DPA, effective_from: 2020-01-01, source: "desk subprocessors row 1"}]
    source: "desk subprocessors row 1"
  - id: mailer
    name: Mailer Inc.
    kind: processor
    locations: [US]
    agreements: [{reference: Mailer DPA, effective_from: 2020-01-01, source: "desk subprocessors row 2"}]
    safeguards: [{mechanism: dpf, source: "desk policy §11"}]
    source: "desk subprocessors row 2"
  - id: accountant
    name: Books SIA
    kind: processor
    locations: [LV]
    agreements: [{reference: Books DPA, effective_from: 2020-01-01, source: "desk subprocessors row 3"}]
    source: "desk subprocessors row 3"
  - id: courier
    name: Courier AS
    kind: independent_controller
    locations: [LV, EE]
    source: "desk policy §6"
purposes:
  - id: orders
    name: Orders
    legal_basis: contract
    categories: [user.identity.name, user.contact, user.transactions]
    data_sources: [the customer]
    recipients: [{id: aws}, {id: courier, categories: [user.identity.name, user.contact.phone, user.transactions.delivery]}]
    retention: [{period: P1Y, from: contract_end, source: "desk policy §7"}]
    source: "desk policy §3.1"
  - id: newsletter
    name: Newsletter
    legal_basis: consent
    direct_marketing: true
    categories: [user.contact.email]
    recipients: [{id: mailer}]
    source: "desk policy §3.4"
  - id: bookkeeping
    name: Bookkeeping
    legal_basis: legal_obligation
    categories: [user.financial, user.transactions]
    recipients: [{id: accountant}]
    retention: [{period: P7Y, from: collection, source: "desk policy §7"}]
    source: "desk policy §3.3"
  - id: analytics
    name: Analytics
    legal_basis: legitimate_interests
    balancing_test: "LIA 2026-01"
    categories: [user.online]
    recipients: [{id: aws}]
    source: "desk policy §3.5"
  - id: backups
    name: Backups
    legal_basis: legitimate_interests
    balancing_test: "LIA 2026-02"
    storage_only: true
    categories: [user]
    recipients: [{id: aws}]
    source: "desk policy §10"
"#;

pub async fn desk() -> TestApp {
    let app = spawn_app().await;
    apply(&app, DESK).await;
    app
}

pub fn ask(purpose: &str, category: &str, recipient: &str, subject: &str) -> CheckRequest {
    CheckRequest {
        organisation: "desk".into(),
        purpose: purpose.into(),
        category: category.into(),
        recipient: recipient.into(),
        subject: Some(subject.into()),
        ..Default::default()
    }
}

fn consent(subject: &str, purpose: &str, action: ConsentAction) -> RecordConsentRequest {
    RecordConsentRequest {
        organisation: "desk".into(),
        subject: subject.into(),
        purpose: purpose.into(),
        action: action as i32,
        notice_version: "2026-01".into(),
        source: "signup form".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_consent_changes_the_next_check_at_once() {
    let app = desk().await;
    let subject = "customer-4711@example.com";
    let before = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(before.decision(), Decision::Deny);
    assert!(codes(&before).contains(&ReasonCode::ConsentMissing));

    let recorded = app
        .subjects()
        .record_consent(consent(subject, "newsletter", ConsentAction::Grant))
        .await
        .expect("grant")
        .into_inner()
        .state
        .expect("state");
    assert_eq!(recorded.subject_ref.len(), 64);
    assert!(
        !recorded.subject_ref.contains("4711"),
        "only the pseudonym comes back"
    );
    assert_eq!(recorded.consents.len(), 1);

    let granted = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(granted.decision(), Decision::Allow);
    assert!(codes(&granted).contains(&ReasonCode::ConsentGiven));
    // Another subject is not touched.
    let other = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", "someone-else"),
    )
    .await;
    assert_eq!(other.decision(), Decision::Deny);

    app.subjects()
        .record_consent(consent(subject, "newsletter", ConsentAction::Withdraw))
        .await
        .expect("withdraw");
    let withdrawn = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(withdrawn.decision(), Decision::Deny);
    assert!(codes(&withdrawn).contains(&ReasonCode::ConsentWithdrawn));

    let refused = app
        .subjects()
        .record_consent(consent(subject, "orders", ConsentAction::Grant))
        .await
        .expect_err("orders rest on a contract");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    let unknown = app
        .subjects()
        .record_consent(consent(subject, "nothing", ConsentAction::Grant))
        .await
        .expect_err("no such purpose");
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn the_consent_age_and_parental_consent_apply() {
    let app = desk().await;
    let child = "child-1";
    app.subjects()
        .set_birth(SetBirthRequest {
            organisation: "desk".into(),
            subject: child.into(),
            birth_year: 2016,
            ..Default::default()
        })
        .await
        .expect("birth");
    app.subjects()
        .record_consent(consent(child, "newsletter", ConsentAction::Grant))
        .await
        .expect("grant");
    let below = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", child),
    )
    .await;
    assert_eq!(below.decision(), Decision::Deny);
    assert!(codes(&below).contains(&ReasonCode::BelowConsentAge));

    let mut parental = consent(child, "newsletter", ConsentAction::Grant);
    parental.parental = true;
    app.subjects()
        .record_consent(parental)
        .await
        .expect("parental grant");
    let allowed = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", child),
    )
    .await;
    assert_eq!(allowed.decision(), Decision::Allow);
    assert!(codes(&allowed).contains(&ReasonCode::ParentalConsent));
}

#[tokio::test]
async fn objections_apply_at_once_and_only_where_they_should() {
    let app = desk().await;
    let subject = "objector";
    app.subjects()
        .record_consent(consent(subject, "newsletter", ConsentAction::Grant))
        .await
        .expect("grant");
    app.subjects()
        .record_objection(RecordObjectionRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            direct_marketing: true,
            ..Default::default()
        })
        .await
        .expect("object to direct marketing");
    let marketing = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(marketing.decision(), Decision::Deny);
    assert!(codes(&marketing).contains(&ReasonCode::ObjectionActive));
    let analytics = check(&app, ask("analytics", "user.online.usage", "aws", subject)).await;
    assert_eq!(
        analytics.decision(),
        Decision::Allow,
        "a direct-marketing objection leaves other purposes"
    );

    app.subjects()
        .record_objection(RecordObjectionRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "analytics".into(),
            ..Default::default()
        })
        .await
        .expect("object to analytics");
    let objected = check(&app, ask("analytics", "user.online.usage", "aws", subject)).await;
    assert_eq!(objected.decision(), Decision::Deny);

    app.subjects()
        .record_compelling_grounds(RecordCompellingGroundsRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "analytics".into(),
            grounds: "fraud detection on the account".into(),
        })
        .await
        .expect("grounds");
    let overridden = check(&app, ask("analytics", "user.online.usage", "aws", subject)).await;
    assert_eq!(overridden.decision(), Decision::Allow);
    assert!(codes(&overridden).contains(&ReasonCode::CompellingGrounds));

    app.subjects()
        .withdraw_objection(WithdrawObjectionRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            direct_marketing: true,
            ..Default::default()
        })
        .await
        .expect("withdraw the objection");
    let again = check(
        &app,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(again.decision(), Decision::Allow);

    let not_objectionable = app
        .subjects()
        .record_objection(RecordObjectionRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "bookkeeping".into(),
            ..Default::default()
        })
        .await
        .expect_err("a legal obligation is not objectionable");
    assert_eq!(not_objectionable.code(), Code::FailedPrecondition);
    let no_grounds_for_marketing = app
        .subjects()
        .record_compelling_grounds(RecordCompellingGroundsRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            purpose: "newsletter".into(),
            grounds: "we like marketing".into(),
        })
        .await
        .expect_err("no grounds override a direct-marketing objection");
    assert_eq!(no_grounds_for_marketing.code(), Code::FailedPrecondition);
    let nothing_to_lift = app
        .subjects()
        .lift_restriction(LiftRestrictionRequest {
            organisation: "desk".into(),
            subject: subject.into(),
            note: "told by e-mail".into(),
        })
        .await
        .expect_err("not restricted");
    assert_eq!(nothing_to_lift.code(), Code::NotFound);
}

#[tokio::test]
async fn subject_state_survives_a_restart_under_the_same_key() {
    let app = desk().await;
    let subject = "returning-customer";
    app.subjects()
        .record_consent(consent(subject, "newsletter", ConsentAction::Grant))
        .await
        .expect("grant");
    let (ended, database) = app.stop().await;
    ended.expect("clean stop");
    let restarted = support::start(support::settings(&database.url), database).await;
    support::wait_until_serving(&restarted).await;
    let answer = check(
        &restarted,
        ask("newsletter", "user.contact.email", "mailer", subject),
    )
    .await;
    assert_eq!(
        answer.decision(),
        Decision::Allow,
        "the key (beside SQLite, or configured) finds the subject again"
    );
    let state = restarted
        .subjects()
        .get_subject_state(GetSubjectStateRequest {
            organisation: "desk".into(),
            subject: subject.into(),
        })
        .await
        .expect("state")
        .into_inner()
        .state
        .expect("state");
    assert_eq!(state.consents.len(), 1);
    assert_eq!(state.consents[0].source, "signup form");
}

#[tokio::test]
async fn subject_calls_refuse_bad_input() {
    let app = desk().await;
    let empty_subject = app
        .subjects()
        .record_consent(consent("", "newsletter", ConsentAction::Grant))
        .await
        .expect_err("empty subject");
    assert_eq!(empty_subject.code(), Code::InvalidArgument);
    assert!(
        empty_subject.message().contains("subject"),
        "{}",
        empty_subject.message()
    );

    let mut unknown_action = consent("s", "newsletter", ConsentAction::Grant);
    unknown_action.action = 9;
    let status = app
        .subjects()
        .record_consent(unknown_action)
        .await
        .expect_err("unknown action");
    assert_eq!(status.code(), Code::InvalidArgument);

    let mut future = consent("s", "newsletter", ConsentAction::Grant);
    future.at = Some(prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    });
    let status = app
        .subjects()
        .record_consent(future)
        .await
        .expect_err("future");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("future"), "{}", status.message());

    let mut nowhere = consent("s", "newsletter", ConsentAction::Grant);
    nowhere.organisation = "nowhere".into();
    let status = app
        .subjects()
        .record_consent(nowhere)
        .await
        .expect_err("unknown organisation");
    assert_eq!(status.code(), Code::NotFound);

    let both = app
        .subjects()
        .set_birth(SetBirthRequest {
            organisation: "desk".into(),
            subject: "s".into(),
            birth_date: "2010-01-01".into(),
            birth_year: 2010,
        })
        .await
        .expect_err("both");
    assert_eq!(both.code(), Code::InvalidArgument);
}

/// Sendberry collects no data of anyone under 18 (002 §2.10): a consenting 16-year-old is
/// denied targeted advertising, with or without a parent's consent, and so is every other
/// purpose; a subject whose birth is not recorded is judged on consent alone.
#[tokio::test]
async fn sendberry_serves_no_one_under_eighteen_whatever_the_purpose() {
    let app = support::spawn_demo().await;
    let sixteen = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .year()
        - 16;
    let sendberry = |subject: &str, purpose: &str, category: &str, recipient: &str| CheckRequest {
        organisation: "sendberry".into(),
        purpose: purpose.into(),
        category: category.into(),
        recipient: recipient.into(),
        subject: Some(subject.into()),
        ..Default::default()
    };
    for (subject, birth_year) in [
        ("teen@example.lv", Some(sixteen)),
        ("adult@example.lv", None),
    ] {
        if let Some(year) = birth_year {
            app.subjects()
                .set_birth(SetBirthRequest {
                    organisation: "sendberry".into(),
                    subject: subject.into(),
                    birth_year: i32::from(year),
                    ..Default::default()
                })
                .await
                .expect("birth");
        }
        app.subjects()
            .record_consent(RecordConsentRequest {
                organisation: "sendberry".into(),
                subject: subject.into(),
                purpose: "advertising".into(),
                action: ConsentAction::Grant as i32,
                source: "cookie banner".into(),
                parental: birth_year.is_some(),
                ..Default::default()
            })
            .await
            .expect("consent");
    }
    let advertising = |subject| {
        sendberry(
            subject,
            "advertising",
            "user.online.cookies",
            "advertising-networks",
        )
    };
    let teen = check(&app, advertising("teen@example.lv")).await;
    assert_eq!(teen.decision(), Decision::Deny);
    assert!(codes(&teen).contains(&ReasonCode::BelowServiceAge));
    let reason = teen
        .reasons
        .iter()
        .find(|reason| reason.code() == ReasonCode::BelowServiceAge)
        .expect("the reason");
    assert!(reason.source.contains("002 §2.10"), "{}", reason.source);
    assert!(!reason.message.contains("teen@"), "{}", reason.message);

    let adult = check(&app, advertising("adult@example.lv")).await;
    assert_eq!(adult.decision(), Decision::Allow, "{:?}", codes(&adult));
    assert!(!codes(&adult).contains(&ReasonCode::BelowServiceAge));
}

/// Apollo's Club marketing rests "parasti" (usually) on legitimate interests, with "piekrišana, ja
/// nepieciešams" (consent where necessary, 001 row 1): the manifest says so with `consent_unless`.
/// A member's consent is therefore asked for, and can be recorded (RecordConsent answered
/// FAILED_PRECONDITION while the purpose was encoded as legitimate interests alone), unless the
/// caller asserts the row's usual legitimate-interest case.
#[tokio::test]
async fn apollo_records_a_consent_where_the_document_says_it_is_needed() {
    use purposed::proto::{CheckResponse, ReasonEffect};

    let app = support::spawn_demo().await;
    let member = "member-4711@example.com";
    let club_marketing = |subject: &str, conditions: &[&str]| CheckRequest {
        organisation: "apollo".into(),
        purpose: "club-marketing".into(),
        category: "user.contact.email".into(),
        // In-house: 001 names no recipient for Club marketing.
        recipient: "apollo".into(),
        subject: Some(subject.into()),
        satisfied_conditions: conditions.iter().map(|id| (*id).to_owned()).collect(),
        ..Default::default()
    };
    let denials = |response: &CheckResponse| -> Vec<ReasonCode> {
        response
            .reasons
            .iter()
            .filter(|reason| reason.effect() == ReasonEffect::Deny)
            .map(|reason| reason.code())
            .collect()
    };

    // No consent and no condition: consent is needed, and missing.
    let before = check(&app, club_marketing(member, &[])).await;
    assert_eq!(before.decision(), Decision::Deny);
    assert!(
        codes(&before).contains(&ReasonCode::ConsentMissing),
        "{:?}",
        codes(&before)
    );

    let recorded = app
        .subjects()
        .record_consent(RecordConsentRequest {
            organisation: "apollo".into(),
            subject: member.into(),
            purpose: "club-marketing".into(),
            action: ConsentAction::Grant as i32,
            notice_version: "001".into(),
            source: "Apollo Club sign-up form".into(),
            ..Default::default()
        })
        .await
        .expect("consent to Club marketing can be recorded")
        .into_inner()
        .state
        .expect("state");
    assert_eq!(recorded.consents.len(), 1);

    // Where consent is necessary it is the basis (Art. 6(1)(a)): with it on record the member's
    // Club marketing is allowed, though the row's legitimate interests record no balancing test.
    let after = check(&app, club_marketing(member, &[])).await;
    assert!(
        codes(&after).contains(&ReasonCode::ConsentGiven),
        "{:?}",
        codes(&after)
    );
    assert!(!codes(&after).contains(&ReasonCode::ConsentMissing));
    assert_eq!(after.decision(), Decision::Allow, "{:?}", codes(&after));
    let basis = after
        .reasons
        .iter()
        .find(|reason| reason.code() == ReasonCode::LegalBasis)
        .expect("LEGAL_BASIS");
    assert_eq!(basis.article, "Art. 6(1)(a)");

    // The usual legitimate-interest case asserted, for a member without any consent: no consent is
    // asked for, and the interests alone answer, which without a balancing test (001 refers to
    // none; the manifest keeps `legitimate_interests_without_test: deny`) deny.
    let asserted = check(
        &app,
        club_marketing(
            "member-4712@example.com",
            &["club-legitimate-interest-case"],
        ),
    )
    .await;
    assert!(
        !codes(&asserted).contains(&ReasonCode::ConsentMissing),
        "{:?}",
        codes(&asserted)
    );
    assert!(!codes(&asserted).contains(&ReasonCode::ConsentGiven));
    assert_eq!(asserted.decision(), Decision::Deny);
    assert_eq!(denials(&asserted), [ReasonCode::NoLegalBasis]);
}
