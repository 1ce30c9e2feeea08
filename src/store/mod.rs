//! Storage through sea-orm: SQLite (a file, created on first use) or PostgreSQL, one set of
//! migrations for both. The repositories turn rows into domain values and back; nothing
//! above this module sees a row.

pub mod actor;
mod audit;
pub mod entity;
mod legacy;
mod registry;
mod rights;
mod subjects;

use std::time::Duration;

use jiff::Timestamp;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    RuntimeErr, SqlErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sqlx::{
        postgres::PgConnectOptions,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    },
};

pub use registry::{
    Applied, RevisionRecord, SerialisedRevision, StoredRevision, serialise, sha256_hex,
};
pub use rights::{NewRequest, RequestChange, RequestFilter, Submission};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database url {0:?} is neither sqlite: nor postgres:")]
    UnsupportedUrl(String),
    #[error("database unavailable: {0}")]
    Unavailable(DbErr),
    #[error("database error: {0}")]
    Database(DbErr),
    #[error("stored registry is inconsistent: {0}")]
    Corrupt(String),
    #[error("organisation {organisation:?} is at revision {latest}, not the expected {expected}")]
    RevisionMismatch {
        organisation: String,
        expected: u64,
        latest: u64,
    },
    /// The database could not order this write after another one (SQLite still locked after
    /// the busy timeout; a PostgreSQL serialisation failure or deadlock): nothing was written.
    #[error("another write held the database; nothing was written, retry")]
    Conflict(DbErr),
    #[error("another apply to organisation {0:?} committed first; retry")]
    ConcurrentApply(String),
    #[error("organisation {0:?} has no revision {1}")]
    NoSuchRevision(String, u64),
    #[error("request id {0:?} is already taken by a request with another payload")]
    RequestIdTaken(String),
    #[error("no rights request {0:?}")]
    NoSuchRequest(String),
    #[error("no task {0}")]
    NoSuchTask(u64),
    #[error("task {0} is already done")]
    TaskDone(u64),
    #[error("rights request {request_id:?} moved to {current} meanwhile; read it again")]
    StatusMoved {
        request_id: String,
        current: &'static str,
    },
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> StoreError {
        if is_conflict(&error) {
            return StoreError::Conflict(error);
        }
        match &error {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => StoreError::Unavailable(error),
            _ => StoreError::Database(error),
        }
    }
}

/// Whether the database refused the statement only because another transaction held what it
/// needed: SQLite's BUSY and LOCKED (extended codes included), PostgreSQL's serialisation
/// failure and deadlock.
fn is_conflict(error: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(error))
    | DbErr::Query(RuntimeErr::SqlxError(error))
    | DbErr::Conn(RuntimeErr::SqlxError(error))) = error
    else {
        return false;
    };
    let Some(database) = error.as_database_error() else {
        return false;
    };
    let Some(code) = database.code() else {
        return false;
    };
    // A SQLSTATE is five digits too, so the backend decides how the code reads.
    if database
        .try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>()
        .is_some()
    {
        matches!(code.as_ref(), "40001" | "40P01")
    } else {
        // SQLite's primary result code is the low byte of an extended one.
        code.parse::<i32>()
            .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
    }
}

impl StoreError {
    /// Unique violations mean another writer got there first.
    fn from_write(error: DbErr, organisation: &str) -> StoreError {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                StoreError::ConcurrentApply(organisation.to_owned())
            }
            _ => StoreError::from(error),
        }
    }
}

/// Pool and durability settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// Open without the right to write or create anything: a missing SQLite file is an
    /// error, not a new database, and PostgreSQL refuses every write.
    pub read_only: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            read_only: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
}

/// Which database a URL names.
pub fn backend_of(url: &str) -> Result<DatabaseBackend, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(DatabaseBackend::Sqlite)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(DatabaseBackend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(redact(url)))
    }
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connects with durable settings: SQLite in WAL mode with full sync and foreign keys,
    /// PostgreSQL with synchronous commit on, whatever the server default.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let backend = backend_of(url)?;
        // Every connection to an in-memory SQLite database opens a database of its own.
        let max_connections = if url.contains(":memory:") || url.contains("mode=memory") {
            1
        } else {
            options.max_connections
        };
        let mut connect = ConnectOptions::new(url);
        connect
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(options.connect_timeout)
            .acquire_timeout(options.connect_timeout)
            .sqlx_logging(false);
        match backend {
            DatabaseBackend::Sqlite => {
                let read_only = options.read_only;
                connect.map_sqlx_sqlite_opts(move |sqlite: SqliteConnectOptions| {
                    let sqlite = sqlite
                        .synchronous(SqliteSynchronous::Full)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10));
                    if read_only {
                        // Setting the journal mode would write; a WAL database is read as
                        // WAL regardless.
                        sqlite.create_if_missing(false).read_only(true)
                    } else {
                        sqlite
                            .create_if_missing(true)
                            .journal_mode(SqliteJournalMode::Wal)
                    }
                });
            }
            _ => {
                let read_only = if options.read_only { "on" } else { "off" };
                connect.map_sqlx_postgres_opts(move |postgres: PgConnectOptions| {
                    postgres.options([
                        ("synchronous_commit", "on"),
                        ("default_transaction_read_only", read_only),
                    ])
                });
            }
        }
        let db = Database::connect(connect).await?;
        Ok(Store { db })
    }

    /// Brings the schema up to date, and serialises the registry of any revision written
    /// before migration 6 (see `legacy`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        let converted = self.convert_legacy_revisions().await?;
        if converted > 0 {
            tracing::info!(revisions = converted, "registry revisions serialised");
        }
        Ok(())
    }

    /// Fails while the database does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await.map_err(StoreError::Unavailable)
    }

    /// A transaction that writes. On SQLite it takes the write lock at BEGIN (IMMEDIATE):
    /// a deferred transaction that reads first cannot wait for the lock when it comes to
    /// write, and fails as busy at once. PostgreSQL ignores the mode.
    async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        Ok(self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }
}

fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

fn from_micros(value: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(value)
        .map_err(|_| StoreError::Corrupt(format!("timestamp {value} out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/purposed"),
            "postgres://app:***@db:5432/purposed"
        );
        assert_eq!(redact("postgres://db/purposed"), "postgres://db/purposed");
        assert_eq!(
            redact("sqlite://purposed.db?mode=rwc"),
            "sqlite://purposed.db?mode=rwc"
        );
    }

    #[test]
    fn knows_its_backends() {
        assert!(backend_of("sqlite::memory:").is_ok());
        assert!(backend_of("postgresql://x/y").is_ok());
        assert!(matches!(
            backend_of("mysql://x/y"),
            Err(StoreError::UnsupportedUrl(_))
        ));
    }
}
