//! Subject state and rights requests.
//!
//! Subjects appear only as pseudonyms (`subject`, 64 hex digits of an HMAC). The consent
//! ledger, objections, restrictions and erasures are append-mostly tables keyed by
//! organisation and subject; rights requests keep every transition as an event whose id,
//! increasing across the service, lets a watcher resume where it stopped. Due dates are
//! stored as computed when the clock started or was extended (ISO 8601 text, which orders as
//! dates do), so that overdue requests can be listed in SQL.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum OrganisationProfiles {
    Table,
    ClockWaitsForIdentity,
}

#[derive(DeriveIden, Clone, Copy)]
enum SubjectConsents {
    Table,
    Id,
    OrganisationId,
    Subject,
    Purpose,
    Action,
    At,
    NoticeVersion,
    Source,
    Parental,
    RecordedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum SubjectObjections {
    Table,
    Id,
    OrganisationId,
    Subject,
    DirectMarketing,
    Purpose,
    At,
    CompellingGrounds,
    WithdrawnAt,
    RightsRequestId,
}

#[derive(DeriveIden, Clone, Copy)]
enum SubjectRestrictions {
    Table,
    Id,
    OrganisationId,
    Subject,
    FromAt,
    LiftedAt,
    LiftNote,
    RightsRequestId,
}

#[derive(DeriveIden, Clone, Copy)]
enum SubjectErasures {
    Table,
    Id,
    OrganisationId,
    Subject,
    VerifiedAt,
    RightsRequestId,
}

#[derive(DeriveIden, Clone, Copy)]
enum SubjectBirths {
    Table,
    Id,
    OrganisationId,
    Subject,
    BirthDate,
    BirthYear,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsRequests {
    Table,
    Id,
    OrganisationId,
    RequestId,
    PayloadSha256,
    Kind,
    Subject,
    ReceivedAt,
    Status,
    ClockStartedOn,
    FirstDueOn,
    DueOn,
    ExtensionMonths,
    ExtensionReason,
    DirectMarketing,
    Details,
    RejectionReason,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsRequestPurposes {
    Table,
    Id,
    RightsRequestId,
    Purpose,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsRequestNotes {
    Table,
    Id,
    RightsRequestId,
    Kind,
    Purpose,
    Reason,
    Article,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsTasks {
    Table,
    Id,
    RightsRequestId,
    OrganisationId,
    Recipient,
    Status,
    CreatedAt,
    CompletedAt,
    CompletedBy,
    Note,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsTaskPurposes {
    Table,
    Id,
    TaskId,
    Purpose,
}

#[derive(DeriveIden, Clone, Copy)]
enum RightsEvents {
    Table,
    Id,
    OrganisationId,
    RightsRequestId,
    TaskId,
    Kind,
    Status,
    At,
    Actor,
    Note,
}

fn organisation_key(
    table: impl IntoIden + Clone + 'static,
    column: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(Organisations::Table, Organisations::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

fn subject_index(table: impl IntoIden + Clone + 'static, name: &str) -> IndexCreateStatement {
    Index::create()
        .if_not_exists()
        .name(name)
        .table(table)
        .col(Alias::new("organisation_id"))
        .col(Alias::new("subject"))
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationProfiles::Table)
                    .add_column(boolean(OrganisationProfiles::ClockWaitsForIdentity).default(false))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubjectConsents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubjectConsents::Id))
                    .col(string(SubjectConsents::OrganisationId))
                    .col(string(SubjectConsents::Subject))
                    .col(string(SubjectConsents::Purpose))
                    .col(string(SubjectConsents::Action))
                    .col(big_integer(SubjectConsents::At))
                    .col(string_null(SubjectConsents::NoticeVersion))
                    .col(text_null(SubjectConsents::Source))
                    .col(boolean(SubjectConsents::Parental))
                    .col(big_integer(SubjectConsents::RecordedAt))
                    .foreign_key(&mut organisation_key(
                        SubjectConsents::Table,
                        SubjectConsents::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(subject_index(
                SubjectConsents::Table,
                "subject_consents_subject",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubjectObjections::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubjectObjections::Id))
                    .col(string(SubjectObjections::OrganisationId))
                    .col(string(SubjectObjections::Subject))
                    .col(boolean(SubjectObjections::DirectMarketing))
                    .col(string_null(SubjectObjections::Purpose))
                    .col(big_integer(SubjectObjections::At))
                    .col(text_null(SubjectObjections::CompellingGrounds))
                    .col(big_integer_null(SubjectObjections::WithdrawnAt))
                    .col(string_null(SubjectObjections::RightsRequestId))
                    .foreign_key(&mut organisation_key(
                        SubjectObjections::Table,
                        SubjectObjections::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(subject_index(
                SubjectObjections::Table,
                "subject_objections_subject",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubjectRestrictions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubjectRestrictions::Id))
                    .col(string(SubjectRestrictions::OrganisationId))
                    .col(string(SubjectRestrictions::Subject))
                    .col(big_integer(SubjectRestrictions::FromAt))
                    .col(big_integer_null(SubjectRestrictions::LiftedAt))
                    .col(text_null(SubjectRestrictions::LiftNote))
                    .col(string_null(SubjectRestrictions::RightsRequestId))
                    .foreign_key(&mut organisation_key(
                        SubjectRestrictions::Table,
                        SubjectRestrictions::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(subject_index(
                SubjectRestrictions::Table,
                "subject_restrictions_subject",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubjectErasures::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubjectErasures::Id))
                    .col(string(SubjectErasures::OrganisationId))
                    .col(string(SubjectErasures::Subject))
                    .col(big_integer(SubjectErasures::VerifiedAt))
                    .col(string_null(SubjectErasures::RightsRequestId))
                    .foreign_key(&mut organisation_key(
                        SubjectErasures::Table,
                        SubjectErasures::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(subject_index(
                SubjectErasures::Table,
                "subject_erasures_subject",
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubjectBirths::Table)
                    .if_not_exists()
                    .col(big_pk_auto(SubjectBirths::Id))
                    .col(string(SubjectBirths::OrganisationId))
                    .col(string(SubjectBirths::Subject))
                    .col(string_null(SubjectBirths::BirthDate))
                    .col(integer_null(SubjectBirths::BirthYear))
                    .foreign_key(&mut organisation_key(
                        SubjectBirths::Table,
                        SubjectBirths::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                subject_index(SubjectBirths::Table, "subject_births_subject")
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsRequests::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsRequests::Id))
                    .col(string(RightsRequests::OrganisationId))
                    .col(string(RightsRequests::RequestId))
                    .col(string(RightsRequests::PayloadSha256))
                    .col(string(RightsRequests::Kind))
                    .col(string(RightsRequests::Subject))
                    .col(big_integer(RightsRequests::ReceivedAt))
                    .col(string(RightsRequests::Status))
                    .col(string_null(RightsRequests::ClockStartedOn))
                    .col(string_null(RightsRequests::FirstDueOn))
                    .col(string_null(RightsRequests::DueOn))
                    .col(small_integer(RightsRequests::ExtensionMonths).default(0))
                    .col(text_null(RightsRequests::ExtensionReason))
                    .col(boolean(RightsRequests::DirectMarketing))
                    .col(text_null(RightsRequests::Details))
                    .col(string_null(RightsRequests::RejectionReason))
                    .col(big_integer(RightsRequests::UpdatedAt))
                    .foreign_key(&mut organisation_key(
                        RightsRequests::Table,
                        RightsRequests::OrganisationId,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_requests_request_id")
                    .table(RightsRequests::Table)
                    .col(RightsRequests::OrganisationId)
                    .col(RightsRequests::RequestId)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_requests_due")
                    .table(RightsRequests::Table)
                    .col(RightsRequests::OrganisationId)
                    .col(RightsRequests::DueOn)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_requests_status")
                    .table(RightsRequests::Table)
                    .col(RightsRequests::OrganisationId)
                    .col(RightsRequests::Status)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsRequestPurposes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsRequestPurposes::Id))
                    .col(big_integer(RightsRequestPurposes::RightsRequestId))
                    .col(string(RightsRequestPurposes::Purpose))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                RightsRequestPurposes::Table,
                                RightsRequestPurposes::RightsRequestId,
                            )
                            .to(RightsRequests::Table, RightsRequests::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_request_purposes_request")
                    .table(RightsRequestPurposes::Table)
                    .col(RightsRequestPurposes::RightsRequestId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsRequestNotes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsRequestNotes::Id))
                    .col(big_integer(RightsRequestNotes::RightsRequestId))
                    .col(string(RightsRequestNotes::Kind))
                    .col(string(RightsRequestNotes::Purpose))
                    .col(text(RightsRequestNotes::Reason))
                    .col(string(RightsRequestNotes::Article))
                    .foreign_key(
                        ForeignKey::create()
                            .from(
                                RightsRequestNotes::Table,
                                RightsRequestNotes::RightsRequestId,
                            )
                            .to(RightsRequests::Table, RightsRequests::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_request_notes_request")
                    .table(RightsRequestNotes::Table)
                    .col(RightsRequestNotes::RightsRequestId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsTasks::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsTasks::Id))
                    .col(big_integer(RightsTasks::RightsRequestId))
                    .col(string(RightsTasks::OrganisationId))
                    .col(string(RightsTasks::Recipient))
                    .col(string(RightsTasks::Status))
                    .col(big_integer(RightsTasks::CreatedAt))
                    .col(big_integer_null(RightsTasks::CompletedAt))
                    .col(string_null(RightsTasks::CompletedBy))
                    .col(text_null(RightsTasks::Note))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RightsTasks::Table, RightsTasks::RightsRequestId)
                            .to(RightsRequests::Table, RightsRequests::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_tasks_request")
                    .table(RightsTasks::Table)
                    .col(RightsTasks::RightsRequestId)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_tasks_open")
                    .table(RightsTasks::Table)
                    .col(RightsTasks::OrganisationId)
                    .col(RightsTasks::Status)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsTaskPurposes::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsTaskPurposes::Id))
                    .col(big_integer(RightsTaskPurposes::TaskId))
                    .col(string(RightsTaskPurposes::Purpose))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RightsTaskPurposes::Table, RightsTaskPurposes::TaskId)
                            .to(RightsTasks::Table, RightsTasks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_task_purposes_task")
                    .table(RightsTaskPurposes::Table)
                    .col(RightsTaskPurposes::TaskId)
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RightsEvents::Table)
                    .if_not_exists()
                    .col(big_pk_auto(RightsEvents::Id))
                    .col(string(RightsEvents::OrganisationId))
                    .col(big_integer(RightsEvents::RightsRequestId))
                    .col(big_integer_null(RightsEvents::TaskId))
                    .col(string(RightsEvents::Kind))
                    .col(string(RightsEvents::Status))
                    .col(big_integer(RightsEvents::At))
                    .col(string(RightsEvents::Actor))
                    .col(text_null(RightsEvents::Note))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RightsEvents::Table, RightsEvents::RightsRequestId)
                            .to(RightsRequests::Table, RightsRequests::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_events_organisation")
                    .table(RightsEvents::Table)
                    .col(RightsEvents::OrganisationId)
                    .col(RightsEvents::Id)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("rights_events_request")
                    .table(RightsEvents::Table)
                    .col(RightsEvents::RightsRequestId)
                    .take(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RightsEvents::Table.into_iden(),
            RightsTaskPurposes::Table.into_iden(),
            RightsTasks::Table.into_iden(),
            RightsRequestNotes::Table.into_iden(),
            RightsRequestPurposes::Table.into_iden(),
            RightsRequests::Table.into_iden(),
            SubjectBirths::Table.into_iden(),
            SubjectErasures::Table.into_iden(),
            SubjectRestrictions::Table.into_iden(),
            SubjectObjections::Table.into_iden(),
            SubjectConsents::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(OrganisationProfiles::Table)
                    .drop_column(OrganisationProfiles::ClockWaitsForIdentity)
                    .take(),
            )
            .await
    }
}
