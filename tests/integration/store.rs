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
    let input = purposed::app::ApplyInput {
        manifest: shop_manifest(),
        dry_run: false,
        expected_revision: None,
        effective_from: None,
    };
    let applied = app
        .apply(&input, |_| Ok::<_, purposed::error::Error>(()))
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

/// A database from before migration 6 keeps each revision as rows of the per-revision
/// tables; migrating serialises every one of them, exactly: each equals its own manifest
/// parsed again, and describes the processing from when it was applied.
#[tokio::test]
async fn revisions_stored_as_rows_are_serialised_exactly_when_migrated() {
    let database = TestDatabase::create().await;
    let store = Store::connect(&database.url, &StoreOptions::default())
        .await
        .expect("connect");
    Migrator::up(store.connection(), Some(5))
        .await
        .expect("the migrations before 6");
    store
        .connection()
        .execute_unprepared(include_str!("../fixtures/legacy-registry.sql"))
        .await
        .expect("rows as an earlier purposed wrote them");
    if store.connection().get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Explicit ids leave the sequence behind; the next apply needs it past them.
        store
            .connection()
            .execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('revisions', 'id'), (SELECT MAX(id) FROM revisions))",
            )
            .await
            .expect("advance the revision ids");
    }

    store.migrate().await.expect("migrate and convert");
    let organisations = store.load_all().await.expect("load");
    let names: Vec<(&str, usize)> = organisations
        .iter()
        .map(|(organisation, history)| (organisation.as_str(), history.len()))
        .collect();
    assert_eq!(
        names,
        [
            ("apollo", 1),
            ("capturi", 1),
            ("peero", 2),
            ("pro-balances", 1),
            ("sendberry", 1)
        ]
    );
    for (organisation, history) in &organisations {
        for stored in history {
            let record = store
                .revision_record(organisation, Some(stored.number))
                .await
                .expect("record");
            let parsed = purposed::manifest::parse(&record.manifest, 1 << 20).expect("parses");
            assert_eq!(
                stored.registry, parsed.registry,
                "revision {} of {organisation}",
                stored.number
            );
            assert_eq!(stored.effective_from, stored.applied_at);
        }
    }
    let peero = &organisations[2].1;
    assert_eq!(peero[0].registry.organisation.legal_name, "SIA Peero");
    assert_eq!(peero[1].registry.organisation.legal_name, "SIA \"Peero\"");

    // A second migrate converts nothing and changes nothing.
    store.migrate().await.expect("migrate again");
    let again = store.load_all().await.expect("load again");
    assert_eq!(again.len(), organisations.len());

    // A revision applied now exists only serialised: undoing migration 6 would lose it.
    let key = purposed::domain::pseudonym::SubjectKey::generate().expect("key");
    let app = App::load(store.clone(), Limits::default(), key)
        .await
        .expect("load the converted registries");
    let input = purposed::app::ApplyInput {
        manifest: crate::support::example("peero").to_owned(),
        dry_run: false,
        expected_revision: Some(2),
        effective_from: None,
    };
    let applied = app
        .apply(&input, |_| Ok::<_, purposed::error::Error>(()))
        .await
        .expect("apply after the conversion");
    assert_eq!((applied.revision, applied.changed), (3, true));
    let refused = Migrator::down(store.connection(), Some(1))
        .await
        .expect_err("undoing migration 6 would lose revision 3");
    assert!(refused.to_string().contains("1 revisions"), "{refused}");
}
