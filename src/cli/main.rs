//! The `purposed` command: run the server, migrate a database, apply a manifest, or ask a
//! running server a question.

/// `println!` for the commands' output, which ends quietly on a closed stdout (see `output`).
macro_rules! out {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($argument:tt)*) => {
        $crate::output::line(format_args!($($argument)*))
    };
}

mod audit;
mod document;
mod output;
mod rights;

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand};
use purposed::{
    app::{App, ApplyInput},
    domain::names::{CategoryKey, ConditionId, OrganisationId, PurposeId, RawSubject, RecipientId},
    proto::{
        self, decision_service_client::DecisionServiceClient,
        registry_service_client::RegistryServiceClient,
    },
    server::{
        config::{self, LogFormat, Settings},
        startup::Application,
        telemetry,
    },
    store::{self, Store, StoreOptions},
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
    /// Log format (default text; for `serve`, also the `log_format` setting).
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormat>,
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
    Rights(rights::RightsCommand),
    /// Subject state: show it, record consent.
    #[command(subcommand)]
    Subject(rights::SubjectCommand),
    /// The audit log: verify its hash chains.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write one of the organisation's documents (the subprocessor list, the record of
    /// processing activities) from the revision Check enforces, through a running server.
    Document(document::DocumentArgs),
    /// Review a manifest as a DPO would, offline: findings with their article and severity;
    /// exits 1 when any is an error, so that a CI job fails on them.
    Review(document::ReviewArgs),
}

#[derive(Args)]
struct DatabaseArgs {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, env = "DATABASE_URL", default_value = config::DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[derive(Args)]
struct ServeArgs {
    /// Settings file (TOML). `PURPOSED_*` variables override it, and these flags override
    /// both; see deploy/README.md for every setting.
    #[arg(long, env = "PURPOSED_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (the `listen` setting; default [::]:50051).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Database URL (the `database_url` setting): sqlite://FILE or postgres://...
    #[arg(long)]
    database_url: Option<String>,
    /// Apply the example manifests of the five seed policies at start (embedded in the
    /// binary). Without auth keys configured, a demo runs open to every caller.
    #[arg(long)]
    demo: bool,
    /// Also serve purposed.v1.BenchmarkService/Noop, the floor Check is measured against.
    /// For benchmarks only.
    #[arg(long)]
    bench_noop: bool,
}

#[derive(Args)]
struct ServerArgs {
    /// URL of a running purposed server (https:// for TLS).
    #[arg(
        long,
        env = "PURPOSED_SERVER",
        default_value = "http://localhost:50051"
    )]
    server: String,
    /// Bearer token sent with every call.
    #[arg(long, env = "PURPOSED_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// PEM file of the CA that signed the server's certificate (required with https://:
    /// the CLI trusts no system roots).
    #[arg(long, env = "PURPOSED_CLIENT_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// PEM certificate and key of this client, for a server that requires mutual TLS.
    #[arg(long, env = "PURPOSED_CLIENT_CERT_FILE", requires = "key_file")]
    cert_file: Option<PathBuf>,
    #[arg(long, env = "PURPOSED_CLIENT_KEY_FILE", requires = "cert_file")]
    key_file: Option<PathBuf>,
}

/// Adds the bearer token, if any, to every call.
#[derive(Clone)]
struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", token.clone());
        }
        Ok(request)
    }
}

pub(crate) type Connection = tonic::service::interceptor::InterceptedService<Channel, Bearer>;

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
    /// Since when the revision describes the processing (valid time), RFC 3339, for example
    /// 2024-05-01T00:00:00+03:00 (default: when it is applied).
    #[arg(long)]
    effective_from: Option<jiff::Timestamp>,
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
    organisation: OrganisationId,
    #[arg(long)]
    purpose: PurposeId,
    #[arg(long)]
    category: CategoryKey,
    #[arg(long)]
    recipient: RecipientId,
    /// The data subject's identifier (pseudonymised by the server).
    #[arg(long, value_parser = rights::SubjectParser)]
    subject: Option<RawSubject>,
    /// The moment asked about (valid time), RFC 3339 (default: now).
    #[arg(long)]
    at: Option<jiff::Timestamp>,
    /// Answer with what was known then (transaction time), RFC 3339 (default: now).
    #[arg(long)]
    known_at: Option<jiff::Timestamp>,
    /// When the data was collected, RFC 3339.
    #[arg(long)]
    collected_at: Option<jiff::Timestamp>,
    /// An engagement condition that holds (repeatable).
    #[arg(long = "condition")]
    conditions: Vec<ConditionId>,
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // serve starts logging once it has read its settings, which may choose the format.
    if !matches!(cli.command, Command::Serve(_)) {
        telemetry::init(cli.log_format.unwrap_or_default());
    }
    let result = match cli.command {
        Command::Serve(args) => serve(args, cli.log_format).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Apply(args) => apply(args).await,
        Command::Check(args) => check(args).await,
        Command::Rights(command) => rights::rights(command).await,
        Command::Subject(command) => rights::subject(command).await,
        Command::Audit(command) => audit::audit(command).await,
        Command::Document(args) => document::document(args).await,
        Command::Review(args) => document::review(args),
    };
    exit(result)
}

fn exit(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs, log_format: Option<LogFormat>) -> Result<(), String> {
    // Read before logging starts: the settings choose the log format.
    let mut file = config::load(args.config.as_deref())?;
    telemetry::init(log_format.unwrap_or(file.log_format));
    if let Some(listen) = args.listen {
        file.listen = listen;
    }
    if let Some(database_url) = args.database_url {
        file.database_url = config::Secret::new(database_url);
    }
    file.demo |= args.demo;
    let mut settings = Settings::from_file_settings(file).map_err(|error| error.to_string())?;
    settings.bench_noop = args.bench_noop;
    tracing::info!(
        database = %store::redact(&settings.database_url),
        database_pool = settings.store.max_connections,
        auth = match &settings.access {
            config::Access::Open => "off",
            config::Access::Tokens(_) => "bearer tokens",
        },
        tls = match &settings.tls {
            None => "off",
            Some(tls) if tls.client_ca_pem.is_some() => "mutual",
            Some(_) => "server",
        },
        "settings read"
    );
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
    out!(
        "database {} is up to date",
        store::redact(&args.database_url)
    );
    Ok(())
}

async fn connect(args: &ServerArgs) -> Result<Connection, String> {
    let server = &args.server;
    let mut endpoint = Channel::from_shared(server.clone())
        .map_err(|error| format!("{server:?} is not a server URL: {error}"))?
        .connect_timeout(Duration::from_secs(5));
    if server.starts_with("https://") {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
        };
        let mut tls = tonic::transport::ClientTlsConfig::new();
        if let Some(ca) = &args.ca_file {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(read(ca)?));
        }
        if let (Some(cert), Some(key)) = (&args.cert_file, &args.key_file) {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                read(cert)?,
                read(key)?,
            ));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|error| format!("TLS settings: {error}"))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| format!("cannot reach purposed at {server}: {error}"))?;
    let token = args
        .token
        .as_deref()
        .map(|token| {
            format!("Bearer {}", token.trim())
                .parse()
                .map_err(|_| "PURPOSED_TOKEN is not a valid header value".to_owned())
        })
        .transpose()?;
    Ok(Connection::new(channel, Bearer(token)))
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
            let key = purposed::server::config::resolve_subject_key(&Settings::new(
                config::DEFAULT_LISTEN
                    .parse()
                    .map_err(|_| "default listen address".to_owned())?,
                database_url.as_str(),
            ))
            .or_else(|_| purposed::domain::pseudonym::SubjectKey::generate())?;
            let app = App::load(store, Default::default(), key)
                .await
                .map_err(|error| error.to_string())?;
            let input = ApplyInput {
                manifest: text,
                dry_run: args.dry_run,
                expected_revision: args.expected_revision,
                effective_from: args.effective_from,
            };
            let outcome = app
                .apply(&input, |_| Ok::<_, purposed::error::Error>(()))
                .await
                .map_err(|error| describe(&Status::from(error)))?;
            purposed::grpc::encode::registry::apply_response(&outcome)
        }
        None => {
            let mut client = RegistryServiceClient::new(connect(&args.server).await?);
            client
                .apply_manifest(proto::ApplyManifestRequest {
                    manifest: text,
                    dry_run: args.dry_run,
                    expected_revision: args.expected_revision,
                    effective_from: args.effective_from.map(timestamp),
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
    out!(
        "{what} {}: organisation {}, revision {} ({change})",
        args.file.display(),
        response.organisation,
        response.revision
    );
    if let Some(effective_from) = shown(response.effective_from) {
        out!("in force from {effective_from}");
    }
    if !response.warnings.is_empty() {
        out!("warnings:");
        for warning in &response.warnings {
            out!("  {warning}");
        }
    }
    if !response.decision_changes.is_empty() {
        out!(
            "decision changes ({}{}):",
            response.decision_changes.len(),
            if response.decision_changes_truncated {
                ", truncated"
            } else {
                ""
            }
        );
        for change in &response.decision_changes {
            out!(
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
    purposed::grpc::wire::timestamp(at)
}

/// A server's timestamp as RFC 3339, if it sent a valid one.
fn shown(at: Option<prost_types::Timestamp>) -> Option<jiff::Timestamp> {
    at.and_then(|at| jiff::Timestamp::new(at.seconds, at.nanos).ok())
}

async fn check(args: CheckArgs) -> Result<(), String> {
    let mut client = DecisionServiceClient::new(connect(&args.server).await?);
    let response = client
        .check(proto::CheckRequest {
            organisation: args.organisation.into(),
            purpose: args.purpose.into(),
            category: args.category.into(),
            recipient: args.recipient.into(),
            subject: args.subject.map(|subject| subject.expose().to_owned()),
            at: args.at.map(timestamp),
            known_at: args.known_at.map(timestamp),
            collected_at: args.collected_at.map(timestamp),
            min_revision: None,
            satisfied_conditions: args.conditions.into_iter().map(String::from).collect(),
        })
        .await
        .map_err(|status| describe(&status))?
        .into_inner();
    out!(
        "{} (revision {})",
        decision_name(response.decision),
        response.revision
    );
    if let (Some(applied_at), Some(effective_from)) = (
        shown(response.revision_applied_at),
        shown(response.revision_effective_from),
    ) {
        out!("  revision applied {applied_at}, in force from {effective_from}");
    }
    if let (Some(at), Some(known_at)) = (shown(response.at), shown(response.known_at)) {
        out!("  asked about {at}, with what was known at {known_at}");
    }
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
        out!("  {marker} {code}{article}: {}", reason.message);
        if !reason.source.is_empty() {
            out!("      source: {}", reason.source);
        }
    }
    if !response.transfers.is_empty() {
        out!("transfers:");
        for transfer in &response.transfers {
            out!(
                "  {} in {}: {}",
                transfer.recipient,
                transfer.country,
                transfer.detail
            );
        }
    }
    if !response.obligations.is_empty() {
        out!("obligations:");
        for obligation in &response.obligations {
            out!("  {} [{}]", obligation.message, obligation.article);
        }
    }
    Ok(())
}
