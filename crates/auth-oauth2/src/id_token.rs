//! ID tokens (OpenID Connect Core §3.1.3.7, feature `jwt`): verified, then typed as
//! [`IdToken<C>`], the application's own claims type beside the standard claims.
//!
//! With `openid` among the scopes and the provider's `jwks_uri` known (from
//! [`OAuthClientBuilder::metadata`](crate::OAuthClientBuilder::metadata) or
//! [`OAuthClientBuilder::jwks_uri`](crate::OAuthClientBuilder::jwks_uri)),
//! [`OAuthClient::authorization_request`] sends a fresh `nonce` (kept in the
//! [`PendingAuthorization`] with `state` and the PKCE verifier), and the callback's token
//! response must carry an `id_token` that passes, in order:
//!
//! 1. the signature, by the provider's JWKS, with an algorithm both advertised and allowed
//!    (never `none`, never HMAC);
//! 2. `iss` exactly the provider's issuer; `aud` contains the client id; `azp`, required
//!    with several audiences, is the client id whenever present;
//! 3. `exp` not passed, `iat` (required) and `nbf` not in the future, each within the leeway,
//!    on the client's clock moved by the server's offset;
//! 4. `nonce` equal to the one sent (constant time);
//! 5. `auth_time` present and recent enough when `max_age` was requested;
//! 6. `at_hash` and `c_hash`, when present, the left half of the hash of the access token
//!    and the code.
//!
//! A failure is an [`Error::IdToken`] naming the rule ([`IdTokenError`]). A refresh
//! ([`OAuthClient::refresh_with_id_token`]) checks the same rules but the nonce, and that
//! `sub` did not change (§12.2).
//!
//! Without the provider's keys, a client is a plain OAuth client even with `openid`: no
//! nonce is sent, an ID token in the response is dropped unread (never handed out), and
//! [`PendingAuthorization::finish_with_id_token`] refuses.

use std::fmt;

use auth_core::{Secret, UnixTime};
use auth_jwt::Algorithm;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::authorize::{Exchanged, PendingAuthorization};
use crate::client::OAuthClient;
use crate::error::Error;
pub use crate::error::IdTokenError;
use crate::oidc::{Oidc, left_half_hash, verify_jws};
use crate::response::TokenSet;

/// The standard claims of a verified ID token (OpenID Connect Core §2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `iss`: the provider's issuer, exactly.
    pub issuer: String,
    /// `sub`: the user, unique within the issuer.
    pub subject: String,
    /// `aud`: the client id, and maybe others.
    pub audiences: Vec<String>,
    /// `exp`.
    pub expires_at: UnixTime,
    /// `iat`.
    pub issued_at: UnixTime,
    /// `auth_time`: when the user last authenticated.
    pub auth_time: Option<UnixTime>,
    /// `azp`: the authorized party.
    pub authorized_party: Option<String>,
    /// `acr`: the authentication context class.
    pub acr: Option<String>,
    /// `amr`: the authentication methods.
    pub amr: Vec<String>,
    /// `sid`: the session id (front- and back-channel logout).
    pub session_id: Option<String>,
}

/// A verified ID token: the standard claims, the application's claims type `C` (read by
/// serde from the same payload), the algorithm, and the token itself (for `id_token_hint`).
/// `Debug` leaves the token out.
#[derive(Clone)]
pub struct IdToken<C> {
    standard: IdTokenClaims,
    claims: C,
    alg: Algorithm,
    raw: Secret,
}

impl<C> IdToken<C> {
    /// The standard claims.
    pub fn standard(&self) -> &IdTokenClaims {
        &self.standard
    }

    /// `sub`.
    pub fn subject(&self) -> &str {
        &self.standard.subject
    }

    /// The application's claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// Takes the application's claims.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The algorithm it was signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The compact token, as received: the `id_token_hint` of a logout request.
    pub fn raw(&self) -> &Secret {
        &self.raw
    }
}

impl<C: fmt::Debug> fmt::Debug for IdToken<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdToken")
            .field("standard", &self.standard)
            .field("claims", &self.claims)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// What the verification of one ID token compares against.
#[derive(Default)]
pub(crate) struct Expect<'a> {
    pub(crate) nonce: Option<&'a Secret>,
    pub(crate) code: Option<&'a str>,
    pub(crate) access_token: Option<&'a Secret>,
    pub(crate) subject: Option<&'a str>,
}

fn oidc(client: &OAuthClient) -> Result<&Oidc, Error> {
    client.shared.oidc.as_deref().ok_or_else(|| {
        Error::misconfigured(
            "no jwks_uri to verify ID tokens with (OAuthClientBuilder::metadata or jwks_uri)",
        )
    })
}

fn text<'m>(
    c: &'m Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'m str>, IdTokenError> {
    match c.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(IdTokenError::MissingClaim(name)),
    }
}

fn time(c: &Map<String, Value>, name: &'static str) -> Result<Option<UnixTime>, IdTokenError> {
    match c.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(|s| Some(UnixTime::from_secs(s)))
            .ok_or(IdTokenError::MissingClaim(name)),
        Some(_) => Err(IdTokenError::MissingClaim(name)),
    }
}

/// Verifies `raw` as an ID token of `client`'s provider, against `expect`.
pub(crate) async fn verify<C: DeserializeOwned>(
    client: &OAuthClient,
    raw: &Secret,
    expect: &Expect<'_>,
) -> Result<IdToken<C>, Error> {
    let oidc = oidc(client)?;
    let token = raw
        .expose_str()
        .map_err(|_| IdTokenError::Malformed("not utf-8".into()))?;
    let jws = verify_jws(oidc, token, &oidc.id_token_algorithms).await?;
    let standard = check_claims(client, oidc, jws.alg, &jws.claims, expect)?;
    let claims = serde_json::from_value(Value::Object(jws.claims))
        .map_err(|e| IdTokenError::Claims(e.to_string().chars().take(120).collect::<String>()))?;
    Ok(IdToken {
        standard,
        claims,
        alg: jws.alg,
        raw: raw.clone(),
    })
}

fn check_claims(
    client: &OAuthClient,
    oidc: &Oidc,
    alg: Algorithm,
    c: &Map<String, Value>,
    expect: &Expect<'_>,
) -> Result<IdTokenClaims, IdTokenError> {
    let shared = &*client.shared;
    let iss = text(c, "iss")?.ok_or(IdTokenError::MissingClaim("iss"))?;
    if Some(iss) != shared.issuer.as_deref() {
        return Err(IdTokenError::Issuer);
    }
    let sub = text(c, "sub")?
        .filter(|s| !s.is_empty())
        .ok_or(IdTokenError::MissingClaim("sub"))?;
    let audiences: Vec<String> = match c.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(IdTokenError::MissingClaim("aud"))?,
        _ => return Err(IdTokenError::MissingClaim("aud")),
    };
    if !audiences.contains(&shared.client_id) {
        return Err(IdTokenError::Audience);
    }
    let azp = text(c, "azp")?;
    match azp {
        Some(azp) if azp != shared.client_id => return Err(IdTokenError::AuthorizedParty),
        None if audiences.len() > 1 => return Err(IdTokenError::AuthorizedParty),
        _ => {}
    }
    let now = client.server_now();
    let leeway = oidc.leeway;
    let exp = time(c, "exp")?.ok_or(IdTokenError::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(IdTokenError::Expired);
    }
    let iat = time(c, "iat")?.ok_or(IdTokenError::MissingClaim("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(IdTokenError::IssuedAt);
    }
    if time(c, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(IdTokenError::NotYetValid);
    }
    if let Some(sent) = expect.nonce {
        let got = c.get("nonce").and_then(Value::as_str).unwrap_or_default();
        if got.is_empty() || !bool::from(got.as_bytes().ct_eq(sent.expose_secret())) {
            return Err(IdTokenError::Nonce);
        }
    }
    let auth_time = time(c, "auth_time").map_err(|_| IdTokenError::AuthTime)?;
    if let Some(max_age) = oidc.max_age {
        let fresh =
            auth_time.is_some_and(|at| now <= at.saturating_add(max_age).saturating_add(leeway));
        if !fresh {
            return Err(IdTokenError::AuthTime);
        }
    }
    let hash_matches = |name: &'static str, value: &[u8]| -> Result<bool, IdTokenError> {
        Ok(match text(c, name)? {
            None => true,
            Some(h) => bool::from(h.as_bytes().ct_eq(left_half_hash(alg, value).as_bytes())),
        })
    };
    if let Some(at) = expect.access_token
        && !hash_matches("at_hash", at.expose_secret())?
    {
        return Err(IdTokenError::AccessTokenHash);
    }
    if let Some(code) = expect.code
        && !hash_matches("c_hash", code.as_bytes())?
    {
        return Err(IdTokenError::CodeHash);
    }
    if expect.subject.is_some_and(|s| s != sub) {
        return Err(IdTokenError::SubjectChanged);
    }
    let amr = match c.get("amr") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(IdTokenError::MissingClaim("amr"))?,
        Some(_) => return Err(IdTokenError::MissingClaim("amr")),
    };
    Ok(IdTokenClaims {
        issuer: iss.to_owned(),
        subject: sub.to_owned(),
        audiences,
        expires_at: exp,
        issued_at: iat,
        auth_time,
        authorized_party: azp.map(str::to_owned),
        acr: text(c, "acr")?.map(str::to_owned),
        amr,
        session_id: text(c, "sid")?.map(str::to_owned),
    })
}

impl PendingAuthorization {
    /// As [`PendingAuthorization::finish`], for an authorization that requested `openid`:
    /// the tokens and the verified ID token, typed with the application's claims `C` (use
    /// `serde_json::Value` for all of them, or a struct of those it needs).
    ///
    /// # Errors
    ///
    /// Those of [`PendingAuthorization::finish`]; [`Error::IdToken`] with the rule the ID
    /// token broke; [`Error::Misconfigured`] when `openid` was not requested.
    pub async fn finish_with_id_token<C: DeserializeOwned>(
        self,
        client: &OAuthClient,
        callback: &str,
    ) -> Result<(TokenSet, IdToken<C>), Error> {
        let done = self.exchange(client, callback).await?;
        let (tokens, id_token) = done.verify::<C>(client).await?;
        let id_token = id_token.ok_or_else(|| {
            Error::misconfigured(
                "no nonce was sent (openid not requested, or no jwks_uri): no ID token to verify",
            )
        })?;
        Ok((tokens, id_token))
    }
}

impl Exchanged {
    /// Verifies the ID token when a nonce was sent; takes it out of the token set.
    pub(crate) async fn verify<C: DeserializeOwned>(
        mut self,
        client: &OAuthClient,
    ) -> Result<(TokenSet, Option<IdToken<C>>), Error> {
        let raw = self.tokens.take_id_token();
        let Some(nonce) = &self.nonce else {
            return Ok((self.tokens, None));
        };
        let raw = raw.ok_or(IdTokenError::Missing)?;
        let expect = Expect {
            nonce: Some(nonce),
            code: Some(&self.code),
            access_token: Some(self.tokens.access_token()),
            subject: None,
        };
        let id_token = verify(client, &raw, &expect).await?;
        Ok((self.tokens, Some(id_token)))
    }
}

impl OAuthClient {
    /// The refresh grant for a signed-in user: as [`OAuthClient::refresh`], and when the
    /// response carries an ID token, it is verified by the same rules as the first one but
    /// the nonce, and its `sub` must be `previous`'s (OpenID Connect Core §12.2).
    ///
    /// # Errors
    ///
    /// Those of [`OAuthClient::refresh`]; [`Error::IdToken`] with the rule the new ID token
    /// broke.
    pub async fn refresh_with_id_token<C: DeserializeOwned, P>(
        &self,
        refresh_token: &Secret,
        previous: &IdToken<P>,
    ) -> Result<(TokenSet, Option<IdToken<C>>), Error> {
        let mut tokens = self.refresh_keeping_id_token(refresh_token).await?;
        let Some(raw) = tokens.take_id_token() else {
            return Ok((tokens, None));
        };
        let expect = Expect {
            access_token: Some(tokens.access_token()),
            subject: Some(previous.subject()),
            ..Expect::default()
        };
        let id_token = verify(self, &raw, &expect).await?;
        Ok((tokens, Some(id_token)))
    }
}
