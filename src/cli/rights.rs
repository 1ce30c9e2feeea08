//! `purposed rights ...` and `purposed subject ...`: the rights desk and subject state for
//! operators, through a running server.

use clap::{
    Args, Subcommand,
    builder::{PossibleValuesParser, TypedValueParser},
    error::ErrorKind,
};
use purposed::{
    domain::{
        Spelling,
        names::{
            ExtensionMonths, NameError, OrganisationId, PurposeId, RawSubject, RequestId, TaskId,
        },
        rights::{RejectionReason, RequestKind, Status},
    },
    grpc::wire,
    proto::{
        self, rights_service_client::RightsServiceClient,
        subject_service_client::SubjectServiceClient,
    },
};

use crate::{Connection, ServerArgs, connect, describe, timestamp};

#[derive(Subcommand)]
pub enum RightsCommand {
    /// Record a rights request (idempotent by --request-id).
    Submit(SubmitArgs),
    /// Show one request with its deadline, tasks and events.
    Show(ShowArgs),
    /// List requests, oldest first.
    List(ListArgs),
    /// Move a request along its lifecycle.
    Transition(TransitionArgs),
    /// Extend a deadline once, by one or two months, before the first due date.
    Extend(ExtendArgs),
    /// Mark a recipient's task done.
    CompleteTask(CompleteTaskArgs),
}

#[derive(Subcommand)]
pub enum SubjectCommand {
    /// Show what is recorded about a subject.
    Show(SubjectArgs),
    /// Record that a subject gave or withdrew consent to a purpose.
    Consent(ConsentArgs),
}

/// Parses a subject's identifier by the rule the server applies. Unlike clap's own refusals,
/// this one does not repeat the value.
#[derive(Clone)]
pub struct SubjectParser;

impl TypedValueParser for SubjectParser {
    type Value = RawSubject;

    fn parse_ref(
        &self,
        _: &clap::Command,
        _: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<RawSubject, clap::Error> {
        let refuse = |why: &dyn std::fmt::Display| {
            clap::Error::raw(ErrorKind::ValueValidation, format!("--subject {why}\n"))
        };
        let text = value.to_str().ok_or_else(|| refuse(&"must be UTF-8"))?;
        text.parse().map_err(|refused: NameError| refuse(&refused))
    }
}

/// Parses a domain enum from its one list of spellings, shown the CLI's way: '_' as '-'
/// ("in-progress"). The list also fills `--help` and the error for a value not on it.
pub(crate) fn spelled<T: Spelling + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    let cli_spelling = |value: &T| value.as_str().replace('_', "-");
    PossibleValuesParser::new(T::ALL.iter().map(cli_spelling)).map(move |text| {
        T::ALL
            .iter()
            .find(|value| cli_spelling(value) == text)
            .copied()
            .expect("the parser admits only the listed spellings")
    })
}

#[derive(Args)]
pub struct SubmitArgs {
    #[arg(long)]
    organisation: OrganisationId,
    /// Your id of the request; submitting it again returns the stored request.
    #[arg(long)]
    request_id: RequestId,
    #[arg(long = "type", value_parser = spelled::<RequestKind>())]
    kind: RequestKind,
    /// The subject's identifier (pseudonymised by the server).
    #[arg(long, value_parser = SubjectParser)]
    subject: RawSubject,
    /// When it was received, RFC 3339 (default: now).
    #[arg(long)]
    received_at: Option<jiff::Timestamp>,
    /// A purpose objected to, or whose consent is withdrawn (repeatable).
    #[arg(long = "purpose")]
    purposes: Vec<PurposeId>,
    /// An objection to all direct marketing.
    #[arg(long)]
    direct_marketing: bool,
    /// The subject's words, for example what to rectify.
    #[arg(long)]
    details: Option<String>,
    #[arg(long, default_value = "cli")]
    actor: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct ShowArgs {
    #[arg(long)]
    organisation: OrganisationId,
    #[arg(long)]
    request_id: RequestId,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long)]
    organisation: OrganisationId,
    /// Only this status (repeatable).
    #[arg(long = "status", value_parser = spelled::<Status>())]
    statuses: Vec<Status>,
    /// Only this type (repeatable).
    #[arg(long = "type", value_parser = spelled::<RequestKind>())]
    kinds: Vec<RequestKind>,
    /// Only open requests past their due date.
    #[arg(long)]
    overdue: bool,
    /// Only requests due before this day (YYYY-MM-DD).
    #[arg(long)]
    due_before: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct TransitionArgs {
    #[arg(long)]
    organisation: OrganisationId,
    #[arg(long)]
    request_id: RequestId,
    /// The status to move to.
    #[arg(long, value_parser = spelled::<Status>())]
    to: Status,
    /// Why, for a rejection.
    #[arg(long, value_parser = spelled::<RejectionReason>())]
    rejection_reason: Option<RejectionReason>,
    #[arg(long)]
    note: Option<String>,
    #[arg(long, default_value = "cli")]
    actor: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct ExtendArgs {
    #[arg(long)]
    organisation: OrganisationId,
    #[arg(long)]
    request_id: RequestId,
    /// One or two further months.
    #[arg(long)]
    months: ExtensionMonths,
    /// Why; the subject must be told.
    #[arg(long)]
    reason: String,
    #[arg(long, default_value = "cli")]
    actor: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct CompleteTaskArgs {
    #[arg(long)]
    organisation: OrganisationId,
    #[arg(long)]
    task_id: TaskId,
    #[arg(long)]
    note: Option<String>,
    #[arg(long, default_value = "cli")]
    actor: String,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct SubjectArgs {
    #[arg(long)]
    organisation: OrganisationId,
    /// The subject's identifier (pseudonymised by the server).
    #[arg(long, value_parser = SubjectParser)]
    subject: RawSubject,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
pub struct ConsentArgs {
    #[arg(long)]
    organisation: OrganisationId,
    #[arg(long, value_parser = SubjectParser)]
    subject: RawSubject,
    #[arg(long)]
    purpose: PurposeId,
    /// Record a withdrawal instead of a grant.
    #[arg(long)]
    withdraw: bool,
    #[arg(long)]
    notice_version: Option<String>,
    #[arg(long)]
    source: Option<String>,
    /// Given or authorised by the holder of parental responsibility.
    #[arg(long)]
    parental: bool,
    #[command(flatten)]
    server: ServerArgs,
}

fn name_of(text: &str, prefix: &str) -> String {
    text.trim_start_matches(prefix).to_owned()
}

fn kind_name(value: i32) -> String {
    proto::RightsRequestType::try_from(value)
        .map(|kind| name_of(kind.as_str_name(), "RIGHTS_REQUEST_TYPE_").to_lowercase())
        .unwrap_or_else(|_| value.to_string())
}

fn status_name(value: i32) -> String {
    proto::RightsRequestStatus::try_from(value)
        .map(|status| name_of(status.as_str_name(), "RIGHTS_REQUEST_STATUS_"))
        .unwrap_or_else(|_| value.to_string())
}

fn when(at: &Option<prost_types::Timestamp>) -> String {
    at.as_ref()
        .and_then(|at| jiff::Timestamp::new(at.seconds, at.nanos).ok())
        .map(|at| at.to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn print_request(request: &proto::RightsRequest) {
    out!(
        "request {} ({}) {}{}",
        request.request_id,
        kind_name(request.r#type),
        status_name(request.status),
        if request.overdue { "  OVERDUE" } else { "" }
    );
    out!("  subject   {}", request.subject_ref);
    out!("  received  {}", when(&request.received_at));
    if request.due_on.is_empty() {
        out!("  due       (the clock waits for identity proof)");
    } else {
        out!(
            "  due       {} (clock started {})",
            request.due_on,
            request.clock_started_on
        );
    }
    if request.extension_months > 0 {
        out!(
            "  extended  by {} month(s) from {}: {}",
            request.extension_months,
            request.first_due_on,
            request.extension_reason
        );
    }
    if !request.purposes.is_empty() {
        out!("  purposes  {}", request.purposes.join(", "));
    }
    if request.direct_marketing {
        out!("  objection to all direct marketing");
    }
    if let Ok(reason) = proto::RejectionReason::try_from(request.rejection_reason)
        && reason != proto::RejectionReason::Unspecified
    {
        out!(
            "  rejected  {}",
            name_of(reason.as_str_name(), "REJECTION_REASON_").to_lowercase()
        );
    }
    for note in &request.retained {
        out!(
            "  kept      {} [{}]: {}",
            note.purpose,
            note.article,
            note.reason
        );
    }
    for note in &request.portable {
        out!(
            "  portable  {} [{}]: {}",
            note.purpose,
            note.article,
            note.reason
        );
    }
    if !request.tasks.is_empty() {
        out!("tasks:");
        for task in &request.tasks {
            let state = if task.status() == proto::TaskStatus::Done {
                "done"
            } else {
                "open"
            };
            out!(
                "  #{} {} ({}) {state}; purposes: {}",
                task.id,
                task.recipient,
                task.recipient_name,
                task.purposes.join(", ")
            );
        }
    }
    if !request.events.is_empty() {
        out!("events:");
        for event in &request.events {
            let kind = proto::RightsEventKind::try_from(event.kind)
                .map(|kind| name_of(kind.as_str_name(), "RIGHTS_EVENT_KIND_"))
                .unwrap_or_default();
            let note = if event.note.is_empty() {
                String::new()
            } else {
                format!(": {}", event.note)
            };
            out!(
                "  #{} {} {kind} -> {} by {}{note}",
                event.id,
                when(&event.at),
                status_name(event.status),
                event.actor
            );
        }
    }
}

/// A server's answer, or its refusal as the commands print it.
fn answer<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Result<T, String> {
    result
        .map(tonic::Response::into_inner)
        .map_err(|status| describe(&status))
}

impl RightsCommand {
    fn server(&self) -> &ServerArgs {
        match self {
            RightsCommand::Submit(args) => &args.server,
            RightsCommand::Show(args) => &args.server,
            RightsCommand::List(args) => &args.server,
            RightsCommand::Transition(args) => &args.server,
            RightsCommand::Extend(args) => &args.server,
            RightsCommand::CompleteTask(args) => &args.server,
        }
    }
}

pub async fn rights(command: RightsCommand) -> Result<(), String> {
    let mut client = RightsServiceClient::new(connect(command.server()).await?);
    let shown = match command {
        RightsCommand::Submit(args) => {
            let response = answer(
                client
                    .submit_rights_request(proto::SubmitRightsRequestRequest {
                        organisation: args.organisation.into(),
                        request_id: args.request_id.into(),
                        r#type: wire::request_kind(args.kind).into(),
                        subject: args.subject.expose().to_owned(),
                        received_at: args.received_at.map(timestamp),
                        purposes: args.purposes.into_iter().map(String::from).collect(),
                        direct_marketing: args.direct_marketing,
                        details: args.details.unwrap_or_default(),
                        actor: args.actor,
                    })
                    .await,
            )?;
            if !response.created {
                out!("(already submitted: the stored request)");
            }
            response.request
        }
        RightsCommand::Show(args) => {
            answer(
                client
                    .get_rights_request(proto::GetRightsRequestRequest {
                        organisation: args.organisation.into(),
                        request_id: args.request_id.into(),
                    })
                    .await,
            )?
            .request
        }
        RightsCommand::List(args) => {
            list_requests(&mut client, args).await?;
            None
        }
        RightsCommand::Transition(args) => {
            answer(
                client
                    .transition_rights_request(proto::TransitionRightsRequestRequest {
                        organisation: args.organisation.into(),
                        request_id: args.request_id.into(),
                        status: wire::status(args.to).into(),
                        actor: args.actor,
                        note: args.note.unwrap_or_default(),
                        rejection_reason: args
                            .rejection_reason
                            .map_or(proto::RejectionReason::Unspecified, wire::rejection_reason)
                            .into(),
                    })
                    .await,
            )?
            .request
        }
        RightsCommand::Extend(args) => {
            answer(
                client
                    .extend_rights_request(proto::ExtendRightsRequestRequest {
                        organisation: args.organisation.into(),
                        request_id: args.request_id.into(),
                        months: args.months.into(),
                        reason: args.reason,
                        actor: args.actor,
                    })
                    .await,
            )?
            .request
        }
        RightsCommand::CompleteTask(args) => {
            answer(
                client
                    .complete_rights_task(proto::CompleteRightsTaskRequest {
                        organisation: args.organisation.into(),
                        task_id: args.task_id.get(),
                        actor: args.actor,
                        note: args.note.unwrap_or_default(),
                    })
                    .await,
            )?
            .request
        }
    };
    if let Some(request) = &shown {
        print_request(request);
    }
    Ok(())
}

/// Every page of the requests the filters select, one line each.
async fn list_requests(
    client: &mut RightsServiceClient<Connection>,
    args: ListArgs,
) -> Result<(), String> {
    let mut page_token = String::new();
    loop {
        let page = answer(
            client
                .list_rights_requests(proto::ListRightsRequestsRequest {
                    organisation: args.organisation.to_string(),
                    statuses: args
                        .statuses
                        .iter()
                        .map(|&status| wire::status(status).into())
                        .collect(),
                    types: args
                        .kinds
                        .iter()
                        .map(|&kind| wire::request_kind(kind).into())
                        .collect(),
                    overdue: args.overdue,
                    due_before: args.due_before.clone().unwrap_or_default(),
                    page_size: 1000,
                    page_token,
                })
                .await,
        )?;
        for request in &page.requests {
            out!(
                "{:<24} {:<16} {:<16} due {}{}",
                request.request_id,
                kind_name(request.r#type),
                status_name(request.status),
                if request.due_on.is_empty() {
                    "-"
                } else {
                    &request.due_on
                },
                if request.overdue { "  OVERDUE" } else { "" }
            );
        }
        if page.next_page_token.is_empty() {
            return Ok(());
        }
        page_token = page.next_page_token;
    }
}

pub async fn subject(command: SubjectCommand) -> Result<(), String> {
    let server = match &command {
        SubjectCommand::Show(args) => &args.server,
        SubjectCommand::Consent(args) => &args.server,
    };
    let mut client = SubjectServiceClient::new(connect(server).await?);
    let state = match command {
        SubjectCommand::Show(args) => {
            answer(
                client
                    .get_subject_state(proto::GetSubjectStateRequest {
                        organisation: args.organisation.into(),
                        subject: args.subject.expose().to_owned(),
                    })
                    .await,
            )?
            .state
        }
        SubjectCommand::Consent(args) => {
            let action = if args.withdraw {
                proto::ConsentAction::Withdraw
            } else {
                proto::ConsentAction::Grant
            };
            answer(
                client
                    .record_consent(proto::RecordConsentRequest {
                        organisation: args.organisation.into(),
                        subject: args.subject.expose().to_owned(),
                        purpose: args.purpose.into(),
                        action: action.into(),
                        notice_version: args.notice_version.unwrap_or_default(),
                        source: args.source.unwrap_or_default(),
                        at: None,
                        parental: args.parental,
                    })
                    .await,
            )?
            .state
        }
    };
    let Some(state) = state else {
        return Ok(());
    };
    out!("subject {} at {}", state.subject_ref, state.organisation);
    if !state.birth_date.is_empty() {
        out!("  born {}", state.birth_date);
    } else if state.birth_year != 0 {
        out!("  born in {}", state.birth_year);
    }
    for consent in &state.consents {
        let action = if consent.action() == proto::ConsentAction::Withdraw {
            "withdrew"
        } else {
            "granted"
        };
        out!(
            "  consent  {} {action} {}{}{}",
            when(&consent.at),
            consent.purpose,
            if consent.notice_version.is_empty() {
                String::new()
            } else {
                format!(" (notice {})", consent.notice_version)
            },
            if consent.parental { " by a parent" } else { "" }
        );
    }
    for objection in &state.objections {
        let target = if objection.direct_marketing {
            "all direct marketing".to_owned()
        } else {
            objection.purpose.clone()
        };
        let standing = if objection.withdrawn_at.is_some() {
            " (withdrawn)"
        } else {
            ""
        };
        let grounds = if objection.compelling_grounds.is_empty() {
            String::new()
        } else {
            format!("; compelling grounds: {}", objection.compelling_grounds)
        };
        out!(
            "  objected {} to {target}{standing}{grounds}",
            when(&objection.at)
        );
    }
    for restriction in &state.restrictions {
        let lifted = restriction
            .lifted_at
            .as_ref()
            .map(|_| format!(", lifted {}", when(&restriction.lifted_at)))
            .unwrap_or_default();
        out!("  restricted from {}{lifted}", when(&restriction.from));
    }
    if let Some(erasure) = &state.erasure {
        out!("  erasure verified {}", when(&erasure.verified_at));
    }
    Ok(())
}
