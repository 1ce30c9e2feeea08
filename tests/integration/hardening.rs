//! Regressions of the defects an outside attack on the running service found (issue 11),
//! each on the database the run is given (SQLite, or PostgreSQL in CI's second pass).

use purposed::proto::{
    self, CompleteRightsTaskRequest, RightsEventKind, RightsRequestStatus, RightsRequestType,
    SubmitRightsRequestRequest, TransitionRightsRequestRequest,
};
use tokio::task::JoinSet;
use tonic::Code;

use crate::{
    decision::apply,
    support::{TestApp, spawn_app},
};

/// An organisation whose one purpose shares with seven processors, so that an erasure fans
/// out seven tasks.
fn fan_manifest() -> String {
    let mut recipients = String::new();
    let mut engaged = Vec::new();
    for index in 0..7 {
        recipients.push_str(&format!(
            "  - id: p{index}\n    name: Processor {index}\n    kind: processor\n    locations: [LV]\n    agreements: [{{reference: DPA, effective_from: 2020-01-01, source: row {index}}}]\n    source: row {index}\n"
        ));
        engaged.push(format!("{{id: p{index}}}"));
    }
    format!(
        "version: 1\norganisation:\n  id: fan\n  legal_name: Fan SIA\n  country: LV\n  role: controller\n  source: policy\nrecipients:\n{recipients}purposes:\n  - id: service\n    name: Service\n    legal_basis: contract\n    categories: [user.contact]\n    recipients: [{}]\n    source: policy\n  - id: insights\n    name: Insights\n    legal_basis: legitimate_interests\n    balancing_test: LIA 1\n    categories: [user.online]\n    recipients: [{{id: p0}}]\n    source: policy\n",
        engaged.join(", ")
    )
}

fn submission(
    request_id: &str,
    kind: RightsRequestType,
    subject: &str,
) -> SubmitRightsRequestRequest {
    SubmitRightsRequestRequest {
        organisation: "fan".into(),
        request_id: request_id.into(),
        r#type: kind as i32,
        subject: subject.into(),
        actor: "desk".into(),
        ..Default::default()
    }
}

fn transition(request_id: &str, status: RightsRequestStatus) -> TransitionRightsRequestRequest {
    TransitionRightsRequestRequest {
        organisation: "fan".into(),
        request_id: request_id.into(),
        status: status as i32,
        actor: "desk".into(),
        ..Default::default()
    }
}

async fn fan() -> TestApp {
    let app = spawn_app().await;
    apply(&app, &fan_manifest()).await;
    app
}

/// Submits an erasure and verifies it: in progress, one open task per processor.
async fn erasure_in_progress(app: &TestApp, request_id: &str) -> Vec<u64> {
    let mut rights = app.rights();
    rights
        .submit_rights_request(submission(
            request_id,
            RightsRequestType::Erasure,
            request_id,
        ))
        .await
        .expect("submit");
    for status in [
        RightsRequestStatus::IdentityPending,
        RightsRequestStatus::Verified,
    ] {
        rights
            .transition_rights_request(transition(request_id, status))
            .await
            .expect("transition");
    }
    let request = rights
        .get_rights_request(proto::GetRightsRequestRequest {
            organisation: "fan".into(),
            request_id: request_id.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(request.status(), RightsRequestStatus::InProgress);
    request.tasks.iter().map(|task| task.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_of_concurrent_task_completions_completes_the_request() {
    let app = fan().await;
    for round in 0..5 {
        let request_id = format!("erase-{round}");
        let tasks = erasure_in_progress(&app, &request_id).await;
        assert_eq!(tasks.len(), 7);
        let mut completions = JoinSet::new();
        for task_id in tasks {
            let mut rights = app.rights();
            completions.spawn(async move {
                rights
                    .complete_rights_task(CompleteRightsTaskRequest {
                        organisation: "fan".into(),
                        task_id,
                        actor: format!("worker-{task_id}"),
                        note: String::new(),
                    })
                    .await
            });
        }
        for completion in completions.join_all().await {
            completion.expect("every completion is acknowledged");
        }
        let request = app
            .rights()
            .get_rights_request(proto::GetRightsRequestRequest {
                organisation: "fan".into(),
                request_id: request_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .request
            .expect("request");
        assert_eq!(
            request.status(),
            RightsRequestStatus::Completed,
            "round {round}: every task done"
        );
        let completed = request
            .events
            .iter()
            .filter(|event| {
                event.kind() == RightsEventKind::StatusChanged
                    && event.status() == RightsRequestStatus::Completed
            })
            .count();
        assert_eq!(completed, 1, "round {round}: one COMPLETED event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_wait_for_each_other_and_never_fail_internally() {
    let app = fan().await;
    let mut writers = JoinSet::new();
    for writer in 0..8 {
        let mut rights = app.rights();
        writers.spawn(async move {
            let mut codes = Vec::new();
            for index in 0..15 {
                let request_id = format!("w{writer}-{index}");
                let answers = [
                    rights
                        .submit_rights_request(submission(
                            &request_id,
                            RightsRequestType::Access,
                            &request_id,
                        ))
                        .await
                        .map(drop),
                    rights
                        .transition_rights_request(transition(
                            &request_id,
                            RightsRequestStatus::IdentityPending,
                        ))
                        .await
                        .map(drop),
                ];
                codes.extend(answers.into_iter().map(|answer| match answer {
                    Ok(()) => Code::Ok,
                    Err(status) => status.code(),
                }));
            }
            codes
        });
    }
    let codes: Vec<Code> = writers.join_all().await.into_iter().flatten().collect();
    let failed: Vec<_> = codes.iter().filter(|code| **code != Code::Ok).collect();
    assert!(
        failed.is_empty(),
        "each writer changes its own requests: {failed:?}"
    );

    // Racing transitions of one request: one wins, the rest are told it moved.
    app.rights()
        .submit_rights_request(submission("raced", RightsRequestType::Access, "raced"))
        .await
        .expect("submit");
    let mut racers = JoinSet::new();
    for _ in 0..8 {
        let mut rights = app.rights();
        racers.spawn(async move {
            rights
                .transition_rights_request(transition(
                    "raced",
                    RightsRequestStatus::IdentityPending,
                ))
                .await
                .map(drop)
                .map_err(|status| status.code())
        });
    }
    let outcomes = racers.join_all().await;
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|outcome| matches!(
            outcome,
            Ok(()) | Err(Code::Aborted | Code::FailedPrecondition)
        )),
        "{outcomes:?}"
    );
}

fn expect_field<T: std::fmt::Debug>(
    case: &str,
    answer: Result<tonic::Response<T>, tonic::Status>,
    field: &str,
) {
    let status = answer.expect_err(case);
    assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
    assert_eq!(
        crate::catalogue::violations(&status),
        [field],
        "{case}: {status:?}"
    );
}

#[tokio::test]
async fn control_characters_in_free_text_are_refused_on_every_write_path() {
    let app = fan().await;
    let mut rights = app.rights();
    let mut subjects = app.subjects();
    rights
        .submit_rights_request(submission("held", RightsRequestType::Restriction, "held"))
        .await
        .expect("submit");
    for (field, text) in [("details", "a\0b"), ("actor", "desk\u{1b}[31m")] {
        let mut request = submission("nul-submit", RightsRequestType::Access, "nul");
        match field {
            "details" => request.details = text.into(),
            _ => request.actor = text.into(),
        }
        expect_field(field, rights.submit_rights_request(request).await, field);
    }
    for field in ["note", "actor"] {
        let mut request = transition("held", RightsRequestStatus::IdentityPending);
        match field {
            "note" => request.note = "\0".into(),
            _ => request.actor = "\0".into(),
        }
        expect_field(
            field,
            rights.transition_rights_request(request).await,
            field,
        );
    }
    for field in ["reason", "actor"] {
        let mut request = proto::ExtendRightsRequestRequest {
            organisation: "fan".into(),
            request_id: "held".into(),
            months: 1,
            reason: "many requests".into(),
            actor: "desk".into(),
        };
        match field {
            "reason" => request.reason = "many\0requests".into(),
            _ => request.actor = "\u{7f}".into(),
        }
        expect_field(field, rights.extend_rights_request(request).await, field);
    }
    for field in ["note", "actor"] {
        let mut request = CompleteRightsTaskRequest {
            organisation: "fan".into(),
            task_id: 1,
            actor: "worker".into(),
            note: "done".into(),
        };
        match field {
            "note" => request.note = "do\0ne".into(),
            _ => request.actor = "wor\0ker".into(),
        }
        expect_field(field, rights.complete_rights_task(request).await, field);
    }
    for field in ["notice_version", "source"] {
        let mut request = proto::RecordConsentRequest {
            organisation: "fan".into(),
            subject: "nul".into(),
            purpose: "service".into(),
            action: proto::ConsentAction::Grant as i32,
            ..Default::default()
        };
        match field {
            "notice_version" => request.notice_version = "v\0".into(),
            _ => request.source = "form\0".into(),
        }
        expect_field(field, subjects.record_consent(request).await, field);
    }
    expect_field(
        "grounds",
        subjects
            .record_compelling_grounds(proto::RecordCompellingGroundsRequest {
                organisation: "fan".into(),
                subject: "nul".into(),
                purpose: "service".into(),
                grounds: "\0".into(),
            })
            .await,
        "grounds",
    );
    expect_field(
        "lift note",
        subjects
            .lift_restriction(proto::LiftRestrictionRequest {
                organisation: "fan".into(),
                subject: "nul".into(),
                note: "told\0".into(),
            })
            .await,
        "note",
    );
    // Manifest text, where YAML escapes make the character.
    let status = app
        .registry()
        .apply_manifest(proto::ApplyManifestRequest {
            manifest: fan_manifest().replace("legal_name: Fan SIA", "legal_name: \"Fan\\0SIA\""),
            dry_run: false,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect_err("a NUL in the manifest");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("organisation.legal_name") && status.message().contains("U+0000"),
        "{status:?}"
    );
    // Nothing of it was stored: tabs and line breaks still are.
    let mut request = submission("tabbed", RightsRequestType::Access, "tabbed");
    request.details = "line one\n\tline two".into();
    let stored = rights
        .submit_rights_request(request)
        .await
        .expect("tabs and line breaks are text")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(stored.details, "line one\n\tline two");
}

#[tokio::test]
async fn repeated_fields_are_bounded_and_repeats_fold() {
    let app = fan().await;
    let mut rights = app.rights();
    for count in [33, 32_767, 70_000] {
        let answer = rights
            .list_rights_requests(proto::ListRightsRequestsRequest {
                organisation: "fan".into(),
                statuses: vec![RightsRequestStatus::Received as i32; count],
                ..Default::default()
            })
            .await;
        expect_field(&format!("{count} statuses"), answer, "statuses");
        let answer = rights
            .list_rights_requests(proto::ListRightsRequestsRequest {
                organisation: "fan".into(),
                types: vec![RightsRequestType::Access as i32; count],
                ..Default::default()
            })
            .await;
        expect_field(&format!("{count} types"), answer, "types");
    }
    rights
        .submit_rights_request(submission("listed", RightsRequestType::Access, "listed"))
        .await
        .expect("submit");
    let listed = rights
        .list_rights_requests(proto::ListRightsRequestsRequest {
            organisation: "fan".into(),
            statuses: vec![RightsRequestStatus::Received as i32; 32],
            ..Default::default()
        })
        .await
        .expect("32 repeats of one status are one filter")
        .into_inner();
    assert_eq!(listed.requests.len(), 1);

    let mut request = submission("objection", RightsRequestType::Objection, "objector");
    request.purposes = vec!["insights".into(); 101];
    expect_field(
        "101 purposes",
        rights.submit_rights_request(request).await,
        "purposes",
    );
    let mut request = submission("objection", RightsRequestType::Objection, "objector");
    request.purposes = vec!["insights".into(); 100];
    let stored = rights
        .submit_rights_request(request)
        .await
        .expect("repeats fold")
        .into_inner()
        .request
        .expect("request");
    assert_eq!(stored.purposes, ["insights"]);
}

#[tokio::test]
async fn timestamps_follow_one_rule_years_1_to_9998() {
    let app = fan().await;
    let instant = |text: &str| {
        Some(purposed::grpc::wire::timestamp(
            text.parse().expect("an instant"),
        ))
    };
    let mut decision = app.decision();
    let question = |at| proto::CheckRequest {
        organisation: "fan".into(),
        purpose: "service".into(),
        category: "user.contact.email".into(),
        recipient: "p0".into(),
        at,
        ..Default::default()
    };
    for refused in [
        instant("0000-06-01T00:00:00Z"),
        instant("-000001-06-01T00:00:00Z"),
        instant("9999-01-01T00:00:00Z"),
        Some(prost_types::Timestamp {
            seconds: 253_402_300_799, // 9999-12-31T23:59:59Z, past the library's range
            nanos: 0,
        }),
    ] {
        expect_field(
            "out of range",
            decision.check(question(refused)).await,
            "at",
        );
    }
    for accepted in [
        instant("0001-01-01T00:00:00Z"),
        instant("9998-12-31T23:59:59Z"),
    ] {
        decision
            .check(question(accepted))
            .await
            .expect("inside the years 1 to 9998");
    }
}

/// Bytes as they are: the request body a broken or hostile client sends.
#[derive(Clone, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl tonic::codec::Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        buffer: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        buffer.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        buffer: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        Ok(Some(buffer.copy_to_bytes(buffer.remaining()).to_vec()))
    }
}

/// Every RPC of purposed's own services, as `/package.Service/Method`.
fn every_rpc() -> Vec<String> {
    use prost::Message;
    let set = prost_types::FileDescriptorSet::decode(purposed::proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    set.file
        .iter()
        .flat_map(|file| {
            file.service.iter().flat_map(move |service| {
                service.method.iter().map(move |method| {
                    format!("/{}.{}/{}", file.package(), service.name(), method.name())
                })
            })
        })
        .collect()
}

async fn raw_call(
    channel: tonic::transport::Channel,
    path: &str,
    body: Vec<u8>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::try_from(path).expect("path");
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(drop)
}

#[tokio::test]
async fn undecodable_messages_are_invalid_arguments_on_every_rpc() {
    let app = crate::support::spawn_with(|settings| {
        settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
        settings.bench_noop = true;
    })
    .await;
    let rpcs = every_rpc();
    // 29 of the product and the benchmark's Noop.
    assert_eq!(rpcs.len(), 30, "{rpcs:?}");
    let garbage: [(&str, Vec<u8>); 3] = [
        ("invalid UTF-8 in a string", vec![0x0a, 0x02, 0xff, 0xfe]),
        ("a length past the end", vec![0x0a, 0x05, b'a']),
        ("a wrong wire type", vec![0x0d, 1, 2, 3, 4]),
    ];
    for rpc in &rpcs {
        for (what, body) in &garbage {
            let status = raw_call(app.channel.clone(), rpc, body.clone())
                .await
                .expect_err(what);
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{rpc}, {what}: {status:?}"
            );
        }
    }
    let scraped = crate::support::scrape(app.metrics_address.expect("metrics")).await;
    let series: Vec<&str> = scraped
        .lines()
        .filter(|line| line.starts_with("purposed_rpc_requests_total{"))
        .collect();
    assert!(
        !series.iter().any(|line| line.contains("code=\"INTERNAL\"")),
        "{series:#?}"
    );
    for rpc in &rpcs {
        let counted = series
            .iter()
            .find(|line| {
                line.contains(&format!("method=\"{rpc}\""))
                    && line.contains("code=\"INVALID_ARGUMENT\"")
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok());
        assert_eq!(counted, Some(garbage.len() as f64), "{rpc}: {series:#?}");
    }
}

#[tokio::test]
async fn oversized_headers_get_a_grpc_status() {
    let app = fan().await;
    let mut decision = app.decision();
    let question = || proto::CheckRequest {
        organisation: "fan".into(),
        purpose: "service".into(),
        category: "user.contact.email".into(),
        recipient: "p0".into(),
        ..Default::default()
    };
    // Within the limit: answered.
    let mut request = tonic::Request::new(question());
    request.metadata_mut().insert(
        "x-trace-context",
        "a".repeat(8 * 1024).parse().expect("ascii"),
    );
    decision.check(request).await.expect("8 KiB of headers");
    // Past it, up to what HTTP/2 takes: RESOURCE_EXHAUSTED naming the limit.
    for size in [17 * 1024, 200 * 1024] {
        let mut request = tonic::Request::new(question());
        request
            .metadata_mut()
            .insert("x-claim", "a".repeat(size).parse().expect("ascii"));
        let status = decision.check(request).await.expect_err("too large");
        assert_eq!(status.code(), Code::ResourceExhausted, "{size}: {status:?}");
        assert!(
            status
                .message()
                .contains(&purposed::grpc::MAX_HEADER_BYTES.to_string()),
            "{status:?}"
        );
    }
    decision
        .check(question())
        .await
        .expect("the connection goes on serving");
}

async fn open_stream(
    app: &TestApp,
) -> Result<tonic::Streaming<proto::WatchRightsEventsResponse>, tonic::Status> {
    app.rights()
        .watch_rights_events(proto::WatchRightsEventsRequest {
            organisation: "fan".into(),
            after_event_id: 0,
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn event_streams_are_limited_and_one_read_feeds_every_watcher() {
    let app = crate::support::spawn_with(|settings| {
        settings.limits.max_event_streams = 20;
        settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    apply(&app, &fan_manifest()).await;
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(open_stream(&app).await.expect("within the limit"));
    }
    let refused = open_stream(&app).await.expect_err("past the limit");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("20"), "{refused:?}");

    let metrics = app.metrics_address.expect("metrics");
    let reads = |text: &str| crate::support::metric(text, "purposed_rights_event_reads_total");
    let before = reads(&crate::support::scrape(metrics).await);
    let mut rights = app.rights();
    for index in 0..5 {
        let request_id = format!("streamed-{index}");
        rights
            .submit_rights_request(submission(
                &request_id,
                RightsRequestType::Access,
                &request_id,
            ))
            .await
            .expect("submit");
    }
    for stream in &mut streams {
        let mut seen = Vec::new();
        while seen.len() < 5 {
            let event = tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
                .await
                .expect("an event within 30 s")
                .expect("stream")
                .expect("open")
                .event
                .expect("event");
            seen.push(event.request_id);
        }
        assert_eq!(
            seen,
            (0..5)
                .map(|index| format!("streamed-{index}"))
                .collect::<Vec<_>>()
        );
    }
    let after = reads(&crate::support::scrape(metrics).await);
    // One read per wake for all 20 watchers; a read per watcher would be 100 or more.
    assert!(
        after - before <= 12.0,
        "{} feed reads for 5 writes",
        after - before
    );

    // A stream closed frees its place, once the server has seen the client go.
    streams.pop();
    let reopened = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            match open_stream(&app).await {
                Ok(stream) => break stream,
                Err(status) if status.code() == Code::ResourceExhausted => {
                    tokio::task::yield_now().await
                }
                Err(status) => panic!("{status:?}"),
            }
        }
    })
    .await
    .expect("the closed stream's place is free within 30 s");
    drop(reopened);
}

/// 146 KB of YAML that names 1,000 categories and 1,000 recipients in each of 20 purposes,
/// through aliases: 20 million questions to a naive comparison.
fn alias_bomb() -> String {
    let mut text = String::from(
        "version: 1\norganisation:\n  id: bomb\n  legal_name: Bomb SIA\n  country: LV\n  role: controller\n  source: s\ncategories:\n",
    );
    for index in 0..1000 {
        text.push_str(&format!(
            "  - {{key: user.c{index}, name: C{index}, source: s}}\n"
        ));
    }
    text.push_str("recipients:\n");
    for index in 0..1000 {
        text.push_str(&format!(
            "  - {{id: r{index}, name: R, kind: processor, locations: [LV], agreements: [{{reference: D, source: s}}], source: s}}\n"
        ));
    }
    text.push_str("purposes:\n");
    let categories: Vec<String> = (0..1000).map(|index| format!("user.c{index}")).collect();
    let recipients: Vec<String> = (0..1000).map(|index| format!("{{id: r{index}}}")).collect();
    for index in 0..20 {
        let (categories, recipients) = if index == 0 {
            (
                format!("&categories [{}]", categories.join(", ")),
                format!("&recipients [{}]", recipients.join(", ")),
            )
        } else {
            ("*categories".to_owned(), "*recipients".to_owned())
        };
        text.push_str(&format!(
            "  - id: p{index}\n    name: P\n    legal_basis: contract\n    categories: {categories}\n    recipients: {recipients}\n    source: s\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_costly_dry_run_is_bounded_and_checks_go_on() {
    use crate::support::{
        TestDatabase,
        process::{Launch, ServerProcess},
    };
    use purposed::proto::{
        decision_service_client::DecisionServiceClient,
        registry_service_client::RegistryServiceClient,
    };
    let database = TestDatabase::create().await;
    let server = ServerProcess::launch(&database.url, Launch::default()).await;
    let channel = server.channel().await;
    let fan = RegistryServiceClient::new(channel.clone())
        .apply_manifest(proto::ApplyManifestRequest {
            manifest: fan_manifest(),
            dry_run: false,
            expected_revision: None,
            effective_from: None,
        })
        .await;
    fan.expect("apply the fan organisation");

    let manifest = alias_bomb();
    assert!(manifest.len() < 200_000, "{} bytes", manifest.len());
    let mut registry = RegistryServiceClient::new(channel.clone());
    let started = std::time::Instant::now();
    let dry_run = tokio::spawn(async move {
        registry
            .apply_manifest(proto::ApplyManifestRequest {
                manifest,
                dry_run: true,
                expected_revision: None,
                effective_from: None,
            })
            .await
    });
    // Checks while the dry run works: each answered, and quickly.
    let mut decision = DecisionServiceClient::new(channel.clone());
    let mut slowest = std::time::Duration::ZERO;
    let mut answered = 0;
    while !dry_run.is_finished() {
        let started = std::time::Instant::now();
        decision
            .check(proto::CheckRequest {
                organisation: "fan".into(),
                purpose: "service".into(),
                category: "user.contact.email".into(),
                recipient: "p0".into(),
                ..Default::default()
            })
            .await
            .expect("a Check during the dry run");
        slowest = slowest.max(started.elapsed());
        answered += 1;
    }
    let answer = dry_run.await.expect("join");
    let took = started.elapsed();
    // The server's own deadline (limits.request_timeout_ms) is 10 s.
    assert!(
        took < std::time::Duration::from_secs(10),
        "answered after {took:?}"
    );
    match answer {
        Ok(response) => {
            let response = response.into_inner();
            assert!(
                response.decision_changes_truncated,
                "the comparison is cut at its limit"
            );
            assert!(!response.decision_changes.is_empty());
        }
        Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
    }
    let peak = server.peak_rss_kib();
    eprintln!(
        "dry run: answered in {took:?}, {answered} Checks meanwhile, slowest {slowest:?}, peak RSS {peak} KiB"
    );
    assert!(answered > 0, "no Check answered while the dry run worked");
    assert!(
        slowest < std::time::Duration::from_millis(100),
        "a Check took {slowest:?}"
    );
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
    assert_eq!(server.panics(), 0);
}

#[tokio::test]
async fn costly_work_stops_at_the_deadline_and_at_shutdown() {
    use crate::support::{
        TestDatabase,
        process::{Launch, ServerProcess},
    };
    use purposed::proto::registry_service_client::RegistryServiceClient;
    let database = TestDatabase::create().await;
    let server = ServerProcess::launch(
        &database.url,
        Launch {
            env: vec![
                ("PURPOSED_LIMITS__REQUEST_TIMEOUT_MS", "50".to_owned()),
                ("PURPOSED_SHUTDOWN_GRACE_SECONDS", "3".to_owned()),
            ],
            ..Launch::default()
        },
    )
    .await;
    let mut registry = RegistryServiceClient::new(server.channel().await);
    let mut manifest = alias_bomb();
    // Five times the purposes: far more than 50 ms of work.
    for index in 20..100 {
        manifest.push_str(&format!(
            "  - id: p{index}\n    name: P\n    legal_basis: contract\n    categories: *categories\n    recipients: *recipients\n    source: s\n"
        ));
    }
    let status = registry
        .apply_manifest(proto::ApplyManifestRequest {
            manifest,
            dry_run: true,
            expected_revision: None,
            effective_from: None,
        })
        .await
        .expect_err("past the 50 ms deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // Nothing keeps working after the call: the process stops within its grace.
    server.terminate();
    let exit = server.wait(std::time::Duration::from_secs(10)).await;
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_read_back_by_the_follower_never_undoes_a_later_write() {
    // Each write notifies this server's own follower (PostgreSQL), which reads the subject
    // back while the next write is under way: a Check right after a write must see it.
    let app = fan().await;
    let mut subjects = app.subjects();
    let mut decision = app.decision();
    let question = || proto::CheckRequest {
        organisation: "fan".into(),
        purpose: "insights".into(),
        category: "user.online".into(),
        recipient: "p0".into(),
        subject: Some("alternating".into()),
        ..Default::default()
    };
    for round in 0..200 {
        let objecting = round % 2 == 0;
        if objecting {
            subjects
                .record_objection(proto::RecordObjectionRequest {
                    organisation: "fan".into(),
                    subject: "alternating".into(),
                    purpose: "insights".into(),
                    ..Default::default()
                })
                .await
                .expect("object");
        } else {
            subjects
                .withdraw_objection(proto::WithdrawObjectionRequest {
                    organisation: "fan".into(),
                    subject: "alternating".into(),
                    purpose: "insights".into(),
                    ..Default::default()
                })
                .await
                .expect("withdraw");
        }
        let answer = decision
            .check(question())
            .await
            .expect("check")
            .into_inner();
        let expected = if objecting {
            proto::Decision::Deny
        } else {
            proto::Decision::Allow
        };
        assert_eq!(answer.decision(), expected, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_watcher_sees_every_event_of_concurrent_writers() {
    let app = fan().await;
    let mut stream = open_stream(&app).await.expect("watch");
    // Eight writers of one organisation at once: their events must reach the watcher in an
    // order it can follow, none passed over.
    let mut writers = JoinSet::new();
    for writer in 0..8 {
        let mut rights = app.rights();
        writers.spawn(async move {
            for index in 0..10 {
                let request_id = format!("watched-{writer}-{index}");
                rights
                    .submit_rights_request(submission(
                        &request_id,
                        RightsRequestType::Access,
                        &request_id,
                    ))
                    .await
                    .expect("submit");
                rights
                    .transition_rights_request(transition(
                        &request_id,
                        RightsRequestStatus::IdentityPending,
                    ))
                    .await
                    .expect("transition");
            }
        });
    }
    writers.join_all().await;
    // Each request wrote two events: its submission and its move.
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 160 {
        let event = tokio::time::timeout(std::time::Duration::from_secs(30), stream.message())
            .await
            .unwrap_or_else(|_| panic!("only {} of 160 events within 30 s", seen.len()))
            .expect("stream")
            .expect("open")
            .event
            .expect("event");
        assert!(seen.insert(event.id), "event {} twice", event.id);
    }
}
