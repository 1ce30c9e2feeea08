//! The `purposed` binary as an operator uses it.

use std::process::Output;

use tokio::process::Command;

use crate::support::{TestDatabase, spawn_demo};

async fn purposed(args: &[&str]) -> Output {
    purposed_with(args, &[]).await
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

    // Both times asked about are answered and named.
    let mut later = question("user.device.identifier").to_vec();
    later.extend(["--at", "2030-01-15T12:00:00Z"]);
    let output = purposed(&later).await;
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("asked about 2030-01-15T12:00:00Z, with what was known at"),
        "{stdout}"
    );
    assert!(stdout.contains("in force from"), "{stdout}");
    later.extend(["--known-at", "2999-01-01T00:00:00Z"]);
    let output = purposed(&later).await;
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("known_at"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn apply_imports_a_history_with_effective_from() {
    let database = TestDatabase::create().await;
    let peero = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/peero.yaml");
    let applied = purposed(&[
        "apply",
        "--database-url",
        &database.url,
        "--effective-from",
        "2025-04-01T00:00:00+03:00",
        peero,
    ])
    .await;
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    assert!(
        text(&applied.stdout).contains("in force from 2025-03-31T21:00:00Z"),
        "{}",
        text(&applied.stdout)
    );
    let refused = purposed(&[
        "apply",
        "--database-url",
        &database.url,
        "--effective-from",
        "April 2025",
        peero,
    ])
    .await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--effective-from"),
        "{}",
        text(&refused.stderr)
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
        stderr.contains(
            r#"manifest: purposes[0] (a).recipients[0] (ghost): unknown recipient "ghost""#
        ),
        "{stderr}"
    );
}

/// A JSON log line, as far as the test reads it.
#[derive(serde::Deserialize)]
struct LogLine {
    level: String,
    message: String,
    address: Option<String>,
}

#[tokio::test]
async fn serve_logs_json_and_stops_cleanly_on_sigterm() {
    use std::{process::Stdio, time::Duration};

    use tokio::io::{AsyncBufReadExt, BufReader};
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };

    let database = TestDatabase::create().await;
    let mut server = Command::new(env!("CARGO_BIN_EXE_purposed"))
        .args([
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database.url,
        ])
        .env_remove("RUST_LOG")
        .env("PURPOSED_SUBJECT_KEY", crate::support::TEST_SUBJECT_KEY)
        .env("PURPOSED_METRICS_LISTEN", "off")
        .env("PURPOSED_AUTH__DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(server.stderr.take().expect("stderr")).lines();
    let mut messages = Vec::new();
    let mut next_line = async || -> LogLine {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("a log line within 60 s")
            .expect("read stderr")
            .expect("the server is still running");
        serde_saphyr::from_str(&line)
            .unwrap_or_else(|error| panic!("not a JSON log line: {line}: {error}"))
    };
    let address = loop {
        let line = next_line().await;
        assert!(["INFO", "WARN", "ERROR", "DEBUG", "TRACE"].contains(&line.level.as_str()));
        messages.push(line.message.clone());
        if line.message == "listening" {
            break line.address.expect("the listening line names the address");
        }
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    while let Some(update) = health.message().await.expect("health") {
        if update.status == ServingStatus::Serving as i32 {
            break;
        }
    }

    // A client with an open stream would hold the drain for the whole grace period.
    drop(health);
    let pid = server.id().expect("pid").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(killed.success());
    loop {
        let line = next_line().await;
        messages.push(line.message.clone());
        if line.message == "shutting down" {
            break;
        }
    }
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("exits within 30 s of SIGTERM")
        .expect("wait");
    assert!(status.success(), "{status:?}; log: {messages:?}");
    assert!(
        messages
            .iter()
            .any(|message| message == "migrations applied"),
        "{messages:?}"
    );
}

#[tokio::test]
async fn the_rights_desk_from_the_command_line() {
    let app = spawn_demo().await;
    let server = app.url();
    let run = |args: Vec<&str>| {
        let mut all = args;
        all.extend(["--server", server.as_str()]);
        let owned: Vec<String> = all.into_iter().map(str::to_owned).collect();
        async move {
            let borrowed: Vec<&str> = owned.iter().map(String::as_str).collect();
            let output = purposed(&borrowed).await;
            assert!(
                output.status.success(),
                "{:?}: {}",
                borrowed,
                text(&output.stderr)
            );
            text(&output.stdout)
        }
    };
    let consented = run(vec![
        "subject",
        "consent",
        "--organisation",
        "pro-balances",
        "--subject",
        "anna@example.ee",
        "--purpose",
        "newsletter",
        "--notice-version",
        "2026-01",
    ])
    .await;
    assert!(
        consented.contains("granted newsletter (notice 2026-01)"),
        "{consented}"
    );
    assert!(
        !consented.contains("anna@example.ee"),
        "the raw identifier never comes back"
    );

    let submitted = run(vec![
        "rights",
        "submit",
        "--organisation",
        "pro-balances",
        "--request-id",
        "dsr-1",
        "--type",
        "erasure",
        "--subject",
        "anna@example.ee",
    ])
    .await;
    assert!(
        submitted.starts_with("request dsr-1 (erasure) RECEIVED"),
        "{submitted}"
    );
    let verified = run(vec![
        "rights",
        "transition",
        "--organisation",
        "pro-balances",
        "--request-id",
        "dsr-1",
        "--to",
        "verified",
        "--note",
        "confirmed",
    ])
    .await;
    assert!(
        verified.starts_with("request dsr-1 (erasure) IN_PROGRESS"),
        "{verified}"
    );
    assert!(
        verified.contains("kept      accounting [Art. 17(3)(b)]"),
        "{verified}"
    );
    assert!(
        verified.contains("mailchimp (Mailchimp) open"),
        "{verified}"
    );

    let listed = run(vec![
        "rights",
        "list",
        "--organisation",
        "pro-balances",
        "--status",
        "in-progress",
    ])
    .await;
    assert!(listed.starts_with("dsr-1 "), "{listed}");
    let shown = run(vec![
        "subject",
        "show",
        "--organisation",
        "pro-balances",
        "--subject",
        "anna@example.ee",
    ])
    .await;
    assert!(shown.contains("erasure verified"), "{shown}");

    let illegal = purposed(&[
        "rights",
        "transition",
        "--organisation",
        "pro-balances",
        "--request-id",
        "dsr-1",
        "--to",
        "received",
        "--server",
        &server,
    ])
    .await;
    assert!(!illegal.status.success());
    assert!(
        text(&illegal.stderr).contains("IN_PROGRESS"),
        "{}",
        text(&illegal.stderr)
    );
}

async fn purposed_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_purposed"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("PURPOSED_SERVER")
        .env_remove("PURPOSED_TOKEN")
        .env_remove("PURPOSED_CONFIG")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run purposed")
}

#[tokio::test]
async fn a_wrong_setting_stops_start_up_naming_it_and_no_secret_is_printed() {
    let directory = tempfile::tempdir().expect("directory");
    let database = format!("sqlite://{}", directory.path().join("p.db").display());
    let file = directory.path().join("purposed.toml");
    let serve = ["serve", "--config", file.to_str().expect("utf-8 path")];
    let secret = "f00d".repeat(8);
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 5] = [
        ("listen = \"nowhere\"\n", &[], "listen"),
        ("databse_pool = 3\n", &[], "databse_pool"),
        (
            "[limits]\nmax_concurrent_requests = 0\n",
            &[],
            "limits.max_concurrent_requests",
        ),
        ("", &[("PURPOSED_DATABASE_POOL", "many")], "database_pool"),
        // A key that is too short: named, never echoed.
        (
            "",
            &[("PURPOSED_SUBJECT_KEY", secret.as_str())],
            "subject_key",
        ),
    ];
    for (contents, env, setting) in cases {
        std::fs::write(&file, contents).expect("settings file");
        let mut env = env.to_vec();
        env.push(("DATABASE_URL", database.as_str()));
        env.push(("PURPOSED_AUTH__DISABLED", "true"));
        let output = purposed_with(&serve, &env).await;
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{contents}{env:?} started");
        // figment names environment keys as written there (`DATABASE_POOL` in `PURPOSED_`).
        assert!(
            stderr.to_lowercase().contains(setting),
            "{setting} not named: {stderr}"
        );
        assert!(!stderr.contains(&secret), "secret printed: {stderr}");
    }

    // Without auth keys, a server that is not a demo refuses to start open.
    std::fs::write(&file, "").expect("settings file");
    let output = purposed_with(&serve, &[("DATABASE_URL", database.as_str())]).await;
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("auth"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test]
async fn the_cli_sends_its_token() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};

    use crate::support::process::{Launch, ServerProcess};

    let directory = tempfile::tempdir().expect("directory");
    let secret_file = directory.path().join("jwt-secret");
    let secret = "a shared secret of at least 32 bytes, for the CLI test";
    std::fs::write(&secret_file, format!("{secret}\n")).expect("secret file");
    let database = TestDatabase::create().await;
    let server = ServerProcess::launch(
        &database.url,
        Launch {
            demo: true,
            env: vec![
                ("PURPOSED_AUTH__ISSUER", "https://id.test".to_owned()),
                ("PURPOSED_AUTH__AUDIENCE", "purposed".to_owned()),
                (
                    "PURPOSED_AUTH__HS256_SECRET_FILE",
                    secret_file.display().to_string(),
                ),
            ],
        },
    )
    .await;
    let url = format!("http://{}", server.address);
    let token = encode(
        &Header::new(Algorithm::HS256),
        &serde_json::json!({
            "iss": "https://id.test", "aud": "purposed", "sub": "cli-test",
            "exp": jiff::Timestamp::now().as_second() + 600,
            "orgs": ["peero"], "scope": "decide",
        }),
        &EncodingKey::from_secret(secret.as_bytes()).expect("key"),
    )
    .expect("token");
    let question = [
        "check",
        "--server",
        url.as_str(),
        "--organisation",
        "peero",
        "--purpose",
        "notifications",
        "--category",
        "user.contact",
        "--recipient",
        "onesignal",
    ];
    let refused = purposed_with(&question, &[]).await;
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("Unauthenticated"),
        "{}",
        text(&refused.stderr)
    );
    let answered = purposed_with(&question, &[("PURPOSED_TOKEN", token.as_str())]).await;
    assert!(answered.status.success(), "{}", text(&answered.stderr));
    assert!(
        text(&answered.stdout).contains("(revision 1)"),
        "{}",
        text(&answered.stdout)
    );
}

#[tokio::test]
async fn a_closed_stdout_ends_the_command_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    let database = TestDatabase::create().await;
    let capturi = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/capturi.yaml");
    // A pipe whose reader is gone before the command writes: `purposed apply ... | true`.
    let mut ends = [0; 2];
    // SAFETY: pipe(2) fills the two descriptors, which are then owned once each.
    assert_eq!(unsafe { libc::pipe(ends.as_mut_ptr()) }, 0, "pipe");
    let (reader, writer) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    drop(reader);
    // Not `output()`, which would replace the pipe with one of its own.
    let output = Command::new(env!("CARGO_BIN_EXE_purposed"))
        .args(["apply", "--database-url", &database.url, capturi])
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::from(writer))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run purposed apply")
        .wait_with_output()
        .await
        .expect("wait for purposed apply");
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_ne!(output.status.code(), Some(101), "{:?}", output.status);
    // It ended by the pipe's signal, as `cat` or `grep` would.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGPIPE),
        "{:?}",
        output.status
    );
}

#[tokio::test]
async fn names_are_refused_before_any_call_and_a_subject_is_never_repeated() {
    // No server listens on port 1: a refusal that reached for one would say so instead.
    let server = "http://127.0.0.1:1";
    let long_subject = format!("anna-{}@example.ee", "x".repeat(300));
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "rights",
                "show",
                "--organisation",
                "Pro Balances",
                "--request-id",
                "dsr-1",
            ],
            "must be 1-64 characters of a-z",
        ),
        (
            &[
                "rights",
                "show",
                "--organisation",
                "pro-balances",
                "--request-id",
                "dsr/1",
            ],
            "must be 1-128 characters of letters, digits",
        ),
        (
            &[
                "rights",
                "complete-task",
                "--organisation",
                "pro-balances",
                "--task-id",
                "0",
            ],
            "a whole number from 1",
        ),
        (
            &[
                "subject",
                "show",
                "--organisation",
                "pro-balances",
                "--subject",
                "   ",
            ],
            "--subject must not be empty",
        ),
        (
            &[
                "subject",
                "show",
                "--organisation",
                "pro-balances",
                "--subject",
                &long_subject,
            ],
            "--subject is longer than 256 bytes",
        ),
    ];
    for (args, why) in cases {
        let mut args = args.to_vec();
        args.extend(["--server", server]);
        let output = purposed(&args).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(!stderr.contains("cannot reach"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("anna-"),
            "the subject was repeated: {stderr}"
        );
    }
}

#[tokio::test]
async fn review_lists_each_seeds_real_gaps_and_fails_on_errors() {
    let example = |name: &str| format!("{}/examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    let capturi = purposed(&["review", &example("capturi"), "--today", "2026-06-01"]).await;
    let stdout = text(&capturi.stdout);
    assert!(!capturi.status.success(), "{stdout}");
    assert!(
        stdout.contains("error   TRANSFER_WITHOUT_SAFEGUARD [Art. 44-46] user-communication"),
        "{stdout}"
    );
    assert!(
        text(&capturi.stderr).contains("found"),
        "{}",
        text(&capturi.stderr)
    );

    let apollo = purposed(&["review", &example("apollo"), "--json"]).await;
    let findings: serde_json::Value =
        serde_json::from_str(&text(&apollo.stdout)).expect("JSON findings");
    let untested: Vec<&str> = findings
        .as_array()
        .expect("a list")
        .iter()
        .filter(|finding| finding["code"] == "NO_BALANCING_TEST")
        .map(|finding| finding["subject"].as_str().expect("an id"))
        .collect();
    assert!(untested.contains(&"marketing"), "{untested:?}");
    assert!(untested.contains(&"market-statistics"), "{untested:?}");

    // The documented shop has warnings (no review date) but no error.
    let shop = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(shop.path(), crate::decision::shop_manifest()).expect("write");
    let clean = purposed(&["review", shop.path().to_str().expect("path")]).await;
    assert!(clean.status.success(), "{}", text(&clean.stdout));
    assert!(text(&clean.stdout).contains("RECORD_NOT_REVIEWED"));
}
