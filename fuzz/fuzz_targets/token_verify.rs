//! Bearer-token verification as the gate calls it: `Authenticator::authenticate` with an
//! HS256 secret and an ES256 public key configured, on a raw string (anything a header may
//! carry), or on a token signed with the right secret whose header and claims are fuzzed, so
//! that the claims' checks are reached past the signature.
//!
//! Checked besides "no panic": a raw string that is not a token signed with the secret is
//! refused; a signed token is accepted exactly when its issuer, audience, subject and expiry
//! hold and it is not valid only later; an accepted caller acts for exactly the
//! organisations its `orgs` name (all for "*") and holds exactly the scopes its `scope`
//! names; asking twice (the second from the cache) answers the same; no refusal repeats the
//! token.
#![no_main]

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use libfuzzer_sys::{arbitrary::Arbitrary, fuzz_target};
use purposed::server::auth::{Authenticator, Scope, TokenKeys};

const SECRET: &[u8] = b"the fuzz target's shared secret, 32+ bytes";
const ISSUER: &str = "https://issuer.fuzz";
const AUDIENCE: &str = "purposed";
/// A P-256 public key whose private half is not kept: ES256 tokens reach the EC code and
/// never verify.
const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5xXIazLV9MUA3TEA6OcwlPU1YHDj
xIkko6EEkrVK7SLwnxKTuHTLT2eFd9deR6BaCjnxT80ntIng5NXvYoHQHw==
-----END PUBLIC KEY-----
";

fn authenticator() -> &'static Authenticator {
    static AUTHENTICATOR: OnceLock<Authenticator> = OnceLock::new();
    AUTHENTICATOR.get_or_init(|| {
        let keys = TokenKeys {
            hs256_secret: Some(SECRET.to_vec()),
            public_key_pem: Some(EC_PUBLIC.as_bytes().to_vec()),
        };
        Authenticator::new(&keys, ISSUER, AUDIENCE, 0).expect("the fuzz keys are valid")
    })
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Signed(Claims),
}

/// Offsets from now, far from the boundaries so that the run's own time cannot decide.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum When {
    Absent,
    HourAgo,
    InAnHour,
    Huge(i64),
}

impl When {
    fn at(self, now: i64) -> Option<serde_json::Value> {
        match self {
            When::Absent => None,
            When::HourAgo => Some((now - 3600).into()),
            When::InAnHour => Some((now + 3600).into()),
            When::Huge(value) => Some(value.into()),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Claims {
    right_issuer: bool,
    right_audience: bool,
    audience_as_list: bool,
    subject: Option<String>,
    exp: When,
    nbf: When,
    orgs: Vec<String>,
    scope: String,
    extra: Option<(String, String)>,
    kid: Option<String>,
}

fuzz_target!(|input: Input| {
    let authenticator = authenticator();
    match input {
        Input::Raw(token) => {
            if let Err(error) = authenticator.authenticate(&token) {
                let message = error.to_string();
                // Every refusal is one of a few fixed sentences, none longer than 80
                // characters: a longer token inside one would be the token repeated.
                assert!(
                    token.len() <= 80 || !message.contains(&token),
                    "the refusal repeats the token: {message}"
                );
                assert!(message.len() <= 80, "{message}");
            }
        }
        Input::Signed(claims) => signed(authenticator, claims),
    }
});

fn signed(authenticator: &Authenticator, claims: Claims) {
    let now = jiff::Timestamp::now().as_second();
    let mut body = serde_json::Map::new();
    // Another claim, never one the checks read (those are set below).
    if let Some((key, value)) = &claims.extra
        && !["iss", "aud", "sub", "exp", "nbf", "orgs", "scope"].contains(&key.as_str())
    {
        body.insert(key.clone(), value.clone().into());
    }
    let issuer = if claims.right_issuer {
        ISSUER
    } else {
        "https://elsewhere"
    };
    body.insert("iss".into(), issuer.into());
    let audience = if claims.right_audience {
        AUDIENCE
    } else {
        "another"
    };
    body.insert(
        "aud".into(),
        if claims.audience_as_list {
            serde_json::json!([audience])
        } else {
            audience.into()
        },
    );
    if let Some(subject) = &claims.subject {
        body.insert("sub".into(), subject.clone().into());
    }
    if let Some(exp) = claims.exp.at(now) {
        body.insert("exp".into(), exp);
    }
    if let Some(nbf) = claims.nbf.at(now) {
        body.insert("nbf".into(), nbf);
    }
    body.insert("orgs".into(), claims.orgs.clone().into());
    body.insert("scope".into(), claims.scope.clone().into());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = claims.kid.clone();
    let key = EncodingKey::from_secret(SECRET).expect("secret");
    let Ok(token) = encode(&header, &body, &key) else {
        return;
    };
    let answer = authenticator.authenticate(&token);
    // A NumericDate before 1970 is refused outright (the token library reads them unsigned):
    // refusing is the safe side.
    let negative = matches!(claims.exp, When::Huge(exp) if exp < 0)
        || matches!(claims.nbf, When::Huge(nbf) if nbf < 0);
    let expected = claims.right_issuer
        && claims.right_audience
        && claims.subject.is_some()
        && !negative
        && match claims.exp {
            When::Absent | When::HourAgo => false,
            When::InAnHour => true,
            When::Huge(exp) => exp > now + 60,
        }
        && match claims.nbf {
            When::Absent | When::HourAgo => true,
            When::InAnHour => false,
            When::Huge(nbf) => nbf < now - 60,
        };
    let boundary = matches!(claims.exp, When::Huge(exp) if exp.abs_diff(now) <= 60)
        || matches!(claims.nbf, When::Huge(nbf) if nbf.abs_diff(now) <= 60);
    if boundary {
        return;
    }
    assert_eq!(answer.is_ok(), expected, "{claims:?}: {answer:?}");
    let again = authenticator.authenticate(&token);
    assert_eq!(answer.is_ok(), again.is_ok(), "the cache answers otherwise");
    let Ok(caller) = answer else { return };
    assert_eq!(Some(caller.name()), claims.subject.as_deref());
    let all = claims.orgs.iter().any(|organisation| organisation == "*");
    for organisation in &claims.orgs {
        assert!(caller.may_act_for(organisation), "{organisation:?}");
    }
    let unnamed = "an-organisation-no-token-names";
    assert_eq!(
        caller.may_act_for(unnamed),
        all || claims
            .orgs
            .iter()
            .any(|organisation| organisation == unnamed)
    );
    let words: Vec<&str> = claims.scope.split_ascii_whitespace().collect();
    for scope in Scope::ALL {
        assert_eq!(
            caller.has_scope(scope),
            words.contains(&scope.as_str()),
            "{scope:?}"
        );
    }
}
