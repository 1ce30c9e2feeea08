//! Keeping a replica's memory in step with the database that other replicas (and
//! `purposed apply --database-url`) write to. Every change appends to its organisation's
//! audit chain in the same transaction, so the chain is the change feed: a replica remembers
//! the last seq it has seen per organisation and, when told (a PostgreSQL notification) or
//! every few seconds (in case a notification was lost), reads the entries after it and
//! reloads what they name — the organisation's registry, a subject's state — from the
//! database. Entries of one organisation commit in seq order (its head row is locked until
//! commit), so nothing is skipped; reloading is idempotent, so nothing is harmed by seeing an
//! entry twice, including the replica's own.

use std::collections::{BTreeSet, HashMap};

use super::App;
use crate::{domain::pseudonym::SubjectRef, error::Error};

/// Entries read per query while catching up.
const PAGE: u64 = 1_000;

/// The last seq seen of each organisation's chain.
#[derive(Debug, Default)]
pub struct Seen(HashMap<String, i64>);

/// What a run of entries asks to reload.
#[derive(Default)]
struct Reload {
    registry: bool,
    subjects: BTreeSet<String>,
    requests: bool,
}

impl App {
    /// Reads the entries this replica has not seen yet — of `organisation`, or of every
    /// organisation whose chain moved — and reloads what they changed. Returns how many
    /// entries were read.
    pub async fn catch_up(&self, organisation: Option<&str>) -> Result<usize, Error> {
        // One catch-up at a time: two would race to reload the same subject from
        // different moments.
        let mut seen = self.seen.lock().await;
        let heads = self.store.audit_heads(organisation).await?;
        let mut read = 0;
        for (organisation, head) in heads {
            let mut after = seen.0.get(&organisation).copied().unwrap_or(0);
            while after < head {
                let entries = self
                    .store
                    .audit_changes_after(&organisation, after, PAGE)
                    .await?;
                let Some(last) = entries.last().map(|entry| entry.0) else {
                    break;
                };
                let mut reload = Reload::default();
                for (_, kind, subject) in &entries {
                    if kind.starts_with("registry.") {
                        reload.registry = true;
                    } else if kind.starts_with("request.") || kind.starts_with("task.") {
                        reload.requests = true;
                    }
                    // A request can change subject state too (a withdrawal, an erasure).
                    if let Some(subject) = subject {
                        reload.subjects.insert(subject.clone());
                    }
                }
                read += entries.len();
                self.reload(&organisation, reload).await?;
                after = last;
                seen.0.insert(organisation.clone(), after);
            }
        }
        Ok(read)
    }

    /// Remembers where every chain stands now, before the state it describes is loaded:
    /// changes committed while loading are then read again, which is harmless.
    pub(super) async fn seen_now(store: &crate::store::Store) -> Result<Seen, Error> {
        Ok(Seen(store.audit_heads(None).await?.into_iter().collect()))
    }

    async fn reload(&self, organisation: &str, reload: Reload) -> Result<(), Error> {
        if reload.registry {
            let _serialised = self.apply_lock.lock().await;
            if self.store.latest_revision(organisation).await?
                > self.catalog.load().latest_revision(organisation)
            {
                let latest = self.reload_history(organisation).await?;
                tracing::info!(organisation = %organisation, revision = latest, "registry revision loaded from another writer");
            }
        }
        for subject in &reload.subjects {
            let Some(subject) = SubjectRef::from_hex(subject) else {
                tracing::warn!(organisation = %organisation, "audit entry names a malformed pseudonym");
                continue;
            };
            self.refresh_subject(organisation, subject).await?;
        }
        if reload.requests {
            self.bump_rights_events();
        }
        Ok(())
    }
}
