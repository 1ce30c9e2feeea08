//! Settings of a running server: one typed [`FileSettings`] read from an optional TOML file
//! and `PURPOSED_*` environment variables (nested keys joined by `__`, for example
//! `PURPOSED_AUTH__ISSUER`; `DATABASE_URL` is also read), then checked into the [`Settings`]
//! start-up uses. A wrong setting stops start-up with a message naming it; secrets are read
//! but never printed.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

use crate::{
    app::Limits,
    domain::pseudonym::SubjectKey,
    server::auth::{Authenticator, TokenKeys},
    store::{self, StoreOptions},
};

/// The embedded default: a SQLite file in the working directory, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://purposed.db";
pub const DEFAULT_LISTEN: &str = "[::]:50051";
pub const DEFAULT_METRICS_LISTEN: &str = "[::]:9090";
/// Largest gRPC message accepted; a manifest (1 MiB) and a full batch fit well inside.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The top-level keys; other `PURPOSED_*` variables (Kubernetes adds `PURPOSED_PORT` and
/// the like for a Service named `purposed`, the CLI reads `PURPOSED_SERVER`) are not
/// settings of the server and are left alone.
const KEYS: &[&str] = &[
    "listen",
    "metrics_listen",
    "health_listen",
    "database_url",
    "database_pool",
    "log_format",
    "subject_key",
    "subject_key_file",
    "demo",
    "shutdown_grace_seconds",
    "database_check_interval_ms",
    "revision_poll_seconds",
    "auth",
    "tls",
    "limits",
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// A setting that must not reach a log line or an error message.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

/// The settings as an operator writes them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileSettings {
    /// gRPC address.
    pub listen: SocketAddr,
    /// Prometheus address (`GET /metrics`); `off` serves no metrics.
    pub metrics_listen: String,
    /// A plaintext port serving only `grpc.health.v1` (`off`: none), for orchestrators whose
    /// probes cannot speak the TLS of the main port.
    pub health_listen: String,
    pub database_url: Secret,
    /// Database connections in the pool.
    pub database_pool: u32,
    pub log_format: LogFormat,
    /// Key of the subject pseudonyms (HMAC-SHA256), 64 or more hex digits, the same on every
    /// replica. Required with PostgreSQL; with SQLite a generated key is kept beside the file.
    pub subject_key: Option<Secret>,
    /// A file holding the subject key (a mounted Secret).
    pub subject_key_file: Option<PathBuf>,
    /// Apply the embedded example manifests at start.
    pub demo: bool,
    /// After SIGTERM, how long in-flight calls may run before connections are closed.
    pub shutdown_grace_seconds: u64,
    /// How often readiness checks that the database answers.
    pub database_check_interval_ms: u64,
    /// How often a replica compares its revisions with the database, in case a
    /// notification was missed (PostgreSQL).
    pub revision_poll_seconds: u64,
    pub auth: AuthSettings,
    pub tls: Option<TlsSettings>,
    pub limits: LimitSettings,
}

impl Default for FileSettings {
    fn default() -> FileSettings {
        FileSettings {
            listen: DEFAULT_LISTEN
                .parse()
                .unwrap_or_else(|_| SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 50051))),
            metrics_listen: DEFAULT_METRICS_LISTEN.to_owned(),
            health_listen: "off".to_owned(),
            database_url: Secret::new(DEFAULT_DATABASE_URL),
            database_pool: 8,
            log_format: LogFormat::Text,
            subject_key: None,
            subject_key_file: None,
            demo: false,
            shutdown_grace_seconds: 10,
            database_check_interval_ms: 2000,
            revision_poll_seconds: 5,
            auth: AuthSettings::default(),
            tls: None,
            limits: LimitSettings::default(),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// Accept calls without a token. Only for a demo or a closed test network.
    pub disabled: bool,
    /// The `iss` every token must carry.
    pub issuer: Option<String>,
    /// The `aud` every token must carry.
    pub audience: Option<String>,
    /// A file holding the shared HS256 secret.
    pub hs256_secret_file: Option<PathBuf>,
    /// A PEM file holding the RS256 or ES256 (P-256) public key of the token issuer.
    pub public_key_file: Option<PathBuf>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// With a CA, every client must present a certificate it signed (mutual TLS).
    pub client_ca_file: Option<PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    pub max_message_bytes: usize,
    pub max_manifest_bytes: usize,
    pub max_batch_checks: usize,
    /// The longest an RPC may run (a shorter `grpc-timeout` from the caller wins).
    pub request_timeout_ms: u64,
    /// Calls served at once; more are refused with UNAVAILABLE at once.
    pub max_concurrent_requests: usize,
    /// How long a Check waits for a `min_revision` this replica has not loaded yet.
    pub min_revision_wait_ms: u64,
    /// `WatchRightsEvents` streams open at once; more are refused with RESOURCE_EXHAUSTED.
    pub max_event_streams: usize,
}

impl Default for LimitSettings {
    fn default() -> LimitSettings {
        let app = Limits::default();
        LimitSettings {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_manifest_bytes: app.max_manifest_bytes,
            max_batch_checks: app.max_batch_checks,
            request_timeout_ms: 10_000,
            max_concurrent_requests: 1024,
            min_revision_wait_ms: app.min_revision_wait.as_millis() as u64,
            max_event_streams: app.max_event_streams,
        }
    }
}

/// A setting that stops start-up, named as the operator wrote it.
#[derive(Debug, thiserror::Error)]
#[error("setting {setting}: {message}")]
pub struct SettingError {
    pub setting: String,
    pub message: String,
}

impl SettingError {
    fn new(setting: &str, message: impl Into<String>) -> SettingError {
        SettingError {
            setting: setting.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads the file (when given) and the environment, later sources winning: defaults, file,
/// `DATABASE_URL`, `PURPOSED_*`.
pub fn load(file: Option<&Path>) -> Result<FileSettings, String> {
    let mut figment = Figment::from(Serialized::defaults(FileSettings::default()));
    if let Some(file) = file {
        if !file.is_file() {
            return Err(format!("settings file {} does not exist", file.display()));
        }
        figment = figment.merge(Toml::file_exact(file));
    }
    figment
        .merge(Env::raw().only(&["DATABASE_URL"]))
        .merge(
            Env::prefixed("PURPOSED_")
                .filter(|key| {
                    let top = key.as_str().split("__").next().unwrap_or_default();
                    KEYS.iter().any(|known| top.eq_ignore_ascii_case(known))
                })
                .split("__"),
        )
        .extract::<FileSettings>()
        .map_err(|error| {
            // figment names the key and where it came from; values are not quoted back
            // unless serde puts them in the message, which it does for strings only when an
            // enum variant is unknown (not a secret).
            error
                .into_iter()
                .map(|error| error.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })
}

/// Transport security of the gRPC port.
#[derive(Clone)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

impl fmt::Debug for TlsFiles {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TlsFiles")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// Who may call: nobody checked (a demo), or bearer tokens.
#[derive(Clone, Debug)]
pub enum Access {
    Open,
    Tokens(Arc<Authenticator>),
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    pub health_listen: Option<SocketAddr>,
    pub database_url: String,
    pub store: StoreOptions,
    /// Apply the embedded example manifests at start.
    pub demo: bool,
    /// Serve the benchmark-only no-op RPC beside Check.
    pub bench_noop: bool,
    pub limits: Limits,
    pub max_message_bytes: usize,
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    /// How long to wait before retrying an unreachable database at start.
    pub database_retry: Duration,
    pub database_check_interval: Duration,
    pub revision_poll: Duration,
    /// After a shutdown signal, how long in-flight calls (and long-lived streams such as a
    /// health watch) may run before their connections are closed.
    pub shutdown_grace: Duration,
    /// The key of subject pseudonyms. Without one, a SQLite file database keeps a generated
    /// key beside it (`<file>.key`); PostgreSQL requires one.
    pub subject_key: Option<SubjectKey>,
    pub access: Access,
    pub tls: Option<TlsFiles>,
}

impl Settings {
    /// Settings for a server open to every caller, without metrics: for tests and embedding.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Settings {
        Settings {
            listen,
            metrics_listen: None,
            health_listen: None,
            database_url: database_url.into(),
            store: StoreOptions::default(),
            demo: false,
            bench_noop: false,
            limits: Limits::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            request_timeout: Duration::from_secs(10),
            max_concurrent_requests: 1024,
            database_retry: Duration::from_secs(1),
            database_check_interval: Duration::from_secs(2),
            revision_poll: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
            subject_key: None,
            access: Access::Open,
            tls: None,
        }
    }

    /// Checks what the operator wrote and reads the files it names.
    pub fn from_file_settings(file: FileSettings) -> Result<Settings, SettingError> {
        let database_url = file.database_url.expose().to_owned();
        store::backend_of(&database_url).map_err(|_| {
            SettingError::new(
                "database_url",
                format!(
                    "{} is neither sqlite:// nor postgres://",
                    store::redact(&database_url)
                ),
            )
        })?;
        let metrics_listen = optional_address("metrics_listen", &file.metrics_listen)?;
        let health_listen = optional_address("health_listen", &file.health_listen)?;
        if file.database_pool == 0 {
            return Err(SettingError::new("database_pool", "must be at least 1"));
        }
        let positive = |setting: &str, value: u64| {
            if value == 0 {
                Err(SettingError::new(setting, "must be more than 0"))
            } else {
                Ok(value)
            }
        };
        let limits = &file.limits;
        positive("limits.max_message_bytes", limits.max_message_bytes as u64)?;
        positive(
            "limits.max_manifest_bytes",
            limits.max_manifest_bytes as u64,
        )?;
        positive("limits.max_batch_checks", limits.max_batch_checks as u64)?;
        positive("limits.request_timeout_ms", limits.request_timeout_ms)?;
        positive(
            "limits.max_concurrent_requests",
            limits.max_concurrent_requests as u64,
        )?;
        positive("limits.max_event_streams", limits.max_event_streams as u64)?;
        positive(
            "database_check_interval_ms",
            file.database_check_interval_ms,
        )?;
        positive("revision_poll_seconds", file.revision_poll_seconds)?;

        let subject_key = match (&file.subject_key, &file.subject_key_file) {
            (Some(_), Some(_)) => {
                return Err(SettingError::new(
                    "subject_key_file",
                    "give subject_key or subject_key_file, not both",
                ));
            }
            (Some(key), None) => Some(
                SubjectKey::from_hex(key.expose())
                    .map_err(|error| SettingError::new("subject_key", error))?,
            ),
            (None, Some(path)) => {
                let text = read_text(path, "subject_key_file")?;
                Some(
                    SubjectKey::from_hex(text.trim())
                        .map_err(|error| SettingError::new("subject_key_file", error))?,
                )
            }
            (None, None) => None,
        };
        let access = access(&file.auth, file.demo)?;
        let tls = file.tls.as_ref().map(tls_files).transpose()?;

        Ok(Settings {
            listen: file.listen,
            metrics_listen,
            health_listen,
            database_url,
            store: StoreOptions {
                max_connections: file.database_pool,
                ..StoreOptions::default()
            },
            demo: file.demo,
            bench_noop: false,
            limits: Limits {
                max_manifest_bytes: limits.max_manifest_bytes,
                max_batch_checks: limits.max_batch_checks,
                min_revision_wait: Duration::from_millis(limits.min_revision_wait_ms),
                max_event_streams: limits.max_event_streams,
            },
            max_message_bytes: limits.max_message_bytes,
            request_timeout: Duration::from_millis(limits.request_timeout_ms),
            max_concurrent_requests: limits.max_concurrent_requests,
            database_retry: Duration::from_secs(1),
            database_check_interval: Duration::from_millis(file.database_check_interval_ms),
            revision_poll: Duration::from_secs(file.revision_poll_seconds),
            shutdown_grace: Duration::from_secs(file.shutdown_grace_seconds),
            subject_key,
            access,
            tls,
        })
    }
}

/// An address, or `off` (or nothing) for none.
fn optional_address(setting: &str, value: &str) -> Result<Option<SocketAddr>, SettingError> {
    match value.trim() {
        "" | "off" => Ok(None),
        address => address.parse().map(Some).map_err(|_| {
            SettingError::new(
                setting,
                format!("{address:?} is not an address such as [::]:9090, nor `off`"),
            )
        }),
    }
}

fn read_text(path: &Path, setting: &str) -> Result<String, SettingError> {
    std::fs::read_to_string(path)
        .map_err(|error| SettingError::new(setting, format!("{}: {error}", path.display())))
}

fn read_bytes(path: &Path, setting: &str) -> Result<Vec<u8>, SettingError> {
    std::fs::read(path)
        .map_err(|error| SettingError::new(setting, format!("{}: {error}", path.display())))
}

fn access(auth: &AuthSettings, demo: bool) -> Result<Access, SettingError> {
    let has_key = auth.hs256_secret_file.is_some() || auth.public_key_file.is_some();
    if auth.disabled {
        if has_key {
            return Err(SettingError::new(
                "auth.disabled",
                "auth is disabled but token keys are configured; remove one or the other",
            ));
        }
        return Ok(Access::Open);
    }
    if !has_key {
        if demo {
            return Ok(Access::Open);
        }
        return Err(SettingError::new(
            "auth",
            "no token key: set auth.hs256_secret_file or auth.public_key_file \
             (PURPOSED_AUTH__PUBLIC_KEY_FILE), or auth.disabled = true on a closed network",
        ));
    }
    let issuer = auth
        .issuer
        .clone()
        .filter(|issuer| !issuer.is_empty())
        .ok_or_else(|| SettingError::new("auth.issuer", "required with token keys"))?;
    let audience = auth
        .audience
        .clone()
        .filter(|audience| !audience.is_empty())
        .ok_or_else(|| SettingError::new("auth.audience", "required with token keys"))?;
    let keys = TokenKeys {
        hs256_secret: auth
            .hs256_secret_file
            .as_deref()
            .map(|path| read_bytes(path, "auth.hs256_secret_file"))
            .transpose()?,
        public_key_pem: auth
            .public_key_file
            .as_deref()
            .map(|path| read_bytes(path, "auth.public_key_file"))
            .transpose()?,
    };
    let authenticator = Authenticator::new(&keys, &issuer, &audience, auth.leeway_seconds)
        .map_err(|(setting, message)| SettingError::new(setting, message))?;
    Ok(Access::Tokens(Arc::new(authenticator)))
}

fn tls_files(tls: &TlsSettings) -> Result<TlsFiles, SettingError> {
    Ok(TlsFiles {
        cert_pem: read_bytes(&tls.cert_file, "tls.cert_file")?,
        key_pem: read_bytes(&tls.key_file, "tls.key_file")?,
        client_ca_pem: tls
            .client_ca_file
            .as_deref()
            .map(|path| read_bytes(path, "tls.client_ca_file"))
            .transpose()?,
    })
}

/// The path of the key file kept beside a SQLite database file; `None` for other databases
/// and for in-memory SQLite.
pub fn key_file_beside(database_url: &str) -> Option<std::path::PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.contains(":memory:") || database_url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(format!("{path}.key")))
}

/// The subject key to use: the configured one; else, for a SQLite file, the key kept beside
/// it (generated on first use, readable by the owner only); else an error naming the setting.
pub fn resolve_subject_key(settings: &Settings) -> Result<SubjectKey, String> {
    if let Some(key) = &settings.subject_key {
        return Ok(key.clone());
    }
    if settings.database_url.starts_with("sqlite:") {
        return match key_file_beside(&settings.database_url) {
            Some(path) => key_from_file(&path),
            None => {
                tracing::warn!(
                    "in-memory database: subject pseudonyms last only as long as this process"
                );
                SubjectKey::generate()
            }
        };
    }
    Err("PURPOSED_SUBJECT_KEY is required with PostgreSQL: 64 or more hex digits (for example `openssl rand -hex 32`), the same on every replica".to_owned())
}

fn key_from_file(path: &std::path::Path) -> Result<SubjectKey, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            SubjectKey::from_hex(&text).map_err(|error| format!("{}: {error}", path.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let key = SubjectKey::generate()?;
            write_private(path, &key.to_hex()).map_err(|error| {
                format!("cannot keep the subject key at {}: {error}", path.display())
            })?;
            tracing::info!(path = %path.display(), "generated the subject key");
            Ok(key)
        }
        Err(error) => Err(format!(
            "cannot read the subject key at {}: {error}",
            path.display()
        )),
    }
}

/// Creates a file only its owner may read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_a_sqlite_file() {
        assert_eq!(
            key_file_beside("sqlite://purposed.db"),
            Some("purposed.db.key".into())
        );
        assert_eq!(
            key_file_beside("sqlite:///var/lib/p.db?mode=rwc"),
            Some("/var/lib/p.db.key".into())
        );
        assert_eq!(key_file_beside("sqlite::memory:"), None);
        assert_eq!(key_file_beside("postgres://db/purposed"), None);
    }

    #[test]
    fn postgres_needs_a_configured_key() {
        let settings = Settings::new("127.0.0.1:0".parse().unwrap(), "postgres://db/purposed");
        assert!(
            resolve_subject_key(&settings)
                .unwrap_err()
                .contains("PURPOSED_SUBJECT_KEY")
        );
    }

    #[test]
    fn a_generated_key_is_kept_and_found_again() {
        let directory = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", directory.path().join("p.db").display());
        let settings = Settings::new("127.0.0.1:0".parse().unwrap(), url);
        let first = resolve_subject_key(&settings).unwrap();
        let second = resolve_subject_key(&settings).unwrap();
        assert_eq!(first.to_hex(), second.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(directory.path().join("p.db.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
