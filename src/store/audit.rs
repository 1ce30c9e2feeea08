//! The audit repository: appending to an organisation's chain inside the transaction of the
//! change it records, and reading every chain back for verification.

use sea_orm::{
    AccessMode, ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend,
    DatabaseTransaction, EntityTrait, IsolationLevel, QueryFilter, QueryOrder, QuerySelect,
    Statement, TransactionTrait, sea_query::Expr,
};

use super::{Store, StoreError, entity::*};
use crate::{
    domain::audit::{self, Entry, GENESIS, Head, Record, Report, Stored, Walk},
    store::actor::current_actor,
};

/// Entries read per query while verifying: a chain of any length never sits in memory.
const VERIFY_PAGE: u64 = 5_000;

/// Appends `record` to its organisation's chain, attributed to the current actor; returns
/// the new entry's seq. The one place entries are written.
///
/// Call it last in the transaction of the change, so the head's lock is held only for the
/// commit: every writer of the organisation queues on that row, on PostgreSQL its row lock,
/// on SQLite the database write lock the transaction already holds.
pub(super) async fn append_audit(
    txn: &DatabaseTransaction,
    record: &Record,
) -> Result<i64, StoreError> {
    let organisation = record.organisation.as_str();
    // Update first, read after: reading first would let two writers read the same head.
    lock_chain(txn, organisation).await?;
    let head = audit_head::Entity::find_by_id(organisation.to_owned())
        .one(txn)
        .await?
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "audit head of {organisation:?} vanished while locked"
            ))
        })?;
    let seq = head.seq + 1;
    let entry = Entry::new(record, seq, current_actor());
    let hash = audit::hash(&entry, &head.hash);
    audit_log::ActiveModel {
        organisation_id: Set(entry.organisation),
        seq: Set(seq),
        at: Set(entry.at),
        actor: Set(entry.actor),
        kind: Set(entry.kind),
        subject: Set(entry.subject),
        detail: Set(entry.detail),
        prev_hash: Set(head.hash),
        hash: Set(hash.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::value(seq))
        .col_expr(audit_head::Column::Hash, Expr::value(hash))
        .filter(audit_head::Column::OrganisationId.eq(organisation))
        .exec(txn)
        .await?;
    // Other replicas catch up on commit (PostgreSQL delivers notifications then, and not at
    // all on rollback). The payload names the organisation only: never a subject.
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANGES_CHANNEL.into(), organisation.into()],
        ))
        .await?;
    }
    Ok(seq)
}

/// Takes the organisation's chain head for the rest of the transaction (creating it at
/// genesis if the organisation has none): on PostgreSQL its row lock, on SQLite the write
/// lock the transaction holds already. Every writer of the organisation queues here. A
/// transaction that writes rights events takes it before the first, so that event ids,
/// drawn from a sequence as rows are inserted, follow the order in which the writers commit:
/// a watcher reading after the last id it saw then cannot pass over an event that commits
/// late with a lower id.
pub(super) async fn lock_chain(
    txn: &DatabaseTransaction,
    organisation: &str,
) -> Result<(), StoreError> {
    audit_head::Entity::insert(audit_head::ActiveModel {
        organisation_id: Set(organisation.to_owned()),
        seq: Set(0),
        hash: Set(GENESIS.to_owned()),
    })
    .on_conflict_do_nothing_on([audit_head::Column::OrganisationId])
    .exec(txn)
    .await?;
    audit_head::Entity::update_many()
        .col_expr(audit_head::Column::Seq, Expr::col(audit_head::Column::Seq))
        .filter(audit_head::Column::OrganisationId.eq(organisation))
        .exec(txn)
        .await?;
    Ok(())
}

/// The PostgreSQL notification channel of committed changes.
pub const CHANGES_CHANNEL: &str = "purposed_changes";

fn stored(row: audit_log::Model) -> Stored {
    Stored {
        id: row.id,
        entry: Entry {
            organisation: row.organisation_id,
            seq: row.seq,
            at: row.at,
            actor: row.actor,
            kind: row.kind,
            subject: row.subject,
            detail: row.detail,
        },
        prev_hash: row.prev_hash,
        hash: row.hash,
    }
}

/// An entry as a replica needs it: its seq, its kind and the subject it names.
pub type Change = (i64, String, Option<String>);

impl Store {
    /// Where each organisation's chain stands (of one organisation, when given).
    pub async fn audit_heads(
        &self,
        organisation: Option<&str>,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let mut query = audit_head::Entity::find()
            .select_only()
            .column(audit_head::Column::OrganisationId)
            .column(audit_head::Column::Seq);
        if let Some(organisation) = organisation {
            query = query.filter(audit_head::Column::OrganisationId.eq(organisation));
        }
        Ok(query.into_tuple().all(&self.db).await?)
    }

    /// Up to `limit` entries of the organisation's chain after `seq`, in order.
    pub async fn audit_changes_after(
        &self,
        organisation: &str,
        seq: i64,
        limit: u64,
    ) -> Result<Vec<Change>, StoreError> {
        Ok(audit_log::Entity::find()
            .select_only()
            .column(audit_log::Column::Seq)
            .column(audit_log::Column::Kind)
            .column(audit_log::Column::Subject)
            .filter(audit_log::Column::OrganisationId.eq(organisation))
            .filter(audit_log::Column::Seq.gt(seq))
            .order_by_asc(audit_log::Column::Seq)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    /// Waits for change notifications of other writers (PostgreSQL only; `None` for
    /// SQLite, where one process writes).
    pub async fn listen_for_changes(
        &self,
    ) -> Result<Option<sea_orm::sqlx::postgres::PgListener>, StoreError> {
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(None);
        }
        let pool = self.db.get_postgres_connection_pool();
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|error| {
                StoreError::Unavailable(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
                    error.into(),
                )))
            })?;
        listener.listen(CHANGES_CHANNEL).await.map_err(|error| {
            StoreError::Unavailable(sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(
                error.into(),
            )))
        })?;
        Ok(Some(listener))
    }

    /// Walks every organisation's chain against its head and reports what is wrong.
    pub async fn verify_audit(&self) -> Result<Report, StoreError> {
        let mut organisations: Vec<String> = audit_head::Entity::find()
            .select_only()
            .column(audit_head::Column::OrganisationId)
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        // A chain whose head row is gone is still a chain to report on.
        organisations.extend(
            audit_log::Entity::find()
                .select_only()
                .column(audit_log::Column::OrganisationId)
                .distinct()
                .into_tuple::<String>()
                .all(&self.db)
                .await?,
        );
        // Every change is audited, so an organisation holding anything has a chain: one
        // with neither entries nor head has lost all of it.
        let holding = self.organisations_holding_data().await?;
        organisations.extend(holding.iter().cloned());
        organisations.sort();
        organisations.dedup();

        let mut report = Report::default();
        for organisation in organisations {
            let (entries, head, mut problems) = self.verify_chain(&organisation).await?;
            if entries == 0 && !head && holding.contains(&organisation) {
                problems.push(audit::Problem {
                    organisation: organisation.clone(),
                    seq: 1,
                    id: None,
                    fault: audit::Fault::Deleted,
                    message: "the organisation holds stored data (revisions, subject records \
                              or rights requests) but has no audit chain: every entry and \
                              its head are gone"
                        .to_owned(),
                });
            }
            report.organisations += 1;
            report.entries += entries;
            report.chains.push((organisation, entries));
            report.problems.extend(problems);
        }
        tracing::info!(
            organisations = report.organisations,
            entries = report.entries,
            problems = report.problems.len(),
            "audit log verified"
        );
        Ok(report)
    }

    /// Every organisation with rows of its own outside the audit log.
    async fn organisations_holding_data(&self) -> Result<Vec<String>, StoreError> {
        async fn distinct<E: EntityTrait>(
            db: &sea_orm::DatabaseConnection,
            column: E::Column,
        ) -> Result<Vec<String>, StoreError> {
            Ok(E::find()
                .select_only()
                .column(column)
                .distinct()
                .into_tuple::<String>()
                .all(db)
                .await?)
        }
        let db = &self.db;
        let mut organisations =
            distinct::<organisation::Entity>(db, organisation::Column::Id).await?;
        organisations
            .extend(distinct::<revision::Entity>(db, revision::Column::OrganisationId).await?);
        organisations.extend(
            distinct::<subject_consent::Entity>(db, subject_consent::Column::OrganisationId)
                .await?,
        );
        organisations.extend(
            distinct::<subject_objection::Entity>(db, subject_objection::Column::OrganisationId)
                .await?,
        );
        organisations.extend(
            distinct::<subject_restriction::Entity>(
                db,
                subject_restriction::Column::OrganisationId,
            )
            .await?,
        );
        organisations.extend(
            distinct::<subject_erasure::Entity>(db, subject_erasure::Column::OrganisationId)
                .await?,
        );
        organisations.extend(
            distinct::<subject_birth::Entity>(db, subject_birth::Column::OrganisationId).await?,
        );
        organisations.extend(
            distinct::<rights_request::Entity>(db, rights_request::Column::OrganisationId).await?,
        );
        organisations.sort();
        organisations.dedup();
        Ok(organisations)
    }

    /// One chain and its head, read in one snapshot so that entries appended meanwhile are
    /// neither half seen nor taken for forgeries.
    async fn verify_chain(
        &self,
        organisation: &str,
    ) -> Result<(u64, bool, Vec<audit::Problem>), StoreError> {
        let txn = match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                self.db
                    .begin_with_config(
                        Some(IsolationLevel::RepeatableRead),
                        Some(AccessMode::ReadOnly),
                    )
                    .await?
            }
            // A deferred SQLite transaction reads one snapshot from its first read on.
            _ => self.db.begin().await?,
        };
        let head = audit_head::Entity::find_by_id(organisation.to_owned())
            .one(&txn)
            .await?
            .map(|row| Head {
                seq: row.seq,
                hash: row.hash,
            });
        let has_head = head.is_some();
        let mut walk = Walk::new(organisation, head);
        // Paged by (seq, id), not by seq alone: duplicate seqs must be read, not skipped.
        let mut after: Option<(i64, i64)> = None;
        loop {
            let mut query = audit_log::Entity::find()
                .filter(audit_log::Column::OrganisationId.eq(organisation));
            if let Some((seq, id)) = after {
                query = query.filter(
                    sea_orm::Condition::any()
                        .add(audit_log::Column::Seq.gt(seq))
                        .add(
                            sea_orm::Condition::all()
                                .add(audit_log::Column::Seq.eq(seq))
                                .add(audit_log::Column::Id.gt(id)),
                        ),
                );
            }
            let page = query
                .order_by_asc(audit_log::Column::Seq)
                .order_by_asc(audit_log::Column::Id)
                .limit(VERIFY_PAGE)
                .all(&txn)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.seq, last.id));
            for row in page {
                walk.push(&stored(row));
            }
        }
        txn.rollback().await?;
        let entries = walk.entries();
        Ok((entries, has_head, walk.finish()))
    }
}
