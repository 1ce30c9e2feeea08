//! A data subject's state within one organisation, as the engine reads it: the consent
//! ledger, objections, restriction, erasure and age. Every entry carries its time so that a
//! question about a past moment sees the state as it was then. Free text that decisions do
//! not need (consent sources, notes) stays in the store; ids are shared `Arc<str>`s, so that
//! a million subjects fit in memory.

use std::sync::Arc;

use jiff::{Timestamp, civil::Date, tz::TimeZone};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubjectState {
    /// Append-only, in the order recorded.
    pub consents: Vec<ConsentEvent>,
    pub objections: Vec<Objection>,
    pub restrictions: Vec<Restriction>,
    pub erasure: Option<Erasure>,
    pub birth: Option<Birth>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentAction {
    Grant,
    Withdraw,
}

spelled!(ConsentAction {
    Grant => "grant",
    Withdraw => "withdraw",
});

#[derive(Clone, Debug, PartialEq)]
pub struct ConsentEvent {
    pub purpose: Arc<str>,
    pub action: ConsentAction,
    pub at: Timestamp,
    pub notice_version: Option<Arc<str>>,
    /// Given or authorised by the holder of parental responsibility (Art. 8(1)).
    pub parental: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectionScope {
    /// Art. 21(2): to all direct marketing; absolute (Art. 21(3)).
    DirectMarketing,
    /// Art. 21(1): to one purpose based on Art. 6(1)(e) or (f).
    Purpose(Arc<str>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Objection {
    pub scope: ObjectionScope,
    pub at: Timestamp,
    /// Compelling legitimate grounds the controller recorded against an Art. 21(1) objection.
    pub compelling_grounds: Option<Arc<str>>,
    /// When the subject took the objection back, if ever.
    pub withdrawn_at: Option<Timestamp>,
}

impl Objection {
    pub fn active_at(&self, at: Timestamp) -> bool {
        self.at <= at && self.withdrawn_at.is_none_or(|withdrawn| withdrawn > at)
    }
}

/// Art. 18 restriction of processing, in force from `from` until it is lifted.
#[derive(Clone, Debug, PartialEq)]
pub struct Restriction {
    pub from: Timestamp,
    pub lifted_at: Option<Timestamp>,
}

impl Restriction {
    pub fn active_at(&self, at: Timestamp) -> bool {
        self.from <= at && self.lifted_at.is_none_or(|lifted| lifted > at)
    }
}

/// A verified Art. 17 erasure request.
#[derive(Clone, Debug, PartialEq)]
pub struct Erasure {
    pub verified_at: Timestamp,
}

/// What is known of the subject's birth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Birth {
    Date(Date),
    Year(i16),
}

/// The subject's consent status for one purpose at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConsentStatus<'a> {
    None,
    Given(&'a ConsentEvent),
    Withdrawn(&'a ConsentEvent),
}

impl SubjectState {
    pub fn is_empty(&self) -> bool {
        self.consents.is_empty()
            && self.objections.is_empty()
            && self.restrictions.is_empty()
            && self.erasure.is_none()
            && self.birth.is_none()
    }

    /// Whether the subject has ever consented to `purpose`: then its recipients may hold the
    /// subject's data even after a withdrawal.
    pub fn ever_consented(&self, purpose: &str) -> bool {
        self.consents
            .iter()
            .any(|event| &*event.purpose == purpose && event.action == ConsentAction::Grant)
    }

    /// The latest consent event for `purpose` recorded at or before `at`.
    pub fn consent(&self, purpose: &str, at: Timestamp) -> ConsentStatus<'_> {
        let latest = self
            .consents
            .iter()
            .filter(|event| &*event.purpose == purpose && event.at <= at)
            // Later events win; among events at the same instant, the one recorded last.
            .max_by(|a, b| a.at.cmp(&b.at));
        match latest {
            None => ConsentStatus::None,
            Some(event) if event.action == ConsentAction::Grant => ConsentStatus::Given(event),
            Some(event) => ConsentStatus::Withdrawn(event),
        }
    }

    /// The active objection to all direct marketing, if any.
    pub fn direct_marketing_objection(&self, at: Timestamp) -> Option<&Objection> {
        self.objections.iter().find(|objection| {
            objection.scope == ObjectionScope::DirectMarketing && objection.active_at(at)
        })
    }

    /// The active Art. 21(1) objection to `purpose`, if any.
    pub fn objection_to(&self, purpose: &str, at: Timestamp) -> Option<&Objection> {
        self.objections.iter().find(|objection| {
            matches!(&objection.scope, ObjectionScope::Purpose(id) if &**id == purpose)
                && objection.active_at(at)
        })
    }

    pub fn restricted_at(&self, at: Timestamp) -> bool {
        self.restrictions
            .iter()
            .any(|restriction| restriction.active_at(at))
    }

    pub fn erased_at(&self, at: Timestamp) -> bool {
        self.erasure
            .as_ref()
            .is_some_and(|erasure| erasure.verified_at <= at)
    }

    /// The youngest age the subject can have at `at`. With only a birth year, the subject is
    /// taken to have had no birthday yet that year, so that an age threshold errs towards
    /// protecting a child.
    pub fn youngest_age_at(&self, at: Timestamp) -> Option<i16> {
        let today = at.to_zoned_datetime(TimeZone::UTC).date();
        match self.birth? {
            Birth::Date(born) => {
                let mut age = today.year() - born.year();
                if (today.month(), today.day()) < (born.month(), born.day()) {
                    age -= 1;
                }
                Some(age)
            }
            Birth::Year(year) => Some(today.year() - year - 1),
        }
    }
}

/// A consent event as recorded, with what decisions do not need.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsentRecord {
    pub event: ConsentEvent,
    pub source: Option<String>,
    pub recorded_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectionRecord {
    pub objection: Objection,
    pub rights_request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RestrictionRecord {
    pub restriction: Restriction,
    pub lift_note: Option<String>,
    pub rights_request_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErasureRecord {
    pub erasure: Erasure,
    pub rights_request_id: Option<String>,
}

/// One stored fact about a subject, as loading reads them back in the order recorded.
#[derive(Clone, Debug, PartialEq)]
pub enum SubjectFact {
    Consent(ConsentEvent),
    Objection(Objection),
    Restriction(Restriction),
    Erasure(Erasure),
    Birth(Birth),
}

impl SubjectState {
    /// Adds a fact read back from storage; facts of one kind come in the order recorded.
    pub fn record(&mut self, fact: SubjectFact) {
        match fact {
            SubjectFact::Consent(event) => self.consents.push(event),
            SubjectFact::Objection(objection) => self.objections.push(objection),
            SubjectFact::Restriction(restriction) => self.restrictions.push(restriction),
            // The first verified erasure is the one that counts.
            SubjectFact::Erasure(erasure) => {
                self.erasure.get_or_insert(erasure);
            }
            // The latest birth recorded replaces the earlier.
            SubjectFact::Birth(birth) => self.birth = Some(birth),
        }
    }
}

/// Everything recorded about a subject, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubjectHistory {
    pub consents: Vec<ConsentRecord>,
    pub objections: Vec<ObjectionRecord>,
    pub restrictions: Vec<RestrictionRecord>,
    pub erasure: Option<ErasureRecord>,
    pub birth: Option<Birth>,
}

impl SubjectHistory {
    /// What decisions read of it.
    pub fn state(&self) -> SubjectState {
        SubjectState {
            consents: self
                .consents
                .iter()
                .map(|record| record.event.clone())
                .collect(),
            objections: self
                .objections
                .iter()
                .map(|record| record.objection.clone())
                .collect(),
            restrictions: self
                .restrictions
                .iter()
                .map(|record| record.restriction.clone())
                .collect(),
            erasure: self.erasure.as_ref().map(|record| record.erasure.clone()),
            birth: self.birth,
        }
    }
}

/// A write to a subject's state, as rights requests and SubjectService make them.
#[derive(Clone, Debug, PartialEq)]
pub enum SubjectWrite {
    Consent {
        event: ConsentEvent,
        source: Option<String>,
    },
    Objection {
        objection: Objection,
        rights_request_id: Option<String>,
    },
    /// Compelling grounds against the standing objections to `purpose`.
    CompellingGrounds { purpose: String, grounds: String },
    Restriction {
        from: Timestamp,
        rights_request_id: Option<String>,
    },
    Erasure {
        verified_at: Timestamp,
        rights_request_id: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn consent(purpose: &str, action: ConsentAction, at: &str) -> ConsentEvent {
        ConsentEvent {
            purpose: purpose.into(),
            action,
            at: ts(at),
            notice_version: None,
            parental: false,
        }
    }

    #[test]
    fn the_latest_consent_event_at_the_moment_counts() {
        let state = SubjectState {
            consents: vec![
                consent("newsletter", ConsentAction::Grant, "2025-01-01T00:00:00Z"),
                consent(
                    "newsletter",
                    ConsentAction::Withdraw,
                    "2025-06-01T00:00:00Z",
                ),
                consent("other", ConsentAction::Grant, "2025-07-01T00:00:00Z"),
            ],
            ..SubjectState::default()
        };
        assert_eq!(
            state.consent("newsletter", ts("2024-12-31T00:00:00Z")),
            ConsentStatus::None
        );
        assert!(matches!(
            state.consent("newsletter", ts("2025-03-01T00:00:00Z")),
            ConsentStatus::Given(_)
        ));
        assert!(matches!(
            state.consent("newsletter", ts("2025-06-02T00:00:00Z")),
            ConsentStatus::Withdrawn(_)
        ));
    }

    #[test]
    fn ages_err_towards_the_younger() {
        let at = ts("2026-03-01T12:00:00Z");
        let born = |birth| SubjectState {
            birth: Some(birth),
            ..SubjectState::default()
        };
        assert_eq!(
            born(Birth::Date(date(2013, 3, 1))).youngest_age_at(at),
            Some(13)
        );
        assert_eq!(
            born(Birth::Date(date(2013, 3, 2))).youngest_age_at(at),
            Some(12)
        );
        assert_eq!(born(Birth::Year(2013)).youngest_age_at(at), Some(12));
        assert_eq!(SubjectState::default().youngest_age_at(at), None);
    }

    #[test]
    fn objections_and_restrictions_have_a_time_span() {
        let objection = Objection {
            scope: ObjectionScope::DirectMarketing,
            at: ts("2025-01-01T00:00:00Z"),
            compelling_grounds: None,
            withdrawn_at: Some(ts("2025-02-01T00:00:00Z")),
        };
        assert!(!objection.active_at(ts("2024-12-31T00:00:00Z")));
        assert!(objection.active_at(ts("2025-01-15T00:00:00Z")));
        assert!(!objection.active_at(ts("2025-02-01T00:00:00Z")));
        let restriction = Restriction {
            from: ts("2025-01-01T00:00:00Z"),
            lifted_at: None,
        };
        assert!(restriction.active_at(ts("2030-01-01T00:00:00Z")));
    }
}
