use purposed::proto::CheckRequest;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

use crate::support::{self, TestDatabase, spawn_app};

async fn status(app: &support::TestApp, service: &str) -> ServingStatus {
    let response = app
        .health()
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health check")
        .into_inner();
    ServingStatus::try_from(response.status).expect("known status")
}

#[tokio::test]
async fn serving_once_loaded_with_every_service_reflected() {
    let app = spawn_app().await;
    for service in [
        "",
        "purposed.v1.DecisionService",
        "purposed.v1.RegistryService",
    ] {
        assert_eq!(
            status(&app, service).await,
            ServingStatus::Serving,
            "{service:?}"
        );
    }

    let mut reflection = ServerReflectionClient::new(app.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("ok");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    for expected in [
        "purposed.v1.DecisionService",
        "purposed.v1.RegistryService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} in {names:?}"
        );
    }
}

#[tokio::test]
async fn not_serving_until_the_database_answers() {
    // Nothing listens on port 1: start-up keeps retrying and the server stays NOT_SERVING.
    let unreachable = "postgres://purposed:secret@127.0.0.1:1/purposed";
    let app = support::start(support::settings(unreachable), TestDatabase::create().await).await;
    assert_eq!(status(&app, "").await, ServingStatus::NotServing);
    assert_eq!(
        status(&app, "purposed.v1.DecisionService").await,
        ServingStatus::NotServing
    );
    let refused = app
        .decision()
        .check(CheckRequest {
            organisation: "peero".into(),
            purpose: "notifications".into(),
            category: "user.contact.email".into(),
            recipient: "onesignal".into(),
            ..Default::default()
        })
        .await
        .expect_err("not ready");
    assert_eq!(refused.code(), Code::Unavailable);
    assert!(
        !refused.message().contains("secret"),
        "no password in messages"
    );
    let (ended, _) = app.stop().await;
    ended.expect("a server that never got ready still stops cleanly");
}

#[tokio::test]
async fn shutdown_is_graceful() {
    let app = spawn_app().await;
    let address = app.address;
    let (ended, _) = app.stop().await;
    ended.expect("clean stop");
    let reconnect = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect()
        .await;
    assert!(reconnect.is_err(), "the port is closed after shutdown");
}

#[tokio::test]
async fn an_open_health_watch_ends_at_shutdown() {
    let app = support::spawn_app().await;
    let mut watch = app
        .health()
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        watch
            .message()
            .await
            .expect("first update")
            .expect("an update")
            .status,
        ServingStatus::Serving as i32
    );
    // The default grace period is 10 s; the watch must end long before it.
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), app.stop()).await;
    let (ended, _) = stopped.expect("stops although a watch stream is open");
    ended.expect("clean stop");
    // The watcher saw NOT_SERVING or the end of the stream, never SERVING again.
    while let Ok(Some(update)) = watch.message().await {
        assert_eq!(update.status, ServingStatus::NotServing as i32);
    }
}
