//! SubjectService: writes to a subject's state go to the database first, then replace the
//! subject's entry in memory, so the next Check here sees them.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::App;
use crate::{
    domain::{
        names::{PurposeId, RawSubject},
        policy::{LegalBasis, Purpose},
        pseudonym::SubjectRef,
        subject::{
            Birth, ConsentAction, ConsentEvent, Objection, ObjectionScope, SubjectHistory,
            SubjectWrite,
        },
    },
    error::Error,
};

/// Clocks of callers may run a little ahead of ours.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// What an objection is to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectionTarget {
    DirectMarketing,
    Purpose(PurposeId),
}

/// A consent event to record.
#[derive(Clone, Debug)]
pub struct ConsentInput {
    pub purpose: PurposeId,
    pub action: ConsentAction,
    pub notice_version: Option<String>,
    pub source: Option<String>,
    pub at: Option<Timestamp>,
    pub parental: bool,
}

/// `at` or now, refusing a moment in the future and one before 1970: a recorded event or a
/// received request cannot predate the systems that record them, and the deadline arithmetic
/// only has to be right for moments that can really occur.
pub fn moment(field: &str, at: Option<Timestamp>, now: Timestamp) -> Result<Timestamp, Error> {
    match at {
        None => Ok(now),
        Some(at) if at > now.saturating_add(CLOCK_SKEW).unwrap_or(now) => {
            Err(Error::invalid(field, "is in the future"))
        }
        Some(at) if at < Timestamp::UNIX_EPOCH => {
            Err(Error::invalid(field, "is before 1970-01-01"))
        }
        Some(at) => Ok(at),
    }
}

impl App {
    /// Reads the subject back from the database into memory, and returns its history.
    ///
    /// A write's own refresh and the follower's (on the notification of an earlier write)
    /// may run at once: each reads a snapshot, and were their puts to cross, the older
    /// snapshot would overwrite the newer and Check would answer as if the later write had
    /// not happened. Reading and putting under the subject's lock keeps the puts in the
    /// order of the reads, so the last put is always of the newest snapshot.
    pub(super) async fn refresh_subject(
        &self,
        organisation: &str,
        subject: SubjectRef,
    ) -> Result<SubjectHistory, Error> {
        let _in_order = self.refreshing.lock(subject).await;
        let history = self.store.subject_history(organisation, subject).await?;
        self.subjects.put(organisation, subject, &history.state());
        Ok(history)
    }

    /// The purpose of the organisation's latest registry, or NOT_FOUND.
    fn purpose<'a>(
        policy: &'a crate::domain::engine::CompiledPolicy,
        organisation: &str,
        id: &str,
    ) -> Result<&'a Purpose, Error> {
        policy.registry().purpose(id).ok_or_else(|| {
            Error::NotFound(format!(
                "organisation {organisation:?} has no purpose {id:?}"
            ))
        })
    }

    pub async fn subject_history(
        &self,
        organisation: &str,
        subject: &RawSubject,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        self.latest(organisation)?;
        let reference = self.pseudonymise(organisation, subject);
        Ok((
            reference,
            self.store.subject_history(organisation, reference).await?,
        ))
    }

    pub async fn record_consent(
        &self,
        organisation: &str,
        subject: &RawSubject,
        input: ConsentInput,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        let policy = self.latest(organisation)?;
        let purpose = Self::purpose(&policy, organisation, &input.purpose)?;
        if !purpose.takes_consent() {
            return Err(Error::FailedPrecondition(format!(
                "purpose {:?} does not rest on consent; its basis is {}",
                purpose.id,
                purpose.legal_basis.map_or("none", LegalBasis::describe)
            )));
        }
        let now = Timestamp::now();
        let at = moment("at", input.at, now)?;
        let reference = self.pseudonymise(organisation, subject);
        let write = SubjectWrite::Consent {
            event: ConsentEvent {
                purpose: purpose.id.as_str().into(),
                action: input.action,
                at,
                notice_version: input.notice_version.as_deref().map(Arc::from),
                parental: input.parental,
            },
            source: input.source,
        };
        self.store
            .write_subject(organisation, reference, &[write], now)
            .await?;
        tracing::info!(organisation, subject = %reference, purpose = %input.purpose, action = ?input.action, "consent recorded");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }

    /// Checks that `target` can be objected to under Art. 21.
    pub(super) fn objectionable(
        policy: &crate::domain::engine::CompiledPolicy,
        organisation: &str,
        target: &ObjectionTarget,
    ) -> Result<(), Error> {
        let ObjectionTarget::Purpose(id) = target else {
            return Ok(());
        };
        let purpose = Self::purpose(policy, organisation, id)?;
        match purpose.objection_refused() {
            None => Ok(()),
            Some(refusal) => Err(Error::FailedPrecondition(refusal)),
        }
    }

    pub async fn record_objection(
        &self,
        organisation: &str,
        subject: &RawSubject,
        target: ObjectionTarget,
        at: Option<Timestamp>,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        let policy = self.latest(organisation)?;
        Self::objectionable(&policy, organisation, &target)?;
        let now = Timestamp::now();
        let at = moment("at", at, now)?;
        let reference = self.pseudonymise(organisation, subject);
        let scope = match &target {
            ObjectionTarget::DirectMarketing => ObjectionScope::DirectMarketing,
            ObjectionTarget::Purpose(id) => ObjectionScope::Purpose(id.as_str().into()),
        };
        let write = SubjectWrite::Objection {
            objection: Objection {
                scope,
                at,
                compelling_grounds: None,
                withdrawn_at: None,
            },
            rights_request_id: None,
        };
        self.store
            .write_subject(organisation, reference, &[write], now)
            .await?;
        tracing::info!(organisation, subject = %reference, target = ?target, "objection recorded");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }

    pub async fn withdraw_objection(
        &self,
        organisation: &str,
        subject: &RawSubject,
        target: ObjectionTarget,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        self.latest(organisation)?;
        let reference = self.pseudonymise(organisation, subject);
        let purpose = match &target {
            ObjectionTarget::DirectMarketing => None,
            ObjectionTarget::Purpose(id) => Some(id.as_str()),
        };
        if !self
            .store
            .withdraw_objection(organisation, reference, purpose, Timestamp::now())
            .await?
        {
            return Err(Error::NotFound(
                "the subject has no standing objection to withdraw there".into(),
            ));
        }
        tracing::info!(organisation, subject = %reference, target = ?target, "objection withdrawn");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }

    pub async fn record_grounds(
        &self,
        organisation: &str,
        subject: &RawSubject,
        purpose: &str,
        grounds: &str,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        let policy = self.latest(organisation)?;
        let found = Self::purpose(&policy, organisation, purpose)?;
        if found.direct_marketing {
            return Err(Error::FailedPrecondition(format!(
                "purpose {purpose:?} is direct marketing: no grounds override an objection to it (Art. 21(3))"
            )));
        }
        let reference = self.pseudonymise(organisation, subject);
        if !self
            .store
            .record_grounds(organisation, reference, purpose, grounds)
            .await?
        {
            return Err(Error::NotFound(format!(
                "the subject has no standing objection to purpose {purpose:?}"
            )));
        }
        tracing::info!(organisation, subject = %reference, purpose, "compelling grounds recorded");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }

    pub async fn set_birth(
        &self,
        organisation: &str,
        subject: &RawSubject,
        birth: Birth,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        self.latest(organisation)?;
        let today = Timestamp::now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date();
        let (in_future, field) = match birth {
            Birth::Date(date) => (date > today, "birth_date"),
            Birth::Year(year) => (year > today.year(), "birth_year"),
        };
        if in_future {
            return Err(Error::invalid(field, "is in the future"));
        }
        let reference = self.pseudonymise(organisation, subject);
        self.store.set_birth(organisation, reference, birth).await?;
        tracing::info!(organisation, subject = %reference, "birth recorded");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }

    pub async fn lift_restriction(
        &self,
        organisation: &str,
        subject: &RawSubject,
        note: &str,
    ) -> Result<(SubjectRef, SubjectHistory), Error> {
        self.latest(organisation)?;
        let reference = self.pseudonymise(organisation, subject);
        if !self
            .store
            .lift_restriction(organisation, reference, Timestamp::now(), note)
            .await?
        {
            return Err(Error::NotFound(
                "the subject's processing is not restricted".into(),
            ));
        }
        tracing::info!(organisation, subject = %reference, "restriction lifted");
        Ok((
            reference,
            self.refresh_subject(organisation, reference).await?,
        ))
    }
}
