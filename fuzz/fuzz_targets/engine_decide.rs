//! A whole question through the engine: the example manifests compiled once into a catalog;
//! a CheckRequest (decoded from the wire, or built from ids of the examples so that most
//! questions reach past the UNKNOWN_* answers) validated by `parse::decision::check`, the handler's own parsing; then
//! `Catalog::decide` as `App::decide` calls it, with a subject state built from fuzzed
//! consents, objections, restrictions, erasure and birth; and the answer encoded as
//! CheckResponse. Some questions also run as ListRecipients (every recipient, or the engaged
//! ones) the way `App::list_recipients` does.
//!
//! Checked besides "no panic": the same question gets the same answer; every answer gives
//! at least one reason; a DENY carries no obligation; the wire encoding has no UNSPECIFIED
//! decision or reason code.
#![no_main]

use std::sync::Arc;

use jiff::Timestamp;
use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use prost::Message;
use purposed::{
    app::Limits,
    domain::{
        decision::{Decision, Outcome},
        engine::CompiledPolicy,
        subject::{
            ConsentAction, ConsentEvent, Erasure, Objection, ObjectionScope, Restriction,
            SubjectState,
        },
    },
    grpc::{
        encode::decision as encode,
        parse::{self, fields::Violations},
    },
    proto,
};

#[derive(Arbitrary, Debug)]
enum Input {
    /// A CheckRequest as the wire brings it.
    Wire(Vec<u8>),
    /// A question built from the examples' ids (or free text), sent through the wire format.
    Built(Built),
}

#[derive(Arbitrary, Debug)]
struct Built {
    organisation: Pick,
    purpose: Pick,
    category: Pick,
    recipient: Pick,
    subject: Option<String>,
    at: Option<Moment>,
    collected_at: Option<Moment>,
    conditions: Vec<Pick>,
    state: Option<State>,
    /// Also ask as ListRecipients, with `include_denied` as given.
    list: Option<bool>,
}

/// An id of the chosen registry, or free text.
#[derive(Arbitrary, Debug)]
enum Pick {
    Known(u16),
    Text(String),
}

/// A moment: near the fixed now (most rules turn on recent dates), or anywhere.
#[derive(Arbitrary, Debug)]
enum Moment {
    Minutes(i32),
    Days(i32),
    Raw(i64, i32),
}

#[derive(Arbitrary, Debug)]
struct State {
    consents: Vec<(Pick, bool, Moment, bool, bool)>,
    objections: Vec<(Option<Pick>, Moment, Option<Moment>, bool)>,
    restrictions: Vec<(Moment, Option<Moment>)>,
    erasure: Option<Moment>,
    birth: Option<(String, i32)>,
}

impl Moment {
    fn proto(&self) -> prost_types::Timestamp {
        let now = purposed_fuzz::now().as_second();
        match *self {
            Moment::Minutes(minutes) => prost_types::Timestamp {
                seconds: now + i64::from(minutes) * 60,
                nanos: 0,
            },
            Moment::Days(days) => prost_types::Timestamp {
                seconds: now + i64::from(days) * 86_400,
                nanos: 0,
            },
            Moment::Raw(seconds, nanos) => prost_types::Timestamp { seconds, nanos },
        }
    }

    /// The moment as the store holds one: validated like a request's, and not in the future.
    fn stored(&self) -> Option<Timestamp> {
        let mut violations = Violations::default();
        let at = violations.timestamp("at", Some(&self.proto()))?;
        purposed_fuzz::moment("at", Some(at), purposed_fuzz::now()).ok()
    }
}

/// What `Pick::Known` picks from: the chosen organisation's ids.
struct Ids {
    purposes: Vec<String>,
    categories: Vec<String>,
    recipients: Vec<String>,
    conditions: Vec<String>,
}

impl Ids {
    fn of(policy: &CompiledPolicy) -> Ids {
        let registry = policy.registry();
        let mut recipients: Vec<String> =
            registry.recipients.iter().map(|r| r.id.clone()).collect();
        // The organisation itself: processing in-house.
        recipients.push(registry.organisation.id.clone());
        Ids {
            purposes: registry.purposes.iter().map(|p| p.id.clone()).collect(),
            categories: policy
                .categories()
                .iter()
                .map(|c| c.key.to_string())
                .collect(),
            recipients,
            conditions: registry
                .purposes
                .iter()
                .flat_map(|p| &p.engagements)
                .filter_map(|e| e.condition.as_ref().map(|c| c.id.clone()))
                .collect(),
        }
    }
}

impl Pick {
    fn resolve(&self, from: &[String]) -> String {
        match self {
            Pick::Known(index) if !from.is_empty() => {
                from[usize::from(*index) % from.len()].clone()
            }
            Pick::Known(_) => String::new(),
            Pick::Text(text) => text.clone(),
        }
    }
}

fn build_state(state: &State, ids: &Ids) -> SubjectState {
    let mut built = SubjectState::default();
    for (purpose, grant, at, parental, notice) in &state.consents {
        let Some(at) = at.stored() else { continue };
        built.consents.push(ConsentEvent {
            purpose: purpose.resolve(&ids.purposes).as_str().into(),
            action: if *grant {
                ConsentAction::Grant
            } else {
                ConsentAction::Withdraw
            },
            at,
            notice_version: notice.then(|| Arc::from("v1")),
            parental: *parental,
        });
    }
    for (purpose, at, withdrawn, grounds) in &state.objections {
        let Some(at) = at.stored() else { continue };
        built.objections.push(Objection {
            scope: match purpose {
                None => ObjectionScope::DirectMarketing,
                Some(purpose) => {
                    ObjectionScope::Purpose(purpose.resolve(&ids.purposes).as_str().into())
                }
            },
            at,
            compelling_grounds: grounds.then(|| Arc::from("compelling grounds")),
            withdrawn_at: withdrawn.as_ref().and_then(Moment::stored),
        });
    }
    for (from, lifted) in &state.restrictions {
        let Some(from) = from.stored() else { continue };
        built.restrictions.push(Restriction {
            from,
            lifted_at: lifted.as_ref().and_then(Moment::stored),
        });
    }
    built.erasure = state
        .erasure
        .as_ref()
        .and_then(Moment::stored)
        .map(|verified_at| Erasure { verified_at });
    if let Some((date, year)) = &state.birth {
        // SetBirth's validation, then its refusal of a birth in the future.
        let mut violations = Violations::default();
        if let Some(birth) = violations.birth(date, *year) {
            let today = purposed_fuzz::now()
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date();
            let in_future = match birth {
                purposed::domain::subject::Birth::Date(date) => date > today,
                purposed::domain::subject::Birth::Year(year) => year > today.year(),
            };
            if !in_future {
                built.birth = Some(birth);
            }
        }
    }
    built
}

fn check_outcome(outcome: &Outcome) {
    assert!(
        !outcome.reasons.is_empty(),
        "an answer without a reason: {outcome:?}"
    );
    if outcome.decision == Decision::Deny {
        assert!(
            outcome.obligations.is_empty(),
            "a DENY with obligations: {outcome:?}"
        );
    }
    let response = encode::check_response(outcome);
    assert_ne!(response.decision, proto::Decision::Unspecified as i32);
    for reason in &response.reasons {
        assert_ne!(
            reason.code,
            proto::ReasonCode::Unspecified as i32,
            "{outcome:?}"
        );
        assert_ne!(
            reason.effect,
            proto::ReasonEffect::Unspecified as i32,
            "{outcome:?}"
        );
        assert!(!reason.message.is_empty(), "{outcome:?}");
    }
    let _ = response.encode_to_vec();
}

fuzz_target!(|input: Input| {
    let catalog = purposed_fuzz::catalog();
    let (request, state, list) = match input {
        Input::Wire(bytes) => match proto::CheckRequest::decode(bytes.as_slice()) {
            Ok(request) => (request, None, None),
            Err(_) => return,
        },
        Input::Built(built) => {
            let examples = purposed_fuzz::examples();
            let organisation = match &built.organisation {
                Pick::Known(index) => examples[usize::from(*index) % examples.len()]
                    .policy
                    .registry()
                    .organisation
                    .id
                    .clone(),
                Pick::Text(text) => text.clone(),
            };
            let policy =
                purposed_fuzz::example_policy(&organisation).unwrap_or(&examples[0].policy);
            let ids = Ids::of(policy);
            let request = proto::CheckRequest {
                organisation,
                purpose: built.purpose.resolve(&ids.purposes),
                category: built.category.resolve(&ids.categories),
                recipient: built.recipient.resolve(&ids.recipients),
                subject: built.subject.clone(),
                at: built.at.as_ref().map(Moment::proto),
                known_at: None,
                collected_at: built.collected_at.as_ref().map(Moment::proto),
                min_revision: None,
                satisfied_conditions: built
                    .conditions
                    .iter()
                    .map(|pick| pick.resolve(&ids.conditions))
                    .collect(),
            };
            let state = built.state.as_ref().map(|state| build_state(state, &ids));
            // Through the wire format, as a caller's request arrives.
            let request = proto::CheckRequest::decode(request.encode_to_vec().as_slice())
                .expect("a message prost encoded decodes");
            (request, state, built.list)
        }
    };

    let input = match parse::decision::check(request, &Limits::default()) {
        Ok(input) => input,
        Err(error) => {
            purposed_fuzz::status(error);
            return;
        }
    };
    // A subject named in the question without a stored state reads as the empty state.
    let recipient = input.recipient;
    let input = input.question;
    let state = input.subject.as_ref().map(|_| state.unwrap_or_default());

    // App::decide.
    let now = purposed_fuzz::now();
    let when = input.when(now);
    let question = input.question(&recipient, when.at);
    let outcome = catalog.decide(&input.organisation, when, &question, state.as_ref());
    check_outcome(&outcome);
    let again = catalog.decide(&input.organisation, when, &question, state.as_ref());
    assert_eq!(outcome, again, "the same question got two answers");

    // App::list_recipients.
    if let Some(include_denied) = list
        && let Some(policy) = catalog.policy(&input.organisation, when)
        && policy.has_purpose(&input.purpose)
        && policy.category(&input.category).is_some()
    {
        let candidates = policy.candidate_recipients(&input.purpose, include_denied);
        for recipient in candidates {
            let outcome = policy.decide(&input.question(recipient, when.at), state.as_ref());
            check_outcome(&outcome);
            let _ = encode::recipient_decision(&purposed::app::RecipientOutcome {
                recipient: recipient.to_owned(),
                name: String::new(),
                outcome,
            });
        }
    }
});
