//! The registry: organisations, their revisions, and the versioned rows of each revision.
//!
//! Every registry row is valid for a range of revisions, `[from_revision, to_revision)`, with
//! `to_revision` NULL while it is current. An apply closes the rows that changed and inserts
//! their new versions, so unchanged rows are shared by every revision and an old revision is
//! the rows whose range contains it. Child rows (locations, categories of a purpose, ...)
//! belong to one version of their parent and are never updated.
//!
//! Times are microseconds since the Unix epoch (BIGINT) and calendar dates ISO 8601 text, so
//! that SQLite and PostgreSQL store and order them alike.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Organisations {
    Table,
    Id,
    CreatedAt,
    LatestRevision,
}

#[derive(DeriveIden, Clone, Copy)]
enum Revisions {
    Table,
    Id,
    OrganisationId,
    Number,
    AppliedAt,
    ManifestSha256,
    Manifest,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrganisationProfiles {
    Table,
    LegalName,
    RegistrationNumber,
    Country,
    Role,
    DpoName,
    DpoEmail,
    DpoPhone,
    DpoAddress,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum Categories {
    Table,
    Key,
    Name,
    Sensitivity,
    Dpv,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum Recipients {
    Table,
    Key,
    Name,
    Kind,
    ParentKey,
    Status,
    ObjectionWindowEnds,
    Description,
    RegistrationNumber,
    Address,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecipientLocations {
    Table,
    Id,
    RecipientId,
    Country,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecipientAgreements {
    Table,
    Id,
    RecipientId,
    Reference,
    EffectiveFrom,
    EffectiveTo,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum RecipientSafeguards {
    Table,
    Id,
    RecipientId,
    Mechanism,
    SccModule,
    Reference,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum SafeguardCountries {
    Table,
    Id,
    SafeguardId,
    Country,
}

#[derive(DeriveIden, Clone, Copy)]
enum Purposes {
    Table,
    Key,
    Name,
    Description,
    LegalBasis,
    LegalBasisSource,
    BalancingTest,
    SpecialCondition,
    CriminalDataAuthorisation,
    DirectMarketing,
    StorageOnly,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum PurposeCategories {
    Table,
    PurposeId,
    CategoryKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum PurposeDataSubjects {
    Table,
    PurposeId,
    Name,
}

#[derive(DeriveIden, Clone, Copy)]
enum PurposeDataSources {
    Table,
    PurposeId,
    Description,
}

#[derive(DeriveIden, Clone, Copy)]
enum Engagements {
    Table,
    Id,
    PurposeId,
    RecipientKey,
    ConditionId,
    ConditionDescription,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum EngagementCategories {
    Table,
    Id,
    EngagementId,
    CategoryKey,
}

#[derive(DeriveIden, Clone, Copy)]
enum RetentionRules {
    Table,
    Id,
    PurposeId,
    Period,
    FromEvent,
    Description,
    Source,
}

#[derive(DeriveIden, Clone, Copy)]
enum RetentionRuleCategories {
    Table,
    Id,
    RetentionRuleId,
    CategoryKey,
}

/// A foreign key from `table.column` to `parent.id`, deleted with its parent.
fn child_of(
    table: impl IntoIden + Clone + 'static,
    column: impl IntoIden + Clone + 'static,
    parent: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(parent, Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

/// The columns every versioned registry row has: `id`, `organisation_id` and its revision
/// range.
fn versioned(table: impl IntoIden + Clone + 'static) -> TableCreateStatement {
    Table::create()
        .table(table.clone())
        .if_not_exists()
        .col(pk_auto(Alias::new("id")))
        .col(string(Alias::new("organisation_id")))
        .col(big_integer(Alias::new("from_revision")))
        .col(big_integer_null(Alias::new("to_revision")))
        .foreign_key(
            ForeignKey::create()
                .from(table, Alias::new("organisation_id"))
                .to(Organisations::Table, Organisations::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .take()
}

/// Rows of an organisation still current, or of a revision range.
fn current_index(table: impl IntoIden + Clone + 'static, name: &str) -> IndexCreateStatement {
    Index::create()
        .if_not_exists()
        .name(name)
        .table(table)
        .col(Alias::new("organisation_id"))
        .col(Alias::new("to_revision"))
        .take()
}

fn child_index(
    table: impl IntoIden + 'static,
    column: impl IntoIden + 'static,
    name: &str,
) -> IndexCreateStatement {
    Index::create()
        .if_not_exists()
        .name(name)
        .table(table)
        .col(column)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisations::Table)
                    .if_not_exists()
                    .col(string(Organisations::Id).primary_key())
                    .col(big_integer(Organisations::CreatedAt))
                    .col(big_integer(Organisations::LatestRevision).default(0))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Revisions::Table)
                    .if_not_exists()
                    .col(pk_auto(Revisions::Id))
                    .col(string(Revisions::OrganisationId))
                    .col(big_integer(Revisions::Number))
                    .col(big_integer(Revisions::AppliedAt))
                    .col(string(Revisions::ManifestSha256))
                    .col(text(Revisions::Manifest))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Revisions::Table, Revisions::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("revisions_organisation_number")
                    .table(Revisions::Table)
                    .col(Revisions::OrganisationId)
                    .col(Revisions::Number)
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                versioned(OrganisationProfiles::Table)
                    .col(string(OrganisationProfiles::LegalName))
                    .col(string_null(OrganisationProfiles::RegistrationNumber))
                    .col(string(OrganisationProfiles::Country))
                    .col(string(OrganisationProfiles::Role))
                    .col(string_null(OrganisationProfiles::DpoName))
                    .col(string_null(OrganisationProfiles::DpoEmail))
                    .col(string_null(OrganisationProfiles::DpoPhone))
                    .col(text_null(OrganisationProfiles::DpoAddress))
                    .col(text(OrganisationProfiles::Source))
                    .take(),
            )
            .await?;
        manager
            .create_index(current_index(
                OrganisationProfiles::Table,
                "organisation_profiles_current",
            ))
            .await?;

        manager
            .create_table(
                versioned(Categories::Table)
                    .col(string(Categories::Key))
                    .col(string(Categories::Name))
                    .col(string(Categories::Sensitivity))
                    .col(string_null(Categories::Dpv))
                    .col(text(Categories::Source))
                    .take(),
            )
            .await?;
        manager
            .create_index(current_index(Categories::Table, "categories_current"))
            .await?;

        manager
            .create_table(
                versioned(Recipients::Table)
                    .col(string(Recipients::Key))
                    .col(string(Recipients::Name))
                    .col(string(Recipients::Kind))
                    .col(string_null(Recipients::ParentKey))
                    .col(string(Recipients::Status))
                    .col(string_null(Recipients::ObjectionWindowEnds))
                    .col(text_null(Recipients::Description))
                    .col(string_null(Recipients::RegistrationNumber))
                    .col(text_null(Recipients::Address))
                    .col(text(Recipients::Source))
                    .take(),
            )
            .await?;
        manager
            .create_index(current_index(Recipients::Table, "recipients_current"))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecipientLocations::Table)
                    .if_not_exists()
                    .col(pk_auto(RecipientLocations::Id))
                    .col(integer(RecipientLocations::RecipientId))
                    .col(string(RecipientLocations::Country))
                    .foreign_key(&mut child_of(
                        RecipientLocations::Table,
                        RecipientLocations::RecipientId,
                        Recipients::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                RecipientLocations::Table,
                RecipientLocations::RecipientId,
                "recipient_locations_recipient",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecipientAgreements::Table)
                    .if_not_exists()
                    .col(pk_auto(RecipientAgreements::Id))
                    .col(integer(RecipientAgreements::RecipientId))
                    .col(text(RecipientAgreements::Reference))
                    .col(string_null(RecipientAgreements::EffectiveFrom))
                    .col(string_null(RecipientAgreements::EffectiveTo))
                    .col(text(RecipientAgreements::Source))
                    .foreign_key(&mut child_of(
                        RecipientAgreements::Table,
                        RecipientAgreements::RecipientId,
                        Recipients::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                RecipientAgreements::Table,
                RecipientAgreements::RecipientId,
                "recipient_agreements_recipient",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecipientSafeguards::Table)
                    .if_not_exists()
                    .col(pk_auto(RecipientSafeguards::Id))
                    .col(integer(RecipientSafeguards::RecipientId))
                    .col(string(RecipientSafeguards::Mechanism))
                    .col(small_integer_null(RecipientSafeguards::SccModule))
                    .col(text_null(RecipientSafeguards::Reference))
                    .col(text(RecipientSafeguards::Source))
                    .foreign_key(&mut child_of(
                        RecipientSafeguards::Table,
                        RecipientSafeguards::RecipientId,
                        Recipients::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                RecipientSafeguards::Table,
                RecipientSafeguards::RecipientId,
                "recipient_safeguards_recipient",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SafeguardCountries::Table)
                    .if_not_exists()
                    .col(pk_auto(SafeguardCountries::Id))
                    .col(integer(SafeguardCountries::SafeguardId))
                    .col(string(SafeguardCountries::Country))
                    .foreign_key(&mut child_of(
                        SafeguardCountries::Table,
                        SafeguardCountries::SafeguardId,
                        RecipientSafeguards::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                SafeguardCountries::Table,
                SafeguardCountries::SafeguardId,
                "safeguard_countries_safeguard",
            ))
            .await?;

        manager
            .create_table(
                versioned(Purposes::Table)
                    .col(string(Purposes::Key))
                    .col(string(Purposes::Name))
                    .col(text_null(Purposes::Description))
                    .col(string_null(Purposes::LegalBasis))
                    .col(text_null(Purposes::LegalBasisSource))
                    .col(text_null(Purposes::BalancingTest))
                    .col(string_null(Purposes::SpecialCondition))
                    .col(text_null(Purposes::CriminalDataAuthorisation))
                    .col(boolean(Purposes::DirectMarketing))
                    .col(boolean(Purposes::StorageOnly))
                    .col(text(Purposes::Source))
                    .take(),
            )
            .await?;
        manager
            .create_index(current_index(Purposes::Table, "purposes_current"))
            .await?;

        for (table, column, text_column, index) in [
            (
                PurposeCategories::Table.into_iden(),
                PurposeCategories::PurposeId.into_iden(),
                PurposeCategories::CategoryKey.into_iden(),
                "purpose_categories_purpose",
            ),
            (
                PurposeDataSubjects::Table.into_iden(),
                PurposeDataSubjects::PurposeId.into_iden(),
                PurposeDataSubjects::Name.into_iden(),
                "purpose_data_subjects_purpose",
            ),
            (
                PurposeDataSources::Table.into_iden(),
                PurposeDataSources::PurposeId.into_iden(),
                PurposeDataSources::Description.into_iden(),
                "purpose_data_sources_purpose",
            ),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(table.clone())
                        .if_not_exists()
                        .col(pk_auto(Alias::new("id")))
                        .col(integer(column.clone()))
                        .col(text(text_column))
                        .foreign_key(&mut child_of(
                            table.clone(),
                            column.clone(),
                            Purposes::Table,
                        ))
                        .take(),
                )
                .await?;
            manager
                .create_index(child_index(table, column, index))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Engagements::Table)
                    .if_not_exists()
                    .col(pk_auto(Engagements::Id))
                    .col(integer(Engagements::PurposeId))
                    .col(string(Engagements::RecipientKey))
                    .col(string_null(Engagements::ConditionId))
                    .col(text_null(Engagements::ConditionDescription))
                    .col(text(Engagements::Source))
                    .foreign_key(&mut child_of(
                        Engagements::Table,
                        Engagements::PurposeId,
                        Purposes::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                Engagements::Table,
                Engagements::PurposeId,
                "engagements_purpose",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EngagementCategories::Table)
                    .if_not_exists()
                    .col(pk_auto(EngagementCategories::Id))
                    .col(integer(EngagementCategories::EngagementId))
                    .col(string(EngagementCategories::CategoryKey))
                    .foreign_key(&mut child_of(
                        EngagementCategories::Table,
                        EngagementCategories::EngagementId,
                        Engagements::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                EngagementCategories::Table,
                EngagementCategories::EngagementId,
                "engagement_categories_engagement",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RetentionRules::Table)
                    .if_not_exists()
                    .col(pk_auto(RetentionRules::Id))
                    .col(integer(RetentionRules::PurposeId))
                    .col(string(RetentionRules::Period))
                    .col(string(RetentionRules::FromEvent))
                    .col(text_null(RetentionRules::Description))
                    .col(text(RetentionRules::Source))
                    .foreign_key(&mut child_of(
                        RetentionRules::Table,
                        RetentionRules::PurposeId,
                        Purposes::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                RetentionRules::Table,
                RetentionRules::PurposeId,
                "retention_rules_purpose",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RetentionRuleCategories::Table)
                    .if_not_exists()
                    .col(pk_auto(RetentionRuleCategories::Id))
                    .col(integer(RetentionRuleCategories::RetentionRuleId))
                    .col(string(RetentionRuleCategories::CategoryKey))
                    .foreign_key(&mut child_of(
                        RetentionRuleCategories::Table,
                        RetentionRuleCategories::RetentionRuleId,
                        RetentionRules::Table,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(child_index(
                RetentionRuleCategories::Table,
                RetentionRuleCategories::RetentionRuleId,
                "retention_rule_categories_rule",
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children before parents.
        for table in [
            RetentionRuleCategories::Table.into_iden(),
            RetentionRules::Table.into_iden(),
            EngagementCategories::Table.into_iden(),
            Engagements::Table.into_iden(),
            PurposeDataSources::Table.into_iden(),
            PurposeDataSubjects::Table.into_iden(),
            PurposeCategories::Table.into_iden(),
            Purposes::Table.into_iden(),
            SafeguardCountries::Table.into_iden(),
            RecipientSafeguards::Table.into_iden(),
            RecipientAgreements::Table.into_iden(),
            RecipientLocations::Table.into_iden(),
            Recipients::Table.into_iden(),
            Categories::Table.into_iden(),
            OrganisationProfiles::Table.into_iden(),
            Revisions::Table.into_iden(),
            Organisations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
