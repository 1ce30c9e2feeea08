//! The subjects' state in memory, so that a Check with a subject never waits for the
//! database. Writes go to the database first and then replace the subject's entry here, so
//! the next Check on this server sees them.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use crate::domain::{pseudonym::SubjectRef, subject::SubjectState};

const SHARDS: usize = 64;

type Shard = HashMap<SubjectRef, (Arc<str>, Arc<SubjectState>)>;

/// Subject states by pseudonym, in shards so that writers block few readers. A pseudonym is
/// keyed by its organisation already; the organisation is kept to refuse a mismatch anyway.
pub struct SubjectCache {
    shards: Box<[RwLock<Shard>]>,
}

impl Default for SubjectCache {
    fn default() -> SubjectCache {
        SubjectCache {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }
}

impl SubjectCache {
    fn shard(&self, subject: SubjectRef) -> &RwLock<Shard> {
        // Pseudonyms are uniformly distributed: any byte picks a shard evenly.
        &self.shards[usize::from(subject.as_bytes()[0]) % SHARDS]
    }

    pub fn get(&self, organisation: &str, subject: SubjectRef) -> Option<Arc<SubjectState>> {
        let shard = self
            .shard(subject)
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        shard
            .get(&subject)
            .filter(|(owner, _)| &**owner == organisation)
            .map(|(_, state)| state.clone())
    }

    /// Replaces the subject's state; an empty state is dropped.
    pub fn put(&self, organisation: Arc<str>, subject: SubjectRef, state: SubjectState) {
        let mut shard = self
            .shard(subject)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if state.is_empty() {
            shard.remove(&subject);
        } else {
            shard.insert(subject, (organisation, Arc::new(state)));
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
