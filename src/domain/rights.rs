//! Data-subject rights requests: their kinds, lifecycle, deadline and the effects each kind
//! has on the subject's state and on the recipients (Art. 12, 15-21).

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::{
    calendar,
    geo::Territory,
    names::{ExtensionMonths, PurposeId},
    policy::{LegalBasis, Purpose, Registry},
    pseudonym::SubjectRef,
    subject::SubjectState,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Portability,
    Objection,
    WithdrawConsent,
}

spelled!(RequestKind {
    Access => "access",
    Rectification => "rectification",
    Erasure => "erasure",
    Restriction => "restriction",
    Portability => "portability",
    Objection => "objection",
    WithdrawConsent => "withdraw_consent",
});

impl RequestKind {
    pub fn article(self) -> &'static str {
        match self {
            RequestKind::Access => "Art. 15",
            RequestKind::Rectification => "Art. 16",
            RequestKind::Erasure => "Art. 17",
            RequestKind::Restriction => "Art. 18",
            RequestKind::Portability => "Art. 20",
            RequestKind::Objection => "Art. 21",
            RequestKind::WithdrawConsent => "Art. 7(3)",
        }
    }

    /// Kinds the recipients must be told of (Art. 19): each recipient gets a task.
    pub fn notifies_recipients(self) -> bool {
        match self {
            RequestKind::Erasure | RequestKind::Rectification | RequestKind::Restriction => true,
            RequestKind::Access
            | RequestKind::Portability
            | RequestKind::Objection
            | RequestKind::WithdrawConsent => false,
        }
    }

    /// Kinds answered with the Art. 15(1) information.
    pub fn answered_with_access_report(self) -> bool {
        match self {
            RequestKind::Access => true,
            RequestKind::Rectification
            | RequestKind::Erasure
            | RequestKind::Restriction
            | RequestKind::Portability
            | RequestKind::Objection
            | RequestKind::WithdrawConsent => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Received,
    IdentityPending,
    Verified,
    InProgress,
    Completed,
    Rejected,
    Cancelled,
}

spelled!(Status {
    Received => "received",
    IdentityPending => "identity_pending",
    Verified => "verified",
    InProgress => "in_progress",
    Completed => "completed",
    Rejected => "rejected",
    Cancelled => "cancelled",
});

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Rejected | Status::Cancelled
        )
    }

    /// The lifecycle: RECEIVED -> IDENTITY_PENDING -> VERIFIED -> IN_PROGRESS -> COMPLETED,
    /// identity may be established at once (RECEIVED -> VERIFIED), a request without further
    /// work completes from VERIFIED, and any open request may be rejected or cancelled.
    pub fn may_become(self, next: Status) -> bool {
        use Status::*;
        match (self, next) {
            (Received, IdentityPending | Verified) => true,
            (IdentityPending, Verified) => true,
            (Verified, InProgress | Completed) => true,
            (InProgress, Completed) => true,
            (from, Rejected | Cancelled) => !from.is_terminal(),
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectionReason {
    /// Art. 12(6), 11(2): the requester's identity could not be verified.
    IdentityNotVerified,
    /// Art. 12(5): manifestly unfounded.
    ManifestlyUnfounded,
    /// Art. 12(5): excessive, in particular repetitive.
    Excessive,
    /// Art. 20(1): no processing on consent or contract by automated means.
    NotPortable,
    /// Art. 17(3): an exception to erasure applies.
    ErasureException,
    /// Art. 21(1): compelling legitimate grounds override the objection.
    CompellingGrounds,
}

spelled!(RejectionReason {
    IdentityNotVerified => "identity_not_verified",
    ManifestlyUnfounded => "manifestly_unfounded",
    Excessive => "excessive",
    NotPortable => "not_portable",
    ErasureException => "erasure_exception",
    CompellingGrounds => "compelling_grounds",
});

impl RejectionReason {
    pub fn article(self) -> &'static str {
        match self {
            RejectionReason::IdentityNotVerified => "Art. 11(2), 12(6)",
            RejectionReason::ManifestlyUnfounded | RejectionReason::Excessive => "Art. 12(5)",
            RejectionReason::NotPortable => "Art. 20(1)",
            RejectionReason::ErasureException => "Art. 17(3)",
            RejectionReason::CompellingGrounds => "Art. 21(1)",
        }
    }

    /// Which kinds a reason can end.
    pub fn fits(self, kind: RequestKind) -> bool {
        match self {
            RejectionReason::IdentityNotVerified
            | RejectionReason::ManifestlyUnfounded
            | RejectionReason::Excessive => true,
            RejectionReason::NotPortable => kind == RequestKind::Portability,
            RejectionReason::ErasureException => kind == RequestKind::Erasure,
            RejectionReason::CompellingGrounds => kind == RequestKind::Objection,
        }
    }
}

/// When the one-month clock of Art. 12(3) runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The day the clock started: the day of receipt, or the day identity was proven where
    /// the organisation lets the clock wait for it. `None` while it waits.
    pub started_on: Option<Date>,
    /// Further months granted under Art. 12(3) (0, 1 or 2).
    pub extension_months: i8,
}

impl Clock {
    /// The due date: one month (plus any extension) from the start, on a working day of the
    /// organisation's country. `None` while the clock waits for identity proof.
    pub fn due(&self, country: Territory) -> Option<Date> {
        self.started_on
            .map(|start| calendar::deadline(country, start, 1 + self.extension_months))
    }

    /// The first due date, before any extension.
    pub fn first_due(&self, country: Territory) -> Option<Date> {
        self.started_on
            .map(|start| calendar::deadline(country, start, 1))
    }
}

/// Why an extension is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionRefused {
    #[error("the deadline can be extended only once, and it was")]
    AlreadyExtended,
    #[error("the extension must be decided before the first due date, {0}")]
    TooLate(Date),
    #[error("the clock has not started: the request waits for identity proof")]
    ClockNotStarted,
    #[error("a {0} request cannot be extended")]
    Closed(&'static str),
}

/// Checks an extension of `months` on `today` and returns the clock with it.
pub fn extend(
    clock: Clock,
    status: Status,
    country: Territory,
    months: ExtensionMonths,
    today: Date,
) -> Result<Clock, ExtensionRefused> {
    if status.is_terminal() {
        return Err(ExtensionRefused::Closed(crate::domain::Spelling::as_str(
            status,
        )));
    }
    if clock.extension_months != 0 {
        return Err(ExtensionRefused::AlreadyExtended);
    }
    let first_due = clock
        .first_due(country)
        .ok_or(ExtensionRefused::ClockNotStarted)?;
    if today > first_due {
        return Err(ExtensionRefused::TooLate(first_due));
    }
    Ok(Clock {
        extension_months: months.get(),
        ..clock
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    Submitted,
    StatusChanged,
    Extended,
    TaskCreated,
    TaskCompleted,
}

spelled!(EventKind {
    Submitted => "submitted",
    StatusChanged => "status_changed",
    Extended => "extended",
    TaskCreated => "task_created",
    TaskCompleted => "task_completed",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Open,
    Done,
}

spelled!(TaskStatus {
    Open => "open",
    Done => "done",
});

/// Why a purpose is noted on a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteKind {
    /// Kept despite an erasure.
    Retained,
    /// In the scope of a portability request.
    Portable,
}

spelled!(NoteKind {
    Retained => "retained",
    Portable => "portable",
});

/// An event of a request, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub id: u64,
    pub request_id: String,
    pub kind: EventKind,
    pub status: Status,
    pub task_id: Option<u64>,
    pub recipient: Option<String>,
    pub at: jiff::Timestamp,
    pub actor: String,
    pub note: Option<String>,
}

/// A recipient's task, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub id: u64,
    pub request_id: String,
    pub kind: RequestKind,
    pub subject: SubjectRef,
    pub recipient: String,
    pub purposes: Vec<String>,
    pub status: TaskStatus,
    pub created_at: jiff::Timestamp,
    pub completed_at: Option<jiff::Timestamp>,
    pub completed_by: Option<String>,
    pub note: Option<String>,
}

/// A request as recorded, with its events, tasks and notes.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestRecord {
    pub organisation: String,
    pub request_id: String,
    pub payload_sha256: String,
    pub kind: RequestKind,
    pub subject: SubjectRef,
    pub received_at: jiff::Timestamp,
    pub status: Status,
    pub clock: Clock,
    pub first_due_on: Option<Date>,
    pub due_on: Option<Date>,
    pub extension_reason: Option<String>,
    pub purposes: Vec<String>,
    pub direct_marketing: bool,
    pub details: Option<String>,
    pub rejection_reason: Option<RejectionReason>,
    pub events: Vec<EventRecord>,
    pub tasks: Vec<TaskRecord>,
    pub retained: Vec<PurposeNote>,
    pub portable: Vec<PurposeNote>,
}

impl RequestRecord {
    /// Open and past its due date on `today` (in the organisation's country).
    pub fn overdue(&self, today: Date) -> bool {
        !self.status.is_terminal() && self.due_on.is_some_and(|due| today > due)
    }

    pub fn open_tasks(&self) -> usize {
        self.tasks
            .iter()
            .filter(|task| task.status == TaskStatus::Open)
            .count()
    }
}

/// An event to record.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub status: Status,
    pub actor: String,
    pub note: Option<String>,
}

impl NewEvent {
    pub fn new(
        kind: EventKind,
        status: Status,
        actor: &str,
        note: impl Into<Option<String>>,
    ) -> NewEvent {
        NewEvent {
            kind,
            status,
            actor: actor.to_owned(),
            note: note.into(),
        }
    }
}

/// A task to create: tell `recipient`, which received the subject's data under `purposes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskPlan {
    pub recipient: String,
    pub purposes: Vec<String>,
}

/// A purpose with why it is noted on a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurposeNote {
    pub purpose: String,
    pub reason: String,
    pub article: String,
}

/// The purposes under which the organisation may hold the subject's data: all of them, except
/// those resting on consent that the subject never gave.
pub fn applicable_purposes<'a>(
    registry: &'a Registry,
    subject: &'a SubjectState,
) -> impl Iterator<Item = &'a Purpose> {
    registry
        .purposes
        .iter()
        .filter(|purpose| !purpose.rests_on_consent() || subject.ever_consented(&purpose.id))
}

/// Who must be told of an erasure, rectification or restriction (Art. 19): every recipient
/// engaged under a purpose that may hold the subject's data; for an erasure, not under the
/// purposes resting on a legal obligation, which keep the data (Art. 17(3)(b)) and are
/// returned as the second value.
pub fn fan_out(
    kind: RequestKind,
    registry: &Registry,
    subject: &SubjectState,
) -> (Vec<TaskPlan>, Vec<PurposeNote>) {
    let mut recipients: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut retained = Vec::new();
    for purpose in applicable_purposes(registry, subject) {
        if kind == RequestKind::Erasure && purpose.legal_basis == Some(LegalBasis::LegalObligation)
        {
            retained.push(PurposeNote {
                purpose: purpose.id.clone(),
                reason: format!(
                    "purpose {:?} rests on a legal obligation: its data is kept for as long as the obligation requires",
                    purpose.id
                ),
                article: "Art. 17(3)(b)".to_owned(),
            });
            continue;
        }
        for engagement in &purpose.engagements {
            recipients
                .entry(engagement.recipient.as_str())
                .or_default()
                .push(purpose.id.clone());
        }
    }
    let tasks = recipients
        .into_iter()
        .map(|(recipient, purposes)| TaskPlan {
            recipient: recipient.to_owned(),
            purposes,
        })
        .collect();
    (tasks, retained)
}

/// The purposes a portability request covers: those resting on consent the subject gave, or
/// on a contract (Art. 20(1)(a)). Empty means the request is not portable.
pub fn portable_purposes(registry: &Registry, subject: &SubjectState) -> Vec<PurposeNote> {
    applicable_purposes(registry, subject)
        .filter_map(|purpose| {
            let reason = match purpose.legal_basis {
                Some(LegalBasis::Consent) => "rests on the subject's consent",
                Some(LegalBasis::Contract) => "rests on a contract with the subject",
                _ => return None,
            };
            Some(PurposeNote {
                purpose: purpose.id.clone(),
                reason: format!("purpose {:?} {reason}", purpose.id),
                article: "Art. 20(1)(a)".to_owned(),
            })
        })
        .collect()
}

/// The purposes a withdrawal of consent withdraws: the ones asked (all, when none are)
/// that the subject's consent currently covers.
pub fn consents_to_withdraw(
    registry: &Registry,
    subject: &SubjectState,
    asked: &[PurposeId],
    at: jiff::Timestamp,
) -> Vec<String> {
    registry
        .purposes
        .iter()
        .filter(|purpose| purpose.takes_consent())
        .filter(|purpose| asked.is_empty() || asked.iter().any(|id| **id == purpose.id))
        .filter(|purpose| {
            matches!(
                subject.consent(&purpose.id, at),
                super::subject::ConsentStatus::Given(_)
            )
        })
        .map(|purpose| purpose.id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::domain::Spelling;

    #[test]
    fn the_lifecycle_allows_exactly_its_transitions() {
        use Status::*;
        let allowed = [
            (Received, IdentityPending),
            (Received, Verified),
            (IdentityPending, Verified),
            (Verified, InProgress),
            (Verified, Completed),
            (InProgress, Completed),
        ];
        for &from in Status::ALL {
            for &to in Status::ALL {
                let expected = allowed.contains(&(from, to))
                    || (matches!(to, Rejected | Cancelled) && !from.is_terminal());
                assert_eq!(from.may_become(to), expected, "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn extensions_come_once_in_time_and_short() {
        let lv = Territory::parse("LV").unwrap();
        let clock = Clock {
            started_on: Some(date(2026, 3, 5)),
            extension_months: 0,
        };
        assert_eq!(clock.due(lv), Some(date(2026, 4, 7)));
        let months = |months: u32| ExtensionMonths::try_from(months).unwrap();
        let extended = extend(clock, Status::InProgress, lv, months(2), date(2026, 4, 7)).unwrap();
        assert_eq!(extended.due(lv), Some(date(2026, 6, 5)));
        assert_eq!(
            extend(
                extended,
                Status::InProgress,
                lv,
                months(1),
                date(2026, 4, 1)
            ),
            Err(ExtensionRefused::AlreadyExtended)
        );
        assert_eq!(
            extend(clock, Status::InProgress, lv, months(1), date(2026, 4, 8)),
            Err(ExtensionRefused::TooLate(date(2026, 4, 7)))
        );
        assert!(matches!(
            extend(clock, Status::Completed, lv, months(1), date(2026, 4, 1)),
            Err(ExtensionRefused::Closed(_))
        ));
        let waiting = Clock {
            started_on: None,
            extension_months: 0,
        };
        assert_eq!(waiting.due(lv), None);
        assert_eq!(
            extend(
                waiting,
                Status::IdentityPending,
                lv,
                months(1),
                date(2026, 4, 1)
            ),
            Err(ExtensionRefused::ClockNotStarted)
        );
    }

    #[test]
    fn rejection_reasons_fit_their_kinds() {
        assert!(RejectionReason::NotPortable.fits(RequestKind::Portability));
        assert!(!RejectionReason::NotPortable.fits(RequestKind::Access));
        assert!(RejectionReason::Excessive.fits(RequestKind::Access));
        assert!(RejectionReason::CompellingGrounds.fits(RequestKind::Objection));
        for &kind in RequestKind::ALL {
            assert!(!kind.article().is_empty(), "{}", kind.as_str());
        }
    }
}
