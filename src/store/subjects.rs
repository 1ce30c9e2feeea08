//! The subject repository: consent ledger, objections, restrictions, erasures and births,
//! keyed by organisation and pseudonym.

use std::{collections::HashMap, sync::Arc};

use jiff::Timestamp;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::OnConflict,
};

use super::{Store, StoreError, audit::append_audit, entity::*, from_micros, micros, sha256_hex};
use crate::domain::{
    Spelling,
    audit::{Detail, Kind, Record},
    pseudonym::SubjectRef,
    subject::{
        Birth, ConsentEvent, ConsentRecord, Erasure, ErasureRecord, Objection, ObjectionRecord,
        ObjectionScope, Restriction, RestrictionRecord, SubjectFact, SubjectHistory, SubjectWrite,
    },
};

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn optional_micros(value: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    value.map(from_micros).transpose()
}

/// Shares one `Arc<str>` among equal ids, so a million subjects do not each carry copies.
#[derive(Default)]
struct Interner(HashMap<String, Arc<str>>);

impl Interner {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared: Arc<str> = text.into();
        self.0.insert(text.to_owned(), shared.clone());
        shared
    }
}

/// Rows of one or all subjects, grouped by (organisation, subject).
type Key = (String, String);

fn consent(
    row: subject_consent::Model,
    interner: &mut Interner,
) -> Result<(Key, ConsentRecord), StoreError> {
    let record = ConsentRecord {
        event: ConsentEvent {
            purpose: interner.get(&row.purpose),
            action: row
                .action
                .parse()
                .map_err(|_| corrupt("consent action", &row.action))?,
            at: from_micros(row.at)?,
            notice_version: row
                .notice_version
                .as_deref()
                .map(|version| interner.get(version)),
            parental: row.parental,
        },
        source: row.source,
        recorded_at: from_micros(row.recorded_at)?,
    };
    Ok(((row.organisation_id, row.subject), record))
}

fn objection(
    row: subject_objection::Model,
    interner: &mut Interner,
) -> Result<(Key, ObjectionRecord), StoreError> {
    let scope = match (row.direct_marketing, row.purpose.as_deref()) {
        (true, None) => ObjectionScope::DirectMarketing,
        (false, Some(purpose)) => ObjectionScope::Purpose(interner.get(purpose)),
        _ => return Err(corrupt("objection scope", &row.id.to_string())),
    };
    let record = ObjectionRecord {
        objection: Objection {
            scope,
            at: from_micros(row.at)?,
            compelling_grounds: row.compelling_grounds.as_deref().map(Arc::from),
            withdrawn_at: optional_micros(row.withdrawn_at)?,
        },
        rights_request_id: row.rights_request_id,
    };
    Ok(((row.organisation_id, row.subject), record))
}

fn restriction(row: subject_restriction::Model) -> Result<(Key, RestrictionRecord), StoreError> {
    let record = RestrictionRecord {
        restriction: Restriction {
            from: from_micros(row.from_at)?,
            lifted_at: optional_micros(row.lifted_at)?,
        },
        lift_note: row.lift_note,
        rights_request_id: row.rights_request_id,
    };
    Ok(((row.organisation_id, row.subject), record))
}

fn erasure(row: subject_erasure::Model) -> Result<(Key, ErasureRecord), StoreError> {
    let record = ErasureRecord {
        erasure: Erasure {
            verified_at: from_micros(row.verified_at)?,
        },
        rights_request_id: row.rights_request_id,
    };
    Ok(((row.organisation_id, row.subject), record))
}

fn birth(row: subject_birth::Model) -> Result<(Key, Birth), StoreError> {
    let birth = match (&row.birth_date, row.birth_year) {
        (Some(date), _) => Birth::Date(date.parse().map_err(|_| corrupt("birth date", date))?),
        (None, Some(year)) => {
            Birth::Year(i16::try_from(year).map_err(|_| corrupt("birth year", &year.to_string()))?)
        }
        (None, None) => return Err(corrupt("birth", &row.id.to_string())),
    };
    Ok(((row.organisation_id, row.subject), birth))
}

async fn histories(
    db: &impl ConnectionTrait,
    scope: Option<(&str, &str)>,
) -> Result<HashMap<Key, SubjectHistory>, StoreError> {
    macro_rules! rows {
        ($entity:ident) => {{
            let mut query = $entity::Entity::find();
            if let Some((organisation, subject)) = scope {
                query = query
                    .filter($entity::Column::OrganisationId.eq(organisation))
                    .filter($entity::Column::Subject.eq(subject));
            }
            query.order_by_asc($entity::Column::Id).all(db).await?
        }};
    }
    let mut interner = Interner::default();
    let mut histories: HashMap<Key, SubjectHistory> = HashMap::new();
    for row in rows!(subject_consent) {
        let (key, record) = consent(row, &mut interner)?;
        histories.entry(key).or_default().consents.push(record);
    }
    for row in rows!(subject_objection) {
        let (key, record) = objection(row, &mut interner)?;
        histories.entry(key).or_default().objections.push(record);
    }
    for row in rows!(subject_restriction) {
        let (key, record) = restriction(row)?;
        histories.entry(key).or_default().restrictions.push(record);
    }
    for row in rows!(subject_erasure) {
        let (key, record) = erasure(row)?;
        // The first verified erasure is the one that counts.
        histories
            .entry(key)
            .or_default()
            .erasure
            .get_or_insert(record);
    }
    for row in rows!(subject_birth) {
        let (key, birth) = birth(row)?;
        histories.entry(key).or_default().birth = Some(birth);
    }
    Ok(histories)
}

/// The audit record of a change to `subject`.
pub(super) fn audit_record(
    organisation: &str,
    subject: &str,
    kind: Kind,
    at: Timestamp,
    detail: Detail,
) -> Record {
    Record {
        organisation: organisation.to_owned(),
        at: micros(at),
        kind,
        subject: Some(subject.to_owned()),
        detail: detail.finish(),
    }
}

fn scope_detail(detail: Detail, scope: &ObjectionScope) -> Detail {
    match scope {
        ObjectionScope::DirectMarketing => detail.field("scope", "direct_marketing"),
        ObjectionScope::Purpose(purpose) => detail.field("purpose", purpose),
    }
}

/// Applies one write of a subject's state inside a transaction; the audit record of what it
/// changed, for the caller to append last (none when it changed nothing).
pub(super) async fn write(
    db: &impl ConnectionTrait,
    organisation: &str,
    subject: SubjectRef,
    write: &SubjectWrite,
    now: Timestamp,
) -> Result<Option<Record>, StoreError> {
    let subject = subject.to_hex();
    let (kind, detail) = match write {
        SubjectWrite::Consent { event, source } => {
            subject_consent::ActiveModel {
                organisation_id: Set(organisation.to_owned()),
                subject: Set(subject.clone()),
                purpose: Set(event.purpose.to_string()),
                action: Set(event.action.as_str().to_owned()),
                at: Set(micros(event.at)),
                notice_version: Set(event.notice_version.as_deref().map(str::to_owned)),
                source: Set(source.clone()),
                parental: Set(event.parental),
                recorded_at: Set(micros(now)),
                ..Default::default()
            }
            .insert(db)
            .await?;
            let detail = Detail::new()
                .field("purpose", &event.purpose)
                .field("action", event.action.as_str())
                .field("at", event.at)
                .optional("notice_version", event.notice_version.as_deref())
                .field("parental", event.parental);
            (Kind::SubjectConsent, detail)
        }
        SubjectWrite::Objection {
            objection,
            rights_request_id,
        } => {
            let (direct_marketing, purpose) = match &objection.scope {
                ObjectionScope::DirectMarketing => (true, None),
                ObjectionScope::Purpose(purpose) => (false, Some(purpose.to_string())),
            };
            subject_objection::ActiveModel {
                organisation_id: Set(organisation.to_owned()),
                subject: Set(subject.clone()),
                direct_marketing: Set(direct_marketing),
                purpose: Set(purpose),
                at: Set(micros(objection.at)),
                compelling_grounds: Set(objection.compelling_grounds.as_deref().map(str::to_owned)),
                withdrawn_at: Set(objection.withdrawn_at.map(micros)),
                rights_request_id: Set(rights_request_id.clone()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            let detail = scope_detail(Detail::new(), &objection.scope)
                .field("at", objection.at)
                .optional("request_id", rights_request_id.as_deref());
            (Kind::SubjectObjection, detail)
        }
        SubjectWrite::CompellingGrounds { purpose, grounds } => {
            let updated = subject_objection::Entity::update_many()
                .col_expr(
                    subject_objection::Column::CompellingGrounds,
                    sea_orm::sea_query::Expr::value(grounds.clone()),
                )
                .filter(subject_objection::Column::OrganisationId.eq(organisation))
                .filter(subject_objection::Column::Subject.eq(subject.as_str()))
                .filter(subject_objection::Column::Purpose.eq(purpose.as_str()))
                .filter(subject_objection::Column::WithdrawnAt.is_null())
                .exec(db)
                .await?;
            if updated.rows_affected == 0 {
                return Ok(None);
            }
            // The grounds are free text: the log keeps their digest, not the words.
            let detail = Detail::new()
                .field("purpose", purpose)
                .field("grounds_sha256", sha256_hex(grounds));
            (Kind::SubjectGrounds, detail)
        }
        SubjectWrite::Restriction {
            from,
            rights_request_id,
        } => {
            subject_restriction::ActiveModel {
                organisation_id: Set(organisation.to_owned()),
                subject: Set(subject.clone()),
                from_at: Set(micros(*from)),
                lifted_at: Set(None),
                lift_note: Set(None),
                rights_request_id: Set(rights_request_id.clone()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            let detail = Detail::new()
                .field("from", from)
                .optional("request_id", rights_request_id.as_deref());
            (Kind::SubjectRestriction, detail)
        }
        SubjectWrite::Erasure {
            verified_at,
            rights_request_id,
        } => {
            subject_erasure::ActiveModel {
                organisation_id: Set(organisation.to_owned()),
                subject: Set(subject.clone()),
                verified_at: Set(micros(*verified_at)),
                rights_request_id: Set(rights_request_id.clone()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            let detail = Detail::new()
                .field("verified_at", verified_at)
                .optional("request_id", rights_request_id.as_deref());
            (Kind::SubjectErasure, detail)
        }
    };
    Ok(Some(audit_record(
        organisation,
        &subject,
        kind,
        now,
        detail,
    )))
}

/// Rows read per query while loading every subject: enough to amortise the round trip, few
/// enough that a page is small next to the states it becomes.
const SCAN_PAGE: u64 = 10_000;

impl Store {
    /// Every stored fact about every subject, table by table and in the order recorded, a
    /// page of rows at a time: loading a million subjects never holds all the rows at once.
    pub async fn scan_subject_facts(
        &self,
        mut visit: impl FnMut(&str, SubjectRef, SubjectFact),
    ) -> Result<(), StoreError> {
        let mut interner = Interner::default();
        macro_rules! scan {
            ($entity:ident, |$row:ident| $fact:expr) => {{
                let mut after = i64::MIN;
                loop {
                    let page = $entity::Entity::find()
                        .filter($entity::Column::Id.gt(after))
                        .order_by_asc($entity::Column::Id)
                        .limit(SCAN_PAGE)
                        .all(&self.db)
                        .await?;
                    let Some(last) = page.last() else { break };
                    after = last.id;
                    for $row in page {
                        let ((organisation, subject), fact) = $fact;
                        let reference = SubjectRef::from_hex(&subject)
                            .ok_or_else(|| corrupt("subject", &subject))?;
                        visit(&organisation, reference, fact);
                    }
                }
            }};
        }
        scan!(subject_consent, |row| {
            let (key, record) = consent(row, &mut interner)?;
            (key, SubjectFact::Consent(record.event))
        });
        scan!(subject_objection, |row| {
            let (key, record) = objection(row, &mut interner)?;
            (key, SubjectFact::Objection(record.objection))
        });
        scan!(subject_restriction, |row| {
            let (key, record) = restriction(row)?;
            (key, SubjectFact::Restriction(record.restriction))
        });
        scan!(subject_erasure, |row| {
            let (key, record) = erasure(row)?;
            (key, SubjectFact::Erasure(record.erasure))
        });
        scan!(subject_birth, |row| {
            let (key, birth) = birth(row)?;
            (key, SubjectFact::Birth(birth))
        });
        Ok(())
    }

    /// One subject's history.
    pub async fn subject_history(
        &self,
        organisation: &str,
        subject: SubjectRef,
    ) -> Result<SubjectHistory, StoreError> {
        let hex = subject.to_hex();
        Ok(histories(&self.db, Some((organisation, &hex)))
            .await?
            .remove(&(organisation.to_owned(), hex))
            .unwrap_or_default())
    }

    /// Applies writes to one subject in one transaction.
    pub async fn write_subject(
        &self,
        organisation: &str,
        subject: SubjectRef,
        writes: &[SubjectWrite],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let txn = self.begin_write().await?;
        let mut records = Vec::with_capacity(writes.len());
        for one in writes {
            records.extend(write(&txn, organisation, subject, one, now).await?);
        }
        for record in &records {
            append_audit(&txn, record).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Marks the standing objection (to direct marketing, or to `purpose`) withdrawn; false
    /// when none stands.
    pub async fn withdraw_objection(
        &self,
        organisation: &str,
        subject: SubjectRef,
        purpose: Option<&str>,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        let mut update = subject_objection::Entity::update_many()
            .col_expr(
                subject_objection::Column::WithdrawnAt,
                sea_orm::sea_query::Expr::value(micros(at)),
            )
            .filter(subject_objection::Column::OrganisationId.eq(organisation))
            .filter(subject_objection::Column::Subject.eq(subject.to_hex()))
            .filter(subject_objection::Column::WithdrawnAt.is_null());
        update = match purpose {
            Some(purpose) => update.filter(subject_objection::Column::Purpose.eq(purpose)),
            None => update.filter(subject_objection::Column::DirectMarketing.eq(true)),
        };
        if update.exec(&txn).await?.rows_affected == 0 {
            return Ok(false);
        }
        let detail = match purpose {
            Some(purpose) => Detail::new().field("purpose", purpose),
            None => Detail::new().field("scope", "direct_marketing"),
        };
        let record = audit_record(
            organisation,
            &subject.to_hex(),
            Kind::SubjectObjectionWithdrawn,
            at,
            detail.field("at", at),
        );
        append_audit(&txn, &record).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Records compelling grounds against the standing objection to `purpose`; false when
    /// none stands.
    pub async fn record_grounds(
        &self,
        organisation: &str,
        subject: SubjectRef,
        purpose: &str,
        grounds: &str,
    ) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        let change = SubjectWrite::CompellingGrounds {
            purpose: purpose.to_owned(),
            grounds: grounds.to_owned(),
        };
        let Some(record) = write(&txn, organisation, subject, &change, Timestamp::now()).await?
        else {
            return Ok(false);
        };
        append_audit(&txn, &record).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Lifts the standing restriction; false when none stands.
    pub async fn lift_restriction(
        &self,
        organisation: &str,
        subject: SubjectRef,
        at: Timestamp,
        note: &str,
    ) -> Result<bool, StoreError> {
        let txn = self.begin_write().await?;
        let result = subject_restriction::Entity::update_many()
            .col_expr(
                subject_restriction::Column::LiftedAt,
                sea_orm::sea_query::Expr::value(micros(at)),
            )
            .col_expr(
                subject_restriction::Column::LiftNote,
                sea_orm::sea_query::Expr::value(note.to_owned()),
            )
            .filter(subject_restriction::Column::OrganisationId.eq(organisation))
            .filter(subject_restriction::Column::Subject.eq(subject.to_hex()))
            .filter(subject_restriction::Column::LiftedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(false);
        }
        let detail = Detail::new()
            .field("at", at)
            .field("note_sha256", sha256_hex(note));
        let record = audit_record(
            organisation,
            &subject.to_hex(),
            Kind::SubjectRestrictionLifted,
            at,
            detail,
        );
        append_audit(&txn, &record).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Records the subject's birth, replacing what was known.
    pub async fn set_birth(
        &self,
        organisation: &str,
        subject: SubjectRef,
        birth: Birth,
    ) -> Result<(), StoreError> {
        let (birth_date, birth_year, precision) = match birth {
            Birth::Date(date) => (Some(date.to_string()), None, "date"),
            Birth::Year(year) => (None, Some(i32::from(year)), "year"),
        };
        let hex = subject.to_hex();
        let txn = self.begin_write().await?;
        let known = subject_birth::Entity::find()
            .filter(subject_birth::Column::OrganisationId.eq(organisation))
            .filter(subject_birth::Column::Subject.eq(hex.as_str()))
            .one(&txn)
            .await?;
        if known.is_some_and(|row| row.birth_date == birth_date && row.birth_year == birth_year) {
            return Ok(());
        }
        subject_birth::Entity::insert(subject_birth::ActiveModel {
            organisation_id: Set(organisation.to_owned()),
            subject: Set(hex.clone()),
            birth_date: Set(birth_date),
            birth_year: Set(birth_year),
            ..Default::default()
        })
        .on_conflict(
            OnConflict::columns([
                subject_birth::Column::OrganisationId,
                subject_birth::Column::Subject,
            ])
            .update_columns([
                subject_birth::Column::BirthDate,
                subject_birth::Column::BirthYear,
            ])
            .to_owned(),
        )
        .exec(&txn)
        .await?;
        // The date itself stays out of the log: it is personal data an erasure must reach.
        let record = audit_record(
            organisation,
            &hex,
            Kind::SubjectBirth,
            Timestamp::now(),
            Detail::new().field("precision", precision),
        );
        append_audit(&txn, &record).await?;
        txn.commit().await?;
        Ok(())
    }
}
