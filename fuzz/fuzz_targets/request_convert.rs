//! Every request message of the gRPC API, decoded from arbitrary bytes with prost and taken
//! through the validation its handler runs (`grpc::convert::Violations`, `check_input`,
//! `list_recipients_input`, and the handlers' own checks), then through the pure domain steps
//! the application takes with the validated values before it reaches the database (the
//! subject's pseudonym, the moment of an event, the rights deadlines in each country with a
//! holiday calendar, paging over example registries). Every refusal goes through purposed's
//! one `Error -> tonic::Status` mapping.
//!
//! Input: the first byte picks the message (modulo the number of messages), the rest is the
//! protobuf encoding. A message that does not decode is what tonic would refuse before the
//! handler runs; it ends the run.
#![no_main]

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use purposed::{
    domain::{
        calendar,
        rights::{Clock, RejectionReason, RequestKind, Status},
        subject::{Birth, ConsentAction, ConsentEvent, Objection, ObjectionScope, SubjectState},
    },
    error::Error,
    grpc::convert::{self, MAX_TEXT_BYTES, Page, Violations},
    proto,
};
use purposed_fuzz::{ObjectionTarget, finish, moment, now, page_key, status};

/// The server's default (`Limits::default().max_batch_checks`).
const MAX_BATCH_CHECKS: usize = 1000;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 27 {
        // DecisionService
        0 => decode(bytes, check),
        1 => decode(bytes, batch_check),
        2 => decode(bytes, list_recipients),
        // RegistryService
        3 => decode(bytes, apply_manifest),
        4 => decode(bytes, get_organisation),
        5 => decode(bytes, list_organisations),
        6 => decode(bytes, list_purposes),
        7 => decode(bytes, list_registered_recipients),
        8 => decode(bytes, list_categories),
        9 => decode(bytes, list_revisions),
        10 => decode(bytes, get_revision),
        // RightsService
        11 => decode(bytes, submit_rights_request),
        12 => decode(bytes, get_rights_request),
        13 => decode(bytes, list_rights_requests),
        14 => decode(bytes, transition_rights_request),
        15 => decode(bytes, extend_rights_request),
        16 => decode(bytes, list_rights_tasks),
        17 => decode(bytes, complete_rights_task),
        18 => decode(bytes, get_access_report),
        19 => decode(bytes, watch_rights_events),
        // SubjectService
        20 => decode(bytes, record_consent),
        21 => decode(bytes, record_objection),
        22 => decode(bytes, withdraw_objection),
        23 => decode(bytes, record_compelling_grounds),
        24 => decode(bytes, set_birth),
        25 => decode(bytes, lift_restriction),
        26 => decode(bytes, get_subject_state),
        _ => unreachable!(),
    }
});

fn decode<M: Message + Default>(bytes: &[u8], handler: fn(M)) {
    match M::decode(bytes) {
        Ok(message) => handler(message),
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// What the application derives from a validated raw subject identifier.
fn pseudonym(organisation: &str, subject: &str) {
    let reference = purposed_fuzz::subject_key().pseudonymise(organisation, subject);
    let _ = reference.to_hex();
}

/// A handler's refusal that is not a field violation.
fn refuse(status: tonic::Status) {
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

// ---- DecisionService --------------------------------------------------------------------

fn check(request: proto::CheckRequest) {
    let mut violations = Violations::default();
    let input = convert::check_input(request, "", &mut violations);
    if let Some(input) = finish(violations, input)
        && let Some(subject) = &input.subject
    {
        pseudonym(&input.organisation, subject);
    }
}

fn batch_check(request: proto::BatchCheckRequest) {
    let count = request.checks.len();
    match convert::batch_check_inputs(request, MAX_BATCH_CHECKS) {
        Ok(inputs) => assert_eq!(inputs.len(), count),
        Err(error) => {
            status(error);
        }
    }
}

fn list_recipients(request: proto::ListRecipientsRequest) {
    let mut violations = Violations::default();
    let input = convert::list_recipients_input(request, &mut violations);
    if let Some((input, _include_denied)) = finish(violations, input) {
        assert!(input.recipient.is_empty());
        if let Some(subject) = &input.subject {
            pseudonym(&input.organisation, subject);
        }
    }
}

// ---- RegistryService --------------------------------------------------------------------

fn apply_manifest(request: proto::ApplyManifestRequest) {
    // The handler passes the text to App::apply, which parses it first.
    match purposed::manifest::parse(&request.manifest, purposed::manifest::DEFAULT_MAX_BYTES) {
        Ok(parsed) => {
            let _ = parsed.registry.organisation.id;
        }
        Err(error) => {
            status(Error::from(error));
        }
    }
}

fn get_organisation(request: proto::GetOrganisationRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    finish(violations, ());
}

fn list_organisations(request: proto::ListOrganisationsRequest) {
    let mut violations = Violations::default();
    let page = violations.page(request.page_size, &request.page_token);
    if let Some(page) = finish(violations, page) {
        let mut ids: Vec<&str> = purposed_fuzz::examples()
            .iter()
            .map(|example| example.policy.registry().organisation.id.as_str())
            .collect();
        ids.sort_unstable();
        take(&page, ids.iter().copied());
    }
}

/// The example organisation a list request pages over: its own when it names one.
fn policy_for(
    organisation: &str,
) -> &'static std::sync::Arc<purposed::domain::engine::CompiledPolicy> {
    purposed_fuzz::example_policy(organisation).unwrap_or(&purposed_fuzz::examples()[0].policy)
}

/// Takes a page of `keys` (sorted) and checks it: at most `size`, every key after the
/// token's, and a next token exactly when more keys follow.
fn take<'a>(page: &Page, keys: impl IntoIterator<Item = &'a str>) {
    let keys: Vec<&str> = keys.into_iter().collect();
    let (taken, next) = page.take(keys.iter(), |key: &&str| *key);
    assert!(taken.len() <= page.size);
    if let Some(after) = &page.after {
        assert!(taken.iter().all(|key| **key > after.as_str()));
    }
    let remaining = keys
        .iter()
        .filter(|key| page.after.as_deref().is_none_or(|after| **key > after))
        .count();
    assert_eq!(
        next.is_empty(),
        remaining <= page.size,
        "{page:?}: next token {next:?}"
    );
    if !next.is_empty() {
        // The next token continues after the page's last key.
        let mut continued = Violations::default();
        let following = continued.page(page.size as u32, &next);
        assert_eq!(following.after.as_deref(), taken.last().map(|key| **key));
        assert!(finish(continued, ()).is_some());
    }
}

fn list_purposes(request: proto::ListPurposesRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let page = violations.page(request.page_size, &request.page_token);
    if let Some(page) = finish(violations, page) {
        let policy = policy_for(&request.organisation);
        take(
            &page,
            policy
                .registry()
                .purposes
                .iter()
                .map(|purpose| purpose.id.as_str()),
        );
    }
}

fn list_registered_recipients(request: proto::ListRegisteredRecipientsRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let page = violations.page(request.page_size, &request.page_token);
    let kind = violations
        .enumeration::<proto::RecipientKind>("kind", request.kind)
        .and_then(convert::kind_filter);
    if let Some(page) = finish(violations, page) {
        let policy = policy_for(&request.organisation);
        take(
            &page,
            policy
                .registry()
                .recipients
                .iter()
                .filter(|recipient| kind.is_none_or(|kind| recipient.kind == kind))
                .map(|recipient| recipient.id.as_str()),
        );
    }
}

fn list_categories(request: proto::ListCategoriesRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let page = violations.page(request.page_size, &request.page_token);
    let sensitivity = violations
        .enumeration::<proto::Sensitivity>("sensitivity", request.sensitivity)
        .and_then(convert::sensitivity_filter);
    if let Some(page) = finish(violations, page) {
        let policy = policy_for(&request.organisation);
        let mut nodes: Vec<_> = policy
            .categories()
            .iter()
            .filter(|node| sensitivity.is_none_or(|sensitivity| node.sensitivity == sensitivity))
            .collect();
        nodes.sort_by(|a, b| a.key.cmp(&b.key));
        let (nodes, _next) = page.take(nodes, |node| &node.key);
        for node in nodes {
            let parent = node
                .parent
                .map(|parent| &policy.categories()[parent as usize]);
            let _ = convert::category(node, parent);
        }
        take(
            &page,
            policy
                .categories()
                .iter()
                .map(|node| &*node.key)
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
}

fn list_revisions(request: proto::ListRevisionsRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let page = violations.page(request.page_size, &request.page_token);
    if let Some(page) = finish(violations, page) {
        // Newest first, keyed as the handler keys them.
        let keys: Vec<String> = [3_u64, 2, 1, 0]
            .iter()
            .map(|number| format!("{:020}", u64::MAX - number))
            .collect();
        take(&page, keys.iter().map(String::as_str));
    }
}

fn get_revision(request: proto::GetRevisionRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    finish(violations, ());
}

// ---- RightsService ----------------------------------------------------------------------

fn submit_rights_request(request: proto::SubmitRightsRequestRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.request_id("request_id", &request.request_id);
    let kind = violations
        .required::<proto::RightsRequestType>("type", request.r#type)
        .and_then(convert::request_kind);
    violations.required_subject("subject", &request.subject);
    let received_at = violations.timestamp("received_at", request.received_at.as_ref());
    if violations.at_most("purposes", request.purposes.len(), convert::MAX_REQUEST_PURPOSES) {
        for (index, purpose) in request.purposes.iter().enumerate() {
            violations.id(&format!("purposes[{index}]"), purpose);
        }
    }
    let purposes = convert::fold_repeats(request.purposes.clone());
    assert!(purposes.len() <= request.purposes.len());
    for (index, purpose) in purposes.iter().enumerate() {
        assert!(!purposes[..index].contains(purpose), "a repeat survived the fold");
    }
    let _details = violations.text("details", request.details, MAX_TEXT_BYTES);
    let actor = violations.actor("actor", request.actor);
    let Some(kind) = finish(violations, kind) else {
        return;
    };
    let Some(kind) = kind else {
        refuse(tonic::Status::invalid_argument("type: must be set"));
        return;
    };
    assert!(!actor.is_empty());
    let _ = kind.article();
    // App::submit_rights_request: the moment of receipt, the pseudonym, and the one-month
    // clock (and its extensions) in the organisation's country.
    let received_at = match moment("received_at", received_at, now()) {
        Ok(at) => at,
        Err(error) => {
            status(error);
            return;
        }
    };
    pseudonym(&request.organisation, &request.subject);
    deadlines(received_at);
}

/// The rights deadlines of a request received at `received_at`, in every country with a
/// holiday calendar and two without one, as `App::submit_rights_request` and
/// `rights::extend` compute them.
fn deadlines(received_at: Timestamp) {
    for &country in purposed_fuzz::deadline_countries() {
        let started_on = calendar::local_date(country, received_at);
        for extension_months in 0..=2 {
            let clock = Clock {
                started_on: Some(started_on),
                extension_months,
            };
            let first_due = clock.first_due(country).expect("the clock has started");
            let due = clock.due(country).expect("the clock has started");
            assert!(
                due >= first_due,
                "{country} {started_on}: due {due} before {first_due}"
            );
        }
    }
}

fn get_rights_request(request: proto::GetRightsRequestRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.request_id("request_id", &request.request_id);
    finish(violations, ());
}

fn list_rights_requests(request: proto::ListRightsRequestsRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    let mut statuses: Vec<Status> = Vec::new();
    if violations.at_most("statuses", request.statuses.len(), convert::MAX_FILTER_VALUES) {
        for (index, value) in request.statuses.iter().enumerate() {
            statuses.extend(
                violations
                    .required::<proto::RightsRequestStatus>(&format!("statuses[{index}]"), *value)
                    .and_then(convert::status),
            );
        }
    }
    let mut kinds: Vec<RequestKind> = Vec::new();
    if violations.at_most("types", request.types.len(), convert::MAX_FILTER_VALUES) {
        for (index, value) in request.types.iter().enumerate() {
            kinds.extend(
                violations
                    .required::<proto::RightsRequestType>(&format!("types[{index}]"), *value)
                    .and_then(convert::request_kind),
            );
        }
    }
    let due_before = violations.date("due_before", &request.due_before);
    let (size, after) = page_key(&mut violations, request.page_size, &request.page_token);
    if finish(violations, ()).is_some() {
        assert!((1..=convert::MAX_PAGE_SIZE).contains(&size));
        assert_eq!(statuses.len(), request.statuses.len());
        assert_eq!(kinds.len(), request.types.len());
        assert!(statuses.len() <= convert::MAX_FILTER_VALUES);
        assert!(kinds.len() <= convert::MAX_FILTER_VALUES);
        let (statuses, kinds) = (convert::fold_repeats(statuses), convert::fold_repeats(kinds));
        assert!(!statuses.is_empty() || request.statuses.is_empty());
        assert!(!kinds.is_empty() || request.types.is_empty());
        let _ = due_before;
        if let Some(after) = after {
            let token = Page::token(&after.to_string());
            let mut again = Violations::default();
            assert_eq!(page_key(&mut again, 1, &token).1, Some(after));
        }
    }
}

fn transition_rights_request(request: proto::TransitionRightsRequestRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.request_id("request_id", &request.request_id);
    let next = violations
        .required::<proto::RightsRequestStatus>("status", request.status)
        .and_then(convert::status);
    let rejection_reason = violations
        .enumeration::<proto::RejectionReason>("rejection_reason", request.rejection_reason)
        .and_then(convert::rejection_reason);
    let _actor = violations.actor("actor", request.actor);
    let _note = violations.text("note", request.note, MAX_TEXT_BYTES);
    let Some(next) = finish(violations, next) else {
        return;
    };
    let Some(next) = next else {
        refuse(tonic::Status::invalid_argument("status: must be set"));
        return;
    };
    // The lifecycle and the reasons' fit, as App::transition_rights_request consults them.
    for from in [
        Status::Received,
        Status::IdentityPending,
        Status::Verified,
        Status::InProgress,
        Status::Completed,
        Status::Rejected,
        Status::Cancelled,
    ] {
        let _ = from.may_become(next);
    }
    if let Some(reason) = rejection_reason {
        let _: RejectionReason = reason;
        let _ = reason.article();
        for kind in [
            RequestKind::Access,
            RequestKind::Rectification,
            RequestKind::Erasure,
            RequestKind::Restriction,
            RequestKind::Portability,
            RequestKind::Objection,
            RequestKind::WithdrawConsent,
        ] {
            let _ = reason.fits(kind);
        }
    }
}

fn extend_rights_request(request: proto::ExtendRightsRequestRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.request_id("request_id", &request.request_id);
    let months = match request.months {
        1 | 2 => request.months as i8,
        _ => {
            violations.add("months", "one or two further months (Art. 12(3))");
            0
        }
    };
    let reason = violations.text("reason", request.reason, MAX_TEXT_BYTES);
    if reason.is_none() {
        violations.add(
            "reason",
            "must state why; the subject must be told (Art. 12(3))",
        );
    }
    let _actor = violations.actor("actor", request.actor);
    if finish(violations, ()).is_some() {
        assert!((1..=2).contains(&months));
        assert!(reason.is_some_and(|reason| !reason.is_empty()));
    }
}

fn list_rights_tasks(request: proto::ListRightsTasksRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    if !request.request_id.is_empty() {
        violations.request_id("request_id", &request.request_id);
    }
    let (size, _after) = page_key(&mut violations, request.page_size, &request.page_token);
    if finish(violations, ()).is_some() {
        assert!((1..=convert::MAX_PAGE_SIZE).contains(&size));
    }
}

fn complete_rights_task(request: proto::CompleteRightsTaskRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.task_id("task_id", request.task_id);
    let _actor = violations.actor("actor", request.actor);
    let _note = violations.text("note", request.note, MAX_TEXT_BYTES);
    if finish(violations, ()).is_some() {
        assert_ne!(request.task_id, 0);
    }
}

fn get_access_report(request: proto::GetAccessReportRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.request_id("request_id", &request.request_id);
    finish(violations, ());
}

fn watch_rights_events(request: proto::WatchRightsEventsRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    finish(violations, ());
}

// ---- SubjectService ---------------------------------------------------------------------

fn record_consent(request: proto::RecordConsentRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    violations.id("purpose", &request.purpose);
    let action = violations
        .required::<proto::ConsentAction>("action", request.action)
        .and_then(convert::consent_action);
    let at = violations.timestamp("at", request.at.as_ref());
    let notice_version = violations.text("notice_version", request.notice_version, 200);
    let _source = violations.text("source", request.source, MAX_TEXT_BYTES);
    let Some(action) = finish(violations, action) else {
        return;
    };
    let Some(action) = action else {
        refuse(tonic::Status::invalid_argument("action: must be set"));
        return;
    };
    // App::record_consent: the moment, the pseudonym and the consent event.
    let at = match moment("at", at, now()) {
        Ok(at) => at,
        Err(error) => {
            status(error);
            return;
        }
    };
    pseudonym(&request.organisation, &request.subject);
    let state = SubjectState {
        consents: vec![ConsentEvent {
            purpose: request.purpose.as_str().into(),
            action,
            at,
            notice_version: notice_version.as_deref().map(Into::into),
            parental: request.parental,
        }],
        ..SubjectState::default()
    };
    assert_eq!(
        state.ever_consented(&request.purpose),
        action == ConsentAction::Grant
    );
    let _ = state.consent(&request.purpose, at);
}

fn record_objection(request: proto::RecordObjectionRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    let target = purposed_fuzz::objection_target(
        &mut violations,
        request.direct_marketing,
        &request.purpose,
    );
    let at = violations.timestamp("at", request.at.as_ref());
    let Some(target) = finish(violations, target) else {
        return;
    };
    // App::record_objection: the moment, the pseudonym and the objection.
    let at = match moment("at", at, now()) {
        Ok(at) => at,
        Err(error) => {
            status(error);
            return;
        }
    };
    pseudonym(&request.organisation, &request.subject);
    let scope = match &target {
        ObjectionTarget::DirectMarketing => ObjectionScope::DirectMarketing,
        ObjectionTarget::Purpose(purpose) => ObjectionScope::Purpose(purpose.as_str().into()),
    };
    let objection = Objection {
        scope,
        at,
        compelling_grounds: None,
        withdrawn_at: None,
    };
    assert!(objection.active_at(at));
}

fn withdraw_objection(request: proto::WithdrawObjectionRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    let target = purposed_fuzz::objection_target(
        &mut violations,
        request.direct_marketing,
        &request.purpose,
    );
    if finish(violations, target).is_some() {
        pseudonym(&request.organisation, &request.subject);
    }
}

fn record_compelling_grounds(request: proto::RecordCompellingGroundsRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    violations.id("purpose", &request.purpose);
    let grounds = violations.text("grounds", request.grounds, MAX_TEXT_BYTES);
    if grounds.is_none() {
        violations.add("grounds", "must state the grounds");
    }
    if finish(violations, ()).is_some() {
        pseudonym(&request.organisation, &request.subject);
    }
}

fn set_birth(request: proto::SetBirthRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    let birth = violations.birth(&request.birth_date, request.birth_year);
    let Some(birth) = finish(violations, birth) else {
        return;
    };
    let Some(birth) = birth else {
        refuse(tonic::Status::invalid_argument(
            "birth_date: give a birth date or a birth year",
        ));
        return;
    };
    // App::set_birth refuses a birth in the future; the engine then reads ages from it at
    // any moment a question names.
    let today = now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let (in_future, field) = match birth {
        Birth::Date(date) => (date > today, "birth_date"),
        Birth::Year(year) => (year > today.year(), "birth_year"),
    };
    if in_future {
        status(Error::invalid(field, "is in the future"));
        return;
    }
    pseudonym(&request.organisation, &request.subject);
    let state = SubjectState {
        birth: Some(birth),
        ..SubjectState::default()
    };
    for at in [Timestamp::MIN, now(), Timestamp::MAX] {
        let _ = state.youngest_age_at(at);
    }
}

fn lift_restriction(request: proto::LiftRestrictionRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    let note = violations.text("note", request.note, MAX_TEXT_BYTES);
    if note.is_none() {
        violations.add(
            "note",
            "must say why and how the subject was told (Art. 18(3))",
        );
    }
    if finish(violations, ()).is_some() {
        pseudonym(&request.organisation, &request.subject);
    }
}

fn get_subject_state(request: proto::GetSubjectStateRequest) {
    let mut violations = Violations::default();
    violations.id("organisation", &request.organisation);
    violations.required_subject("subject", &request.subject);
    if finish(violations, ()).is_some() {
        pseudonym(&request.organisation, &request.subject);
    }
}
