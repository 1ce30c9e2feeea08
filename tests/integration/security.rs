//! Authentication, tenancy, limits, TLS and metrics, each against a real server: bearer
//! tokens (HS256 and ES256) checked for signature, issuer, audience and expiry; calls for
//! another organisation refused alike whether or not it exists; oversized messages, too many
//! calls at once and calls past the deadline refused with their codes; mutual TLS; and a
//! metrics endpoint that counts without naming subjects or organisations.

use std::{sync::Arc, time::Duration};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use purposed::{
    proto::{
        ApplyManifestRequest, BatchCheckRequest, CheckRequest, ConsentAction,
        GetRightsRequestRequest, ListOrganisationsRequest, ListRevisionsRequest,
        RecordConsentRequest, decision_service_client::DecisionServiceClient,
        registry_service_client::RegistryServiceClient, rights_service_client::RightsServiceClient,
        subject_service_client::SubjectServiceClient,
    },
    server::{
        auth::{Authenticator, TokenKeys},
        config::{Access, TlsFiles},
        startup::Application,
    },
};
use serde_json::json;
use tonic::{
    Code, Request,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{
    decision::question,
    support::{TestApp, TestDatabase, metric, scrape, settings, spawn_with},
};

const SECRET: &[u8] = b"a shared secret of at least 32 bytes, for tests";
const ISSUER: &str = "https://id.example.test";
const AUDIENCE: &str = "purposed";

/// A key pair for ES256 tokens, made fresh for each test.
struct EcKeys {
    private_pem: String,
    public_pem: String,
}

fn ec_keys() -> EcKeys {
    let pair = rcgen::KeyPair::generate().expect("P-256 key");
    EcKeys {
        private_pem: pair.serialize_pem(),
        public_pem: pair.public_key_pem(),
    }
}

fn authenticator(ec: &EcKeys) -> Access {
    let keys = TokenKeys {
        hs256_secret: Some(SECRET.to_vec()),
        public_key_pem: Some(ec.public_pem.clone().into_bytes()),
    };
    Access::Tokens(Arc::new(
        Authenticator::new(&keys, ISSUER, AUDIENCE, 0).expect("authenticator"),
    ))
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn claims(orgs: &[&str], scope: &str) -> serde_json::Value {
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "test-service",
        "exp": now() + 600, "orgs": orgs, "scope": scope,
    })
}

fn hs256(claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET).expect("key"),
    )
    .expect("token")
}

fn es256(claims: &serde_json::Value, ec: &EcKeys) -> String {
    encode(
        &Header::new(Algorithm::ES256),
        claims,
        &EncodingKey::from_ec_pem(ec.private_pem.as_bytes()).expect("EC key"),
    )
    .expect("token")
}

/// Sends `authorization: Bearer <token>` with every call (or nothing).
#[derive(Clone)]
struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        if let Some(header) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", header.clone());
        }
        Ok(request)
    }
}

fn with_token(app: &TestApp, token: Option<String>) -> InterceptedService<Channel, Bearer> {
    let header = token
        .map(|token| MetadataValue::try_from(format!("Bearer {token}")).expect("ASCII header"));
    InterceptedService::new(app.channel.clone(), Bearer(header))
}

fn peero_question() -> CheckRequest {
    question("peero", "service-delivery", "contact-data", "hetzner")
}

/// A well-formed consent, so that only the caller's rights can refuse it.
fn consent_at(organisation: &str) -> RecordConsentRequest {
    RecordConsentRequest {
        organisation: organisation.into(),
        subject: "someone".into(),
        purpose: "newsletter".into(),
        action: ConsentAction::Grant as i32,
        notice_version: "v1".into(),
        ..Default::default()
    }
}

async fn secured_demo(ec: &EcKeys) -> TestApp {
    let access = authenticator(ec);
    spawn_with(move |settings| {
        settings.demo = true;
        settings.access = access;
    })
    .await
}

#[tokio::test]
async fn calls_without_a_good_token_are_unauthenticated() {
    let ec = ec_keys();
    let app = secured_demo(&ec).await;
    let good = claims(&["peero"], "decide");
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 3600);
    let mut wrong_audience = good.clone();
    wrong_audience["aud"] = json!("someone-else");
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example");
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(b"not the server's secret, but just as long").expect("key"),
    )
    .expect("token");
    let cases = [
        ("no token", None, "no bearer token"),
        ("malformed", Some("not.a.jwt".to_owned()), "malformed"),
        ("expired", Some(hs256(&expired)), "expired"),
        ("wrong audience", Some(hs256(&wrong_audience)), "audience"),
        ("wrong issuer", Some(hs256(&wrong_issuer)), "issuer"),
        ("bad signature", Some(forged), "signature"),
    ];
    for (case, token, words) in cases {
        let status = DecisionServiceClient::new(with_token(&app, token.clone()))
            .check(peero_question())
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::Unauthenticated, "{case}: {status:?}");
        assert!(
            status.message().contains(words),
            "{case}: {}",
            status.message()
        );
        if let Some(token) = &token {
            assert!(
                !status.message().contains(token.as_str()),
                "{case}: token echoed"
            );
        }
        // Other services are behind the same gate.
        let status = RegistryServiceClient::new(with_token(&app, token))
            .list_organisations(ListOrganisationsRequest::default())
            .await
            .expect_err(case);
        assert_eq!(status.code(), Code::Unauthenticated, "{case}");
    }

    // Health stays open for the orchestrator's probes.
    let health = app
        .health()
        .check(HealthCheckRequest::default())
        .await
        .expect("health without a token")
        .into_inner();
    assert_eq!(health.status, ServingStatus::Serving as i32);

    // Good tokens of both kinds are accepted.
    for token in [hs256(&good), es256(&good, &ec)] {
        let answer = DecisionServiceClient::new(with_token(&app, Some(token)))
            .check(peero_question())
            .await
            .expect("a good token")
            .into_inner();
        assert!(answer.revision > 0);
    }
}

#[tokio::test]
async fn cross_tenant_calls_are_denied_and_reveal_nothing() {
    let ec = ec_keys();
    let app = secured_demo(&ec).await;
    let peero_only = hs256(&claims(&["peero"], "decide subjects rights registry"));
    let decide = DecisionServiceClient::new(with_token(&app, Some(peero_only.clone())));

    // Another tenant's organisation and one that does not exist: the same refusal.
    let mut refusals = Vec::new();
    for organisation in ["apollo", "no-such-organisation"] {
        let mut asked = peero_question();
        asked.organisation = organisation.into();
        let status = decide.clone().check(asked).await.expect_err(organisation);
        assert_eq!(status.code(), Code::PermissionDenied, "{organisation}");
        refusals.push(status.message().replace(organisation, "<organisation>"));
    }
    assert_eq!(refusals[0], refusals[1], "the refusal reveals existence");

    // One foreign question refuses the whole batch.
    let mut foreign = peero_question();
    foreign.organisation = "apollo".into();
    let status = decide
        .clone()
        .batch_check(BatchCheckRequest {
            checks: vec![peero_question(), foreign],
        })
        .await
        .expect_err("batch with a foreign question");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Every service family checks the organisation it is asked about.
    let status = RightsServiceClient::new(with_token(&app, Some(peero_only.clone())))
        .get_rights_request(GetRightsRequestRequest {
            organisation: "apollo".into(),
            request_id: "anything".into(),
        })
        .await
        .expect_err("another tenant's request");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = SubjectServiceClient::new(with_token(&app, Some(peero_only.clone())))
        .record_consent(consent_at("apollo"))
        .await
        .expect_err("another tenant's subject");
    assert_eq!(status.code(), Code::PermissionDenied);

    // The organisation list shows the caller's own only.
    let listed = RegistryServiceClient::new(with_token(&app, Some(peero_only.clone())))
        .list_organisations(ListOrganisationsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let ids: Vec<_> = listed
        .organisations
        .iter()
        .map(|organisation| organisation.id.as_str())
        .collect();
    assert_eq!(ids, ["peero"]);

    // A manifest for another organisation is refused before anything is stored.
    let changed = crate::support::example("apollo").replacen(
        "\n  legal_name: Apollo Group OÜ",
        "\n  legal_name: Apollo Group OÜ (renamed)",
        1,
    );
    let apply = ApplyManifestRequest {
        manifest: changed,
        dry_run: false,
        expected_revision: None,
        effective_from: None,
    };
    let status = RegistryServiceClient::new(with_token(&app, Some(peero_only)))
        .apply_manifest(apply.clone())
        .await
        .expect_err("apply for another tenant");
    assert_eq!(status.code(), Code::PermissionDenied);
    let admin = hs256(&claims(&["*"], "registry"));
    let mut registry = RegistryServiceClient::new(with_token(&app, Some(admin)));
    let revisions = registry
        .list_revisions(ListRevisionsRequest {
            organisation: "apollo".into(),
            ..Default::default()
        })
        .await
        .expect("revisions")
        .into_inner();
    assert_eq!(revisions.revisions.len(), 1, "nothing was applied");
    // The same manifest is a real change for a caller allowed to make it.
    let applied = registry
        .apply_manifest(apply)
        .await
        .expect("admin apply")
        .into_inner();
    assert!(applied.changed && applied.revision == 2, "{applied:?}");

    // A scope the token lacks is refused for the caller's own organisation too.
    let decide_only = hs256(&claims(&["peero"], "decide"));
    let status = SubjectServiceClient::new(with_token(&app, Some(decide_only)))
        .record_consent(consent_at("peero"))
        .await
        .expect_err("no subjects scope");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(
        status.message().contains("subjects"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn an_oversized_message_is_resource_exhausted_and_the_server_goes_on() {
    let app = spawn_with(|settings| {
        settings.demo = true;
        settings.max_message_bytes = 64 * 1024;
    })
    .await;
    let mut oversized = peero_question();
    oversized.subject = Some("x".repeat(100 * 1024));
    let status = app.decision().check(oversized).await.expect_err("too big");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    app.decision()
        .check(peero_question())
        .await
        .expect("a normal call after the refusal");
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed() {
    let app = spawn_with(|settings| {
        settings.demo = true;
        settings.max_concurrent_requests = 1;
        settings.limits.min_revision_wait = Duration::from_secs(3);
    })
    .await;
    // A Check waiting for a revision that never comes holds the only permit for 3 s.
    let mut waiting = peero_question();
    waiting.min_revision = Some(1_000);
    let mut holder = app.decision();
    let held = tokio::spawn(async move { holder.check(waiting).await });
    let mut shed = None;
    while !held.is_finished() {
        match app
            .registry()
            .list_organisations(ListOrganisationsRequest::default())
            .await
        {
            Err(status) if status.code() == Code::Unavailable => {
                shed = Some(status);
                break;
            }
            // Admitted before the holder took the permit.
            _ => tokio::task::yield_now().await,
        }
    }
    let shed = shed.expect("a call was shed while the permit was held");
    assert!(shed.message().contains("limit"), "{}", shed.message());
    let held = held
        .await
        .expect("join")
        .expect_err("min_revision never came");
    assert_eq!(held.code(), Code::Unavailable);
    assert!(held.message().contains("revision"), "{}", held.message());
    app.registry()
        .list_organisations(ListOrganisationsRequest::default())
        .await
        .expect("admitted once the permit is back");
}

#[tokio::test]
async fn a_call_past_the_server_deadline_is_deadline_exceeded() {
    let app = spawn_with(|settings| {
        settings.demo = true;
        settings.request_timeout = Duration::from_millis(200);
        settings.limits.min_revision_wait = Duration::from_secs(30);
    })
    .await;
    let mut waiting = peero_question();
    waiting.min_revision = Some(1_000);
    let status = app.decision().check(waiting).await.expect_err("too slow");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
}

struct Pki {
    ca_pem: String,
    server: (String, String),
    client: (String, String),
}

fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("CA");
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &ca)
            .expect("signed");
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca_pem: ca.pem(),
        server: leaf(vec!["localhost".into()]),
        client: leaf(vec!["billing.client".into()]),
    }
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_the_ca_signed() {
    let pki = pki();
    let database = TestDatabase::create().await;
    let mut configured = settings(&database.url);
    configured.demo = true;
    configured.tls = Some(TlsFiles {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: Some(pki.ca_pem.clone().into_bytes()),
    });
    configured.health_listen = Some("127.0.0.1:0".parse().expect("address"));
    let application = Application::build(configured).await.expect("bind");
    let port = application.port();
    let health_address = application.health_address().expect("health port");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let endpoint = |identity: Option<Identity>| {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca_pem))
            .domain_name("localhost");
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
            .expect("uri")
            .tls_config(tls)
            .expect("client TLS")
            .connect_timeout(Duration::from_secs(5))
    };

    // Without a client certificate the handshake fails: no call reaches purposed.
    let refused = match endpoint(None).connect().await {
        Err(_) => true,
        Ok(channel) => tonic_health::pb::health_client::HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate got through");

    // With one the CA signed, calls go through (and wait for readiness first).
    let channel = endpoint(Some(Identity::from_pem(&pki.client.0, &pki.client.1)))
        .connect()
        .await
        .expect("mutual TLS handshake");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone())
        .watch(HealthCheckRequest::default())
        .await
        .expect("watch")
        .into_inner();
    while let Some(update) = health.message().await.expect("health") {
        if update.status == ServingStatus::Serving as i32 {
            break;
        }
    }
    let answer = DecisionServiceClient::new(channel)
        .check(peero_question())
        .await
        .expect("check over mutual TLS")
        .into_inner();
    assert!(answer.revision > 0);

    // The orchestrator's probes, which speak no TLS, have a plaintext port of health alone.
    let plain = Channel::from_shared(format!("http://{health_address}"))
        .expect("uri")
        .connect()
        .await
        .expect("plaintext health port");
    let probed = tonic_health::pb::health_client::HealthClient::new(plain.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("plaintext probe")
        .into_inner();
    assert_eq!(probed.status, ServingStatus::Serving as i32);
    let status = DecisionServiceClient::new(plain)
        .check(peero_question())
        .await
        .expect_err("only health on the plaintext port");
    assert_eq!(status.code(), Code::Unimplemented);
    drop(health);
    let _ = stop.send(());
    server.await.expect("join").expect("clean stop");
}

#[tokio::test]
async fn metrics_count_calls_and_decisions_without_naming_anyone() {
    let app = spawn_with(|settings| {
        settings.demo = true;
        settings.metrics_listen = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let metrics_address = app.metrics_address.expect("metrics bound");

    let subject = "subject-identifier-that-must-not-leak";
    for _ in 0..3 {
        let mut asked = peero_question();
        asked.subject = Some(subject.into());
        app.decision().check(asked).await.expect("check");
    }
    let mut unknown = peero_question();
    unknown.purpose = String::new();
    app.decision().check(unknown).await.expect_err("invalid");

    let text = scrape(metrics_address).await;
    assert_eq!(
        metric(
            &text,
            r#"purposed_rpc_requests_total{method="/purposed.v1.DecisionService/Check",code="OK"}"#
        ),
        3.0
    );
    assert_eq!(
        metric(
            &text,
            r#"purposed_rpc_requests_total{method="/purposed.v1.DecisionService/Check",code="INVALID_ARGUMENT"}"#
        ),
        1.0
    );
    assert!(
        text.contains(r#"purposed_rpc_duration_seconds_bucket{le="#)
            || text.contains(r#"purposed_rpc_duration_seconds_bucket{method="#),
        "{text}"
    );
    assert!(text.contains("purposed_decisions_total{outcome="), "{text}");
    assert_eq!(metric(&text, "purposed_index_organisations"), 5.0);
    assert!(metric(&text, "purposed_index_revision") >= 5.0);
    assert!(metric(&text, "purposed_index_compile_seconds") >= 0.0);
    assert_eq!(metric(&text, "purposed_rights_requests_overdue"), 0.0);
    assert_eq!(metric(&text, "purposed_database_up"), 1.0);
    assert!(
        !text.contains(subject),
        "a subject identifier in the metrics"
    );
    for organisation in ["peero", "apollo", "sendberry", "capturi", "pro-balances"] {
        assert!(
            !text.contains(organisation),
            "{organisation} named in the metrics"
        );
    }
}

#[tokio::test]
async fn a_token_past_the_header_limit_is_unauthenticated() {
    let ec = ec_keys();
    let app = secured_demo(&ec).await;
    let mut padded = claims(&["peero"], "decide");
    padded["pad"] = serde_json::Value::String("x".repeat(12 * 1024));
    let status = DecisionServiceClient::new(with_token(&app, Some(hs256(&padded))))
        .check(peero_question())
        .await
        .expect_err("a 12 KB claim");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status
            .message()
            .contains(&purposed::grpc::MAX_TOKEN_BYTES.to_string()),
        "{status:?}"
    );
    DecisionServiceClient::new(with_token(&app, Some(hs256(&claims(&["peero"], "decide")))))
        .check(peero_question())
        .await
        .expect("an ordinary token still works");
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    use purposed::proto::{
        RightsRequestType, SubmitRightsRequestRequest, WatchRightsEventsRequest,
        rights_service_client::RightsServiceClient,
    };
    let ec = ec_keys();
    let app = secured_demo(&ec).await;
    let mut short = claims(&["peero"], "rights");
    short["exp"] = json!(now() + 3);
    let mut stream = RightsServiceClient::new(with_token(&app, Some(hs256(&short))))
        .watch_rights_events(WatchRightsEventsRequest {
            organisation: "peero".into(),
            after_event_id: 0,
        })
        .await
        .expect("a token valid for 3 s opens the stream")
        .into_inner();
    RightsServiceClient::new(with_token(&app, Some(hs256(&claims(&["peero"], "rights")))))
        .submit_rights_request(SubmitRightsRequestRequest {
            organisation: "peero".into(),
            request_id: "before-expiry".into(),
            r#type: RightsRequestType::Access as i32,
            subject: "someone".into(),
            ..Default::default()
        })
        .await
        .expect("submit");
    let first = tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("an event within 30 s")
        .expect("delivered while the token holds")
        .expect("open");
    assert_eq!(first.event.expect("event").request_id, "before-expiry");
    let ended = tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("the stream ends within 30 s")
        .expect_err("ended by the token's expiry");
    assert_eq!(ended.code(), Code::Unauthenticated, "{ended:?}");
    assert!(ended.message().contains("expired"), "{ended:?}");
}
