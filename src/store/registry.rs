//! The registry repository: applying a registry as a new revision in one transaction, and
//! loading every revision back as domain registries.

use std::{collections::HashMap, str::FromStr};

use jiff::{Timestamp, civil::Date};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};
use sha2::{Digest, Sha256};

use super::{Store, StoreError, audit::append_audit, entity::*, from_micros, micros};
use crate::domain::{
    audit,
    geo::Territory,
    policy::{
        Agreement, Contact, CustomCategory, Engagement, EngagementCondition, Mechanism, MinimumAge,
        Organisation, Period, Purpose, Recipient, RecipientStatus, Registry, RetentionRule,
        Safeguard,
    },
};

/// One revision as stored.
#[derive(Clone, Debug)]
pub struct StoredRevision {
    pub number: u64,
    pub applied_at: Timestamp,
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
}

/// A revision's record, with the manifest text exactly as applied.
#[derive(Clone, Debug)]
pub struct RevisionRecord {
    pub number: u64,
    pub applied_at: Timestamp,
    pub manifest_sha256: String,
    pub manifest: String,
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn parse<T: FromStr>(what: &str, text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| corrupt(what, text))
}

fn territory(text: &str) -> Result<Territory, StoreError> {
    Territory::parse(text).ok_or_else(|| corrupt("country", text))
}

fn date(text: &Option<String>) -> Result<Option<Date>, StoreError> {
    text.as_deref().map(|text| parse("date", text)).transpose()
}

fn revision_number(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt("revision", &value.to_string()))
}

fn as_i64(revision: u64) -> i64 {
    // Revisions count up from 1 by one per apply; they never reach i64::MAX.
    i64::try_from(revision).unwrap_or(i64::MAX)
}

/// Registry rows of one organisation (or all), with children grouped by parent row.
#[derive(Default)]
struct Rows {
    profiles: Vec<organisation_profile::Model>,
    categories: Vec<category::Model>,
    recipients: Vec<recipient::Model>,
    locations: HashMap<i32, Vec<recipient_location::Model>>,
    agreements: HashMap<i32, Vec<recipient_agreement::Model>>,
    safeguards: HashMap<i32, Vec<recipient_safeguard::Model>>,
    safeguard_countries: HashMap<i32, Vec<safeguard_country::Model>>,
    purposes: Vec<purpose::Model>,
    purpose_categories: HashMap<i32, Vec<purpose_category::Model>>,
    data_subjects: HashMap<i32, Vec<purpose_data_subject::Model>>,
    data_sources: HashMap<i32, Vec<purpose_data_source::Model>>,
    engagements: HashMap<i32, Vec<engagement::Model>>,
    engagement_categories: HashMap<i32, Vec<engagement_category::Model>>,
    retention_rules: HashMap<i32, Vec<retention_rule::Model>>,
    retention_categories: HashMap<i32, Vec<retention_rule_category::Model>>,
}

fn group<M, K: std::hash::Hash + Eq>(rows: Vec<M>, key: impl Fn(&M) -> K) -> HashMap<K, Vec<M>> {
    let mut grouped: HashMap<K, Vec<M>> = HashMap::new();
    for row in rows {
        grouped.entry(key(&row)).or_default().push(row);
    }
    grouped
}

/// Which registry rows to read.
#[derive(Clone, Copy)]
enum Scope<'a> {
    All,
    /// Every version of one organisation's rows.
    Organisation(&'a str),
    /// Only the current rows of one organisation.
    Current(&'a str),
}

impl Rows {
    async fn load(db: &impl ConnectionTrait, scope: Scope<'_>) -> Result<Rows, StoreError> {
        // A condition on the versioned root tables, which all share these column names.
        fn roots(scope: Scope<'_>) -> sea_orm::Condition {
            let mut condition = sea_orm::Condition::all();
            match scope {
                Scope::All => {}
                Scope::Organisation(id) => {
                    condition = condition.add(Expr::col("organisation_id").eq(id));
                }
                Scope::Current(id) => {
                    condition = condition
                        .add(Expr::col("organisation_id").eq(id))
                        .add(Expr::col("to_revision").is_null());
                }
            }
            condition
        }
        // Ids of root rows in scope, for the children's `IN (SELECT ...)`.
        fn ids_of(table: &'static str, scope: Scope<'_>) -> sea_orm::sea_query::SelectStatement {
            Query::select()
                .column("id")
                .from(table)
                .cond_where(roots(scope))
                .to_owned()
        }

        let profiles = organisation_profile::Entity::find()
            .filter(roots(scope))
            .order_by_asc(organisation_profile::Column::Id)
            .all(db)
            .await?;
        let categories = category::Entity::find()
            .filter(roots(scope))
            .order_by_asc(category::Column::Id)
            .all(db)
            .await?;
        let recipients = recipient::Entity::find()
            .filter(roots(scope))
            .order_by_asc(recipient::Column::Id)
            .all(db)
            .await?;
        let purposes = purpose::Entity::find()
            .filter(roots(scope))
            .order_by_asc(purpose::Column::Id)
            .all(db)
            .await?;

        let recipient_ids = ids_of("recipients", scope);
        let purpose_ids = ids_of("purposes", scope);
        let locations = recipient_location::Entity::find()
            .filter(recipient_location::Column::RecipientId.in_subquery(recipient_ids.clone()))
            .all(db)
            .await?;
        let agreements = recipient_agreement::Entity::find()
            .filter(recipient_agreement::Column::RecipientId.in_subquery(recipient_ids.clone()))
            .all(db)
            .await?;
        let safeguards = recipient_safeguard::Entity::find()
            .filter(recipient_safeguard::Column::RecipientId.in_subquery(recipient_ids.clone()))
            .all(db)
            .await?;
        let safeguard_countries = safeguard_country::Entity::find()
            .filter(
                safeguard_country::Column::SafeguardId.in_subquery(
                    Query::select()
                        .column("id")
                        .from("recipient_safeguards")
                        .and_where(Expr::col("recipient_id").in_subquery(recipient_ids))
                        .to_owned(),
                ),
            )
            .all(db)
            .await?;
        let purpose_categories = purpose_category::Entity::find()
            .filter(purpose_category::Column::PurposeId.in_subquery(purpose_ids.clone()))
            .all(db)
            .await?;
        let data_subjects = purpose_data_subject::Entity::find()
            .filter(purpose_data_subject::Column::PurposeId.in_subquery(purpose_ids.clone()))
            .all(db)
            .await?;
        let data_sources = purpose_data_source::Entity::find()
            .filter(purpose_data_source::Column::PurposeId.in_subquery(purpose_ids.clone()))
            .all(db)
            .await?;
        let engagements = engagement::Entity::find()
            .filter(engagement::Column::PurposeId.in_subquery(purpose_ids.clone()))
            .all(db)
            .await?;
        let engagement_categories = engagement_category::Entity::find()
            .filter(
                engagement_category::Column::EngagementId.in_subquery(
                    Query::select()
                        .column("id")
                        .from("engagements")
                        .and_where(Expr::col("purpose_id").in_subquery(purpose_ids.clone()))
                        .to_owned(),
                ),
            )
            .all(db)
            .await?;
        let retention_rules = retention_rule::Entity::find()
            .filter(retention_rule::Column::PurposeId.in_subquery(purpose_ids.clone()))
            .all(db)
            .await?;
        let retention_categories = retention_rule_category::Entity::find()
            .filter(
                retention_rule_category::Column::RetentionRuleId.in_subquery(
                    Query::select()
                        .column("id")
                        .from("retention_rules")
                        .and_where(Expr::col("purpose_id").in_subquery(purpose_ids))
                        .to_owned(),
                ),
            )
            .all(db)
            .await?;

        Ok(Rows {
            profiles,
            categories,
            recipients,
            purposes,
            locations: group(locations, |row| row.recipient_id),
            agreements: group(agreements, |row| row.recipient_id),
            safeguards: group(safeguards, |row| row.recipient_id),
            safeguard_countries: group(safeguard_countries, |row| row.safeguard_id),
            purpose_categories: group(purpose_categories, |row| row.purpose_id),
            data_subjects: group(data_subjects, |row| row.purpose_id),
            data_sources: group(data_sources, |row| row.purpose_id),
            engagements: group(engagements, |row| row.purpose_id),
            engagement_categories: group(engagement_categories, |row| row.engagement_id),
            retention_rules: group(retention_rules, |row| row.purpose_id),
            retention_categories: group(retention_categories, |row| row.retention_rule_id),
        })
    }

    fn children<M>(map: &HashMap<i32, Vec<M>>, id: i32) -> &[M] {
        map.get(&id).map(Vec::as_slice).unwrap_or_default()
    }

    fn organisation(row: &organisation_profile::Model) -> Result<Organisation, StoreError> {
        let dpo = Contact {
            name: row.dpo_name.clone(),
            email: row.dpo_email.clone(),
            phone: row.dpo_phone.clone(),
            address: row.dpo_address.clone(),
        };
        Ok(Organisation {
            id: row.organisation_id.clone(),
            legal_name: row.legal_name.clone(),
            registration_number: row.registration_number.clone(),
            country: territory(&row.country)?,
            role: parse("role", &row.role)?,
            dpo: (dpo != Contact::default()).then_some(dpo),
            clock_waits_for_identity: row.clock_waits_for_identity,
            minimum_age: match (row.minimum_age, &row.minimum_age_source) {
                (None, None) => None,
                (Some(years), Some(source)) => Some(MinimumAge {
                    years: u8::try_from(years)
                        .map_err(|_| corrupt("minimum age", &years.to_string()))?,
                    source: source.clone(),
                }),
                _ => return Err(corrupt("minimum age", "an age without its source")),
            },
            source: row.source.clone(),
        })
    }

    fn category(row: &category::Model) -> Result<CustomCategory, StoreError> {
        Ok(CustomCategory {
            key: row.key.clone(),
            name: row.name.clone(),
            sensitivity: parse("sensitivity", &row.sensitivity)?,
            dpv: row.dpv.clone(),
            source: row.source.clone(),
        })
    }

    fn recipient(&self, row: &recipient::Model) -> Result<Recipient, StoreError> {
        let locations = Self::children(&self.locations, row.id)
            .iter()
            .map(|location| territory(&location.country))
            .collect::<Result<_, _>>()?;
        let agreements = Self::children(&self.agreements, row.id)
            .iter()
            .map(|agreement| {
                Ok(Agreement {
                    reference: agreement.reference.clone(),
                    effective_from: date(&agreement.effective_from)?,
                    effective_to: date(&agreement.effective_to)?,
                    source: agreement.source.clone(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let safeguards = Self::children(&self.safeguards, row.id)
            .iter()
            .map(|safeguard| {
                let module = safeguard
                    .scc_module
                    .map(|module| {
                        u8::try_from(module).map_err(|_| corrupt("SCC module", &module.to_string()))
                    })
                    .transpose()?;
                Ok(Safeguard {
                    mechanism: Mechanism::from_parts(&safeguard.mechanism, module)
                        .ok_or_else(|| corrupt("safeguard", &safeguard.mechanism))?,
                    countries: Self::children(&self.safeguard_countries, safeguard.id)
                        .iter()
                        .map(|country| territory(&country.country))
                        .collect::<Result<_, _>>()?,
                    reference: safeguard.reference.clone(),
                    source: safeguard.source.clone(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let objection_window_ends = date(&row.objection_window_ends)?;
        Ok(Recipient {
            id: row.key.clone(),
            name: row.name.clone(),
            kind: parse("recipient kind", &row.kind)?,
            parent: row.parent_key.clone(),
            locations,
            agreements,
            safeguards,
            status: RecipientStatus::from_parts(&row.status, objection_window_ends)
                .ok_or_else(|| corrupt("recipient status", &row.status))?,
            description: row.description.clone(),
            registration_number: row.registration_number.clone(),
            address: row.address.clone(),
            source: row.source.clone(),
        })
    }

    fn purpose(&self, row: &purpose::Model) -> Result<Purpose, StoreError> {
        let engagements = Self::children(&self.engagements, row.id)
            .iter()
            .map(|engagement| Engagement {
                recipient: engagement.recipient_key.clone(),
                categories: Self::children(&self.engagement_categories, engagement.id)
                    .iter()
                    .map(|category| category.category_key.clone())
                    .collect(),
                condition: engagement
                    .condition_id
                    .clone()
                    .map(|id| EngagementCondition {
                        id,
                        description: engagement.condition_description.clone().unwrap_or_default(),
                    }),
                source: engagement.source.clone(),
            })
            .collect();
        let retention = Self::children(&self.retention_rules, row.id)
            .iter()
            .map(|rule| {
                Ok(RetentionRule {
                    period: Period::parse(&rule.period)
                        .map_err(|_| corrupt("period", &rule.period))?,
                    from: parse("retention event", &rule.from_event)?,
                    categories: Self::children(&self.retention_categories, rule.id)
                        .iter()
                        .map(|category| category.category_key.clone())
                        .collect(),
                    description: rule.description.clone(),
                    source: rule.source.clone(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Purpose {
            id: row.key.clone(),
            name: row.name.clone(),
            description: row.description.clone(),
            legal_basis: row
                .legal_basis
                .as_deref()
                .map(|basis| parse("legal basis", basis))
                .transpose()?,
            balancing_test: row.balancing_test.clone(),
            legitimate_interest: row.legitimate_interest.clone(),
            legal_basis_source: row.legal_basis_source.clone(),
            special_condition: row
                .special_condition
                .as_deref()
                .map(|condition| parse("special category condition", condition))
                .transpose()?,
            criminal_data_authorisation: row.criminal_data_authorisation.clone(),
            direct_marketing: row.direct_marketing,
            storage_only: row.storage_only,
            data_subjects: Self::children(&self.data_subjects, row.id)
                .iter()
                .map(|subject| subject.name.clone())
                .collect(),
            data_sources: Self::children(&self.data_sources, row.id)
                .iter()
                .map(|origin| origin.description.clone())
                .collect(),
            categories: Self::children(&self.purpose_categories, row.id)
                .iter()
                .map(|category| category.category_key.clone())
                .collect(),
            engagements,
            retention,
            source: row.source.clone(),
        })
    }

    /// The registry of `organisation` as of `revision`: the rows whose range contains it.
    fn registry_at(&self, organisation: &str, revision: i64) -> Result<Registry, StoreError> {
        let live = |org: &str, from: i64, to: Option<i64>| {
            org == organisation && from <= revision && to.is_none_or(|to| to > revision)
        };
        let profile = self
            .profiles
            .iter()
            .find(|row| live(&row.organisation_id, row.from_revision, row.to_revision))
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "organisation {organisation:?} has no profile at revision {revision}"
                ))
            })?;
        Ok(Registry {
            organisation: Self::organisation(profile)?,
            categories: self
                .categories
                .iter()
                .filter(|row| live(&row.organisation_id, row.from_revision, row.to_revision))
                .map(Self::category)
                .collect::<Result<_, _>>()?,
            recipients: self
                .recipients
                .iter()
                .filter(|row| live(&row.organisation_id, row.from_revision, row.to_revision))
                .map(|row| self.recipient(row))
                .collect::<Result<_, _>>()?,
            purposes: self
                .purposes
                .iter()
                .filter(|row| live(&row.organisation_id, row.from_revision, row.to_revision))
                .map(|row| self.purpose(row))
                .collect::<Result<_, _>>()?,
        }
        .normalise())
    }
}

impl Store {
    /// Every revision of every organisation, oldest first.
    pub async fn load_all(&self) -> Result<Vec<(String, Vec<StoredRevision>)>, StoreError> {
        let rows = Rows::load(&self.db, Scope::All).await?;
        let revisions = revision::Entity::find()
            .select_only()
            .columns([
                revision::Column::OrganisationId,
                revision::Column::Number,
                revision::Column::AppliedAt,
                revision::Column::ManifestSha256,
            ])
            .order_by_asc(revision::Column::OrganisationId)
            .order_by_asc(revision::Column::Number)
            .into_tuple::<(String, i64, i64, String)>()
            .all(&self.db)
            .await?;
        let mut organisations: Vec<(String, Vec<StoredRevision>)> = Vec::new();
        for (organisation, number, applied_at, manifest_sha256) in revisions {
            let stored = StoredRevision {
                number: revision_number(number)?,
                applied_at: from_micros(applied_at)?,
                manifest_sha256,
                registry: rows.registry_at(&organisation, number)?,
            };
            match organisations.last_mut() {
                Some((last, history)) if *last == organisation => history.push(stored),
                _ => organisations.push((organisation, vec![stored])),
            }
        }
        Ok(organisations)
    }

    /// Every revision of one organisation, oldest first.
    pub async fn load_organisation(
        &self,
        organisation: &str,
    ) -> Result<Vec<StoredRevision>, StoreError> {
        let rows = Rows::load(&self.db, Scope::Organisation(organisation)).await?;
        let revisions = revision::Entity::find()
            .filter(revision::Column::OrganisationId.eq(organisation))
            .order_by_asc(revision::Column::Number)
            .all(&self.db)
            .await?;
        revisions
            .into_iter()
            .map(|record| {
                Ok(StoredRevision {
                    number: revision_number(record.number)?,
                    applied_at: from_micros(record.applied_at)?,
                    manifest_sha256: record.manifest_sha256,
                    registry: rows.registry_at(organisation, record.number)?,
                })
            })
            .collect()
    }

    /// The latest revision of an organisation and its registry, if it has one.
    /// The number of the organisation's latest stored revision (0: none), without reading it.
    pub async fn latest_revision(&self, organisation: &str) -> Result<u64, StoreError> {
        Ok(organisation::Entity::find_by_id(organisation)
            .one(&self.db)
            .await?
            .map_or(0, |row| u64::try_from(row.latest_revision).unwrap_or(0)))
    }

    pub async fn latest(&self, organisation: &str) -> Result<Option<(u64, Registry)>, StoreError> {
        Self::latest_in(&self.db, organisation).await
    }

    async fn latest_in(
        db: &impl ConnectionTrait,
        organisation: &str,
    ) -> Result<Option<(u64, Registry)>, StoreError> {
        let Some(row) = organisation::Entity::find_by_id(organisation)
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if row.latest_revision == 0 {
            return Ok(None);
        }
        let rows = Rows::load(db, Scope::Current(organisation)).await?;
        Ok(Some((
            revision_number(row.latest_revision)?,
            rows.registry_at(organisation, row.latest_revision)?,
        )))
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
            manifest_sha256: record.manifest_sha256,
            manifest: record.manifest,
        })
    }

    /// Stores `registry` as its organisation's next revision, in one transaction: nothing is
    /// written when its content equals the latest revision's, or when `expected` is given
    /// and is not the latest revision.
    pub async fn apply(
        &self,
        registry: &Registry,
        manifest: &str,
        expected: Option<u64>,
        now: Timestamp,
    ) -> Result<Applied, StoreError> {
        let organisation = registry.organisation.id.as_str();
        // Stored times have microsecond precision; what is returned must equal what a reload
        // reads back, or a Check at the exact applied_at would miss the revision.
        let now = from_micros(micros(now))?;
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
        let latest = current.as_ref().map_or(0, |(revision, _)| *revision);
        if let Some(expected) = expected
            && expected != latest
        {
            return Err(StoreError::RevisionMismatch {
                organisation: organisation.to_owned(),
                expected,
                latest,
            });
        }
        let last_applied_at = revision::Entity::find()
            .filter(revision::Column::OrganisationId.eq(organisation))
            .order_by_desc(revision::Column::Number)
            .one(&txn)
            .await?
            .map(|record| from_micros(record.applied_at))
            .transpose()?;
        if let Some((revision, existing)) = &current
            && existing == registry
        {
            txn.rollback().await?;
            return Ok(Applied {
                revision: *revision,
                changed: false,
                applied_at: last_applied_at.unwrap_or(now),
            });
        }

        // Keep applied_at strictly increasing per organisation even if the clock steps back,
        // so that "the revision in force at t" stays well defined.
        let applied_at = match last_applied_at {
            Some(last) if last >= now => last
                .checked_add(jiff::SignedDuration::from_micros(1))
                .unwrap_or(last),
            _ => now,
        };
        let next = latest + 1;
        let next_i64 = as_i64(next);
        let manifest_sha256 = sha256_hex(manifest);
        revision::ActiveModel {
            organisation_id: Set(organisation.to_owned()),
            number: Set(next_i64),
            applied_at: Set(micros(applied_at)),
            manifest_sha256: Set(manifest_sha256.clone()),
            manifest: Set(manifest.to_owned()),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(|error| StoreError::from_write(error, organisation))?;

        let empty = Registry {
            organisation: registry.organisation.clone(),
            categories: Vec::new(),
            recipients: Vec::new(),
            purposes: Vec::new(),
        };
        let (before, profile_changed) = match &current {
            Some((_, existing)) => (existing, existing.organisation != registry.organisation),
            None => (&empty, true),
        };
        let current_rows = Rows::load(&txn, Scope::Current(organisation)).await?;
        if profile_changed {
            close(
                &txn,
                "organisation_profiles",
                current_rows.profiles.iter().map(|row| row.id),
                next_i64,
            )
            .await?;
            insert_profile(&txn, &registry.organisation, next_i64).await?;
        }

        let changed_categories =
            changed_keys(&before.categories, &registry.categories, |category| {
                &category.key
            });
        close(
            &txn,
            "categories",
            current_rows
                .categories
                .iter()
                .filter(|row| changed_categories.closes(&row.key))
                .map(|row| row.id),
            next_i64,
        )
        .await?;
        for category in registry
            .categories
            .iter()
            .filter(|category| changed_categories.inserts(&category.key))
        {
            insert_category(&txn, organisation, category, next_i64).await?;
        }

        let changed_recipients =
            changed_keys(&before.recipients, &registry.recipients, |recipient| {
                &recipient.id
            });
        close(
            &txn,
            "recipients",
            current_rows
                .recipients
                .iter()
                .filter(|row| changed_recipients.closes(&row.key))
                .map(|row| row.id),
            next_i64,
        )
        .await?;
        for recipient in registry
            .recipients
            .iter()
            .filter(|recipient| changed_recipients.inserts(&recipient.id))
        {
            insert_recipient(&txn, organisation, recipient, next_i64).await?;
        }

        let changed_purposes =
            changed_keys(&before.purposes, &registry.purposes, |purpose| &purpose.id);
        close(
            &txn,
            "purposes",
            current_rows
                .purposes
                .iter()
                .filter(|row| changed_purposes.closes(&row.key))
                .map(|row| row.id),
            next_i64,
        )
        .await?;
        for purpose in registry
            .purposes
            .iter()
            .filter(|purpose| changed_purposes.inserts(&purpose.id))
        {
            insert_purpose(&txn, organisation, purpose, next_i64).await?;
        }

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
        })
    }
}

/// Keys whose rows an apply closes (changed or removed) and inserts (changed or new).
struct ChangedKeys {
    close: std::collections::HashSet<String>,
    insert: std::collections::HashSet<String>,
}

impl ChangedKeys {
    fn closes(&self, key: &str) -> bool {
        self.close.contains(key)
    }

    fn inserts(&self, key: &str) -> bool {
        self.insert.contains(key)
    }
}

fn changed_keys<T: PartialEq>(
    before: &[T],
    after: &[T],
    key: impl Fn(&T) -> &String,
) -> ChangedKeys {
    let before: HashMap<&String, &T> = before.iter().map(|item| (key(item), item)).collect();
    let after_map: HashMap<&String, &T> = after.iter().map(|item| (key(item), item)).collect();
    let mut changes = ChangedKeys {
        close: Default::default(),
        insert: Default::default(),
    };
    for (id, old) in &before {
        if after_map.get(id).is_none_or(|new| new != old) {
            changes.close.insert((*id).clone());
        }
    }
    for (id, new) in &after_map {
        if before.get(id).is_none_or(|old| old != new) {
            changes.insert.insert((*id).clone());
        }
    }
    changes
}

/// Ends the validity of rows at `revision`.
async fn close(
    txn: &DatabaseTransaction,
    table: &'static str,
    ids: impl Iterator<Item = i32>,
    revision: i64,
) -> Result<(), StoreError> {
    let ids: Vec<i32> = ids.collect();
    // Bounded batches keep every statement under the databases' parameter limits.
    for batch in ids.chunks(500) {
        let statement = Query::update()
            .table(table)
            .value("to_revision", revision)
            .and_where(Expr::col("id").is_in(batch.iter().copied()))
            .to_owned();
        txn.execute(&statement).await?;
    }
    Ok(())
}

async fn insert_profile(
    txn: &DatabaseTransaction,
    organisation: &Organisation,
    revision: i64,
) -> Result<(), StoreError> {
    let dpo = organisation.dpo.clone().unwrap_or_default();
    organisation_profile::ActiveModel {
        organisation_id: Set(organisation.id.clone()),
        from_revision: Set(revision),
        to_revision: Set(None),
        legal_name: Set(organisation.legal_name.clone()),
        registration_number: Set(organisation.registration_number.clone()),
        country: Set(organisation.country.code().to_owned()),
        role: Set(crate::domain::Spelling::as_str(organisation.role).to_owned()),
        dpo_name: Set(dpo.name),
        dpo_email: Set(dpo.email),
        dpo_phone: Set(dpo.phone),
        dpo_address: Set(dpo.address),
        clock_waits_for_identity: Set(organisation.clock_waits_for_identity),
        minimum_age: Set(organisation
            .minimum_age
            .as_ref()
            .map(|minimum| i16::from(minimum.years))),
        minimum_age_source: Set(organisation
            .minimum_age
            .as_ref()
            .map(|minimum| minimum.source.clone())),
        source: Set(organisation.source.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn insert_category(
    txn: &DatabaseTransaction,
    organisation: &str,
    category: &CustomCategory,
    revision: i64,
) -> Result<(), StoreError> {
    category::ActiveModel {
        organisation_id: Set(organisation.to_owned()),
        from_revision: Set(revision),
        to_revision: Set(None),
        key: Set(category.key.clone()),
        name: Set(category.name.clone()),
        sensitivity: Set(crate::domain::Spelling::as_str(category.sensitivity).to_owned()),
        dpv: Set(category.dpv.clone()),
        source: Set(category.source.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn insert_recipient(
    txn: &DatabaseTransaction,
    organisation: &str,
    recipient: &Recipient,
    revision: i64,
) -> Result<(), StoreError> {
    let row = recipient::ActiveModel {
        organisation_id: Set(organisation.to_owned()),
        from_revision: Set(revision),
        to_revision: Set(None),
        key: Set(recipient.id.clone()),
        name: Set(recipient.name.clone()),
        kind: Set(crate::domain::Spelling::as_str(recipient.kind).to_owned()),
        parent_key: Set(recipient.parent.clone()),
        status: Set(recipient.status.name().to_owned()),
        objection_window_ends: Set(recipient
            .status
            .objection_window_ends()
            .map(|date| date.to_string())),
        description: Set(recipient.description.clone()),
        registration_number: Set(recipient.registration_number.clone()),
        address: Set(recipient.address.clone()),
        source: Set(recipient.source.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    recipient_location::Entity::insert_many(recipient.locations.iter().map(|territory| {
        recipient_location::ActiveModel {
            recipient_id: Set(row.id),
            country: Set(territory.code().to_owned()),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    recipient_agreement::Entity::insert_many(recipient.agreements.iter().map(|agreement| {
        recipient_agreement::ActiveModel {
            recipient_id: Set(row.id),
            reference: Set(agreement.reference.clone()),
            effective_from: Set(agreement.effective_from.map(|date| date.to_string())),
            effective_to: Set(agreement.effective_to.map(|date| date.to_string())),
            source: Set(agreement.source.clone()),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    for safeguard in &recipient.safeguards {
        let safeguard_row = recipient_safeguard::ActiveModel {
            recipient_id: Set(row.id),
            mechanism: Set(safeguard.mechanism.name().to_owned()),
            scc_module: Set(safeguard.mechanism.scc_module().map(i16::from)),
            reference: Set(safeguard.reference.clone()),
            source: Set(safeguard.source.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        safeguard_country::Entity::insert_many(safeguard.countries.iter().map(|territory| {
            safeguard_country::ActiveModel {
                safeguard_id: Set(safeguard_row.id),
                country: Set(territory.code().to_owned()),
                ..Default::default()
            }
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}

async fn insert_purpose(
    txn: &DatabaseTransaction,
    organisation: &str,
    purpose: &Purpose,
    revision: i64,
) -> Result<(), StoreError> {
    let row = purpose::ActiveModel {
        organisation_id: Set(organisation.to_owned()),
        from_revision: Set(revision),
        to_revision: Set(None),
        key: Set(purpose.id.clone()),
        name: Set(purpose.name.clone()),
        description: Set(purpose.description.clone()),
        legal_basis: Set(purpose
            .legal_basis
            .map(|basis| crate::domain::Spelling::as_str(basis).to_owned())),
        legal_basis_source: Set(purpose.legal_basis_source.clone()),
        balancing_test: Set(purpose.balancing_test.clone()),
        legitimate_interest: Set(purpose.legitimate_interest.clone()),
        special_condition: Set(purpose
            .special_condition
            .map(|condition| condition.point().to_owned())),
        criminal_data_authorisation: Set(purpose.criminal_data_authorisation.clone()),
        direct_marketing: Set(purpose.direct_marketing),
        storage_only: Set(purpose.storage_only),
        source: Set(purpose.source.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    purpose_category::Entity::insert_many(purpose.categories.iter().map(|key| {
        purpose_category::ActiveModel {
            purpose_id: Set(row.id),
            category_key: Set(key.clone()),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    purpose_data_subject::Entity::insert_many(purpose.data_subjects.iter().map(|name| {
        purpose_data_subject::ActiveModel {
            purpose_id: Set(row.id),
            name: Set(name.clone()),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    purpose_data_source::Entity::insert_many(purpose.data_sources.iter().map(|description| {
        purpose_data_source::ActiveModel {
            purpose_id: Set(row.id),
            description: Set(description.clone()),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    for engagement in &purpose.engagements {
        let engagement_row = engagement::ActiveModel {
            purpose_id: Set(row.id),
            recipient_key: Set(engagement.recipient.clone()),
            condition_id: Set(engagement
                .condition
                .as_ref()
                .map(|condition| condition.id.clone())),
            condition_description: Set(engagement
                .condition
                .as_ref()
                .map(|condition| condition.description.clone())),
            source: Set(engagement.source.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        engagement_category::Entity::insert_many(engagement.categories.iter().map(|key| {
            engagement_category::ActiveModel {
                engagement_id: Set(engagement_row.id),
                category_key: Set(key.clone()),
                ..Default::default()
            }
        }))
        .exec(txn)
        .await?;
    }
    for rule in &purpose.retention {
        let rule_row = retention_rule::ActiveModel {
            purpose_id: Set(row.id),
            period: Set(rule.period.as_str().to_owned()),
            from_event: Set(crate::domain::Spelling::as_str(rule.from).to_owned()),
            description: Set(rule.description.clone()),
            source: Set(rule.source.clone()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        retention_rule_category::Entity::insert_many(rule.categories.iter().map(|key| {
            retention_rule_category::ActiveModel {
                retention_rule_id: Set(rule_row.id),
                category_key: Set(key.clone()),
                ..Default::default()
            }
        }))
        .exec(txn)
        .await?;
    }
    Ok(())
}
