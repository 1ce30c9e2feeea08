//! The registry repository: applying a registry as a new revision in one transaction, and
//! loading every revision back as domain registries.
//!
//! A revision is one row of `revisions`: the manifest text exactly as applied, its digest,
//! when it was applied (transaction time), since when it describes the processing (valid
//! time), and the registry serialised as JSON with a schema version. A registry is only ever
//! read whole, so nothing is gained by spreading it over tables; a field added to the domain
//! registry is stored with no migration (give it `#[serde(default)]` so that older revisions
//! read back).

use jiff::Timestamp;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, audit::append_audit, entity::*, from_micros, micros};
use crate::domain::{audit, policy::Registry};

/// The version of the serialised form. A server refuses a registry of a later version than
/// its own instead of reading it wrongly (after a downgrade, for example).
const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Serialised<R> {
    schema: u32,
    registry: R,
}

/// The stored form of a registry.
pub fn serialise(registry: &Registry) -> Result<String, StoreError> {
    serde_json::to_string(&Serialised {
        schema: SCHEMA_VERSION,
        registry,
    })
    .map_err(|error| StoreError::Corrupt(format!("registry not serialisable: {error}")))
}

fn deserialise(organisation: &str, number: i64, text: &str) -> Result<Registry, StoreError> {
    let corrupt = |what: String| {
        StoreError::Corrupt(format!(
            "revision {number} of organisation {organisation:?}: {what}"
        ))
    };
    #[derive(Deserialize)]
    struct Version {
        schema: u32,
    }
    let version: Version =
        serde_json::from_str(text).map_err(|error| corrupt(error.to_string()))?;
    if version.schema > SCHEMA_VERSION {
        return Err(corrupt(format!(
            "its registry has schema version {}, newer than this server's {SCHEMA_VERSION}; run a newer purposed",
            version.schema
        )));
    }
    let serialised: Serialised<Registry> =
        serde_json::from_str(text).map_err(|error| corrupt(error.to_string()))?;
    Ok(serialised.registry.normalise())
}

/// One revision as stored.
#[derive(Clone, Debug)]
pub struct StoredRevision {
    pub number: u64,
    pub applied_at: Timestamp,
    pub effective_from: Timestamp,
    pub manifest_sha256: String,
    pub registry: Registry,
}

/// The outcome of an apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The organisation's latest revision after the apply.
    pub revision: u64,
    /// Whether a revision was written.
    pub changed: bool,
    pub applied_at: Timestamp,
    pub effective_from: Timestamp,
}

/// A revision's record, with the manifest text exactly as applied.
#[derive(Clone, Debug)]
pub struct RevisionRecord {
    pub number: u64,
    pub applied_at: Timestamp,
    pub effective_from: Timestamp,
    pub manifest_sha256: String,
    pub manifest: String,
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn revision_number(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("revision {value}")))
}

fn as_i64(revision: u64) -> i64 {
    // Revisions count up from 1 by one per apply; they never reach i64::MAX.
    i64::try_from(revision).unwrap_or(i64::MAX)
}

impl revision::Model {
    fn effective_from(&self) -> Result<Timestamp, StoreError> {
        // Migration 6 fills it for every earlier revision, and every apply writes it.
        from_micros(self.effective_from.unwrap_or(self.applied_at))
    }
}

/// A revision as read, its registry still serialised: reading it back is CPU work, which a
/// caller serving Checks does off the async workers (`decode`).
#[derive(Clone, Debug)]
pub struct SerialisedRevision {
    organisation: String,
    number: i64,
    applied_at: i64,
    effective_from: Option<i64>,
    manifest_sha256: String,
    registry: Option<String>,
}

/// The columns of `SerialisedRevision`: every one but the manifest text, which only
/// `revision_record` returns.
type SerialisedColumns = (String, i64, i64, Option<i64>, String, Option<String>);

impl SerialisedRevision {
    fn from_columns(
        (organisation, number, applied_at, effective_from, manifest_sha256, registry): SerialisedColumns,
    ) -> SerialisedRevision {
        SerialisedRevision {
            organisation,
            number,
            applied_at,
            effective_from,
            manifest_sha256,
            registry,
        }
    }

    pub fn decode(self) -> Result<StoredRevision, StoreError> {
        let text = self.registry.as_deref().ok_or_else(|| {
            StoreError::Corrupt(format!(
                "revision {} of organisation {:?} has no serialised registry",
                self.number, self.organisation
            ))
        })?;
        Ok(StoredRevision {
            number: revision_number(self.number)?,
            applied_at: from_micros(self.applied_at)?,
            // Migration 6 fills it for every earlier revision, and every apply writes it.
            effective_from: from_micros(self.effective_from.unwrap_or(self.applied_at))?,
            registry: deserialise(&self.organisation, self.number, text)?,
            manifest_sha256: self.manifest_sha256,
        })
    }
}

/// The revisions a query selects, without their manifest text.
fn serialised() -> sea_orm::Select<revision::Entity> {
    revision::Entity::find().select_only().columns([
        revision::Column::OrganisationId,
        revision::Column::Number,
        revision::Column::AppliedAt,
        revision::Column::EffectiveFrom,
        revision::Column::ManifestSha256,
        revision::Column::Registry,
    ])
}

impl Store {
    /// Every revision of every organisation, oldest first.
    pub async fn load_all(&self) -> Result<Vec<(String, Vec<StoredRevision>)>, StoreError> {
        let records = serialised()
            .order_by_asc(revision::Column::OrganisationId)
            .order_by_asc(revision::Column::Number)
            .into_tuple::<SerialisedColumns>()
            .all(&self.db)
            .await?;
        let mut organisations: Vec<(String, Vec<StoredRevision>)> = Vec::new();
        for columns in records {
            let record = SerialisedRevision::from_columns(columns);
            let organisation = record.organisation.clone();
            let stored = record.decode()?;
            match organisations.last_mut() {
                Some((last, history)) if *last == organisation => history.push(stored),
                _ => organisations.push((organisation, vec![stored])),
            }
        }
        Ok(organisations)
    }

    /// Every revision of one organisation, oldest first, to `decode` off the async workers.
    pub async fn load_organisation(
        &self,
        organisation: &str,
    ) -> Result<Vec<SerialisedRevision>, StoreError> {
        Ok(serialised()
            .filter(revision::Column::OrganisationId.eq(organisation))
            .order_by_asc(revision::Column::Number)
            .into_tuple::<SerialisedColumns>()
            .all(&self.db)
            .await?
            .into_iter()
            .map(SerialisedRevision::from_columns)
            .collect())
    }

    /// The number of the organisation's latest stored revision (0: none), without reading it.
    pub async fn latest_revision(&self, organisation: &str) -> Result<u64, StoreError> {
        Ok(organisation::Entity::find_by_id(organisation)
            .one(&self.db)
            .await?
            .map_or(0, |row| u64::try_from(row.latest_revision).unwrap_or(0)))
    }

    /// The latest revision of an organisation, if it has one.
    pub async fn latest(&self, organisation: &str) -> Result<Option<StoredRevision>, StoreError> {
        Self::latest_in(&self.db, organisation).await
    }

    async fn latest_in(
        db: &impl ConnectionTrait,
        organisation: &str,
    ) -> Result<Option<StoredRevision>, StoreError> {
        serialised()
            .filter(revision::Column::OrganisationId.eq(organisation))
            .order_by_desc(revision::Column::Number)
            .into_tuple::<SerialisedColumns>()
            .one(db)
            .await?
            .map(|columns| SerialisedRevision::from_columns(columns).decode())
            .transpose()
    }

    /// A revision's record with its manifest; the latest when `number` is `None`.
    pub async fn revision_record(
        &self,
        organisation: &str,
        number: Option<u64>,
    ) -> Result<RevisionRecord, StoreError> {
        let mut query =
            revision::Entity::find().filter(revision::Column::OrganisationId.eq(organisation));
        query = match number {
            Some(number) => query.filter(revision::Column::Number.eq(as_i64(number))),
            None => query.order_by_desc(revision::Column::Number),
        };
        let record = query.one(&self.db).await?.ok_or_else(|| {
            StoreError::NoSuchRevision(organisation.to_owned(), number.unwrap_or(0))
        })?;
        Ok(RevisionRecord {
            number: revision_number(record.number)?,
            applied_at: from_micros(record.applied_at)?,
            effective_from: record.effective_from()?,
            manifest_sha256: record.manifest_sha256,
            manifest: record.manifest,
        })
    }

    /// Stores `registry` as its organisation's next revision, in one transaction: nothing is
    /// written when its content equals the latest revision's and `effective_from` is not
    /// given or is the latest revision's, or when `expected` is given and is not the latest
    /// revision. Without `effective_from` the revision describes the processing from the
    /// moment it is applied.
    pub async fn apply(
        &self,
        registry: &Registry,
        manifest: &str,
        expected: Option<u64>,
        effective_from: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        let organisation = registry.organisation.id.as_str();
        // Stored times have microsecond precision; what is returned must equal what a reload
        // reads back, or a Check at the exact applied_at would miss the revision.
        let now = from_micros(micros(now))?;
        let effective_from = effective_from
            .map(|moment| from_micros(micros(moment)))
            .transpose()?;
        let txn = self.begin_write().await?;

        // Create the organisation if it is new, then take its row lock (PostgreSQL) or the
        // database write lock (SQLite) by touching it, so that concurrent applies to the
        // same organisation queue here instead of racing for the next revision number.
        organisation::Entity::insert(organisation::ActiveModel {
            id: Set(organisation.to_owned()),
            created_at: Set(micros(now)),
            latest_revision: Set(0),
        })
        .on_conflict_do_nothing_on([organisation::Column::Id])
        .exec(&txn)
        .await
        .map_err(|error| StoreError::from_write(error, organisation))?;
        organisation::Entity::update_many()
            .col_expr(
                organisation::Column::LatestRevision,
                Expr::col(organisation::Column::LatestRevision),
            )
            .filter(organisation::Column::Id.eq(organisation))
            .exec(&txn)
            .await?;

        let current = Self::latest_in(&txn, organisation).await?;
        let latest = current.as_ref().map_or(0, |stored| stored.number);
        if let Some(expected) = expected
            && expected != latest
        {
            return Err(StoreError::RevisionMismatch {
                organisation: organisation.to_owned(),
                expected,
                latest,
            });
        }
        if let Some(stored) = &current
            && stored.registry == *registry
            && effective_from.is_none_or(|moment| moment == stored.effective_from)
        {
            txn.rollback().await?;
            return Ok(Applied {
                revision: stored.number,
                changed: false,
                applied_at: stored.applied_at,
                effective_from: stored.effective_from,
            });
        }

        // Keep applied_at strictly increasing per organisation even if the clock steps back,
        // so that "what was known at t" stays well defined.
        let applied_at = match &current {
            Some(stored) if stored.applied_at >= now => stored
                .applied_at
                .checked_add(jiff::SignedDuration::from_micros(1))
                .unwrap_or(stored.applied_at),
            _ => now,
        };
        let effective_from = effective_from.unwrap_or(applied_at);
        let next = latest + 1;
        let next_i64 = as_i64(next);
        let manifest_sha256 = sha256_hex(manifest);
        revision::ActiveModel {
            organisation_id: Set(organisation.to_owned()),
            number: Set(next_i64),
            applied_at: Set(micros(applied_at)),
            manifest_sha256: Set(manifest_sha256.clone()),
            manifest: Set(manifest.to_owned()),
            registry: Set(Some(serialise(registry)?)),
            effective_from: Set(Some(micros(effective_from))),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|error| StoreError::from_write(error, organisation))?;

        organisation::Entity::update_many()
            .col_expr(organisation::Column::LatestRevision, Expr::value(next_i64))
            .filter(organisation::Column::Id.eq(organisation))
            .exec(&txn)
            .await?;
        append_audit(
            &txn,
            &audit::Record {
                organisation: organisation.to_owned(),
                at: micros(applied_at),
                kind: audit::Kind::RegistryApply,
                subject: None,
                detail: audit::Detail::new()
                    .field("revision", next)
                    .field("manifest_sha256", &manifest_sha256)
                    .field("effective_from", effective_from.to_string())
                    .finish(),
            },
        )
        .await?;
        txn.commit()
            .await
            .map_err(|error| StoreError::from_write(error, organisation))?;
        Ok(Applied {
            revision: next,
            changed: true,
            applied_at,
            effective_from,
        })
    }
}
