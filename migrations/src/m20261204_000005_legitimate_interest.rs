//! The interest a purpose on legitimate interests pursues (`purposes[].legitimate_interest` of
//! a manifest, Art. 13(1)(d)), kept beside its balancing test. Null for every purpose written
//! before this migration.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Purposes {
    Table,
    LegitimateInterest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Purposes::Table)
                    .add_column(text_null(Purposes::LegitimateInterest))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Purposes::Table)
                    .drop_column(Purposes::LegitimateInterest)
                    .take(),
            )
            .await
    }
}
