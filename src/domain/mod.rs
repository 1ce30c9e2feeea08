//! Pure domain code: no transport, no storage. The taxonomy, the policy model, the engine
//! that decides questions from a compiled registry, and the subject state it reads.

/// An enum with one spelling per value, shared by manifests and storage.
pub trait Spelling: Copy + std::str::FromStr + 'static {
    const ALL: &'static [Self];

    fn as_str(self) -> &'static str;

    /// "a, b, c": the spellings, for error messages.
    fn choices() -> String {
        Self::ALL
            .iter()
            .map(|value| value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Implements `Spelling` and `FromStr` for an enum.
macro_rules! spelled {
    ($type:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $crate::domain::Spelling for $type {
            const ALL: &'static [$type] = &[$($type::$variant),+];

            fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $type {
            type Err = ();

            fn from_str(text: &str) -> Result<$type, ()> {
                match text {
                    $($text => Ok($type::$variant),)+
                    _ => Err(()),
                }
            }
        }

        $crate::domain::serde_as_text!($type, |value: &$type| {
            $crate::domain::Spelling::as_str(*value)
        }, |text: &str| text.parse::<$type>().ok());
    };
}

/// Serde for a type as its one text form (its manifest spelling), so that a stored registry
/// reads like the manifest and refuses what the manifest would refuse.
macro_rules! serde_as_text {
    ($type:ty, $to_text:expr, $from_text:expr) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let to_text = $to_text;
                serializer.serialize_str(&to_text(self))
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$type, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                let from_text = $from_text;
                from_text(text.as_str()).ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom(format!(
                        "{text:?} is not a {}",
                        stringify!($type)
                    ))
                })
            }
        }
    };
}
pub(crate) use serde_as_text;
pub(crate) use spelled;

pub mod access;
pub mod audit;
pub mod calendar;
pub mod catalog;
pub mod decision;
pub mod diff;
pub mod document;
pub mod engine;
pub mod geo;
pub mod names;
pub mod policy;
pub mod pseudonym;
pub mod review;
pub mod rights;
pub(crate) mod rights_plan;
pub mod subject;
pub mod taxonomy;
pub mod text;

/// The first control character in `text` other than tab, line feed and carriage return:
/// what no stored text may hold (PostgreSQL refuses NUL outright), on either database.
pub fn forbidden_control(text: &str) -> Option<char> {
    text.chars().find(|c| is_forbidden_control(*c))
}

pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// The years an instant or a date may fall in, the one rule for every field that takes
/// one: 0001 to 9998 (UTC for instants). Year 9999 cannot be held whole: the last instant
/// the time library represents is 9999-12-30T22:00Z.
pub fn is_supported_year(year: i16) -> bool {
    (1..=9998).contains(&year)
}
