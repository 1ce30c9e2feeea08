//! Crash durability: clients submit rights requests while the server binary is killed with
//! SIGKILL, again and again. Every request a client saw acknowledged must be there after
//! the restarts, exactly once; a request whose answer was lost is retried under the same id
//! and must not be duplicated.

use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use purposed::proto::{
    GetRightsRequestRequest, ListRightsRequestsRequest, RightsEventKind, RightsRequestType,
    SubmitRightsRequestRequest, rights_service_client::RightsServiceClient,
};
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

use crate::support::{TestDatabase, process::ServerProcess};

const CLIENTS: usize = 4;
const KILLS: usize = 3;
/// Acknowledgements to wait for before each kill, so that each one lands mid-stream.
const ACKNOWLEDGED_PER_LIFE: usize = 25;
const ORGANISATION: &str = "pro-balances";

fn submission(client: usize, sequence: usize) -> SubmitRightsRequestRequest {
    // Access requests stay open; withdrawals of consent complete at once and so write the
    // consent ledger, the request and its events in one transaction.
    let kind = if sequence.is_multiple_of(3) {
        RightsRequestType::WithdrawConsent
    } else {
        RightsRequestType::Access
    };
    SubmitRightsRequestRequest {
        organisation: ORGANISATION.into(),
        request_id: format!("crash-{client}-{sequence}"),
        r#type: kind.into(),
        subject: format!("crash-subject-{client}-{sequence}"),
        actor: "durability test".into(),
        ..SubmitRightsRequestRequest::default()
    }
}

fn client_of(address: SocketAddr) -> RightsServiceClient<Channel> {
    let endpoint = Endpoint::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(10));
    RightsServiceClient::new(endpoint.connect_lazy())
}

/// One client: submits requests one after another; when a call fails (the server died under
/// it) it waits for the next server and retries the same request id.
async fn client(
    index: usize,
    mut server: watch::Receiver<Option<SocketAddr>>,
    acknowledged: Arc<Mutex<BTreeMap<String, bool>>>,
    progress: watch::Sender<usize>,
    stop: watch::Receiver<bool>,
) -> usize {
    let mut retries = 0;
    let mut sequence = 0;
    let mut connected: Option<(SocketAddr, RightsServiceClient<Channel>)> = None;
    loop {
        if *stop.borrow() {
            return retries;
        }
        let Some(address) = *server.borrow_and_update() else {
            server.changed().await.expect("the test holds the sender");
            continue;
        };
        let rights = match &mut connected {
            Some((at, rights)) if *at == address => rights,
            _ => &mut connected.insert((address, client_of(address))).1,
        };
        match rights
            .submit_rights_request(submission(index, sequence))
            .await
        {
            Ok(answer) => {
                let request_id = format!("crash-{index}-{sequence}");
                acknowledged
                    .lock()
                    .expect("acknowledged")
                    .insert(request_id, answer.get_ref().created);
                progress.send_modify(|count| *count += 1);
                sequence += 1;
            }
            Err(_) => {
                // The server is gone or going; the request may or may not have been stored.
                // Retry it, under the same id, on the next server.
                retries += 1;
                let _ = tokio::time::timeout(Duration::from_secs(2), server.changed()).await;
            }
        }
    }
}

async fn kill_mid_stream_and_count(database: &TestDatabase) {
    let (server_tx, server_rx) = watch::channel(None::<SocketAddr>);
    let (progress_tx, mut progress_rx) = watch::channel(0_usize);
    let (stop_tx, stop_rx) = watch::channel(false);
    let acknowledged = Arc::new(Mutex::new(BTreeMap::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| {
            tokio::spawn(client(
                index,
                server_rx.clone(),
                acknowledged.clone(),
                progress_tx.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();

    for _ in 0..KILLS {
        let server = ServerProcess::start(&database.url).await;
        let before = *progress_rx.borrow_and_update();
        server_tx.send_replace(Some(server.address));
        progress_rx
            .wait_for(|count| *count >= before + ACKNOWLEDGED_PER_LIFE)
            .await
            .expect("clients report progress");
        // The clients are still submitting: the kill lands between, or inside, their calls.
        server_tx.send_replace(None);
        server.kill().await;
    }

    // A last life in which every client gets its pending request through.
    let server = ServerProcess::start(&database.url).await;
    let before = *progress_rx.borrow_and_update();
    server_tx.send_replace(Some(server.address));
    progress_rx
        .wait_for(|count| *count >= before + CLIENTS * 2)
        .await
        .expect("clients report progress");
    stop_tx.send_replace(true);
    let mut retries = 0;
    for client in clients {
        retries += client.await.expect("client task");
    }

    let acknowledged = acknowledged.lock().expect("acknowledged").clone();
    assert!(
        acknowledged.len() >= KILLS * ACKNOWLEDGED_PER_LIFE,
        "only {} acknowledged",
        acknowledged.len()
    );
    // A retry answered "not created" is a request stored by a server killed before it could
    // answer: the case the same-id retry exists for.
    let stored_before_the_kill = acknowledged.values().filter(|created| !**created).count();
    eprintln!(
        "durability: {} requests acknowledged over {KILLS} kills; {retries} calls cut off and \
         retried, {stored_before_the_kill} of them had been stored before the kill",
        acknowledged.len()
    );

    // Everything stored, read back from a server that has just restarted once more.
    server.kill().await;
    let server = ServerProcess::start(&database.url).await;
    let mut rights = client_of(server.address);
    let mut stored = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = rights
            .list_rights_requests(ListRightsRequestsRequest {
                organisation: ORGANISATION.into(),
                page_size: 1000,
                page_token: page_token.clone(),
                ..ListRightsRequestsRequest::default()
            })
            .await
            .expect("list")
            .into_inner();
        stored.extend(page.requests.into_iter().map(|request| request.request_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let distinct: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(distinct.len(), stored.len(), "a request id is stored twice");
    let expected: BTreeSet<&String> = acknowledged.keys().collect();
    // Clients retry until acknowledged, so nothing unacknowledged can be left behind either.
    assert_eq!(
        distinct, expected,
        "stored requests differ from the acknowledged ones"
    );

    for (request_id, _) in acknowledged.iter().step_by(7) {
        let request = rights
            .get_rights_request(GetRightsRequestRequest {
                organisation: ORGANISATION.into(),
                request_id: request_id.clone(),
            })
            .await
            .expect("get")
            .into_inner()
            .request
            .expect("the request");
        let submitted = request
            .events
            .iter()
            .filter(|event| event.kind() == RightsEventKind::Submitted)
            .count();
        assert_eq!(
            submitted, 1,
            "{request_id}: {submitted} submissions recorded"
        );
    }

    // Every acknowledged request submitted again: recognised, nothing created.
    for request_id in acknowledged.keys() {
        let (client, sequence) = request_id
            .strip_prefix("crash-")
            .and_then(|rest| rest.split_once('-'))
            .expect("crash-CLIENT-SEQUENCE");
        let again = rights
            .submit_rights_request(submission(
                client.parse().expect("client"),
                sequence.parse().expect("sequence"),
            ))
            .await
            .expect("resubmit")
            .into_inner();
        assert!(!again.created, "{request_id} was created twice");
    }
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_rights_requests_survive_sigkill_exactly_once() {
    let database = TestDatabase::create().await;
    kill_mid_stream_and_count(&database).await;
}
