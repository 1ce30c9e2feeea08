//! The gate every call to purposed's own services passes: it authenticates the caller,
//! admits at most so many calls at once, bounds each call's time, counts and times the
//! answers, and names the message-size refusal RESOURCE_EXHAUSTED. Health and reflection
//! pass untouched, so probes answer whatever the load.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http::{HeaderValue, Request, Response};
use tokio::sync::Semaphore;
use tonic::{Code, Status, body::Body};
use tower_service::Service;

use crate::{
    server::{
        auth::{AuthError, Caller},
        config::Access,
        metrics::Metrics,
    },
    store::actor,
};

/// The most header bytes a call may carry (names, values and HPACK's 32 bytes per field,
/// as HTTP/2 counts them); beyond it, RESOURCE_EXHAUSTED.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The longest bearer token accepted; a longer one is UNAUTHENTICATED unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The header list HTTP/2 accepts at all, so that the gate sees and answers anything up to
/// it in gRPC's terms.
pub const TRANSPORT_HEADER_BYTES: u32 = 256 * 1024;

/// The size of a call's headers as HTTP/2 counts a header list.
fn header_bytes(headers: &http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

struct GateState {
    access: Access,
    permits: Arc<Semaphore>,
    max_concurrent: usize,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

#[derive(Clone)]
pub struct Gate {
    state: Arc<GateState>,
}

impl Gate {
    pub fn new(
        access: Access,
        max_concurrent: usize,
        timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Gate {
        Gate {
            state: Arc::new(GateState {
                access,
                permits: Arc::new(Semaphore::new(max_concurrent)),
                max_concurrent,
                timeout,
                metrics,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for Gate {
    type Service = Gated<S>;

    fn layer(&self, inner: S) -> Gated<S> {
        Gated {
            inner,
            state: self.state.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Gated<S> {
    inner: S,
    state: Arc<GateState>,
}

/// Paths that stay open: the orchestrator's probes and schema discovery carry no data.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

fn refusal(status: Status) -> Response<Body> {
    status.into_http()
}

/// The code of an answer whose status came in its headers (every refusal, every error of a
/// unary call); a call still streaming its body is OK so far.
fn code_of(response: &Response<Body>) -> Code {
    response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from_i32)
}

impl GateState {
    /// The caller, if its token holds and its headers are within the limit (a token too
    /// long is named as such first).
    fn admit<B>(&self, request: &Request<B>, path: &str) -> Result<Caller, Status> {
        let caller = self.authenticate(request).map_err(|error| {
            tracing::info!(method = %path, reason = %error, "call refused: unauthenticated");
            Status::from(error)
        })?;
        let headers = header_bytes(request.headers());
        if headers > MAX_HEADER_BYTES {
            return Err(Status::resource_exhausted(format!(
                "the call's headers are {headers} bytes; at most {MAX_HEADER_BYTES} are accepted"
            )));
        }
        Ok(caller)
    }

    fn authenticate<B>(&self, request: &Request<B>) -> Result<Caller, AuthError> {
        let Access::Tokens(authenticator) = &self.access else {
            return Ok(Caller::anyone());
        };
        let header = request
            .headers()
            .get(http::header::AUTHORIZATION)
            .ok_or_else(|| AuthError::Unauthenticated("no bearer token".to_owned()))?;
        if header.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Unauthenticated(format!(
                "the authorization header is {} bytes; at most {MAX_TOKEN_BYTES} are accepted",
                header.len()
            )));
        }
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .ok_or_else(|| {
                AuthError::Unauthenticated("authorization is not `Bearer <token>`".to_owned())
            })?;
        authenticator.authenticate(token.trim())
    }
}

impl<S, B> Service<Request<B>> for Gated<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone is the fresh one; the one that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let state = self.state.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            if is_open(&path) {
                return inner.call(request).await;
            }
            let started = Instant::now();
            let mut response = match state.admit(&request, &path) {
                Err(refused) => refusal(refused),
                Ok(caller) => match state.permits.clone().try_acquire_owned() {
                    Err(_) => refusal(Status::unavailable(format!(
                        "purposed is at its limit of {} calls at once; retry with backoff",
                        state.max_concurrent
                    ))),
                    Ok(permit) => {
                        // The token's subject is who the audit log says made the change.
                        let actor = caller.actor();
                        request.extensions_mut().insert(caller);
                        let answer = tokio::time::timeout(
                            state.timeout,
                            actor::with_actor(actor, inner.call(request)),
                        )
                        .await;
                        drop(permit);
                        match answer {
                            Ok(answer) => answer?,
                            Err(_) => refusal(Status::deadline_exceeded(format!(
                                "the call ran past the server's limit of {} ms",
                                state.timeout.as_millis()
                            ))),
                        }
                    }
                },
            };
            // purposed's own errors never use OUT_OF_RANGE: tonic answers it for a message
            // over the size limit, which gRPC names RESOURCE_EXHAUSTED.
            let mut code = code_of(&response);
            if code == Code::OutOfRange {
                code = Code::ResourceExhausted;
                response.headers_mut().insert(
                    "grpc-status",
                    HeaderValue::from(Code::ResourceExhausted as i32),
                );
            }
            state.metrics.record_rpc(&path, code, started.elapsed());
            Ok(response)
        })
    }
}
