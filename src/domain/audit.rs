//! The audit chain: what an entry says, how its hash covers the entry before it, and the walk
//! that reads a chain back and says what was altered, inserted or deleted.
//!
//! Chains are per organisation. Entry `seq` n (counting from 1) carries the hash of entry
//! n-1 (the genesis hash for n = 1) and a hash of its own over every field and that previous
//! hash, so changing, inserting or removing an entry breaks the chain where it happened. The
//! head (the last seq and hash, kept apart from the entries) is what shows a deleted tail.
//!
//! Entries name subjects by pseudonym only and describe a change by ids, statuses and digests,
//! never by free text a subject or operator wrote: the log is meant never to be rewritten, so
//! it must not hold what an erasure would have to remove.

use std::fmt::{self, Display, Write as _};

use sha2::{Digest, Sha256};

/// The previous hash of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Versions the encoding, so a later change of fields cannot collide with this one.
const DOMAIN_TAG: &[u8] = b"purposed.audit.v1";

/// What was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    RegistryApply,
    SubjectConsent,
    SubjectObjection,
    SubjectObjectionWithdrawn,
    SubjectGrounds,
    SubjectRestriction,
    SubjectRestrictionLifted,
    SubjectErasure,
    SubjectBirth,
    RequestSubmitted,
    RequestTransition,
    RequestExtended,
    TaskCompleted,
}

spelled!(Kind {
    RegistryApply => "registry.apply",
    SubjectConsent => "subject.consent",
    SubjectObjection => "subject.objection",
    SubjectObjectionWithdrawn => "subject.objection_withdrawn",
    SubjectGrounds => "subject.grounds",
    SubjectRestriction => "subject.restriction",
    SubjectRestrictionLifted => "subject.restriction_lifted",
    SubjectErasure => "subject.erasure",
    SubjectBirth => "subject.birth",
    RequestSubmitted => "request.submitted",
    RequestTransition => "request.transition",
    RequestExtended => "request.extended",
    TaskCompleted => "task.completed",
});

/// A change to append: the store adds the actor, the seq and the hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub organisation: String,
    /// Microseconds since the Unix epoch.
    pub at: i64,
    pub kind: Kind,
    /// The subject's pseudonym (64 hex digits), never an identifier.
    pub subject: Option<String>,
    pub detail: String,
}

/// Everything an entry's hash covers besides the previous hash, exactly as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub organisation: String,
    pub seq: i64,
    /// Microseconds since the Unix epoch.
    pub at: i64,
    pub actor: String,
    /// A `Kind` spelling; kept as text so that a walk can read what it does not know.
    pub kind: String,
    pub subject: Option<String>,
    pub detail: String,
}

impl Entry {
    pub fn new(record: &Record, seq: i64, actor: String) -> Entry {
        Entry {
            organisation: record.organisation.clone(),
            seq,
            at: record.at,
            actor,
            kind: crate::domain::Spelling::as_str(record.kind).to_owned(),
            subject: record.subject.clone(),
            detail: record.detail.clone(),
        }
    }
}

/// An entry as read back: its row id and the hashes stored with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub entry: Entry,
    pub prev_hash: String,
    pub hash: String,
}

/// A chain's last seq and hash, as the writers left them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    // A length before every field: ("ab", "c") and ("a", "bc") must not hash alike.
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// Hex SHA-256 of the entry and the hash before it, every field length-prefixed.
pub fn hash(entry: &Entry, prev_hash: &str) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, DOMAIN_TAG);
    field(&mut hasher, entry.organisation.as_bytes());
    field(&mut hasher, &entry.seq.to_be_bytes());
    field(&mut hasher, &entry.at.to_be_bytes());
    field(&mut hasher, entry.actor.as_bytes());
    field(&mut hasher, entry.kind.as_bytes());
    // Absent and empty differ.
    match &entry.subject {
        None => field(&mut hasher, &[0]),
        Some(subject) => {
            field(&mut hasher, &[1]);
            field(&mut hasher, subject.as_bytes());
        }
    }
    field(&mut hasher, entry.detail.as_bytes());
    field(&mut hasher, prev_hash.as_bytes());
    hex::encode(hasher.finalize())
}

/// A stable `key=value key=value` description; values that are not plain words are quoted,
/// with `"`, `\` and control characters escaped.
#[derive(Clone, Debug, Default)]
pub struct Detail(String);

impl Detail {
    pub fn new() -> Detail {
        Detail::default()
    }

    pub fn field(mut self, key: &str, value: impl Display) -> Detail {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        let value = value.to_string();
        let plain = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:/@+-".contains(c));
        if plain {
            self.0.push_str(&value);
        } else {
            self.0.push('"');
            for c in value.chars() {
                match c {
                    '"' => self.0.push_str("\\\""),
                    '\\' => self.0.push_str("\\\\"),
                    c if c.is_control() => {
                        let _ = write!(self.0, "\\u{{{:x}}}", u32::from(c));
                    }
                    c => self.0.push(c),
                }
            }
            self.0.push('"');
        }
        self
    }

    pub fn optional(self, key: &str, value: Option<impl Display>) -> Detail {
        match value {
            Some(value) => self.field(key, value),
            None => self,
        }
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// The kind of damage a walk found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// An entry's content no longer matches its hash.
    Altered,
    /// An entry is where the chain does not lead: inserted, replaced or reordered.
    Inserted,
    /// Entries the chain or its head promise are missing.
    Deleted,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Altered => "altered",
            Fault::Inserted => "inserted",
            Fault::Deleted => "deleted",
        }
    }
}

/// One thing wrong with a chain, at a seq and (where a row is there to name) a row id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub organisation: String,
    pub seq: i64,
    pub id: Option<i64>,
    pub fault: Fault,
    pub message: String,
}

impl Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "organisation {:?}, seq {}", self.organisation, self.seq)?;
        if let Some(id) = self.id {
            write!(f, " (row id {id})")?;
        }
        write!(f, ": {}: {}", self.fault.as_str(), self.message)
    }
}

/// Reads one organisation's chain in seq order, an entry at a time, so a chain of any length
/// can be checked a page at a time.
#[derive(Debug)]
pub struct Walk {
    organisation: String,
    head: Option<Head>,
    /// The seq the next entry should have.
    expected: i64,
    last_hash: String,
    last: Option<(i64, i64)>,
    entries: u64,
    problems: Vec<Problem>,
}

impl Walk {
    /// `head` as read in the same snapshot as the entries.
    pub fn new(organisation: &str, head: Option<Head>) -> Walk {
        Walk {
            organisation: organisation.to_owned(),
            head,
            expected: 1,
            last_hash: GENESIS.to_owned(),
            last: None,
            entries: 0,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, seq: i64, id: Option<i64>, fault: Fault, message: String) {
        self.problems.push(Problem {
            organisation: self.organisation.clone(),
            seq,
            id,
            fault,
            message,
        });
    }

    /// The next entry by seq.
    pub fn push(&mut self, stored: &Stored) {
        self.entries += 1;
        let seq = stored.entry.seq;
        let id = Some(stored.id);
        if stored.entry.organisation != self.organisation {
            self.problem(
                seq,
                id,
                Fault::Inserted,
                format!(
                    "it names organisation {:?} but sits in this chain",
                    stored.entry.organisation
                ),
            );
        }
        if hash(&stored.entry, &stored.prev_hash) != stored.hash {
            self.problem(
                seq,
                id,
                Fault::Altered,
                "its content no longer matches its hash: a field was changed after it was written"
                    .into(),
            );
        }
        if seq < self.expected {
            self.problem(
                seq,
                id,
                Fault::Inserted,
                format!(
                    "seq {seq} comes after seq {}: a duplicate or out-of-order entry",
                    self.expected - 1
                ),
            );
        } else if seq > self.expected {
            // A gap also breaks prev_hash; that is the same damage, told once.
            let missing = if seq - self.expected == 1 {
                format!("seq {} is missing", self.expected)
            } else {
                format!("seqs {} to {} are missing", self.expected, seq - 1)
            };
            self.problem(
                self.expected,
                id,
                Fault::Deleted,
                format!("{missing}: the chain jumps to seq {seq} (the row id named)"),
            );
        } else if stored.prev_hash != self.last_hash {
            let message = if seq == 1 {
                "it is the first entry but does not start from the genesis hash: an entry was \
                 inserted or replaced here"
                    .to_owned()
            } else {
                format!(
                    "its previous hash is not the hash of seq {}: an entry was inserted or \
                     replaced here, or seq {} was rewritten together with its hash",
                    seq - 1,
                    seq - 1
                )
            };
            self.problem(seq, id, Fault::Inserted, message);
        }
        if let Some(head) = &self.head
            && seq > head.seq
        {
            let message = format!(
                "it lies beyond the chain's head (seq {}): it was added without going through \
                 the chain",
                head.seq
            );
            self.problem(seq, id, Fault::Inserted, message);
        }
        self.expected = self.expected.max(seq.saturating_add(1));
        self.last_hash.clone_from(&stored.hash);
        self.last = Some((seq, stored.id));
    }

    /// Entries read so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Compares the end of the chain with its head; every problem found.
    pub fn finish(mut self) -> Vec<Problem> {
        let (last_seq, last_id) = match self.last {
            Some((seq, id)) => (seq, Some(id)),
            None => (0, None),
        };
        match self.head.clone() {
            None if self.entries > 0 => self.problem(
                last_seq,
                last_id,
                Fault::Deleted,
                "the chain has no head row: entries deleted from its end could not be told".into(),
            ),
            None => {}
            Some(head) if head.seq > last_seq => {
                let missing = if head.seq - last_seq == 1 {
                    format!("seq {} is missing", head.seq)
                } else {
                    format!("seqs {} to {} are missing", last_seq + 1, head.seq)
                };
                self.problem(
                    last_seq + 1,
                    last_id,
                    Fault::Deleted,
                    format!(
                        "{missing} from the end: the head records seq {} (the row id named is \
                         the last one left)",
                        head.seq
                    ),
                );
            }
            Some(head) if head.seq == last_seq && head.hash != self.last_hash => self.problem(
                last_seq,
                last_id,
                Fault::Altered,
                "the head's hash is not this entry's: the last entry was replaced or rewritten \
                 with a fresh hash"
                    .into(),
            ),
            // Entries beyond the head were named as they were read.
            Some(_) => {}
        }
        self.problems
    }
}

/// The outcome of verifying every chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub organisations: u64,
    pub entries: u64,
    /// Each organisation checked and the entries its chain holds.
    pub chains: Vec<(String, u64)>,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Walks a whole chain held in memory.
pub fn walk<'a>(
    organisation: &str,
    head: Option<Head>,
    entries: impl IntoIterator<Item = &'a Stored>,
) -> Vec<Problem> {
    let mut walk = Walk::new(organisation, head);
    for stored in entries {
        walk.push(stored);
    }
    walk.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed chain of `length` entries and its head.
    fn chain(length: i64) -> (Vec<Stored>, Head) {
        let mut entries = Vec::new();
        let mut prev = GENESIS.to_owned();
        for seq in 1..=length {
            let entry = Entry {
                organisation: "acme".into(),
                seq,
                at: 1_700_000_000_000_000 + seq,
                actor: "system".into(),
                kind: "request.transition".into(),
                subject: (seq % 2 == 0).then(|| "ab".repeat(32)),
                detail: Detail::new()
                    .field("request_id", format!("r-{seq}"))
                    .field("from", "received")
                    .field("to", "verified")
                    .finish(),
            };
            let hash = hash(&entry, &prev);
            entries.push(Stored {
                id: seq * 10,
                entry,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        (
            entries,
            Head {
                seq: length,
                hash: prev,
            },
        )
    }

    fn faults(problems: &[Problem]) -> Vec<(Fault, i64, Option<i64>)> {
        problems
            .iter()
            .map(|problem| (problem.fault, problem.seq, problem.id))
            .collect()
    }

    #[test]
    fn an_intact_chain_has_no_problems() {
        let (entries, head) = chain(5);
        assert_eq!(walk("acme", Some(head), &entries), []);
        assert_eq!(walk("acme", None, &[]), []);
        assert_eq!(
            walk(
                "acme",
                Some(Head {
                    seq: 0,
                    hash: GENESIS.into()
                }),
                &[]
            ),
            []
        );
    }

    #[test]
    fn every_field_is_covered_and_unambiguous() {
        let (entries, _) = chain(1);
        let base = &entries[0].entry;
        let original = hash(base, GENESIS);
        let variants = [
            Entry {
                organisation: "acmf".into(),
                ..base.clone()
            },
            Entry {
                seq: 2,
                ..base.clone()
            },
            Entry {
                at: base.at + 1,
                ..base.clone()
            },
            Entry {
                actor: "cli".into(),
                ..base.clone()
            },
            Entry {
                kind: "request.extended".into(),
                ..base.clone()
            },
            Entry {
                subject: Some(String::new()),
                ..base.clone()
            },
            Entry {
                detail: format!("{} ", base.detail),
                ..base.clone()
            },
            // Moving bytes between neighbouring fields changes the hash.
            Entry {
                actor: "systemrequest.".into(),
                kind: "transition".into(),
                ..base.clone()
            },
        ];
        for variant in &variants {
            assert_ne!(hash(variant, GENESIS), original, "{variant:?}");
        }
        assert_ne!(hash(base, &"1".repeat(64)), original);
        assert_eq!(original.len(), 64);
    }

    #[test]
    fn an_altered_entry_is_named() {
        let (mut entries, head) = chain(5);
        entries[2].entry.detail = "request_id=r-3 from=received to=rejected".into();
        assert_eq!(
            faults(&walk("acme", Some(head), &entries)),
            [(Fault::Altered, 3, Some(30))]
        );
    }

    #[test]
    fn an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link() {
        let (mut entries, head) = chain(5);
        entries[2].entry.actor = "mallory".into();
        entries[2].hash = hash(&entries[2].entry, &entries[2].prev_hash);
        assert_eq!(
            faults(&walk("acme", Some(head), &entries)),
            [(Fault::Inserted, 4, Some(40))]
        );
    }

    #[test]
    fn an_inserted_entry_is_named() {
        let (mut entries, mut head) = chain(4);
        // A forger renumbers the tail to make room; every renumbered entry's hash breaks.
        for stored in &mut entries[2..] {
            stored.entry.seq += 1;
            stored.id += 1;
        }
        let forged = Entry {
            seq: 3,
            actor: "mallory".into(),
            ..entries[1].entry.clone()
        };
        let forged_hash = hash(&forged, &entries[1].hash);
        entries.insert(
            2,
            Stored {
                id: 99,
                entry: forged,
                prev_hash: entries[1].hash.clone(),
                hash: forged_hash,
            },
        );
        head.seq = 5;
        let found = faults(&walk("acme", Some(head), &entries));
        assert!(found.contains(&(Fault::Altered, 4, Some(31))), "{found:?}");
        assert!(found.contains(&(Fault::Inserted, 4, Some(31))), "{found:?}");
    }

    #[test]
    fn an_entry_appended_behind_the_heads_back_is_named() {
        let (mut entries, head) = chain(3);
        let forged = Entry {
            seq: 4,
            ..entries[2].entry.clone()
        };
        let forged_hash = hash(&forged, &entries[2].hash);
        entries.push(Stored {
            id: 77,
            entry: forged,
            prev_hash: entries[2].hash.clone(),
            hash: forged_hash,
        });
        assert_eq!(
            faults(&walk("acme", Some(head), &entries)),
            [(Fault::Inserted, 4, Some(77))]
        );
    }

    #[test]
    fn a_deleted_middle_entry_is_named() {
        let (mut entries, head) = chain(5);
        entries.remove(2);
        let problems = walk("acme", Some(head), &entries);
        assert_eq!(faults(&problems), [(Fault::Deleted, 3, Some(40))]);
        assert!(problems[0].message.contains("seq 3 is missing"));

        let (mut entries, head) = chain(6);
        entries.drain(1..4);
        let problems = walk("acme", Some(head), &entries);
        assert_eq!(faults(&problems), [(Fault::Deleted, 2, Some(50))]);
        assert!(problems[0].message.contains("seqs 2 to 4 are missing"));
    }

    #[test]
    fn a_deleted_first_entry_is_named() {
        let (mut entries, head) = chain(3);
        entries.remove(0);
        assert_eq!(
            faults(&walk("acme", Some(head), &entries)),
            [(Fault::Deleted, 1, Some(20))]
        );
    }

    #[test]
    fn a_deleted_tail_is_named_through_the_head() {
        let (mut entries, head) = chain(5);
        entries.truncate(3);
        let problems = walk("acme", Some(head), &entries);
        assert_eq!(faults(&problems), [(Fault::Deleted, 4, Some(30))]);
        assert!(problems[0].message.contains("seqs 4 to 5 are missing"));

        let (_, head) = chain(2);
        assert_eq!(
            faults(&walk("acme", Some(head), &[])),
            [(Fault::Deleted, 1, None)]
        );
    }

    #[test]
    fn a_replaced_tail_is_named_through_the_head() {
        let (mut entries, head) = chain(3);
        entries[2].entry.detail = "forged".into();
        entries[2].hash = hash(&entries[2].entry, &entries[2].prev_hash);
        assert_eq!(
            faults(&walk("acme", Some(head), &entries)),
            [(Fault::Altered, 3, Some(30))]
        );
    }

    #[test]
    fn a_missing_head_is_named() {
        let (entries, _) = chain(2);
        assert_eq!(
            faults(&walk("acme", None, &entries)),
            [(Fault::Deleted, 2, Some(20))]
        );
    }

    #[test]
    fn details_quote_what_is_not_a_plain_word() {
        let detail = Detail::new()
            .field("revision", 3)
            .field("reason", "said \"no\"\n")
            .field("empty", "")
            .optional("absent", None::<&str>)
            .optional("at", Some("2026-01-01T00:00:00Z"))
            .finish();
        assert_eq!(
            detail,
            r#"revision=3 reason="said \"no\"\u{a}" empty="" at=2026-01-01T00:00:00Z"#
        );
    }

    #[test]
    fn problems_read_plainly() {
        let problem = Problem {
            organisation: "acme".into(),
            seq: 4,
            id: Some(12),
            fault: Fault::Deleted,
            message: "seq 4 is missing".into(),
        };
        assert_eq!(
            problem.to_string(),
            r#"organisation "acme", seq 4 (row id 12): deleted: seq 4 is missing"#
        );
    }
}
