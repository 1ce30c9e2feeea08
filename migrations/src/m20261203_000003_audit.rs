//! The audit log: every registry change, subject-state change and rights-request transition,
//! appended in the transaction of the change itself.
//!
//! Entries are hash-chained per organisation (each entry's hash covers the previous entry's),
//! so that writers of different organisations never queue on one lock. `audit_heads` keeps
//! each chain's last seq and hash: it is the row writers lock to append, and it lets a
//! verifier notice entries deleted from the tail, which a chain alone cannot show. Neither
//! table refers to `organisations`: deleting an organisation must not delete its history.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AuditLog {
    Table,
    Id,
    OrganisationId,
    Seq,
    At,
    Actor,
    Kind,
    Subject,
    Detail,
    PrevHash,
    Hash,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditHeads {
    Table,
    OrganisationId,
    Seq,
    Hash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .if_not_exists()
                    .col(big_pk_auto(AuditLog::Id))
                    .col(string(AuditLog::OrganisationId))
                    .col(big_integer(AuditLog::Seq))
                    .col(big_integer(AuditLog::At))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Kind))
                    .col(string_null(AuditLog::Subject))
                    .col(text(AuditLog::Detail))
                    .col(string(AuditLog::PrevHash))
                    .col(string(AuditLog::Hash))
                    .take(),
            )
            .await?;
        // Also the index the verifier pages a chain through.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("audit_log_seq")
                    .table(AuditLog::Table)
                    .col(AuditLog::OrganisationId)
                    .col(AuditLog::Seq)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditHeads::Table)
                    .if_not_exists()
                    .col(string(AuditHeads::OrganisationId).primary_key())
                    .col(big_integer(AuditHeads::Seq))
                    .col(string(AuditHeads::Hash))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [AuditHeads::Table.into_iden(), AuditLog::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
