//! [`Verifier`] and its [`VerifierBuilder`]: the validation policy, checked in `build()`.
//!
//! Order of work on a token: length (before any decoding), shape, header (strict JSON),
//! JWE/`crit` refused, nested refused (or, when accepted, the inner token checked the same
//! way, one level deep), `alg` allowed, `typ` when required, key by `kid` and `alg`,
//! signature; only then the payload is decoded and its claims checked: types, duplicates,
//! `exp`/`nbf`/`iat` against the injected clock with the leeway, issuer, audience.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, CredentialKind, Principal, TokenVerdict, UnixTime, VerifyToken};
use serde::de::DeserializeOwned;

use crate::Algorithm;
use crate::claims::{self, Claims, RawClaims};
use crate::error::{Error, shown};
use crate::source::KeySource;
use crate::verify_signature::{Body, HeadScratch, Scratch, Signed, check_header};

mod borrowed;
mod builder;
mod issuers;
mod typed;

pub use borrowed::BorrowedClaims;

use builder::{Accept, Rules};
pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, MAX_LEEWAY, VerifierBuilder};
pub use issuers::{IssuersBuilder, Tenants};
pub use typed::ClaimsVerifier;

/// Verifies JWTs (compact JWS) under one policy. Cheap to clone.
///
/// ```
/// use std::time::Duration;
/// use auth_core::{ManualClock, Secret, UnixTime};
/// use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
///
/// let secret = Secret::new(vec![7u8; 32]);
/// let clock = ManualClock::new(UnixTime::from_secs(1_700_000_000));
/// let verifier = Verifier::builder()
///     .algorithms([Algorithm::HS256])
///     .issuer("https://issuer.example")
///     .audience("api")
///     .keys(KeySet::new([Key::hmac(&secret, Algorithm::HS256).unwrap()]))
///     .clock(clock.clone())
///     .build()
///     .unwrap();
///
/// let signer = SigningKey::hmac(&secret, Algorithm::HS256).unwrap();
/// let token = signer.sign(&serde_json::json!({
///     "iss": "https://issuer.example", "aud": "api", "sub": "alice",
///     "exp": 1_700_000_600, "scope": "read",
/// })).unwrap();
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let principal = verifier.verify_principal(&token).await.unwrap();
/// assert_eq!(principal.subject(), "alice");
/// clock.advance(Duration::from_secs(3600));
/// let err = verifier.verify_principal(&token).await.unwrap_err();
/// assert_eq!(err.to_string(), "token expired 50m ago");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    route: Route,
}

/// One issuer's policy and keys, or several picked by the token's `iss`.
#[derive(Debug, Clone)]
enum Route {
    One(Arc<Inner>),
    Many(Arc<issuers::Issuers>),
}

#[derive(Debug)]
struct Inner {
    rules: Rules,
    keys: KeySource,
}

/// A verified token: the application's claims, the registered claims, and who sent it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Verified<C> {
    /// The application's claims type, deserialized from the payload.
    pub claims: C,
    registered: Claims,
    scopes: auth_core::Scopes,
    alg: Algorithm,
}

impl<C> Verified<C> {
    /// The registered claims.
    pub fn registered(&self) -> &Claims {
        &self.registered
    }

    /// The granted scopes, from `scope` (space separated) or `scp` (an array).
    pub fn scopes(&self) -> &auth_core::Scopes {
        &self.scopes
    }

    /// The principal: `sub`, the scopes, the registered claims as an attribute.
    ///
    /// # Errors
    ///
    /// [`Error::MissingClaim`] when the token has no `sub`.
    pub fn principal(&self) -> Result<Principal, Error> {
        let sub = self
            .registered
            .subject()
            .ok_or_else(|| Error::MissingClaim("sub"))?;
        let principal = Principal::new(sub, CredentialKind::Jwt)
            .with_scopes(self.scopes.clone())
            .with_attribute(self.registered.clone());
        Ok(match self.registered.confirmation() {
            Some(cnf) => principal.with_attribute(cnf.clone()),
            None => principal,
        })
    }

    /// The algorithm the token was signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

impl Verifier {
    /// The key source, for its health; `None` for a verifier of several issuers.
    pub fn key_source(&self) -> Option<&KeySource> {
        match &self.route {
            Route::One(inner) => Some(&inner.keys),
            Route::Many(_) => None,
        }
    }

    /// Verifies `token` and deserializes its payload into `C` as well.
    ///
    /// # Errors
    ///
    /// [`Error`]: see [`Error::is_rejection`] for which errors are verdicts on the token.
    pub async fn verify<C: DeserializeOwned>(&self, token: &str) -> Result<Verified<C>, Error> {
        self.verified(token, |c| {
            let claims: C =
                serde_json::from_slice(c.payload()).map_err(|e| Error::Claims(e.to_string()))?;
            Ok(Verified {
                claims,
                registered: c.to_claims(),
                scopes: c.scopes(),
                alg: c.algorithm(),
            })
        })
        .await
    }

    /// Verifies `token` and returns its principal only (no application claims type); `sub`
    /// is required.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub async fn verify_principal(&self, token: &str) -> Result<Principal, Error> {
        self.verified(token, |c| c.principal()).await
    }

    /// Verifies `token` and hands its claims to `finish`. When the keys are at hand (a fixed
    /// or live set, a fresh remote set that knows the key) all of it runs synchronously with
    /// its scratch space on this stack frame, and the future stays a few words; a fetch runs
    /// in a boxed future.
    async fn verified<T>(
        &self,
        token: &str,
        finish: impl Fn(BorrowedClaims<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        {
            let mut scratch = Scratch::new();
            match self.verify_now(token, &mut scratch) {
                Ok(Some(claims)) => return finish(claims),
                Ok(None) => {}
                Err(e) => return Err(e),
            }
        }
        Box::pin(async {
            let mut scratch = Scratch::new();
            finish(self.verify_in(token, &mut scratch).await?)
        })
        .await
    }
}

impl Inner {
    /// Header, key and signature (of both layers of an accepted nested token) without
    /// waiting: leaves the claims' payload decoded in `body` and returns the algorithm that
    /// signed it, or `None` when a layer's keys must be fetched first.
    fn check_signature_now(
        &self,
        token: &str,
        head: &mut HeadScratch,
        body: &mut Body,
    ) -> Result<Option<Algorithm>, Error> {
        let nested_ok = self.rules.nested;
        let Some((alg, nested)) = self.check_layer_now(token, head, Some(body), nested_ok)? else {
            return Ok(None);
        };
        if !nested {
            return Ok(Some(alg));
        }
        let inner = inner_token(body)?;
        Ok(self
            .check_layer_now(&inner, head, Some(body), false)?
            .map(|(alg, _)| alg))
    }

    /// [`Inner::check_signature_now`], fetching keys when it must.
    async fn check_signature(
        &self,
        token: &str,
        head: &mut HeadScratch,
        body: &mut Body,
    ) -> Result<Algorithm, Error> {
        let nested_ok = self.rules.nested;
        let (alg, nested) = self
            .check_layer(token, head, Some(&mut *body), nested_ok)
            .await?;
        if !nested {
            return Ok(alg);
        }
        let inner = inner_token(body)?;
        let (alg, _) = self.check_layer(&inner, head, Some(body), false).await?;
        Ok(alg)
    }

    /// One compact JWS: header, key, signature; its payload is decoded into `body` (`None`:
    /// the caller decoded it already). Returns the algorithm and whether the header says the
    /// payload is a nested token.
    async fn check_layer(
        &self,
        token: &str,
        head: &mut HeadScratch,
        body: Option<&mut Body>,
        nested_ok: bool,
    ) -> Result<(Algorithm, bool), Error> {
        let signed = self.check_header(token, head, nested_ok)?;
        if let Some(body) = body {
            body.decode_checked(&signed.compact)?;
        }
        let snapshot = self
            .keys
            .snapshot_for(signed.kid.as_deref(), signed.alg)
            .await?;
        signed.verify_with(snapshot.key_set(), self.rules.try_each_key)?;
        Ok((signed.alg, signed.nested))
    }

    /// [`Inner::check_layer`] without waiting: `None` when the keys must be fetched.
    fn check_layer_now(
        &self,
        token: &str,
        head: &mut HeadScratch,
        body: Option<&mut Body>,
        nested_ok: bool,
    ) -> Result<Option<(Algorithm, bool)>, Error> {
        let signed = self.check_header(token, head, nested_ok)?;
        if let Some(body) = body {
            body.decode_checked(&signed.compact)?;
        }
        let Some(snapshot) = self.keys.snapshot_now(signed.kid.as_deref(), signed.alg) else {
            return Ok(None);
        };
        signed.verify_with(snapshot.key_set(), self.rules.try_each_key)?;
        Ok(Some((signed.alg, signed.nested)))
    }

    fn check_header<'t, 'b>(
        &self,
        token: &'t str,
        head: &'b mut HeadScratch,
        nested_ok: bool,
    ) -> Result<Signed<'t, 'b>, Error> {
        let p = self;
        check_header(
            token,
            head,
            p.rules.max_token_len,
            |a| p.rules.algorithms.contains(&a),
            p.rules.typ.as_deref(),
            nested_ok,
        )
    }

    /// Reads the claims of a verified payload and checks them.
    fn check_claims<'a>(&self, payload: &'a [u8]) -> Result<RawClaims<'a>, Error> {
        let c = parse_claims(payload)?;
        self.check_parsed(&c)?;
        Ok(c)
    }

    /// Times, issuer and audience.
    fn check_parsed(&self, c: &RawClaims<'_>) -> Result<(), Error> {
        let p = self;
        let now = p.rules.clock.now();
        check_times(c, now, p.rules.leeway, p.rules.max_age)?;
        match &p.rules.issuers {
            Accept::OneOf(list) => {
                let iss = c.iss.as_deref().ok_or_else(|| Error::MissingClaim("iss"))?;
                if !list.iter().any(|i| i == iss) {
                    return Err(Error::WrongIssuer(shown(iss)));
                }
            }
            Accept::Any | Accept::Unset => {}
        }
        match &p.rules.audiences {
            Accept::OneOf(list) => {
                let aud = c.aud.as_ref().ok_or_else(|| Error::MissingClaim("aud"))?;
                if !aud.iter().any(|a| list.iter().any(|w| **w == *a)) {
                    let first = aud
                        .first()
                        .map_or_else(|| "[] (empty)".to_owned(), |a| shown(&a));
                    return Err(Error::WrongAudience(first));
                }
            }
            Accept::Any | Accept::Unset => {}
        }
        Ok(())
    }
}

/// The claims of a payload, strictly read.
fn parse_claims(payload: &[u8]) -> Result<RawClaims<'_>, Error> {
    claims::parse(payload).map_err(|e| Error::Malformed(format!("claims: {e}").into()))
}

/// The outer payload of a nested token: the inner token, at most `max_token_len` long
/// already.
fn inner_token(body: &Body) -> Result<String, Error> {
    std::str::from_utf8(body.payload())
        .map(str::to_owned)
        .map_err(|_| Error::malformed("nested token is not text"))
}

/// `exp` must be after now (`exp == now` is expired), `nbf` and `iat` not after now, each
/// with the leeway; `exp` is required.
fn check_times(
    c: &RawClaims<'_>,
    now: UnixTime,
    leeway: Duration,
    max_age: Option<Duration>,
) -> Result<(), Error> {
    let exp = c.exp.ok_or_else(|| Error::MissingClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(Error::Expired(now.duration_since(exp).unwrap_or_default()));
    }
    let later = now.saturating_add(leeway);
    if let Some(nbf) = c.nbf
        && nbf > later
    {
        return Err(Error::NotYetValid(
            nbf.duration_since(now).unwrap_or_default(),
        ));
    }
    if let Some(iat) = c.iat
        && iat > later
    {
        return Err(Error::IssuedInFuture(
            iat.duration_since(now).unwrap_or_default(),
        ));
    }
    if let Some(max) = max_age {
        let iat = c.iat.ok_or_else(|| Error::MissingClaim("iat"))?;
        let age = now.duration_since(iat).unwrap_or_default();
        if age > max.saturating_add(leeway) {
            return Err(Error::TooOld { age, max });
        }
    }
    Ok(())
}

impl VerifyToken for Verifier {
    /// A JWT is three dot-separated parts; anything else is left to other authenticators.
    fn recognizes(&self, token: &str) -> bool {
        token.bytes().filter(|b| *b == b'.').count() == 2
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        match self.verify_principal(token).await {
            Ok(principal) => Ok(TokenVerdict::Valid(principal)),
            Err(e) => e.into_verdict(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(exp: Option<u64>, nbf: Option<u64>, iat: Option<u64>) -> RawClaims<'static> {
        RawClaims {
            exp: exp.map(UnixTime::from_secs),
            nbf: nbf.map(UnixTime::from_secs),
            iat: iat.map(UnixTime::from_secs),
            ..RawClaims::default()
        }
    }

    #[test]
    fn time_boundaries() {
        let now = UnixTime::from_secs(1000);
        let zero = Duration::ZERO;
        let l = Duration::from_secs(10);
        let check = |c: RawClaims<'_>, leeway| check_times(&c, now, leeway, None);
        assert!(matches!(
            check(raw(Some(1000), None, None), zero),
            Err(Error::Expired(_))
        ));
        assert!(check(raw(Some(1001), None, None), zero).is_ok());
        assert!(check(raw(Some(995), None, None), l).is_ok());
        assert!(matches!(
            check(raw(Some(990), None, None), l),
            Err(Error::Expired(_))
        ));
        assert!(check(raw(Some(2000), Some(1000), None), zero).is_ok());
        assert!(matches!(
            check(raw(Some(2000), Some(1001), None), zero),
            Err(Error::NotYetValid(_))
        ));
        assert!(check(raw(Some(2000), Some(1010), None), l).is_ok());
        assert!(matches!(
            check(raw(Some(2000), None, Some(1011)), l),
            Err(Error::IssuedInFuture(_))
        ));
        assert!(matches!(
            check(raw(None, None, None), l),
            Err(Error::MissingClaim("exp"))
        ));
        assert!(matches!(
            check_times(
                &raw(Some(2000), None, Some(100)),
                now,
                zero,
                Some(Duration::from_secs(60))
            ),
            Err(Error::TooOld { .. })
        ));
    }
}
