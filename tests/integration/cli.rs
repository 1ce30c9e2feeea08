//! The `purposed` binary as an operator uses it.

use std::process::Output;

use tokio::process::Command;

use crate::support::{TestDatabase, spawn_demo};

async fn purposed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_purposed"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PURPOSED_SERVER")
        .output()
        .await
        .expect("run purposed")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn check_prints_the_decision_and_its_reasons() {
    let app = spawn_demo().await;
    let url = app.url();
    let question = |category: &'static str| {
        [
            "check",
            "--server",
            url.as_str(),
            "--organisation",
            "peero",
            "--purpose",
            "notifications",
            "--category",
            category,
            "--recipient",
            "onesignal",
        ]
    };
    let output = purposed(&question("user.device.identifier")).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.starts_with("ALLOW (revision 1)"), "{stdout}");
    assert!(
        stdout.contains("+ TRANSFER_SCC [Art. 46(2)(c)]"),
        "{stdout}"
    );
    assert!(stdout.contains("source: "), "{stdout}");

    let output = purposed(&question("user.contact.email")).await;
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("DENY"), "{stdout}");
    assert!(
        stdout.contains("- RECIPIENT_NOT_ENGAGED [Art. 28(1)]"),
        "{stdout}"
    );
}

#[tokio::test]
async fn apply_straight_into_a_database_and_through_a_server() {
    let database = TestDatabase::create().await;
    let capturi = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/capturi.yaml");
    let first = purposed(&["apply", "--database-url", &database.url, capturi]).await;
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("organisation capturi, revision 1 (new revision)"),
        "{}",
        text(&first.stdout)
    );
    let second = purposed(&["apply", "--database-url", &database.url, capturi]).await;
    assert!(
        text(&second.stdout).contains("revision 1 (unchanged"),
        "{}",
        text(&second.stdout)
    );

    let app = spawn_demo().await;
    let broken = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        broken.path(),
        "version: 1\norganisation: {id: x, legal_name: X, country: LV, role: controller, source: s}\npurposes:\n  - {id: a, name: A, categories: [user], recipients: [{id: ghost}], source: s}\n",
    )
    .expect("write");
    let refused = purposed(&[
        "apply",
        "--server",
        &app.url(),
        broken.path().to_str().expect("utf-8 path"),
    ])
    .await;
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains(r#"manifest: purposes[0].recipients[0]: unknown recipient "ghost""#),
        "{stderr}"
    );
}
