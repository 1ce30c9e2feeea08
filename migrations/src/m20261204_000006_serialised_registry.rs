//! Each revision keeps its registry serialised (`revisions.registry`, JSON of the domain
//! registry with a schema version) and the moment since which it describes the processing
//! (`revisions.effective_from`, microseconds since the epoch: valid time, beside `applied_at`,
//! transaction time).
//!
//! Revisions written before this migration keep their rows in the per-revision tables of
//! migration 1 and get `effective_from = applied_at`; the store fills their `registry` from
//! those rows when it migrates (`store::legacy`), and writes only `registry` from then on.
//! The per-revision tables are read for that conversion alone and are dropped by a later
//! migration.
//!
//! `down` drops both columns, but refuses while a revision exists only in serialised form
//! (applied after this migration): the tables of migration 1 do not hold it, and the
//! revision would be lost.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Revisions {
    Table,
    Registry,
    EffectiveFrom,
    AppliedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .add_column(text_null(Revisions::Registry))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Revisions::Table)
                    .add_column(big_integer_null(Revisions::EffectiveFrom))
                    .take(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Revisions::Table)
                    .value(Revisions::EffectiveFrom, Expr::col(Revisions::AppliedAt))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Revisions applied since this migration ran (its `applied_at` is in seconds; one
        // applied in the same second before it is counted too, which errs on the safe side).
        let unconverted = manager
            .get_connection()
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS missing FROM revisions WHERE applied_at >= \
                 (SELECT applied_at FROM seaql_migrations \
                 WHERE version = 'm20261204_000006_serialised_registry') * 1000000",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "missing"))
            .transpose()?
            .unwrap_or(0);
        if unconverted > 0 {
            return Err(DbErr::Migration(format!(
                "{unconverted} revisions were applied after migration m20261204_000006 and exist only as serialised registries; undoing it would lose them"
            )));
        }
        for column in [Revisions::Registry, Revisions::EffectiveFrom] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Revisions::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
