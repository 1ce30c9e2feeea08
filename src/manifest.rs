//! The policy-as-code format: one YAML manifest per organisation (see docs/manifest.md).
//! Parsing reads the document into plain structs; validation checks every rule, collects
//! every problem with its place in the document, and only then builds a domain `Registry`.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    str::FromStr,
};

use jiff::civil::Date;
use serde::Deserialize;

use crate::domain::{
    Spelling,
    geo::{self, Territory},
    names::{
        CategoryKey, ConditionId, NameError, OrganisationId, PurposeId, REGISTRY_ID_RULE,
        RecipientId, is_registry_id,
    },
    policy::{
        Accountability, Agreement, Arrangement, Authority, ColumnField, ConditionalCategory,
        ConsentUnless, Contact, ControllerServed, Cookie, CookieCategory, CustomCategory,
        DataProtection, DocumentKind, DocumentLayout, DocumentRow, DpiaCriterion, DpiaRecord,
        Engagement, EngagementCondition, LayoutColumn, LegalBasis, Measure, Mechanism, MinimumAge,
        Organisation, OrganisationRole, Period, Purpose, Recipient, RecipientKind, RecipientStatus,
        Registry, RetentionEvent, RetentionRule, RowPart, Safeguard, SpecialCondition, Technique,
        UntestedInterests,
    },
    taxonomy::{self, Sensitivity},
    text::{Language, Localised},
};

/// The newest manifest format version this build reads; it reads every earlier one too.
pub const FORMAT_VERSION: u32 = 2;
/// Default upper bound of a manifest's size.
pub const DEFAULT_MAX_BYTES: usize = 1024 * 1024;

const MAX_NAME_LEN: usize = 300;
/// Oldest minimum age a service may set: beyond it a "minimum age" is no longer about minors.
const MAX_MINIMUM_AGE: u8 = 25;
const MAX_TEXT_LEN: usize = 4000;
/// Most problems reported for one manifest; the rest are summarised.
const MAX_VIOLATIONS: usize = 100;
/// Most parents above a subprocessor. Check walks the whole chain; the limit keeps its cost
/// and the published subprocessor list within what any real contract chain needs.
pub const MAX_PARENT_CHAIN: usize = 32;

/// One problem, at its place in the document: `purposes[2].recipients[0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a manifest was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("manifest is empty")]
    Empty,
    #[error("manifest is not valid YAML for this format: {0}")]
    Syntax(Violation),
    #[error("manifest is invalid: {} problem(s), first: {}", .0.len(), .0[0])]
    Invalid(Vec<Violation>),
}

impl ManifestError {
    pub fn violations(&self) -> Vec<Violation> {
        match self {
            ManifestError::TooLarge { .. } | ManifestError::Empty => vec![Violation {
                path: "manifest".into(),
                message: self.to_string(),
            }],
            ManifestError::Syntax(violation) => vec![violation.clone()],
            ManifestError::Invalid(violations) => violations.clone(),
        }
    }
}

/// A validated manifest: the registry it describes and what will make Check deny.
#[derive(Clone, Debug)]
pub struct Parsed {
    pub registry: Registry,
    pub warnings: Vec<Violation>,
}

/// Parses and validates a manifest of at most `max_bytes`.
pub fn parse(text: &str, max_bytes: usize) -> Result<Parsed, ManifestError> {
    if text.len() > max_bytes {
        return Err(ManifestError::TooLarge {
            size: text.len(),
            limit: max_bytes,
        });
    }
    if text.trim().is_empty() {
        return Err(ManifestError::Empty);
    }
    if let Some((offset, control)) = text
        .char_indices()
        .find(|(_, c)| crate::domain::is_forbidden_control(*c))
    {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        return Err(ManifestError::Syntax(Violation {
            path: format!("line {line}, column {column}"),
            message: control_message(control),
        }));
    }
    let document: Document = serde_saphyr::from_str(text).map_err(syntax_error)?;
    // Only an escape in a double-quoted scalar ("\0", "\x07", "\u0000") makes a control
    // character the raw text does not show.
    if text.contains('\\') {
        let tree: serde_json::Value = serde_saphyr::from_str(text).map_err(syntax_error)?;
        let mut found = Vec::new();
        controls_in(&tree, &mut String::new(), &mut found);
        if !found.is_empty() {
            found.truncate(MAX_VIOLATIONS);
            return Err(ManifestError::Invalid(found));
        }
    }
    Validator::default().validate(document)
}

/// An entry of a list by its position and, when it has a well-formed id or key, by that too
/// (`recipients[5] (klaviyo)`): a reader finds the entry by the name they gave it, not by
/// counting. Only well-formed names are shown, so a message never repeats a malformed one
/// in its path.
fn entry(list: &str, index: usize, name: &str) -> String {
    if is_registry_id(name) || name.parse::<CategoryKey>().is_ok() {
        format!("{list}[{index}] ({name})")
    } else {
        format!("{list}[{index}]")
    }
}

fn control_message(control: char) -> String {
    format!(
        "contains the control character U+{:04X}; text may hold tabs and line breaks, no other control characters",
        u32::from(control)
    )
}

/// Every string of the document (keys too) holding a control character, by its path.
fn controls_in(value: &serde_json::Value, path: &mut String, found: &mut Vec<Violation>) {
    fn note(path: &str, text: &str, found: &mut Vec<Violation>) {
        if let Some(control) = crate::domain::forbidden_control(text) {
            found.push(Violation {
                path: path.to_owned(),
                message: control_message(control),
            });
        }
    }
    match value {
        serde_json::Value::String(text) => note(path, text, found),
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                let name = ["id", "key"]
                    .iter()
                    .find_map(|field| item.get(field)?.as_str())
                    .unwrap_or_default();
                let named = entry(path, index, name);
                path.clear();
                path.push_str(&named);
                controls_in(item, path, found);
                path.truncate(length);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                note(path, key, found);
                controls_in(item, path, found);
                path.truncate(length);
            }
        }
        _ => {}
    }
}

fn syntax_error(error: serde_saphyr::Error) -> ManifestError {
    let path = match error.location() {
        Some(location) => format!("line {}, column {}", location.line(), location.column()),
        None => "manifest".to_owned(),
    };
    // The crate renders "error: line L column C: message" and may quote the source below;
    // the location is already in the path, so keep the message proper.
    let rendered = error.to_string();
    let first_line = rendered.lines().next().unwrap_or_default();
    let without_label = first_line.strip_prefix("error: ").unwrap_or(first_line);
    let message = match without_label.split_once(": ") {
        Some((location, rest)) if location.starts_with("line ") => rest,
        _ => without_label,
    };
    let message = if message.is_empty() {
        "not valid YAML"
    } else {
        message
    }
    .to_owned();
    ManifestError::Syntax(Violation { path, message })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: u32,
    organisation: OrganisationDoc,
    #[serde(default)]
    categories: Vec<CategoryDoc>,
    #[serde(default)]
    recipients: Vec<RecipientDoc>,
    #[serde(default)]
    purposes: Vec<PurposeDoc>,
    #[serde(default)]
    documents: Vec<DocumentDoc>,
    #[serde(default)]
    cookies: Vec<CookieDoc>,
}

/// A display text: a plain string in the default language, or `{lv: ..., en: ...}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TextDoc {
    Plain(String),
    ByLanguage(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentDoc {
    id: String,
    kind: String,
    title: TextDoc,
    #[serde(default)]
    columns: Vec<ColumnDoc>,
    #[serde(default)]
    rows: Vec<RowDoc>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnDoc {
    field: String,
    heading: TextDoc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RowDoc {
    label: String,
    part: Option<String>,
    heading: Option<TextDoc>,
    #[serde(default)]
    purposes: Vec<String>,
    #[serde(default)]
    recipients: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CookieDoc {
    name: String,
    provider: String,
    category: String,
    purpose: Option<String>,
    description: TextDoc,
    duration: TextDoc,
    consent_required: Option<bool>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorityDoc {
    name: String,
    address: Option<String>,
    website: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureDoc {
    text: TextDoc,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerDoc {
    name: Option<String>,
    category: Option<TextDoc>,
    agreement: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArrangementDoc {
    reference: Option<String>,
    essence: TextDoc,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DataProtectionDoc {
    technique: String,
    description: Option<TextDoc>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DpiaDoc {
    reference: String,
    completed_on: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionalCategoryDoc {
    category: String,
    when: TextDoc,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganisationDoc {
    id: String,
    legal_name: String,
    registration_number: Option<String>,
    country: String,
    role: String,
    dpo: Option<ContactDoc>,
    #[serde(default)]
    rights: RightsDoc,
    minimum_age: Option<MinimumAgeDoc>,
    legitimate_interests_without_test: Option<String>,
    language: Option<String>,
    address: Option<String>,
    supervisory_authority: Option<AuthorityDoc>,
    reviewed_on: Option<String>,
    #[serde(default)]
    security_measures: Vec<MeasureDoc>,
    #[serde(default)]
    controllers: Vec<ControllerDoc>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MinimumAgeDoc {
    years: u32,
    source: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RightsDoc {
    #[serde(default)]
    clock_waits_for_identity: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactDoc {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryDoc {
    key: String,
    name: TextDoc,
    sensitivity: Option<String>,
    dpv: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientDoc {
    id: String,
    name: TextDoc,
    kind: String,
    parent: Option<String>,
    locations: Vec<String>,
    #[serde(default)]
    agreements: Vec<AgreementDoc>,
    #[serde(default)]
    safeguards: Vec<SafeguardDoc>,
    status: Option<String>,
    objection_window_ends: Option<String>,
    description: Option<TextDoc>,
    data_processed: Option<TextDoc>,
    arrangement: Option<ArrangementDoc>,
    registration_number: Option<String>,
    address: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementDoc {
    reference: String,
    effective_from: Option<String>,
    effective_to: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SafeguardDoc {
    mechanism: String,
    module: Option<u8>,
    #[serde(default)]
    countries: Vec<String>,
    reference: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurposeDoc {
    id: String,
    name: TextDoc,
    description: Option<TextDoc>,
    legal_basis: Option<String>,
    legal_basis_qualifier: Option<TextDoc>,
    data_protection: Option<DataProtectionDoc>,
    #[serde(default)]
    conditional_categories: Vec<ConditionalCategoryDoc>,
    #[serde(default)]
    dpia_criteria: Vec<String>,
    dpia: Option<DpiaDoc>,
    legal_basis_source: Option<String>,
    balancing_test: Option<String>,
    legitimate_interest: Option<String>,
    special_category_condition: Option<String>,
    criminal_data_authorisation: Option<String>,
    #[serde(default)]
    direct_marketing: bool,
    #[serde(default)]
    storage_only: bool,
    consent_unless: Option<ConsentUnlessDoc>,
    #[serde(default)]
    data_subjects: Vec<String>,
    #[serde(default)]
    data_sources: Vec<String>,
    categories: Vec<String>,
    #[serde(default)]
    recipients: Vec<EngagementDoc>,
    #[serde(default)]
    retention: Vec<RetentionDoc>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EngagementDoc {
    id: String,
    #[serde(default)]
    categories: Vec<String>,
    condition: Option<ConditionDoc>,
    data_processed: Option<TextDoc>,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentUnlessDoc {
    id: String,
    description: String,
    source: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionDoc {
    id: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionDoc {
    period: String,
    from: String,
    #[serde(default)]
    categories: Vec<String>,
    description: Option<TextDoc>,
    source: String,
}

/// Whether a location outside the EEA is covered today by an adequacy decision that applies to
/// the recipient (the US one only with DPF certification) or by one of its safeguards.
fn covered_today(territory: Territory, safeguards: &[Safeguard]) -> bool {
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let certified = safeguards
        .iter()
        .any(|safeguard| safeguard.mechanism == Mechanism::Dpf);
    let adequate = geo::adequacy_on(territory, today)
        .is_some_and(|adequacy| adequacy.scope != geo::AdequacyScope::DpfCertified || certified);
    adequate
        || safeguards.iter().any(|safeguard| {
            safeguard.mechanism != Mechanism::Dpf
                && (safeguard.countries.is_empty() || safeguard.countries.contains(&territory))
        })
}

/// Where a recipient's chain of parents leads.
enum Chain {
    /// Back to the recipient itself.
    Cycle,
    /// To a recipient without a parent (or an unknown one, reported on its own), this many
    /// parents up.
    Depth(usize),
}

fn parent_chain(docs: &[RecipientDoc], ids: &HashMap<String, usize>, start: usize) -> Chain {
    let mut current = start;
    for depth in 0..docs.len() {
        match docs[current]
            .parent
            .as_ref()
            .and_then(|parent| ids.get(parent))
        {
            Some(&next) if next == start => return Chain::Cycle,
            Some(&next) => current = next,
            None => return Chain::Depth(depth),
        }
    }
    // Longer than the list: a loop above the recipient, reported where it closes.
    Chain::Cycle
}

#[derive(Default)]
struct Validator {
    violations: Vec<Violation>,
    warnings: Vec<Violation>,
    /// The document's format version.
    version: u32,
    /// The default language of its texts (format 2).
    language: Option<Language>,
    /// Category keys known to the document: the default taxonomy and the document's own.
    categories: HashMap<String, Sensitivity>,
}

impl Validator {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// An id of the registry, parsed by its type's rule (`domain::names`).
    fn id<N: FromStr<Err = NameError>>(&mut self, path: String, id: &str, what: &str) {
        if let Err(refused) = id.parse::<N>() {
            let rule = match refused {
                // An empty id is named as every other bad one is: quoted, with the rule.
                NameError::Empty => REGISTRY_ID_RULE.to_owned(),
                other => other.to_string(),
            };
            self.fail(path, format!("{what} id {id:?} {rule}"));
        }
    }

    fn text(&mut self, path: String, text: &str, max: usize, required: bool) {
        if required && text.trim().is_empty() {
            self.fail(path, "must not be empty");
        } else if text.len() > max {
            self.fail(
                path,
                format!("is {} bytes, over the limit of {max}", text.len()),
            );
        }
    }

    /// A display text: plain (in the default language), or, in format 2, the wording per
    /// language, which must include the default.
    fn localised(&mut self, path: String, doc: &TextDoc, max: usize) -> Localised {
        let by_language = match doc {
            TextDoc::Plain(text) => {
                self.text(path, text, max, true);
                return text.trim().into();
            }
            TextDoc::ByLanguage(by_language) => by_language,
        };
        let Some(default) = self.language else {
            // In format 2 the missing or malformed default language is refused once, where
            // it is stated.
            if self.version < 2 {
                self.fail(
                    path,
                    "a text by language needs version: 2 and organisation.language, its default",
                );
            }
            return Localised::default();
        };
        let mut text = None;
        let mut translations = BTreeMap::new();
        for (code, wording) in by_language {
            let field = format!("{path}.{code}");
            match code.parse::<Language>() {
                Ok(language) => {
                    self.text(field, wording, max, true);
                    let wording = wording.trim().to_owned();
                    if language == default {
                        text = Some(wording);
                    } else {
                        translations.insert(language, wording);
                    }
                }
                Err(refused) => self.fail(field, refused.to_string()),
            }
        }
        match text {
            Some(text) => Localised::new(text, translations),
            None => {
                self.fail(
                    path,
                    format!("has no wording in the default language {default:?}"),
                );
                Localised::default()
            }
        }
    }

    fn optional_localised(
        &mut self,
        path: String,
        doc: &Option<TextDoc>,
        max: usize,
    ) -> Option<Localised> {
        match doc {
            // An empty plain text reads as absent, as `optional_text` has it.
            Some(TextDoc::Plain(text)) if text.trim().is_empty() => None,
            Some(doc) => Some(self.localised(path, doc, max)),
            None => None,
        }
    }

    fn optional_text(&mut self, path: String, text: &Option<String>, max: usize) -> Option<String> {
        let text = text.as_ref()?.trim();
        self.text(path, text, max, false);
        (!text.is_empty()).then(|| text.to_owned())
    }

    fn territory(&mut self, path: String, code: &str) -> Option<Territory> {
        let territory = code.parse::<Territory>().ok();
        if territory.is_none() {
            self.fail(
                path,
                format!(
                    "{code:?} is not an ISO 3166-1 alpha-2 country code (upper case), \"EPO\" or \"ZZ\" (a country outside the EEA the document does not name)"
                ),
            );
        }
        territory
    }

    fn date(&mut self, path: String, text: &str) -> Option<Date> {
        match text.parse::<Date>() {
            Ok(date) if text.len() == 10 && crate::domain::is_supported_year(date.year()) => {
                Some(date)
            }
            Ok(_) if text.len() == 10 => {
                self.fail(path, format!("{text:?} is outside the years 0001 to 9998"));
                None
            }
            _ => {
                self.fail(
                    path,
                    format!("{text:?} is not a calendar date such as \"2025-04-01\""),
                );
                None
            }
        }
    }

    /// `Some(None)` when absent, `None` when present and malformed.
    fn optional_date(&mut self, path: String, text: &Option<String>) -> Option<Option<Date>> {
        match text {
            None => Some(None),
            Some(text) => self.date(path, text).map(Some),
        }
    }

    fn spelled<T: Spelling>(&mut self, path: String, text: &str) -> Option<T> {
        let found = text.parse::<T>().ok();
        if found.is_none() {
            self.fail(path, format!("{text:?} is not one of {}", T::choices()));
        }
        found
    }

    fn category_refs(&mut self, path: &str, keys: &[String]) {
        let mut seen = HashSet::new();
        for (index, key) in keys.iter().enumerate() {
            if !self.categories.contains_key(key) {
                self.fail(
                    format!("{path}[{index}]"),
                    format!("unknown category {key:?}"),
                );
            } else if !seen.insert(key) {
                self.fail(
                    format!("{path}[{index}]"),
                    format!("category {key:?} is listed twice"),
                );
            }
        }
    }

    fn validate(mut self, document: Document) -> Result<Parsed, ManifestError> {
        self.version = document.version;
        if !(1..=FORMAT_VERSION).contains(&document.version) {
            self.fail(
                "version",
                format!(
                    "format version {} is not supported; this build reads versions 1 to {FORMAT_VERSION}",
                    document.version
                ),
            );
        }
        let organisation = self.organisation(document.organisation);
        for builtin in taxonomy::DEFAULT_TAXONOMY {
            self.categories
                .insert(builtin.key.to_owned(), builtin.sensitivity);
        }
        let categories = self.custom_categories(document.categories);
        if let Some(organisation) = &organisation
            && let Some(index) = document
                .recipients
                .iter()
                .position(|recipient| recipient.id == organisation.id)
        {
            self.fail(
                format!("{}.id", entry("recipients", index, &organisation.id)),
                "a recipient cannot have the organisation's own id, which Check reads as processing in-house",
            );
        }
        let recipients =
            self.recipients(document.recipients, organisation.as_ref().map(|o| o.role));
        let purposes = self.purposes(
            document.purposes,
            &recipients,
            organisation.as_ref().map(|o| o.role),
            organisation
                .as_ref()
                .map_or(UntestedInterests::Deny, |o| o.untested_interests),
        );
        let documents = self.documents(document.documents, &recipients, &purposes);
        let cookies = self.cookies(document.cookies, &purposes);

        if !self.violations.is_empty() {
            if self.violations.len() > MAX_VIOLATIONS {
                let more = self.violations.len() - MAX_VIOLATIONS;
                self.violations.truncate(MAX_VIOLATIONS);
                self.fail("manifest", format!("{more} more problem(s) not listed"));
            }
            return Err(ManifestError::Invalid(self.violations));
        }
        let Some(organisation) = organisation else {
            // An organisation that failed to validate always leaves a violation behind.
            return Err(ManifestError::Invalid(vec![Violation {
                path: "organisation".into(),
                message: "is invalid".into(),
            }]));
        };
        Ok(Parsed {
            registry: Registry {
                organisation,
                categories,
                recipients: recipients
                    .into_iter()
                    .map(|(recipient, _)| recipient)
                    .collect(),
                purposes,
                documents,
                cookies,
            }
            .normalise(),
            warnings: self.warnings,
        })
    }

    fn organisation(&mut self, doc: OrganisationDoc) -> Option<Organisation> {
        self.id::<OrganisationId>("organisation.id".into(), &doc.id, "organisation");
        match (&doc.language, self.version) {
            (Some(code), 2..) => match code.parse::<Language>() {
                Ok(language) => self.language = Some(language),
                Err(refused) => self.fail("organisation.language", refused.to_string()),
            },
            (Some(_), _) => self.fail(
                "organisation.language",
                "a default language belongs to format 2: set version: 2",
            ),
            (None, 2..) => self.fail(
                "organisation.language",
                "format 2 needs the default language of the texts, such as \"lv\"",
            ),
            (None, _) => {}
        }
        self.text(
            "organisation.legal_name".into(),
            &doc.legal_name,
            MAX_NAME_LEN,
            true,
        );
        self.text(
            "organisation.source".into(),
            &doc.source,
            MAX_TEXT_LEN,
            true,
        );
        let country = self.territory("organisation.country".into(), &doc.country);
        if country.is_some_and(|country| !country.is_eea()) {
            self.warn(
                "organisation.country",
                format!(
                    "{} is outside the EEA; consent ages default to 16",
                    doc.country
                ),
            );
        }
        let role = self.spelled::<OrganisationRole>("organisation.role".into(), &doc.role);
        let registration_number = self.optional_text(
            "organisation.registration_number".into(),
            &doc.registration_number,
            MAX_NAME_LEN,
        );
        let dpo = doc.dpo.as_ref().map(|dpo| Contact {
            name: self.optional_text("organisation.dpo.name".into(), &dpo.name, MAX_NAME_LEN),
            email: self.optional_text("organisation.dpo.email".into(), &dpo.email, MAX_NAME_LEN),
            phone: self.optional_text("organisation.dpo.phone".into(), &dpo.phone, MAX_NAME_LEN),
            address: self.optional_text(
                "organisation.dpo.address".into(),
                &dpo.address,
                MAX_TEXT_LEN,
            ),
        });
        let minimum_age = doc.minimum_age.as_ref().and_then(|minimum| {
            self.text(
                "organisation.minimum_age.source".into(),
                &minimum.source,
                MAX_TEXT_LEN,
                true,
            );
            match u8::try_from(minimum.years) {
                Ok(years @ 1..=MAX_MINIMUM_AGE) => Some(MinimumAge {
                    years,
                    source: minimum.source.trim().to_owned(),
                }),
                _ => {
                    self.fail(
                        "organisation.minimum_age.years",
                        format!("must be a whole number of years from 1 to {MAX_MINIMUM_AGE}"),
                    );
                    None
                }
            }
        });
        let untested_interests = match &doc.legitimate_interests_without_test {
            None => Some(UntestedInterests::Deny),
            Some(text) => self.spelled::<UntestedInterests>(
                "organisation.legitimate_interests_without_test".into(),
                text,
            ),
        };
        let accountability = self.accountability(&doc);
        Some(Organisation {
            id: doc.id,
            legal_name: doc.legal_name.trim().to_owned(),
            registration_number,
            country: country?,
            role: role?,
            dpo,
            clock_waits_for_identity: doc.rights.clock_waits_for_identity,
            minimum_age,
            untested_interests: untested_interests?,
            language: self.language,
            accountability,
            source: doc.source.trim().to_owned(),
        })
    }

    fn accountability(&mut self, doc: &OrganisationDoc) -> Accountability {
        let address = self.optional_text("organisation.address".into(), &doc.address, MAX_TEXT_LEN);
        let supervisory_authority = doc.supervisory_authority.as_ref().map(|authority| {
            let path = "organisation.supervisory_authority";
            self.text(format!("{path}.name"), &authority.name, MAX_NAME_LEN, true);
            self.text(
                format!("{path}.source"),
                &authority.source,
                MAX_TEXT_LEN,
                true,
            );
            Authority {
                name: authority.name.trim().to_owned(),
                address: self.optional_text(
                    format!("{path}.address"),
                    &authority.address,
                    MAX_TEXT_LEN,
                ),
                website: self.optional_text(
                    format!("{path}.website"),
                    &authority.website,
                    MAX_NAME_LEN,
                ),
                source: authority.source.trim().to_owned(),
            }
        });
        let reviewed_on = self
            .optional_date("organisation.reviewed_on".into(), &doc.reviewed_on)
            .flatten();
        let security_measures = doc
            .security_measures
            .iter()
            .enumerate()
            .map(|(index, measure)| {
                let path = format!("organisation.security_measures[{index}]");
                self.text(
                    format!("{path}.source"),
                    &measure.source,
                    MAX_TEXT_LEN,
                    true,
                );
                Measure {
                    text: self.localised(format!("{path}.text"), &measure.text, MAX_TEXT_LEN),
                    source: measure.source.trim().to_owned(),
                }
            })
            .collect();
        let controllers = doc
            .controllers
            .iter()
            .enumerate()
            .map(|(index, controller)| {
                let path = format!("organisation.controllers[{index}]");
                self.text(
                    format!("{path}.source"),
                    &controller.source,
                    MAX_TEXT_LEN,
                    true,
                );
                let served = ControllerServed {
                    name: self.optional_text(
                        format!("{path}.name"),
                        &controller.name,
                        MAX_NAME_LEN,
                    ),
                    category: self.optional_localised(
                        format!("{path}.category"),
                        &controller.category,
                        MAX_TEXT_LEN,
                    ),
                    agreement: self.optional_text(
                        format!("{path}.agreement"),
                        &controller.agreement,
                        MAX_TEXT_LEN,
                    ),
                    source: controller.source.trim().to_owned(),
                };
                if served.name.is_none() && served.category.is_none() {
                    self.fail(path, "names the controller or the category of customers");
                }
                served
            })
            .collect();
        Accountability {
            address,
            supervisory_authority,
            reviewed_on,
            security_measures,
            controllers,
        }
    }

    fn documents(
        &mut self,
        docs: Vec<DocumentDoc>,
        recipients: &[(Recipient, usize)],
        purposes: &[Purpose],
    ) -> Vec<DocumentLayout> {
        let mut ids = HashSet::new();
        let mut documents = Vec::with_capacity(docs.len());
        for (index, doc) in docs.into_iter().enumerate() {
            let path = entry("documents", index, &doc.id);
            self.id::<PurposeId>(format!("{path}.id"), &doc.id, "document");
            if !ids.insert(doc.id.clone()) {
                self.fail(
                    format!("{path}.id"),
                    format!("document {:?} is declared twice", doc.id),
                );
            }
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let kind = self.spelled::<DocumentKind>(format!("{path}.kind"), &doc.kind);
            let title = self.localised(format!("{path}.title"), &doc.title, MAX_NAME_LEN);
            let mut columns = Vec::with_capacity(doc.columns.len());
            for (position, column) in doc.columns.iter().enumerate() {
                let column_path = format!("{path}.columns[{position}]");
                let field =
                    self.spelled::<ColumnField>(format!("{column_path}.field"), &column.field);
                let heading = self.localised(
                    format!("{column_path}.heading"),
                    &column.heading,
                    MAX_NAME_LEN,
                );
                if let Some(field) = field {
                    columns.push(LayoutColumn { field, heading });
                }
            }
            let mut labels = HashSet::new();
            let mut rows = Vec::with_capacity(doc.rows.len());
            for (position, row) in doc.rows.into_iter().enumerate() {
                let row_path = format!("{path}.rows[{position}]");
                self.text(format!("{row_path}.label"), &row.label, MAX_NAME_LEN, true);
                if !labels.insert(row.label.trim().to_owned()) {
                    self.fail(
                        format!("{row_path}.label"),
                        format!("row {:?} is listed twice", row.label),
                    );
                }
                let heading = self.optional_localised(
                    format!("{row_path}.heading"),
                    &row.heading,
                    MAX_TEXT_LEN,
                );
                for (at, id) in row.purposes.iter().enumerate() {
                    if !purposes.iter().any(|purpose| purpose.id == *id) {
                        self.fail(
                            format!("{row_path}.purposes[{at}]"),
                            format!("unknown purpose {id:?}"),
                        );
                    }
                }
                for (at, id) in row.recipients.iter().enumerate() {
                    if !recipients.iter().any(|(recipient, _)| recipient.id == *id) {
                        self.fail(
                            format!("{row_path}.recipients[{at}]"),
                            format!("unknown recipient {id:?}"),
                        );
                    }
                }
                let part = match &row.part {
                    None => RowPart::Table,
                    Some(text) => self
                        .spelled::<RowPart>(format!("{row_path}.part"), text)
                        .unwrap_or_default(),
                };
                rows.push(DocumentRow {
                    label: row.label.trim().to_owned(),
                    part,
                    heading,
                    purposes: row.purposes,
                    recipients: row.recipients,
                });
            }
            if let Some(kind) = kind {
                documents.push(DocumentLayout {
                    id: doc.id,
                    kind,
                    title,
                    columns,
                    rows,
                    source: doc.source.trim().to_owned(),
                });
            }
        }
        documents
    }

    fn cookies(&mut self, docs: Vec<CookieDoc>, purposes: &[Purpose]) -> Vec<Cookie> {
        let mut seen = HashSet::new();
        let mut cookies = Vec::with_capacity(docs.len());
        for (index, doc) in docs.into_iter().enumerate() {
            let path = format!("cookies[{index}] ({})", doc.name.trim());
            self.text(format!("{path}.name"), &doc.name, MAX_NAME_LEN, true);
            self.text(
                format!("{path}.provider"),
                &doc.provider,
                MAX_NAME_LEN,
                true,
            );
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            if !seen.insert((doc.name.trim().to_owned(), doc.provider.trim().to_owned())) {
                self.fail(
                    format!("{path}.name"),
                    format!(
                        "cookie {:?} of {:?} is listed twice",
                        doc.name, doc.provider
                    ),
                );
            }
            let category =
                self.spelled::<CookieCategory>(format!("{path}.category"), &doc.category);
            if let Some(purpose) = &doc.purpose
                && !purposes.iter().any(|known| known.id == *purpose)
            {
                self.fail(
                    format!("{path}.purpose"),
                    format!("unknown purpose {purpose:?}"),
                );
            }
            let description = self.localised(
                format!("{path}.description"),
                &doc.description,
                MAX_TEXT_LEN,
            );
            let duration = self.localised(format!("{path}.duration"), &doc.duration, MAX_NAME_LEN);
            let Some(category) = category else {
                continue;
            };
            let necessary = category == CookieCategory::Necessary;
            let consent_required = match doc.consent_required {
                None => !necessary,
                Some(false) if !necessary => {
                    self.fail(
                        format!("{path}.consent_required"),
                        "only a strictly necessary cookie is exempt from consent (ePrivacy Directive Art. 5(3))",
                    );
                    true
                }
                Some(stated) => stated,
            };
            cookies.push(Cookie {
                name: doc.name.trim().to_owned(),
                provider: doc.provider.trim().to_owned(),
                category,
                purpose: doc.purpose,
                description,
                duration,
                consent_required,
                source: doc.source.trim().to_owned(),
            });
        }
        cookies
    }

    fn custom_categories(&mut self, docs: Vec<CategoryDoc>) -> Vec<CustomCategory> {
        // Keys first, so that a category may name a parent declared after it.
        let mut declared = HashSet::new();
        for (index, doc) in docs.iter().enumerate() {
            let path = format!("{}.key", entry("categories", index, &doc.key));
            if doc.key.parse::<CategoryKey>().is_err() {
                self.fail(
                    path,
                    format!(
                        "{:?} is not a category key: dot-separated segments of a-z, 0-9, '_' or '-', each starting with a letter, at most {} deep",
                        doc.key,
                        taxonomy::MAX_DEPTH
                    ),
                );
            } else if taxonomy::builtin(&doc.key).is_some() {
                self.fail(
                    path,
                    format!("{:?} is already in the default taxonomy", doc.key),
                );
            } else if !declared.insert(doc.key.clone()) {
                self.fail(path, format!("category {:?} is declared twice", doc.key));
            }
        }
        let mut categories = Vec::with_capacity(docs.len());
        for (index, doc) in docs.into_iter().enumerate() {
            let path = entry("categories", index, &doc.key);
            if let Some(parent) = taxonomy::parent_key(&doc.key)
                && taxonomy::builtin(parent).is_none()
                && !declared.contains(parent)
            {
                self.fail(
                    format!("{path}.key"),
                    format!("parent category {parent:?} is neither in the default taxonomy nor declared here"),
                );
            }
            let name = self.localised(format!("{path}.name"), &doc.name, MAX_NAME_LEN);
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let sensitivity = match doc.sensitivity.as_deref() {
                None => Some(Sensitivity::Ordinary),
                Some(text) => self.spelled::<Sensitivity>(format!("{path}.sensitivity"), text),
            };
            let dpv = self.optional_text(format!("{path}.dpv"), &doc.dpv, MAX_NAME_LEN);
            let Some(sensitivity) = sensitivity else {
                continue;
            };
            self.categories.insert(doc.key.clone(), sensitivity);
            categories.push(CustomCategory {
                key: doc.key,
                name,
                sensitivity,
                dpv,
                source: doc.source.trim().to_owned(),
            });
        }
        // Sensitivity is inherited: a child of a special category is special.
        let inherited: Vec<(String, Sensitivity)> = self
            .categories
            .keys()
            .map(|key| {
                let strongest =
                    std::iter::successors(Some(key.as_str()), |key| taxonomy::parent_key(key))
                        .filter_map(|key| self.categories.get(key))
                        .max()
                        .copied()
                        .unwrap_or(Sensitivity::Ordinary);
                (key.clone(), strongest)
            })
            .collect();
        self.categories.extend(inherited);
        categories
    }

    fn recipients(
        &mut self,
        docs: Vec<RecipientDoc>,
        role: Option<OrganisationRole>,
    ) -> Vec<(Recipient, usize)> {
        let mut ids = HashMap::new();
        for (index, doc) in docs.iter().enumerate() {
            let path = format!("{}.id", entry("recipients", index, &doc.id));
            self.id::<RecipientId>(path.clone(), &doc.id, "recipient");
            if ids.insert(doc.id.clone(), index).is_some() {
                self.fail(path, format!("recipient {:?} is declared twice", doc.id));
            }
        }
        let kinds: HashMap<&str, Option<RecipientKind>> = docs
            .iter()
            .map(|doc| (doc.id.as_str(), doc.kind.parse::<RecipientKind>().ok()))
            .collect();
        let mut recipients = Vec::with_capacity(docs.len());
        for (index, doc) in docs.iter().enumerate() {
            let path = entry("recipients", index, &doc.id);
            let name = self.localised(format!("{path}.name"), &doc.name, MAX_NAME_LEN);
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let kind = self.spelled::<RecipientKind>(format!("{path}.kind"), &doc.kind);
            match (&doc.parent, kind) {
                (Some(parent), Some(RecipientKind::Subprocessor)) => match kinds
                    .get(parent.as_str())
                {
                    None => self.fail(
                        format!("{path}.parent"),
                        format!("unknown recipient {parent:?}"),
                    ),
                    Some(parent_kind) if !parent_kind.is_some_and(RecipientKind::is_processor) => {
                        self.fail(
                            format!("{path}.parent"),
                            format!("recipient {parent:?} is not a processor or subprocessor"),
                        )
                    }
                    Some(_) => match parent_chain(&docs, &ids, index) {
                        Chain::Cycle => self.fail(
                            format!("{path}.parent"),
                            format!(
                                "recipient {:?} sits, through its parents, under itself",
                                doc.id
                            ),
                        ),
                        Chain::Depth(depth) if depth > MAX_PARENT_CHAIN => self.fail(
                            format!("{path}.parent"),
                            format!(
                                "recipient {:?} sits {depth} levels below its processor; a chain of subprocessors may be at most {MAX_PARENT_CHAIN} deep",
                                doc.id
                            ),
                        ),
                        Chain::Depth(_) => {}
                    },
                },
                (Some(_), Some(_)) => {
                    self.fail(format!("{path}.parent"), "only a subprocessor has a parent")
                }
                (None, Some(RecipientKind::Subprocessor))
                    if role == Some(OrganisationRole::Controller) =>
                {
                    self.fail(
                        format!("{path}.parent"),
                        "a controller's subprocessor must name the processor it sits under",
                    )
                }
                _ => {}
            }

            if doc.locations.is_empty() {
                self.fail(
                    format!("{path}.locations"),
                    "at least one location is required",
                );
            }
            let mut locations = Vec::new();
            for (position, code) in doc.locations.iter().enumerate() {
                if let Some(territory) =
                    self.territory(format!("{path}.locations[{position}]"), code)
                {
                    if locations.contains(&territory) {
                        self.fail(
                            format!("{path}.locations[{position}]"),
                            format!("{code} is listed twice"),
                        );
                    }
                    locations.push(territory);
                }
            }

            let agreements = self.agreements(&path, &doc.agreements);
            if kind.is_some_and(RecipientKind::is_processor) && doc.agreements.is_empty() {
                self.warn(
                    format!("{path}.agreements"),
                    format!(
                        "processor {:?} has no processing agreement; Check will deny (Art. 28(3))",
                        doc.id
                    ),
                );
            } else if kind.is_some_and(|kind| !kind.is_processor()) && !doc.agreements.is_empty() {
                self.fail(
                    format!("{path}.agreements"),
                    "only processors and subprocessors have Art. 28(3) processing agreements",
                );
            }
            let safeguards = self.safeguards(&path, &doc.safeguards, &locations);
            for territory in &locations {
                if !territory.is_eea() && !covered_today(*territory, &safeguards) {
                    self.warn(
                        format!("{path}.locations"),
                        format!(
                            "{territory} is outside the EEA without an adequacy decision in force today that covers this recipient, and without a safeguard; Check will deny"
                        ),
                    );
                }
            }

            let status = match (
                doc.status.as_deref().unwrap_or("active"),
                &doc.objection_window_ends,
            ) {
                ("active", None) => Some(RecipientStatus::Active),
                ("retired", None) => Some(RecipientStatus::Retired),
                ("proposed", Some(ends)) => {
                    if kind != Some(RecipientKind::Subprocessor) {
                        self.fail(
                            format!("{path}.status"),
                            "only a subprocessor can be proposed",
                        );
                    }
                    self.date(format!("{path}.objection_window_ends"), ends)
                        .map(|objection_window_ends| RecipientStatus::Proposed {
                            objection_window_ends,
                        })
                }
                ("proposed", None) => {
                    self.fail(
                        format!("{path}.objection_window_ends"),
                        "a proposed subprocessor needs the last day of its objection window",
                    );
                    None
                }
                ("active" | "retired", Some(_)) => {
                    self.fail(
                        format!("{path}.objection_window_ends"),
                        "only a proposed subprocessor has an objection window",
                    );
                    None
                }
                (other, _) => {
                    self.fail(
                        format!("{path}.status"),
                        format!("{other:?} is not one of active, proposed, retired"),
                    );
                    None
                }
            };

            let description = self.optional_localised(
                format!("{path}.description"),
                &doc.description,
                MAX_TEXT_LEN,
            );
            let data_processed = self.optional_localised(
                format!("{path}.data_processed"),
                &doc.data_processed,
                MAX_TEXT_LEN,
            );
            let arrangement = doc.arrangement.as_ref().map(|arrangement| {
                let field = format!("{path}.arrangement");
                if kind.is_some_and(|kind| kind != RecipientKind::JointController) {
                    self.fail(
                        field.clone(),
                        "an Art. 26 arrangement is between joint controllers",
                    );
                }
                self.text(
                    format!("{field}.source"),
                    &arrangement.source,
                    MAX_TEXT_LEN,
                    true,
                );
                Arrangement {
                    reference: self.optional_text(
                        format!("{field}.reference"),
                        &arrangement.reference,
                        MAX_TEXT_LEN,
                    ),
                    essence: self.localised(
                        format!("{field}.essence"),
                        &arrangement.essence,
                        MAX_TEXT_LEN,
                    ),
                    source: arrangement.source.trim().to_owned(),
                }
            });
            let registration_number = self.optional_text(
                format!("{path}.registration_number"),
                &doc.registration_number,
                MAX_NAME_LEN,
            );
            let address = self.optional_text(format!("{path}.address"), &doc.address, MAX_TEXT_LEN);
            if let (Some(kind), Some(status)) = (kind, status) {
                recipients.push((
                    Recipient {
                        id: doc.id.clone(),
                        name,
                        kind,
                        parent: doc.parent.clone(),
                        locations,
                        agreements,
                        safeguards,
                        status,
                        description,
                        data_processed,
                        arrangement,
                        registration_number,
                        address,
                        source: doc.source.trim().to_owned(),
                    },
                    index,
                ));
            }
        }
        recipients
    }

    fn agreements(&mut self, path: &str, docs: &[AgreementDoc]) -> Vec<Agreement> {
        let mut agreements = Vec::new();
        for (index, doc) in docs.iter().enumerate() {
            let path = format!("{path}.agreements[{index}]");
            self.text(
                format!("{path}.reference"),
                &doc.reference,
                MAX_TEXT_LEN,
                true,
            );
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let from = self.optional_date(format!("{path}.effective_from"), &doc.effective_from);
            let to = self.optional_date(format!("{path}.effective_to"), &doc.effective_to);
            if let (Some(Some(from)), Some(Some(to))) = (from, to)
                && to < from
            {
                self.fail(
                    format!("{path}.effective_to"),
                    format!("{to} is before effective_from {from}"),
                );
            }
            if let (Some(effective_from), Some(effective_to)) = (from, to) {
                agreements.push(Agreement {
                    reference: doc.reference.trim().to_owned(),
                    effective_from,
                    effective_to,
                    source: doc.source.trim().to_owned(),
                });
            }
        }
        agreements
    }

    fn safeguards(
        &mut self,
        path: &str,
        docs: &[SafeguardDoc],
        locations: &[Territory],
    ) -> Vec<Safeguard> {
        let mut safeguards = Vec::new();
        for (index, doc) in docs.iter().enumerate() {
            let path = format!("{path}.safeguards[{index}]");
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let mechanism = match (doc.mechanism.as_str(), doc.module) {
                ("scc", Some(module @ 1..=4)) => Some(Mechanism::Scc { module }),
                ("scc", Some(module)) => {
                    self.fail(
                        format!("{path}.module"),
                        format!("SCC module {module} does not exist; modules are 1-4"),
                    );
                    None
                }
                ("scc", None) => {
                    self.fail(
                        format!("{path}.module"),
                        "SCC need their module (1-4) of Decision 2021/914",
                    );
                    None
                }
                (_, Some(_)) => {
                    self.fail(format!("{path}.module"), "only SCC have a module");
                    None
                }
                ("bcr", None) => Some(Mechanism::Bcr),
                ("code_of_conduct", None) => Some(Mechanism::CodeOfConduct),
                ("certification", None) => Some(Mechanism::Certification),
                ("dpf", None) => Some(Mechanism::Dpf),
                (other, None) => {
                    self.fail(
                        format!("{path}.mechanism"),
                        format!(
                            "{other:?} is not one of scc, bcr, code_of_conduct, certification, dpf"
                        ),
                    );
                    None
                }
            };
            let mut countries = Vec::new();
            for (position, code) in doc.countries.iter().enumerate() {
                let country_path = format!("{path}.countries[{position}]");
                if let Some(territory) = self.territory(country_path.clone(), code) {
                    if !locations.contains(&territory) {
                        self.fail(
                            country_path,
                            format!("{code} is not among the recipient's locations"),
                        );
                    } else if territory.is_eea() {
                        self.fail(
                            country_path,
                            format!("{code} is in the EEA and needs no safeguard"),
                        );
                    }
                    countries.push(territory);
                }
            }
            if mechanism == Some(Mechanism::Dpf)
                && !locations.iter().any(|territory| territory.code() == "US")
            {
                self.fail(
                    format!("{path}.mechanism"),
                    "DPF certification covers only locations in the US",
                );
            }
            let reference =
                self.optional_text(format!("{path}.reference"), &doc.reference, MAX_TEXT_LEN);
            if let Some(mechanism) = mechanism {
                safeguards.push(Safeguard {
                    mechanism,
                    countries,
                    reference,
                    source: doc.source.trim().to_owned(),
                });
            }
        }
        safeguards
    }

    fn purposes(
        &mut self,
        docs: Vec<PurposeDoc>,
        recipients: &[(Recipient, usize)],
        role: Option<OrganisationRole>,
        untested_interests: UntestedInterests,
    ) -> Vec<Purpose> {
        let mut ids = HashSet::new();
        let mut purposes = Vec::with_capacity(docs.len());
        for (index, doc) in docs.into_iter().enumerate() {
            let path = entry("purposes", index, &doc.id);
            self.id::<PurposeId>(format!("{path}.id"), &doc.id, "purpose");
            if !ids.insert(doc.id.clone()) {
                self.fail(
                    format!("{path}.id"),
                    format!("purpose {:?} is declared twice", doc.id),
                );
            }
            let name = self.localised(format!("{path}.name"), &doc.name, MAX_NAME_LEN);
            self.text(format!("{path}.source"), &doc.source, MAX_TEXT_LEN, true);
            let description = self.optional_localised(
                format!("{path}.description"),
                &doc.description,
                MAX_TEXT_LEN,
            );
            let legal_basis_qualifier = self.optional_localised(
                format!("{path}.legal_basis_qualifier"),
                &doc.legal_basis_qualifier,
                MAX_TEXT_LEN,
            );
            let data_protection = doc.data_protection.as_ref().and_then(|protection| {
                let field = format!("{path}.data_protection");
                self.text(
                    format!("{field}.source"),
                    &protection.source,
                    MAX_TEXT_LEN,
                    true,
                );
                let description = self.optional_localised(
                    format!("{field}.description"),
                    &protection.description,
                    MAX_TEXT_LEN,
                );
                Some(DataProtection {
                    technique: self.spelled::<Technique>(
                        format!("{field}.technique"),
                        &protection.technique,
                    )?,
                    description,
                    source: protection.source.trim().to_owned(),
                })
            });
            let legal_basis_source = self.optional_text(
                format!("{path}.legal_basis_source"),
                &doc.legal_basis_source,
                MAX_TEXT_LEN,
            );
            let balancing_test = self.optional_text(
                format!("{path}.balancing_test"),
                &doc.balancing_test,
                MAX_TEXT_LEN,
            );
            let legitimate_interest = self.optional_text(
                format!("{path}.legitimate_interest"),
                &doc.legitimate_interest,
                MAX_TEXT_LEN,
            );
            let criminal_data_authorisation = self.optional_text(
                format!("{path}.criminal_data_authorisation"),
                &doc.criminal_data_authorisation,
                MAX_TEXT_LEN,
            );

            let legal_basis = match doc.legal_basis.as_deref() {
                None => {
                    self.warn(
                        format!("{path}.legal_basis"),
                        format!("purpose {:?} has no legal basis; Check will deny", doc.id),
                    );
                    None
                }
                Some(text) => self.spelled::<LegalBasis>(format!("{path}.legal_basis"), text),
            };
            match legal_basis {
                Some(LegalBasis::LegitimateInterests) if balancing_test.is_none() => self.warn(
                    format!("{path}.balancing_test"),
                    match untested_interests {
                        UntestedInterests::Deny => format!("purpose {:?} relies on legitimate interests without a recorded balancing test; Check will deny", doc.id),
                        UntestedInterests::AllowWithObligation => format!("purpose {:?} relies on legitimate interests without a recorded balancing test; Check will allow it with the obligation to record one", doc.id),
                    },
                ),
                Some(LegalBasis::ControllerInstructions) if role == Some(OrganisationRole::Controller) => self.fail(
                    format!("{path}.legal_basis"),
                    "controller_instructions is the basis of a processor; this organisation is a controller",
                ),
                Some(basis) if basis != LegalBasis::LegitimateInterests && balancing_test.is_some() => self.fail(
                    format!("{path}.balancing_test"),
                    "a balancing test belongs to a purpose on legitimate interests",
                ),
                _ => {}
            }
            if legitimate_interest.is_some() && legal_basis != Some(LegalBasis::LegitimateInterests)
            {
                self.fail(
                    format!("{path}.legitimate_interest"),
                    "the interest pursued belongs to a purpose on legitimate interests (Art. 6(1)(f))",
                );
            }
            let special_condition = match doc.special_category_condition.as_deref() {
                None => None,
                Some(text) => match text.parse::<SpecialCondition>() {
                    Ok(SpecialCondition::Controller)
                        if role == Some(OrganisationRole::Controller) =>
                    {
                        self.fail(
                            format!("{path}.special_category_condition"),
                            "\"controller\" is a processor's: a controller names its own point of Art. 9(2)",
                        );
                        None
                    }
                    Ok(condition) => Some(condition),
                    Err(()) => {
                        self.fail(
                            format!("{path}.special_category_condition"),
                            format!("{text:?} is not a point of Art. 9(2) such as \"9(2)(a)\", or \"controller\" for a processor"),
                        );
                        None
                    }
                },
            };
            if doc.direct_marketing && doc.storage_only {
                self.fail(
                    format!("{path}.storage_only"),
                    "a direct-marketing purpose does more than store data",
                );
            }

            if doc.categories.is_empty() {
                self.fail(
                    format!("{path}.categories"),
                    "at least one category is required",
                );
            }
            self.category_refs(&format!("{path}.categories"), &doc.categories);
            for (position, key) in doc.categories.iter().enumerate() {
                match self.categories.get(key) {
                    Some(Sensitivity::Special) if special_condition.is_none() => self.warn(
                        format!("{path}.categories[{position}]"),
                        format!("special category {key:?} without special_category_condition; Check will deny it"),
                    ),
                    Some(Sensitivity::Criminal) if criminal_data_authorisation.is_none() => self.warn(
                        format!("{path}.categories[{position}]"),
                        format!("criminal-offence category {key:?} without criminal_data_authorisation; Check will deny it"),
                    ),
                    _ => {}
                }
            }
            let declared = |key: &str| {
                doc.categories
                    .iter()
                    .any(|declared| taxonomy::covers(declared, key))
            };

            let mut engagements = Vec::with_capacity(doc.recipients.len());
            let mut engaged = HashSet::new();
            for (position, engagement) in doc.recipients.iter().enumerate() {
                let engagement_path =
                    entry(&format!("{path}.recipients"), position, &engagement.id);
                if !recipients
                    .iter()
                    .any(|(recipient, _)| recipient.id == engagement.id)
                {
                    self.fail(
                        engagement_path.clone(),
                        format!("unknown recipient {:?}", engagement.id),
                    );
                } else if !engaged.insert(engagement.id.clone()) {
                    self.fail(
                        engagement_path.clone(),
                        format!("recipient {:?} is engaged twice", engagement.id),
                    );
                }
                self.category_refs(
                    &format!("{engagement_path}.categories"),
                    &engagement.categories,
                );
                for (category_index, key) in engagement.categories.iter().enumerate() {
                    if self.categories.contains_key(key) && !declared(key) {
                        self.fail(
                            format!("{engagement_path}.categories[{category_index}]"),
                            format!("category {key:?} is not among the purpose's categories"),
                        );
                    }
                }
                let condition = engagement.condition.as_ref().map(|condition| {
                    self.id::<ConditionId>(
                        format!("{engagement_path}.condition.id"),
                        &condition.id,
                        "condition",
                    );
                    self.text(
                        format!("{engagement_path}.condition.description"),
                        &condition.description,
                        MAX_TEXT_LEN,
                        true,
                    );
                    EngagementCondition {
                        id: condition.id.clone(),
                        description: condition.description.trim().to_owned(),
                    }
                });
                let source = self
                    .optional_text(
                        format!("{engagement_path}.source"),
                        &engagement.source,
                        MAX_TEXT_LEN,
                    )
                    .unwrap_or_else(|| doc.source.trim().to_owned());
                let data_processed = self.optional_localised(
                    format!("{engagement_path}.data_processed"),
                    &engagement.data_processed,
                    MAX_TEXT_LEN,
                );
                engagements.push(Engagement {
                    recipient: engagement.id.clone(),
                    categories: engagement.categories.clone(),
                    data_processed,
                    condition,
                    source,
                });
            }

            let mut retention = Vec::with_capacity(doc.retention.len());
            for (position, rule) in doc.retention.iter().enumerate() {
                let rule_path = format!("{path}.retention[{position}]");
                self.text(
                    format!("{rule_path}.source"),
                    &rule.source,
                    MAX_TEXT_LEN,
                    true,
                );
                let period = match Period::parse(&rule.period) {
                    Ok(period) => Some(period),
                    Err(message) => {
                        self.fail(format!("{rule_path}.period"), message);
                        None
                    }
                };
                let from = self.spelled::<RetentionEvent>(format!("{rule_path}.from"), &rule.from);
                self.category_refs(&format!("{rule_path}.categories"), &rule.categories);
                for (category_index, key) in rule.categories.iter().enumerate() {
                    if self.categories.contains_key(key) && !declared(key) {
                        self.fail(
                            format!("{rule_path}.categories[{category_index}]"),
                            format!("category {key:?} is not among the purpose's categories"),
                        );
                    }
                }
                let description = self.optional_localised(
                    format!("{rule_path}.description"),
                    &rule.description,
                    MAX_TEXT_LEN,
                );
                if let (Some(period), Some(from)) = (period, from) {
                    retention.push(RetentionRule {
                        period,
                        from,
                        categories: rule.categories.clone(),
                        description,
                        source: rule.source.trim().to_owned(),
                    });
                }
            }

            let mut data_subjects = Vec::new();
            for (position, kind) in doc.data_subjects.iter().enumerate() {
                self.text(
                    format!("{path}.data_subjects[{position}]"),
                    kind,
                    MAX_NAME_LEN,
                    true,
                );
                data_subjects.push(kind.trim().to_owned());
            }
            let mut data_sources = Vec::new();
            for (position, origin) in doc.data_sources.iter().enumerate() {
                self.text(
                    format!("{path}.data_sources[{position}]"),
                    origin,
                    MAX_TEXT_LEN,
                    true,
                );
                data_sources.push(origin.trim().to_owned());
            }

            let consent_unless = doc.consent_unless.as_ref().and_then(|unless| {
                let field = format!("{path}.consent_unless");
                self.id::<ConditionId>(format!("{field}.id"), &unless.id, "condition");
                self.text(
                    format!("{field}.description"),
                    &unless.description,
                    MAX_TEXT_LEN,
                    true,
                );
                let source = self
                    .optional_text(format!("{field}.source"), &unless.source, MAX_TEXT_LEN)
                    .unwrap_or_else(|| doc.source.trim().to_owned());
                match legal_basis {
                    None | Some(LegalBasis::Consent) => {
                        self.fail(
                            field,
                            "consent_unless adds the subject's consent to another basis; this purpose rests on consent or on none",
                        );
                        None
                    }
                    Some(_) => Some(ConsentUnless {
                        condition: EngagementCondition {
                            id: unless.id.clone(),
                            description: unless.description.trim().to_owned(),
                        },
                        source,
                    }),
                }
            });

            let mut conditional_categories = Vec::new();
            for (position, conditional) in doc.conditional_categories.iter().enumerate() {
                let field = format!("{path}.conditional_categories[{position}]");
                if !declared(&conditional.category) {
                    self.fail(
                        format!("{field}.category"),
                        format!(
                            "category {:?} is not among the purpose's categories",
                            conditional.category
                        ),
                    );
                }
                self.text(
                    format!("{field}.source"),
                    &conditional.source,
                    MAX_TEXT_LEN,
                    true,
                );
                conditional_categories.push(ConditionalCategory {
                    category: conditional.category.clone(),
                    when: self.localised(format!("{field}.when"), &conditional.when, MAX_TEXT_LEN),
                    source: conditional.source.trim().to_owned(),
                });
            }

            let mut dpia_criteria = Vec::new();
            for (position, text) in doc.dpia_criteria.iter().enumerate() {
                if let Some(criterion) =
                    self.spelled::<DpiaCriterion>(format!("{path}.dpia_criteria[{position}]"), text)
                    && !dpia_criteria.contains(&criterion)
                {
                    dpia_criteria.push(criterion);
                }
            }
            dpia_criteria.sort();
            let dpia = doc.dpia.as_ref().map(|dpia| {
                let field = format!("{path}.dpia");
                self.text(
                    format!("{field}.reference"),
                    &dpia.reference,
                    MAX_TEXT_LEN,
                    true,
                );
                self.text(format!("{field}.source"), &dpia.source, MAX_TEXT_LEN, true);
                DpiaRecord {
                    reference: dpia.reference.trim().to_owned(),
                    completed_on: self
                        .optional_date(format!("{field}.completed_on"), &dpia.completed_on)
                        .flatten(),
                    source: dpia.source.trim().to_owned(),
                }
            });

            purposes.push(Purpose {
                id: doc.id,
                name,
                description,
                legal_basis,
                legal_basis_qualifier,
                data_protection,
                conditional_categories,
                dpia_criteria,
                dpia,
                balancing_test,
                legitimate_interest,
                legal_basis_source,
                special_condition,
                criminal_data_authorisation,
                direct_marketing: doc.direct_marketing,
                storage_only: doc.storage_only,
                consent_unless,
                data_subjects,
                data_sources,
                categories: doc.categories,
                engagements,
                retention,
                source: doc.source.trim().to_owned(),
            });
        }
        purposes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
version: 1
organisation:
  id: peero
  legal_name: SIA Peero
  country: LV
  role: processor
  source: subprocessor list
recipients:
  - id: onesignal
    name: OneSignal
    kind: subprocessor
    locations: [US]
    agreements: [{reference: DPA, effective_from: 2024-01-01, source: list row 4}]
    safeguards: [{mechanism: scc, module: 3, source: list row 4}]
    source: list row 4
purposes:
  - id: notifications
    name: Notifications
    legal_basis: controller_instructions
    categories: [user.device]
    recipients: [{id: onesignal}]
    source: list row 4
"#;

    fn violations(text: &str) -> Vec<String> {
        match parse(text, DEFAULT_MAX_BYTES) {
            Ok(_) => panic!("expected the manifest to be refused"),
            Err(error) => error.violations().iter().map(ToString::to_string).collect(),
        }
    }

    /// Every addition of format 2, as docs/manifest.md shows them.
    const FORMAT_2: &str = r#"
version: 2
organisation:
  id: peero
  legal_name: SIA Peero
  country: LV
  role: processor
  language: lv
  address: "Rīga, Latvija"
  reviewed_on: 2025-04-01
  security_measures:
    - text: {lv: "Šifrēšana", en: "Encryption at rest"}
      source: "list §5"
  controllers:
    - category: {lv: "Peero klienti", en: "Peero's clients"}
      agreement: "Peero terms of service, data processing annex"
      source: "list intro"
  source: subprocessor list
categories:
  - key: user.feedback
    name: {lv: "Atsauksmes", en: "Feedback"}
    source: "list row 3"
recipients:
  - id: onesignal
    name: OneSignal
    kind: subprocessor
    locations: [US]
    agreements: [{reference: DPA, source: list row 4}]
    safeguards: [{mechanism: scc, module: 3, source: list row 4}]
    data_processed: {lv: "Ierīces modelis", en: "Device model"}
    source: list row 4
purposes:
  - id: notifications
    name: {lv: "Paziņojumi", en: "Notifications"}
    description: "Paziņojumu sūtīšana"
    legal_basis: controller_instructions
    legal_basis_qualifier: {lv: "pēc klienta norādījumiem", en: "on the client's instructions"}
    data_protection: {technique: pseudonymised, description: {lv: "ID", en: "ids only"}, source: "row 4"}
    categories: [user.device, user.feedback]
    conditional_categories:
      - {category: user.feedback, when: {lv: "ja sniegts", en: "if given"}, source: "row 3"}
    recipients:
      - {id: onesignal, categories: [user.device], data_processed: {lv: "Ierīce", en: "Device"}}
    retention:
      - {period: P30D, from: collection, description: {lv: "30 dienas", en: "30 days"}, source: "row 4"}
    source: list row 4
documents:
  - id: subprocessor-list
    kind: subprocessor_list
    title: {lv: "Apakšapstrādātāju saraksts", en: "Subprocessor list"}
    rows:
      - {label: "4", heading: "OneSignal", purposes: [notifications], recipients: [onesignal]}
    source: "000"
cookies:
  - name: _ga
    provider: Google
    category: statistics
    purpose: notifications
    description: {lv: "Apmeklējumu statistika", en: "Visit statistics"}
    duration: {lv: "2 gadi", en: "2 years"}
    source: "cookie policy"
  - name: session
    provider: peero
    category: necessary
    description: "Sesija"
    duration: "sesija"
    source: "cookie policy"
"#;

    #[test]
    fn format_2_holds_every_fact_of_the_documents_in_their_languages() {
        let parsed = parse(FORMAT_2, DEFAULT_MAX_BYTES).unwrap();
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
        let registry = parsed.registry;
        let en = "en".parse::<Language>().ok();
        let no = "no".parse::<Language>().ok();
        let organisation = &registry.organisation;
        assert_eq!(organisation.language, "lv".parse().ok());
        assert_eq!(
            organisation.accountability.reviewed_on,
            "2025-04-01".parse().ok()
        );
        assert_eq!(
            organisation.accountability.security_measures[0]
                .text
                .in_language(en),
            "Encryption at rest"
        );
        assert_eq!(
            organisation.accountability.controllers[0]
                .category
                .as_ref()
                .unwrap()
                .in_language(no),
            "Peero klienti"
        );
        assert_eq!(registry.categories[0].name.in_language(en), "Feedback");
        let onesignal = &registry.recipients[0];
        assert_eq!(
            onesignal.data_processed.as_ref().unwrap().text(),
            "Ierīces modelis"
        );
        let purpose = &registry.purposes[0];
        assert_eq!(purpose.name.in_language(en), "Notifications");
        assert_eq!(purpose.name.in_language(no), "Paziņojumi");
        // A plain text is the default language's, whatever language is asked for.
        assert_eq!(
            purpose.description.as_ref().unwrap().in_language(en),
            "Paziņojumu sūtīšana"
        );
        assert_eq!(
            purpose
                .legal_basis_qualifier
                .as_ref()
                .unwrap()
                .in_language(en),
            "on the client's instructions"
        );
        assert_eq!(
            purpose.data_protection.as_ref().unwrap().technique,
            Technique::Pseudonymised
        );
        assert_eq!(purpose.conditional_categories[0].category, "user.feedback");
        assert_eq!(
            purpose.engagements[0]
                .data_processed
                .as_ref()
                .unwrap()
                .in_language(en),
            "Device"
        );
        assert_eq!(
            purpose.retention[0]
                .description
                .as_ref()
                .unwrap()
                .in_language(en),
            "30 days"
        );
        let layout = &registry.documents[0];
        assert_eq!(
            (layout.kind, layout.rows[0].label.as_str()),
            (DocumentKind::SubprocessorList, "4")
        );
        assert_eq!(layout.title.in_language(en), "Subprocessor list");
        let cookies: Vec<(&str, CookieCategory, bool)> = registry
            .cookies
            .iter()
            .map(|cookie| {
                (
                    cookie.name.as_str(),
                    cookie.category,
                    cookie.consent_required,
                )
            })
            .collect();
        assert_eq!(
            cookies,
            [
                ("_ga", CookieCategory::Statistics, true),
                ("session", CookieCategory::Necessary, false)
            ]
        );
        // The stored form reads back equal.
        let stored = serde_json::to_string(&registry).unwrap();
        assert_eq!(serde_json::from_str::<Registry>(&stored).unwrap(), registry);
    }

    #[test]
    fn format_2_refuses_what_the_documents_cannot_mean() {
        let refused = |from: &str, to: &str| {
            let text = FORMAT_2.replacen(from, to, 1);
            assert_ne!(text, FORMAT_2, "{from:?} is not in the example");
            violations(&text)
        };
        assert_eq!(
            refused("  language: lv\n", ""),
            [
                "organisation.language: format 2 needs the default language of the texts, such as \"lv\""
            ]
        );
        assert_eq!(
            refused(
                "name: {lv: \"Paziņojumi\", en: \"Notifications\"}",
                "name: {en: \"Notifications\"}"
            ),
            ["purposes[0] (notifications).name: has no wording in the default language \"lv\""]
        );
        assert!(
            refused("en: \"Notifications\"", "EN: \"Notifications\"")[0]
                .starts_with("purposes[0] (notifications).name.EN: language must be")
        );
        assert_eq!(
            refused(
                "    category: statistics\n",
                "    category: statistics\n    consent_required: false\n"
            ),
            [
                "cookies[0] (_ga).consent_required: only a strictly necessary cookie is exempt from consent (ePrivacy Directive Art. 5(3))"
            ]
        );
        assert_eq!(
            refused("recipients: [onesignal]}", "recipients: [onesgnal]}"),
            [
                "documents[0] (subprocessor-list).rows[0].recipients[0]: unknown recipient \"onesgnal\""
            ]
        );
        assert_eq!(
            refused(
                "{category: user.feedback, when:",
                "{category: user.contact, when:"
            ),
            [
                "purposes[0] (notifications).conditional_categories[0].category: category \"user.contact\" is not among the purpose's categories"
            ]
        );
        assert_eq!(
            refused("role: processor", "role: controller"),
            [
                "recipients[0] (onesignal).parent: a controller's subprocessor must name the processor it sits under",
                "purposes[0] (notifications).legal_basis: controller_instructions is the basis of a processor; this organisation is a controller",
            ]
        );
        // Version 1 reads plain texts only, and has no default language.
        let version_1 = violations(&FORMAT_2.replacen("version: 2", "version: 1", 1));
        assert_eq!(
            version_1[0],
            "organisation.language: a default language belongs to format 2: set version: 2"
        );
        assert!(version_1.iter().any(|found| found
            == "purposes[0] (notifications).name: a text by language needs version: 2 and organisation.language, its default"));
    }

    #[test]
    fn a_minimal_manifest_parses() {
        let parsed = parse(MINIMAL, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(parsed.registry.organisation.id, "peero");
        assert_eq!(
            parsed.registry.purposes[0].engagements[0].recipient,
            "onesignal"
        );
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn an_unknown_recipient_is_named_with_its_place() {
        let text = MINIMAL.replace(
            "recipients: [{id: onesignal}]",
            "recipients: [{id: onesgnal}]",
        );
        assert_eq!(
            violations(&text),
            [
                r#"purposes[0] (notifications).recipients[0] (onesgnal): unknown recipient "onesgnal""#
            ]
        );
    }

    #[test]
    fn the_interest_pursued_belongs_to_legitimate_interests() {
        let on = |basis: &str| {
            MINIMAL.replace(
                "    legal_basis: controller_instructions\n",
                &format!("    legal_basis: {basis}\n    legitimate_interest: \"fraud prevention\"\n    balancing_test: LIA-1\n"),
            )
        };
        let parsed = parse(&on("legitimate_interests"), DEFAULT_MAX_BYTES).expect("valid");
        assert_eq!(
            parsed.registry.purposes[0].legitimate_interest.as_deref(),
            Some("fraud prevention")
        );
        let refused = violations(&on("contract"));
        assert!(
            refused.iter().any(|violation| violation.ends_with(
                ".legitimate_interest: the interest pursued belongs to a purpose on legitimate interests (Art. 6(1)(f))"
            )),
            "{refused:?}"
        );
    }

    #[test]
    fn a_minimum_age_is_a_plausible_age_with_its_clause() {
        let with = |minimum: &str| {
            MINIMAL.replace(
                "  role: processor\n",
                &format!("  role: processor\n  minimum_age: {minimum}\n"),
            )
        };
        let parsed = parse(
            &with("{years: 18, source: \"terms §2.10\"}"),
            DEFAULT_MAX_BYTES,
        )
        .expect("valid");
        assert_eq!(
            parsed.registry.organisation.minimum_age,
            Some(MinimumAge {
                years: 18,
                source: "terms §2.10".into()
            })
        );
        for years in [0, 26, 300] {
            assert_eq!(
                violations(&with(&format!("{{years: {years}, source: x}}"))),
                ["organisation.minimum_age.years: must be a whole number of years from 1 to 25"],
                "{years}"
            );
        }
        assert_eq!(
            violations(&with("{years: 18, source: \" \"}")),
            ["organisation.minimum_age.source: must not be empty"]
        );
    }

    #[test]
    fn an_entry_is_named_by_its_id_when_it_has_a_well_formed_one() {
        assert_eq!(entry("recipients", 5, "klaviyo"), "recipients[5] (klaviyo)");
        assert_eq!(
            entry("categories", 0, "user.contact.email"),
            "categories[0] (user.contact.email)"
        );
        // A malformed name is not repeated in the path; its own violation quotes it.
        for malformed in ["", "Klaviyo", "a b", "x)"] {
            assert_eq!(entry("recipients", 5, malformed), "recipients[5]");
        }
        let text = MINIMAL.replace("id: onesignal", "id: OneSignal");
        let found = violations(&text);
        assert!(
            found.iter().any(|violation| violation
                .starts_with("recipients[0].id: recipient id \"OneSignal\" must be")),
            "{found:?}"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = MINIMAL
            .replace("country: LV", "country: Latvia")
            .replace("locations: [US]", "locations: [US, XX]")
            .replace("module: 3", "module: 7")
            .replace("categories: [user.device]", "categories: [user.devices]");
        let found = violations(&text);
        for expected in [
            "organisation.country: \"Latvia\" is not an ISO 3166-1 alpha-2 country code",
            "recipients[0] (onesignal).locations[1]: \"XX\" is not an ISO 3166-1 alpha-2 country code",
            "recipients[0] (onesignal).safeguards[0].module: SCC module 7 does not exist",
            "purposes[0] (notifications).categories[0]: unknown category \"user.devices\"",
        ] {
            assert!(
                found
                    .iter()
                    .any(|violation| violation.starts_with(expected)),
                "{expected} not in {found:?}"
            );
        }
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let found = violations("version: 1\norganisation: [unclosed\n");
        assert!(found[0].starts_with("line "), "{found:?}");
        let found = violations(&MINIMAL.replace("legal_name:", "legal_nmae:"));
        assert!(found[0].contains("legal_nmae"), "{found:?}");
    }

    #[test]
    fn refuses_oversized_and_empty_manifests() {
        assert!(matches!(
            parse(MINIMAL, 10),
            Err(ManifestError::TooLarge { .. })
        ));
        assert!(matches!(
            parse("  \n", DEFAULT_MAX_BYTES),
            Err(ManifestError::Empty)
        ));
    }

    #[test]
    fn parents_must_exist_and_not_loop() {
        let unknown = MINIMAL.replace(
            "kind: subprocessor\n",
            "kind: subprocessor\n    parent: aws\n",
        );
        assert_eq!(
            violations(&unknown),
            [r#"recipients[0] (onesignal).parent: unknown recipient "aws""#]
        );
        let looping = MINIMAL.replace(
            "kind: subprocessor\n",
            "kind: subprocessor\n    parent: onesignal\n",
        );
        assert!(violations(&looping)[0].contains("under itself"));
    }

    /// A manifest whose subprocessor `s0` sits under `depth` more subprocessors.
    fn chain_of(depth: usize) -> String {
        let mut recipients = String::new();
        for level in 0..=depth {
            let parent = if level == depth {
                String::new()
            } else {
                format!("    parent: s{}\n", level + 1)
            };
            recipients.push_str(&format!(
                "  - id: s{level}\n    name: S\n    kind: subprocessor\n{parent}    locations: [LV]\n    agreements: [{{reference: DPA, source: x}}]\n    source: x\n"
            ));
        }
        MINIMAL.replace("recipients:\n", &format!("recipients:\n{recipients}"))
    }

    #[test]
    fn a_chain_of_parents_is_bounded() {
        assert!(parse(&chain_of(MAX_PARENT_CHAIN), DEFAULT_MAX_BYTES).is_ok());
        assert_eq!(
            violations(&chain_of(MAX_PARENT_CHAIN + 1)),
            [format!(
                "recipients[0] (s0).parent: recipient \"s0\" sits {} levels below its processor; a chain of subprocessors may be at most {MAX_PARENT_CHAIN} deep",
                MAX_PARENT_CHAIN + 1
            )]
        );
    }

    #[test]
    fn reordering_does_not_change_the_registry() {
        let two = MINIMAL.replace(
            "purposes:\n",
            "purposes:\n  - id: another\n    name: Another\n    legal_basis: controller_instructions\n    categories: [user.contact.email, user.device]\n    source: x\n",
        );
        let reordered = two.replace(
            "categories: [user.contact.email, user.device]",
            "categories: [user.device, user.contact.email]",
        );
        assert_eq!(
            parse(&two, DEFAULT_MAX_BYTES).unwrap().registry,
            parse(&reordered, DEFAULT_MAX_BYTES).unwrap().registry
        );
    }

    #[test]
    fn hostile_yaml_is_refused_without_panicking() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
        assert!(parse(bomb, DEFAULT_MAX_BYTES).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep, DEFAULT_MAX_BYTES).is_err());
        assert!(parse("\u{0}\u{1}\u{2}", DEFAULT_MAX_BYTES).is_err());
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        let escaped = MINIMAL.replace("name: OneSignal", "name: \"One\\0Signal\"");
        assert_eq!(
            violations(&escaped),
            [
                "recipients[0] (onesignal).name: contains the control character U+0000; text may hold tabs and line breaks, no other control characters"
            ]
        );
        let bell = MINIMAL.replace(
            "source: list row 4\npurposes",
            "source: \"row\\a\"\npurposes",
        );
        assert!(violations(&bell)[0].starts_with(
            "recipients[0] (onesignal).source: contains the control character U+0007"
        ));
        let raw = MINIMAL.replace("name: OneSignal", "name: One\u{1}Signal");
        assert!(
            violations(&raw)[0]
                .starts_with("line 11, column 14: contains the control character U+0001"),
            "{:?}",
            violations(&raw)
        );
        let tab = MINIMAL.replace("name: OneSignal", "name: \"One\\tSignal\"");
        assert!(parse(&tab, DEFAULT_MAX_BYTES).is_ok());
    }
}
