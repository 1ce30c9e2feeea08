use purposed::proto::{
    ApplyManifestRequest, Decision, GetOrganisationRequest, GetRevisionRequest,
    ListCategoriesRequest, ListOrganisationsRequest, ListPurposesRequest,
    ListRegisteredRecipientsRequest, ListRevisionsRequest, OrganisationRole, RecipientKind,
    Sensitivity,
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    decision::{apply, check, question, shop_manifest},
    support::{self, example, spawn_app},
};

async fn revisions(app: &support::TestApp, organisation: &str) -> Vec<u64> {
    app.registry()
        .list_revisions(ListRevisionsRequest {
            organisation: organisation.into(),
            ..Default::default()
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions
        .iter()
        .map(|revision| revision.number)
        .collect()
}

#[tokio::test]
async fn reapplying_the_same_content_creates_no_revision() {
    let app = spawn_app().await;
    let manifest = shop_manifest();
    let first = apply(&app, &manifest).await;
    assert!(first.changed);
    assert_eq!(first.revision, 1);

    // Same content, other layout, order and comments.
    let reordered = format!(
        "# reformatted\n{}",
        manifest.replace(
            "categories: [user.identity.name, user.contact, user.transactions]",
            "categories: [user.transactions, user.contact, user.identity.name]",
        )
    );
    let second = apply(&app, &reordered).await;
    assert!(!second.changed);
    assert_eq!(second.revision, 1);
    assert!(second.decision_changes.is_empty());
    assert_eq!(revisions(&app, "example-shop").await, [1]);
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    let app = spawn_app().await;
    let manifest = shop_manifest();
    apply(&app, &manifest).await;
    let without_courier_phone = manifest.replace(
        "categories: [user.identity.name, user.contact.phone, user.transactions.delivery]",
        "categories: [user.identity.name, user.transactions.delivery]",
    );
    let dry = app
        .registry()
        .apply_manifest(ApplyManifestRequest {
            manifest: without_courier_phone.clone(),
            dry_run: true,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect("dry run")
        .into_inner();
    assert!(dry.changed);
    assert_eq!(dry.revision, 1, "a dry run reports the current revision");
    let change = dry
        .decision_changes
        .iter()
        .find(|change| change.category == "user.contact.phone" && change.recipient == "courier")
        .expect("the courier loses the phone number");
    assert_eq!(
        (change.before(), change.after()),
        (Decision::Allow, Decision::Deny)
    );
    assert_eq!(revisions(&app, "example-shop").await, [1]);
    let still = check(
        &app,
        question("example-shop", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!(still.decision(), Decision::Allow);
}

#[tokio::test]
async fn an_invalid_manifest_names_every_problem_and_writes_nothing() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let broken = shop_manifest()
        .replace("recipients: [{id: mailer}]", "recipients: [{id: mailre}]")
        .replace("locations: [EE, LV, LT]", "locations: [EE, LV, Lithuania]")
        .replace(
            "Order processing and delivery",
            "Order processing, changed but never stored",
        );
    let status = app
        .registry()
        .apply_manifest(ApplyManifestRequest {
            manifest: broken,
            dry_run: false,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect_err("invalid");
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations: Vec<String> = status
        .get_details_bad_request()
        .expect("field violations")
        .field_violations
        .into_iter()
        .map(|violation| format!("{}: {}", violation.field, violation.description))
        .collect();
    assert!(
        violations.contains(
            &r#"manifest: purposes[1] (newsletter).recipients[0] (mailre): unknown recipient "mailre""#
                .to_owned()
        ),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|violation| violation
                .starts_with("manifest: recipients[2] (courier).locations[2]:")),
        "{violations:?}"
    );
    assert_eq!(revisions(&app, "example-shop").await, [1]);
    let purposes = app
        .registry()
        .list_purposes(ListPurposesRequest {
            organisation: "example-shop".into(),
            ..Default::default()
        })
        .await
        .expect("purposes")
        .into_inner();
    assert!(
        purposes
            .purposes
            .iter()
            .all(|purpose| !purpose.name.contains("never stored"))
    );
}

#[tokio::test]
async fn expected_revision_guards_against_lost_updates() {
    let app = spawn_app().await;
    let manifest = shop_manifest();
    let request = |expected| ApplyManifestRequest {
        manifest: manifest.clone(),
        dry_run: false,
        expected_revision: Some(expected),
        effective_from: None,
    };
    let status = app
        .registry()
        .apply_manifest(request(3))
        .await
        .expect_err("no such revision");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("not the expected 3"),
        "{}",
        status.message()
    );
    let created = app
        .registry()
        .apply_manifest(request(0))
        .await
        .expect("new organisation")
        .into_inner();
    assert_eq!(created.revision, 1);
    let stale = app
        .registry()
        .apply_manifest(request(0))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn the_registry_reads_back_as_applied() {
    let app = spawn_app().await;
    let peero = example("peero");
    apply(&app, peero).await;
    apply(&app, &shop_manifest()).await;
    let mut registry = app.registry();

    let organisation = registry
        .get_organisation(GetOrganisationRequest {
            organisation: "peero".into(),
            revision: None,
            language: String::new(),
        })
        .await
        .expect("organisation")
        .into_inner()
        .organisation
        .expect("organisation");
    assert_eq!(organisation.legal_name, "SIA Peero");
    assert_eq!(organisation.country, "LV");
    assert_eq!(organisation.role(), OrganisationRole::Processor);
    assert_eq!(organisation.revision, 1);

    let all = registry
        .list_organisations(ListOrganisationsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(all.organisations[0].id, "example-shop");
    let rest = registry
        .list_organisations(ListOrganisationsRequest {
            page_size: 1,
            page_token: all.next_page_token,
        })
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(rest.organisations[0].id, "peero");
    assert!(rest.next_page_token.is_empty());

    let mut purposes = Vec::new();
    let mut token = String::new();
    loop {
        let page = registry
            .list_purposes(ListPurposesRequest {
                organisation: "peero".into(),
                revision: None,
                page_size: 2,
                page_token: token,
                language: String::new(),
            })
            .await
            .expect("purposes")
            .into_inner();
        purposes.extend(page.purposes);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let ids: Vec<&str> = purposes.iter().map(|purpose| purpose.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "analytics-reports",
            "app-service",
            "backups",
            "image-storage",
            "notifications"
        ]
    );
    let notifications = purposes
        .iter()
        .find(|purpose| purpose.id == "notifications")
        .expect("notifications");
    let onesignal = notifications
        .engagements
        .iter()
        .find(|engagement| engagement.recipient == "onesignal")
        .expect("onesignal engaged");
    assert_eq!(
        onesignal.categories,
        [
            "user.device.browser",
            "user.device.identifier",
            "user.device.model"
        ]
    );

    let subprocessors = registry
        .list_registered_recipients(ListRegisteredRecipientsRequest {
            organisation: "peero".into(),
            kind: RecipientKind::Subprocessor as i32,
            ..Default::default()
        })
        .await
        .expect("recipients")
        .into_inner();
    assert_eq!(subprocessors.recipients.len(), 6);
    let onesignal = subprocessors
        .recipients
        .iter()
        .find(|recipient| recipient.id == "onesignal")
        .expect("onesignal");
    assert_eq!(onesignal.locations, ["US"]);
    assert_eq!(onesignal.safeguards[0].scc_module, 3);

    let special = registry
        .list_categories(ListCategoriesRequest {
            organisation: "peero".into(),
            sensitivity: Sensitivity::Special as i32,
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("categories")
        .into_inner();
    let keys: Vec<&str> = special
        .categories
        .iter()
        .map(|category| category.key.as_str())
        .collect();
    assert!(keys.contains(&"user.special.health"), "{keys:?}");
    assert!(
        special
            .categories
            .iter()
            .all(|category| category.sensitivity() == Sensitivity::Special)
    );
    assert!(!keys.contains(&"user.contact.email"));

    let revision = registry
        .get_revision(GetRevisionRequest {
            organisation: "peero".into(),
            revision: None,
        })
        .await
        .expect("revision")
        .into_inner();
    assert_eq!(
        revision.manifest, peero,
        "the manifest text is kept exactly"
    );
    assert_eq!(
        revision.revision.expect("revision").manifest_sha256.len(),
        64
    );

    for status in [
        registry
            .get_organisation(GetOrganisationRequest {
                organisation: "nobody".into(),
                revision: None,
                language: String::new(),
            })
            .await
            .expect_err("unknown organisation"),
        registry
            .get_revision(GetRevisionRequest {
                organisation: "peero".into(),
                revision: Some(9),
            })
            .await
            .expect_err("unknown revision"),
        registry
            .list_purposes(ListPurposesRequest {
                organisation: "peero".into(),
                revision: Some(2),
                ..Default::default()
            })
            .await
            .expect_err("unknown revision"),
    ] {
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
}

#[tokio::test]
async fn revisions_survive_a_restart() {
    let app = spawn_app().await;
    let manifest = shop_manifest();
    apply(&app, &manifest).await;
    apply(
        &app,
        &manifest.replace("Courier AS", "Courier AS (renamed)"),
    )
    .await;
    let (ended, database) = app.stop().await;
    ended.expect("clean stop");
    let settings = support::settings(&database.url);
    let restarted = support::start(settings, database).await;
    support::wait_until_serving(&restarted).await;
    assert_eq!(revisions(&restarted, "example-shop").await, [2, 1]);
    let answer = check(
        &restarted,
        question("example-shop", "orders", "user.contact.phone", "courier"),
    )
    .await;
    assert_eq!((answer.decision(), answer.revision), (Decision::Allow, 2));
    let first = restarted
        .registry()
        .list_registered_recipients(ListRegisteredRecipientsRequest {
            organisation: "example-shop".into(),
            revision: Some(1),
            ..Default::default()
        })
        .await
        .expect("revision 1 recipients")
        .into_inner();
    let courier = first
        .recipients
        .iter()
        .find(|recipient| recipient.id == "courier")
        .expect("courier");
    assert_eq!(courier.name, "Courier AS");
}

/// What a manifest says of an organisation and its purposes comes back from the store as
/// written, read back by a restarted server: Apollo's stated interests (001 rows 7, 11, 12)
/// and Sendberry's minimum age.
#[tokio::test]
async fn stated_interests_and_a_minimum_age_are_kept_and_shown() {
    let demo = support::spawn_demo().await;
    let (ended, database) = demo.stop().await;
    ended.expect("clean stop");
    // Not the demo again: the registries come from the database alone.
    let app = support::start(support::settings(&database.url), database).await;
    support::wait_until_serving(&app).await;
    let purposes = app
        .registry()
        .list_purposes(ListPurposesRequest {
            organisation: "apollo".into(),
            ..Default::default()
        })
        .await
        .expect("purposes")
        .into_inner()
        .purposes;
    let interest = |id: &str| {
        purposes
            .iter()
            .find(|purpose| purpose.id == id)
            .map(|purpose| purpose.legitimate_interest.clone())
            .expect("the purpose")
    };
    assert!(interest("service-development").starts_with("001 row 7: "));
    assert!(interest("cybersecurity").contains("dublējumkopiju"));
    assert_eq!(interest("club-development"), "", "row 1 states no interest");
    let sendberry = app
        .registry()
        .get_organisation(purposed::proto::GetOrganisationRequest {
            organisation: "sendberry".into(),
            ..Default::default()
        })
        .await
        .expect("organisation")
        .into_inner()
        .organisation
        .expect("the profile");
    assert_eq!(sendberry.minimum_age, 18);
    assert!(sendberry.minimum_age_source.starts_with("002 §2.10"));
}

/// The format 2 example of docs/manifest.md.
pub fn format_2_example() -> String {
    let doc = include_str!("../../docs/manifest.md");
    let start = doc
        .find("```yaml\nversion: 2\norganisation:\n  id: example-shop-lv")
        .expect("docs/manifest.md has the format 2 example");
    let body = &doc[start + "```yaml\n".len()..];
    body[..body.find("```").expect("closing fence")].to_owned()
}

#[tokio::test]
async fn format_2_texts_are_shown_in_the_language_asked_for_and_every_fact_is_kept() {
    let app = spawn_app().await;
    let applied = apply(&app, &format_2_example()).await;
    assert!(applied.warnings.is_empty(), "{:?}", applied.warnings);
    let mut registry = app.registry();
    let purpose_name = |language: &str| {
        let mut registry = registry.clone();
        let language = language.to_owned();
        async move {
            registry
                .list_purposes(ListPurposesRequest {
                    organisation: "example-shop-lv".into(),
                    language,
                    ..Default::default()
                })
                .await
                .expect("purposes")
                .into_inner()
                .purposes[0]
                .name
                .clone()
        }
    };
    assert_eq!(purpose_name("en").await, "Order processing and delivery");
    assert_eq!(purpose_name("lv").await, "Pasūtījumu apstrāde un piegāde");
    // No wording in Norwegian: the default language's.
    assert_eq!(purpose_name("no").await, "Pasūtījumu apstrāde un piegāde");
    assert_eq!(purpose_name("").await, "Pasūtījumu apstrāde un piegāde");

    let purposes = registry
        .list_purposes(ListPurposesRequest {
            organisation: "example-shop-lv".into(),
            language: "en".into(),
            ..Default::default()
        })
        .await
        .expect("purposes")
        .into_inner()
        .purposes;
    let orders = &purposes[0];
    assert_eq!(orders.retention[0].description, "accounting records");
    assert_eq!(
        orders.engagements[0].data_processed,
        "the data a delivery needs"
    );
    assert_eq!(
        orders.conditional_categories[0].when,
        "if the customer gives it"
    );

    let recipients = registry
        .list_registered_recipients(ListRegisteredRecipientsRequest {
            organisation: "example-shop-lv".into(),
            language: "en".into(),
            ..Default::default()
        })
        .await
        .expect("recipients")
        .into_inner()
        .recipients;
    assert_eq!(
        recipients[0].data_processed,
        "name, phone, delivery address"
    );

    let organisation = registry
        .get_organisation(GetOrganisationRequest {
            organisation: "example-shop-lv".into(),
            ..Default::default()
        })
        .await
        .expect("organisation")
        .into_inner()
        .organisation
        .expect("an organisation");
    assert_eq!(organisation.language, "lv");
    assert_eq!(organisation.reviewed_on, "2025-03-01");
    let authority = organisation.supervisory_authority.expect("an authority");
    assert_eq!(
        (authority.name.as_str(), authority.built_in),
        ("Datu valsts inspekcija", true)
    );

    // What no message shows is kept whole with the revision.
    let revision = registry
        .get_revision(GetRevisionRequest {
            organisation: "example-shop-lv".into(),
            revision: None,
        })
        .await
        .expect("revision")
        .into_inner();
    let stored: serde_json::Value =
        serde_json::from_str(&revision.registry_json).expect("registry_json is JSON");
    assert_eq!(stored["schema"], 1);
    let cookies = &stored["registry"]["cookies"];
    assert_eq!(cookies[0]["name"], "cart");
    assert_eq!(cookies[1]["consent_required"], true);
    assert_eq!(
        stored["registry"]["documents"][0]["rows"][0]["purposes"][0],
        "orders"
    );
    assert_eq!(
        stored["registry"]["organisation"]["accountability"]["security_measures"][0]["text"]["translations"]
            ["en"],
        "Access to data for authorised staff only"
    );

    // A language that is not an ISO 639 code is the caller's mistake, named.
    let status = registry
        .list_purposes(ListPurposesRequest {
            organisation: "example-shop-lv".into(),
            language: "English".into(),
            ..Default::default()
        })
        .await
        .expect_err("a malformed language");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("language:"),
        "{}",
        status.message()
    );
}
