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
