//! The policy-level decisions a new registry revision would change: what a dry run reports.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::atomic::{AtomicBool, Ordering},
};

use jiff::Timestamp;

use super::{
    decision::{Decision, Effect, ReasonCode},
    engine::{CompiledPolicy, Question},
    policy::Purpose,
};

/// One (purpose, category, recipient) whose decision changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionChange {
    pub purpose: String,
    pub category: String,
    pub recipient: String,
    pub before: Decision,
    pub after: Decision,
    /// Deny and condition codes of the new decision.
    pub after_reasons: Vec<ReasonCode>,
}

/// How much a comparison may do.
#[derive(Clone, Copy, Debug)]
pub struct DiffLimits {
    /// Changes listed at most.
    pub changes: usize,
    /// Questions asked of both registries at most: a manifest whose purposes each name
    /// thousands of categories and recipients (YAML aliases make that cheap to send)
    /// would otherwise ask millions.
    pub questions: usize,
}

/// The changes, ordered by purpose, category and recipient; and whether the list stops
/// short of the whole: a limit of `limits` was reached, or `cancelled` turned true (the
/// call's deadline passed or the server is stopping).
pub fn decision_changes(
    before: Option<&CompiledPolicy>,
    after: &CompiledPolicy,
    at: Timestamp,
    limits: DiffLimits,
    cancelled: &AtomicBool,
) -> (Vec<DecisionChange>, bool) {
    // Every purpose of either registry with its versions, in id order.
    let mut purposes: BTreeMap<&str, Vec<&Purpose>> = BTreeMap::new();
    for registry in before
        .map(|policy| policy.registry().as_ref())
        .into_iter()
        .chain([after.registry().as_ref()])
    {
        for purpose in &registry.purposes {
            purposes
                .entry(purpose.id.as_str())
                .or_default()
                .push(purpose);
        }
    }
    let mut changes = Vec::new();
    let mut asked = 0_usize;
    for (purpose, versions) in purposes {
        // Every category and recipient the purpose names in either registry, each pair
        // asked once; nothing is built beyond these two sets.
        let categories: BTreeSet<&str> = versions
            .iter()
            .flat_map(|version| {
                version.categories.iter().chain(
                    version
                        .engagements
                        .iter()
                        .flat_map(|engagement| &engagement.categories),
                )
            })
            .map(String::as_str)
            .collect();
        let recipients: BTreeSet<&str> = versions
            .iter()
            .flat_map(|version| &version.engagements)
            .map(|engagement| engagement.recipient.as_str())
            .collect();
        for category in &categories {
            for recipient in &recipients {
                if asked == limits.questions
                    || (asked.is_multiple_of(1024) && cancelled.load(Ordering::Relaxed))
                {
                    return (changes, true);
                }
                asked += 1;
                let question = Question {
                    purpose,
                    category,
                    recipient,
                    at,
                    collected_at: None,
                    satisfied_conditions: &[],
                };
                let old = before.map_or(Decision::Deny, |policy| {
                    policy.decide(&question, None).decision
                });
                let new = after.decide(&question, None);
                if old != new.decision {
                    if changes.len() == limits.changes {
                        return (changes, true);
                    }
                    changes.push(DecisionChange {
                        after_reasons: new
                            .reasons
                            .iter()
                            .filter(|reason| reason.effect() != Effect::Allow)
                            .map(|reason| reason.code())
                            .collect(),
                        purpose: purpose.to_owned(),
                        category: (*category).to_owned(),
                        recipient: (*recipient).to_owned(),
                        before: old,
                        after: new.decision,
                    });
                }
            }
        }
    }
    (changes, false)
}
