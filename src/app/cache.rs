//! The subjects' state in memory, so that a Check with a subject never waits for the
//! database. Writes go to the database first and then replace the subject's entry here, so
//! the next Check on this server sees them.
//!
//! A million subjects must fit in well under 200 MB, so a state is kept encoded: a few bytes
//! of varints with purposes as indexes into a shared table, decoded into a `SubjectState` when
//! a question needs it. Decoding costs a few hundred nanoseconds against the tens of
//! microseconds of the call around it; keeping `SubjectState`s as they are would cost about
//! 300 bytes a subject.

use std::{
    collections::HashMap,
    sync::{Arc, PoisonError, RwLock},
};

use jiff::{Timestamp, civil::Date};

use crate::domain::{
    pseudonym::SubjectRef,
    subject::{
        Birth, ConsentAction, ConsentEvent, Erasure, Objection, ObjectionScope, Restriction,
        SubjectState,
    },
};

const SHARDS: usize = 64;

struct Entry {
    /// The organisation's index in `SubjectCache::organisations`. A pseudonym is keyed by its
    /// organisation already; the organisation is kept to refuse a mismatch anyway.
    organisation: u32,
    state: Encoded,
}

/// An encoded state, inside the entry when it is short (most are: a consent or two), so that
/// a typical subject costs no allocation of its own and loading leaves no holes in the heap.
enum Encoded {
    Inline { length: u8, bytes: [u8; INLINE] },
    Boxed(Box<[u8]>),
}

/// As many bytes as fit beside the enum's tag in the 24 bytes a boxed slice takes anyway.
const INLINE: usize = 22;

impl Encoded {
    fn new(encoded: &[u8]) -> Encoded {
        match u8::try_from(encoded.len()) {
            Ok(length) if encoded.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..encoded.len()].copy_from_slice(encoded);
                Encoded::Inline { length, bytes }
            }
            _ => Encoded::Boxed(encoded.into()),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Encoded::Inline { length, bytes } => &bytes[..usize::from(*length).min(INLINE)],
            Encoded::Boxed(bytes) => bytes,
        }
    }
}

/// A subject within its shard: the 16 pseudonym bytes after the one that picked the shard.
/// With that byte, 136 bits of a keyed hash tell subjects apart; two of a billion subjects
/// share a key with a chance of about 10^-23, and the key halves the 32 bytes a full pseudonym
/// would take in every slot of the table (a million subjects: 33 MB less).
type ShardKey = [u8; 16];

/// The keys are keyed-hash outputs, which no caller can choose: a fast hash without flooding
/// resistance is safe.
type Shard = HashMap<ShardKey, Entry, foldhash::fast::RandomState>;

/// An encoded state that does not decode: a defect of this module, never of input.
#[derive(Debug, thiserror::Error)]
#[error("the cached state of a subject does not decode")]
pub struct Undecodable;

/// Strings many subjects share (organisation and purpose ids), each kept once.
#[derive(Default)]
struct Table {
    ids: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Table {
    fn index(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    fn intern(&mut self, text: &str) -> u32 {
        if let Some(index) = self.ids.get(text) {
            return *index;
        }
        let index = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        let shared: Arc<str> = Arc::from(text);
        self.strings.push(shared.clone());
        self.ids.insert(shared, index);
        index
    }
}

/// Subject states by pseudonym, in shards so that writers block few readers.
pub struct SubjectCache {
    shards: Box<[RwLock<Shard>]>,
    organisations: RwLock<Table>,
    purposes: RwLock<Table>,
}

impl Default for SubjectCache {
    fn default() -> SubjectCache {
        SubjectCache {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            organisations: RwLock::default(),
            purposes: RwLock::default(),
        }
    }
}

impl SubjectCache {
    /// The subject's shard and its key there. Pseudonyms are uniformly distributed: any byte
    /// picks a shard evenly.
    fn locate(&self, subject: SubjectRef) -> (&RwLock<Shard>, ShardKey) {
        let bytes = subject.as_bytes();
        let mut key = [0; 16];
        key.copy_from_slice(&bytes[1..17]);
        (&self.shards[usize::from(bytes[0]) % SHARDS], key)
    }

    fn organisation_index(&self, organisation: &str) -> Option<u32> {
        self.organisations
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .index(organisation)
    }

    pub fn get(
        &self,
        organisation: &str,
        subject: SubjectRef,
    ) -> Result<Option<SubjectState>, Undecodable> {
        let Some(owner) = self.organisation_index(organisation) else {
            return Ok(None);
        };
        let (shard, key) = self.locate(subject);
        let shard = shard.read().unwrap_or_else(PoisonError::into_inner);
        match shard.get(&key) {
            Some(entry) if entry.organisation == owner => {
                let purposes = self.purposes.read().unwrap_or_else(PoisonError::into_inner);
                decode(entry.state.bytes(), &purposes.strings).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Replaces the subject's state; an empty state is dropped.
    pub fn put(&self, organisation: &str, subject: SubjectRef, state: &SubjectState) {
        let owner = self
            .organisations
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .intern(organisation);
        let encoded = (!state.is_empty()).then(|| self.encode(state));
        let (shard, key) = self.locate(subject);
        let mut shard = shard.write().unwrap_or_else(PoisonError::into_inner);
        match encoded {
            None => {
                shard.remove(&key);
            }
            Some(state) => {
                shard.insert(
                    key,
                    Entry {
                        organisation: owner,
                        state,
                    },
                );
            }
        }
    }

    /// Changes the subject's state in place (used while loading, one stored row at a time).
    pub fn update(
        &self,
        organisation: &str,
        subject: SubjectRef,
        change: impl FnOnce(&mut SubjectState),
    ) -> Result<(), Undecodable> {
        let mut state = self.get(organisation, subject)?.unwrap_or_default();
        change(&mut state);
        self.put(organisation, subject, &state);
        Ok(())
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

    fn encode(&self, state: &SubjectState) -> Encoded {
        let mut purposes = self
            .purposes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        Encoded::new(&encode(state, |purpose| purposes.intern(purpose)))
    }
}

// ---- the encoding --------------------------------------------------------------------------
//
// A header byte says which parts follow; then, each only when present: consents, objections,
// restrictions (each a count and entries), the erasure, the birth. Integers are LEB128
// varints, signed ones zigzagged; a timestamp is its seconds and nanoseconds; text that is not
// a purpose id is its length and UTF-8 bytes.

const HAS_CONSENTS: u8 = 1;
const HAS_OBJECTIONS: u8 = 1 << 1;
const HAS_RESTRICTIONS: u8 = 1 << 2;
const HAS_ERASURE: u8 = 1 << 3;
const HAS_BIRTH_DATE: u8 = 1 << 4;
const HAS_BIRTH_YEAR: u8 = 1 << 5;

const WITHDRAW: u8 = 1;
const PARENTAL: u8 = 1 << 1;
const HAS_NOTICE: u8 = 1 << 2;

const DIRECT_MARKETING: u8 = 1;
const HAS_GROUNDS: u8 = 1 << 1;
const WITHDRAWN: u8 = 1 << 2;

const LIFTED: u8 = 1;

fn encode(state: &SubjectState, mut purpose_index: impl FnMut(&str) -> u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(INLINE);
    let mut header = 0;
    for (present, flag) in [
        (!state.consents.is_empty(), HAS_CONSENTS),
        (!state.objections.is_empty(), HAS_OBJECTIONS),
        (!state.restrictions.is_empty(), HAS_RESTRICTIONS),
        (state.erasure.is_some(), HAS_ERASURE),
        (matches!(state.birth, Some(Birth::Date(_))), HAS_BIRTH_DATE),
        (matches!(state.birth, Some(Birth::Year(_))), HAS_BIRTH_YEAR),
    ] {
        if present {
            header |= flag;
        }
    }
    out.push(header);
    if !state.consents.is_empty() {
        unsigned(&mut out, state.consents.len() as u64);
        for event in &state.consents {
            let mut flags = 0;
            if event.action == ConsentAction::Withdraw {
                flags |= WITHDRAW;
            }
            if event.parental {
                flags |= PARENTAL;
            }
            if event.notice_version.is_some() {
                flags |= HAS_NOTICE;
            }
            out.push(flags);
            unsigned(&mut out, u64::from(purpose_index(&event.purpose)));
            timestamp(&mut out, event.at);
            if let Some(notice) = &event.notice_version {
                text(&mut out, notice);
            }
        }
    }
    if !state.objections.is_empty() {
        unsigned(&mut out, state.objections.len() as u64);
        for objection in &state.objections {
            let mut flags = 0;
            if objection.scope == ObjectionScope::DirectMarketing {
                flags |= DIRECT_MARKETING;
            }
            if objection.compelling_grounds.is_some() {
                flags |= HAS_GROUNDS;
            }
            if objection.withdrawn_at.is_some() {
                flags |= WITHDRAWN;
            }
            out.push(flags);
            if let ObjectionScope::Purpose(purpose) = &objection.scope {
                unsigned(&mut out, u64::from(purpose_index(purpose)));
            }
            timestamp(&mut out, objection.at);
            if let Some(grounds) = &objection.compelling_grounds {
                text(&mut out, grounds);
            }
            if let Some(withdrawn) = objection.withdrawn_at {
                timestamp(&mut out, withdrawn);
            }
        }
    }
    if !state.restrictions.is_empty() {
        unsigned(&mut out, state.restrictions.len() as u64);
        for restriction in &state.restrictions {
            out.push(if restriction.lifted_at.is_some() {
                LIFTED
            } else {
                0
            });
            timestamp(&mut out, restriction.from);
            if let Some(lifted) = restriction.lifted_at {
                timestamp(&mut out, lifted);
            }
        }
    }
    if let Some(erasure) = &state.erasure {
        timestamp(&mut out, erasure.verified_at);
    }
    match state.birth {
        Some(Birth::Date(date)) => {
            signed(&mut out, i64::from(date.year()));
            out.push(date.month() as u8);
            out.push(date.day() as u8);
        }
        Some(Birth::Year(year)) => signed(&mut out, i64::from(year)),
        None => {}
    }
    out
}

fn unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn signed(out: &mut Vec<u8>, value: i64) {
    unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn timestamp(out: &mut Vec<u8>, at: Timestamp) {
    signed(out, at.as_second());
    signed(out, i64::from(at.subsec_nanosecond()));
}

fn text(out: &mut Vec<u8>, value: &str) {
    unsigned(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Undecodable> {
        let (&first, rest) = self.bytes.split_first().ok_or(Undecodable)?;
        self.bytes = rest;
        Ok(first)
    }

    fn unsigned(&mut self) -> Result<u64, Undecodable> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Undecodable)
    }

    fn signed(&mut self) -> Result<i64, Undecodable> {
        let raw = self.unsigned()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn count(&mut self) -> Result<usize, Undecodable> {
        let count = usize::try_from(self.unsigned()?).map_err(|_| Undecodable)?;
        // Each entry takes at least three bytes: a bad count cannot reserve a huge vector.
        if count > self.bytes.len() {
            return Err(Undecodable);
        }
        Ok(count)
    }

    fn timestamp(&mut self) -> Result<Timestamp, Undecodable> {
        let seconds = self.signed()?;
        let nanos = i32::try_from(self.signed()?).map_err(|_| Undecodable)?;
        Timestamp::new(seconds, nanos).map_err(|_| Undecodable)
    }

    fn text(&mut self) -> Result<Arc<str>, Undecodable> {
        let length = usize::try_from(self.unsigned()?).map_err(|_| Undecodable)?;
        if length > self.bytes.len() {
            return Err(Undecodable);
        }
        let (text, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        std::str::from_utf8(text)
            .map(Arc::from)
            .map_err(|_| Undecodable)
    }

    fn purpose(&mut self, purposes: &[Arc<str>]) -> Result<Arc<str>, Undecodable> {
        let index = usize::try_from(self.unsigned()?).map_err(|_| Undecodable)?;
        purposes.get(index).cloned().ok_or(Undecodable)
    }
}

fn decode(bytes: &[u8], purposes: &[Arc<str>]) -> Result<SubjectState, Undecodable> {
    let mut reader = Reader { bytes };
    let header = reader.byte()?;
    let mut state = SubjectState::default();
    if header & HAS_CONSENTS != 0 {
        let count = reader.count()?;
        state.consents.reserve_exact(count);
        for _ in 0..count {
            let flags = reader.byte()?;
            let purpose = reader.purpose(purposes)?;
            let at = reader.timestamp()?;
            let notice_version = if flags & HAS_NOTICE != 0 {
                Some(reader.text()?)
            } else {
                None
            };
            state.consents.push(ConsentEvent {
                purpose,
                action: if flags & WITHDRAW != 0 {
                    ConsentAction::Withdraw
                } else {
                    ConsentAction::Grant
                },
                at,
                notice_version,
                parental: flags & PARENTAL != 0,
            });
        }
    }
    if header & HAS_OBJECTIONS != 0 {
        let count = reader.count()?;
        state.objections.reserve_exact(count);
        for _ in 0..count {
            let flags = reader.byte()?;
            let scope = if flags & DIRECT_MARKETING != 0 {
                ObjectionScope::DirectMarketing
            } else {
                ObjectionScope::Purpose(reader.purpose(purposes)?)
            };
            let at = reader.timestamp()?;
            let compelling_grounds = if flags & HAS_GROUNDS != 0 {
                Some(reader.text()?)
            } else {
                None
            };
            let withdrawn_at = if flags & WITHDRAWN != 0 {
                Some(reader.timestamp()?)
            } else {
                None
            };
            state.objections.push(Objection {
                scope,
                at,
                compelling_grounds,
                withdrawn_at,
            });
        }
    }
    if header & HAS_RESTRICTIONS != 0 {
        let count = reader.count()?;
        state.restrictions.reserve_exact(count);
        for _ in 0..count {
            let flags = reader.byte()?;
            let from = reader.timestamp()?;
            let lifted_at = if flags & LIFTED != 0 {
                Some(reader.timestamp()?)
            } else {
                None
            };
            state.restrictions.push(Restriction { from, lifted_at });
        }
    }
    if header & HAS_ERASURE != 0 {
        state.erasure = Some(Erasure {
            verified_at: reader.timestamp()?,
        });
    }
    if header & HAS_BIRTH_DATE != 0 {
        let year = i16::try_from(reader.signed()?).map_err(|_| Undecodable)?;
        let month = i8::try_from(reader.byte()?).map_err(|_| Undecodable)?;
        let day = i8::try_from(reader.byte()?).map_err(|_| Undecodable)?;
        state.birth = Some(Birth::Date(
            Date::new(year, month, day).map_err(|_| Undecodable)?,
        ));
    } else if header & HAS_BIRTH_YEAR != 0 {
        let year = i16::try_from(reader.signed()?).map_err(|_| Undecodable)?;
        state.birth = Some(Birth::Year(year));
    }
    if !reader.bytes.is_empty() {
        return Err(Undecodable);
    }
    Ok(state)
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;

/// Locks that order the refreshes of one subject's entry (see `App::refresh_subject`),
/// striped by pseudonym: a pseudonym is uniformly random, so 64 stripes keep unrelated
/// subjects from waiting on each other.
pub struct RefreshLocks([tokio::sync::Mutex<()>; SHARDS]);

impl Default for RefreshLocks {
    fn default() -> RefreshLocks {
        RefreshLocks(std::array::from_fn(|_| tokio::sync::Mutex::new(())))
    }
}

impl RefreshLocks {
    /// The subject's lock (a pseudonym is of one organisation already).
    pub async fn lock(&self, subject: SubjectRef) -> tokio::sync::MutexGuard<'_, ()> {
        self.0[usize::from(subject.as_bytes()[0]) % SHARDS]
            .lock()
            .await
    }
}
