//! The rights repository: requests with their events, tasks and notes. Every change of a
//! request is one transaction that also writes the events it causes and the subject state it
//! changes, so that what is acknowledged is exactly what is stored.

use std::collections::HashMap;

use jiff::{Timestamp, civil::Date};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr, sea_query::Expr,
};

use super::{
    Store, StoreError,
    audit::{append_audit, lock_chain},
    entity::*,
    from_micros, micros, subjects,
};
use crate::domain::{
    Spelling,
    audit::{Detail, Kind, Record},
    pseudonym::SubjectRef,
    rights::{
        Clock, EventKind, EventRecord, NewEvent, NoteKind, PurposeNote, RejectionReason,
        RequestKind, RequestRecord, Status, TaskPlan, TaskRecord, TaskStatus,
    },
    subject::SubjectWrite,
};

/// A request to record, with the effects it has at once.
#[derive(Clone, Debug)]
pub struct NewRequest {
    pub organisation: String,
    pub request_id: String,
    pub payload_sha256: String,
    pub kind: RequestKind,
    pub subject: SubjectRef,
    pub received_at: Timestamp,
    pub status: Status,
    pub clock: Clock,
    pub first_due_on: Option<Date>,
    pub due_on: Option<Date>,
    pub purposes: Vec<String>,
    pub direct_marketing: bool,
    pub details: Option<String>,
    pub events: Vec<NewEvent>,
    pub subject_writes: Vec<SubjectWrite>,
}

/// What a submission found.
#[derive(Clone, Debug)]
pub enum Submission {
    Created(RequestRecord),
    /// The same request id with the same payload: the stored request.
    Replayed(RequestRecord),
}

/// A change of a request, applied only if its status is still `expected_status`.
#[derive(Clone, Debug)]
pub struct RequestChange {
    pub organisation: String,
    pub request_id: String,
    pub expected_status: Status,
    pub status: Status,
    pub rejection_reason: Option<RejectionReason>,
    pub clock: Clock,
    pub first_due_on: Option<Date>,
    pub due_on: Option<Date>,
    pub extension_reason: Option<String>,
    /// Events before the tasks are created, then the tasks (each with its TASK_CREATED
    /// event), then the events after.
    pub events: Vec<NewEvent>,
    pub tasks: Vec<TaskPlan>,
    pub events_after_tasks: Vec<NewEvent>,
    pub subject_writes: Vec<SubjectWrite>,
    pub notes: Vec<(NoteKind, PurposeNote)>,
}

/// Filters of a request listing.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub statuses: Vec<Status>,
    pub kinds: Vec<RequestKind>,
    /// Only open requests due before this day (the organisation's today, for "overdue").
    pub overdue_on: Option<Date>,
    pub due_before: Option<Date>,
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn parse<T: Spelling>(what: &str, text: &str) -> Result<T, StoreError> {
    text.parse::<T>().map_err(|_| corrupt(what, text))
}

fn date(text: &Option<String>) -> Result<Option<Date>, StoreError> {
    text.as_deref()
        .map(|text| text.parse().map_err(|_| corrupt("date", text)))
        .transpose()
}

fn id(value: i64) -> u64 {
    // Database identities count up from 1.
    u64::try_from(value).unwrap_or_default()
}

fn row_id(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const TERMINAL: [Status; 3] = [Status::Completed, Status::Rejected, Status::Cancelled];

async fn insert_event(
    db: &impl ConnectionTrait,
    request: &rights_request::Model,
    event: &NewEvent,
    task_id: Option<i64>,
    now: Timestamp,
) -> Result<(), StoreError> {
    rights_event::ActiveModel {
        organisation_id: Set(request.organisation_id.clone()),
        rights_request_id: Set(request.id),
        task_id: Set(task_id),
        kind: Set(event.kind.as_str().to_owned()),
        status: Set(event.status.as_str().to_owned()),
        at: Set(micros(now)),
        actor: Set(event.actor.clone()),
        note: Set(event.note.clone()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

async fn insert_task(
    db: &impl ConnectionTrait,
    request: &rights_request::Model,
    plan: &TaskPlan,
    status: Status,
    actor: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let task = rights_task::ActiveModel {
        rights_request_id: Set(request.id),
        organisation_id: Set(request.organisation_id.clone()),
        recipient: Set(plan.recipient.clone()),
        status: Set(TaskStatus::Open.as_str().to_owned()),
        created_at: Set(micros(now)),
        completed_at: Set(None),
        completed_by: Set(None),
        note: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    rights_task_purpose::Entity::insert_many(plan.purposes.iter().map(|purpose| {
        rights_task_purpose::ActiveModel {
            task_id: Set(task.id),
            purpose: Set(purpose.clone()),
            ..Default::default()
        }
    }))
    .exec(db)
    .await?;
    let event = NewEvent {
        kind: EventKind::TaskCreated,
        status,
        actor: actor.to_owned(),
        note: Some(format!(
            "tell {:?} (purposes: {})",
            plan.recipient,
            plan.purposes.join(", ")
        )),
    };
    insert_event(db, request, &event, Some(task.id), now).await
}

/// The audit record of a change of a request: an extension, or a move between statuses.
fn change_record(change: &RequestChange, row: &rights_request::Model, now: Timestamp) -> Record {
    let events = || change.events.iter().chain(&change.events_after_tasks);
    let by = events().next().map(|event| &event.actor);
    let (kind, detail) = if events().any(|event| event.kind == EventKind::Extended) {
        let detail = Detail::new()
            .field("request_id", &change.request_id)
            .field("months", change.clock.extension_months)
            .optional("due_on", change.due_on);
        (Kind::RequestExtended, detail)
    } else {
        let detail = Detail::new()
            .field("request_id", &change.request_id)
            .field("from", change.expected_status.as_str())
            .field("to", change.status.as_str())
            .optional(
                "rejection_reason",
                change.rejection_reason.map(|reason| reason.as_str()),
            )
            .field("tasks", change.tasks.len());
        (Kind::RequestTransition, detail)
    };
    subjects::audit_record(
        &change.organisation,
        &row.subject,
        kind,
        now,
        detail.optional("by", by),
    )
}

/// Appends a transaction's records, last in it, in the order they happened.
async fn append_all(
    txn: &sea_orm::DatabaseTransaction,
    records: &[Record],
) -> Result<(), StoreError> {
    for record in records {
        append_audit(txn, record).await?;
    }
    Ok(())
}

async fn request_row(
    db: &impl ConnectionTrait,
    organisation: &str,
    request_id: &str,
) -> Result<Option<rights_request::Model>, StoreError> {
    Ok(rights_request::Entity::find()
        .filter(rights_request::Column::OrganisationId.eq(organisation))
        .filter(rights_request::Column::RequestId.eq(request_id))
        .one(db)
        .await?)
}

/// The records of `rows`, with events, tasks and notes when `full`.
async fn records(
    db: &impl ConnectionTrait,
    rows: Vec<rights_request::Model>,
    full: bool,
) -> Result<Vec<RequestRecord>, StoreError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut purposes: HashMap<i64, Vec<String>> = HashMap::new();
    for row in rights_request_purpose::Entity::find()
        .filter(rights_request_purpose::Column::RightsRequestId.is_in(ids.clone()))
        .order_by_asc(rights_request_purpose::Column::Id)
        .all(db)
        .await?
    {
        purposes
            .entry(row.rights_request_id)
            .or_default()
            .push(row.purpose);
    }
    let mut notes: HashMap<i64, Vec<rights_request_note::Model>> = HashMap::new();
    let mut events: HashMap<i64, Vec<rights_event::Model>> = HashMap::new();
    let mut tasks: HashMap<i64, Vec<rights_task::Model>> = HashMap::new();
    let mut task_purposes: HashMap<i64, Vec<String>> = HashMap::new();
    if full {
        for row in rights_request_note::Entity::find()
            .filter(rights_request_note::Column::RightsRequestId.is_in(ids.clone()))
            .order_by_asc(rights_request_note::Column::Id)
            .all(db)
            .await?
        {
            notes.entry(row.rights_request_id).or_default().push(row);
        }
        for row in rights_event::Entity::find()
            .filter(rights_event::Column::RightsRequestId.is_in(ids.clone()))
            .order_by_asc(rights_event::Column::Id)
            .all(db)
            .await?
        {
            events.entry(row.rights_request_id).or_default().push(row);
        }
        let task_rows = rights_task::Entity::find()
            .filter(rights_task::Column::RightsRequestId.is_in(ids.clone()))
            .order_by_asc(rights_task::Column::Id)
            .all(db)
            .await?;
        let task_ids: Vec<i64> = task_rows.iter().map(|task| task.id).collect();
        for row in rights_task_purpose::Entity::find()
            .filter(rights_task_purpose::Column::TaskId.is_in(task_ids))
            .order_by_asc(rights_task_purpose::Column::Id)
            .all(db)
            .await?
        {
            task_purposes
                .entry(row.task_id)
                .or_default()
                .push(row.purpose);
        }
        for row in task_rows {
            tasks.entry(row.rights_request_id).or_default().push(row);
        }
    }

    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let kind: RequestKind = parse("request kind", &row.kind)?;
        let subject =
            SubjectRef::from_hex(&row.subject).ok_or_else(|| corrupt("subject", &row.subject))?;
        let task_recipients: HashMap<i64, String> = tasks
            .get(&row.id)
            .map(|list| {
                list.iter()
                    .map(|task| (task.id, task.recipient.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let event_records = events
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|event| {
                Ok(EventRecord {
                    id: id(event.id),
                    request_id: row.request_id.clone(),
                    kind: parse("event kind", &event.kind)?,
                    status: parse("status", &event.status)?,
                    task_id: event.task_id.map(id),
                    recipient: event
                        .task_id
                        .and_then(|task| task_recipients.get(&task).cloned()),
                    at: from_micros(event.at)?,
                    actor: event.actor,
                    note: event.note,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let task_records = tasks
            .remove(&row.id)
            .unwrap_or_default()
            .into_iter()
            .map(|task| task_record(task, &row.request_id, kind, subject, &mut task_purposes))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut retained = Vec::new();
        let mut portable = Vec::new();
        for note in notes.remove(&row.id).unwrap_or_default() {
            let purpose_note = PurposeNote {
                purpose: note.purpose,
                reason: note.reason,
                article: note.article,
            };
            match parse::<NoteKind>("note kind", &note.kind)? {
                NoteKind::Retained => retained.push(purpose_note),
                NoteKind::Portable => portable.push(purpose_note),
            }
        }
        records.push(RequestRecord {
            kind,
            subject,
            received_at: from_micros(row.received_at)?,
            status: parse("status", &row.status)?,
            clock: Clock {
                started_on: date(&row.clock_started_on)?,
                extension_months: i8::try_from(row.extension_months)
                    .map_err(|_| corrupt("extension", &row.extension_months.to_string()))?,
            },
            first_due_on: date(&row.first_due_on)?,
            due_on: date(&row.due_on)?,
            extension_reason: row.extension_reason,
            purposes: purposes.remove(&row.id).unwrap_or_default(),
            direct_marketing: row.direct_marketing,
            details: row.details,
            rejection_reason: row
                .rejection_reason
                .as_deref()
                .map(|reason| parse("rejection reason", reason))
                .transpose()?,
            events: event_records,
            tasks: task_records,
            retained,
            portable,
            organisation: row.organisation_id,
            request_id: row.request_id,
            payload_sha256: row.payload_sha256,
        });
    }
    Ok(records)
}

fn task_record(
    task: rights_task::Model,
    request_id: &str,
    kind: RequestKind,
    subject: SubjectRef,
    purposes: &mut HashMap<i64, Vec<String>>,
) -> Result<TaskRecord, StoreError> {
    Ok(TaskRecord {
        id: id(task.id),
        request_id: request_id.to_owned(),
        kind,
        subject,
        recipient: task.recipient,
        purposes: purposes.remove(&task.id).unwrap_or_default(),
        status: parse("task status", &task.status)?,
        created_at: from_micros(task.created_at)?,
        completed_at: task.completed_at.map(from_micros).transpose()?,
        completed_by: task.completed_by,
        note: task.note,
    })
}

async fn record(
    db: &impl ConnectionTrait,
    row: rights_request::Model,
) -> Result<RequestRecord, StoreError> {
    records(db, vec![row], true)
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a request vanished while read".into()))
}

impl Store {
    /// Records a request and its immediate effects, or finds the same request recorded
    /// before under the same request id.
    pub async fn submit_request(
        &self,
        new: &NewRequest,
        now: Timestamp,
    ) -> Result<Submission, StoreError> {
        match self.try_submit(new, now).await {
            Err(StoreError::Database(error))
                if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) =>
            {
                // Another submission of the same request id committed first.
                self.replay(new).await
            }
            other => other,
        }
    }

    async fn replay(&self, new: &NewRequest) -> Result<Submission, StoreError> {
        let row = request_row(&self.db, &new.organisation, &new.request_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a request id both taken and missing".into()))?;
        if row.payload_sha256 != new.payload_sha256 {
            return Err(StoreError::RequestIdTaken(new.request_id.clone()));
        }
        Ok(Submission::Replayed(record(&self.db, row).await?))
    }

    async fn try_submit(&self, new: &NewRequest, now: Timestamp) -> Result<Submission, StoreError> {
        if request_row(&self.db, &new.organisation, &new.request_id)
            .await?
            .is_some()
        {
            return self.replay(new).await;
        }
        let txn = self.begin_write().await?;
        lock_chain(&txn, &new.organisation).await?;
        let row = rights_request::ActiveModel {
            organisation_id: Set(new.organisation.clone()),
            request_id: Set(new.request_id.clone()),
            payload_sha256: Set(new.payload_sha256.clone()),
            kind: Set(new.kind.as_str().to_owned()),
            subject: Set(new.subject.to_hex()),
            received_at: Set(micros(new.received_at)),
            status: Set(new.status.as_str().to_owned()),
            clock_started_on: Set(new.clock.started_on.map(|day| day.to_string())),
            first_due_on: Set(new.first_due_on.map(|day| day.to_string())),
            due_on: Set(new.due_on.map(|day| day.to_string())),
            extension_months: Set(i16::from(new.clock.extension_months)),
            extension_reason: Set(None),
            direct_marketing: Set(new.direct_marketing),
            details: Set(new.details.clone()),
            rejection_reason: Set(None),
            updated_at: Set(micros(now)),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        rights_request_purpose::Entity::insert_many(new.purposes.iter().map(|purpose| {
            rights_request_purpose::ActiveModel {
                rights_request_id: Set(row.id),
                purpose: Set(purpose.clone()),
                ..Default::default()
            }
        }))
        .exec(&txn)
        .await?;
        let subject = new.subject.to_hex();
        let mut audit = vec![subjects::audit_record(
            &new.organisation,
            &subject,
            Kind::RequestSubmitted,
            now,
            Detail::new()
                .field("request_id", &new.request_id)
                .field("type", new.kind.as_str())
                .field("status", new.status.as_str())
                .optional("by", new.events.first().map(|event| &event.actor)),
        )];
        for write in &new.subject_writes {
            audit.extend(subjects::write(&txn, &new.organisation, new.subject, write, now).await?);
        }
        for event in &new.events {
            insert_event(&txn, &row, event, None, now).await?;
        }
        let stored = record(&txn, row).await?;
        append_all(&txn, &audit).await?;
        txn.commit().await?;
        Ok(Submission::Created(stored))
    }

    pub async fn request(
        &self,
        organisation: &str,
        request_id: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        match request_row(&self.db, organisation, request_id).await? {
            Some(row) => Ok(Some(record(&self.db, row).await?)),
            None => Ok(None),
        }
    }

    /// Applies a change if the request is still where the caller saw it.
    pub async fn change_request(
        &self,
        change: &RequestChange,
        now: Timestamp,
    ) -> Result<RequestRecord, StoreError> {
        let txn = self.begin_write().await?;
        lock_chain(&txn, &change.organisation).await?;
        let row = request_row(&txn, &change.organisation, &change.request_id)
            .await?
            .ok_or_else(|| StoreError::NoSuchRequest(change.request_id.clone()))?;
        let updated = rights_request::Entity::update_many()
            .col_expr(
                rights_request::Column::Status,
                Expr::value(change.status.as_str()),
            )
            .col_expr(
                rights_request::Column::RejectionReason,
                Expr::value(
                    change
                        .rejection_reason
                        .map(|reason| reason.as_str().to_owned()),
                ),
            )
            .col_expr(
                rights_request::Column::ClockStartedOn,
                Expr::value(change.clock.started_on.map(|day| day.to_string())),
            )
            .col_expr(
                rights_request::Column::FirstDueOn,
                Expr::value(change.first_due_on.map(|day| day.to_string())),
            )
            .col_expr(
                rights_request::Column::DueOn,
                Expr::value(change.due_on.map(|day| day.to_string())),
            )
            .col_expr(
                rights_request::Column::ExtensionMonths,
                Expr::value(i16::from(change.clock.extension_months)),
            )
            .col_expr(
                rights_request::Column::ExtensionReason,
                Expr::value(change.extension_reason.clone()),
            )
            .col_expr(rights_request::Column::UpdatedAt, Expr::value(micros(now)))
            .filter(rights_request::Column::Id.eq(row.id))
            .filter(rights_request::Column::Status.eq(change.expected_status.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            let current: Status = parse("status", &row.status)?;
            return Err(StoreError::StatusMoved {
                request_id: change.request_id.clone(),
                current: current.as_str(),
            });
        }
        let subject =
            SubjectRef::from_hex(&row.subject).ok_or_else(|| corrupt("subject", &row.subject))?;
        let mut audit = vec![change_record(change, &row, now)];
        for write in &change.subject_writes {
            audit.extend(subjects::write(&txn, &change.organisation, subject, write, now).await?);
        }
        for (kind, note) in &change.notes {
            rights_request_note::ActiveModel {
                rights_request_id: Set(row.id),
                kind: Set(kind.as_str().to_owned()),
                purpose: Set(note.purpose.clone()),
                reason: Set(note.reason.clone()),
                article: Set(note.article.clone()),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        for event in &change.events {
            insert_event(&txn, &row, event, None, now).await?;
        }
        let task_status = change
            .events
            .last()
            .map_or(change.expected_status, |event| event.status);
        let actor = change
            .events
            .last()
            .map_or("system", |event| event.actor.as_str());
        for plan in &change.tasks {
            insert_task(&txn, &row, plan, task_status, actor, now).await?;
        }
        for event in &change.events_after_tasks {
            insert_event(&txn, &row, event, None, now).await?;
        }
        let row = request_row(&txn, &change.organisation, &change.request_id)
            .await?
            .ok_or_else(|| StoreError::NoSuchRequest(change.request_id.clone()))?;
        let stored = record(&txn, row).await?;
        append_all(&txn, &audit).await?;
        txn.commit().await?;
        Ok(stored)
    }

    /// Marks a task done; when it was the request's last open task and the request is in
    /// progress, the request completes (Art. 19 done for every recipient).
    pub async fn complete_task(
        &self,
        organisation: &str,
        task_id: u64,
        actor: &str,
        note: Option<String>,
        now: Timestamp,
    ) -> Result<(TaskRecord, RequestRecord), StoreError> {
        let txn = self.begin_write().await?;
        // The chain head orders every completion of the organisation's tasks: the last one
        // then counts the others' committed work, where under READ COMMITTED alone each
        // could count the rest still open and none complete the request.
        lock_chain(&txn, organisation).await?;
        let task = rights_task::Entity::find_by_id(row_id(task_id))
            .filter(rights_task::Column::OrganisationId.eq(organisation))
            .one(&txn)
            .await?
            .ok_or(StoreError::NoSuchTask(task_id))?;
        let request = rights_request::Entity::find_by_id(task.rights_request_id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("task {task_id} without its request")))?;
        let updated = rights_task::Entity::update_many()
            .col_expr(
                rights_task::Column::Status,
                Expr::value(TaskStatus::Done.as_str()),
            )
            .col_expr(rights_task::Column::CompletedAt, Expr::value(micros(now)))
            .col_expr(
                rights_task::Column::CompletedBy,
                Expr::value(actor.to_owned()),
            )
            .col_expr(rights_task::Column::Note, Expr::value(note.clone()))
            .filter(rights_task::Column::Id.eq(task.id))
            .filter(rights_task::Column::Status.eq(TaskStatus::Open.as_str()))
            .exec(&txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(StoreError::TaskDone(task_id));
        }
        let status: Status = parse("status", &request.status)?;
        let mut audit = vec![subjects::audit_record(
            organisation,
            &request.subject,
            Kind::TaskCompleted,
            now,
            Detail::new()
                .field("request_id", &request.request_id)
                .field("task_id", task_id)
                .field("recipient", &task.recipient)
                .field("by", actor),
        )];
        insert_event(
            &txn,
            &request,
            &NewEvent {
                kind: EventKind::TaskCompleted,
                status,
                actor: actor.to_owned(),
                note: note.clone(),
            },
            Some(task.id),
            now,
        )
        .await?;
        let open = rights_task::Entity::find()
            .filter(rights_task::Column::RightsRequestId.eq(request.id))
            .filter(rights_task::Column::Status.eq(TaskStatus::Open.as_str()))
            .count(&txn)
            .await?;
        if open == 0 && status == Status::InProgress && status.may_become(Status::Completed) {
            rights_request::Entity::update_many()
                .col_expr(
                    rights_request::Column::Status,
                    Expr::value(Status::Completed.as_str()),
                )
                .col_expr(rights_request::Column::UpdatedAt, Expr::value(micros(now)))
                .filter(rights_request::Column::Id.eq(request.id))
                .exec(&txn)
                .await?;
            insert_event(
                &txn,
                &request,
                &NewEvent {
                    kind: EventKind::StatusChanged,
                    status: Status::Completed,
                    actor: "system".to_owned(),
                    note: Some("every recipient has been told (Art. 19)".to_owned()),
                },
                None,
                now,
            )
            .await?;
            audit.push(subjects::audit_record(
                organisation,
                &request.subject,
                Kind::RequestTransition,
                now,
                Detail::new()
                    .field("request_id", &request.request_id)
                    .field("from", status.as_str())
                    .field("to", Status::Completed.as_str())
                    .field("by", "system"),
            ));
        }
        let request = rights_request::Entity::find_by_id(request.id)
            .one(&txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a request vanished while completing".into()))?;
        let stored = record(&txn, request).await?;
        append_all(&txn, &audit).await?;
        txn.commit().await?;
        let task = stored
            .tasks
            .iter()
            .find(|candidate| candidate.id == task_id)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("task {task_id} vanished")))?;
        Ok((task, stored))
    }

    /// How many of the organisation's open requests were due before `today`.
    pub async fn count_overdue(&self, organisation: &str, today: Date) -> Result<u64, StoreError> {
        Ok(rights_request::Entity::find()
            .filter(rights_request::Column::OrganisationId.eq(organisation))
            .filter(rights_request::Column::DueOn.lt(today.to_string()))
            .filter(
                rights_request::Column::Status
                    .is_not_in(TERMINAL.iter().map(|status| status.as_str())),
            )
            .count(&self.db)
            .await?)
    }

    /// A page of requests (without events and tasks), oldest first, after `after`.
    pub async fn list_requests(
        &self,
        organisation: &str,
        filter: &RequestFilter,
        after: Option<u64>,
        limit: u64,
    ) -> Result<Vec<(u64, RequestRecord)>, StoreError> {
        let mut condition =
            Condition::all().add(rights_request::Column::OrganisationId.eq(organisation));
        if let Some(after) = after {
            condition = condition.add(rights_request::Column::Id.gt(row_id(after)));
        }
        if !filter.statuses.is_empty() {
            condition = condition.add(
                rights_request::Column::Status
                    .is_in(filter.statuses.iter().map(|status| status.as_str())),
            );
        }
        if !filter.kinds.is_empty() {
            condition = condition.add(
                rights_request::Column::Kind.is_in(filter.kinds.iter().map(|kind| kind.as_str())),
            );
        }
        if let Some(today) = filter.overdue_on {
            condition = condition
                .add(rights_request::Column::DueOn.lt(today.to_string()))
                .add(
                    rights_request::Column::Status
                        .is_not_in(TERMINAL.iter().map(|status| status.as_str())),
                );
        }
        if let Some(day) = filter.due_before {
            condition = condition.add(rights_request::Column::DueOn.lt(day.to_string()));
        }
        let rows = rights_request::Entity::find()
            .filter(condition)
            .order_by_asc(rights_request::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<u64> = rows.iter().map(|row| id(row.id)).collect();
        let records = records(&self.db, rows, false).await?;
        Ok(ids.into_iter().zip(records).collect())
    }

    /// A page of tasks, oldest first, after `after`.
    pub async fn list_tasks(
        &self,
        organisation: &str,
        request_id: Option<&str>,
        open_only: bool,
        after: Option<u64>,
        limit: u64,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut query = rights_task::Entity::find()
            .filter(rights_task::Column::OrganisationId.eq(organisation));
        if let Some(request_id) = request_id {
            let request = request_row(&self.db, organisation, request_id)
                .await?
                .ok_or_else(|| StoreError::NoSuchRequest(request_id.to_owned()))?;
            query = query.filter(rights_task::Column::RightsRequestId.eq(request.id));
        }
        if open_only {
            query = query.filter(rights_task::Column::Status.eq(TaskStatus::Open.as_str()));
        }
        if let Some(after) = after {
            query = query.filter(rights_task::Column::Id.gt(row_id(after)));
        }
        let tasks = query
            .order_by_asc(rights_task::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let request_ids: Vec<i64> = tasks.iter().map(|task| task.rights_request_id).collect();
        let requests: HashMap<i64, rights_request::Model> = rights_request::Entity::find()
            .filter(rights_request::Column::Id.is_in(request_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.id, row))
            .collect();
        let task_ids: Vec<i64> = tasks.iter().map(|task| task.id).collect();
        let mut purposes: HashMap<i64, Vec<String>> = HashMap::new();
        for row in rights_task_purpose::Entity::find()
            .filter(rights_task_purpose::Column::TaskId.is_in(task_ids))
            .order_by_asc(rights_task_purpose::Column::Id)
            .all(&self.db)
            .await?
        {
            purposes.entry(row.task_id).or_default().push(row.purpose);
        }
        tasks
            .into_iter()
            .map(|task| {
                let request = requests.get(&task.rights_request_id).ok_or_else(|| {
                    StoreError::Corrupt(format!("task {} without its request", task.id))
                })?;
                let kind = parse("request kind", &request.kind)?;
                let subject = SubjectRef::from_hex(&request.subject)
                    .ok_or_else(|| corrupt("subject", &request.subject))?;
                task_record(task, &request.request_id, kind, subject, &mut purposes)
            })
            .collect()
    }

    /// The id of the organisation's latest event, 0 when it has none.
    pub async fn last_event_id(&self, organisation: &str) -> Result<u64, StoreError> {
        let last: Option<Option<i64>> = rights_event::Entity::find()
            .select_only()
            .column_as(rights_event::Column::Id.max(), "last")
            .filter(rights_event::Column::OrganisationId.eq(organisation))
            .into_tuple()
            .one(&self.db)
            .await?;
        Ok(last.flatten().map_or(0, id))
    }

    /// Events of an organisation after `after`, oldest first.
    pub async fn events_after(
        &self,
        organisation: &str,
        after: u64,
        limit: u64,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let events = rights_event::Entity::find()
            .filter(rights_event::Column::OrganisationId.eq(organisation))
            .filter(rights_event::Column::Id.gt(row_id(after)))
            .order_by_asc(rights_event::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let request_ids: Vec<i64> = events.iter().map(|event| event.rights_request_id).collect();
        let requests: HashMap<i64, String> = rights_request::Entity::find()
            .filter(rights_request::Column::Id.is_in(request_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| (row.id, row.request_id))
            .collect();
        let task_ids: Vec<i64> = events.iter().filter_map(|event| event.task_id).collect();
        let recipients: HashMap<i64, String> = rights_task::Entity::find()
            .filter(rights_task::Column::Id.is_in(task_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|task| (task.id, task.recipient))
            .collect();
        events
            .into_iter()
            .map(|event| {
                Ok(EventRecord {
                    id: id(event.id),
                    request_id: requests
                        .get(&event.rights_request_id)
                        .cloned()
                        .unwrap_or_default(),
                    kind: parse("event kind", &event.kind)?,
                    status: parse("status", &event.status)?,
                    task_id: event.task_id.map(id),
                    recipient: event
                        .task_id
                        .and_then(|task| recipients.get(&task).cloned()),
                    at: from_micros(event.at)?,
                    actor: event.actor,
                    note: event.note,
                })
            })
            .collect()
    }
}
