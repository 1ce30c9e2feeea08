//! Display texts in the languages an organisation publishes in. A text has the wording of the
//! organisation's default language and, optionally, of others; asking for a language it does
//! not have falls back to the default.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use super::names::NameError;

/// A language: an ISO 639 code of two or three lower-case letters ("lv", "en", "nb").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Language([u8; 3]);

impl Language {
    pub fn as_str(&self) -> &str {
        let len = if self.0[2] == b' ' { 2 } else { 3 };
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0[..len]).unwrap_or("??")
    }
}

impl std::str::FromStr for Language {
    type Err = NameError;

    fn from_str(text: &str) -> Result<Language, NameError> {
        let bytes = text.as_bytes();
        if text.is_empty() {
            return Err(NameError::Empty);
        }
        if !(2..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_lowercase) {
            return Err(NameError::Malformed(
                "language must be an ISO 639 code of two or three lower-case letters, such as \"lv\" or \"en\"",
            ));
        }
        let mut code = [b' '; 3];
        code[..bytes.len()].copy_from_slice(bytes);
        Ok(Language(code))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

super::serde_as_text!(
    Language,
    |language: &Language| language.as_str().to_owned(),
    |text: &str| text.parse::<Language>().ok()
);

/// A display text: the default language's wording, and the others the organisation gives.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localised {
    text: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    translations: BTreeMap<Language, String>,
}

impl Localised {
    pub fn new(text: String, translations: BTreeMap<Language, String>) -> Localised {
        Localised { text, translations }
    }

    /// The default language's wording.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The wording in `language`, or the default's when the text has none in it (or none is
    /// asked for).
    pub fn in_language(&self, language: Option<Language>) -> &str {
        language
            .and_then(|language| self.translations.get(&language))
            .map_or(self.text.as_str(), String::as_str)
    }

    /// The languages besides the default that the text is given in.
    pub fn languages(&self) -> impl Iterator<Item = Language> + '_ {
        self.translations.keys().copied()
    }
}

impl From<&str> for Localised {
    fn from(text: &str) -> Localised {
        Localised {
            text: text.to_owned(),
            translations: BTreeMap::new(),
        }
    }
}

impl From<String> for Localised {
    fn from(text: String) -> Localised {
        Localised {
            text,
            translations: BTreeMap::new(),
        }
    }
}

impl fmt::Display for Localised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_iso_639_codes() {
        for good in ["lv", "en", "nb", "fil"] {
            assert_eq!(good.parse::<Language>().unwrap().as_str(), good);
        }
        for bad in ["", "LV", "e", "engl", "e1", "lv-LV"] {
            assert!(bad.parse::<Language>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_text_falls_back_to_the_default_language() {
        let en: Language = "en".parse().unwrap();
        let no: Language = "no".parse().unwrap();
        let text = Localised::new(
            "Mārketings".into(),
            BTreeMap::from([(en, "Marketing".into())]),
        );
        assert_eq!(text.in_language(Some(en)), "Marketing");
        assert_eq!(text.in_language(Some(no)), "Mārketings");
        assert_eq!(text.in_language(None), "Mārketings");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(
            json,
            r#"{"text":"Mārketings","translations":{"en":"Marketing"}}"#
        );
        assert_eq!(serde_json::from_str::<Localised>(&json).unwrap(), text);
    }
}
