//! Revisions written before migration m20261204_000006 are rows of 16 per-revision tables
//! (organisation profiles, categories, recipients and their locations, agreements,
//! safeguards and safeguard countries, purposes and their categories, data subjects, data
//! sources, engagements, engagement categories, retention rules and their categories), each
//! row valid over a range of revisions. This module reads them back, once, to serialise each
//! such revision's registry into `revisions.registry`; nothing writes those tables any more.

use std::{collections::HashMap, str::FromStr};

use jiff::civil::Date;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use super::{Store, StoreError, entity::*, registry::serialise};
use crate::domain::{
    geo::Territory,
    policy::{
        Agreement, Contact, CustomCategory, Engagement, EngagementCondition, Mechanism, MinimumAge,
        Organisation, Period, Purpose, Recipient, RecipientStatus, Registry, RetentionRule,
        Safeguard, UntestedInterests,
    },
};

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

/// Every registry row, with children grouped by parent row.
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

impl Rows {
    /// Every row of every table: the conversion reads them once.
    async fn load(db: &impl ConnectionTrait) -> Result<Rows, StoreError> {
        Ok(Rows {
            profiles: organisation_profile::Entity::find()
                .order_by_asc(organisation_profile::Column::Id)
                .all(db)
                .await?,
            categories: category::Entity::find()
                .order_by_asc(category::Column::Id)
                .all(db)
                .await?,
            recipients: recipient::Entity::find()
                .order_by_asc(recipient::Column::Id)
                .all(db)
                .await?,
            purposes: purpose::Entity::find()
                .order_by_asc(purpose::Column::Id)
                .all(db)
                .await?,
            locations: group(recipient_location::Entity::find().all(db).await?, |row| {
                row.recipient_id
            }),
            agreements: group(recipient_agreement::Entity::find().all(db).await?, |row| {
                row.recipient_id
            }),
            safeguards: group(recipient_safeguard::Entity::find().all(db).await?, |row| {
                row.recipient_id
            }),
            safeguard_countries: group(safeguard_country::Entity::find().all(db).await?, |row| {
                row.safeguard_id
            }),
            purpose_categories: group(purpose_category::Entity::find().all(db).await?, |row| {
                row.purpose_id
            }),
            data_subjects: group(purpose_data_subject::Entity::find().all(db).await?, |row| {
                row.purpose_id
            }),
            data_sources: group(purpose_data_source::Entity::find().all(db).await?, |row| {
                row.purpose_id
            }),
            engagements: group(engagement::Entity::find().all(db).await?, |row| {
                row.purpose_id
            }),
            engagement_categories: group(
                engagement_category::Entity::find().all(db).await?,
                |row| row.engagement_id,
            ),
            retention_rules: group(retention_rule::Entity::find().all(db).await?, |row| {
                row.purpose_id
            }),
            retention_categories: group(
                retention_rule_category::Entity::find().all(db).await?,
                |row| row.retention_rule_id,
            ),
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
            // The setting came after the tables: every revision in them denied.
            untested_interests: UntestedInterests::Deny,
            language: None,
            accountability: Default::default(),
            source: row.source.clone(),
        })
    }

    fn category(row: &category::Model) -> Result<CustomCategory, StoreError> {
        Ok(CustomCategory {
            key: row.key.clone(),
            name: row.name.as_str().into(),
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
            name: row.name.as_str().into(),
            kind: parse("recipient kind", &row.kind)?,
            parent: row.parent_key.clone(),
            locations,
            agreements,
            safeguards,
            status: RecipientStatus::from_parts(&row.status, objection_window_ends)
                .ok_or_else(|| corrupt("recipient status", &row.status))?,
            description: row.description.as_deref().map(Into::into),
            registration_number: row.registration_number.clone(),
            address: row.address.clone(),
            data_processed: None,
            arrangement: None,
            source: row.source.clone(),
        })
    }

    fn purpose(&self, row: &purpose::Model) -> Result<Purpose, StoreError> {
        let engagements = Self::children(&self.engagements, row.id)
            .iter()
            .map(|engagement| Engagement {
                recipient: engagement.recipient_key.clone(),
                data_processed: None,
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
                    description: rule.description.as_deref().map(Into::into),
                    source: rule.source.clone(),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Purpose {
            id: row.key.clone(),
            name: row.name.as_str().into(),
            description: row.description.as_deref().map(Into::into),
            legal_basis_qualifier: None,
            data_protection: None,
            conditional_categories: Vec::new(),
            dpia_criteria: Vec::new(),
            dpia: None,
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
            consent_unless: None,
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
            documents: Vec::new(),
            cookies: Vec::new(),
        }
        .normalise())
    }
}

impl Store {
    /// Serialises the registry of every revision that has none yet from the per-revision
    /// tables, in one transaction; returns how many it converted. Run by `migrate`, so a
    /// database from before migration 6 is converted the first time a new server starts.
    pub(super) async fn convert_legacy_revisions(&self) -> Result<usize, StoreError> {
        // Read first: a database with nothing to convert (every start after the first) takes
        // no write lock.
        let unconverted = revision::Entity::find()
            .filter(revision::Column::Registry.is_null())
            .count(&self.db)
            .await?;
        if unconverted == 0 {
            return Ok(0);
        }
        let txn = self.begin_write().await?;
        let pending = revision::Entity::find()
            .filter(revision::Column::Registry.is_null())
            .order_by_asc(revision::Column::Id)
            .all(&txn)
            .await?;
        if pending.is_empty() {
            txn.rollback().await?;
            return Ok(0);
        }
        let rows = Rows::load(&txn).await?;
        for record in &pending {
            let registry = rows.registry_at(&record.organisation_id, record.number)?;
            revision::Entity::update(revision::ActiveModel {
                id: Set(record.id),
                registry: Set(Some(serialise(&registry)?)),
                ..Default::default()
            })
            .exec(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(pending.len())
    }
}
