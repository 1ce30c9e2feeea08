//! What authenticating a call costs: a bearer token verified from scratch (HS256, ES256) and
//! one remembered from an earlier call (what every call after a service's first pays).
//!
//!     cargo bench -p purposed-bench --bench auth

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use purposed::server::auth::{Authenticator, TokenKeys};

const SECRET: &[u8] = b"a shared secret of at least 32 bytes, for the benchmark";

fn claims(sub: &str) -> serde_json::Value {
    serde_json::json!({
        "iss": "https://id.bench", "aud": "purposed", "sub": sub,
        "exp": jiff::Timestamp::now().as_second() + 3600,
        "orgs": ["peero", "apollo"], "scope": "decide subjects",
    })
}

fn tokens(criterion: &mut Criterion) {
    let pair = rcgen::KeyPair::generate().expect("P-256 key");
    let keys = TokenKeys {
        hs256_secret: Some(SECRET.to_vec()),
        public_key_pem: Some(pair.public_key_pem().into_bytes()),
    };
    let authenticator =
        Authenticator::new(&keys, "https://id.bench", "purposed", 0).expect("authenticator");
    let hs256_key = EncodingKey::from_secret(SECRET).expect("key");
    let es256_key = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).expect("key");

    // A fresh `sub` per token: each one is new to the cache and verified in full. The cache
    // empties itself when full, so it never stops verifying.
    let mut fresh = 0_u64;
    let mut group = criterion.benchmark_group("authenticate");
    group.bench_function("hs256 verified", |bencher| {
        bencher.iter_batched(
            || {
                fresh += 1;
                encode(
                    &Header::new(Algorithm::HS256),
                    &claims(&fresh.to_string()),
                    &hs256_key,
                )
                .expect("token")
            },
            |token| authenticator.authenticate(&token).expect("valid"),
            criterion::BatchSize::SmallInput,
        )
    });
    group.bench_function("es256 verified", |bencher| {
        bencher.iter_batched(
            || {
                fresh += 1;
                encode(
                    &Header::new(Algorithm::ES256),
                    &claims(&fresh.to_string()),
                    &es256_key,
                )
                .expect("token")
            },
            |token| authenticator.authenticate(&token).expect("valid"),
            criterion::BatchSize::SmallInput,
        )
    });
    let remembered = encode(
        &Header::new(Algorithm::ES256),
        &claims("service"),
        &es256_key,
    )
    .expect("token");
    authenticator.authenticate(&remembered).expect("valid");
    group.bench_function("remembered", |bencher| {
        bencher.iter(|| authenticator.authenticate(&remembered).expect("valid"))
    });
    group.finish();
}

criterion_group!(benches, tokens);
criterion_main!(benches);
