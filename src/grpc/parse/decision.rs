//! DecisionService requests.

use std::borrow::Cow;

use prost_types::Timestamp as ProtoTimestamp;

use super::fields::{Violations, parse_all};
use crate::domain::text::Language;
use crate::{
    app::{CheckInput, Limits, QuestionInput},
    domain::names::RecipientId,
    error::Error,
    proto,
};

/// A question without a recipient, and whether ListRecipients also lists the recipients it
/// denies.
#[derive(Clone, Debug)]
pub struct RecipientsQuestion {
    pub question: QuestionInput,
    pub include_denied: bool,
    /// The language of the recipients' names; `None` for the default.
    pub language: Option<Language>,
}

pub fn check(request: proto::CheckRequest, _: &Limits) -> Result<CheckInput, Error> {
    parse_all(|violations| check_input(request, "", violations))
}

/// The questions of a BatchCheck, each parsed under `checks[i].`; more than the limit is
/// refused before any is looked at.
pub fn batch_check(
    request: proto::BatchCheckRequest,
    limits: &Limits,
) -> Result<Vec<CheckInput>, Error> {
    let limit = limits.max_batch_checks;
    if request.checks.len() > limit {
        return Err(Error::invalid(
            "checks",
            format!("at most {limit} questions per batch"),
        ));
    }
    let mut violations = Violations::default();
    let inputs: Vec<_> = request
        .checks
        .into_iter()
        .enumerate()
        .map(|(index, check)| check_input(check, &format!("checks[{index}]."), &mut violations))
        .collect();
    violations.finish(|| inputs.into_iter().collect())
}

pub fn list_recipients(
    request: proto::ListRecipientsRequest,
    _: &Limits,
) -> Result<RecipientsQuestion, Error> {
    // Destructured whole (here and in `check_input`), so that a field added to the message
    // does not compile until it is parsed.
    let proto::ListRecipientsRequest {
        organisation,
        purpose,
        category,
        subject,
        at,
        collected_at,
        min_revision,
        satisfied_conditions,
        include_denied,
        known_at,
        language,
    } = request;
    let asked = Asked {
        organisation,
        purpose,
        category,
        recipient: None,
        subject,
        at,
        known_at,
        collected_at,
        min_revision,
        satisfied_conditions,
    };
    parse_all(|violations| {
        let language = violations.language("language", language);
        let (question, _) = question(asked, &|name| Cow::Borrowed(name), violations);
        Some(RecipientsQuestion {
            question: question?,
            include_denied,
            language,
        })
    })
}

/// One CheckRequest; violations are prefixed with `prefix` (for batch items).
fn check_input(
    request: proto::CheckRequest,
    prefix: &str,
    violations: &mut Violations,
) -> Option<CheckInput> {
    // A field's full name is only read when it is refused: a Check (no prefix) spends no
    // allocation on names.
    let field = |name: &'static str| -> Cow<'static, str> {
        if prefix.is_empty() {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(format!("{prefix}{name}"))
        }
    };
    let proto::CheckRequest {
        organisation,
        purpose,
        category,
        recipient,
        subject,
        at,
        collected_at,
        min_revision,
        satisfied_conditions,
        known_at,
    } = request;
    let (question, recipient) = question(
        Asked {
            organisation,
            purpose,
            category,
            recipient: Some(recipient),
            subject,
            at,
            known_at,
            collected_at,
            min_revision,
            satisfied_conditions,
        },
        &field,
        violations,
    );
    Some(CheckInput {
        question: question?,
        recipient: recipient?,
    })
}

/// The fields of a question, as Check and ListRecipients receive them.
struct Asked {
    organisation: String,
    purpose: String,
    category: String,
    /// Check's; ListRecipients names none.
    recipient: Option<String>,
    subject: Option<String>,
    at: Option<ProtoTimestamp>,
    known_at: Option<ProtoTimestamp>,
    collected_at: Option<ProtoTimestamp>,
    min_revision: Option<u64>,
    satisfied_conditions: Vec<String>,
}

fn question(
    asked: Asked,
    field: &dyn Fn(&'static str) -> Cow<'static, str>,
    violations: &mut Violations,
) -> (Option<QuestionInput>, Option<RecipientId>) {
    let organisation = violations.parsed(&field("organisation"), asked.organisation);
    let purpose = violations.parsed(&field("purpose"), asked.purpose);
    let category = violations.parsed(&field("category"), asked.category);
    let recipient = asked
        .recipient
        .and_then(|recipient| violations.parsed(&field("recipient"), recipient));
    let subject = violations.optional_subject(&field("subject"), asked.subject);
    let at = violations.timestamp(&field("at"), asked.at.as_ref());
    let known_at = violations.known_at(&field("known_at"), asked.known_at.as_ref());
    let collected_at = violations.timestamp(&field("collected_at"), asked.collected_at.as_ref());
    let satisfied_conditions =
        violations.conditions(&field("satisfied_conditions"), asked.satisfied_conditions);
    let question = match (organisation, purpose, category) {
        (Some(organisation), Some(purpose), Some(category)) => Some(QuestionInput {
            organisation,
            purpose,
            category,
            subject,
            at,
            known_at,
            collected_at,
            min_revision: asked.min_revision,
            satisfied_conditions,
        }),
        _ => None,
    };
    (question, recipient)
}
