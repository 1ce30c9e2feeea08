//! The youngest age an organisation serves (`organisation.minimum_age` of a manifest), kept
//! with the profile of each revision. Both columns are null for an organisation that sets
//! none, which is every revision written before this migration. One column per statement:
//! SQLite alters one thing at a time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum OrganisationProfiles {
    Table,
    MinimumAge,
    MinimumAgeSource,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationProfiles::Table)
                    .add_column(small_integer_null(OrganisationProfiles::MinimumAge))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationProfiles::Table)
                    .add_column(text_null(OrganisationProfiles::MinimumAgeSource))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            OrganisationProfiles::MinimumAgeSource,
            OrganisationProfiles::MinimumAge,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OrganisationProfiles::Table)
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
