//! DecisionService requests.

use crate::{
    app::{CheckInput, Limits},
    error::Error,
    grpc::convert::{self, Violations},
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
    let input = convert::check_input(request, "", &mut violations);
    violations.into_result(input)
}

pub fn batch_check(
    request: proto::BatchCheckRequest,
    limits: &Limits,
) -> Result<Vec<CheckInput>, Error> {
    convert::batch_check_inputs(request, limits.max_batch_checks)
}

pub fn list_recipients(
    request: proto::ListRecipientsRequest,
    _: &Limits,
) -> Result<RecipientsQuestion, Error> {
    let mut violations = Violations::default();
    let (question, include_denied) = convert::list_recipients_input(request, &mut violations);
    let question = violations.into_result(question)?;
    Ok(RecipientsQuestion {
        question,
        include_denied,
    })
}
