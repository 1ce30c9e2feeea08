//! The rules for the fields requests share (ids, keys, subjects, instants, dates, free text,
//! enums, pages), each problem recorded as a violation naming the field's path; a parse
//! function collects every violation of its request before refusing it.

use prost_types::Timestamp as ProtoTimestamp;

use crate::domain::text::Language;
use crate::{
    domain::{
        names::{ConditionId, NameError, RawSubject},
        subject::Birth,
    },
    error::{Error, FieldViolation},
};

/// Most engagement conditions one question may assert.
pub const MAX_CONDITIONS: usize = 64;
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1000;

/// Most values of a filter over an enum (statuses, types); repeats fold into one.
pub const MAX_FILTER_VALUES: usize = 32;
/// Most purposes one rights request names; repeats fold into one.
pub const MAX_REQUEST_PURPOSES: usize = 100;
/// Longest free text accepted (details, notes, grounds, sources), in bytes.
pub const MAX_TEXT_BYTES: usize = 10_000;
/// Longest actor name, in bytes.
pub const MAX_ACTOR_BYTES: usize = 200;

/// What `crate::domain::is_supported_year` means for an instant.
const TIMESTAMP_RANGE: &str =
    "must fall in the years 0001 to 9998 (0001-01-01T00:00:00Z to 9998-12-31T23:59:59.999999999Z)";

fn in_supported_years(at: jiff::Timestamp) -> bool {
    crate::domain::is_supported_year(jiff::tz::Offset::UTC.to_datetime(at).year())
}

/// Drops repeats, keeping the first of each.
pub fn fold_repeats<T: PartialEq>(values: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(values.len());
    for value in values {
        if !kept.contains(&value) {
            kept.push(value);
        }
    }
    kept
}

/// One request parsed whole: `parse` reads every field, recording each refusal in the
/// violations, and gives the input; it is returned once no field was refused, or the request
/// is refused naming every bad field (INVALID_ARGUMENT).
pub fn parse_all<T>(parse: impl FnOnce(&mut Violations) -> Option<T>) -> Result<T, Error> {
    let mut violations = Violations::default();
    let parsed = parse(&mut violations);
    violations.finish(|| parsed)
}

/// Collects the violations of one request.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn into_result<T>(self, value: T) -> Result<T, Error> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }

    /// The parsed request, once every field is valid. `build` takes the parsed fields out of
    /// their `Option`s: a field that did not parse left its violation, so with none recorded
    /// every field it needs is there.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Error> {
        self.into_result(())?;
        build().ok_or_else(|| {
            Error::Internal("a request field was refused without a violation".into())
        })
    }

    /// A value parsed by its own rule (`domain::names`): an id, a key, a request or task id;
    /// `None`, and a violation worded by the rule, when it breaks it.
    pub fn parsed<V, N: TryFrom<V, Error = NameError>>(
        &mut self,
        field: &str,
        value: V,
    ) -> Option<N> {
        match N::try_from(value) {
            Ok(parsed) => Some(parsed),
            Err(refused) => {
                self.add(field, refused.to_string());
                None
            }
        }
    }

    /// A raw subject identifier where one may be left out. Its value never appears in a
    /// message.
    pub fn optional_subject(&mut self, field: &str, value: Option<String>) -> Option<RawSubject> {
        match RawSubject::try_from(value?) {
            Ok(subject) => Some(subject),
            Err(NameError::Empty) => {
                self.add(field, "must not be empty when given");
                None
            }
            Err(refused) => {
                self.add(field, refused.to_string());
                None
            }
        }
    }

    pub fn timestamp(
        &mut self,
        field: &str,
        value: Option<&ProtoTimestamp>,
    ) -> Option<jiff::Timestamp> {
        let value = value?;
        let nanos = value.nanos;
        if !(0..1_000_000_000).contains(&nanos) {
            self.add(field, "nanos must be between 0 and 999,999,999");
            return None;
        }
        match jiff::Timestamp::new(value.seconds, nanos) {
            Ok(timestamp) if in_supported_years(timestamp) => Some(timestamp),
            _ => {
                self.add(field, TIMESTAMP_RANGE);
                None
            }
        }
    }

    /// A language to show texts in; empty asks for the default.
    pub fn language(&mut self, field: &str, value: String) -> Option<Language> {
        if value.is_empty() {
            return None;
        }
        match value.parse::<Language>() {
            Ok(language) => Some(language),
            Err(refused) => {
                self.add(field, refused.to_string());
                None
            }
        }
    }

    /// A transaction time: what purposed knew at a moment, which cannot be after now.
    pub fn known_at(
        &mut self,
        field: &str,
        value: Option<&ProtoTimestamp>,
    ) -> Option<jiff::Timestamp> {
        let known_at = self.timestamp(field, value)?;
        if known_at > jiff::Timestamp::now() {
            self.add(
                field,
                "is later than now: what purposed will know then is not known yet",
            );
            return None;
        }
        Some(known_at)
    }

    /// A repeated field of at most `max` values; false (and a violation) when longer.
    pub fn at_most(&mut self, field: &str, len: usize, max: usize) -> bool {
        if len > max {
            self.add(
                field,
                format!("has {len} values; at most {max} are accepted"),
            );
        }
        len <= max
    }

    /// The engagement conditions a question asserts.
    pub fn conditions(&mut self, field: &str, values: Vec<String>) -> Vec<ConditionId> {
        if values.len() > MAX_CONDITIONS {
            self.add(field, format!("at most {MAX_CONDITIONS} conditions"));
            return Vec::new();
        }
        values
            .into_iter()
            .enumerate()
            .filter_map(|(index, value)| self.parsed(&format!("{field}[{index}]"), value))
            .collect()
    }

    /// A known value of a protobuf enum field; `None` for UNSPECIFIED.
    pub fn enumeration<E: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<E> {
        if value == 0 {
            return None;
        }
        match E::try_from(value) {
            Ok(known) => Some(known),
            Err(_) => {
                self.add(field, format!("{value} is not a known value"));
                None
            }
        }
    }

    /// A page size and the key to continue after.
    pub fn page(&mut self, size: u32, token: &str) -> Page {
        let size = match size as usize {
            0 => DEFAULT_PAGE_SIZE,
            size if size > MAX_PAGE_SIZE => {
                self.add("page_size", format!("at most {MAX_PAGE_SIZE}"));
                MAX_PAGE_SIZE
            }
            size => size,
        };
        let after = if token.is_empty() {
            None
        } else {
            let decoded = decode_token(token);
            if decoded.is_none() {
                self.add("page_token", "is not a token this service issued");
            }
            decoded
        };
        Page { size, after }
    }

    /// Free text: `None` when empty. Control characters other than tab and line breaks are
    /// refused: PostgreSQL cannot store NUL, and the rest have no place in a record.
    pub fn text(&mut self, field: &str, value: String, max: usize) -> Option<String> {
        if value.len() > max {
            self.add(field, format!("is longer than {max} bytes"));
        } else if let Some(control) = crate::domain::forbidden_control(&value) {
            self.add(
                field,
                format!(
                    "contains the control character U+{:04X}; text may hold tabs and line breaks, no other control characters",
                    u32::from(control)
                ),
            );
        }
        let trimmed = value.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    /// Free text that must be given: `missing` says what it must state.
    pub fn stated(&mut self, field: &str, value: String, missing: &str) -> Option<String> {
        let text = self.text(field, value, MAX_TEXT_BYTES);
        if text.is_none() {
            self.add(field, missing);
        }
        text
    }

    /// The actor of a change; "api" when the caller names none.
    pub fn actor(&mut self, field: &str, value: String) -> String {
        self.text(field, value, MAX_ACTOR_BYTES)
            .unwrap_or_else(|| "api".to_owned())
    }

    /// A required enum value: UNSPECIFIED and unknown numbers are violations.
    pub fn required<E: TryFrom<i32>>(&mut self, field: &str, value: i32) -> Option<E> {
        if value == 0 {
            self.add(field, "must be set");
            return None;
        }
        self.enumeration(field, value)
    }

    pub fn date(&mut self, field: &str, value: &str) -> Option<jiff::civil::Date> {
        if value.is_empty() {
            return None;
        }
        match value.parse::<jiff::civil::Date>() {
            Ok(date) if value.len() == 10 && crate::domain::is_supported_year(date.year()) => {
                Some(date)
            }
            Ok(_) if value.len() == 10 => {
                self.add(field, "must fall in the years 0001 to 9998");
                None
            }
            _ => {
                self.add(field, "must be a calendar date such as \"2026-03-05\"");
                None
            }
        }
    }

    /// A birth date or a birth year, exactly one.
    pub fn birth(&mut self, date: &str, year: i32) -> Option<Birth> {
        match (date.is_empty(), year) {
            (false, 0) => self.date("birth_date", date).map(Birth::Date),
            (true, 1900..=9999) => i16::try_from(year).ok().map(Birth::Year),
            (true, 0) => {
                self.add("birth_date", "give a birth date or a birth year");
                None
            }
            (true, _) => {
                self.add("birth_year", "must be a year from 1900");
                None
            }
            (false, _) => {
                self.add("birth_year", "give a birth date or a birth year, not both");
                None
            }
        }
    }
}

/// Where a page starts and how long it is.
#[derive(Clone, Debug)]
pub struct Page {
    pub size: usize,
    pub after: Option<String>,
}

impl Page {
    /// The page of `items` (sorted by `key`) and the token of the next one.
    pub fn take<'a, T>(
        &self,
        items: impl IntoIterator<Item = &'a T>,
        key: impl Fn(&T) -> &str,
    ) -> (Vec<&'a T>, String)
    where
        T: 'a,
    {
        let mut page: Vec<&T> = items
            .into_iter()
            .filter(|item| self.after.as_deref().is_none_or(|after| key(item) > after))
            .take(self.size + 1)
            .collect();
        let next = if page.len() > self.size {
            page.truncate(self.size);
            page.last()
                .map(|item| encode_token(key(item)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        (page, next)
    }

    /// The token that continues after `key`.
    pub fn token(key: &str) -> String {
        encode_token(key)
    }
}

/// Page tokens are the last key of the page, hex-encoded: opaque to callers, and checked.
fn encode_token(key: &str) -> String {
    key.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_token(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || token.len() > 512 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|index| u8::from_str_radix(token.get(index..index + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A page of a list keyed by numbers (rights requests, tasks): its size and the key to
/// continue after.
pub fn page_key(violations: &mut Violations, size: u32, token: &str) -> (usize, Option<u64>) {
    let page = violations.page(size, token);
    let after = page.after.as_deref().and_then(|key| {
        let parsed = key.parse::<u64>().ok();
        if parsed.is_none() {
            violations.add("page_token", "is not a token this service issued");
        }
        parsed
    });
    (page.size, after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::wire::timestamp;

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_token(&encode_token("peero")),
            Some("peero".to_owned())
        );
        assert_eq!(decode_token("zz"), None);
        assert_eq!(decode_token("abc"), None);
        assert_eq!(decode_token("ff"), None);
    }

    #[test]
    fn rejects_out_of_range_timestamps() {
        let mut violations = Violations::default();
        let bad = ProtoTimestamp {
            seconds: 0,
            nanos: -1,
        };
        assert!(violations.timestamp("at", Some(&bad)).is_none());
        let far = ProtoTimestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert!(violations.timestamp("at", Some(&far)).is_none());
        assert_eq!(violations.0.len(), 2);
        let at = |text: &str| {
            let instant: jiff::Timestamp = text.parse().unwrap();
            Violations::default()
                .timestamp("at", Some(&timestamp(instant)))
                .is_some()
        };
        assert!(at("0001-01-01T00:00:00Z"));
        assert!(at("9998-12-31T23:59:59.999999999Z"));
        assert!(!at("0000-12-31T23:59:59Z"));
        assert!(!at("-000001-06-01T00:00:00Z"));
        assert!(!at("9999-01-01T00:00:00Z"));
        let mut dates = Violations::default();
        assert!(dates.date("on", "0001-01-01").is_some());
        assert!(dates.date("on", "0000-01-01").is_none());
        assert!(dates.date("on", "9999-12-31").is_none());
        assert_eq!(dates.0.len(), 2);
    }

    #[test]
    fn names_are_refused_in_the_words_of_their_rules() {
        use crate::domain::names::{OrganisationId, RequestId, TaskId};
        let mut violations = Violations::default();
        assert!(
            violations
                .parsed::<String, OrganisationId>("organisation", "".into())
                .is_none()
        );
        assert!(
            violations
                .parsed::<String, OrganisationId>("organisation", "Acme".into())
                .is_none()
        );
        assert!(
            violations
                .parsed::<String, RequestId>("request_id", "a/b".into())
                .is_none()
        );
        assert!(violations.parsed::<_, TaskId>("task_id", 0_u64).is_none());
        assert!(
            violations
                .optional_subject("subject", Some("  ".into()))
                .is_none()
        );
        assert!(violations.optional_subject("subject", None).is_none());
        assert!(
            violations
                .stated("note", " ".into(), "must say why")
                .is_none()
        );
        let refused: Vec<_> = violations
            .0
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                ("organisation", "must not be empty"),
                (
                    "organisation",
                    "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
                ),
                (
                    "request_id",
                    "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'"
                ),
                ("task_id", "must be set"),
                ("subject", "must not be empty when given"),
                ("note", "must say why"),
            ]
        );
        // Parsed values come back whole.
        let mut fine = Violations::default();
        let organisation: Option<OrganisationId> = fine.parsed("organisation", "acme".to_owned());
        assert_eq!(organisation.as_deref(), Some("acme"));
        assert!(fine.finish(|| Some(())).is_ok());
    }

    #[test]
    fn a_field_missing_without_its_violation_is_not_the_callers_mistake() {
        let refused = Violations::default().finish(|| None::<()>);
        assert!(matches!(refused, Err(Error::Internal(_))));
    }

    #[test]
    fn free_text_refuses_control_characters() {
        let mut violations = Violations::default();
        assert_eq!(
            violations.text("note", "two\nlines\tand a tab".into(), 100),
            Some("two\nlines\tand a tab".into())
        );
        violations.text("note", "nul\0".into(), 100);
        violations.text("actor", "bell\u{7}".into(), 100);
        violations.text("reason", "c1\u{85}".into(), 100);
        let fields: Vec<_> = violations.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["note", "actor", "reason"]);
        assert!(violations.0[0].description.contains("U+0000"));
    }
}
