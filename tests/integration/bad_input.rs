//! Malformed requests get INVALID_ARGUMENT with the offending field named (never INTERNAL, never
//! a panic), nothing is written, and the server keeps serving.

use purposed::proto::{
    ApplyManifestRequest, BatchCheckRequest, CheckRequest, GetOrganisationRequest,
    ListCategoriesRequest, ListRegisteredRecipientsRequest, ListRevisionsRequest,
};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::{
    decision::{apply, check, question, shop_manifest},
    support::{TestApp, spawn_app},
};

fn fields(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|details| {
            details
                .field_violations
                .into_iter()
                .map(|violation| (violation.field, violation.description))
                .collect()
        })
        .unwrap_or_default()
}

fn valid() -> CheckRequest {
    question("example-shop", "orders", "user.contact.phone", "courier")
}

fn timestamp(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

async fn expect_invalid(
    app: &TestApp,
    name: &str,
    status: Result<impl std::fmt::Debug, Status>,
    field: &str,
    contains: &str,
) {
    let status = status.expect_err(name);
    assert_eq!(status.code(), Code::InvalidArgument, "{name}: {status:?}");
    let violations = fields(&status);
    assert!(
        violations
            .iter()
            .any(|(found, description)| found == field && description.contains(contains)),
        "{name}: expected {field} ({contains:?}) in {violations:?}"
    );
    // The server is still there, and still right.
    assert_eq!(
        check(app, valid()).await.revision,
        1,
        "{name}: server still answers"
    );
}

#[tokio::test]
async fn malformed_questions_name_their_field() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let cases: Vec<(&str, CheckRequest, &str, &str)> = vec![
        (
            "empty organisation",
            CheckRequest {
                organisation: String::new(),
                ..valid()
            },
            "organisation",
            "must not be empty",
        ),
        (
            "empty purpose",
            CheckRequest {
                purpose: String::new(),
                ..valid()
            },
            "purpose",
            "must not be empty",
        ),
        (
            "empty category",
            CheckRequest {
                category: String::new(),
                ..valid()
            },
            "category",
            "must not be empty",
        ),
        (
            "empty recipient",
            CheckRequest {
                recipient: String::new(),
                ..valid()
            },
            "recipient",
            "must not be empty",
        ),
        (
            "malformed organisation",
            CheckRequest {
                organisation: "Example Shop!".into(),
                ..valid()
            },
            "organisation",
            "a-z",
        ),
        (
            "overlong purpose",
            CheckRequest {
                purpose: "p".repeat(65),
                ..valid()
            },
            "purpose",
            "1-64",
        ),
        (
            "malformed category",
            CheckRequest {
                category: "user..contact".into(),
                ..valid()
            },
            "category",
            "dotted",
        ),
        (
            "control characters",
            CheckRequest {
                recipient: "cour\u{0}ier".into(),
                ..valid()
            },
            "recipient",
            "a-z",
        ),
        (
            "empty subject",
            CheckRequest {
                subject: Some(" ".into()),
                ..valid()
            },
            "subject",
            "must not be empty",
        ),
        (
            "overlong subject",
            CheckRequest {
                subject: Some("s".repeat(300)),
                ..valid()
            },
            "subject",
            "longer than",
        ),
        (
            "negative nanos",
            CheckRequest {
                at: timestamp(0, -1),
                ..valid()
            },
            "at",
            "nanos",
        ),
        (
            "year 300000",
            CheckRequest {
                collected_at: timestamp(9_000_000_000_000, 0),
                ..valid()
            },
            "collected_at",
            "years",
        ),
        (
            "bad condition",
            CheckRequest {
                satisfied_conditions: vec!["ok".into(), "NOT OK".into()],
                ..valid()
            },
            "satisfied_conditions[1]",
            "a-z",
        ),
    ];
    for (name, request, field, contains) in cases {
        let result = app.decision().check(request).await;
        expect_invalid(&app, name, result, field, contains).await;
    }

    let oversized = BatchCheckRequest {
        checks: vec![valid(); 1001],
    };
    let result = app.decision().batch_check(oversized).await;
    expect_invalid(
        &app,
        "batch over the limit",
        result,
        "checks",
        "at most 1000",
    )
    .await;
}

#[tokio::test]
async fn unknown_enum_numbers_and_bad_pages_are_invalid() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let result = app
        .registry()
        .list_registered_recipients(ListRegisteredRecipientsRequest {
            organisation: "example-shop".into(),
            kind: 42,
            ..Default::default()
        })
        .await;
    expect_invalid(&app, "unknown kind", result, "kind", "42").await;
    let result = app
        .registry()
        .list_categories(ListCategoriesRequest {
            organisation: "example-shop".into(),
            sensitivity: -7,
            ..Default::default()
        })
        .await;
    expect_invalid(&app, "unknown sensitivity", result, "sensitivity", "-7").await;
    let result = app
        .registry()
        .list_revisions(ListRevisionsRequest {
            organisation: "example-shop".into(),
            page_size: 5000,
            page_token: String::new(),
        })
        .await;
    expect_invalid(&app, "page too large", result, "page_size", "1000").await;
    let result = app
        .registry()
        .list_revisions(ListRevisionsRequest {
            organisation: "example-shop".into(),
            page_size: 10,
            page_token: "not a token".into(),
        })
        .await;
    expect_invalid(&app, "forged page token", result, "page_token", "issued").await;
    let result = app
        .registry()
        .get_organisation(GetOrganisationRequest {
            organisation: String::new(),
            revision: None,
            language: String::new(),
        })
        .await;
    expect_invalid(
        &app,
        "empty organisation",
        result,
        "organisation",
        "must not be empty",
    )
    .await;
}

#[tokio::test]
async fn bad_manifests_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    apply(&app, &shop_manifest()).await;
    let unknown_parent = shop_manifest().replace(
        "  - id: courier\n    name: Courier AS\n    kind: independent_controller\n",
        "  - id: courier\n    name: Courier AS\n    kind: subprocessor\n    parent: cloud-host\n",
    );
    assert_ne!(unknown_parent, shop_manifest());
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "malformed YAML",
            "version: 1\norganisation: [unclosed\n".into(),
            "line 2",
        ),
        ("not a manifest", "- just\n- a list\n".into(), "line 1"),
        ("empty", String::new(), "empty"),
        (
            "unknown field",
            shop_manifest().replace("legal_name:", "legal_nmae:"),
            "legal_nmae",
        ),
        (
            "future format",
            shop_manifest().replace("version: 1", "version: 3"),
            "version: format version 3",
        ),
        (
            "over the size limit",
            format!("{}\n# {}\n", shop_manifest(), "x".repeat(1024 * 1024)),
            "over the limit",
        ),
        (
            "unknown parent",
            unknown_parent,
            r#"recipients[2] (courier).parent: unknown recipient "cloud-host""#,
        ),
        ("tag bomb", "version: !!binary AAAA\n".into(), "line 1"),
    ];
    for (name, manifest, contains) in cases {
        let result = app
            .registry()
            .apply_manifest(ApplyManifestRequest {
                manifest,
                dry_run: false,
                expected_revision: None,
                effective_from: None,
            })
            .await;
        expect_invalid(&app, name, result, "manifest", contains).await;
    }
    let revisions = app
        .registry()
        .list_revisions(ListRevisionsRequest {
            organisation: "example-shop".into(),
            ..Default::default()
        })
        .await
        .expect("revisions")
        .into_inner()
        .revisions;
    assert_eq!(revisions.len(), 1, "no refused manifest wrote a revision");
}
