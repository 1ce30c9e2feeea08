//! Settings of a running server, gathered from the command line and `PURPOSED_*` /
//! `DATABASE_URL` environment variables by the CLI.

use std::{net::SocketAddr, time::Duration};

use crate::{app::Limits, domain::pseudonym::SubjectKey, store::StoreOptions};

/// The embedded default: a SQLite file in the working directory, created on first run.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://purposed.db";
pub const DEFAULT_LISTEN: &str = "[::]:50051";
/// Largest gRPC message accepted; a manifest (1 MiB) and a full batch fit well inside.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub store: StoreOptions,
    /// Apply the embedded example manifests at start.
    pub demo: bool,
    /// Serve the benchmark-only no-op RPC beside Check.
    pub bench_noop: bool,
    pub limits: Limits,
    pub max_message_bytes: usize,
    /// How long to wait before retrying an unreachable database at start.
    pub database_retry: Duration,
    /// After a shutdown signal, how long in-flight calls (and long-lived streams such as a
    /// health watch) may run before their connections are closed.
    pub shutdown_grace: Duration,
    /// The key of subject pseudonyms. Without one, a SQLite file database keeps a generated
    /// key beside it (`<file>.key`); PostgreSQL requires one.
    pub subject_key: Option<SubjectKey>,
}

impl Settings {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Settings {
        Settings {
            listen,
            database_url: database_url.into(),
            store: StoreOptions::default(),
            demo: false,
            bench_noop: false,
            limits: Limits::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            database_retry: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(10),
            subject_key: None,
        }
    }
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
