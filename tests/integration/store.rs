//! The migrations and the repository on a real database.

use migrations::{Migrator, MigratorTrait};
use purposed::{
    app::{App, Limits},
    store::{Store, StoreOptions},
};
use sea_orm::ConnectionTrait;

use crate::{decision::shop_manifest, support::TestDatabase};

async fn table_count(store: &Store) -> i64 {
    let backend = store.connection().get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'"
        }
        _ => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'seaql_migrations'"
        }
    };
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(backend, sql))
        .await
        .expect("count tables")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("a count")
}

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    let database = TestDatabase::create().await;
    let store = Store::connect(&database.url, &StoreOptions::default())
        .await
        .expect("connect");
    store.migrate().await.expect("up");
    assert_eq!(table_count(&store).await, 30);
    store.migrate().await.expect("up again is a no-op");

    Migrator::down(store.connection(), None)
        .await
        .expect("down");
    assert_eq!(table_count(&store).await, 0);

    store.migrate().await.expect("up after down");
    let key = purposed::domain::pseudonym::SubjectKey::generate().expect("key");
    let app = App::load(store, Limits::default(), key)
        .await
        .expect("load");
    let applied = app
        .apply(&shop_manifest(), false, None, |_| {
            Ok::<_, purposed::error::Error>(())
        })
        .await
        .expect("apply");
    assert_eq!(applied.revision, 1);
}

/// The database's own refusal when another transaction got in the way: SQLite busy past
/// its timeout (here none), or a PostgreSQL serialisation failure.
async fn lock_conflict(url: &str) -> sea_orm::sqlx::Error {
    use sea_orm::sqlx::{Connection, Executor};
    if url.starts_with("sqlite") {
        let url = format!("{url}?mode=rwc");
        let mut holder = sea_orm::sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        let mut waiter = sea_orm::sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        holder
            .execute("CREATE TABLE contended (id INTEGER PRIMARY KEY)")
            .await
            .expect("create");
        holder
            .execute("BEGIN IMMEDIATE")
            .await
            .expect("take the write lock");
        waiter
            .execute("PRAGMA busy_timeout = 0")
            .await
            .expect("no waiting");
        waiter
            .execute("INSERT INTO contended (id) VALUES (1)")
            .await
            .expect_err("the write lock is held")
    } else {
        let mut reader = sea_orm::sqlx::PgConnection::connect(url)
            .await
            .expect("connect");
        let mut writer = sea_orm::sqlx::PgConnection::connect(url)
            .await
            .expect("connect");
        reader
            .execute("CREATE TABLE contended (id INT PRIMARY KEY, n INT); INSERT INTO contended VALUES (1, 0)")
            .await
            .expect("create");
        reader
            .execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT n FROM contended")
            .await
            .expect("a snapshot");
        writer
            .execute("UPDATE contended SET n = 1 WHERE id = 1")
            .await
            .expect("another writer commits");
        reader
            .execute("UPDATE contended SET n = 2 WHERE id = 1")
            .await
            .expect_err("the row changed since the snapshot")
    }
}

#[tokio::test]
async fn a_lock_conflict_is_a_conflict_on_either_database() {
    let database = TestDatabase::create().await;
    let error = lock_conflict(&database.url).await;
    let classified = purposed::store::StoreError::from(sea_orm::DbErr::Exec(
        sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(error)),
    ));
    assert!(
        matches!(classified, purposed::store::StoreError::Conflict(_)),
        "{classified:?}"
    );
    // Callers are told to retry, not that the service failed.
    assert!(matches!(
        purposed::error::Error::from(classified),
        purposed::error::Error::Aborted(_)
    ));
}
