//! The application: what the service does, independent of gRPC. It owns the compiled
//! catalog (swapped atomically after each apply), the subjects' state in memory, the store
//! and the limits; the gRPC handlers decode a request, call one method here and encode the
//! result.

mod cache;
mod follow;
mod rights;
mod streams;
mod subjects;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use jiff::Timestamp;
use tokio::sync::{Mutex, watch};

use crate::{
    domain::{
        catalog::{Catalog, History},
        decision::{Outcome, RevisionTimes, When},
        diff::{self, DecisionChange},
        document,
        engine::{CompiledPolicy, Question, RevisionInfo},
        names::{CategoryKey, ConditionId, OrganisationId, PurposeId, RawSubject, RecipientId},
        policy::Registry,
        pseudonym::{SubjectKey, SubjectRef},
        subject::SubjectState,
        text::Language,
    },
    error::Error,
    manifest::{self, Violation},
    render,
    store::{RevisionRecord, Store, StoredRevision, sha256_hex},
};

/// Most decision changes an apply reports, and most questions it asks to find them.
pub const DIFF_LIMITS: diff::DiffLimits = diff::DiffLimits {
    changes: 10_000,
    questions: 200_000,
};

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_manifest_bytes: usize,
    pub max_batch_checks: usize,
    /// How long a Check waits for a `min_revision` this server has not loaded yet.
    pub min_revision_wait: Duration,
    /// Rights-event streams open at once; more are RESOURCE_EXHAUSTED.
    pub max_event_streams: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_manifest_bytes: manifest::DEFAULT_MAX_BYTES,
            max_batch_checks: 1000,
            min_revision_wait: Duration::from_secs(2),
            max_event_streams: 256,
        }
    }
}

/// A Check's question, every name parsed.
#[derive(Clone, Debug)]
pub struct CheckInput {
    pub question: QuestionInput,
    pub recipient: RecipientId,
}

/// What Check and ListRecipients both ask: everything but the recipient (ListRecipients asks
/// about each candidate).
#[derive(Clone, Debug)]
pub struct QuestionInput {
    pub organisation: OrganisationId,
    pub purpose: PurposeId,
    pub category: CategoryKey,
    pub subject: Option<RawSubject>,
    /// Valid time: the moment asked about (now when unset).
    pub at: Option<Timestamp>,
    /// Transaction time: answer with the revisions applied by then (now when unset; never
    /// after now, which the parse refuses).
    pub known_at: Option<Timestamp>,
    pub collected_at: Option<Timestamp>,
    pub min_revision: Option<u64>,
    pub satisfied_conditions: Vec<ConditionId>,
}

impl QuestionInput {
    /// The question's two times, each now unless it gives one.
    pub fn when(&self, now: Timestamp) -> When {
        When {
            at: self.at.unwrap_or(now),
            known_at: self.known_at.unwrap_or(now),
        }
    }

    /// The engine's question about `recipient` at `at`.
    pub fn question<'a>(&'a self, recipient: &'a str, at: Timestamp) -> Question<'a> {
        Question {
            purpose: &self.purpose,
            category: &self.category,
            recipient,
            at,
            collected_at: self.collected_at,
            satisfied_conditions: &self.satisfied_conditions,
        }
    }
}

/// A document to write from a revision.
#[derive(Clone, Debug)]
pub struct DocumentInput {
    pub organisation: OrganisationId,
    pub kind: document::Kind,
    /// A revision by number; `None`: the one in force at `at`.
    pub revision: Option<u64>,
    /// Valid time of the revision written (now when unset); ignored with `revision`.
    pub at: Option<Timestamp>,
    pub language: Option<Language>,
    pub format: render::Format,
}

/// A revision to review, as of a day.
#[derive(Clone, Debug)]
pub struct ReviewInput {
    pub organisation: OrganisationId,
    /// A revision by number; `None`: the one in force now.
    pub revision: Option<u64>,
    /// Today when unset (UTC).
    pub today: Option<jiff::civil::Date>,
}

/// A written document.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub content: Vec<u8>,
    pub revision: u64,
    pub title: String,
}

/// A manifest to apply.
#[derive(Clone, Debug)]
pub struct ApplyInput {
    /// The YAML text, parsed by `apply` off the async workers.
    pub manifest: String,
    pub dry_run: bool,
    /// Apply only if the organisation's latest revision is this one.
    pub expected_revision: Option<u64>,
    /// Valid time: since when the revision describes the processing; when applied if unset.
    pub effective_from: Option<Timestamp>,
}

/// The result of an apply or a dry run.
#[derive(Clone, Debug)]
pub struct ApplyOutcome {
    pub organisation: String,
    pub revision: u64,
    pub changed: bool,
    pub decision_changes: Vec<DecisionChange>,
    pub decision_changes_truncated: bool,
    pub warnings: Vec<Violation>,
    /// The latest revision's two times; `None` on a dry run.
    pub times: Option<RevisionTimes>,
}

/// A recipient and the decision for it, for ListRecipients.
#[derive(Clone, Debug)]
pub struct RecipientOutcome {
    pub recipient: String,
    pub name: String,
    pub outcome: Outcome,
}

pub use cache::SubjectCache;
pub use rights::{EventStream, ListInput, RequestInput, Shown, SubmitOutcome, TransitionInput};
pub use subjects::ObjectionTarget;
pub use subjects::{ConsentInput, moment};

pub struct App {
    catalog: ArcSwap<Catalog>,
    /// Bumped after every swap, to wake Checks waiting for a revision.
    generation: watch::Sender<u64>,
    store: Store,
    /// Serialises this server's applies; the database serialises them across servers.
    apply_lock: Mutex<()>,
    limits: Limits,
    subject_key: SubjectKey,
    subjects: SubjectCache,
    /// Orders the refreshes of a subject's cached state.
    refreshing: cache::RefreshLocks,
    /// Bumped after every write of rights events, to wake their watchers.
    rights_events: watch::Sender<u64>,
    /// Set when the server shuts down, to end long-lived streams.
    stopping: watch::Sender<bool>,
    /// The open rights-event streams.
    watchers: streams::Watchers,
    /// Turns of CPU-heavy work (see `off_the_workers`): half the cores, at least one.
    heavy: tokio::sync::Semaphore,
    /// How long the last registry compile took, for the metrics.
    last_compile_micros: AtomicU64,
    /// How far this replica has read each organisation's audit chain.
    seen: Mutex<follow::Seen>,
}

/// The index as the metrics report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexSummary {
    /// The sum of the organisations' latest revisions: replicas in step agree on it.
    pub revision_sum: u64,
    pub organisations: usize,
    pub last_compile: Duration,
    /// Rights-event streams open now.
    pub event_streams: usize,
    /// Database reads of the rights-event feeds so far.
    pub event_reads: u64,
}

pub fn compile(stored: StoredRevision) -> Arc<CompiledPolicy> {
    Arc::new(CompiledPolicy::compile(
        Arc::new(stored.registry),
        RevisionInfo {
            number: stored.number,
            applied_at: stored.applied_at,
            effective_from: stored.effective_from,
            manifest_sha256: stored.manifest_sha256,
        },
    ))
}

/// Gives the allocator's free pages back to the system. Loading a million subjects frees
/// tens of megabytes (pages of rows, and every shard's table each time it doubled) in holes
/// that glibc keeps for reuse, and a serving process never needs that much again at once:
/// without this the server kept about 80 MiB more than it held. Done every
/// `TRIM_EVERY_FACTS` facts while loading too, so that the garbage never piles up into a peak
/// that a container's memory limit would have to allow for.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

const TRIM_EVERY_FACTS: usize = 100_000;

impl App {
    /// Loads and compiles every revision in the store, and every subject's state.
    pub async fn load(store: Store, limits: Limits, subject_key: SubjectKey) -> Result<App, Error> {
        let seen = Self::seen_now(&store).await?;
        let organisations = store.load_all().await?;
        let catalog = Catalog::new(organisations.into_iter().map(|(organisation, revisions)| {
            (
                Arc::<str>::from(organisation),
                History::new(revisions.into_iter().map(compile).collect()),
            )
        }));
        let subjects = SubjectCache::default();
        // Row by row, so that loading a million subjects never holds them twice.
        let mut undecodable = None;
        let mut facts = 0_usize;
        store
            .scan_subject_facts(|organisation, subject, fact| {
                if let Err(error) =
                    subjects.update(organisation, subject, |state| state.record(fact))
                {
                    undecodable.get_or_insert(error);
                }
                facts += 1;
                if facts.is_multiple_of(TRIM_EVERY_FACTS) {
                    return_freed_memory();
                }
            })
            .await?;
        if let Some(error) = undecodable {
            return Err(Error::Internal(error.to_string()));
        }
        return_freed_memory();
        tracing::info!(subjects = subjects.len(), "subject state loaded");
        let watchers = streams::Watchers::new(store.clone(), limits.max_event_streams);
        Ok(App {
            catalog: ArcSwap::from_pointee(catalog),
            generation: watch::channel(0).0,
            store,
            apply_lock: Mutex::new(()),
            limits,
            subject_key,
            subjects,
            refreshing: cache::RefreshLocks::default(),
            rights_events: watch::channel(0).0,
            stopping: watch::channel(false).0,
            watchers,
            heavy: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |cores| (cores.get() / 2).max(1)),
            ),
            last_compile_micros: AtomicU64::new(0),
            seen: Mutex::new(seen),
        })
    }

    fn note_compile(&self, took: Duration) {
        self.last_compile_micros
            .store(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn index_summary(&self) -> IndexSummary {
        let catalog = self.catalog.load();
        let mut summary = IndexSummary {
            revision_sum: 0,
            organisations: 0,
            last_compile: Duration::from_micros(self.last_compile_micros.load(Ordering::Relaxed)),
            event_streams: self.watchers.open(),
            event_reads: self.watchers.reads(),
        };
        for (_, history) in catalog.organisations() {
            summary.organisations += 1;
            summary.revision_sum += history.latest().map_or(0, |policy| policy.revision());
        }
        summary
    }

    /// Whether the database answers now.
    pub async fn database_answers(&self) -> bool {
        self.store.ping().await.is_ok()
    }

    /// Ends the long-lived streams, so that a shutdown can drain.
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }

    /// The pseudonym of a raw subject identifier within an organisation.
    pub fn pseudonymise(&self, organisation: &str, subject: &RawSubject) -> SubjectRef {
        self.subject_key.pseudonymise(organisation, subject)
    }

    /// The subject's state as Checks see it.
    fn subject_state(
        &self,
        organisation: &str,
        subject: SubjectRef,
    ) -> Result<SubjectState, Error> {
        Ok(self
            .subjects
            .get(organisation, subject)
            .map_err(|error| Error::Internal(error.to_string()))?
            .unwrap_or_default())
    }

    /// The organisation's latest compiled registry, or NOT_FOUND.
    fn latest(&self, organisation: &str) -> Result<Arc<CompiledPolicy>, Error> {
        self.policy(organisation, None)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn catalog(&self) -> arc_swap::Guard<Arc<Catalog>> {
        self.catalog.load()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Waits until this server has loaded `revision` of `organisation`, at most the
    /// configured time.
    async fn wait_for_revision(&self, organisation: &str, revision: u64) -> Result<(), Error> {
        let mut generation = self.generation.subscribe();
        let deadline = tokio::time::Instant::now() + self.limits.min_revision_wait;
        loop {
            let latest = self.catalog.load().latest_revision(organisation);
            if latest >= revision {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, generation.changed()).await {
                Ok(Ok(())) => continue,
                _ => {
                    return Err(Error::Unavailable(format!(
                        "revision {revision} of organisation {organisation:?} is not loaded here yet (latest is {latest}); retry"
                    )));
                }
            }
        }
    }

    /// Decides one question from the catalog in memory.
    pub async fn check(&self, input: &CheckInput) -> Result<Outcome, Error> {
        self.wait_for_asked_revision(&input.question).await?;
        self.decide(input, Timestamp::now())
    }

    fn decide(&self, input: &CheckInput, now: Timestamp) -> Result<Outcome, Error> {
        let asked = &input.question;
        let when = asked.when(now);
        let question = asked.question(&input.recipient, when.at);
        let subject = self.asked_subject_state(asked)?;
        Ok(self
            .catalog
            .load()
            .decide(&asked.organisation, when, &question, subject.as_ref()))
    }

    /// Waits for the revision a question asks for, if it names one.
    async fn wait_for_asked_revision(&self, asked: &QuestionInput) -> Result<(), Error> {
        match asked.min_revision {
            Some(revision) => self.wait_for_revision(&asked.organisation, revision).await,
            None => Ok(()),
        }
    }

    /// The state of the subject a question names, if it names one.
    fn asked_subject_state(&self, asked: &QuestionInput) -> Result<Option<SubjectState>, Error> {
        asked
            .subject
            .as_ref()
            .map(|raw| {
                self.subject_state(
                    &asked.organisation,
                    self.pseudonymise(&asked.organisation, raw),
                )
            })
            .transpose()
    }

    /// Decides many questions against one snapshot of the catalog, in order.
    pub async fn batch_check(&self, inputs: &[CheckInput]) -> Result<Vec<Outcome>, Error> {
        for input in inputs {
            self.wait_for_asked_revision(&input.question).await?;
        }
        let now = Timestamp::now();
        inputs.iter().map(|input| self.decide(input, now)).collect()
    }

    /// Which recipients may receive the input's category for its purpose.
    pub async fn list_recipients(
        &self,
        input: &QuestionInput,
        include_denied: bool,
        language: Option<Language>,
    ) -> Result<(u64, Vec<RecipientOutcome>), Error> {
        self.wait_for_asked_revision(input).await?;
        let catalog = self.catalog.load();
        let now = Timestamp::now();
        let when = input.when(now);
        let policy = catalog.policy(&input.organisation, when).ok_or_else(|| {
            Error::NotFound(format!(
                "organisation {:?} has no registry",
                input.organisation.as_str()
            ))
        })?;
        if !policy.has_purpose(&input.purpose) {
            return Err(Error::NotFound(format!(
                "organisation {:?} has no purpose {:?}",
                input.organisation.as_str(),
                input.purpose.as_str()
            )));
        }
        if policy.category(&input.category).is_none() {
            return Err(Error::NotFound(format!(
                "organisation {:?} has no category {:?}",
                input.organisation.as_str(),
                input.category.as_str()
            )));
        }
        let candidates = policy.candidate_recipients(&input.purpose, include_denied);
        let subject = self.asked_subject_state(input)?;
        let subject = subject.as_ref();
        let mut recipients = Vec::new();
        for recipient in candidates {
            let question = input.question(recipient, when.at);
            let outcome = policy.decide(&question, subject);
            if include_denied || outcome.decision != crate::domain::decision::Decision::Deny {
                recipients.push(RecipientOutcome {
                    recipient: recipient.to_owned(),
                    name: policy
                        .registry()
                        .recipient(recipient)
                        .map(|recipient| recipient.name.in_language(language).to_owned())
                        .unwrap_or_default(),
                    outcome,
                });
            }
        }
        recipients.sort_by(|a, b| a.recipient.cmp(&b.recipient));
        Ok((policy.revision(), recipients))
    }

    /// Validates a manifest and, unless it is a dry run, stores it as the next revision and
    /// swaps the compiled catalog. `permit` sees the organisation the manifest names before
    /// anything about it is read or written, and may refuse.
    pub async fn apply<E>(
        &self,
        input: &ApplyInput,
        permit: impl FnOnce(&str) -> Result<(), E>,
    ) -> Result<ApplyOutcome, Error>
    where
        Error: From<E>,
    {
        let ApplyInput {
            manifest: text,
            dry_run,
            expected_revision,
            effective_from,
        } = input;
        let (dry_run, expected_revision, effective_from) =
            (*dry_run, *expected_revision, *effective_from);
        let max_bytes = self.limits.max_manifest_bytes;
        let parsed = {
            let text = text.to_owned();
            self.off_the_workers(move |_| manifest::parse(&text, max_bytes))
                .await??
        };
        let organisation = parsed.registry.organisation.id.clone();
        permit(&organisation)?;
        let now = Timestamp::now();
        if dry_run {
            return self
                .dry_run(parsed.registry, parsed.warnings, expected_revision, now)
                .await;
        }

        let _serialised = self.apply_lock.lock().await;
        let applied = self
            .store
            .apply(
                &parsed.registry,
                text,
                expected_revision,
                effective_from,
                now,
            )
            .await?;
        let before = self
            .catalog
            .load()
            .history(&organisation)
            .and_then(History::latest)
            .cloned();
        let (decision_changes, truncated) = if applied.changed {
            let info = RevisionInfo {
                number: applied.revision,
                applied_at: applied.applied_at,
                effective_from: applied.effective_from,
                manifest_sha256: sha256_hex(text),
            };
            let registry = Arc::new(parsed.registry);
            let (policy, took) = self
                .off_the_workers(move |_| {
                    let compiling = Instant::now();
                    let policy = Arc::new(CompiledPolicy::compile(registry, info));
                    (policy, compiling.elapsed())
                })
                .await?;
            self.note_compile(took);
            // Stored is stored: the new revision is served before anything can cut the
            // comparison short.
            self.install(&organisation, policy.clone()).await?;
            self.off_the_workers(move |cancelled| {
                diff::decision_changes(before.as_deref(), &policy, now, DIFF_LIMITS, cancelled)
            })
            .await?
        } else {
            (Vec::new(), false)
        };
        tracing::info!(
            organisation = %organisation,
            revision = applied.revision,
            changed = applied.changed,
            decision_changes = decision_changes.len(),
            truncated,
            "manifest applied"
        );
        Ok(ApplyOutcome {
            organisation,
            revision: applied.revision,
            changed: applied.changed,
            decision_changes,
            decision_changes_truncated: truncated,
            warnings: parsed.warnings,
            times: Some(RevisionTimes {
                applied_at: applied.applied_at,
                effective_from: applied.effective_from,
            }),
        })
    }

    async fn dry_run(
        &self,
        registry: Registry,
        warnings: Vec<Violation>,
        expected_revision: Option<u64>,
        now: Timestamp,
    ) -> Result<ApplyOutcome, Error> {
        let organisation = registry.organisation.id.clone();
        // The database, not this server's catalog, is the truth another server may have moved.
        let current = self.store.latest(&organisation).await?;
        let latest = current.as_ref().map_or(0, |stored| stored.number);
        if let Some(expected) = expected_revision
            && expected != latest
        {
            return Err(Error::FailedPrecondition(format!(
                "organisation {organisation:?} is at revision {latest}, not the expected {expected}"
            )));
        }
        let (changed, decision_changes, truncated) = self
            .off_the_workers(move |cancelled| {
                let changed = current
                    .as_ref()
                    .is_none_or(|stored| stored.registry != registry);
                let before = current.map(compile);
                let after = CompiledPolicy::compile(
                    Arc::new(registry),
                    RevisionInfo {
                        number: latest + 1,
                        applied_at: now,
                        effective_from: now,
                        manifest_sha256: String::new(),
                    },
                );
                let (changes, truncated) =
                    diff::decision_changes(before.as_deref(), &after, now, DIFF_LIMITS, cancelled);
                (changed, changes, truncated)
            })
            .await?;
        Ok(ApplyOutcome {
            organisation,
            revision: latest,
            changed,
            decision_changes,
            decision_changes_truncated: truncated,
            warnings,
            times: None,
        })
    }

    /// Runs CPU-heavy work (parsing and compiling a manifest, comparing two registries) on
    /// the blocking pool, a few at a time, so that Check and health keep the async workers
    /// whatever a manifest costs. `work` sees its flag turn true once nobody waits for the
    /// answer: the call's deadline passed, its caller went away, or the server is stopping
    /// (the call then ends at once, UNAVAILABLE); it should return soon after.
    async fn off_the_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AtomicBool) -> T + Send + 'static,
    ) -> Result<T, Error> {
        struct CancelOnDrop(Arc<AtomicBool>);
        impl Drop for CancelOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let cancelled = Arc::new(AtomicBool::new(false));
        let _cancel = CancelOnDrop(cancelled.clone());
        let mut stopping = self.stopping.subscribe();
        let stopped = async move {
            // An error means the app is gone, which is a stop as well.
            let _ = stopping.wait_for(|stopping| *stopping).await;
        };
        let run = async {
            let _turn = self
                .heavy
                .acquire()
                .await
                .map_err(|_| Error::Unavailable("purposed is stopping".to_owned()))?;
            let flag = cancelled.clone();
            tokio::task::spawn_blocking(move || work(&flag))
                .await
                .map_err(|error| Error::Internal(format!("a blocking task failed: {error}")))
        };
        tokio::select! {
            done = run => done,
            () = stopped => Err(Error::Unavailable(
                "purposed is stopping; nothing was changed by this call unless it said so".to_owned(),
            )),
        }
    }

    /// Makes a newly stored revision visible. If this server missed a revision (another
    /// server applied one), the organisation's whole history is reloaded from the store.
    async fn install(&self, organisation: &str, policy: Arc<CompiledPolicy>) -> Result<(), Error> {
        let current = self.catalog.load();
        if current.latest_revision(organisation) + 1 == policy.revision() {
            self.swap(current.with_revision(organisation, policy));
            Ok(())
        } else {
            self.reload_history(organisation).await.map(|_| ())
        }
    }

    /// Compiles the organisation's stored revisions into the catalog; the latest number.
    async fn reload_history(&self, organisation: &str) -> Result<u64, Error> {
        let revisions = self.store.load_organisation(organisation).await?;
        let history = self
            .off_the_workers(move |_| {
                revisions
                    .into_iter()
                    .map(|revision| revision.decode().map(compile))
                    .collect::<Result<Vec<_>, _>>()
                    .map(History::new)
            })
            .await??;
        let latest = history.latest().map_or(0, |policy| policy.revision());
        self.swap(self.catalog.load().with_history(organisation, history));
        Ok(latest)
    }

    /// Publishes a catalog and wakes the Checks waiting for a revision.
    fn swap(&self, next: Catalog) {
        self.catalog.store(Arc::new(next));
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// One revision of an organisation's compiled registry; the latest when `revision` is
    /// `None`.
    pub fn policy(
        &self,
        organisation: &str,
        revision: Option<u64>,
    ) -> Result<Arc<CompiledPolicy>, Error> {
        let catalog = self.catalog.load();
        let history = catalog.history(organisation).ok_or_else(|| {
            Error::NotFound(format!("organisation {organisation:?} has no registry"))
        })?;
        let policy = match revision {
            None => history.latest(),
            Some(number) => history.revision(number),
        };
        policy.cloned().ok_or_else(|| {
            Error::NotFound(format!(
                "organisation {organisation:?} has no revision {}",
                revision.unwrap_or_default()
            ))
        })
    }

    /// The latest revision of every organisation, ordered by organisation id.
    pub fn organisations(&self) -> Vec<Arc<CompiledPolicy>> {
        self.catalog
            .load()
            .organisations()
            .filter_map(|(_, history)| history.latest().cloned())
            .collect()
    }

    /// Every revision of an organisation, newest first.
    pub fn revisions(&self, organisation: &str) -> Result<Vec<RevisionInfo>, Error> {
        let catalog = self.catalog.load();
        let history = catalog.history(organisation).ok_or_else(|| {
            Error::NotFound(format!("organisation {organisation:?} has no registry"))
        })?;
        Ok(history
            .revisions()
            .iter()
            .rev()
            .map(|policy| policy.info().clone())
            .collect())
    }

    /// Writes one of the organisation's documents from a revision, off the async workers (a
    /// large registry's document is CPU work).
    pub async fn render_document(&self, input: &DocumentInput) -> Result<Rendered, Error> {
        let policy = self.revision_or_in_force(
            &input.organisation,
            input.revision,
            input.at.unwrap_or_else(Timestamp::now),
        )?;
        let (kind, language, format) = (input.kind, input.language, input.format);
        if format == render::Format::JsonLd && kind != document::Kind::ProcessingRecord {
            return Err(Error::invalid(
                "format",
                "json_ld is written for the processing record only",
            ));
        }
        self.off_the_workers(move |_| {
            // The linked data is written from the registry itself, not from a document.
            let (content, title) = match format {
                render::Format::JsonLd => {
                    let data = document::record_linked_data(&policy);
                    let title = data["dct:title"].as_str().unwrap_or_default().to_owned();
                    (serde_json::to_vec_pretty(&data).unwrap_or_default(), title)
                }
                other => {
                    let written = document::write(kind, &policy, language);
                    (render::render(&written, other), written.title)
                }
            };
            Rendered {
                content,
                revision: policy.revision(),
                title,
            }
        })
        .await
    }

    /// A DPO's review of a revision: its revision number and the findings.
    pub async fn review_registry(
        &self,
        input: &ReviewInput,
    ) -> Result<(u64, Vec<crate::domain::review::Finding>), Error> {
        let now = Timestamp::now();
        let policy = self.revision_or_in_force(&input.organisation, input.revision, now)?;
        let today = input
            .today
            .unwrap_or_else(|| now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
        self.off_the_workers(move |_| {
            (
                policy.revision(),
                crate::domain::review::review(&policy, today),
            )
        })
        .await
    }

    /// A revision by number, or the one in force at `at` by what is known now.
    fn revision_or_in_force(
        &self,
        organisation: &str,
        revision: Option<u64>,
        at: Timestamp,
    ) -> Result<Arc<CompiledPolicy>, Error> {
        if revision.is_some() {
            return self.policy(organisation, revision);
        }
        let when = When {
            at,
            known_at: Timestamp::now(),
        };
        self.catalog
            .load()
            .policy(organisation, when)
            .cloned()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "organisation {organisation:?} has no registry in force at {at}"
                ))
            })
    }

    /// A revision's registry serialised as the store keeps it.
    pub fn registry_json(&self, organisation: &str, revision: u64) -> Result<String, Error> {
        let policy = self.policy(organisation, Some(revision))?;
        Ok(crate::store::serialise(policy.registry())?)
    }

    /// A revision's record with the manifest exactly as applied.
    pub async fn revision_record(
        &self,
        organisation: &str,
        revision: Option<u64>,
    ) -> Result<RevisionRecord, Error> {
        if self.catalog.load().history(organisation).is_none() {
            return Err(Error::NotFound(format!(
                "organisation {organisation:?} has no registry"
            )));
        }
        Ok(self.store.revision_record(organisation, revision).await?)
    }
}
