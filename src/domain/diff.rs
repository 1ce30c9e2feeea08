//! The policy-level decisions a new registry revision would change: what a dry run reports.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{
    decision::{Decision, Effect, ReasonCode},
    engine::{CompiledPolicy, Question},
    policy::Registry,
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

/// The changes, ordered by purpose, category and recipient, cut at `limit`; and whether
/// they were cut.
pub fn decision_changes(
    before: Option<&CompiledPolicy>,
    after: &CompiledPolicy,
    at: Timestamp,
    limit: usize,
) -> (Vec<DecisionChange>, bool) {
    let mut triples = BTreeSet::new();
    for registry in before
        .map(|policy| policy.registry().as_ref())
        .into_iter()
        .chain([after.registry().as_ref()])
    {
        collect_triples(registry, &mut triples);
    }
    let mut changes = Vec::new();
    for (purpose, category, recipient) in triples {
        let question = Question {
            purpose: &purpose,
            category: &category,
            recipient: &recipient,
            at,
            collected_at: None,
            satisfied_conditions: &[],
        };
        let old = before.map_or(Decision::Deny, |policy| {
            policy.decide(&question, None).decision
        });
        let new = after.decide(&question, None);
        if old != new.decision {
            if changes.len() == limit {
                return (changes, true);
            }
            changes.push(DecisionChange {
                after_reasons: new
                    .reasons
                    .iter()
                    .filter(|reason| reason.effect() != Effect::Allow)
                    .map(|reason| reason.code())
                    .collect(),
                purpose,
                category,
                recipient,
                before: old,
                after: new.decision,
            });
        }
    }
    (changes, false)
}

fn collect_triples(registry: &Registry, triples: &mut BTreeSet<(String, String, String)>) {
    for purpose in &registry.purposes {
        let categories: BTreeSet<&String> = purpose
            .categories
            .iter()
            .chain(
                purpose
                    .engagements
                    .iter()
                    .flat_map(|engagement| &engagement.categories),
            )
            .collect();
        for engagement in &purpose.engagements {
            for category in &categories {
                triples.insert((
                    purpose.id.clone(),
                    (*category).clone(),
                    engagement.recipient.clone(),
                ));
            }
        }
    }
}
