//! What each kind of rights request does as it is submitted, verified and rejected, planned as
//! plain data that the application carries out. Every decision names each kind (no `_ =>`),
//! so a new kind does not compile until each step says what it means for it.

use jiff::Timestamp;

use super::{
    names::PurposeId,
    policy::Registry,
    rights::{
        self, EventKind, NewEvent, NoteKind, PurposeNote, RejectionReason, RequestKind, Status,
        TaskPlan,
    },
    subject::{ConsentAction, ConsentEvent, Objection, ObjectionScope, SubjectState, SubjectWrite},
};

/// The actor of the steps the service takes by itself.
pub const SYSTEM: &str = "system";

/// A field of a submission the rules refuse, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

impl Violation {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Violation {
        Violation {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a submission says, as far as the rules of its kind read it.
#[derive(Clone, Copy, Debug)]
pub struct Submitted<'a> {
    pub kind: RequestKind,
    pub request_id: &'a str,
    pub purposes: &'a [PurposeId],
    pub direct_marketing: bool,
    pub received_at: Timestamp,
    pub actor: &'a str,
}

/// The purposes (and the flag for direct marketing) a request names, checked against the
/// registry: only an objection or a withdrawal of consent names purposes, and each must be one
/// that its kind can reach.
pub fn purpose_violations(
    kind: RequestKind,
    purposes: &[PurposeId],
    direct_marketing: bool,
    registry: &Registry,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    match kind {
        RequestKind::Objection => {
            if direct_marketing != purposes.is_empty() {
                violations.push(Violation::new(
                    "purposes",
                    "an objection names either purposes (Art. 21(1)) or direct_marketing (Art. 21(2)), not both and not neither",
                ));
            }
        }
        RequestKind::WithdrawConsent => {
            if direct_marketing {
                violations.push(Violation::new(
                    "direct_marketing",
                    "belongs to an objection, not to a withdrawal of consent",
                ));
            }
        }
        RequestKind::Access
        | RequestKind::Rectification
        | RequestKind::Erasure
        | RequestKind::Restriction
        | RequestKind::Portability => {
            if !purposes.is_empty() || direct_marketing {
                violations.push(Violation::new(
                    "purposes",
                    "only an objection or a withdrawal of consent names purposes",
                ));
            }
        }
    }
    for (index, id) in purposes.iter().enumerate() {
        let field = format!("purposes[{index}]");
        let Some(purpose) = registry.purpose(id) else {
            violations.push(Violation::new(field, format!("unknown purpose {id:?}")));
            continue;
        };
        let refusal = match kind {
            RequestKind::WithdrawConsent => (!purpose.takes_consent())
                .then(|| format!("purpose {id:?} does not rest on consent")),
            RequestKind::Objection => purpose.objection_refused(),
            // Refused above when they name purposes.
            RequestKind::Access
            | RequestKind::Rectification
            | RequestKind::Erasure
            | RequestKind::Restriction
            | RequestKind::Portability => None,
        };
        if let Some(refusal) = refusal {
            violations.push(Violation::new(field, refusal));
        }
    }
    violations
}

/// What submitting a request records.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmissionPlan {
    /// RECEIVED, or COMPLETED for a request that takes effect and ends as it arrives.
    pub status: Status,
    pub events: Vec<NewEvent>,
    pub subject_writes: Vec<SubjectWrite>,
}

/// A withdrawal of consent and an objection take effect at once (Art. 7(3), 21(3)); the first
/// and an objection to direct marketing, which admits no grounds against it, also complete at
/// once. Every other kind waits for the requester's identity.
pub fn plan_submission(
    request: &Submitted<'_>,
    registry: &Registry,
    subject: &SubjectState,
) -> SubmissionPlan {
    let received = |note: Option<String>| {
        NewEvent::new(EventKind::Submitted, Status::Received, request.actor, note)
    };
    let completed_at_once = |note: String, subject_writes: Vec<SubjectWrite>| SubmissionPlan {
        status: Status::Completed,
        events: vec![
            received(None),
            NewEvent::new(EventKind::StatusChanged, Status::Completed, SYSTEM, note),
        ],
        subject_writes,
    };
    let objection = |scope: ObjectionScope| SubjectWrite::Objection {
        objection: Objection {
            scope,
            at: request.received_at,
            compelling_grounds: None,
            withdrawn_at: None,
        },
        rights_request_id: Some(request.request_id.to_owned()),
    };
    match request.kind {
        RequestKind::WithdrawConsent => {
            let withdrawn = rights::consents_to_withdraw(
                registry,
                subject,
                request.purposes,
                request.received_at,
            );
            let writes = withdrawn
                .iter()
                .map(|purpose| SubjectWrite::Consent {
                    event: ConsentEvent {
                        purpose: purpose.as_str().into(),
                        action: ConsentAction::Withdraw,
                        at: request.received_at,
                        notice_version: None,
                        parental: false,
                    },
                    source: Some(format!("rights request {}", request.request_id)),
                })
                .collect();
            let note = if withdrawn.is_empty() {
                "no consent was on record to withdraw".to_owned()
            } else {
                format!(
                    "consent withdrawn at once for {} (Art. 7(3))",
                    withdrawn.join(", ")
                )
            };
            completed_at_once(note, writes)
        }
        RequestKind::Objection if request.direct_marketing => completed_at_once(
            "the objection to direct marketing is absolute and applies at once (Art. 21(2),(3))"
                .to_owned(),
            vec![objection(ObjectionScope::DirectMarketing)],
        ),
        RequestKind::Objection => SubmissionPlan {
            status: Status::Received,
            events: vec![received(Some(
                "the objection applies at once; compelling grounds, if any, are recorded by rejecting the request with them (Art. 21(1))".to_owned(),
            ))],
            subject_writes: request
                .purposes
                .iter()
                .map(|purpose| objection(ObjectionScope::Purpose(purpose.as_str().into())))
                .collect(),
        },
        RequestKind::Access
        | RequestKind::Rectification
        | RequestKind::Erasure
        | RequestKind::Restriction
        | RequestKind::Portability => SubmissionPlan {
            status: Status::Received,
            events: vec![received(None)],
            subject_writes: Vec::new(),
        },
    }
}

/// What verifying the requester's identity records, beyond the move to VERIFIED itself.
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationPlan {
    /// Where the request ends up: VERIFIED, IN_PROGRESS while recipients are told, COMPLETED
    /// when there is no one to tell, or REJECTED.
    pub status: Status,
    pub rejection_reason: Option<RejectionReason>,
    pub subject_writes: Vec<SubjectWrite>,
    pub tasks: Vec<TaskPlan>,
    /// The system's own moves, recorded after the tasks.
    pub events_after_tasks: Vec<NewEvent>,
    pub notes: Vec<(NoteKind, PurposeNote)>,
}

/// A restriction or an erasure takes effect, the recipients to tell (Art. 19) get their tasks,
/// and portability finds its scope or is rejected for want of one. Nothing is written for an
/// access, which is answered from the state, nor for a withdrawal or objection, which took
/// effect on submission.
pub fn plan_verification(
    kind: RequestKind,
    request_id: &str,
    registry: &Registry,
    subject: &SubjectState,
    now: Timestamp,
) -> VerificationPlan {
    let mut plan = VerificationPlan {
        status: Status::Verified,
        rejection_reason: None,
        subject_writes: Vec::new(),
        tasks: Vec::new(),
        events_after_tasks: Vec::new(),
        notes: Vec::new(),
    };
    let rights_request_id = Some(request_id.to_owned());
    match kind {
        RequestKind::Restriction => plan.subject_writes.push(SubjectWrite::Restriction {
            from: now,
            rights_request_id,
        }),
        RequestKind::Erasure => plan.subject_writes.push(SubjectWrite::Erasure {
            verified_at: now,
            rights_request_id,
        }),
        RequestKind::Portability => {
            let portable = rights::portable_purposes(registry, subject);
            if portable.is_empty() {
                plan.status = Status::Rejected;
                plan.rejection_reason = Some(RejectionReason::NotPortable);
                plan.events_after_tasks.push(NewEvent::new(
                    EventKind::StatusChanged,
                    Status::Rejected,
                    SYSTEM,
                    "no purpose rests on the subject's consent or on a contract with the subject (Art. 20(1)(a))".to_owned(),
                ));
            } else {
                plan.notes
                    .extend(portable.into_iter().map(|note| (NoteKind::Portable, note)));
            }
        }
        RequestKind::Access
        | RequestKind::Rectification
        | RequestKind::Objection
        | RequestKind::WithdrawConsent => {}
    }
    if kind.notifies_recipients() {
        let (tasks, retained) = rights::fan_out(kind, registry, subject);
        plan.notes
            .extend(retained.into_iter().map(|note| (NoteKind::Retained, note)));
        let (status, note) = if tasks.is_empty() {
            (
                Status::Completed,
                "no recipient receives the subject's data; nothing to tell (Art. 19)".to_owned(),
            )
        } else {
            (
                Status::InProgress,
                format!("{} recipient(s) to tell (Art. 19)", tasks.len()),
            )
        };
        plan.status = status;
        plan.events_after_tasks.push(NewEvent::new(
            EventKind::StatusChanged,
            status,
            SYSTEM,
            note,
        ));
        plan.tasks = tasks;
    }
    plan
}

/// What a rejection writes to the subject's state: compelling grounds stand against the
/// objections to the purposes the request named (Art. 21(1)); every other reason writes
/// nothing.
pub fn plan_rejection(
    reason: RejectionReason,
    grounds: Option<&str>,
    purposes: &[String],
) -> Vec<SubjectWrite> {
    match (reason, grounds) {
        (RejectionReason::CompellingGrounds, Some(grounds)) => purposes
            .iter()
            .map(|purpose| SubjectWrite::CompellingGrounds {
                purpose: purpose.clone(),
                grounds: grounds.to_owned(),
            })
            .collect(),
        // Refused before it is planned: the grounds must be stated.
        (RejectionReason::CompellingGrounds, None)
        | (
            RejectionReason::IdentityNotVerified
            | RejectionReason::ManifestlyUnfounded
            | RejectionReason::Excessive
            | RejectionReason::NotPortable
            | RejectionReason::ErasureException,
            _,
        ) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{domain::Spelling, manifest};

    const FIXTURE: &str = r#"
version: 1
organisation:
  id: acme
  legal_name: ACME SIA
  country: LV
  role: controller
  source: fixture §1
recipients:
  - id: host
    name: Host
    kind: processor
    locations: [IE]
    agreements: [{reference: DPA-1, effective_from: 2020-01-01, source: fixture §2}]
    source: fixture §2
  - id: mailer
    name: Mailer
    kind: processor
    locations: [IE]
    agreements: [{reference: DPA-2, effective_from: 2020-01-01, source: fixture §3}]
    source: fixture §3
purposes:
  - id: service
    name: Service delivery
    legal_basis: contract
    categories: [user.contact]
    recipients: [{id: host}]
    source: fixture §10
  - id: newsletter
    name: Newsletter
    legal_basis: consent
    direct_marketing: true
    categories: [user.contact.email]
    recipients: [{id: mailer}]
    source: fixture §11
  - id: analytics
    name: Analytics
    legal_basis: legitimate_interests
    balancing_test: LIA-1
    categories: [user.online]
    recipients: [{id: host}]
    source: fixture §12
  - id: bookkeeping
    name: Bookkeeping
    legal_basis: legal_obligation
    categories: [user.financial]
    recipients: [{id: host}]
    source: fixture §13
"#;

    /// The registry without the contract, so that only consent could make data portable.
    const WITHOUT_CONTRACT: &str = r#"
version: 1
organisation:
  id: acme
  legal_name: ACME SIA
  country: LV
  role: controller
  source: fixture §1
purposes:
  - id: analytics
    name: Analytics
    legal_basis: legitimate_interests
    balancing_test: LIA-1
    categories: [user.online]
    source: fixture §12
"#;

    fn registry(text: &str) -> Arc<Registry> {
        Arc::new(
            manifest::parse(text, manifest::DEFAULT_MAX_BYTES)
                .expect("fixture is valid")
                .registry,
        )
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn consented(purpose: &str, at: &str) -> SubjectState {
        SubjectState {
            consents: vec![ConsentEvent {
                purpose: purpose.into(),
                action: ConsentAction::Grant,
                at: ts(at),
                notice_version: None,
                parental: false,
            }],
            ..SubjectState::default()
        }
    }

    fn submitted<'a>(kind: RequestKind, purposes: &'a [PurposeId]) -> Submitted<'a> {
        Submitted {
            kind,
            request_id: "dsr-1",
            purposes,
            direct_marketing: false,
            received_at: ts("2026-03-05T10:00:00Z"),
            actor: "desk",
        }
    }

    fn ids(texts: &[&str]) -> Vec<PurposeId> {
        texts
            .iter()
            .map(|text| text.parse().expect("a purpose id"))
            .collect()
    }

    fn fields(violations: &[Violation]) -> Vec<&str> {
        violations
            .iter()
            .map(|violation| violation.field.as_str())
            .collect()
    }

    #[test]
    fn only_objections_and_withdrawals_name_purposes() {
        let registry = registry(FIXTURE);
        let newsletter = ids(&["newsletter"]);
        for &kind in RequestKind::ALL {
            let named = purpose_violations(kind, &newsletter, false, &registry);
            match kind {
                RequestKind::WithdrawConsent => assert_eq!(named, []),
                // Newsletter is direct marketing, which may always be objected to.
                RequestKind::Objection => assert_eq!(named, []),
                RequestKind::Access
                | RequestKind::Rectification
                | RequestKind::Erasure
                | RequestKind::Restriction
                | RequestKind::Portability => {
                    assert_eq!(fields(&named), ["purposes"], "{}", kind.as_str());
                    assert_eq!(
                        named[0].message,
                        "only an objection or a withdrawal of consent names purposes"
                    );
                }
            }
        }
    }

    #[test]
    fn each_named_purpose_must_fit_its_kind() {
        let registry = registry(FIXTURE);
        let purposes = ids(&["service", "nowhere"]);
        let withdrawal =
            purpose_violations(RequestKind::WithdrawConsent, &purposes, true, &registry);
        assert_eq!(
            withdrawal,
            [
                Violation::new(
                    "direct_marketing",
                    "belongs to an objection, not to a withdrawal of consent"
                ),
                Violation::new(
                    "purposes[0]",
                    "purpose \"service\" does not rest on consent"
                ),
                Violation::new("purposes[1]", "unknown purpose \"nowhere\""),
            ]
        );
        let objection = purpose_violations(RequestKind::Objection, &purposes, false, &registry);
        assert_eq!(fields(&objection), ["purposes[0]", "purposes[1]"]);
        assert_eq!(
            objection[0].message,
            "purpose \"service\" rests on performance of a contract; Art. 21(1) covers public task and legitimate interests"
        );
        let both = purpose_violations(
            RequestKind::Objection,
            &ids(&["analytics"]),
            true,
            &registry,
        );
        assert_eq!(fields(&both), ["purposes"]);
        assert_eq!(
            purpose_violations(RequestKind::Objection, &[], false, &registry)[0].field,
            "purposes"
        );
    }

    #[test]
    fn a_withdrawal_withdraws_the_consent_given_and_completes_at_once() {
        let registry = registry(FIXTURE);
        let subject = consented("newsletter", "2026-01-01T00:00:00Z");
        let plan = plan_submission(
            &submitted(RequestKind::WithdrawConsent, &[]),
            &registry,
            &subject,
        );
        assert_eq!(plan.status, Status::Completed);
        assert_eq!(
            plan.subject_writes,
            [SubjectWrite::Consent {
                event: ConsentEvent {
                    purpose: "newsletter".into(),
                    action: ConsentAction::Withdraw,
                    at: ts("2026-03-05T10:00:00Z"),
                    notice_version: None,
                    parental: false,
                },
                source: Some("rights request dsr-1".to_owned()),
            }]
        );
        assert_eq!(
            plan.events,
            [
                NewEvent::new(EventKind::Submitted, Status::Received, "desk", None),
                NewEvent::new(
                    EventKind::StatusChanged,
                    Status::Completed,
                    SYSTEM,
                    "consent withdrawn at once for newsletter (Art. 7(3))".to_owned()
                ),
            ]
        );

        let nothing = plan_submission(
            &submitted(RequestKind::WithdrawConsent, &[]),
            &registry,
            &SubjectState::default(),
        );
        assert_eq!(nothing.status, Status::Completed);
        assert_eq!(nothing.subject_writes, []);
        assert_eq!(
            nothing.events[1].note.as_deref(),
            Some("no consent was on record to withdraw")
        );
    }

    #[test]
    fn an_objection_applies_at_once_and_only_direct_marketing_completes() {
        let registry = registry(FIXTURE);
        let subject = SubjectState::default();
        let analytics = ids(&["analytics"]);
        let to_purpose = plan_submission(
            &submitted(RequestKind::Objection, &analytics),
            &registry,
            &subject,
        );
        assert_eq!(to_purpose.status, Status::Received);
        assert_eq!(to_purpose.events.len(), 1);
        assert!(matches!(
            &to_purpose.subject_writes[..],
            [SubjectWrite::Objection {
                objection: Objection { scope: ObjectionScope::Purpose(purpose), .. },
                rights_request_id: Some(id),
            }] if &**purpose == "analytics" && id == "dsr-1"
        ));

        let to_marketing = plan_submission(
            &Submitted {
                direct_marketing: true,
                ..submitted(RequestKind::Objection, &[])
            },
            &registry,
            &subject,
        );
        assert_eq!(to_marketing.status, Status::Completed);
        assert_eq!(to_marketing.events.len(), 2);
        assert!(matches!(
            &to_marketing.subject_writes[..],
            [SubjectWrite::Objection {
                objection: Objection {
                    scope: ObjectionScope::DirectMarketing,
                    ..
                },
                ..
            }]
        ));
    }

    #[test]
    fn every_other_kind_waits_for_identity_on_submission() {
        let registry = registry(FIXTURE);
        for &kind in RequestKind::ALL {
            let plan = plan_submission(&submitted(kind, &[]), &registry, &SubjectState::default());
            let waits = match kind {
                RequestKind::WithdrawConsent => false,
                RequestKind::Objection
                | RequestKind::Access
                | RequestKind::Rectification
                | RequestKind::Erasure
                | RequestKind::Restriction
                | RequestKind::Portability => true,
            };
            assert_eq!(plan.status == Status::Received, waits, "{}", kind.as_str());
            if kind != RequestKind::Objection && kind != RequestKind::WithdrawConsent {
                assert_eq!(plan.subject_writes, [], "{}", kind.as_str());
                assert_eq!(
                    plan.events,
                    [NewEvent::new(
                        EventKind::Submitted,
                        Status::Received,
                        "desk",
                        None
                    )]
                );
            }
        }
    }

    #[test]
    fn verification_plans_each_kind() {
        let registry = registry(FIXTURE);
        let subject = consented("newsletter", "2026-01-01T00:00:00Z");
        let now = ts("2026-03-06T09:00:00Z");
        for &kind in RequestKind::ALL {
            let plan = plan_verification(kind, "dsr-1", &registry, &subject, now);
            let name = kind.as_str();
            match kind {
                RequestKind::Restriction => {
                    assert_eq!(
                        plan.subject_writes,
                        [SubjectWrite::Restriction {
                            from: now,
                            rights_request_id: Some("dsr-1".to_owned())
                        }]
                    );
                    // Every purpose's recipient is told, bookkeeping's too.
                    assert_eq!(plan.tasks.len(), 2, "{name}");
                    assert_eq!(plan.notes, []);
                }
                RequestKind::Erasure => {
                    assert_eq!(
                        plan.subject_writes,
                        [SubjectWrite::Erasure {
                            verified_at: now,
                            rights_request_id: Some("dsr-1".to_owned())
                        }]
                    );
                    assert_eq!(plan.tasks.len(), 2, "{name}");
                    assert!(matches!(
                        &plan.notes[..],
                        [(NoteKind::Retained, note)] if note.purpose == "bookkeeping"
                    ));
                }
                RequestKind::Rectification => {
                    assert_eq!(plan.subject_writes, []);
                    assert_eq!(plan.tasks.len(), 2, "{name}");
                }
                RequestKind::Portability => {
                    assert_eq!(plan.status, Status::Verified);
                    let portable: Vec<_> = plan
                        .notes
                        .iter()
                        .map(|(kind, note)| (*kind, note.purpose.as_str()))
                        .collect();
                    assert_eq!(
                        portable,
                        [
                            (NoteKind::Portable, "newsletter"),
                            (NoteKind::Portable, "service")
                        ]
                    );
                }
                RequestKind::Access | RequestKind::Objection | RequestKind::WithdrawConsent => {
                    assert_eq!(plan.status, Status::Verified, "{name}");
                    assert_eq!(plan.subject_writes, [], "{name}");
                    assert_eq!(plan.events_after_tasks, [], "{name}");
                    assert_eq!(plan.notes, [], "{name}");
                }
            }
            if kind.notifies_recipients() {
                assert_eq!(plan.status, Status::InProgress, "{name}");
                assert_eq!(
                    plan.events_after_tasks,
                    [NewEvent::new(
                        EventKind::StatusChanged,
                        Status::InProgress,
                        SYSTEM,
                        "2 recipient(s) to tell (Art. 19)".to_owned()
                    )]
                );
            } else {
                assert_eq!(plan.tasks, [], "{name}");
            }
            assert_eq!(plan.rejection_reason, None, "{name}");
        }
    }

    #[test]
    fn portability_without_scope_is_rejected_and_no_recipient_completes_at_once() {
        let registry = registry(WITHOUT_CONTRACT);
        let now = ts("2026-03-06T09:00:00Z");
        let subject = SubjectState::default();
        let portability =
            plan_verification(RequestKind::Portability, "dsr-1", &registry, &subject, now);
        assert_eq!(portability.status, Status::Rejected);
        assert_eq!(
            portability.rejection_reason,
            Some(RejectionReason::NotPortable)
        );
        assert_eq!(portability.events_after_tasks.len(), 1);
        assert_eq!(portability.notes, []);

        let rectification = plan_verification(
            RequestKind::Rectification,
            "dsr-1",
            &registry,
            &subject,
            now,
        );
        assert_eq!(rectification.status, Status::Completed);
        assert_eq!(rectification.tasks, []);
        assert_eq!(
            rectification.events_after_tasks[0].note.as_deref(),
            Some("no recipient receives the subject's data; nothing to tell (Art. 19)")
        );
    }

    #[test]
    fn only_compelling_grounds_write_on_rejection() {
        let purposes = ["analytics".to_owned()];
        for &reason in RejectionReason::ALL {
            let writes = plan_rejection(reason, Some("fraud prevention"), &purposes);
            if reason == RejectionReason::CompellingGrounds {
                assert_eq!(
                    writes,
                    [SubjectWrite::CompellingGrounds {
                        purpose: "analytics".to_owned(),
                        grounds: "fraud prevention".to_owned()
                    }]
                );
            } else {
                assert_eq!(writes, [], "{}", reason.as_str());
            }
        }
        assert_eq!(
            plan_rejection(RejectionReason::CompellingGrounds, None, &purposes),
            []
        );
    }
}
