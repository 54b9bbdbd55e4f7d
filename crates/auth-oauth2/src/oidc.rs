//! OpenID Connect relying party (feature `jwt`): what the client needs to verify the
//! provider's signed answers, ID tokens ([`crate::id_token`]) and signed UserInfo
//! ([`crate::userinfo`]).
//!
//! [`OAuthClientBuilder::metadata`](crate::OAuthClientBuilder::metadata) takes the
//! provider's `jwks_uri`, `id_token_signing_alg_values_supported`,
//! `userinfo_signing_alg_values_supported` and `userinfo_endpoint`; the keys are then
//! fetched and cached by auth-jwt's [`RemoteJwks`] (single flight, one refetch for an
//! unknown `kid`). A signature is accepted only with an algorithm both advertised by the
//! provider and in the client's allow-list ([`DEFAULT_ID_TOKEN_ALGORITHMS`] unless
//! [`OAuthClientBuilder::id_token_algorithms`] says otherwise). `none` cannot be named, and
//! the HMAC algorithms (`HS256`, ...) are refused outright: an ID token MACed with the
//! client secret proves nothing the token endpoint's TLS did not, and accepting them is how
//! algorithm confusion starts.

use std::borrow::Cow;
use std::time::Duration;

use auth_core::{BoxHttpClient, Clock, Transport};
use auth_jwt::{Algorithm, Family, RemoteConfig, RemoteJwks};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::Digest as _;

use crate::OAuthClientBuilder;
use crate::endpoint_url::check_endpoint;
use crate::error::Error;
use crate::error::IdTokenError;

/// The ID token algorithms a client accepts unless told otherwise: RSA (PKCS#1 v1.5 and
/// PSS), ECDSA on P-256 and P-384, and Ed25519. Never `none`, never HMAC.
pub const DEFAULT_ID_TOKEN_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The longest ID token or signed UserInfo response read (a compact JWS).
const MAX_JWS_LEN: usize = 64 * 1024;

/// The OpenID settings of a builder, as given.
#[derive(Debug, Default)]
pub(crate) struct OidcSettings {
    pub(crate) jwks_uri: Option<String>,
    pub(crate) userinfo_endpoint: Option<String>,
    pub(crate) allowed: Option<Vec<Algorithm>>,
    pub(crate) advertised_id_token: Option<Vec<String>>,
    pub(crate) advertised_userinfo: Option<Vec<String>>,
    pub(crate) leeway: Option<Duration>,
    pub(crate) max_age: Option<Duration>,
}

/// A built client's OpenID settings.
#[derive(Debug)]
pub(crate) struct Oidc {
    pub(crate) jwks: RemoteJwks,
    /// Allowed ∩ advertised, for ID tokens.
    pub(crate) id_token_algorithms: Vec<Algorithm>,
    /// Allowed ∩ advertised, for signed UserInfo.
    pub(crate) userinfo_algorithms: Vec<Algorithm>,
    pub(crate) userinfo_uri: Option<http::Uri>,
    pub(crate) leeway: Duration,
    pub(crate) max_age: Option<Duration>,
}

impl OidcSettings {
    /// Checks the settings; `None` when no `jwks_uri` was given (the client is no relying
    /// party then, and an `openid` authorization request is refused).
    pub(crate) fn build(
        self,
        http: &BoxHttpClient,
        clock: &std::sync::Arc<dyn Clock>,
        transport: Transport,
        openid: bool,
    ) -> Result<Option<Oidc>, Error> {
        let allowed = self
            .allowed
            .unwrap_or_else(|| DEFAULT_ID_TOKEN_ALGORITHMS.to_vec());
        if allowed.iter().any(|a| a.family() == Family::Hmac) {
            return Err(Error::misconfigured(
                "HMAC-signed ID tokens (HS256, ...) are refused: allow asymmetric algorithms only",
            ));
        }
        let leeway = self.leeway.unwrap_or(auth_jwt::DEFAULT_LEEWAY);
        if leeway > auth_jwt::MAX_LEEWAY {
            return Err(Error::misconfigured("id_token_leeway is at most 5 minutes"));
        }
        let userinfo_uri = self
            .userinfo_endpoint
            .map(|u| check_endpoint("userinfo endpoint", &u, transport))
            .transpose()?;
        let Some(jwks_uri) = self.jwks_uri else {
            return Ok(None);
        };
        let jwks = RemoteJwks::with_options(
            &jwks_uri,
            http.clone(),
            clock.clone(),
            RemoteConfig::default(),
            transport,
        )
        .map_err(|e| Error::misconfigured(format!("jwks_uri: {e}")))?;
        // Allowed ∩ advertised; the allow-list alone when the provider does not say.
        let pick = |advertised: Option<Vec<String>>| -> Vec<Algorithm> {
            allowed
                .iter()
                .copied()
                .filter(|a| {
                    advertised
                        .as_ref()
                        .is_none_or(|names| names.iter().any(|n| n == a.as_str()))
                })
                .collect()
        };
        let id_token_algorithms = pick(self.advertised_id_token);
        if openid && id_token_algorithms.is_empty() {
            return Err(Error::misconfigured(
                "no ID token algorithm is both advertised by the provider and allowed",
            ));
        }
        Ok(Some(Oidc {
            jwks,
            id_token_algorithms,
            userinfo_algorithms: pick(self.advertised_userinfo),
            userinfo_uri,
            leeway,
            max_age: self.max_age,
        }))
    }
}

impl OAuthClientBuilder {
    /// The provider's JWKS (`jwks_uri`), to verify ID tokens and signed UserInfo with.
    /// [`Self::metadata`] sets it from discovery. Feature `jwt`.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.oidc.jwks_uri = Some(url.into());
        self
    }

    /// The UserInfo endpoint (OpenID Connect Core §5.3). [`Self::metadata`] sets it.
    pub fn userinfo_endpoint(mut self, url: impl Into<String>) -> Self {
        self.oidc.userinfo_endpoint = Some(url.into());
        self
    }

    /// The algorithms an ID token or a signed UserInfo response may be signed with,
    /// intersected with those the provider advertises. Default:
    /// [`DEFAULT_ID_TOKEN_ALGORITHMS`]. `build()` refuses HMAC algorithms.
    pub fn id_token_algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.oidc.allowed = Some(algorithms.into_iter().collect());
        self
    }

    /// The clock leeway for `exp`, `iat`, `nbf` and `auth_time` (default 30 s, at most 5 min).
    pub fn id_token_leeway(mut self, leeway: Duration) -> Self {
        self.oidc.leeway = Some(leeway);
        self
    }

    /// Sends `max_age` with authorization requests (OpenID Connect Core §3.1.2.1): the ID
    /// token must then carry an `auth_time` no older than `max_age`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.oidc.max_age = Some(max_age);
        self
    }
}

/// A JWS whose signature verified: its algorithm and its claims (a JSON object with unique
/// members).
pub(crate) struct VerifiedJws {
    pub(crate) alg: Algorithm,
    pub(crate) claims: Map<String, Value>,
}

/// Verifies `token`'s signature with the provider's keys, `alg` among `allowed`, and reads
/// its payload as a JSON object with unique members.
pub(crate) async fn verify_jws(
    oidc: &Oidc,
    token: &str,
    allowed: &[Algorithm],
) -> Result<VerifiedJws, IdTokenError> {
    let malformed = |why: &'static str| IdTokenError::Malformed(Cow::Borrowed(why));
    if token.len() > MAX_JWS_LEN {
        return Err(malformed("longer than 64 KiB"));
    }
    let header = token.split('.').next().unwrap_or_default();
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| malformed("header is not base64url"))?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&header) else {
        return Err(malformed("header is not a json object"));
    };
    let name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("header has no alg"))?;
    let alg = Algorithm::from_name(name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| IdTokenError::Algorithm(name.chars().take(16).collect()))?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => return Err(malformed("kid is not a string")),
    };
    let keys = oidc
        .jwks
        .keys_for(kid, alg)
        .await
        .map_err(|e| IdTokenError::KeysUnavailable(e.to_string()))?;
    let payload = auth_jwt::danger::verify_jws_signature(token, &keys, &[alg], MAX_JWS_LEN)
        .map_err(|e| match e {
            auth_jwt::Error::BadSignature | auth_jwt::Error::UnknownKey(_) => {
                IdTokenError::Signature
            }
            auth_jwt::Error::AlgorithmNotAllowed(a) => IdTokenError::Algorithm(a),
            other => IdTokenError::Malformed(Cow::Owned(other.to_string())),
        })?;
    match auth_jwt::duplicate_members(&payload) {
        Ok(d) if d.is_empty() => {}
        Ok(_) => return Err(malformed("claims repeat a member")),
        Err(_) => return Err(malformed("claims are not json")),
    }
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(&payload) else {
        return Err(malformed("claims are not a json object"));
    };
    Ok(VerifiedJws { alg, claims })
}

/// `at_hash` / `c_hash` (OpenID Connect Core §3.1.3.6, §3.3.2.11): the left half of the hash
/// of `value` with the hash of `alg`'s size, base64url. Ed25519 hashes with SHA-512.
pub(crate) fn left_half_hash(alg: Algorithm, value: &[u8]) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            sha2::Sha384::digest(value).to_vec()
        }
        Algorithm::HS512
        | Algorithm::RS512
        | Algorithm::PS512
        | Algorithm::ES512
        | Algorithm::EdDSA => sha2::Sha512::digest(value).to_vec(),
        _ => sha2::Sha256::digest(value).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(digest.get(..digest.len() / 2).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_of_the_openid_example() {
        // OpenID Connect Core, Appendix A.3: the access token and its at_hash (RS256).
        assert_eq!(
            left_half_hash(
                Algorithm::RS256,
                b"jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // Appendix A.4: the code and its c_hash.
        assert_eq!(
            left_half_hash(
                Algorithm::RS256,
                b"Qcb0Orv1zh30vL1MPRsbm-diHiMwcLyZvn1arpZv-Jxf_11jnpEX3Tgfvk"
            ),
            "LDktKdoQak3Pk0cnXxCltA"
        );
        assert_eq!(left_half_hash(Algorithm::ES384, b"x").len(), 32);
        assert_eq!(left_half_hash(Algorithm::EdDSA, b"x").len(), 43);
    }
}
