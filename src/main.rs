//! The `purposed` command: run the server, migrate a database, apply a manifest, or ask a
//! running server a question.

mod audit_cli;
mod rights_cli;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use purposed::{
    app::App,
    config::{self, LogFormat, Settings},
    proto::{
        self, decision_service_client::DecisionServiceClient,
        registry_service_client::RegistryServiceClient,
    },
    startup::Application,
    store::{self, Store, StoreOptions},
    telemetry,
};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

#[derive(Parser)]
#[command(
    name = "purposed",
    version,
    about = "A gRPC policy decision point for GDPR"
)]
struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "PURPOSED_LOG_FORMAT",
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server.
    Serve(ServeArgs),
    /// Create or update the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Apply a manifest: through a running server, or straight into a database.
    Apply(ApplyArgs),
    /// Ask a running server one question and print the decision with its reasons.
    Check(CheckArgs),
    /// The rights desk: submit, show, list and move data-subject requests.
    #[command(subcommand)]
    Rights(rights_cli::RightsCommand),
    /// Subject state: show it, record consent.
    #[command(subcommand)]
    Subject(rights_cli::SubjectCommand),
    /// The audit log: verify its hash chains.
    #[command(subcommand)]
    Audit(audit_cli::AuditCommand),
}

#[derive(Args)]
struct DatabaseArgs {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = config::DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PURPOSED_LISTEN", default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Apply the example manifests of the five seed policies at start (embedded in the binary).
    #[arg(long)]
    demo: bool,
    /// Also serve purposed.v1.BenchmarkService/Noop, the floor Check is measured against.
    /// For benchmarks only.
    #[arg(long)]
    bench_noop: bool,
    /// Largest manifest accepted, in bytes.
    #[arg(long, env = "PURPOSED_MAX_MANIFEST_BYTES", default_value_t = purposed::manifest::DEFAULT_MAX_BYTES)]
    max_manifest_bytes: usize,
    /// Database connections in the pool.
    #[arg(long, env = "PURPOSED_DATABASE_POOL", default_value_t = 8)]
    database_pool: u32,
    /// Key of the subject pseudonyms (HMAC-SHA256), 64 or more hex digits. Required with
    /// PostgreSQL; with SQLite a generated key is kept beside the database file.
    #[arg(long, env = "PURPOSED_SUBJECT_KEY", hide_env_values = true)]
    subject_key: Option<String>,
}

#[derive(Args)]
struct ServerArgs {
    /// URL of a running purposed server.
    #[arg(
        long,
        env = "PURPOSED_SERVER",
        default_value = "http://localhost:50051"
    )]
    server: String,
}

#[derive(Args)]
struct ApplyArgs {
    /// The manifest (YAML).
    file: PathBuf,
    /// Validate and list the decisions that would change; store nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply only if the organisation's latest revision is this one.
    #[arg(long)]
    expected_revision: Option<u64>,
    /// Write straight into this database instead of going through a server. A running
    /// server sees the new revision after its next restart.
    #[arg(long)]
    database_url: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct CheckArgs {
    #[arg(long)]
    organisation: String,
    #[arg(long)]
    purpose: String,
    #[arg(long)]
    category: String,
    #[arg(long)]
    recipient: String,
    /// The data subject's identifier (pseudonymised by the server).
    #[arg(long)]
    subject: Option<String>,
    /// The moment asked about, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<jiff::Timestamp>,
    /// When the data was collected, RFC 3339.
    #[arg(long)]
    collected_at: Option<jiff::Timestamp>,
    /// An engagement condition that holds (repeatable).
    #[arg(long = "condition")]
    conditions: Vec<String>,
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Apply(args) => apply(args).await,
        Command::Check(args) => check(args).await,
        Command::Rights(command) => rights_cli::rights(command).await,
        Command::Subject(command) => rights_cli::subject(command).await,
        Command::Audit(command) => audit_cli::audit(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let mut settings = Settings::new(args.listen, args.database.database_url);
    settings.demo = args.demo;
    settings.bench_noop = args.bench_noop;
    settings.limits.max_manifest_bytes = args.max_manifest_bytes;
    settings.store.max_connections = args.database_pool.max(1);
    settings.subject_key = args
        .subject_key
        .as_deref()
        .map(purposed::domain::pseudonym::SubjectKey::from_hex)
        .transpose()
        .map_err(|error| format!("PURPOSED_SUBJECT_KEY: {error}"))?;
    let application = Application::build(settings)
        .await
        .map_err(|error| error.to_string())?;
    application
        .run_until_stopped(shutdown_signal())
        .await
        .map_err(|error| error.to_string())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(error = %error, "cannot listen for SIGTERM; only SIGINT stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

async fn open_store(database_url: &str) -> Result<Store, String> {
    let store = Store::connect(database_url, &StoreOptions::default())
        .await
        .map_err(|error| format!("{}: {error}", store::redact(database_url)))?;
    store.migrate().await.map_err(|error| error.to_string())?;
    Ok(store)
}

async fn migrate(args: DatabaseArgs) -> Result<(), String> {
    open_store(&args.database_url).await?;
    println!(
        "database {} is up to date",
        store::redact(&args.database_url)
    );
    Ok(())
}

async fn connect(server: &str) -> Result<Channel, String> {
    let endpoint = Channel::from_shared(server.to_owned())
        .map_err(|error| format!("{server:?} is not a server URL: {error}"))?
        .connect_timeout(Duration::from_secs(5));
    endpoint
        .connect()
        .await
        .map_err(|error| format!("cannot reach purposed at {server}: {error}"))
}

/// A status as a readable message; an invalid argument lists every field violation.
fn describe(status: &Status) -> String {
    if status.code() == Code::InvalidArgument
        && let Some(bad_request) = status.get_details_bad_request()
    {
        let mut message = String::from("invalid argument:");
        for violation in bad_request.field_violations {
            message.push_str(&format!(
                "\n  {}: {}",
                violation.field, violation.description
            ));
        }
        return message;
    }
    format!("{:?}: {}", status.code(), status.message())
}

async fn apply(args: ApplyArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|error| format!("cannot read {}: {error}", args.file.display()))?;
    let response = match &args.database_url {
        Some(database_url) => {
            let store = open_store(database_url).await?;
            // An apply pseudonymises nobody: any key will do where none is configured.
            let key = purposed::config::resolve_subject_key(&Settings::new(
                config::DEFAULT_LISTEN
                    .parse()
                    .map_err(|_| "default listen address".to_owned())?,
                database_url.as_str(),
            ))
            .or_else(|_| purposed::domain::pseudonym::SubjectKey::generate())?;
            let app = App::load(store, Default::default(), key)
                .await
                .map_err(|error| error.to_string())?;
            let outcome = app
                .apply(&text, args.dry_run, args.expected_revision)
                .await
                .map_err(|error| describe(&Status::from(error)))?;
            purposed::grpc::convert::apply_response(&outcome)
        }
        None => {
            let mut client = RegistryServiceClient::new(connect(&args.server.server).await?);
            client
                .apply_manifest(proto::ApplyManifestRequest {
                    manifest: text,
                    dry_run: args.dry_run,
                    expected_revision: args.expected_revision,
                })
                .await
                .map_err(|status| describe(&status))?
                .into_inner()
        }
    };
    let what = if args.dry_run {
        "dry run of"
    } else {
        "applied"
    };
    let change = match (response.changed, args.dry_run) {
        (true, true) => "would create a new revision",
        (true, false) => "new revision",
        (false, _) => "unchanged: same content as the latest revision",
    };
    println!(
        "{what} {}: organisation {}, revision {} ({change})",
        args.file.display(),
        response.organisation,
        response.revision
    );
    if !response.warnings.is_empty() {
        println!("warnings:");
        for warning in &response.warnings {
            println!("  {warning}");
        }
    }
    if !response.decision_changes.is_empty() {
        println!(
            "decision changes ({}{}):",
            response.decision_changes.len(),
            if response.decision_changes_truncated {
                ", truncated"
            } else {
                ""
            }
        );
        for change in &response.decision_changes {
            println!(
                "  {} / {} / {}: {} -> {}",
                change.purpose,
                change.category,
                change.recipient,
                decision_name(change.before),
                decision_name(change.after)
            );
        }
    }
    Ok(())
}

fn decision_name(value: i32) -> &'static str {
    match proto::Decision::try_from(value) {
        Ok(proto::Decision::Allow) => "ALLOW",
        Ok(proto::Decision::Deny) => "DENY",
        Ok(proto::Decision::Conditional) => "CONDITIONAL",
        _ => "UNSPECIFIED",
    }
}

fn timestamp(at: jiff::Timestamp) -> prost_types::Timestamp {
    purposed::grpc::convert::timestamp(at)
}

async fn check(args: CheckArgs) -> Result<(), String> {
    let mut client = DecisionServiceClient::new(connect(&args.server.server).await?);
    let response = client
        .check(proto::CheckRequest {
            organisation: args.organisation,
            purpose: args.purpose,
            category: args.category,
            recipient: args.recipient,
            subject: args.subject,
            at: args.at.map(timestamp),
            collected_at: args.collected_at.map(timestamp),
            min_revision: None,
            satisfied_conditions: args.conditions,
        })
        .await
        .map_err(|status| describe(&status))?
        .into_inner();
    println!(
        "{} (revision {})",
        decision_name(response.decision),
        response.revision
    );
    for reason in &response.reasons {
        let marker = match proto::ReasonEffect::try_from(reason.effect) {
            Ok(proto::ReasonEffect::Allow) => "+",
            Ok(proto::ReasonEffect::Deny) => "-",
            _ => "?",
        };
        let code = proto::ReasonCode::try_from(reason.code)
            .map(|code| {
                code.as_str_name()
                    .trim_start_matches("REASON_CODE_")
                    .to_owned()
            })
            .unwrap_or_else(|_| reason.code.to_string());
        let article = if reason.article.is_empty() {
            String::new()
        } else {
            format!(" [{}]", reason.article)
        };
        println!("  {marker} {code}{article}: {}", reason.message);
        if !reason.source.is_empty() {
            println!("      source: {}", reason.source);
        }
    }
    if !response.transfers.is_empty() {
        println!("transfers:");
        for transfer in &response.transfers {
            println!(
                "  {} in {}: {}",
                transfer.recipient, transfer.country, transfer.detail
            );
        }
    }
    if !response.obligations.is_empty() {
        println!("obligations:");
        for obligation in &response.obligations {
            println!("  {} [{}]", obligation.message, obligation.article);
        }
    }
    Ok(())
}
