//! The questions of tests/seed_questions.yaml, each answered as its seed document implies,
//! asked over gRPC of a server that loaded the embedded example manifests (`--demo`).

use std::collections::BTreeMap;

use purposed::proto::{CheckRequest, ReasonCode};
use serde::Deserialize;

use crate::{decision::codes, support::spawn_demo};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedQuestion {
    organisation: String,
    purpose: String,
    category: String,
    recipient: String,
    #[serde(default)]
    satisfied_conditions: Vec<String>,
    decision: String,
    reasons: Vec<String>,
    why: String,
}

#[tokio::test]
async fn every_seed_question_is_answered_as_its_document_implies() {
    let questions: Vec<SeedQuestion> =
        serde_saphyr::from_str(include_str!("../seed_questions.yaml"))
            .expect("seed_questions.yaml");
    let mut per_organisation: BTreeMap<&str, usize> = BTreeMap::new();
    for question in &questions {
        *per_organisation
            .entry(question.organisation.as_str())
            .or_default() += 1;
    }
    assert_eq!(
        per_organisation.keys().copied().collect::<Vec<_>>(),
        ["apollo", "capturi", "peero", "pro-balances", "sendberry"]
    );
    assert!(
        per_organisation.values().all(|count| *count >= 5),
        "{per_organisation:?}"
    );

    let app = spawn_demo().await;
    let mut failures = Vec::new();
    for question in &questions {
        let response = app
            .decision()
            .check(CheckRequest {
                organisation: question.organisation.clone(),
                purpose: question.purpose.clone(),
                category: question.category.clone(),
                recipient: question.recipient.clone(),
                satisfied_conditions: question.satisfied_conditions.clone(),
                ..Default::default()
            })
            .await
            .expect("check")
            .into_inner();
        let decision = response
            .decision()
            .as_str_name()
            .trim_start_matches("DECISION_")
            .to_owned();
        let found: Vec<String> = codes(&response)
            .into_iter()
            .map(|code: ReasonCode| {
                code.as_str_name()
                    .trim_start_matches("REASON_CODE_")
                    .to_owned()
            })
            .collect();
        let missing: Vec<&String> = question
            .reasons
            .iter()
            .filter(|code| !found.contains(code))
            .collect();
        let unsourced = response
            .reasons
            .iter()
            .any(|reason| reason.source.is_empty() && reason.code() == ReasonCode::LegalBasis);
        if decision != question.decision || !missing.is_empty() || unsourced {
            failures.push(format!(
                "{} / {} / {} / {}: expected {} with {:?}, got {decision} with {found:?} ({})",
                question.organisation,
                question.purpose,
                question.category,
                question.recipient,
                question.decision,
                question.reasons,
                question.why
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} seed questions failed:\n{}",
        failures.len(),
        questions.len(),
        failures.join("\n")
    );
}

/// Where the five seed documents are: `PURPOSED_SEEDS`, else `../shared/seeds` beside the
/// repository, else `/work/shared/seeds`.
fn seed_directory() -> std::path::PathBuf {
    let candidates: Vec<std::path::PathBuf> = std::env::var_os("PURPOSED_SEEDS")
        .map(Into::into)
        .into_iter()
        .chain([
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds"),
            "/work/shared/seeds".into(),
        ])
        .collect();
    candidates
        .iter()
        .find(|directory| directory.is_dir())
        .cloned()
        .unwrap_or_else(|| panic!("the seed documents are in none of {candidates:?}"))
}

pub fn seed_text(number: &str) -> String {
    let directory = seed_directory();
    let file = std::fs::read_dir(&directory)
        .expect("the seed directory")
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().starts_with(number))
        .unwrap_or_else(|| panic!("no seed {number} in {}", directory.display()));
    std::fs::read_to_string(file.path()).expect("a seed document")
}

/// Whitespace folded to single spaces, so that a quote may wrap where the document does not.
pub fn folded(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every text a manifest says it quotes from its document: the data processed, the basis
/// qualifiers, the conditions of conditional categories and the security measures, in
/// every language given.
fn quotes(registry: &purposed::domain::policy::Registry) -> Vec<(String, String)> {
    use purposed::domain::text::Localised;
    let mut found = Vec::new();
    let mut add = |place: String, text: &Localised| {
        found.push((place.clone(), text.text().to_owned()));
        for language in text.languages() {
            found.push((
                format!("{place} ({language})"),
                text.in_language(Some(language)).to_owned(),
            ));
        }
    };
    for measure in &registry.organisation.accountability.security_measures {
        add("security measure".into(), &measure.text);
    }
    for recipient in &registry.recipients {
        if let Some(text) = &recipient.data_processed {
            add(format!("recipients {}.data_processed", recipient.id), text);
        }
    }
    for purpose in &registry.purposes {
        if let Some(text) = &purpose.legal_basis_qualifier {
            add(
                format!("purposes {}.legal_basis_qualifier", purpose.id),
                text,
            );
        }
        for conditional in &purpose.conditional_categories {
            add(
                format!("purposes {}.conditional_categories", purpose.id),
                &conditional.when,
            );
        }
        for engagement in &purpose.engagements {
            if let Some(text) = &engagement.data_processed {
                add(
                    format!(
                        "purposes {}.recipients {}.data_processed",
                        purpose.id, engagement.recipient
                    ),
                    text,
                );
            }
        }
    }
    found
}

/// The five seed manifests are format 2 in their documents' languages, and every text they
/// say they quote is in the document, word for word.
#[test]
fn the_seed_manifests_quote_their_documents_in_their_languages() {
    let seeds = [
        ("peero", "000", "lv", &["en"][..]),
        ("apollo", "001", "lv", &[][..]),
        ("sendberry", "002", "lv", &[][..]),
        ("pro-balances", "003", "lv", &[][..]),
        ("capturi", "004", "nb", &[][..]),
    ];
    let mut failures = Vec::new();
    for (name, number, language, others) in seeds {
        let registry = purposed::manifest::parse(
            crate::support::example(name),
            purposed::manifest::DEFAULT_MAX_BYTES,
        )
        .unwrap_or_else(|error| panic!("{name}: {error}"))
        .registry;
        let found = registry
            .organisation
            .language
            .map(|found| found.to_string());
        if found.as_deref() != Some(language) {
            failures.push(format!(
                "{name}: default language {found:?}, not {language:?}"
            ));
        }
        let document = folded(&seed_text(number));
        let quoted = quotes(&registry);
        if quoted.len() < 3 {
            failures.push(format!("{name}: only {} quoted texts", quoted.len()));
        }
        for (place, text) in &quoted {
            if !document.contains(&folded(text)) {
                failures.push(format!("{name} {place}: {text:?} is not in seed {number}"));
            }
        }
        // Every name is given in each of the document's other languages.
        for purpose in &registry.purposes {
            for other in others {
                let other = other.parse().ok();
                if purpose.name.in_language(other) == purpose.name.text() {
                    failures.push(format!(
                        "{name}: purpose {} has no name in {other:?}",
                        purpose.id
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
