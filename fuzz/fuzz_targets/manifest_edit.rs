//! Structure-aware manifest fuzzing: start from one of the example manifests (valid by
//! construction) and apply a list of line-level edits (delete, duplicate, swap, move, replace
//! a value with a token of the format, insert into a flow list, re-indent, splice raw text).
//! Most mutants stay valid YAML of the right shape, so the fuzzer spends its time in the
//! manifest's validation rules rather than in the YAML scanner. What runs is ApplyManifest:
//! parse and compile, and for inputs that ask for it the dry run's decision changes against
//! the unedited example.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use purposed::{
    app::{ApplyOutcome, DIFF_LIMITS},
    domain::{diff, taxonomy},
    error::Error,
    grpc::encode::registry as encode,
    manifest,
};

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u8,
    /// Also compute the dry run's decision changes: every (purpose, category, recipient) of
    /// both registries decided twice, which costs most of the run, so only some inputs do.
    dry_run: bool,
    edits: Vec<Edit>,
}

#[derive(Arbitrary, Debug)]
enum Edit {
    Delete(u16),
    Duplicate(u16),
    Swap(u16, u16),
    /// Moves line `from` before line `to`.
    Move(u16, u16),
    /// Replaces what follows the first ": " (or "- ") of a line.
    Value(u16, Token),
    /// Adds a token to the flow list (`[a, b]`) of a line.
    ListItem(u16, Token),
    /// Inserts `key: token` after a line, at its indentation.
    Field(u16, u8, Token),
    /// Changes the indentation of a line.
    Indent(u16, u8),
    /// Inserts raw text at a byte of a line.
    Raw(u16, u8, String),
}

#[derive(Arbitrary, Debug)]
enum Token {
    Known(u16),
    Number(i64),
    Date(i16, u8, u8),
    Period(u16, u8),
    Text(String),
}

/// Keys of the format, for `Edit::Field`.
const KEYS: &[&str] = &[
    "version",
    "organisation",
    "id",
    "legal_name",
    "registration_number",
    "country",
    "role",
    "dpo",
    "name",
    "email",
    "phone",
    "address",
    "rights",
    "clock_waits_for_identity",
    "minimum_age",
    "years",
    "source",
    "categories",
    "key",
    "sensitivity",
    "dpv",
    "recipients",
    "kind",
    "parent",
    "locations",
    "agreements",
    "reference",
    "effective_from",
    "effective_to",
    "safeguards",
    "mechanism",
    "module",
    "countries",
    "status",
    "objection_window_ends",
    "description",
    "purposes",
    "legal_basis",
    "balancing_test",
    "legal_basis_source",
    "special_category_condition",
    "criminal_data_authorisation",
    "direct_marketing",
    "storage_only",
    "data_subjects",
    "data_sources",
    "retention",
    "period",
    "from",
    "condition",
    // Format 2.
    "legitimate_interest",
    "legitimate_interests_without_test",
    "consent_unless",
    "language",
    "supervisory_authority",
    "website",
    "reviewed_on",
    "security_measures",
    "text",
    "controllers",
    "agreement",
    "data_processed",
    "arrangement",
    "essence",
    "legal_basis_qualifier",
    "data_protection",
    "technique",
    "conditional_categories",
    "category",
    "when",
    "documents",
    "title",
    "rows",
    "label",
    "heading",
    "cookies",
    "provider",
    "purpose",
    "duration",
    "consent_required",
    "columns",
    "field",
    "part",
    "dpia_criteria",
    "dpia",
    "completed_on",
];

/// Values of the format, besides the ids and keys the examples use.
const VALUES: &[&str] = &[
    "controller",
    "processor",
    "subprocessor",
    "independent_controller",
    "joint_controller",
    "scc",
    "bcr",
    "dpf",
    "code_of_conduct",
    "certification",
    "active",
    "proposed",
    "retired",
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
    "controller_instructions",
    "collection",
    "contract_end",
    "account_deletion",
    "consent_withdrawal",
    "last_activity",
    "ordinary",
    "special",
    "criminal",
    "9(2)(a)",
    "9(2)(b)",
    "9(2)(j)",
    "9(2)(k)",
    "controller",
    "deny",
    "allow_with_obligation",
    "pseudonymised",
    "anonymised",
    "privacy_notice",
    "subprocessor_list",
    "processing_record",
    "cookie_policy",
    "necessary",
    "preferences",
    "statistics",
    "marketing",
    "en",
    "nb",
    "profiling",
    "large_scale",
    "table",
    "data_processed",
    "{lv: a, en: b}",
    "{en: b}",
    "true",
    "false",
    "null",
    "~",
    "[]",
    "{}",
    "\"\"",
    "LV",
    "EE",
    "LT",
    "DE",
    "IE",
    "GB",
    "US",
    "IN",
    "SG",
    "AU",
    "CH",
    "BR",
    "JP",
    "ZZ",
    "EPO",
    "XX",
    "lv",
    "EU",
    "EEA",
    "P0D",
    "P1D",
    "P30D",
    "P1M",
    "P1Y6M",
    "P10Y",
    "PT1H",
    "-P1D",
    "P99999Y",
    "2024-02-29",
    "2023-02-29",
    "0000-01-01",
    "9999-12-31",
    "-009999-01-01",
    "2026-01-15",
    "1",
    "2",
    "3",
    "4",
    "0",
    "-1",
    "65536",
    "&a x",
    "*a",
    "!!str 1",
    "<<: *a",
    "|\n  text",
    "'quoted'",
    "user",
    "user.contact.email",
    "user.special",
    "user.criminal",
    "user.special.health",
    "user..x",
    ".user",
    "user.x.y.z.a.b.c.d.e",
];

/// Every id and category key the examples use, then the built-in taxonomy, then `VALUES`.
fn tokens() -> &'static [String] {
    static TOKENS: OnceLock<Vec<String>> = OnceLock::new();
    TOKENS.get_or_init(|| {
        let mut tokens: Vec<String> = Vec::new();
        for example in purposed_fuzz::examples() {
            let registry = example.policy.registry();
            tokens.push(registry.organisation.id.clone());
            tokens.extend(registry.recipients.iter().map(|r| r.id.clone()));
            tokens.extend(registry.purposes.iter().map(|p| p.id.clone()));
            tokens.extend(registry.categories.iter().map(|c| c.key.to_string()));
        }
        tokens.extend(taxonomy::DEFAULT_TAXONOMY.iter().map(|b| b.key.to_owned()));
        tokens.extend(VALUES.iter().map(|v| (*v).to_owned()));
        tokens.sort();
        tokens.dedup();
        tokens
    })
}

/// The examples' lines without full-line comments and blank lines, where edits are wasted.
fn seeds() -> &'static [Vec<String>] {
    static SEEDS: OnceLock<Vec<Vec<String>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        purposed_fuzz::EXAMPLES
            .iter()
            .map(|(_, text)| {
                text.lines()
                    .filter(|line| {
                        let trimmed = line.trim_start();
                        !trimmed.is_empty() && !trimmed.starts_with('#')
                    })
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    })
}

impl Token {
    fn render(&self) -> String {
        match self {
            Token::Known(index) => {
                let tokens = tokens();
                tokens[usize::from(*index) % tokens.len()].clone()
            }
            Token::Number(number) => number.to_string(),
            Token::Date(year, month, day) => format!("{year:04}-{month:02}-{day:02}"),
            Token::Period(amount, unit) => {
                let unit = ["D", "W", "M", "Y", "H"][usize::from(*unit) % 5];
                format!("P{amount}{unit}")
            }
            Token::Text(text) => text.clone(),
        }
    }
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn apply(lines: &mut Vec<String>, edit: &Edit) {
    if lines.is_empty() {
        return;
    }
    let at = |index: u16, len: usize| usize::from(index) % len;
    match edit {
        Edit::Delete(line) => {
            let line = at(*line, lines.len());
            lines.remove(line);
        }
        Edit::Duplicate(line) => {
            let line = at(*line, lines.len());
            let copy = lines[line].clone();
            lines.insert(line, copy);
        }
        Edit::Swap(a, b) => {
            let (a, b) = (at(*a, lines.len()), at(*b, lines.len()));
            lines.swap(a, b);
        }
        Edit::Move(from, to) => {
            let from = at(*from, lines.len());
            let moved = lines.remove(from);
            let to = at(*to, lines.len() + 1);
            lines.insert(to, moved);
        }
        Edit::Value(line, token) => {
            let index = at(*line, lines.len());
            let line = &mut lines[index];
            let cut = line
                .find(": ")
                .map(|colon| colon + 2)
                .or_else(|| line.find("- ").map(|dash| dash + 2));
            if let Some(cut) = cut {
                line.truncate(cut);
                line.push_str(&token.render());
            }
        }
        Edit::ListItem(line, token) => {
            let index = at(*line, lines.len());
            let line = &mut lines[index];
            if let Some(close) = line.rfind(']') {
                let empty = line[..close].trim_end().ends_with('[');
                let item = if empty {
                    token.render()
                } else {
                    format!(", {}", token.render())
                };
                line.insert_str(close, &item);
            }
        }
        Edit::Field(line, key, token) => {
            let index = at(*line, lines.len());
            let mut indent = indentation(&lines[index]);
            if lines[index].trim_start().starts_with("- ") {
                indent += 2;
            }
            let key = KEYS[usize::from(*key) % KEYS.len()];
            let field = format!("{}{key}: {}", " ".repeat(indent), token.render());
            lines.insert(index + 1, field);
        }
        Edit::Indent(line, indent) => {
            let index = at(*line, lines.len());
            let line = &mut lines[index];
            let body = line.trim_start_matches(' ').to_owned();
            *line = format!("{}{body}", " ".repeat(usize::from(*indent % 16)));
        }
        Edit::Raw(line, byte, text) => {
            let index = at(*line, lines.len());
            let line = &mut lines[index];
            let mut position = usize::from(*byte).min(line.len());
            while !line.is_char_boundary(position) {
                position -= 1;
            }
            line.insert_str(position, text);
        }
    }
}

fuzz_target!(|input: Input| {
    let seeds = seeds();
    let seed = usize::from(input.seed) % seeds.len();
    let mut lines = seeds[seed].clone();
    for edit in input.edits.iter().take(64) {
        apply(&mut lines, edit);
    }
    let text = lines.join("\n");

    let parsed = match manifest::parse(&text, manifest::DEFAULT_MAX_BYTES) {
        Ok(parsed) => parsed,
        Err(error) => {
            let violations = error.violations();
            assert!(!violations.is_empty(), "{error:?} names no problem");
            let _ = error.to_string();
            purposed_fuzz::status(Error::from(error));
            return;
        }
    };
    if input.edits.is_empty() {
        // The unedited example parses to the registry the catalog compiled from it (the
        // lines dropped are comments only).
        let example = &purposed_fuzz::examples()[seed];
        assert_eq!(&parsed.registry, example.policy.registry().as_ref());
    }

    if !input.dry_run {
        let _ = purposed_fuzz::compile(parsed.registry, 2, purposed_fuzz::now());
        return;
    }
    // ApplyManifest's dry run, with the unedited example as the current revision when the
    // organisation id survived the edits.
    let now = purposed_fuzz::now();
    let before = purposed_fuzz::example_policy(&parsed.registry.organisation.id);
    let changed = before.is_none_or(|before| before.registry().as_ref() != &parsed.registry);
    let organisation = parsed.registry.organisation.id.clone();
    let after = purposed_fuzz::compile(parsed.registry, 2, now);
    let (decision_changes, truncated) = diff::decision_changes(
        before.map(|p| p.as_ref()),
        &after,
        now,
        DIFF_LIMITS,
        &std::sync::atomic::AtomicBool::new(false),
    );
    if !changed {
        assert!(
            decision_changes.is_empty(),
            "an unchanged registry changes decisions: {decision_changes:?}"
        );
    }
    let _ = encode::apply_response(&ApplyOutcome {
        organisation,
        revision: 1,
        changed,
        decision_changes,
        decision_changes_truncated: truncated,
        warnings: parsed.warnings,
        times: None,
    });
});
