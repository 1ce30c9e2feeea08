//! The names callers and manifests give things, each parsed once by its own rule: the ids of
//! a registry, category keys, a caller's rights request ids, task ids, raw subject
//! identifiers and an extension's months. A value of one of these types has passed its rule,
//! so code that takes one checks nothing again; the gRPC layer, the manifest parser and the
//! command line all parse through `TryFrom` (or `FromStr`) here.

use std::{fmt, num::NonZeroU64, ops::Deref, str::FromStr};

/// Longest id of a registry, in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest raw subject identifier, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 256;
/// Longest rights request id, in bytes.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// The rule of every id of a registry, as messages state it.
pub const REGISTRY_ID_RULE: &str =
    "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit";
const CATEGORY_KEY_RULE: &str =
    "must be a dotted category key such as \"user.contact.email\" (a-z, 0-9, '_', '-')";
const REQUEST_ID_RULE: &str = "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'";

/// Why a name was refused, worded as the description of a field violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    /// The rule the text breaks.
    #[error("{0}")]
    Malformed(&'static str),
    #[error("is longer than {0} bytes")]
    TooLong(usize),
    #[error("must be set")]
    Unset,
    #[error("one or two further months (Art. 12(3))")]
    ExtensionLength,
}

/// A name held as text: its rule, and the ways to read it back.
macro_rules! text_name {
    ($(#[$doc:meta])* $name:ident, $rule:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        /// As the text itself (quoted), so that messages read the same whether they hold the
        /// name or its text.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;

            fn try_from(text: String) -> Result<$name, NameError> {
                let rule: fn(&str) -> Result<(), NameError> = $rule;
                rule(&text)?;
                Ok($name(text))
            }
        }

        impl FromStr for $name {
            type Err = NameError;

            fn from_str(text: &str) -> Result<$name, NameError> {
                $name::try_from(text.to_owned())
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }
    };
}

text_name!(
    /// The id of an organisation: what every call names first.
    OrganisationId,
    registry_id
);
text_name!(
    /// The id of a purpose of an organisation's registry.
    PurposeId,
    registry_id
);
text_name!(
    /// The id of a recipient (processor, subprocessor, controller) of a registry.
    RecipientId,
    registry_id
);
text_name!(
    /// The id of an engagement's condition, which a caller asserts satisfied.
    ConditionId,
    registry_id
);
text_name!(
    /// A dotted category key, such as "user.contact.email".
    CategoryKey,
    category_key
);
text_name!(
    /// The caller's id of a rights request, unique within its organisation.
    RequestId,
    request_id
);

/// The rule of every id of a registry: 1-64 characters of lower-case ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter or digit.
fn registry_id(text: &str) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    let well_formed = text.len() <= MAX_ID_LEN
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if well_formed {
        Ok(())
    } else {
        Err(NameError::Malformed(REGISTRY_ID_RULE))
    }
}

/// Whether `text` passes the rule of a registry's ids.
pub fn is_registry_id(text: &str) -> bool {
    registry_id(text).is_ok()
}

fn category_key(text: &str) -> Result<(), NameError> {
    if text.is_empty() {
        Err(NameError::Empty)
    } else if super::taxonomy::is_valid_key(text) {
        Ok(())
    } else {
        Err(NameError::Malformed(CATEGORY_KEY_RULE))
    }
}

fn request_id(text: &str) -> Result<(), NameError> {
    if text.is_empty() {
        return Err(NameError::Empty);
    }
    let well_formed = text.len() <= MAX_REQUEST_ID_LEN
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'));
    if well_formed {
        Ok(())
    } else {
        Err(NameError::Malformed(REQUEST_ID_RULE))
    }
}

/// A data subject's identifier as a caller knows it (an e-mail address, a customer number).
/// It only ever becomes a pseudonym (`pseudonym::SubjectKey::pseudonymise`): it has no
/// `Display`, and its `Debug` shows only its length, so that no log, error or answer can
/// carry it by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct RawSubject(String);

impl RawSubject {
    /// The identifier itself, for pseudonymising.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RawSubject {
    type Error = NameError;

    /// Not blank, at most 256 bytes. Kept exactly as given: callers pseudonymise the same
    /// bytes every time.
    fn try_from(text: String) -> Result<RawSubject, NameError> {
        if text.trim().is_empty() {
            Err(NameError::Empty)
        } else if text.len() > MAX_SUBJECT_BYTES {
            Err(NameError::TooLong(MAX_SUBJECT_BYTES))
        } else {
            Ok(RawSubject(text))
        }
    }
}

impl FromStr for RawSubject {
    type Err = NameError;

    fn from_str(text: &str) -> Result<RawSubject, NameError> {
        RawSubject::try_from(text.to_owned())
    }
}

impl fmt::Debug for RawSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawSubject({} bytes)", self.0.len())
    }
}

/// A rights task's id, which the service assigns from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(NonZeroU64);

impl TaskId {
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl TryFrom<u64> for TaskId {
    type Error = NameError;

    fn try_from(value: u64) -> Result<TaskId, NameError> {
        NonZeroU64::new(value).map(TaskId).ok_or(NameError::Unset)
    }
}

impl FromStr for TaskId {
    type Err = NameError;

    fn from_str(text: &str) -> Result<TaskId, NameError> {
        text.parse::<NonZeroU64>()
            .map(TaskId)
            .map_err(|_| NameError::Malformed("must be a task id: a whole number from 1"))
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The further months of an extension of a rights request's deadline: one or two (Art.
/// 12(3)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtensionMonths(i8);

impl ExtensionMonths {
    pub fn get(self) -> i8 {
        self.0
    }
}

impl TryFrom<u32> for ExtensionMonths {
    type Error = NameError;

    fn try_from(months: u32) -> Result<ExtensionMonths, NameError> {
        match months {
            1 | 2 => Ok(ExtensionMonths(months as i8)),
            _ => Err(NameError::ExtensionLength),
        }
    }
}

impl FromStr for ExtensionMonths {
    type Err = NameError;

    fn from_str(text: &str) -> Result<ExtensionMonths, NameError> {
        let months: u32 = text.parse().map_err(|_| NameError::ExtensionLength)?;
        ExtensionMonths::try_from(months)
    }
}

impl From<ExtensionMonths> for u32 {
    fn from(months: ExtensionMonths) -> u32 {
        months.0.unsigned_abs().into()
    }
}

impl fmt::Display for ExtensionMonths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_ids_follow_one_rule() {
        for good in ["peero", "0-day", "a.b_c-d", &"a".repeat(64)] {
            assert!(PurposeId::from_str(good).is_ok(), "{good:?}");
        }
        assert_eq!(OrganisationId::from_str(""), Err(NameError::Empty));
        for bad in ["Peero", "-peero", ".x", "a b", "ä", &"a".repeat(65)] {
            assert_eq!(
                RecipientId::from_str(bad),
                Err(NameError::Malformed(REGISTRY_ID_RULE)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn category_keys_and_request_ids_have_their_own_rules() {
        assert!(CategoryKey::from_str("user.contact.email").is_ok());
        assert_eq!(
            CategoryKey::from_str("user..email"),
            Err(NameError::Malformed(CATEGORY_KEY_RULE))
        );
        assert_eq!(CategoryKey::from_str(""), Err(NameError::Empty));
        assert!(RequestId::from_str("DSR:2026/1").is_err());
        assert!(RequestId::from_str("DSR:2026-1").is_ok());
        assert!(RequestId::from_str(&"r".repeat(128)).is_ok());
        assert!(RequestId::from_str(&"r".repeat(129)).is_err());
    }

    #[test]
    fn a_raw_subject_never_shows_itself() {
        let subject = RawSubject::from_str("anna@example.ee").unwrap();
        assert_eq!(format!("{subject:?}"), "RawSubject(15 bytes)");
        assert_eq!(subject.expose(), "anna@example.ee");
        assert_eq!(RawSubject::from_str(" \t"), Err(NameError::Empty));
        assert_eq!(
            RawSubject::from_str(&"s".repeat(257)),
            Err(NameError::TooLong(256))
        );
        // Kept as given, surrounding spaces and all.
        assert_eq!(RawSubject::from_str(" a ").unwrap().expose(), " a ");
    }

    #[test]
    fn task_ids_and_extensions_refuse_what_cannot_be() {
        assert_eq!(TaskId::try_from(0), Err(NameError::Unset));
        assert_eq!(TaskId::try_from(7).unwrap().get(), 7);
        assert_eq!(TaskId::from_str("7").unwrap().get(), 7);
        assert!(TaskId::from_str("0").is_err());
        assert!(TaskId::from_str("-1").is_err());
        assert!(ExtensionMonths::try_from(0).is_err());
        assert_eq!(ExtensionMonths::try_from(2).unwrap().get(), 2);
        assert!(ExtensionMonths::try_from(3).is_err());
        assert!(ExtensionMonths::from_str("x").is_err());
    }
}
