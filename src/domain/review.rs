//! A DPO's review of a registry: what the organisation must fix or watch, each finding with
//! its article, its severity and the clause it concerns. Errors are what makes Check deny
//! or the record incomplete; warnings what a supervisory authority would ask about; notices
//! what falls due soon.

use jiff::{Span, civil::Date};
use serde::Serialize;

use super::{
    Spelling,
    decision::TransferMechanism,
    engine::CompiledPolicy,
    policy::{LegalBasis, Recipient, RecipientStatus, UntestedInterests},
    taxonomy::Sensitivity,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
    Notice,
}

/// One finding: what, where, under which article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// A stable name of the kind of finding, such as "NO_PROCESSING_AGREEMENT".
    pub code: &'static str,
    pub article: &'static str,
    /// The purpose or recipient id, or the organisation's.
    pub subject: String,
    pub message: String,
    pub source: String,
}

/// How close an agreement's end or an objection window's last day must be to be reported.
const AGREEMENT_ENDING_DAYS: i64 = 60;
const OBJECTION_WINDOW_DAYS: i64 = 14;
const REVIEW_MONTHS: i64 = 12;

/// Reviews a compiled revision as of `today`; errors first, then warnings, then notices.
pub fn review(policy: &CompiledPolicy, today: Date) -> Vec<Finding> {
    let registry = policy.registry();
    let mut findings = Vec::new();
    let organisation = &registry.organisation;
    let mut add = |severity, code, article, subject: &str, message: String, source: &str| {
        findings.push(Finding {
            severity,
            code,
            article,
            subject: subject.to_owned(),
            message,
            source: source.to_owned(),
        });
    };

    match organisation.accountability.reviewed_on {
        None => add(
            Severity::Warning,
            "RECORD_NOT_REVIEWED",
            "Art. 5(2), 24(1)",
            &organisation.id,
            "the registry states no date of its last review (organisation.reviewed_on)".into(),
            &organisation.source,
        ),
        Some(reviewed) if reviewed < before(today, Span::new().months(REVIEW_MONTHS)) => add(
            Severity::Warning,
            "RECORD_NOT_REVIEWED",
            "Art. 5(2), 24(1)",
            &organisation.id,
            format!(
                "the record was last reviewed on {reviewed}, more than {REVIEW_MONTHS} months ago"
            ),
            &organisation.source,
        ),
        Some(_) => {}
    }

    for purpose in &registry.purposes {
        let id = purpose.id.as_str();
        let source = purpose.source.as_str();
        match purpose.legal_basis {
            None => add(
                Severity::Error,
                "NO_LEGAL_BASIS",
                "Art. 6(1)",
                id,
                format!("purpose {id:?} states no legal basis: Check denies it"),
                source,
            ),
            Some(LegalBasis::LegitimateInterests) => {
                if purpose.balancing_test.is_none() {
                    let denied = organisation.untested_interests == UntestedInterests::Deny;
                    add(
                        if denied {
                            Severity::Error
                        } else {
                            Severity::Warning
                        },
                        "NO_BALANCING_TEST",
                        "Art. 6(1)(f), 5(2)",
                        id,
                        format!(
                            "purpose {id:?} rests on legitimate interests without a recorded balancing test: {}",
                            if denied {
                                "Check denies it"
                            } else {
                                "Check allows it with the obligation to record one"
                            }
                        ),
                        source,
                    );
                }
                if purpose.legitimate_interest.is_none() {
                    add(
                        Severity::Warning,
                        "INTEREST_NOT_STATED",
                        "Art. 13(1)(d), 14(2)(b)",
                        id,
                        format!(
                            "purpose {id:?} rests on legitimate interests but states no interest pursued"
                        ),
                        source,
                    );
                }
            }
            Some(_) => {}
        }
        if purpose.retention.is_empty() {
            add(
                Severity::Warning,
                "NO_RETENTION",
                "Art. 5(1)(e), 13(2)(a), 30(1)(f)",
                id,
                format!("purpose {id:?} states no retention period nor how it is decided"),
                source,
            );
        }
        // The compiled sensitivity: a category inherits its ancestors'.
        let sensitivity_of = |key: &String| policy.category(key).map(|node| node.sensitivity);
        let special = purpose
            .categories
            .iter()
            .any(|key| sensitivity_of(key) == Some(Sensitivity::Special));
        let sensitive = purpose
            .categories
            .iter()
            .any(|key| sensitivity_of(key).is_some_and(|found| found != Sensitivity::Ordinary));
        let mut criteria: Vec<&str> = purpose
            .dpia_criteria
            .iter()
            .map(|criterion| criterion.as_str())
            .collect();
        if sensitive {
            criteria.push("sensitive_data");
        }
        match (criteria.len(), &purpose.dpia) {
            (0, _) | (_, Some(_)) => {}
            (1, None) => add(
                Severity::Notice,
                "DPIA_TO_CONSIDER",
                "Art. 35(1)",
                id,
                format!(
                    "purpose {id:?} meets one of the EDPB's criteria for a DPIA ({}): consider one, and record it in dpia",
                    criteria[0]
                ),
                source,
            ),
            (count, None) => add(
                Severity::Warning,
                "DPIA_LIKELY_REQUIRED",
                "Art. 35(1),(3)",
                id,
                format!(
                    "purpose {id:?} meets {count} of the EDPB's criteria for a DPIA ({}): one is likely required, and none is recorded",
                    criteria.join(", ")
                ),
                source,
            ),
        }
        if special && purpose.special_condition.is_none() {
            add(
                Severity::Error,
                "SPECIAL_CATEGORY_WITHOUT_CONDITION",
                "Art. 9(1),(2)",
                id,
                format!(
                    "purpose {id:?} declares special categories without an Art. 9(2) condition: Check denies them"
                ),
                source,
            );
        }
        for engagement in &purpose.engagements {
            for transfer in policy.transfers_outside_eea(&engagement.recipient, today) {
                if transfer.mechanism == TransferMechanism::None {
                    add(
                        Severity::Error,
                        "TRANSFER_WITHOUT_SAFEGUARD",
                        "Art. 44-46",
                        id,
                        format!(
                            "purpose {id:?} discloses to {:?}, whose data reaches {:?} in {}, outside the EEA, without a safeguard or an adequacy decision: Check denies it",
                            engagement.recipient, transfer.recipient, transfer.territory
                        ),
                        &transfer.source,
                    );
                }
            }
        }
    }

    for recipient in &registry.recipients {
        review_recipient(recipient, today, &mut add);
    }

    findings
        .sort_by(|a, b| (a.severity, &a.subject, a.code).cmp(&(b.severity, &b.subject, b.code)));
    findings
}

fn review_recipient(
    recipient: &Recipient,
    today: Date,
    add: &mut impl FnMut(Severity, &'static str, &'static str, &str, String, &str),
) {
    let id = recipient.id.as_str();
    if recipient.status == RecipientStatus::Retired {
        return;
    }
    if recipient.kind.is_processor() {
        let in_force: Vec<_> = recipient
            .agreements
            .iter()
            .filter(|agreement| {
                agreement.effective_from.is_none_or(|from| from <= today)
                    && agreement.effective_to.is_none_or(|to| to >= today)
            })
            .collect();
        if in_force.is_empty() {
            add(
                Severity::Error,
                "NO_PROCESSING_AGREEMENT",
                "Art. 28(3)",
                id,
                format!(
                    "processor {id:?} has no processing agreement in force: Check denies every disclosure to it"
                ),
                &recipient.source,
            );
        } else if in_force.iter().all(|agreement| {
            agreement
                .effective_to
                .is_some_and(|to| to <= after(today, Span::new().days(AGREEMENT_ENDING_DAYS)))
        }) {
            let ends = in_force
                .iter()
                .filter_map(|agreement| agreement.effective_to)
                .max()
                .map(|to| to.to_string())
                .unwrap_or_default();
            add(
                Severity::Warning,
                "AGREEMENT_ENDING",
                "Art. 28(3)",
                id,
                format!(
                    "processor {id:?}'s processing agreement ends on {ends}, within {AGREEMENT_ENDING_DAYS} days"
                ),
                &recipient.source,
            );
        }
    }
    if let Some(ends) = recipient.status.objection_window_ends()
        && ends >= today
        && ends <= after(today, Span::new().days(OBJECTION_WINDOW_DAYS))
    {
        add(
            Severity::Notice,
            "OBJECTION_WINDOW_ENDING",
            "Art. 28(2)",
            id,
            format!(
                "the objection window for proposed {id:?} ends on {ends}: from the day after, Check allows it"
            ),
            &recipient.source,
        );
    }
}

fn before(day: Date, span: Span) -> Date {
    day.checked_sub(span).unwrap_or(Date::MIN)
}

fn after(day: Date, span: Span) -> Date {
    day.checked_add(span).unwrap_or(Date::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    fn findings(text: &str, today: &str) -> Vec<(Severity, &'static str, String)> {
        let registry = manifest::parse(text, manifest::DEFAULT_MAX_BYTES)
            .expect("a valid manifest")
            .registry;
        let policy = CompiledPolicy::unstored(registry, String::new(), jiff::Timestamp::UNIX_EPOCH);
        review(&policy, today.parse().unwrap())
            .into_iter()
            .map(|finding| (finding.severity, finding.code, finding.subject))
            .collect()
    }

    #[test]
    fn a_review_finds_what_makes_check_deny_and_what_falls_due() {
        let found = findings(
            r#"version: 1
organisation: {id: shop, legal_name: Shop SIA, country: LV, role: controller, source: "§1"}
categories:
  # Special by inheritance from user.special.health, though it says nothing of it.
  - {key: user.special.health.clinic, name: Clinic visits, source: "§0"}
recipients:
  - id: host
    name: Host
    kind: processor
    locations: [DE]
    agreements: [{reference: DPA, effective_to: 2026-07-01, source: "§2"}]
    source: "§2"
  - id: mailer
    name: Mailer
    kind: processor
    locations: [US]
    source: "§3"
  - id: analytics
    name: Analytics
    kind: subprocessor
    parent: host
    status: proposed
    objection_window_ends: 2026-06-10
    locations: [IE]
    agreements: [{reference: DPA, source: "§4"}]
    source: "§4"
purposes:
  - id: orders
    name: Orders
    legal_basis: contract
    categories: [user.contact]
    recipients: [{id: host}, {id: mailer}]
    retention: [{period: P1Y, from: collection, source: "§5"}]
    source: "§5"
  - id: fraud
    name: Fraud
    legal_basis: legitimate_interests
    categories: [user.special.health]
    recipients: [{id: analytics}]
    source: "§6"
  - id: clinic
    name: Clinic bookings
    legal_basis: contract
    categories: [user.special.health.clinic]
    retention: [{period: P1Y, from: collection, source: "§9"}]
    source: "§9"
  - id: scoring
    name: Credit scoring
    legal_basis: contract
    categories: [user.financial]
    dpia_criteria: [profiling, large_scale]
    retention: [{period: P1Y, from: collection, source: "§7"}]
    source: "§7"
  - id: assessed
    name: Assessed scoring
    legal_basis: contract
    categories: [user.financial]
    dpia_criteria: [profiling, large_scale, automated_decisions]
    dpia: {reference: "DPIA-2026-03", completed_on: 2026-03-01, source: "DPIA register"}
    retention: [{period: P1Y, from: collection, source: "§8"}]
    source: "§8"
"#,
            "2026-06-01",
        );
        assert_eq!(
            found,
            [
                (
                    Severity::Error,
                    "SPECIAL_CATEGORY_WITHOUT_CONDITION",
                    "clinic".to_owned()
                ),
                (Severity::Error, "NO_BALANCING_TEST", "fraud".to_owned()),
                (
                    Severity::Error,
                    "SPECIAL_CATEGORY_WITHOUT_CONDITION",
                    "fraud".to_owned()
                ),
                (
                    Severity::Error,
                    "NO_PROCESSING_AGREEMENT",
                    "mailer".to_owned()
                ),
                (
                    Severity::Error,
                    "TRANSFER_WITHOUT_SAFEGUARD",
                    "orders".to_owned()
                ),
                (Severity::Warning, "INTEREST_NOT_STATED", "fraud".to_owned()),
                (Severity::Warning, "NO_RETENTION", "fraud".to_owned()),
                (Severity::Warning, "AGREEMENT_ENDING", "host".to_owned()),
                (
                    Severity::Warning,
                    "DPIA_LIKELY_REQUIRED",
                    "scoring".to_owned()
                ),
                (Severity::Warning, "RECORD_NOT_REVIEWED", "shop".to_owned()),
                (
                    Severity::Notice,
                    "OBJECTION_WINDOW_ENDING",
                    "analytics".to_owned()
                ),
                (Severity::Notice, "DPIA_TO_CONSIDER", "clinic".to_owned()),
                (Severity::Notice, "DPIA_TO_CONSIDER", "fraud".to_owned()),
            ]
        );
    }
}
