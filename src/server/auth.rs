//! Who is calling and what they may do: bearer JWTs checked for signature, issuer, audience
//! and expiry, whose claims name the organisations (`orgs`) and the scopes (`scope`) of the
//! caller. Transport-free: the gRPC layer hands over the header's token and gets a
//! [`Caller`] or a refusal.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

/// What a caller may do, one scope per service family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Check, BatchCheck, ListRecipients.
    Decide,
    /// Subject state: consent, objections, restrictions, birth.
    Subjects,
    /// Rights requests and their tasks and events.
    Rights,
    /// Manifests, revisions and the registry's lists.
    Registry,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Decide,
        Scope::Subjects,
        Scope::Rights,
        Scope::Registry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Decide => "decide",
            Scope::Subjects => "subjects",
            Scope::Rights => "rights",
            Scope::Registry => "registry",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// The organisations a caller may act for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Organisations {
    All,
    Only(HashSet<String>),
}

/// An authenticated caller (or, with auth disabled, anyone).
#[derive(Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`, recorded as the actor of the changes the caller makes.
    name: Arc<str>,
    /// Shared: a caller is cloned out of the token cache on every call.
    organisations: Arc<Organisations>,
    scopes: u8,
    /// Unix seconds after which the token that named the caller is refused (its `exp` plus
    /// the leeway); `None` for a server without auth.
    valid_until: Option<i64>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Caller")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a call is refused; the gRPC layer maps these to UNAUTHENTICATED and
/// PERMISSION_DENIED.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthenticated(String),
    /// The same words whether or not the organisation exists.
    #[error("the caller may not {scope} for organisation {organisation:?}")]
    Forbidden {
        scope: &'static str,
        organisation: String,
    },
    #[error("the caller lacks the {} scope", .0.as_str())]
    MissingScope(Scope),
}

impl Caller {
    /// Anyone, for a server running without auth.
    pub fn anyone() -> Caller {
        Caller {
            name: Arc::from("anonymous"),
            organisations: Arc::new(Organisations::All),
            scopes: Scope::ALL.iter().fold(0, |bits, scope| bits | scope.bit()),
            valid_until: None,
        }
    }

    /// When the caller's token stops holding (Unix seconds), for calls that outlive a
    /// moment: streams end then.
    pub fn valid_until(&self) -> Option<i64> {
        self.valid_until
    }

    /// The name, shared, for the audit log's actor.
    pub fn actor(&self) -> Arc<str> {
        self.name.clone()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes & scope.bit() != 0
    }

    pub fn may_act_for(&self, organisation: &str) -> bool {
        match self.organisations.as_ref() {
            Organisations::All => true,
            Organisations::Only(organisations) => organisations.contains(organisation),
        }
    }

    /// Refuses unless the caller holds `scope` for `organisation`.
    pub fn require(&self, scope: Scope, organisation: &str) -> Result<(), AuthError> {
        if !self.has_scope(scope) {
            Err(AuthError::MissingScope(scope))
        } else if !self.may_act_for(organisation) {
            Err(AuthError::Forbidden {
                scope: scope.as_str(),
                organisation: organisation.to_owned(),
            })
        } else {
            Ok(())
        }
    }
}

/// The keys tokens may be signed with, as read from configuration.
pub struct TokenKeys {
    pub hs256_secret: Option<Vec<u8>>,
    pub public_key_pem: Option<Vec<u8>>,
}

/// Verifies bearer tokens. Each algorithm has its own key, so a token cannot choose to be
/// checked with a key meant for another algorithm (an RSA public key used as an HMAC
/// secret, say).
pub struct Authenticator {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
    leeway_seconds: u64,
    /// Tokens already verified, until they expire: a service sends the same token on every
    /// call for minutes, and an ES256 or RS256 verification costs more than a Check.
    verified: Mutex<HashMap<Box<str>, Verified>>,
}

#[derive(Clone)]
struct Verified {
    caller: Caller,
    /// Unix seconds after which the token is refused (its `exp` plus the leeway).
    until: i64,
}

/// Verified tokens kept at most; only tokens that verified are kept, and the cache is
/// emptied when full, so a flood of tokens costs memory once and never grows it.
const VERIFIED_TOKENS: usize = 4096;

impl fmt::Debug for Authenticator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let algorithms: Vec<_> = self.keys.iter().map(|(algorithm, _)| algorithm).collect();
        formatter
            .debug_struct("Authenticator")
            .field("algorithms", &algorithms)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    /// Required (the validation refuses a token without); optional here so that its
    /// absence is reported as such rather than as a malformed token.
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    orgs: Vec<String>,
    #[serde(default)]
    scope: String,
}

/// Shorter secrets can be brute-forced from one token.
const MIN_HS256_SECRET_BYTES: usize = 32;

impl Authenticator {
    /// Errors name the setting at fault.
    pub fn new(
        keys: &TokenKeys,
        issuer: &str,
        audience: &str,
        leeway_seconds: u64,
    ) -> Result<Authenticator, (&'static str, String)> {
        let mut decoding = Vec::new();
        if let Some(secret) = &keys.hs256_secret {
            // A secret file written with `echo` ends in a newline that is not part of it.
            let secret = secret.trim_ascii();
            if secret.len() < MIN_HS256_SECRET_BYTES {
                return Err((
                    "auth.hs256_secret_file",
                    format!("the secret must be at least {MIN_HS256_SECRET_BYTES} bytes"),
                ));
            }
            let key = DecodingKey::from_secret(secret)
                .map_err(|error| ("auth.hs256_secret_file", error.to_string()))?;
            decoding.push((Algorithm::HS256, key));
        }
        if let Some(pem) = &keys.public_key_pem {
            let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
                (Algorithm::RS256, key)
            } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
                (Algorithm::ES256, key)
            } else {
                return Err((
                    "auth.public_key_file",
                    "not a PEM RSA or P-256 EC public key".to_owned(),
                ));
            };
            decoding.push(key);
        }
        if decoding.is_empty() {
            return Err(("auth", "no token key configured".to_owned()));
        }
        Ok(Authenticator {
            keys: decoding,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway_seconds,
            verified: Mutex::new(HashMap::new()),
        })
    }

    /// The caller a bearer token names. The refusal says what is wrong with the token but
    /// never repeats it.
    pub fn authenticate(&self, token: &str) -> Result<Caller, AuthError> {
        let now = jiff::Timestamp::now().as_second();
        if let Some(known) = self.lock_verified().get(token)
            && now <= known.until
        {
            return Ok(known.caller.clone());
        }
        let (caller, until, cacheable) = self.verify(token, now)?;
        if cacheable {
            let mut verified = self.lock_verified();
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(
                token.into(),
                Verified {
                    caller: caller.clone(),
                    until,
                },
            );
        }
        Ok(caller)
    }

    fn lock_verified(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Verified>> {
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the token itself: the caller, until when it holds, and whether it may be
    /// remembered (a token not valid before some later moment is checked afresh).
    fn verify(&self, token: &str, now: i64) -> Result<(Caller, i64, bool), AuthError> {
        let refuse = |why: &str| AuthError::Unauthenticated(format!("bearer token {why}"));
        let header = decode_header(token).map_err(|_| refuse("is malformed"))?;
        let (algorithm, key) = self
            .keys
            .iter()
            .find(|(algorithm, _)| *algorithm == header.alg)
            .ok_or_else(|| refuse("is signed with an algorithm this server does not accept"))?;
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = self.leeway_seconds;
        validation.validate_nbf = true;
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::ExpiredSignature => refuse("has expired"),
                    ErrorKind::ImmatureSignature => refuse("is not valid yet"),
                    ErrorKind::InvalidIssuer => refuse("has another issuer"),
                    ErrorKind::InvalidAudience => refuse("is for another audience"),
                    ErrorKind::InvalidSignature => refuse("has a bad signature"),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        refuse(&format!("lacks the {claim:?} claim"))
                    }
                    _ => refuse("is invalid"),
                }
            })?
            .claims;
        let organisations = if claims.orgs.iter().any(|organisation| organisation == "*") {
            Organisations::All
        } else {
            Organisations::Only(claims.orgs.into_iter().collect())
        };
        let scopes = claims
            .scope
            .split_ascii_whitespace()
            .filter_map(|word| Scope::ALL.into_iter().find(|scope| scope.as_str() == word))
            .fold(0, |bits, scope| bits | scope.bit());
        let leeway = i64::try_from(self.leeway_seconds).unwrap_or(i64::MAX);
        let until = claims.exp.unwrap_or(now).saturating_add(leeway);
        let cacheable = claims.nbf.is_none_or(|nbf| nbf <= now);
        let caller = Caller {
            name: Arc::from(claims.sub),
            organisations: Arc::new(organisations),
            scopes,
            valid_until: Some(until),
        };
        Ok((caller, until, cacheable))
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn authenticator() -> Authenticator {
        let keys = TokenKeys {
            hs256_secret: Some(SECRET.to_vec()),
            public_key_pem: None,
        };
        Authenticator::new(&keys, "https://issuer", "purposed", 0).expect("authenticator")
    }

    fn token(claims: serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET).expect("key"),
        )
        .expect("token")
    }

    fn in_an_hour() -> i64 {
        jiff::Timestamp::now().as_second() + 3600
    }

    #[test]
    fn a_good_token_names_its_organisations_and_scopes() {
        let caller = authenticator()
            .authenticate(&token(json!({
                "iss": "https://issuer", "aud": "purposed", "sub": "billing",
                "exp": in_an_hour(), "orgs": ["peero"], "scope": "decide rights unknown"
            })))
            .expect("caller");
        assert_eq!(caller.name(), "billing");
        assert!(caller.require(Scope::Decide, "peero").is_ok());
        assert!(caller.require(Scope::Rights, "peero").is_ok());
        assert!(caller.require(Scope::Registry, "peero").is_err());
        assert!(caller.require(Scope::Decide, "apollo").is_err());
    }

    #[test]
    fn a_star_grants_every_organisation() {
        let caller = authenticator()
            .authenticate(&token(json!({
                "iss": "https://issuer", "aud": "purposed", "sub": "ops",
                "exp": in_an_hour(), "orgs": ["*"], "scope": "registry"
            })))
            .expect("caller");
        assert!(caller.require(Scope::Registry, "anything").is_ok());
    }

    #[test]
    fn bad_tokens_are_refused_with_the_reason() {
        let authenticator = authenticator();
        let cases = [
            (
                json!({"iss": "https://issuer", "aud": "purposed", "sub": "a", "exp": 1_000_000}),
                "expired",
            ),
            (
                json!({"iss": "https://other", "aud": "purposed", "sub": "a", "exp": in_an_hour()}),
                "another issuer",
            ),
            (
                json!({"iss": "https://issuer", "aud": "else", "sub": "a", "exp": in_an_hour()}),
                "another audience",
            ),
            (
                json!({"iss": "https://issuer", "aud": "purposed", "sub": "a"}),
                "exp",
            ),
        ];
        for (claims, expected) in cases {
            match authenticator.authenticate(&token(claims)) {
                Err(AuthError::Unauthenticated(message)) => {
                    assert!(message.contains(expected), "{message} lacks {expected}")
                }
                other => panic!("expected a refusal mentioning {expected}, got {other:?}"),
            }
        }
        assert!(authenticator.authenticate("not a token").is_err());
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &json!({"iss": "https://issuer", "aud": "purposed", "sub": "a", "exp": in_an_hour()}),
            &EncodingKey::from_secret(b"another secret of thirty-two bytes!!").expect("key"),
        )
        .expect("token");
        assert_eq!(
            authenticator.authenticate(&forged),
            Err(AuthError::Unauthenticated(
                "bearer token has a bad signature".into()
            ))
        );
    }

    #[test]
    fn a_remembered_token_answers_until_it_expires() {
        let authenticator = authenticator();
        let good = token(json!({
            "iss": "https://issuer", "aud": "purposed", "sub": "a",
            "exp": in_an_hour(), "orgs": ["peero"], "scope": "decide"
        }));
        let caller = authenticator.authenticate(&good).expect("verified");
        assert_eq!(authenticator.lock_verified().len(), 1);
        // An entry answers for its token without a verification (this one would fail it)...
        let now = jiff::Timestamp::now().as_second();
        authenticator.lock_verified().insert(
            "remembered".into(),
            Verified {
                caller: caller.clone(),
                until: now + 60,
            },
        );
        assert_eq!(authenticator.authenticate("remembered"), Ok(caller.clone()));
        // ...and not past its expiry.
        authenticator
            .lock_verified()
            .get_mut("remembered")
            .expect("entry")
            .until = now - 1;
        assert!(authenticator.authenticate("remembered").is_err());
        // Refused tokens are not remembered.
        assert!(!authenticator.lock_verified().contains_key("not a token"));
        assert!(authenticator.authenticate("not a token").is_err());
        assert!(!authenticator.lock_verified().contains_key("not a token"));
    }

    #[test]
    fn rs256_tokens_verify_against_the_issuers_public_key() {
        // A key pair made for this test only (tests/fixtures), never used anywhere else.
        let keys = TokenKeys {
            hs256_secret: None,
            public_key_pem: Some(
                include_bytes!("../../tests/fixtures/rs256-test-public.pem").to_vec(),
            ),
        };
        let authenticator =
            Authenticator::new(&keys, "https://issuer", "purposed", 0).expect("RSA key");
        let private = EncodingKey::from_rsa_pem(include_bytes!(
            "../../tests/fixtures/rs256-test-private.pem"
        ))
        .expect("RSA private key");
        let claims = json!({
            "iss": "https://issuer", "aud": "purposed", "sub": "rsa-caller",
            "exp": in_an_hour(), "orgs": ["peero"], "scope": "registry"
        });
        let token = encode(&Header::new(Algorithm::RS256), &claims, &private).expect("token");
        let caller = authenticator.authenticate(&token).expect("RS256 verified");
        assert_eq!(caller.name(), "rsa-caller");
        assert!(caller.require(Scope::Registry, "peero").is_ok());
        // The same claims under HS256 are refused: no HMAC key is configured, and the RSA
        // public key is never taken for one.
        let forged = encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(include_bytes!("../../tests/fixtures/rs256-test-public.pem"))
                .expect("key"),
        )
        .expect("token");
        assert!(authenticator.authenticate(&forged).is_err());
    }

    #[test]
    fn an_algorithm_without_a_key_is_refused() {
        let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.";
        assert!(authenticator().authenticate(none).is_err());
    }

    #[test]
    fn short_secrets_and_junk_keys_are_refused_at_start() {
        let short = TokenKeys {
            hs256_secret: Some(b"short\n".to_vec()),
            public_key_pem: None,
        };
        assert_eq!(
            Authenticator::new(&short, "i", "a", 0).unwrap_err().0,
            "auth.hs256_secret_file"
        );
        let junk = TokenKeys {
            hs256_secret: None,
            public_key_pem: Some(
                b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec(),
            ),
        };
        assert_eq!(
            Authenticator::new(&junk, "i", "a", 0).unwrap_err().0,
            "auth.public_key_file"
        );
    }
}
