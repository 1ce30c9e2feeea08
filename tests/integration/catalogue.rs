//! The bad-input catalogue of docs/errors.md: malformed messages sent to every RPC of the real
//! server binary. Each must get its documented status code (with the field named where the
//! input is invalid), the server must not panic and must keep serving, and nothing may be
//! written.

use std::{future::Future, pin::Pin};

use purposed::proto::{
    self, ApplyManifestRequest, BatchCheckRequest, CheckRequest, CompleteRightsTaskRequest,
    ExtendRightsRequestRequest, GetAccessReportRequest, GetOrganisationRequest, GetRevisionRequest,
    GetRightsRequestRequest, GetSubjectStateRequest, LiftRestrictionRequest, ListCategoriesRequest,
    ListOrganisationsRequest, ListPurposesRequest, ListRecipientsRequest,
    ListRegisteredRecipientsRequest, ListRevisionsRequest, ListRightsRequestsRequest,
    ListRightsTasksRequest, RecordCompellingGroundsRequest, RecordConsentRequest,
    RecordObjectionRequest, RenderDocumentRequest, SetBirthRequest, SubmitRightsRequestRequest,
    TransitionRightsRequestRequest, WatchRightsEventsRequest, WithdrawObjectionRequest,
    decision_service_client::DecisionServiceClient, document_service_client::DocumentServiceClient,
    registry_service_client::RegistryServiceClient, rights_service_client::RightsServiceClient,
    subject_service_client::SubjectServiceClient,
};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::support::{TestDatabase, process::ServerProcess};

/// Above the server's 4 MiB message limit.
const TEN_MB: usize = 10 * 1024 * 1024;
/// Under the message limit, far over any field's limit.
const ONE_MB: usize = 1024 * 1024;
const ORGANISATION: &str = "pro-balances";

type Reply = Pin<Box<dyn Future<Output = Result<(), Status>> + Send>>;

#[derive(Clone)]
struct Clients {
    decision: DecisionServiceClient<Channel>,
    registry: RegistryServiceClient<Channel>,
    subjects: SubjectServiceClient<Channel>,
    rights: RightsServiceClient<Channel>,
    documents: DocumentServiceClient<Channel>,
}

impl Clients {
    fn new(channel: Channel) -> Clients {
        // The client must be able to send what the server is to refuse.
        Clients {
            decision: DecisionServiceClient::new(channel.clone())
                .max_encoding_message_size(usize::MAX),
            registry: RegistryServiceClient::new(channel.clone())
                .max_encoding_message_size(usize::MAX),
            subjects: SubjectServiceClient::new(channel.clone())
                .max_encoding_message_size(usize::MAX),
            rights: RightsServiceClient::new(channel.clone()).max_encoding_message_size(usize::MAX),
            documents: DocumentServiceClient::new(channel).max_encoding_message_size(usize::MAX),
        }
    }
}

/// One RPC, called with a request built around a given organisation id.
struct Rpc {
    name: &'static str,
    call: fn(Clients, String) -> Reply,
}

macro_rules! rpc {
    ($name:literal, $client:ident . $method:ident, |$organisation:ident| $request:expr) => {
        Rpc {
            name: $name,
            call: |clients: Clients, $organisation: String| {
                let mut client = clients.$client;
                Box::pin(async move { client.$method($request).await.map(|_| ()) })
            },
        }
    };
}

fn question(organisation: String) -> CheckRequest {
    CheckRequest {
        organisation,
        purpose: "newsletter".into(),
        category: "user.contact.email".into(),
        recipient: "mailchimp".into(),
        ..CheckRequest::default()
    }
}

/// Every RPC that names an organisation, with otherwise well-formed input.
fn rpcs_with_an_organisation() -> Vec<Rpc> {
    vec![
        rpc!("Check", decision.check, |organisation| question(
            organisation
        )),
        rpc!("BatchCheck", decision.batch_check, |organisation| {
            BatchCheckRequest {
                checks: vec![question(organisation)],
            }
        }),
        rpc!("ListRecipients", decision.list_recipients, |organisation| {
            ListRecipientsRequest {
                organisation,
                purpose: "newsletter".into(),
                category: "user.contact.email".into(),
                ..ListRecipientsRequest::default()
            }
        }),
        rpc!(
            "GetOrganisation",
            registry.get_organisation,
            |organisation| {
                GetOrganisationRequest {
                    organisation,
                    revision: None,
                    language: String::new(),
                }
            }
        ),
        rpc!("ListPurposes", registry.list_purposes, |organisation| {
            ListPurposesRequest {
                organisation,
                ..ListPurposesRequest::default()
            }
        }),
        rpc!(
            "ListRegisteredRecipients",
            registry.list_registered_recipients,
            |organisation| {
                ListRegisteredRecipientsRequest {
                    organisation,
                    ..ListRegisteredRecipientsRequest::default()
                }
            }
        ),
        rpc!("ListCategories", registry.list_categories, |organisation| {
            ListCategoriesRequest {
                organisation,
                ..ListCategoriesRequest::default()
            }
        }),
        rpc!("ListRevisions", registry.list_revisions, |organisation| {
            ListRevisionsRequest {
                organisation,
                ..ListRevisionsRequest::default()
            }
        }),
        rpc!("GetRevision", registry.get_revision, |organisation| {
            GetRevisionRequest {
                organisation,
                revision: Some(1),
            }
        }),
        rpc!("RecordConsent", subjects.record_consent, |organisation| {
            RecordConsentRequest {
                organisation,
                subject: "catalogue-subject".into(),
                purpose: "newsletter".into(),
                action: proto::ConsentAction::Grant.into(),
                ..RecordConsentRequest::default()
            }
        }),
        rpc!(
            "RecordObjection",
            subjects.record_objection,
            |organisation| {
                RecordObjectionRequest {
                    organisation,
                    subject: "catalogue-subject".into(),
                    direct_marketing: true,
                    ..RecordObjectionRequest::default()
                }
            }
        ),
        rpc!(
            "WithdrawObjection",
            subjects.withdraw_objection,
            |organisation| {
                WithdrawObjectionRequest {
                    organisation,
                    subject: "catalogue-subject".into(),
                    direct_marketing: true,
                    ..WithdrawObjectionRequest::default()
                }
            }
        ),
        rpc!(
            "RecordCompellingGrounds",
            subjects.record_compelling_grounds,
            |organisation| {
                RecordCompellingGroundsRequest {
                    organisation,
                    subject: "catalogue-subject".into(),
                    purpose: "newsletter".into(),
                    grounds: "grounds".into(),
                }
            }
        ),
        rpc!("SetBirth", subjects.set_birth, |organisation| {
            SetBirthRequest {
                organisation,
                subject: "catalogue-subject".into(),
                birth_year: 1990,
                ..SetBirthRequest::default()
            }
        }),
        rpc!(
            "LiftRestriction",
            subjects.lift_restriction,
            |organisation| {
                LiftRestrictionRequest {
                    organisation,
                    subject: "catalogue-subject".into(),
                    note: "lifted".into(),
                }
            }
        ),
        rpc!(
            "GetSubjectState",
            subjects.get_subject_state,
            |organisation| {
                GetSubjectStateRequest {
                    organisation,
                    subject: "catalogue-subject".into(),
                }
            }
        ),
        rpc!(
            "SubmitRightsRequest",
            rights.submit_rights_request,
            |organisation| {
                SubmitRightsRequestRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                    r#type: proto::RightsRequestType::Access.into(),
                    subject: "catalogue-subject".into(),
                    ..SubmitRightsRequestRequest::default()
                }
            }
        ),
        rpc!(
            "GetRightsRequest",
            rights.get_rights_request,
            |organisation| {
                GetRightsRequestRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                }
            }
        ),
        rpc!(
            "ListRightsRequests",
            rights.list_rights_requests,
            |organisation| {
                ListRightsRequestsRequest {
                    organisation,
                    ..ListRightsRequestsRequest::default()
                }
            }
        ),
        rpc!(
            "TransitionRightsRequest",
            rights.transition_rights_request,
            |organisation| {
                TransitionRightsRequestRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                    status: proto::RightsRequestStatus::Verified.into(),
                    ..TransitionRightsRequestRequest::default()
                }
            }
        ),
        rpc!(
            "ExtendRightsRequest",
            rights.extend_rights_request,
            |organisation| {
                ExtendRightsRequestRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                    months: 1,
                    reason: "complex".into(),
                    ..ExtendRightsRequestRequest::default()
                }
            }
        ),
        rpc!(
            "ListRightsTasks",
            rights.list_rights_tasks,
            |organisation| {
                ListRightsTasksRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                    ..ListRightsTasksRequest::default()
                }
            }
        ),
        rpc!(
            "CompleteRightsTask",
            rights.complete_rights_task,
            |organisation| {
                CompleteRightsTaskRequest {
                    organisation,
                    task_id: 1,
                    ..CompleteRightsTaskRequest::default()
                }
            }
        ),
        rpc!(
            "GetAccessReport",
            rights.get_access_report,
            |organisation| {
                GetAccessReportRequest {
                    organisation,
                    request_id: "catalogue-1".into(),
                    language: String::new(),
                }
            }
        ),
        rpc!(
            "WatchRightsEvents",
            rights.watch_rights_events,
            |organisation| {
                WatchRightsEventsRequest {
                    organisation,
                    after_event_id: 0,
                }
            }
        ),
        rpc!(
            "RenderDocument",
            documents.render_document,
            |organisation| {
                RenderDocumentRequest {
                    organisation,
                    kind: proto::DocumentKind::SubprocessorList.into(),
                    format: proto::DocumentFormat::Json.into(),
                    ..RenderDocumentRequest::default()
                }
            }
        ),
        rpc!(
            "ReviewRegistry",
            documents.review_registry,
            |organisation| {
                proto::ReviewRegistryRequest {
                    organisation,
                    ..proto::ReviewRegistryRequest::default()
                }
            }
        ),
    ]
}

/// One malformed call and what it must get.
struct Case {
    name: String,
    reply: Reply,
    code: Code,
    /// The field an INVALID_ARGUMENT must name.
    field: Option<&'static str>,
}

fn case(name: impl Into<String>, reply: Reply, code: Code, field: Option<&'static str>) -> Case {
    Case {
        name: name.into(),
        reply,
        code,
        field,
    }
}

/// Calls `method` on a clone of `client`, which the reply owns.
macro_rules! call {
    ($client:expr, $method:ident, $request:expr $(,)?) => {{
        let mut client = $client.clone();
        let request = $request;
        Box::pin(async move { client.$method(request).await.map(|_| ()) }) as Reply
    }};
}

fn timestamp(seconds: i64, nanos: i32) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos })
}

/// Malformed organisation ids, for every RPC that takes one.
fn organisation_cases(clients: &Clients) -> Vec<Case> {
    let mut cases = Vec::new();
    for rpc in rpcs_with_an_organisation() {
        let call = rpc.call;
        // An unknown organisation is a decision (DENY, UNKNOWN_ORGANISATION) for Check and
        // BatchCheck, and NOT_FOUND for everything else.
        let unknown = if matches!(rpc.name, "Check" | "BatchCheck") {
            Code::Ok
        } else {
            Code::NotFound
        };
        let organisation_field = if rpc.name == "BatchCheck" {
            "checks[0].organisation"
        } else {
            "organisation"
        };
        cases.extend([
            case(
                format!("{}: empty organisation", rpc.name),
                call(clients.clone(), String::new()),
                Code::InvalidArgument,
                Some(organisation_field),
            ),
            case(
                format!("{}: malformed organisation", rpc.name),
                call(clients.clone(), "Pro Balances!".into()),
                Code::InvalidArgument,
                Some(organisation_field),
            ),
            case(
                format!("{}: 1 MB organisation", rpc.name),
                call(clients.clone(), "o".repeat(ONE_MB)),
                Code::InvalidArgument,
                Some(organisation_field),
            ),
            case(
                format!("{}: 10 MB organisation", rpc.name),
                call(clients.clone(), "o".repeat(TEN_MB)),
                Code::ResourceExhausted,
                None,
            ),
            case(
                format!("{}: unknown organisation", rpc.name),
                call(clients.clone(), "no-such-organisation".into()),
                unknown,
                None,
            ),
        ]);
    }
    cases
}

/// Malformed fields other than the organisation, RPC by RPC.
fn field_cases(clients: &Clients) -> Vec<Case> {
    let organisation = || ORGANISATION.to_owned();
    let c = clients;
    vec![
        case(
            "Check: empty purpose",
            call!(
                c.decision,
                check,
                CheckRequest {
                    purpose: String::new(),
                    ..question(organisation())
                }
            ),
            Code::InvalidArgument,
            Some("purpose"),
        ),
        case(
            "Check: 1 MB category",
            call!(
                c.decision,
                check,
                CheckRequest {
                    category: "c".repeat(ONE_MB),
                    ..question(organisation())
                }
            ),
            Code::InvalidArgument,
            Some("category"),
        ),
        case(
            "Check: empty subject",
            call!(
                c.decision,
                check,
                CheckRequest {
                    subject: Some(String::new()),
                    ..question(organisation())
                }
            ),
            Code::InvalidArgument,
            Some("subject"),
        ),
        case(
            "Check: 10 MB subject",
            call!(
                c.decision,
                check,
                CheckRequest {
                    subject: Some("s".repeat(TEN_MB)),
                    ..question(organisation())
                }
            ),
            Code::ResourceExhausted,
            None,
        ),
        case(
            "Check: timestamp nanos out of range",
            call!(
                c.decision,
                check,
                CheckRequest {
                    at: timestamp(1_700_000_000, -1),
                    ..question(organisation())
                }
            ),
            Code::InvalidArgument,
            Some("at"),
        ),
        case(
            "Check: timestamp beyond year 9999",
            call!(
                c.decision,
                check,
                CheckRequest {
                    collected_at: timestamp(i64::MAX, 0),
                    ..question(organisation())
                }
            ),
            Code::InvalidArgument,
            Some("collected_at"),
        ),
        case(
            "BatchCheck: no questions",
            call!(
                c.decision,
                batch_check,
                BatchCheckRequest { checks: Vec::new() }
            ),
            // An empty batch has an empty answer.
            Code::Ok,
            None,
        ),
        case(
            "BatchCheck: 1001 questions",
            call!(
                c.decision,
                batch_check,
                BatchCheckRequest {
                    checks: vec![question(organisation()); 1001],
                }
            ),
            Code::InvalidArgument,
            Some("checks"),
        ),
        case(
            "ListRecipients: empty category",
            call!(
                c.decision,
                list_recipients,
                ListRecipientsRequest {
                    organisation: organisation(),
                    purpose: "newsletter".into(),
                    ..ListRecipientsRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("category"),
        ),
        case(
            "ApplyManifest: empty manifest",
            call!(c.registry, apply_manifest, ApplyManifestRequest::default()),
            Code::InvalidArgument,
            Some("manifest"),
        ),
        case(
            "ApplyManifest: not YAML",
            call!(
                c.registry,
                apply_manifest,
                ApplyManifestRequest {
                    manifest: "{{{ not: yaml".into(),
                    ..ApplyManifestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("manifest"),
        ),
        case(
            "ApplyManifest: 2 MB manifest",
            call!(
                c.registry,
                apply_manifest,
                ApplyManifestRequest {
                    manifest: format!("version: 1\n#{}\n", "x".repeat(2 * ONE_MB)),
                    ..ApplyManifestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("manifest"),
        ),
        case(
            "ApplyManifest: 10 MB manifest",
            call!(
                c.registry,
                apply_manifest,
                ApplyManifestRequest {
                    manifest: "x".repeat(TEN_MB),
                    ..ApplyManifestRequest::default()
                }
            ),
            Code::ResourceExhausted,
            None,
        ),
        case(
            "ApplyManifest: stale expected revision",
            call!(
                c.registry,
                apply_manifest,
                ApplyManifestRequest {
                    manifest: crate::support::example("pro-balances").to_owned(),
                    expected_revision: Some(7),
                    ..ApplyManifestRequest::default()
                }
            ),
            Code::FailedPrecondition,
            None,
        ),
        case(
            "ListOrganisations: page too large",
            call!(
                c.registry,
                list_organisations,
                ListOrganisationsRequest {
                    page_size: 5000,
                    ..ListOrganisationsRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("page_size"),
        ),
        case(
            "ListOrganisations: forged page token",
            call!(
                c.registry,
                list_organisations,
                ListOrganisationsRequest {
                    page_token: "x".repeat(ONE_MB),
                    ..ListOrganisationsRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("page_token"),
        ),
        case(
            "GetOrganisation: unknown revision",
            call!(
                c.registry,
                get_organisation,
                GetOrganisationRequest {
                    organisation: organisation(),
                    revision: Some(99),
                    language: String::new(),
                }
            ),
            Code::NotFound,
            None,
        ),
        case(
            "ListCategories: unknown sensitivity",
            call!(
                c.registry,
                list_categories,
                ListCategoriesRequest {
                    organisation: organisation(),
                    sensitivity: 99,
                    ..ListCategoriesRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("sensitivity"),
        ),
        case(
            "ListRegisteredRecipients: unknown kind",
            call!(
                c.registry,
                list_registered_recipients,
                ListRegisteredRecipientsRequest {
                    organisation: organisation(),
                    kind: 99,
                    ..ListRegisteredRecipientsRequest::default()
                },
            ),
            Code::InvalidArgument,
            Some("kind"),
        ),
        case(
            "GetRevision: revision 0",
            call!(
                c.registry,
                get_revision,
                GetRevisionRequest {
                    organisation: organisation(),
                    revision: Some(0),
                }
            ),
            // Revisions are numbered from 1.
            Code::NotFound,
            None,
        ),
        case(
            "RecordConsent: empty subject",
            call!(
                c.subjects,
                record_consent,
                RecordConsentRequest {
                    organisation: organisation(),
                    purpose: "newsletter".into(),
                    action: proto::ConsentAction::Grant.into(),
                    ..RecordConsentRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("subject"),
        ),
        case(
            "RecordConsent: unknown action",
            call!(
                c.subjects,
                record_consent,
                RecordConsentRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    purpose: "newsletter".into(),
                    action: 99,
                    ..RecordConsentRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("action"),
        ),
        case(
            "RecordConsent: unknown purpose",
            call!(
                c.subjects,
                record_consent,
                RecordConsentRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    purpose: "no-such-purpose".into(),
                    action: proto::ConsentAction::Grant.into(),
                    ..RecordConsentRequest::default()
                }
            ),
            Code::NotFound,
            None,
        ),
        case(
            "RecordConsent: invalid timestamp",
            call!(
                c.subjects,
                record_consent,
                RecordConsentRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    purpose: "newsletter".into(),
                    action: proto::ConsentAction::Grant.into(),
                    at: timestamp(0, 1_000_000_000),
                    ..RecordConsentRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("at"),
        ),
        case(
            "RecordObjection: neither a purpose nor direct marketing",
            call!(
                c.subjects,
                record_objection,
                RecordObjectionRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    ..RecordObjectionRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("purpose"),
        ),
        case(
            "SetBirth: impossible date",
            call!(
                c.subjects,
                set_birth,
                SetBirthRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    birth_date: "2020-13-45".into(),
                    ..SetBirthRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("birth_date"),
        ),
        case(
            "SetBirth: year in the future",
            call!(
                c.subjects,
                set_birth,
                SetBirthRequest {
                    organisation: organisation(),
                    subject: "catalogue-subject".into(),
                    birth_year: 3000,
                    ..SetBirthRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("birth_year"),
        ),
        case(
            "SubmitRightsRequest: empty request id",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    r#type: proto::RightsRequestType::Access.into(),
                    subject: "catalogue-subject".into(),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("request_id"),
        ),
        case(
            "SubmitRightsRequest: unknown type",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-2".into(),
                    r#type: 99,
                    subject: "catalogue-subject".into(),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("type"),
        ),
        case(
            "SubmitRightsRequest: 10 MB details",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-3".into(),
                    r#type: proto::RightsRequestType::Rectification.into(),
                    subject: "catalogue-subject".into(),
                    details: "d".repeat(TEN_MB),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::ResourceExhausted,
            None,
        ),
        case(
            "SubmitRightsRequest: 1 MB details",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-4".into(),
                    r#type: proto::RightsRequestType::Rectification.into(),
                    subject: "catalogue-subject".into(),
                    details: "d".repeat(ONE_MB),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("details"),
        ),
        case(
            "SubmitRightsRequest: received in the future",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-5".into(),
                    r#type: proto::RightsRequestType::Access.into(),
                    subject: "catalogue-subject".into(),
                    received_at: timestamp(4_000_000_000, 0),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("received_at"),
        ),
        case(
            // Year -2: the deadline's Easter lookup once panicked on years before 1.
            "SubmitRightsRequest: received before 1970",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-5b".into(),
                    r#type: proto::RightsRequestType::Access.into(),
                    subject: "catalogue-subject".into(),
                    received_at: timestamp(-62_227_569_600, 0),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("received_at"),
        ),
        case(
            "SubmitRightsRequest: invalid timestamp",
            call!(
                c.rights,
                submit_rights_request,
                SubmitRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-6".into(),
                    r#type: proto::RightsRequestType::Access.into(),
                    subject: "catalogue-subject".into(),
                    received_at: timestamp(i64::MIN, 0),
                    ..SubmitRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("received_at"),
        ),
        case(
            "GetRightsRequest: unknown request",
            call!(
                c.rights,
                get_rights_request,
                GetRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "no-such-request".into(),
                }
            ),
            Code::NotFound,
            None,
        ),
        case(
            "ListRightsRequests: unknown status",
            call!(
                c.rights,
                list_rights_requests,
                ListRightsRequestsRequest {
                    organisation: organisation(),
                    statuses: vec![99],
                    ..ListRightsRequestsRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("statuses[0]"),
        ),
        case(
            "ListRightsRequests: malformed due_before",
            call!(
                c.rights,
                list_rights_requests,
                ListRightsRequestsRequest {
                    organisation: organisation(),
                    due_before: "next tuesday".into(),
                    ..ListRightsRequestsRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("due_before"),
        ),
        case(
            "TransitionRightsRequest: unknown status",
            call!(
                c.rights,
                transition_rights_request,
                TransitionRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-1".into(),
                    status: 99,
                    ..TransitionRightsRequestRequest::default()
                },
            ),
            Code::InvalidArgument,
            Some("status"),
        ),
        case(
            "TransitionRightsRequest: unknown rejection reason",
            call!(
                c.rights,
                transition_rights_request,
                TransitionRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-1".into(),
                    status: proto::RightsRequestStatus::Rejected.into(),
                    rejection_reason: 99,
                    ..TransitionRightsRequestRequest::default()
                },
            ),
            Code::InvalidArgument,
            Some("rejection_reason"),
        ),
        case(
            "ExtendRightsRequest: three months",
            call!(
                c.rights,
                extend_rights_request,
                ExtendRightsRequestRequest {
                    organisation: organisation(),
                    request_id: "catalogue-1".into(),
                    months: 3,
                    reason: "complex".into(),
                    ..ExtendRightsRequestRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("months"),
        ),
        case(
            "CompleteRightsTask: task 0",
            call!(
                c.rights,
                complete_rights_task,
                CompleteRightsTaskRequest {
                    organisation: organisation(),
                    task_id: 0,
                    ..CompleteRightsTaskRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("task_id"),
        ),
        case(
            "ListRightsTasks: unknown request",
            call!(
                c.rights,
                list_rights_tasks,
                ListRightsTasksRequest {
                    organisation: organisation(),
                    request_id: "no-such-request".into(),
                    ..ListRightsTasksRequest::default()
                }
            ),
            Code::NotFound,
            None,
        ),
        case(
            "GetAccessReport: unknown request",
            call!(
                c.rights,
                get_access_report,
                GetAccessReportRequest {
                    organisation: organisation(),
                    request_id: "no-such-request".into(),
                    language: String::new(),
                }
            ),
            Code::NotFound,
            None,
        ),
        case(
            "RenderDocument: unknown kind",
            call!(
                c.documents,
                render_document,
                RenderDocumentRequest {
                    organisation: organisation(),
                    kind: 99,
                    format: proto::DocumentFormat::Json.into(),
                    ..RenderDocumentRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("kind"),
        ),
        case(
            "RenderDocument: malformed language",
            call!(
                c.documents,
                render_document,
                RenderDocumentRequest {
                    organisation: organisation(),
                    kind: proto::DocumentKind::SubprocessorList.into(),
                    format: proto::DocumentFormat::Markdown.into(),
                    language: "Latviešu".into(),
                    ..RenderDocumentRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("language"),
        ),
        case(
            "ReviewRegistry: malformed day",
            call!(
                c.documents,
                review_registry,
                proto::ReviewRegistryRequest {
                    organisation: organisation(),
                    today: "2026-02-30".into(),
                    ..proto::ReviewRegistryRequest::default()
                }
            ),
            Code::InvalidArgument,
            Some("today"),
        ),
        case(
            "RenderDocument: unknown revision",
            call!(
                c.documents,
                render_document,
                RenderDocumentRequest {
                    organisation: organisation(),
                    kind: proto::DocumentKind::SubprocessorList.into(),
                    format: proto::DocumentFormat::Csv.into(),
                    revision: Some(99),
                    ..RenderDocumentRequest::default()
                }
            ),
            Code::NotFound,
            None,
        ),
    ]
}

/// The fields a refusal's BadRequest detail names.
pub fn violations(status: &Status) -> Vec<String> {
    status
        .get_details_bad_request()
        .map(|details| {
            details
                .field_violations
                .into_iter()
                .map(|violation| violation.field)
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_rpc_refuses_bad_input_with_its_documented_status() {
    let database = TestDatabase::create().await;
    let mut server = ServerProcess::start(&database.url).await;
    let channel = Channel::from_shared(format!("http://{}", server.address))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let clients = Clients::new(channel);
    let mut check = clients.decision.clone();
    let before = check
        .check(question(ORGANISATION.into()))
        .await
        .expect("a well-formed question")
        .into_inner();

    let mut cases = organisation_cases(&clients);
    cases.extend(field_cases(&clients));
    let mut failures = Vec::new();
    let total = cases.len();
    for case in cases {
        let code = match case.reply.await {
            Ok(()) => Code::Ok,
            Err(status) => {
                if let Some(field) = case.field
                    && !violations(&status).iter().any(|named| named == field)
                {
                    failures.push(format!(
                        "{}: {field} not named in {:?} ({})",
                        case.name,
                        violations(&status),
                        status.message()
                    ));
                }
                status.code()
            }
        };
        if code != case.code {
            failures.push(format!(
                "{}: {:?}, expected {:?}",
                case.name, code, case.code
            ));
        }
        // Still serving, and still answering the same.
        let after = check
            .check(question(ORGANISATION.into()))
            .await
            .unwrap_or_else(|status| panic!("after {}: {status:?}", case.name))
            .into_inner();
        assert_eq!(
            crate::decision::timeless(after),
            crate::decision::timeless(before.clone()),
            "after {}",
            case.name
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(server.is_running(), "the server exited");
    assert_eq!(server.panics(), 0, "the server panicked");

    // Nothing was written: no rights request, no subject event, no new revision.
    let requests = clients
        .rights
        .clone()
        .list_rights_requests(ListRightsRequestsRequest {
            organisation: ORGANISATION.into(),
            ..ListRightsRequestsRequest::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(requests.requests.is_empty(), "{:?}", requests.requests);
    let state = clients
        .subjects
        .clone()
        .get_subject_state(GetSubjectStateRequest {
            organisation: ORGANISATION.into(),
            subject: "catalogue-subject".into(),
        })
        .await
        .expect("subject state")
        .into_inner();
    let state = state.state.unwrap_or_default();
    assert!(
        state.consents.is_empty() && state.objections.is_empty(),
        "{state:?}"
    );
    let revisions = clients
        .registry
        .clone()
        .list_revisions(ListRevisionsRequest {
            organisation: ORGANISATION.into(),
            ..ListRevisionsRequest::default()
        })
        .await
        .expect("revisions")
        .into_inner();
    assert_eq!(revisions.revisions.len(), 1);
    eprintln!("catalogue: {total} malformed calls, each answered as documented");
    server.kill().await;
}
