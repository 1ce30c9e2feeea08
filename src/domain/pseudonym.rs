//! Pseudonymous subject references: a keyed hash (HMAC-SHA256) of the organisation and the
//! caller's raw subject identifier. Raw identifiers go no further than the request boundary;
//! everything stored or logged carries the reference.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::names::RawSubject;

/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// The secret key of the keyed hash, kept with its HMAC state prepared once. It never prints.
#[derive(Clone)]
pub struct SubjectKey {
    key: Vec<u8>,
    prepared: Hmac<Sha256>,
}

impl SubjectKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> Result<SubjectKey, String> {
        let mut key = vec![0_u8; MIN_KEY_BYTES];
        getrandom::fill(&mut key)
            .map_err(|error| format!("no randomness for a subject key: {error}"))?;
        Ok(SubjectKey::new(key))
    }

    /// Reads a key written as hex, at least 32 bytes (64 hex digits).
    pub fn from_hex(text: &str) -> Result<SubjectKey, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| "the subject key must be hexadecimal".to_owned())?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the subject key must be at least {MIN_KEY_BYTES} bytes ({} hex digits); it is {}",
                MIN_KEY_BYTES * 2,
                bytes.len()
            ));
        }
        Ok(SubjectKey::new(bytes))
    }

    fn new(key: Vec<u8>) -> SubjectKey {
        // HMAC takes keys of every length.
        let Ok(prepared) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
            unreachable!("HMAC accepts keys of every length")
        };
        SubjectKey { key, prepared }
    }

    pub fn to_hex(&self) -> String {
        hex::encode(&self.key)
    }

    /// The subject's reference within `organisation`: the same person has unrelated
    /// references at two organisations.
    pub fn pseudonymise(&self, organisation: &str, subject: &RawSubject) -> SubjectRef {
        let mut mac = self.prepared.clone();
        mac.update(b"purposed/subject/v1");
        // Length-prefixed, so that no two (organisation, subject) pairs share an input.
        mac.update(&(organisation.len() as u64).to_be_bytes());
        mac.update(organisation.as_bytes());
        mac.update(subject.expose().as_bytes());
        SubjectRef(mac.finalize().into_bytes().into())
    }
}

impl fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubjectKey(***)")
    }
}

/// A pseudonymous subject: 32 bytes, shown as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectRef([u8; 32]);

impl SubjectRef {
    pub fn from_hex(text: &str) -> Option<SubjectRef> {
        let bytes = hex::decode(text).ok()?;
        Some(SubjectRef(bytes.try_into().ok()?))
    }

    pub fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for SubjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubjectRef({})", &self.to_hex()[..12])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(subject: &str) -> RawSubject {
        subject.parse().expect("a valid subject")
    }

    #[test]
    fn references_depend_on_key_organisation_and_subject() {
        let key = SubjectKey::from_hex(&"ab".repeat(32)).unwrap();
        let other = SubjectKey::from_hex(&"cd".repeat(32)).unwrap();
        let alice = raw("alice@example.com");
        let reference = key.pseudonymise("peero", &alice);
        assert_eq!(reference, key.pseudonymise("peero", &alice));
        for different in [
            key.pseudonymise("capturi", &alice),
            key.pseudonymise("peero", &raw("bob@example.com")),
            other.pseudonymise("peero", &alice),
        ] {
            assert_ne!(reference, different);
        }
        // The organisation is length-prefixed: ("a", "b\0c") and ("a\0b", "c") differ.
        assert_ne!(
            key.pseudonymise("a", &raw("b\0c")),
            key.pseudonymise("a\0b", &raw("c"))
        );
        assert_eq!(SubjectRef::from_hex(&reference.to_hex()), Some(reference));
        assert!(!reference.to_hex().contains("alice"));
    }

    #[test]
    fn keys_are_long_enough_and_never_print() {
        assert!(SubjectKey::from_hex("abcd").is_err());
        assert!(SubjectKey::from_hex("zz").is_err());
        let key = SubjectKey::generate().unwrap();
        assert_eq!(key.to_hex().len(), 64);
        assert_eq!(format!("{key:?}"), "SubjectKey(***)");
        assert_ne!(key.to_hex(), SubjectKey::generate().unwrap().to_hex());
    }
}
