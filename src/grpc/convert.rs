//! Between protobuf messages and the application: validation of every request field (each
//! problem a field violation naming its path) and encoding of domain values.

use std::borrow::Cow;

use prost_types::Timestamp as ProtoTimestamp;

use crate::{
    app::{ApplyOutcome, CheckInput, ObjectionTarget, RecipientOutcome},
    domain::{
        access::AccessReport,
        decision::{
            Decision, Effect, Obligation, ObligationCode, Outcome, Reason, ReasonCode, Transfer,
            TransferMechanism,
        },
        diff::DecisionChange,
        engine::{CategoryNode, RevisionInfo},
        policy::{
            LegalBasis, Mechanism, Organisation, OrganisationRole, Purpose, Recipient,
            RecipientKind, RecipientStatus, RetentionEvent,
        },
        pseudonym::SubjectRef,
        rights::{
            EventKind, EventRecord, PurposeNote, RejectionReason, RequestKind, RequestRecord,
            Status, TaskRecord, TaskStatus,
        },
        subject::{Birth, ConsentAction, ObjectionScope, SubjectHistory},
        taxonomy::{self, Sensitivity},
    },
    error::{Error, FieldViolation},
    manifest, proto,
};

/// Largest subject identifier accepted, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 256;
/// Most engagement conditions one question may assert.
pub const MAX_CONDITIONS: usize = 64;
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1000;

/// A domain enum and its wire twin, variant for variant (the wire's UNSPECIFIED is `None`):
/// both directions from one list, each match exhaustive, so a variant missing on either side
/// does not compile.
macro_rules! wire_enum {
    ($domain:ident <=> proto::$wire:ident, $from_wire:ident, $to_wire:ident, [$($variant:ident),* $(,)?]) => {
        pub fn $from_wire(value: proto::$wire) -> Option<$domain> {
            match value {
                proto::$wire::Unspecified => None,
                $(proto::$wire::$variant => Some($domain::$variant),)*
            }
        }

        pub fn $to_wire(value: $domain) -> proto::$wire {
            match value {
                $($domain::$variant => proto::$wire::$variant,)*
            }
        }
    };
}

/// Most values of a filter over an enum (statuses, types); repeats fold into one.
pub const MAX_FILTER_VALUES: usize = 32;
/// Most purposes one rights request names; repeats fold into one.
pub const MAX_REQUEST_PURPOSES: usize = 100;

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

/// Collects the violations of one request.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn into_result<T>(self, value: T) -> Result<T, crate::error::Error> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(crate::error::Error::InvalidArgument(self.0))
        }
    }

    /// The value of a required field, once every field is valid: a missing one has left its
    /// own violation already, and is named again should a caller forget to record it.
    pub fn into_required<T>(self, value: Option<T>, field: &str) -> Result<T, crate::error::Error> {
        self.into_result(value)?.ok_or_else(|| {
            crate::error::Error::InvalidArgument(vec![FieldViolation::new(field, "must be set")])
        })
    }

    /// An id of the registry (organisation, purpose, recipient, condition).
    pub fn id(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "must not be empty");
        } else if !manifest::is_valid_id(value) {
            self.add(
                field,
                "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            );
        }
    }

    pub fn category(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "must not be empty");
        } else if !taxonomy::is_valid_key(value) {
            self.add(
                field,
                "must be a dotted category key such as \"user.contact.email\" (a-z, 0-9, '_', '-')",
            );
        }
    }

    /// A raw subject identifier. Its value never appears in a message.
    pub fn subject(&mut self, field: &str, value: Option<&String>) {
        match value {
            Some(subject) if subject.trim().is_empty() => {
                self.add(field, "must not be empty when given")
            }
            Some(subject) if subject.len() > MAX_SUBJECT_BYTES => {
                self.add(field, format!("is longer than {MAX_SUBJECT_BYTES} bytes"))
            }
            _ => {}
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

    pub fn conditions(&mut self, field: &str, values: &[String]) {
        if values.len() > MAX_CONDITIONS {
            self.add(field, format!("at most {MAX_CONDITIONS} conditions"));
            return;
        }
        for (index, value) in values.iter().enumerate() {
            self.id(&format!("{field}[{index}]"), value);
        }
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
}

impl Page {
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

/// Validates one CheckRequest; violations are prefixed with `prefix` (for batch items).
pub fn check_input(
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
pub fn batch_check_inputs(
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

/// What an objection is to: exactly one of direct marketing or a purpose.
pub fn objection_target(
    violations: &mut Violations,
    direct_marketing: bool,
    purpose: &str,
) -> ObjectionTarget {
    match (direct_marketing, purpose.is_empty()) {
        (true, true) => ObjectionTarget::DirectMarketing,
        (false, false) => {
            violations.id("purpose", purpose);
            ObjectionTarget::Purpose(purpose.to_owned())
        }
        (true, false) => {
            violations.add("purpose", "name a purpose or direct_marketing, not both");
            ObjectionTarget::DirectMarketing
        }
        (false, true) => {
            violations.add(
                "purpose",
                "name a purpose (Art. 21(1)) or set direct_marketing (Art. 21(2))",
            );
            ObjectionTarget::DirectMarketing
        }
    }
}

pub fn list_recipients_input(
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

pub fn timestamp(at: jiff::Timestamp) -> ProtoTimestamp {
    ProtoTimestamp {
        seconds: at.as_second(),
        nanos: at.subsec_nanosecond(),
    }
}

pub fn decision(decision: Decision) -> proto::Decision {
    match decision {
        Decision::Allow => proto::Decision::Allow,
        Decision::Deny => proto::Decision::Deny,
        Decision::Conditional => proto::Decision::Conditional,
    }
}

macro_rules! wire_reason_codes {
    ($($code:ident => $name:literal,)*) => {
        pub fn reason_code(code: ReasonCode) -> proto::ReasonCode {
            match code {
                $(ReasonCode::$code => proto::ReasonCode::$code,)*
            }
        }
    };
}

crate::domain::decision::with_reason_codes!(wire_reason_codes);

fn effect(effect: Effect) -> proto::ReasonEffect {
    match effect {
        Effect::Allow => proto::ReasonEffect::Allow,
        Effect::Deny => proto::ReasonEffect::Deny,
        Effect::Condition => proto::ReasonEffect::Condition,
    }
}

pub fn reason(reason: &Reason) -> proto::Reason {
    proto::Reason {
        code: reason_code(reason.code()).into(),
        article: reason.article().to_owned(),
        message: reason.message(),
        source: reason.source().unwrap_or_default().to_owned(),
        effect: effect(reason.effect()).into(),
    }
}

fn retention_event(event: RetentionEvent) -> proto::RetentionEvent {
    match event {
        RetentionEvent::Collection => proto::RetentionEvent::Collection,
        RetentionEvent::ContractEnd => proto::RetentionEvent::ContractEnd,
        RetentionEvent::AccountDeletion => proto::RetentionEvent::AccountDeletion,
        RetentionEvent::ConsentWithdrawal => proto::RetentionEvent::ConsentWithdrawal,
        RetentionEvent::LastActivity => proto::RetentionEvent::LastActivity,
    }
}

fn obligation(obligation: &Obligation) -> proto::Obligation {
    proto::Obligation {
        code: match obligation.code {
            ObligationCode::EraseBy => proto::ObligationCode::EraseBy,
            ObligationCode::EraseAfterEvent => proto::ObligationCode::EraseAfterEvent,
        }
        .into(),
        article: obligation.article().to_owned(),
        message: obligation.message(),
        source: obligation.source.to_string(),
        due: obligation.due.map(timestamp),
        retention_period: obligation.period.to_string(),
        retention_from: retention_event(obligation.from).into(),
    }
}

fn transfer_mechanism(mechanism: &TransferMechanism) -> proto::TransferMechanism {
    match mechanism {
        TransferMechanism::WithinEea => proto::TransferMechanism::WithinEea,
        TransferMechanism::Adequacy(_) => proto::TransferMechanism::Adequacy,
        TransferMechanism::Dpf => proto::TransferMechanism::Dpf,
        TransferMechanism::Bcr { .. } => proto::TransferMechanism::Bcr,
        TransferMechanism::Scc { .. } => proto::TransferMechanism::Scc,
        TransferMechanism::CodeOfConduct { .. } => proto::TransferMechanism::CodeOfConduct,
        TransferMechanism::Certification { .. } => proto::TransferMechanism::Certification,
        TransferMechanism::None => proto::TransferMechanism::None,
    }
}

fn transfer(transfer: &Transfer) -> proto::Transfer {
    proto::Transfer {
        recipient: transfer.recipient.to_string(),
        country: transfer.territory.to_string(),
        mechanism: transfer_mechanism(&transfer.mechanism).into(),
        detail: transfer.mechanism.detail(),
    }
}

pub fn check_response(outcome: &Outcome) -> proto::CheckResponse {
    proto::CheckResponse {
        decision: decision(outcome.decision).into(),
        reasons: outcome.reasons.iter().map(reason).collect(),
        obligations: outcome.obligations.iter().map(obligation).collect(),
        revision: outcome.revision,
        transfers: outcome.transfers.iter().map(transfer).collect(),
    }
}

pub fn recipient_decision(recipient: &RecipientOutcome) -> proto::RecipientDecision {
    proto::RecipientDecision {
        recipient: recipient.recipient.clone(),
        name: recipient.name.clone(),
        decision: decision(recipient.outcome.decision).into(),
        transfers: recipient.outcome.transfers.iter().map(transfer).collect(),
        reasons: recipient.outcome.reasons.iter().map(reason).collect(),
    }
}

fn decision_change(change: &DecisionChange) -> proto::DecisionChange {
    proto::DecisionChange {
        purpose: change.purpose.clone(),
        category: change.category.clone(),
        recipient: change.recipient.clone(),
        before: decision(change.before).into(),
        after: decision(change.after).into(),
        after_reasons: change
            .after_reasons
            .iter()
            .map(|code| reason_code(*code).into())
            .collect(),
    }
}

pub fn apply_response(outcome: &ApplyOutcome) -> proto::ApplyManifestResponse {
    proto::ApplyManifestResponse {
        organisation: outcome.organisation.clone(),
        revision: outcome.revision,
        changed: outcome.changed,
        decision_changes: outcome
            .decision_changes
            .iter()
            .map(decision_change)
            .collect(),
        decision_changes_truncated: outcome.decision_changes_truncated,
        warnings: outcome.warnings.iter().map(ToString::to_string).collect(),
    }
}

pub fn organisation(organisation: &Organisation, info: &RevisionInfo) -> proto::Organisation {
    proto::Organisation {
        id: organisation.id.clone(),
        legal_name: organisation.legal_name.clone(),
        registration_number: organisation.registration_number.clone().unwrap_or_default(),
        country: organisation.country.to_string(),
        role: match organisation.role {
            OrganisationRole::Controller => proto::OrganisationRole::Controller,
            OrganisationRole::Processor => proto::OrganisationRole::Processor,
        }
        .into(),
        dpo: organisation.dpo.as_ref().map(|dpo| proto::Contact {
            name: dpo.name.clone().unwrap_or_default(),
            email: dpo.email.clone().unwrap_or_default(),
            phone: dpo.phone.clone().unwrap_or_default(),
            address: dpo.address.clone().unwrap_or_default(),
        }),
        source: organisation.source.clone(),
        revision: info.number,
        applied_at: Some(timestamp(info.applied_at)),
    }
}

pub fn sensitivity(sensitivity: Sensitivity) -> proto::Sensitivity {
    match sensitivity {
        Sensitivity::Ordinary => proto::Sensitivity::Ordinary,
        Sensitivity::Special => proto::Sensitivity::Special,
        Sensitivity::Criminal => proto::Sensitivity::Criminal,
    }
}

pub fn category(node: &CategoryNode, parent: Option<&CategoryNode>) -> proto::Category {
    proto::Category {
        key: node.key.to_string(),
        name: node.name.to_string(),
        parent: parent
            .map(|parent| parent.key.to_string())
            .unwrap_or_default(),
        sensitivity: sensitivity(node.sensitivity).into(),
        dpv: node.dpv.as_deref().unwrap_or_default().to_owned(),
        builtin: node.builtin,
        source: node.source.as_deref().unwrap_or_default().to_owned(),
    }
}

pub fn recipient_kind(kind: RecipientKind) -> proto::RecipientKind {
    match kind {
        RecipientKind::Processor => proto::RecipientKind::Processor,
        RecipientKind::Subprocessor => proto::RecipientKind::Subprocessor,
        RecipientKind::IndependentController => proto::RecipientKind::IndependentController,
        RecipientKind::JointController => proto::RecipientKind::JointController,
    }
}

fn mechanism(mechanism: Mechanism) -> proto::TransferMechanism {
    match mechanism {
        Mechanism::Scc { .. } => proto::TransferMechanism::Scc,
        Mechanism::Bcr => proto::TransferMechanism::Bcr,
        Mechanism::CodeOfConduct => proto::TransferMechanism::CodeOfConduct,
        Mechanism::Certification => proto::TransferMechanism::Certification,
        Mechanism::Dpf => proto::TransferMechanism::Dpf,
    }
}

pub fn recipient(recipient: &Recipient) -> proto::Recipient {
    proto::Recipient {
        id: recipient.id.clone(),
        name: recipient.name.clone(),
        kind: recipient_kind(recipient.kind).into(),
        parent: recipient.parent.clone().unwrap_or_default(),
        locations: recipient
            .locations
            .iter()
            .map(ToString::to_string)
            .collect(),
        agreements: recipient
            .agreements
            .iter()
            .map(|agreement| proto::ProcessingAgreement {
                reference: agreement.reference.clone(),
                effective_from: agreement
                    .effective_from
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
                effective_to: agreement
                    .effective_to
                    .map(|date| date.to_string())
                    .unwrap_or_default(),
                source: agreement.source.clone(),
            })
            .collect(),
        safeguards: recipient
            .safeguards
            .iter()
            .map(|safeguard| proto::Safeguard {
                mechanism: mechanism(safeguard.mechanism).into(),
                scc_module: safeguard.mechanism.scc_module().map_or(0, u32::from),
                countries: safeguard
                    .countries
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                reference: safeguard.reference.clone().unwrap_or_default(),
                source: safeguard.source.clone(),
            })
            .collect(),
        status: match recipient.status {
            RecipientStatus::Active => proto::RecipientStatus::Active,
            RecipientStatus::Proposed { .. } => proto::RecipientStatus::Proposed,
            RecipientStatus::Retired => proto::RecipientStatus::Retired,
        }
        .into(),
        objection_window_ends: recipient
            .status
            .objection_window_ends()
            .map(|date| date.to_string())
            .unwrap_or_default(),
        description: recipient.description.clone().unwrap_or_default(),
        registration_number: recipient.registration_number.clone().unwrap_or_default(),
        address: recipient.address.clone().unwrap_or_default(),
        source: recipient.source.clone(),
    }
}

fn legal_basis(basis: Option<LegalBasis>) -> proto::LegalBasis {
    match basis {
        None => proto::LegalBasis::Unspecified,
        Some(LegalBasis::Consent) => proto::LegalBasis::Consent,
        Some(LegalBasis::Contract) => proto::LegalBasis::Contract,
        Some(LegalBasis::LegalObligation) => proto::LegalBasis::LegalObligation,
        Some(LegalBasis::VitalInterests) => proto::LegalBasis::VitalInterests,
        Some(LegalBasis::PublicTask) => proto::LegalBasis::PublicTask,
        Some(LegalBasis::LegitimateInterests) => proto::LegalBasis::LegitimateInterests,
        Some(LegalBasis::ControllerInstructions) => proto::LegalBasis::ControllerInstructions,
    }
}

pub fn purpose(purpose: &Purpose) -> proto::Purpose {
    proto::Purpose {
        id: purpose.id.clone(),
        name: purpose.name.clone(),
        description: purpose.description.clone().unwrap_or_default(),
        legal_basis: legal_basis(purpose.legal_basis).into(),
        balancing_test: purpose.balancing_test.clone().unwrap_or_default(),
        legal_basis_source: purpose.legal_basis_source.clone().unwrap_or_default(),
        special_category_condition: purpose
            .special_condition
            .map(|condition| condition.point().to_owned())
            .unwrap_or_default(),
        criminal_data_authorisation: purpose
            .criminal_data_authorisation
            .clone()
            .unwrap_or_default(),
        direct_marketing: purpose.direct_marketing,
        storage_only: purpose.storage_only,
        data_subjects: purpose.data_subjects.clone(),
        categories: purpose.categories.clone(),
        engagements: purpose
            .engagements
            .iter()
            .map(|engagement| proto::Engagement {
                recipient: engagement.recipient.clone(),
                categories: engagement.categories.clone(),
                condition: engagement.condition.as_ref().map(|condition| {
                    proto::EngagementCondition {
                        id: condition.id.clone(),
                        description: condition.description.clone(),
                    }
                }),
                source: engagement.source.clone(),
            })
            .collect(),
        retention: purpose
            .retention
            .iter()
            .map(|rule| proto::RetentionRule {
                period: rule.period.to_string(),
                counted_from: retention_event(rule.from).into(),
                categories: rule.categories.clone(),
                description: rule.description.clone().unwrap_or_default(),
                source: rule.source.clone(),
            })
            .collect(),
        data_sources: purpose.data_sources.clone(),
        source: purpose.source.clone(),
    }
}

pub fn revision(organisation: &str, info: &RevisionInfo) -> proto::Revision {
    proto::Revision {
        organisation: organisation.to_owned(),
        number: info.number,
        applied_at: Some(timestamp(info.applied_at)),
        manifest_sha256: info.manifest_sha256.clone(),
    }
}

/// The domain kind a protobuf kind filter names.
pub fn kind_filter(kind: proto::RecipientKind) -> Option<RecipientKind> {
    match kind {
        proto::RecipientKind::Unspecified => None,
        proto::RecipientKind::Processor => Some(RecipientKind::Processor),
        proto::RecipientKind::Subprocessor => Some(RecipientKind::Subprocessor),
        proto::RecipientKind::IndependentController => Some(RecipientKind::IndependentController),
        proto::RecipientKind::JointController => Some(RecipientKind::JointController),
    }
}

pub fn sensitivity_filter(value: proto::Sensitivity) -> Option<Sensitivity> {
    match value {
        proto::Sensitivity::Unspecified => None,
        proto::Sensitivity::Ordinary => Some(Sensitivity::Ordinary),
        proto::Sensitivity::Special => Some(Sensitivity::Special),
        proto::Sensitivity::Criminal => Some(Sensitivity::Criminal),
    }
}

// ---- subjects and rights ------------------------------------------------------------------

/// Longest free text accepted (details, notes, grounds, sources), in bytes.
pub const MAX_TEXT_BYTES: usize = 10_000;
/// Longest actor name, in bytes.
pub const MAX_ACTOR_BYTES: usize = 200;

impl Violations {
    /// A required raw subject identifier.
    pub fn required_subject(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else {
            self.subject(field, Some(&value.to_owned()));
        }
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

    /// The actor of a change; "api" when the caller names none.
    pub fn actor(&mut self, field: &str, value: String) -> String {
        self.text(field, value, MAX_ACTOR_BYTES)
            .unwrap_or_else(|| "api".to_owned())
    }

    /// A caller's request id: 1-128 characters of letters, digits, '.', '_', ':' and '-'.
    pub fn request_id(&mut self, field: &str, value: &str) {
        if value.is_empty() {
            self.add(field, "must not be empty");
        } else if value.len() > 128
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
        {
            self.add(
                field,
                "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
            );
        }
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

    /// A task id.
    pub fn task_id(&mut self, field: &str, value: u64) {
        if value == 0 {
            self.add(field, "must be set");
        }
    }
}

wire_enum!(ConsentAction <=> proto::ConsentAction, consent_action, consent_action_out, [
    Grant, Withdraw,
]);

pub fn subject_state(
    organisation: &str,
    subject: SubjectRef,
    history: &SubjectHistory,
) -> proto::SubjectState {
    proto::SubjectState {
        organisation: organisation.to_owned(),
        subject_ref: subject.to_hex(),
        consents: history
            .consents
            .iter()
            .map(|record| proto::ConsentEvent {
                purpose: record.event.purpose.to_string(),
                action: consent_action_out(record.event.action).into(),
                at: Some(timestamp(record.event.at)),
                notice_version: record
                    .event
                    .notice_version
                    .as_deref()
                    .unwrap_or_default()
                    .to_owned(),
                source: record.source.clone().unwrap_or_default(),
                parental: record.event.parental,
                recorded_at: Some(timestamp(record.recorded_at)),
            })
            .collect(),
        objections: history
            .objections
            .iter()
            .map(|record| proto::Objection {
                direct_marketing: record.objection.scope == ObjectionScope::DirectMarketing,
                purpose: match &record.objection.scope {
                    ObjectionScope::Purpose(purpose) => purpose.to_string(),
                    ObjectionScope::DirectMarketing => String::new(),
                },
                at: Some(timestamp(record.objection.at)),
                compelling_grounds: record
                    .objection
                    .compelling_grounds
                    .as_deref()
                    .unwrap_or_default()
                    .to_owned(),
                withdrawn_at: record.objection.withdrawn_at.map(timestamp),
                rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
            })
            .collect(),
        restrictions: history
            .restrictions
            .iter()
            .map(|record| proto::Restriction {
                from: Some(timestamp(record.restriction.from)),
                lifted_at: record.restriction.lifted_at.map(timestamp),
                rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
            })
            .collect(),
        erasure: history.erasure.as_ref().map(|record| proto::Erasure {
            verified_at: Some(timestamp(record.erasure.verified_at)),
            rights_request_id: record.rights_request_id.clone().unwrap_or_default(),
        }),
        birth_date: match history.birth {
            Some(Birth::Date(date)) => date.to_string(),
            _ => String::new(),
        },
        birth_year: match history.birth {
            Some(Birth::Year(year)) => i32::from(year),
            _ => 0,
        },
    }
}

wire_enum!(RequestKind <=> proto::RightsRequestType, request_kind, request_kind_out, [
    Access, Rectification, Erasure, Restriction, Portability, Objection, WithdrawConsent,
]);

wire_enum!(Status <=> proto::RightsRequestStatus, status, status_out, [
    Received, IdentityPending, Verified, InProgress, Completed, Rejected, Cancelled,
]);

wire_enum!(RejectionReason <=> proto::RejectionReason, rejection_reason, rejection_reason_wire, [
    IdentityNotVerified, ManifestlyUnfounded, Excessive, NotPortable, ErasureException,
    CompellingGrounds,
]);

fn rejection_reason_out(reason: Option<RejectionReason>) -> proto::RejectionReason {
    reason.map_or(proto::RejectionReason::Unspecified, rejection_reason_wire)
}

fn event_kind(kind: EventKind) -> proto::RightsEventKind {
    match kind {
        EventKind::Submitted => proto::RightsEventKind::Submitted,
        EventKind::StatusChanged => proto::RightsEventKind::StatusChanged,
        EventKind::Extended => proto::RightsEventKind::Extended,
        EventKind::TaskCreated => proto::RightsEventKind::TaskCreated,
        EventKind::TaskCompleted => proto::RightsEventKind::TaskCompleted,
    }
}

pub fn rights_event(organisation: &str, event: &EventRecord) -> proto::RightsEvent {
    proto::RightsEvent {
        id: event.id,
        organisation: organisation.to_owned(),
        request_id: event.request_id.clone(),
        kind: event_kind(event.kind).into(),
        status: status_out(event.status).into(),
        task_id: event.task_id.unwrap_or_default(),
        recipient: event.recipient.clone().unwrap_or_default(),
        at: Some(timestamp(event.at)),
        actor: event.actor.clone(),
        note: event.note.clone().unwrap_or_default(),
    }
}

pub fn rights_task(
    organisation: &str,
    task: &TaskRecord,
    recipient_name: &str,
) -> proto::RightsTask {
    proto::RightsTask {
        id: task.id,
        organisation: organisation.to_owned(),
        request_id: task.request_id.clone(),
        r#type: request_kind_out(task.kind).into(),
        recipient: task.recipient.clone(),
        recipient_name: recipient_name.to_owned(),
        purposes: task.purposes.clone(),
        subject_ref: task.subject.to_hex(),
        status: match task.status {
            TaskStatus::Open => proto::TaskStatus::Open,
            TaskStatus::Done => proto::TaskStatus::Done,
        }
        .into(),
        created_at: Some(timestamp(task.created_at)),
        completed_at: task.completed_at.map(timestamp),
        completed_by: task.completed_by.clone().unwrap_or_default(),
        note: task.note.clone().unwrap_or_default(),
    }
}

fn purpose_note(note: &PurposeNote) -> proto::PurposeNote {
    proto::PurposeNote {
        purpose: note.purpose.clone(),
        reason: note.reason.clone(),
        article: note.article.clone(),
    }
}

/// A request as the caller sees it; `today` decides whether it is overdue and `name` finds
/// recipients' names.
pub fn rights_request(
    request: &RequestRecord,
    today: jiff::civil::Date,
    name: &dyn Fn(&str) -> String,
) -> proto::RightsRequest {
    let date = |day: Option<jiff::civil::Date>| day.map(|day| day.to_string()).unwrap_or_default();
    proto::RightsRequest {
        organisation: request.organisation.clone(),
        request_id: request.request_id.clone(),
        r#type: request_kind_out(request.kind).into(),
        subject_ref: request.subject.to_hex(),
        received_at: Some(timestamp(request.received_at)),
        status: status_out(request.status).into(),
        clock_started_on: date(request.clock.started_on),
        due_on: date(request.due_on),
        first_due_on: date(request.first_due_on),
        extension_months: u32::try_from(request.clock.extension_months).unwrap_or_default(),
        extension_reason: request.extension_reason.clone().unwrap_or_default(),
        overdue: request.overdue(today),
        purposes: request.purposes.clone(),
        direct_marketing: request.direct_marketing,
        details: request.details.clone().unwrap_or_default(),
        rejection_reason: rejection_reason_out(request.rejection_reason).into(),
        events: request
            .events
            .iter()
            .map(|event| rights_event(&request.organisation, event))
            .collect(),
        tasks: request
            .tasks
            .iter()
            .map(|task| rights_task(&request.organisation, task, &name(&task.recipient)))
            .collect(),
        retained: request.retained.iter().map(purpose_note).collect(),
        portable: request.portable.iter().map(purpose_note).collect(),
    }
}

pub fn access_report(
    organisation: &Organisation,
    info: &RevisionInfo,
    subject: SubjectRef,
    report: &AccessReport,
) -> proto::AccessReport {
    proto::AccessReport {
        organisation: organisation.id.clone(),
        controller: organisation.legal_name.clone(),
        dpo: organisation.dpo.as_ref().map(|dpo| proto::Contact {
            name: dpo.name.clone().unwrap_or_default(),
            email: dpo.email.clone().unwrap_or_default(),
            phone: dpo.phone.clone().unwrap_or_default(),
            address: dpo.address.clone().unwrap_or_default(),
        }),
        revision: info.number,
        generated_at: Some(timestamp(jiff::Timestamp::now())),
        subject_ref: subject.to_hex(),
        purposes: report
            .purposes
            .iter()
            .map(|entry| {
                let encoded = purpose(&entry.purpose);
                proto::AccessPurpose {
                    id: encoded.id,
                    name: encoded.name,
                    description: encoded.description,
                    legal_basis: encoded.legal_basis,
                    legal_basis_article: entry
                        .purpose
                        .legal_basis
                        .map(LegalBasis::article)
                        .unwrap_or_default()
                        .to_owned(),
                    categories: entry
                        .categories
                        .iter()
                        .map(|(key, name)| proto::AccessCategory {
                            key: key.clone(),
                            name: name.clone(),
                        })
                        .collect(),
                    recipients: entry
                        .recipients
                        .iter()
                        .map(|recipient| proto::AccessRecipient {
                            id: recipient.recipient.id.clone(),
                            name: recipient.recipient.name.clone(),
                            kind: recipient_kind(recipient.recipient.kind).into(),
                            locations: recipient.transfers.iter().map(transfer).collect(),
                        })
                        .collect(),
                    retention: encoded.retention,
                    data_sources: encoded.data_sources,
                    source: encoded.source,
                }
            })
            .collect(),
        rights: report
            .rights
            .iter()
            .map(|right| proto::SubjectRight {
                r#type: request_kind_out(right.kind).into(),
                article: right.kind.article().to_owned(),
                description: right.description.clone(),
                purposes: right.purposes.clone(),
            })
            .collect(),
        complaint: "the right to lodge a complaint with a supervisory authority (Art. 77)".to_owned(),
        automated_decision_making: "no automated decision-making, including profiling, is recorded for these purposes (Art. 22)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_reason_code_has_a_wire_code() {
        let mut seen = std::collections::HashSet::new();
        for code in ReasonCode::ALL {
            let wire = reason_code(code);
            assert_ne!(wire, proto::ReasonCode::Unspecified);
            assert!(seen.insert(wire), "{code:?} shares its wire code");
            // Deny codes are 1-29, allow codes 30-59, conditions 60-89, as the contract says.
            let number = wire as i32;
            let range = match code.effect() {
                Effect::Deny => 1..30,
                Effect::Allow => 30..60,
                Effect::Condition => 60..90,
            };
            assert!(range.contains(&number), "{code:?} is {number}");
            // The domain's name is the wire's, which the metrics label with.
            assert_eq!(
                proto::ReasonCode::from_str_name(&format!("REASON_CODE_{}", code.name())),
                Some(wire),
                "{code:?}"
            );
        }
        // Every wire code but UNSPECIFIED is one of the domain's.
        let wire_codes = (1..100)
            .filter(|number| proto::ReasonCode::try_from(*number).is_ok())
            .count();
        assert_eq!(wire_codes, ReasonCode::ALL.len());
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
