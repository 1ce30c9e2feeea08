//! DecisionService requests.

use std::borrow::Cow;

use super::fields::Violations;
use crate::{
    app::{CheckInput, Limits},
    error::Error,
    proto,
};

/// A question, and whether ListRecipients also lists the recipients it denies.
#[derive(Clone, Debug)]
pub struct RecipientsQuestion {
    pub question: CheckInput,
    pub include_denied: bool,
}

pub fn check(request: proto::CheckRequest, _: &Limits) -> Result<CheckInput, Error> {
    let mut violations = Violations::default();
    let input = check_input(request, "", &mut violations);
    violations.into_result(input)
}

pub fn batch_check(
    request: proto::BatchCheckRequest,
    limits: &Limits,
) -> Result<Vec<CheckInput>, Error> {
    batch_check_inputs(request, limits.max_batch_checks)
}

pub fn list_recipients(
    request: proto::ListRecipientsRequest,
    _: &Limits,
) -> Result<RecipientsQuestion, Error> {
    let mut violations = Violations::default();
    let (question, include_denied) = list_recipients_input(request, &mut violations);
    let question = violations.into_result(question)?;
    Ok(RecipientsQuestion {
        question,
        include_denied,
    })
}

/// Validates one CheckRequest; violations are prefixed with `prefix` (for batch items).
pub(crate) fn check_input(
    request: proto::CheckRequest,
    prefix: &str,
    violations: &mut Violations,
) -> CheckInput {
    // A field's full name is only read when it is refused: a Check (no prefix) spends no
    // allocation on names.
    let field = |name: &'static str| -> Cow<'static, str> {
        if prefix.is_empty() {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(format!("{prefix}{name}"))
        }
    };
    violations.id(&field("organisation"), &request.organisation);
    violations.id(&field("purpose"), &request.purpose);
    violations.category(&field("category"), &request.category);
    violations.id(&field("recipient"), &request.recipient);
    violations.subject(&field("subject"), request.subject.as_ref());
    let at = violations.timestamp(&field("at"), request.at.as_ref());
    let collected_at = violations.timestamp(&field("collected_at"), request.collected_at.as_ref());
    violations.conditions(
        &field("satisfied_conditions"),
        &request.satisfied_conditions,
    );
    CheckInput {
        organisation: request.organisation,
        purpose: request.purpose,
        category: request.category,
        recipient: request.recipient,
        subject: request.subject,
        at,
        collected_at,
        min_revision: request.min_revision,
        satisfied_conditions: request.satisfied_conditions,
    }
}

/// The questions of a BatchCheck, each validated under `checks[i].`; more than `limit` is
/// refused before any is looked at.
fn batch_check_inputs(
    request: proto::BatchCheckRequest,
    limit: usize,
) -> Result<Vec<CheckInput>, Error> {
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
    violations.into_result(inputs)
}

fn list_recipients_input(
    request: proto::ListRecipientsRequest,
    violations: &mut Violations,
) -> (CheckInput, bool) {
    violations.id("organisation", &request.organisation);
    violations.id("purpose", &request.purpose);
    violations.category("category", &request.category);
    violations.subject("subject", request.subject.as_ref());
    let at = violations.timestamp("at", request.at.as_ref());
    let collected_at = violations.timestamp("collected_at", request.collected_at.as_ref());
    violations.conditions("satisfied_conditions", &request.satisfied_conditions);
    (
        CheckInput {
            organisation: request.organisation,
            purpose: request.purpose,
            category: request.category,
            recipient: String::new(),
            subject: request.subject,
            at,
            collected_at,
            min_revision: request.min_revision,
            satisfied_conditions: request.satisfied_conditions,
        },
        request.include_denied,
    )
}
