//! Every request message of the gRPC API, decoded from arbitrary bytes with prost and parsed
//! by the very function its handler calls (`grpc::parse::*`), then taken through the pure
//! domain steps the application takes with the parsed input before it reaches the database
//! (the subject's pseudonym, the moment of an event, the rights deadlines in each country
//! with a holiday calendar, paging over example registries). Every refusal goes through
//! purposed's one `Error -> tonic::Status` mapping, and is INVALID_ARGUMENT.
//!
//! Input: the first byte picks the message (modulo the number of messages), the rest is the
//! protobuf encoding. A message that does not decode is what the codec refuses before the
//! handler runs; it ends the run.
#![no_main]

use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use purposed::{
    app::Limits,
    domain::{
        Spelling, calendar,
        names::RawSubject,
        rights::{Clock, RequestKind, Status},
        subject::{Birth, ConsentAction, ConsentEvent, Objection, ObjectionScope, SubjectState},
    },
    error::Error,
    grpc::{
        encode::registry as encode,
        parse,
        parse::fields::{self, Page, Violations},
    },
    proto,
};
use purposed_fuzz::{ObjectionTarget, finish, moment_or_refused, now, page_key, status};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 29 {
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
        // DocumentService
        27 => decode(bytes, render_document),
        28 => decode(bytes, review_registry),
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

/// The server's default limits, as the handlers' parse functions get them.
fn limits() -> Limits {
    Limits::default()
}

/// What a handler's parse function gave: the input, or a refusal that names fields.
fn parsed<I>(result: Result<I, Error>) -> Option<I> {
    match result {
        Ok(input) => Some(input),
        Err(error) => {
            assert!(
                matches!(error, Error::InvalidArgument(_)),
                "a parse refused with {error:?}"
            );
            status(error);
            None
        }
    }
}

/// What the application derives from a validated raw subject identifier.
fn pseudonym(organisation: &str, subject: &RawSubject) {
    let reference = purposed_fuzz::subject_key().pseudonymise(organisation, subject);
    let _ = reference.to_hex();
}

// ---- DecisionService --------------------------------------------------------------------

fn check(request: proto::CheckRequest) {
    if let Some(input) = parsed(parse::decision::check(request, &limits()))
        && let Some(subject) = &input.question.subject
    {
        pseudonym(&input.question.organisation, subject);
    }
}

fn batch_check(request: proto::BatchCheckRequest) {
    let count = request.checks.len();
    if let Some(inputs) = parsed(parse::decision::batch_check(request, &limits())) {
        assert_eq!(inputs.len(), count);
    }
}

fn list_recipients(request: proto::ListRecipientsRequest) {
    if let Some(input) = parsed(parse::decision::list_recipients(request, &limits())) {
        let question = input.question;
        if let Some(subject) = &question.subject {
            pseudonym(&question.organisation, subject);
        }
    }
}

// ---- RegistryService --------------------------------------------------------------------

fn apply_manifest(request: proto::ApplyManifestRequest) {
    let Some(apply) = parsed(parse::registry::apply_manifest(request, &limits())) else {
        return;
    };
    // The handler passes the text to App::apply, which parses it first.
    match purposed::manifest::parse(&apply.manifest, limits().max_manifest_bytes) {
        Ok(manifest) => {
            let _ = manifest.registry.organisation.id;
        }
        Err(error) => {
            status(Error::from(error));
        }
    }
}

fn get_organisation(request: proto::GetOrganisationRequest) {
    let _ = parsed(parse::registry::get_organisation(request, &limits()));
}

fn list_organisations(request: proto::ListOrganisationsRequest) {
    if let Some(page) = parsed(parse::registry::list_organisations(request, &limits())) {
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
    if let Some(input) = parsed(parse::registry::list_purposes(request, &limits())) {
        let policy = policy_for(&input.at.organisation);
        take(
            &input.page,
            policy
                .registry()
                .purposes
                .iter()
                .map(|purpose| purpose.id.as_str()),
        );
    }
}

fn list_registered_recipients(request: proto::ListRegisteredRecipientsRequest) {
    if let Some(input) = parsed(parse::registry::list_registered_recipients(
        request,
        &limits(),
    )) {
        let policy = policy_for(&input.of.at.organisation);
        let kind = input.kind;
        take(
            &input.of.page,
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
    if let Some(input) = parsed(parse::registry::list_categories(request, &limits())) {
        let (page, sensitivity) = (&input.of.page, input.sensitivity);
        let policy = policy_for(&input.of.at.organisation);
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
            let own = policy
                .registry()
                .categories
                .iter()
                .find(|own| *own.key == *node.key);
            let _ = encode::category(node, parent, own, input.of.at.language);
        }
        take(
            page,
            policy
                .categories()
                .iter()
                .map(|node| &*node.key)
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
}

fn list_revisions(request: proto::ListRevisionsRequest) {
    if let Some(input) = parsed(parse::registry::list_revisions(request, &limits())) {
        // Newest first, keyed as the handler keys them.
        let keys: Vec<String> = [3_u64, 2, 1, 0]
            .iter()
            .map(|number| format!("{:020}", u64::MAX - number))
            .collect();
        take(&input.page, keys.iter().map(String::as_str));
    }
}

fn get_revision(request: proto::GetRevisionRequest) {
    let _ = parsed(parse::registry::get_revision(request, &limits()));
}

// ---- RightsService ----------------------------------------------------------------------

fn submit_rights_request(request: proto::SubmitRightsRequestRequest) {
    let named = request.purposes.len();
    let Some(input) = parsed(parse::rights::submit_rights_request(request, &limits())) else {
        return;
    };
    assert!(input.purposes.len() <= named.min(fields::MAX_REQUEST_PURPOSES));
    for (index, purpose) in input.purposes.iter().enumerate() {
        assert!(
            !input.purposes[..index].contains(purpose),
            "a repeat survived the fold"
        );
    }
    assert!(!input.actor.is_empty());
    let _ = input.kind.article();
    // App::submit_rights_request: the moment of receipt, the pseudonym, and the one-month
    // clock (and its extensions) in the organisation's country.
    let Some(received_at) = moment_or_refused("received_at", input.received_at) else {
        return;
    };
    pseudonym(&input.organisation, &input.subject);
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
    let _ = parsed(parse::rights::get_rights_request(request, &limits()));
}

fn list_rights_requests(request: proto::ListRightsRequestsRequest) {
    let (statuses, types) = (request.statuses.len(), request.types.len());
    let Some(page) = parsed(parse::rights::list_rights_requests(request, &limits())) else {
        return;
    };
    assert!((1..=fields::MAX_PAGE_SIZE).contains(&page.size));
    assert!(statuses <= fields::MAX_FILTER_VALUES && types <= fields::MAX_FILTER_VALUES);
    // Repeats fold, but a filter given is never lost.
    assert_eq!(page.filters.statuses.is_empty(), statuses == 0);
    assert_eq!(page.filters.kinds.is_empty(), types == 0);
    if let Some(after) = page.after {
        let token = Page::token(&after.to_string());
        let mut again = Violations::default();
        assert_eq!(page_key(&mut again, 1, &token).1, Some(after));
    }
}

fn transition_rights_request(request: proto::TransitionRightsRequestRequest) {
    let Some(input) = parsed(parse::rights::transition_rights_request(request, &limits())) else {
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
        let _ = from.may_become(input.status);
    }
    if let Some(reason) = input.rejection_reason {
        let _ = reason.article();
        for &kind in RequestKind::ALL {
            let _ = reason.fits(kind);
        }
    }
}

fn extend_rights_request(request: proto::ExtendRightsRequestRequest) {
    if let Some(input) = parsed(parse::rights::extend_rights_request(request, &limits())) {
        assert!((1..=2).contains(&input.months.get()));
        assert!(!input.reason.is_empty());
    }
}

fn list_rights_tasks(request: proto::ListRightsTasksRequest) {
    if let Some(page) = parsed(parse::rights::list_rights_tasks(request, &limits())) {
        assert!((1..=fields::MAX_PAGE_SIZE).contains(&page.size));
        assert!(page.request_id.as_deref().is_none_or(|id| !id.is_empty()));
    }
}

fn complete_rights_task(request: proto::CompleteRightsTaskRequest) {
    if let Some(input) = parsed(parse::rights::complete_rights_task(request, &limits())) {
        assert_ne!(input.task_id.get(), 0);
    }
}

/// The parse, then the document written and rendered from the named example.
fn render_document(request: proto::RenderDocumentRequest) {
    if let Some(input) = parsed(parse::document::render_document(request, &limits())) {
        let policy = policy_for(&input.organisation);
        let written = purposed::domain::document::write(input.kind, policy, input.language);
        assert!(!written.sections.is_empty(), "a document without a section");
        let _ = purposed::render::render(&written, input.format);
    }
}

/// The parse, then the review of the named example as of the day asked for.
fn review_registry(request: proto::ReviewRegistryRequest) {
    if let Some(input) = parsed(parse::document::review_registry(request, &limits())) {
        let policy = policy_for(&input.organisation);
        let today = input.today.unwrap_or(jiff::civil::date(2026, 1, 15));
        let findings = purposed::domain::review::review(policy, today);
        assert!(
            findings
                .windows(2)
                .all(|pair| pair[0].severity <= pair[1].severity),
            "findings out of order"
        );
    }
}

fn get_access_report(request: proto::GetAccessReportRequest) {
    let _ = parsed(parse::rights::get_access_report(request, &limits()));
}

fn watch_rights_events(request: proto::WatchRightsEventsRequest) {
    let _ = parsed(parse::rights::watch_rights_events(request, &limits()));
}

// ---- SubjectService ---------------------------------------------------------------------

fn record_consent(request: proto::RecordConsentRequest) {
    let Some(input) = parsed(parse::subject::record_consent(request, &limits())) else {
        return;
    };
    let (of, consent) = (input.of, input.consent);
    // App::record_consent: the moment, the pseudonym and the consent event.
    let Some(at) = moment_or_refused("at", consent.at) else {
        return;
    };
    pseudonym(&of.organisation, &of.subject);
    let state = SubjectState {
        consents: vec![ConsentEvent {
            purpose: consent.purpose.as_str().into(),
            action: consent.action,
            at,
            notice_version: consent.notice_version.as_deref().map(Into::into),
            parental: consent.parental,
        }],
        ..SubjectState::default()
    };
    assert_eq!(
        state.ever_consented(&consent.purpose),
        consent.action == ConsentAction::Grant
    );
    let _ = state.consent(&consent.purpose, at);
}

fn record_objection(request: proto::RecordObjectionRequest) {
    let Some(input) = parsed(parse::subject::record_objection(request, &limits())) else {
        return;
    };
    // App::record_objection: the moment, the pseudonym and the objection.
    let Some(at) = moment_or_refused("at", input.at) else {
        return;
    };
    pseudonym(&input.of.organisation, &input.of.subject);
    let scope = match &input.target {
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
    if let Some(input) = parsed(parse::subject::withdraw_objection(request, &limits())) {
        pseudonym(&input.of.organisation, &input.of.subject);
    }
}

fn record_compelling_grounds(request: proto::RecordCompellingGroundsRequest) {
    if let Some(input) = parsed(parse::subject::record_compelling_grounds(
        request,
        &limits(),
    )) {
        assert!(!input.grounds.is_empty());
        pseudonym(&input.of.organisation, &input.of.subject);
    }
}

fn set_birth(request: proto::SetBirthRequest) {
    let Some(input) = parsed(parse::subject::set_birth(request, &limits())) else {
        return;
    };
    let birth = input.birth;
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
    pseudonym(&input.of.organisation, &input.of.subject);
    let state = SubjectState {
        birth: Some(birth),
        ..SubjectState::default()
    };
    for at in [Timestamp::MIN, now(), Timestamp::MAX] {
        let _ = state.youngest_age_at(at);
    }
}

fn lift_restriction(request: proto::LiftRestrictionRequest) {
    if let Some(input) = parsed(parse::subject::lift_restriction(request, &limits())) {
        assert!(!input.note.is_empty());
        pseudonym(&input.of.organisation, &input.of.subject);
    }
}

fn get_subject_state(request: proto::GetSubjectStateRequest) {
    if let Some(of) = parsed(parse::subject::get_subject_state(request, &limits())) {
        pseudonym(&of.organisation, &of.subject);
    }
}
