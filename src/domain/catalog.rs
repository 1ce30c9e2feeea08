//! Every organisation's compiled revisions. A catalog is immutable: an apply builds a new one
//! that shares the unchanged revisions, and the server swaps it in atomically.

use std::{collections::BTreeMap, sync::Arc};

use super::{
    decision::{Outcome, Reason, When},
    engine::{CompiledPolicy, Question},
    subject::SubjectState,
};

/// One organisation's revisions, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    revisions: Vec<Arc<CompiledPolicy>>,
}

impl History {
    pub fn new(mut revisions: Vec<Arc<CompiledPolicy>>) -> History {
        revisions.sort_by_key(|policy| policy.revision());
        History { revisions }
    }

    pub fn latest(&self) -> Option<&Arc<CompiledPolicy>> {
        self.revisions.last()
    }

    /// The revision in force at `when.at` by what was known at `when.known_at`: among the
    /// revisions applied by `known_at`, the last applied whose `effective_from` is at or
    /// before `at`. Each revision describes the processing from its `effective_from` on,
    /// until a revision applied later says otherwise from a moment of its own; so a revision
    /// changes no answer for a `known_at` before it was applied.
    pub fn in_force(&self, when: When) -> Option<&Arc<CompiledPolicy>> {
        // applied_at grows with the revision number (the store keeps it so).
        let known = self
            .revisions
            .partition_point(|policy| policy.applied_at() <= when.known_at);
        self.revisions[..known]
            .iter()
            .rev()
            .find(|policy| policy.effective_from() <= when.at)
    }

    pub fn revision(&self, number: u64) -> Option<&Arc<CompiledPolicy>> {
        self.revisions
            .binary_search_by_key(&number, |policy| policy.revision())
            .ok()
            .map(|index| &self.revisions[index])
    }

    pub fn revisions(&self) -> &[Arc<CompiledPolicy>] {
        &self.revisions
    }

    fn with(&self, policy: Arc<CompiledPolicy>) -> History {
        let mut revisions = self.revisions.clone();
        revisions.retain(|existing| existing.revision() != policy.revision());
        revisions.push(policy);
        History::new(revisions)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Catalog {
    organisations: BTreeMap<Arc<str>, History>,
}

impl Catalog {
    pub fn new(organisations: impl IntoIterator<Item = (Arc<str>, History)>) -> Catalog {
        Catalog {
            organisations: organisations.into_iter().collect(),
        }
    }

    pub fn history(&self, organisation: &str) -> Option<&History> {
        self.organisations.get(organisation)
    }

    pub fn organisations(&self) -> impl Iterator<Item = (&Arc<str>, &History)> {
        self.organisations.iter()
    }

    /// The latest revision of an organisation, 0 if it has none.
    pub fn latest_revision(&self, organisation: &str) -> u64 {
        self.history(organisation)
            .and_then(History::latest)
            .map_or(0, |policy| policy.revision())
    }

    /// A catalog with `policy` added to (or replacing the same revision of) `organisation`.
    pub fn with_revision(&self, organisation: &str, policy: Arc<CompiledPolicy>) -> Catalog {
        let mut organisations = self.organisations.clone();
        let history = organisations
            .get(organisation)
            .map(|history| history.with(policy.clone()))
            .unwrap_or_else(|| History::new(vec![policy]));
        organisations.insert(organisation.into(), history);
        Catalog { organisations }
    }

    /// A catalog with the whole history of `organisation` replaced.
    pub fn with_history(&self, organisation: &str, history: History) -> Catalog {
        let mut organisations = self.organisations.clone();
        organisations.insert(organisation.into(), history);
        Catalog { organisations }
    }

    /// The compiled revision a question about `organisation` is answered from.
    pub fn policy(&self, organisation: &str, when: When) -> Option<&Arc<CompiledPolicy>> {
        self.history(organisation)?.in_force(when)
    }

    /// Answers a question; an organisation without a registry (then) is a DENY decision.
    pub fn decide(
        &self,
        organisation: &str,
        when: When,
        question: &Question<'_>,
        subject: Option<&SubjectState>,
    ) -> Outcome {
        let mut outcome = match self.policy(organisation, when) {
            Some(policy) => policy.decide(question, subject),
            None => Outcome::from_reasons(
                vec![Reason::UnknownOrganisation {
                    organisation: organisation.into(),
                    at: self.history(organisation).map(|_| when),
                }],
                Vec::new(),
                Vec::new(),
                0,
            ),
        };
        outcome.asked = Some(when);
        outcome
    }
}
