//! RightsService: requests, their lifecycle and deadline, their effects on the subject's
//! state and the recipients' tasks. Each step plans its change from the domain rules and the
//! store applies it in one transaction; the subject's entry in memory follows.

use std::{pin::Pin, sync::Arc};

use jiff::{Timestamp, civil::Date};
use sha2::{Digest, Sha256};
use tokio_stream::Stream;

use super::{App, subjects::moment};
use crate::{
    domain::{
        Spelling,
        access::{self, AccessReport},
        calendar,
        engine::CompiledPolicy,
        geo::Territory,
        names::{ExtensionMonths, OrganisationId, PurposeId, RawSubject, RequestId, TaskId},
        pseudonym::SubjectRef,
        rights::{
            self, Clock, EventKind, EventRecord, NewEvent, RejectionReason, RequestKind,
            RequestRecord, Status, TaskRecord,
        },
        rights_plan::{self, Submitted},
    },
    error::{Error, FieldViolation},
    store::{NewRequest, RequestChange, RequestFilter, Submission},
};

/// A request to submit, with ids validated.
#[derive(Clone, Debug)]
pub struct RequestInput {
    pub organisation: OrganisationId,
    pub request_id: RequestId,
    pub kind: RequestKind,
    pub subject: RawSubject,
    pub received_at: Option<Timestamp>,
    pub purposes: Vec<PurposeId>,
    pub direct_marketing: bool,
    pub details: Option<String>,
    pub actor: String,
}

/// An answer and the registry revision it was given under: the encoder reads the
/// recipients' names and the organisation's today from it, so no handler asks the
/// application again (and perhaps gets a newer revision) to show what it was given.
#[derive(Clone, Debug)]
pub struct Shown<T> {
    pub value: T,
    pub policy: Arc<CompiledPolicy>,
}

#[derive(Clone, Debug)]
pub struct SubmitOutcome {
    pub request: RequestRecord,
    /// False when the same request was submitted before.
    pub created: bool,
}

/// A move along the lifecycle.
#[derive(Clone, Debug)]
pub struct TransitionInput {
    pub organisation: OrganisationId,
    pub request_id: RequestId,
    pub status: Status,
    pub actor: String,
    pub note: Option<String>,
    pub rejection_reason: Option<RejectionReason>,
}

/// Filters of a listing.
#[derive(Clone, Debug, Default)]
pub struct ListInput {
    pub statuses: Vec<Status>,
    pub kinds: Vec<RequestKind>,
    pub overdue: bool,
    pub due_before: Option<Date>,
}

/// The stream of an organisation's events.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<EventRecord, Error>> + Send>>;

/// What identifies a submission: a retry must send the same.
fn payload_hash(input: &RequestInput, subject: SubjectRef) -> String {
    let mut purposes: Vec<&str> = input.purposes.iter().map(|id| id.as_str()).collect();
    purposes.sort();
    let mut hash = Sha256::new();
    for part in [
        input.kind.as_str().to_owned(),
        subject.to_hex(),
        input
            .received_at
            .map(|at| at.to_string())
            .unwrap_or_default(),
        purposes.join(","),
        input.direct_marketing.to_string(),
        input.details.clone().unwrap_or_default(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(hash.finalize())
}

impl App {
    fn country(policy: &CompiledPolicy) -> Territory {
        policy.registry().organisation.country
    }

    /// Today in the organisation's country.
    pub fn today(country: Territory) -> Date {
        calendar::local_date(country, Timestamp::now())
    }

    pub(super) fn bump_rights_events(&self) {
        self.rights_events
            .send_modify(|generation| *generation += 1);
    }

    /// Checks the purposes a request names against the registry.
    fn request_purposes(policy: &CompiledPolicy, input: &RequestInput) -> Result<(), Error> {
        let violations = rights_plan::purpose_violations(
            input.kind,
            &input.purposes,
            input.direct_marketing,
            policy.registry(),
        );
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(
                violations
                    .into_iter()
                    .map(|violation| FieldViolation::new(violation.field, violation.message))
                    .collect(),
            ))
        }
    }

    /// Records a request. A withdrawal of consent and an objection take effect at once; the
    /// first and an objection to direct marketing also complete at once.
    pub async fn submit_rights_request(
        &self,
        input: RequestInput,
    ) -> Result<Shown<SubmitOutcome>, Error> {
        let policy = self.latest(&input.organisation)?;
        let now = Timestamp::now();
        let received_at = moment("received_at", input.received_at, now)?;
        Self::request_purposes(&policy, &input)?;
        let subject = self.pseudonymise(&input.organisation, &input.subject);
        let state = self.subject_state(&input.organisation, subject)?;
        let country = Self::country(&policy);
        let clock = Clock {
            started_on: Some(calendar::local_date(country, received_at)),
            extension_months: 0,
        };

        let plan = rights_plan::plan_submission(
            &Submitted {
                kind: input.kind,
                request_id: &input.request_id,
                purposes: &input.purposes,
                direct_marketing: input.direct_marketing,
                received_at,
                actor: &input.actor,
            },
            policy.registry(),
            &state,
        );

        let due = clock.due(country);
        let new = NewRequest {
            organisation: input.organisation.to_string(),
            request_id: input.request_id.to_string(),
            payload_sha256: payload_hash(&input, subject),
            kind: input.kind,
            subject,
            received_at,
            status: plan.status,
            clock,
            first_due_on: clock.first_due(country),
            due_on: due,
            purposes: input.purposes.iter().map(ToString::to_string).collect(),
            direct_marketing: input.direct_marketing,
            details: input.details.clone(),
            events: plan.events,
            subject_writes: plan.subject_writes,
        };
        let (request, created) = match self.store.submit_request(&new, now).await? {
            Submission::Created(request) => (request, true),
            Submission::Replayed(request) => (request, false),
        };
        if created {
            if !new.subject_writes.is_empty() {
                self.refresh_subject(&input.organisation, subject).await?;
            }
            self.bump_rights_events();
            tracing::info!(
                organisation = %input.organisation,
                request_id = %input.request_id,
                kind = input.kind.as_str(),
                subject = %subject,
                status = request.status.as_str(),
                "rights request submitted"
            );
        }
        Ok(Shown {
            value: SubmitOutcome { request, created },
            policy,
        })
    }

    pub async fn rights_request(
        &self,
        organisation: &str,
        request_id: &str,
    ) -> Result<Shown<RequestRecord>, Error> {
        let policy = self.latest(organisation)?;
        let value = self.find_request(organisation, request_id).await?;
        Ok(Shown { value, policy })
    }

    async fn find_request(
        &self,
        organisation: &str,
        request_id: &str,
    ) -> Result<RequestRecord, Error> {
        self.store
            .request(organisation, request_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no rights request {request_id:?}")))
    }

    /// Open requests past their due date, every organisation judged on its own today.
    pub async fn count_overdue(&self) -> Result<u64, Error> {
        let mut overdue = 0;
        for policy in self.organisations() {
            let organisation = &policy.registry().organisation.id;
            let today = Self::today(Self::country(&policy));
            overdue += self.store.count_overdue(organisation, today).await?;
        }
        Ok(overdue)
    }

    /// Requests matching the filters, oldest first, after `after`; and the key of the next
    /// page.
    pub async fn list_rights_requests(
        &self,
        organisation: &str,
        filters: &ListInput,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Shown<(Vec<RequestRecord>, Option<u64>)>, Error> {
        let policy = self.latest(organisation)?;
        let filter = RequestFilter {
            statuses: filters.statuses.clone(),
            kinds: filters.kinds.clone(),
            overdue_on: filters.overdue.then(|| Self::today(Self::country(&policy))),
            due_before: filters.due_before,
        };
        let mut page = self
            .store
            .list_requests(organisation, &filter, after, limit as u64 + 1)
            .await?;
        let next = if page.len() > limit {
            page.truncate(limit);
            page.last().map(|(id, _)| *id)
        } else {
            None
        };
        Ok(Shown {
            value: (page.into_iter().map(|(_, request)| request).collect(), next),
            policy,
        })
    }

    /// Moves a request along its lifecycle and applies what the move means.
    pub async fn transition_rights_request(
        &self,
        input: TransitionInput,
    ) -> Result<Shown<RequestRecord>, Error> {
        let policy = self.latest(&input.organisation)?;
        let request = self
            .find_request(&input.organisation, &input.request_id)
            .await?;
        let from = request.status;
        let to = input.status;
        if !from.may_become(to) {
            return Err(Error::FailedPrecondition(format!(
                "rights request {:?} is {}; it cannot become {}",
                request.request_id,
                from.as_str().to_uppercase(),
                to.as_str().to_uppercase()
            )));
        }
        match (to, input.rejection_reason) {
            (Status::Rejected, None) => {
                return Err(Error::invalid(
                    "rejection_reason",
                    "a rejection needs its reason",
                ));
            }
            (Status::Rejected, Some(reason)) if !reason.fits(request.kind) => {
                return Err(Error::invalid(
                    "rejection_reason",
                    format!(
                        "{} does not end a {} request",
                        reason.as_str(),
                        request.kind.as_str()
                    ),
                ));
            }
            (Status::Rejected, Some(RejectionReason::CompellingGrounds))
                if input.note.is_none() =>
            {
                return Err(Error::invalid(
                    "note",
                    "the compelling grounds must be stated (Art. 21(1))",
                ));
            }
            (Status::Rejected, _) => {}
            (_, Some(_)) => {
                return Err(Error::invalid(
                    "rejection_reason",
                    "only a rejection has a reason",
                ));
            }
            (_, None) => {}
        }
        if to == Status::Completed && request.open_tasks() > 0 {
            return Err(Error::FailedPrecondition(format!(
                "rights request {:?} has {} open task(s); it completes when they are done",
                request.request_id,
                request.open_tasks()
            )));
        }

        let organisation = policy.registry().organisation.clone();
        let country = organisation.country;
        let now = Timestamp::now();
        let mut clock = request.clock;
        if to == Status::IdentityPending && organisation.clock_waits_for_identity {
            clock.started_on = None;
        }
        if to == Status::Verified && clock.started_on.is_none() {
            // The clock waited for identity proof, which arrived today.
            clock.started_on = Some(calendar::local_date(country, now));
        }

        let mut change = RequestChange {
            organisation: input.organisation.to_string(),
            request_id: input.request_id.to_string(),
            expected_status: from,
            status: to,
            rejection_reason: input.rejection_reason,
            clock,
            first_due_on: clock.first_due(country),
            due_on: clock.due(country),
            extension_reason: request.extension_reason.clone(),
            events: vec![NewEvent::new(
                EventKind::StatusChanged,
                to,
                &input.actor,
                input.note.clone(),
            )],
            tasks: Vec::new(),
            events_after_tasks: Vec::new(),
            subject_writes: Vec::new(),
            notes: Vec::new(),
        };
        let state = self.subject_state(&input.organisation, request.subject)?;
        if to == Status::Verified {
            let plan = rights_plan::plan_verification(
                request.kind,
                &request.request_id,
                policy.registry(),
                &state,
                now,
            );
            change.status = plan.status;
            change.rejection_reason = plan.rejection_reason;
            change.subject_writes = plan.subject_writes;
            change.tasks = plan.tasks;
            change.events_after_tasks = plan.events_after_tasks;
            change.notes = plan.notes;
        }
        if let (Status::Rejected, Some(reason)) = (to, input.rejection_reason) {
            change.subject_writes =
                rights_plan::plan_rejection(reason, input.note.as_deref(), &request.purposes);
        }

        let stored = self.store.change_request(&change, now).await?;
        if !change.subject_writes.is_empty() {
            self.refresh_subject(&input.organisation, request.subject)
                .await?;
        }
        self.bump_rights_events();
        tracing::info!(
            organisation = %input.organisation,
            request_id = %input.request_id,
            from = from.as_str(),
            to = stored.status.as_str(),
            tasks = change.tasks.len(),
            "rights request moved"
        );
        Ok(Shown {
            value: stored,
            policy,
        })
    }

    /// Extends the deadline once, by one or two months, before the first due date.
    pub async fn extend_rights_request(
        &self,
        organisation: &str,
        request_id: &str,
        months: ExtensionMonths,
        reason: &str,
        actor: &str,
    ) -> Result<Shown<RequestRecord>, Error> {
        let policy = self.latest(organisation)?;
        let request = self.find_request(organisation, request_id).await?;
        let country = Self::country(&policy);
        let clock = rights::extend(
            request.clock,
            request.status,
            country,
            months,
            Self::today(country),
        )
        .map_err(|refused| match refused {
            rights::ExtensionRefused::AlreadyExtended
            | rights::ExtensionRefused::TooLate(_)
            | rights::ExtensionRefused::ClockNotStarted
            | rights::ExtensionRefused::Closed(_) => {
                Error::FailedPrecondition(format!("rights request {request_id:?}: {refused}"))
            }
        })?;
        let due = clock.due(country);
        let note = format!(
            "extended by {months} month(s) to {}: {reason}",
            due.map(|day| day.to_string()).unwrap_or_default()
        );
        let change = RequestChange {
            organisation: organisation.to_owned(),
            request_id: request_id.to_owned(),
            expected_status: request.status,
            status: request.status,
            rejection_reason: request.rejection_reason,
            clock,
            first_due_on: request.first_due_on,
            due_on: due,
            extension_reason: Some(reason.to_owned()),
            events: vec![NewEvent::new(
                EventKind::Extended,
                request.status,
                actor,
                note,
            )],
            tasks: Vec::new(),
            events_after_tasks: Vec::new(),
            subject_writes: Vec::new(),
            notes: Vec::new(),
        };
        let stored = self.store.change_request(&change, Timestamp::now()).await?;
        self.bump_rights_events();
        tracing::info!(
            organisation,
            request_id,
            months = months.get(),
            "rights request extended"
        );
        Ok(Shown {
            value: stored,
            policy,
        })
    }

    pub async fn list_rights_tasks(
        &self,
        organisation: &str,
        request_id: Option<&str>,
        open_only: bool,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Shown<(Vec<TaskRecord>, Option<u64>)>, Error> {
        let policy = self.latest(organisation)?;
        let mut tasks = self
            .store
            .list_tasks(organisation, request_id, open_only, after, limit as u64 + 1)
            .await?;
        let next = if tasks.len() > limit {
            tasks.truncate(limit);
            tasks.last().map(|task| task.id)
        } else {
            None
        };
        Ok(Shown {
            value: (tasks, next),
            policy,
        })
    }

    pub async fn complete_rights_task(
        &self,
        organisation: &str,
        task_id: TaskId,
        actor: &str,
        note: Option<String>,
    ) -> Result<Shown<(TaskRecord, RequestRecord)>, Error> {
        let policy = self.latest(organisation)?;
        let (task, request) = self
            .store
            .complete_task(organisation, task_id.get(), actor, note, Timestamp::now())
            .await?;
        self.bump_rights_events();
        tracing::info!(organisation, task_id = task_id.get(), request_id = %request.request_id, status = request.status.as_str(), "rights task completed");
        Ok(Shown {
            value: (task, request),
            policy,
        })
    }

    /// The Art. 15(1) information for a verified access request.
    pub async fn access_report(
        &self,
        organisation: &str,
        request_id: &str,
    ) -> Result<(RequestRecord, Arc<CompiledPolicy>, AccessReport), Error> {
        let policy = self.latest(organisation)?;
        let request = self.find_request(organisation, request_id).await?;
        if !request.kind.answered_with_access_report() {
            return Err(Error::FailedPrecondition(format!(
                "rights request {request_id:?} is a {} request, not an access request",
                request.kind.as_str()
            )));
        }
        if !matches!(
            request.status,
            Status::Verified | Status::InProgress | Status::Completed
        ) {
            return Err(Error::FailedPrecondition(format!(
                "rights request {request_id:?} is {}: the requester's identity is not verified",
                request.status.as_str().to_uppercase()
            )));
        }
        let state = self.subject_state(organisation, request.subject)?;
        let report = access::access_report(&policy, &state, Self::today(Self::country(&policy)));
        Ok((request, policy, report))
    }

    /// The organisation's events after `after`, then live, until the server stops, the
    /// watcher goes away or the token that opened the stream expires (`expires`, in Unix
    /// seconds).
    pub async fn watch_rights_events(
        &self,
        organisation: &str,
        after: u64,
        expires: Option<i64>,
    ) -> Result<EventStream, Error> {
        self.latest(organisation)?;
        let wakes = super::streams::Wakes {
            written: self.rights_events.subscribe(),
            stopping: self.stopping.subscribe(),
        };
        let receiver = self
            .watchers
            .watch(organisation, after, expires, wakes)
            .await?;
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(
            receiver,
        )))
    }
}
