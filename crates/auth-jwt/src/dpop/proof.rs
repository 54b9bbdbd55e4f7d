//! [`ProofVerifier`]: checks one DPoP proof against the request it came with.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, SystemClock, UnixTime};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::nonce::Nonces;
use super::replay::MemoryReplayCache;
use crate::{Algorithm, Family};
use auth_core::{BoxReplayCache, ReplayCache as _};

/// The longest proof read: a proof with an RSA 4096 key is about 1.3 KB.
const MAX_PROOF_LEN: usize = 8 * 1024;
/// The longest `jti` accepted (a random 16 bytes is 22 characters).
const MAX_JTI_LEN: usize = 256;
/// JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Why a proof was refused. Each maps to RFC 9449's `invalid_dpop_proof`, except
/// [`DpopError::UseNonce`] (`use_dpop_nonce`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Not a compact JWS with JSON header and claims of the right types, or too long.
    #[error("malformed DPoP proof: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt`.
    #[error("not a DPoP proof: typ is not dpop+jwt")]
    WrongType,
    /// `alg` is symmetric, `none`, unknown, or not in the allow-list.
    #[error("DPoP proof algorithm not allowed")]
    AlgorithmNotAllowed,
    /// The header's `jwk` is missing, not a public key for `alg`, or holds private members.
    #[error("DPoP proof key unusable: {0}")]
    BadKey(&'static str),
    /// The signature does not verify with the header's key.
    #[error("DPoP proof signature does not verify")]
    BadSignature,
    /// `htm` is not the request's method.
    #[error("DPoP proof is for another method")]
    WrongMethod,
    /// `htu` is not the request's URL.
    #[error("DPoP proof is for another URL")]
    WrongUrl,
    /// `iat` is outside the accepted window.
    #[error("DPoP proof issued outside the accepted window")]
    Stale,
    /// The `jti` was seen within the window (or is older than a full replay cache remembers).
    #[error("DPoP proof replayed")]
    Replayed,
    /// `ath` is missing or is not the hash of the presented token.
    #[error("DPoP proof not for this access token (ath)")]
    WrongAccessToken,
    /// The proof's key is not the one the token is bound to (`cnf.jkt`).
    #[error("DPoP proof key is not the key the token is bound to")]
    WrongKey,
    /// The server requires a nonce and the proof has none or an old one: retry with
    /// `nonce`, the current one.
    #[error("DPoP proof needs the server's nonce")]
    UseNonce {
        /// The nonce to send in `DPoP-Nonce`.
        nonce: String,
    },
    /// The replay cache could not be reached: no decision (503).
    #[error("DPoP replay cache unavailable")]
    Unavailable,
}

/// A proof that passed: the thumbprint of its key and its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof's key: compare with the token's `cnf.jkt`.
    pub jkt: String,
    /// The proof's `jti`.
    pub jti: String,
    /// The proof's `iat`.
    pub issued_at: UnixTime,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: serde_json::Number,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Checks DPoP proofs: the algorithms allowed, the `iat` window, the replay cache and the
/// optional server nonces. Cheap to share (`Arc` inside).
#[derive(Debug, Clone)]
pub struct ProofVerifier {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    leeway: Duration,
    replay: BoxReplayCache,
    nonces: Option<Arc<Nonces>>,
    clock: Arc<dyn Clock>,
}

impl Default for ProofVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ProofVerifier {
    /// ES256, ES384, EdDSA, RS256 and PS256; proofs up to 60 s old and 5 s ahead; an in-memory
    /// replay cache of 100 000 entries; no nonces.
    pub fn new() -> Self {
        Self {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::RS256,
                Algorithm::PS256,
            ],
            max_age: Duration::from_secs(60),
            leeway: Duration::from_secs(5),
            replay: BoxReplayCache::new(MemoryReplayCache::new(100_000)),
            nonces: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Allows these algorithms; HMAC ones are dropped (a proof key is public).
    #[must_use]
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms
            .into_iter()
            .filter(|a| a.family() != Family::Hmac)
            .collect();
        self
    }

    /// Accepts proofs issued at most `max_age` ago and at most `leeway` ahead.
    #[must_use]
    pub fn window(mut self, max_age: Duration, leeway: Duration) -> Self {
        self.max_age = max_age;
        self.leeway = leeway;
        self
    }

    /// Remembers `jti`s in `cache` (a shared one for a fleet).
    #[must_use]
    pub fn replay_cache(mut self, cache: BoxReplayCache) -> Self {
        self.replay = cache;
        self
    }

    /// Requires a current nonce from `nonces` in every proof.
    #[must_use]
    pub fn nonces(mut self, nonces: Nonces) -> Self {
        self.nonces = Some(Arc::new(nonces));
        self
    }

    /// Reads the time from `clock`.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The allowed algorithms, space separated: the `algs` of a `DPoP` challenge.
    pub fn algs_param(&self) -> String {
        let names: Vec<&str> = self.algorithms.iter().map(|a| a.as_str()).collect();
        names.join(" ")
    }

    /// The nonce to hand out now (in `DPoP-Nonce`), when nonces are on.
    pub fn current_nonce(&self) -> Option<String> {
        self.nonces.as_ref().map(|n| n.current())
    }

    /// Checks `proof` for a request with `method` to `url` (absolute; query and fragment are
    /// ignored), carrying `access_token` (`None` on a token request, where `ath` must be
    /// absent), and records its `jti`.
    ///
    /// # Errors
    ///
    /// The first rule the proof breaks.
    pub async fn verify(
        &self,
        proof: &str,
        method: &http::Method,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<Proof, DpopError> {
        let (checked, claims) = self.check(proof, method, url, access_token)?;
        let expires = checked.issued_at.saturating_add(self.max_age + self.leeway);
        let id = replay_id(&checked.jkt, &claims.jti);
        match self.replay.first_use(id, checked.issued_at, expires).await {
            Ok(true) => Ok(checked),
            Ok(false) => Err(DpopError::Replayed),
            Err(_) => Err(DpopError::Unavailable),
        }
    }

    /// Every check but the replay cache.
    fn check(
        &self,
        proof: &str,
        method: &http::Method,
        url: &str,
        access_token: Option<&str>,
    ) -> Result<(Proof, Claims), DpopError> {
        if proof.len() > MAX_PROOF_LEN {
            return Err(DpopError::Malformed("longer than 8 KiB"));
        }
        let parts = crate::jws::split(proof, MAX_PROOF_LEN)
            .map_err(|_| DpopError::Malformed("not a compact JWS"))?;
        let header: Header = decode_json(parts.header)?;
        if header.typ.as_deref() != Some(super::PROOF_TYPE) {
            return Err(DpopError::WrongType);
        }
        let alg = Algorithm::from_name(&header.alg).ok_or(DpopError::AlgorithmNotAllowed)?;
        if alg.family() == Family::Hmac || !self.algorithms.contains(&alg) {
            return Err(DpopError::AlgorithmNotAllowed);
        }
        let jwk = header
            .jwk
            .ok_or(DpopError::BadKey("no jwk in the header"))?;
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(DpopError::BadKey("the jwk holds private key material"));
        }
        // The header was read whole and checked for duplicate members already: the key is
        // parsed from that value, not written out and read again.
        let key = crate::jwk::parse(&Value::Object(jwk))
            .map_err(|_| DpopError::BadKey("not a public key"))?;
        if !key.supports(alg) {
            return Err(DpopError::BadKey("not a key for the header's alg"));
        }
        let jkt = key
            .thumbprint()
            .ok_or(DpopError::BadKey("no thumbprint"))?
            .to_owned();
        let signature = crate::jws::b64_decode(parts.signature)
            .map_err(|_| DpopError::Malformed("signature is not base64url"))?;
        if !key.verify(alg, parts.signing_input.as_bytes(), &signature) {
            return Err(DpopError::BadSignature);
        }
        let claims: Claims = decode_json(parts.payload)?;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(DpopError::Malformed("jti empty or too long"));
        }
        if claims.htm != method.as_str() {
            return Err(DpopError::WrongMethod);
        }
        let same_url = matches!(
            (super::normalize_htu(&claims.htu), super::normalize_htu(url)),
            (Some(a), Some(b)) if a == b
        );
        if !same_url {
            return Err(DpopError::WrongUrl);
        }
        let issued_at = numeric_date(&claims.iat)?;
        let now = self.clock.now();
        if issued_at.saturating_add(self.max_age) < now
            || now.saturating_add(self.leeway) < issued_at
        {
            return Err(DpopError::Stale);
        }
        match (access_token, &claims.ath) {
            (None, None) => {}
            (Some(token), Some(ath)) if ath_matches(token, ath) => {}
            _ => return Err(DpopError::WrongAccessToken),
        }
        if let Some(nonces) = &self.nonces {
            let fresh = claims
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.is_current(n));
            if !fresh {
                return Err(DpopError::UseNonce {
                    nonce: nonces.current(),
                });
            }
        }
        let proof = Proof {
            jkt,
            jti: claims.jti.clone(),
            issued_at,
        };
        Ok((proof, claims))
    }
}

/// The replay cache's key: the SHA-256 of the key's thumbprint and the `jti`, so an entry's
/// size does not depend on the input and one client cannot spend another's `jti`.
fn replay_id(jkt: &str, jti: &str) -> [u8; 32] {
    crate::backend::sha256_of(&[jkt.as_bytes(), b".", jti.as_bytes()])
}

fn ath_matches(token: &str, ath: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    super::access_token_hash(token)
        .as_bytes()
        .ct_eq(ath.as_bytes())
        .into()
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, DpopError> {
    let bytes = crate::jws::b64_decode(part).map_err(|_| DpopError::Malformed("not base64url"))?;
    crate::json::check_unique(&bytes)
        .map_err(|_| DpopError::Malformed("not a JSON object with unique members"))?;
    serde_json::from_slice(&bytes).map_err(|_| DpopError::Malformed("mistyped header or claims"))
}

fn numeric_date(n: &serde_json::Number) -> Result<UnixTime, DpopError> {
    if let Some(secs) = n.as_u64() {
        return Ok(UnixTime::from_secs(secs));
    }
    match n.as_f64() {
        Some(v) if v >= 0.0 => Ok(UnixTime::from_duration(
            Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX),
        )),
        _ => Err(DpopError::Malformed("iat is not a non-negative number")),
    }
}
