//! The gate every call to purposed's services passes, as the server runs it: a fuzzed
//! HTTP/2 request (path, headers, bearer token: raw, well-formed, signed with the server's
//! secret, or padded past the limits) through `Gate` in front of a service that records
//! whether it was reached, with tokens required or not.
//!
//! Checked besides "no panic": every answer to a gated path carries a gRPC status, and never
//! OUT_OF_RANGE; the service is reached only by a call whose token verifies (when tokens are
//! required) and whose headers are within `MAX_HEADER_BYTES`, and then with the caller
//! attached; a call refused for its headers or token is RESOURCE_EXHAUSTED or
//! UNAUTHENTICATED; health and reflection pass untouched.
#![no_main]

use std::{
    convert::Infallible,
    future::{Ready, ready},
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use purposed::{
    grpc::{Gate, MAX_HEADER_BYTES},
    server::{
        auth::{Authenticator, Caller, TokenKeys},
        config::Access,
        metrics::Metrics,
    },
};
use tonic::{Code, body::Body};
use tower_layer::Layer;
use tower_service::Service;

const SECRET: &[u8] = b"the fuzz target's shared secret, 32+ bytes";
const ISSUER: &str = "https://issuer.fuzz";
const AUDIENCE: &str = "purposed";

const PATHS: [&str; 6] = [
    "/purposed.v1.DecisionService/Check",
    "/purposed.v1.RightsService/WatchRightsEvents",
    "/purposed.v1.RegistryService/ApplyManifest",
    "/grpc.health.v1.Health/Check",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/",
];

fn authenticator() -> Arc<Authenticator> {
    static AUTHENTICATOR: OnceLock<Arc<Authenticator>> = OnceLock::new();
    AUTHENTICATOR
        .get_or_init(|| {
            let keys = TokenKeys {
                hs256_secret: Some(SECRET.to_vec()),
                public_key_pem: None,
            };
            Arc::new(Authenticator::new(&keys, ISSUER, AUDIENCE, 0).expect("fuzz key"))
        })
        .clone()
}

/// The gate as the server builds it, once for each way of running (its metrics persist
/// across inputs, as a server's do across calls).
fn gate(tokens_required: bool) -> &'static Gate {
    static OPEN: OnceLock<Gate> = OnceLock::new();
    static TOKENS: OnceLock<Gate> = OnceLock::new();
    let build = |access| Gate::new(access, 4, Duration::from_secs(5), Arc::new(Metrics::new()));
    if tokens_required {
        TOKENS.get_or_init(|| build(Access::Tokens(authenticator())))
    } else {
        OPEN.get_or_init(|| build(Access::Open))
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    })
}

/// The service behind the gate: answers OK and notes that it was reached, and with whom.
#[derive(Clone)]
struct Behind {
    reached: Arc<AtomicBool>,
    with_caller: Arc<AtomicBool>,
}

impl<B> Service<http::Request<B>> for Behind {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.reached.store(true, Ordering::SeqCst);
        self.with_caller.store(
            request.extensions().get::<Caller>().is_some(),
            Ordering::SeqCst,
        );
        let response = http::Response::builder()
            .header("grpc-status", "0")
            .body(Body::empty())
            .expect("response");
        ready(Ok(response))
    }
}

#[derive(Arbitrary, Debug)]
enum Token {
    Absent,
    /// The authorization header's value as bytes.
    Raw(Vec<u8>),
    /// `Bearer ` and a string.
    Bearer(String),
    /// A token signed with the server's secret, expiring in an hour or an hour ago.
    Signed {
        expired: bool,
        scope: String,
        pad: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    tokens_required: bool,
    path: Result<u8, String>,
    token: Token,
    headers: Vec<(String, Vec<u8>)>,
    /// Bytes of one more header, to cross the limits.
    filler: u32,
}

fn header_bytes(headers: &http::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum()
}

fuzz_target!(|input: Input| {
    let path = match &input.path {
        Ok(index) => PATHS[usize::from(*index) % PATHS.len()].to_owned(),
        Err(path) => path.clone(),
    };
    let Ok(uri) = http::Uri::builder()
        .scheme("http")
        .authority("purposed")
        .path_and_query(path.as_str())
        .build()
    else {
        return;
    };
    let mut request = http::Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/grpc")
        .body(())
        .expect("request");
    let headers = request.headers_mut();
    for (name, value) in &input.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    let filler = (input.filler % (64 * 1024)) as usize;
    if filler > 0 {
        headers.insert(
            "x-filler",
            http::HeaderValue::from_str(&"f".repeat(filler)).expect("ascii"),
        );
    }
    let mut sent_token = None;
    match &input.token {
        Token::Absent => {}
        Token::Raw(bytes) => {
            if let Ok(value) = http::HeaderValue::from_bytes(bytes) {
                headers.insert(http::header::AUTHORIZATION, value);
            }
        }
        Token::Bearer(token) => {
            if let Ok(value) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
                headers.insert(http::header::AUTHORIZATION, value);
                sent_token = Some(token.clone());
            }
        }
        Token::Signed {
            expired,
            scope,
            pad,
        } => {
            let now = jiff::Timestamp::now().as_second();
            let exp = if *expired { now - 3600 } else { now + 3600 };
            let claims = serde_json::json!({
                "iss": ISSUER, "aud": AUDIENCE, "sub": "fuzz", "exp": exp,
                "orgs": ["*"], "scope": scope, "pad": "p".repeat(usize::from(*pad) % 16_384),
            });
            let key = EncodingKey::from_secret(SECRET).expect("secret");
            let token = encode(&Header::new(Algorithm::HS256), &claims, &key).expect("token");
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(&format!("Bearer {token}")).expect("ascii"),
            );
            sent_token = Some(token);
        }
    }
    let size = header_bytes(request.headers());
    let authorization_len = request
        .headers()
        .get(http::header::AUTHORIZATION)
        .map(http::HeaderValue::len);

    let behind = Behind {
        reached: Arc::new(AtomicBool::new(false)),
        with_caller: Arc::new(AtomicBool::new(false)),
    };
    let mut gated = gate(input.tokens_required).layer(behind.clone());
    let response = runtime()
        .block_on(gated.call(request))
        .unwrap_or_else(|never| match never {});
    let reached = behind.reached.load(Ordering::SeqCst);

    let open = path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.");
    if open {
        assert!(reached, "health and reflection pass untouched");
        return;
    }
    let code = response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map(Code::from_i32)
        .expect("every answer of a gated path carries a gRPC status");
    assert_ne!(code, Code::OutOfRange);
    if reached {
        assert!(
            behind.with_caller.load(Ordering::SeqCst),
            "reached without a caller"
        );
        assert!(size <= MAX_HEADER_BYTES, "reached with {size} header bytes");
        if input.tokens_required {
            let token = sent_token.expect("reached without a bearer token");
            assert!(
                authenticator().authenticate(token.trim()).is_ok(),
                "reached with a token that does not verify"
            );
        }
        assert_eq!(code, Code::Ok);
    } else {
        assert!(
            matches!(code, Code::Unauthenticated | Code::ResourceExhausted),
            "{code:?} for a refused call ({size} header bytes, authorization {authorization_len:?})"
        );
    }
});
