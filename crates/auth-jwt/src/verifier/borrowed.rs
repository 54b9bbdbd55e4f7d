//! Verification into [`BorrowedClaims`]: the header's and the payload's JSON decoded into a
//! caller's [`Scratch`] and read where they lie, so that a verification with the keys at
//! hand allocates nothing (HMAC and the aws-lc-rs public keys; `tests/allocations.rs` holds
//! it). [`Verifier::verify_principal`] and [`Verifier::verify`] are this plus the owned
//! results they build.

use std::borrow::Cow;

use auth_core::{Confirmation, CredentialKind, Principal, Scopes, UnixTime};

use super::{Route, Verifier};
use crate::Algorithm;
use crate::claims::{Claims, RawClaims};
use crate::error::Error;
use crate::header;
use crate::json::{self, OneOrMany};
use crate::verify_signature::{HeadScratch, Scratch};

/// The claims of a verified token, borrowed from the [`Scratch`] it was decoded into: the
/// registered claims, `scope`, the header's `kid` and `typ`, and any other member as its
/// JSON text. Reading them allocates nothing, except a string that holds JSON escapes (it is
/// unescaped into an owned `Cow`) and `cnf`.
///
/// Every check of [`Verifier::verify_principal`] has passed: signature, times, issuer,
/// audience. `sub` is not required here (a principal needs it: [`principal`](Self::principal)).
pub struct BorrowedClaims<'s> {
    alg: Algorithm,
    header: &'s [u8],
    payload: &'s [u8],
    claims: RawClaims<'s>,
}

impl std::fmt::Debug for BorrowedClaims<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BorrowedClaims")
            .field("alg", &self.alg)
            .field("iss", &self.issuer())
            .field("sub", &self.subject())
            .field("exp", &self.expires_at())
            .finish_non_exhaustive()
    }
}

impl<'s> BorrowedClaims<'s> {
    /// The algorithm the token was signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`, if any (read from the header again: most callers never ask).
    pub fn key_id(&self) -> Option<Cow<'s, str>> {
        header::parse(self.header).ok()?.kid
    }

    /// The header's `typ`, if any.
    pub fn token_type(&self) -> Option<Cow<'s, str>> {
        header::parse(self.header).ok()?.typ
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.iss.as_deref()
    }

    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.claims.sub.as_deref()
    }

    /// `jti`.
    pub fn token_id(&self) -> Option<&str> {
        self.claims.jti.as_deref()
    }

    /// `aud`, one entry per audience (a string `aud` is one entry).
    pub fn audiences(&self) -> impl Iterator<Item = Cow<'s, str>> + '_ {
        self.claims.aud.iter().flat_map(OneOrMany::iter)
    }

    /// `exp`.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.claims.exp
    }

    /// `nbf`.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.claims.nbf
    }

    /// `iat`.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.claims.iat
    }

    /// `scope` as written (space separated), if the token has one.
    pub fn scope(&self) -> Option<&str> {
        self.claims.scope.as_deref()
    }

    /// Whether `scope` (or, without it, `scp`) grants `wanted`.
    pub fn has_scope(&self, wanted: &str) -> bool {
        let grants = |s: &str| s.split(' ').any(|t| t == wanted);
        match (&self.claims.scope, &self.claims.scp) {
            (Some(s), _) => grants(s),
            (None, Some(list)) => list.iter().any(|s| grants(&s)),
            (None, None) => false,
        }
    }

    /// `cnf`: the key or certificate a sender-constrained token is bound to.
    pub fn confirmation(&self) -> Option<&Confirmation> {
        self.claims.cnf.as_ref()
    }

    /// The JSON text of the payload's member `name` (`"acme"` with its quotes, `{"a":1}`,
    /// `7`), or `None` when there is no such member. Reads the payload again from its start.
    ///
    /// ```
    /// # use auth_core::{ManualClock, Secret, UnixTime};
    /// # use auth_jwt::{Algorithm, Key, KeySet, Scratch, SigningKey, Verifier};
    /// # let secret = Secret::new(vec![7u8; 32]);
    /// # let verifier = Verifier::builder().algorithms([Algorithm::HS256])
    /// #     .issuer("https://issuer.example").audience("api")
    /// #     .keys(KeySet::new([Key::hmac(&secret, Algorithm::HS256).unwrap()]))
    /// #     .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000))).build().unwrap();
    /// let token = SigningKey::hmac(&secret, Algorithm::HS256).unwrap().sign(&serde_json::json!({
    ///     "iss": "https://issuer.example", "aud": "api", "sub": "alice",
    ///     "exp": 1_700_000_600, "tenant": {"id": 7},
    /// })).unwrap();
    /// let mut scratch = Scratch::new();
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let claims = verifier.verify_in(&token, &mut scratch).await.unwrap();
    /// assert_eq!(claims.claim("tenant"), Some(r#"{"id":7}"#));
    /// assert_eq!(claims.claim("sub"), Some(r#""alice""#));
    /// assert_eq!(claims.claim("missing"), None);
    /// # });
    /// ```
    pub fn claim(&self, name: &str) -> Option<&'s str> {
        json::member(std::str::from_utf8(self.payload).ok()?, name)
    }

    /// The payload: the claims' JSON text, for `serde_json::from_slice` into a type that
    /// borrows from it.
    pub fn payload(&self) -> &'s [u8] {
        self.payload
    }

    /// The granted scopes, from `scope` (space separated) or `scp` (an array). Allocates.
    pub fn scopes(&self) -> Scopes {
        self.claims.scopes()
    }

    /// The registered claims, owned. Allocates.
    pub fn to_claims(&self) -> Claims {
        self.claims.to_owned_claims()
    }

    /// The principal: `sub`, the scopes, the registered claims as an attribute (and `cnf`,
    /// when present), as [`Verifier::verify_principal`] returns it. Allocates.
    ///
    /// # Errors
    ///
    /// [`Error::MissingClaim`] when the token has no `sub`.
    pub fn principal(&self) -> Result<Principal, Error> {
        let sub = self.subject().ok_or(Error::MissingClaim("sub"))?;
        let principal = Principal::new(sub, CredentialKind::Jwt)
            .with_scopes(self.scopes())
            .with_attribute(self.to_claims());
        Ok(match &self.claims.cnf {
            Some(cnf) => principal.with_attribute(cnf.clone()),
            None => principal,
        })
    }
}

impl Verifier {
    /// Verifies `token` as [`verify_principal`](Self::verify_principal) does and returns its
    /// claims borrowed from `scratch` (and `token`). With the keys at hand this allocates
    /// nothing: no principal, no owned strings; a remote key set that must fetch first
    /// allocates for the fetch.
    ///
    /// ```
    /// use auth_core::{ManualClock, Secret, UnixTime};
    /// use auth_jwt::{Algorithm, Key, KeySet, Scratch, SigningKey, Verifier};
    ///
    /// let secret = Secret::new(vec![7u8; 32]);
    /// let verifier = Verifier::builder()
    ///     .algorithms([Algorithm::HS256])
    ///     .issuer("https://issuer.example")
    ///     .audience("api")
    ///     .keys(KeySet::new([Key::hmac(&secret, Algorithm::HS256).unwrap()]))
    ///     .clock(ManualClock::new(UnixTime::from_secs(1_700_000_000)))
    ///     .build()
    ///     .unwrap();
    /// let token = SigningKey::hmac(&secret, Algorithm::HS256).unwrap().sign(&serde_json::json!({
    ///     "iss": "https://issuer.example", "aud": "api", "sub": "alice",
    ///     "exp": 1_700_000_600, "scope": "orders:read profile",
    /// })).unwrap();
    ///
    /// let mut scratch = Scratch::new(); // reusable, one verification at a time
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let claims = verifier.verify_in(&token, &mut scratch).await.unwrap();
    /// assert_eq!(claims.subject(), Some("alice"));
    /// assert!(claims.has_scope("orders:read") && !claims.has_scope("orders:write"));
    /// # });
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`].
    pub async fn verify_in<'s>(
        &self,
        token: &str,
        scratch: &'s mut Scratch,
    ) -> Result<BorrowedClaims<'s>, Error> {
        let Scratch { head, body } = scratch;
        match &self.route {
            Route::One(inner) => {
                let alg = match inner.check_signature_now(token, head, body)? {
                    Some(alg) => alg,
                    None => inner.check_signature(token, head, body).await?,
                };
                let payload = body.payload();
                let claims = inner.check_claims(payload)?;
                Ok(borrowed(alg, head, payload, claims))
            }
            Route::Many(set) => {
                let (inner, payload, claims) = set.route_in(token, body)?;
                let alg = match inner.check_layer_now(token, head, None, false)? {
                    Some((alg, _)) => alg,
                    None => inner.check_layer(token, head, None, false).await?.0,
                };
                inner.check_parsed(&claims)?;
                Ok(borrowed(alg, head, payload, claims))
            }
        }
    }

    /// [`Verifier::verify_in`] without waiting: `None` when keys must be fetched first.
    pub(super) fn verify_now<'s>(
        &self,
        token: &str,
        scratch: &'s mut Scratch,
    ) -> Result<Option<BorrowedClaims<'s>>, Error> {
        let Scratch { head, body } = scratch;
        match &self.route {
            Route::One(inner) => {
                let Some(alg) = inner.check_signature_now(token, head, body)? else {
                    return Ok(None);
                };
                let payload = body.payload();
                let claims = inner.check_claims(payload)?;
                Ok(Some(borrowed(alg, head, payload, claims)))
            }
            Route::Many(set) => {
                let (inner, payload, claims) = set.route_in(token, body)?;
                let Some((alg, _)) = inner.check_layer_now(token, head, None, false)? else {
                    return Ok(None);
                };
                inner.check_parsed(&claims)?;
                Ok(Some(borrowed(alg, head, payload, claims)))
            }
        }
    }
}

fn borrowed<'s>(
    alg: Algorithm,
    head: &'s HeadScratch,
    payload: &'s [u8],
    claims: RawClaims<'s>,
) -> BorrowedClaims<'s> {
    BorrowedClaims {
        alg,
        header: head.header_json(),
        payload,
        claims,
    }
}
