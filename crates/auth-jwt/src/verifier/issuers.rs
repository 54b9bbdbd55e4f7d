//! Several issuers behind one [`Verifier`]: each with its own keys, audiences and
//! algorithms, picked by the token's `iss`.
//!
//! The `iss` is read from the payload before the signature is checked and is trusted for
//! nothing but routing: the issuer it names must then verify the whole token with its own
//! policy and keys, so a token signed by issuer A that names issuer B fails B's keys. An
//! `iss` outside the set is refused before any key is looked up or fetched.
//!
//! Multi-tenant providers publish one issuer per tenant
//! (`https://login.example.com/{tenant}/v2.0`); [`Tenants`] matches such a pattern, admits
//! only the tenants its allow-list or predicate admits, and makes each tenant's verifier on
//! first use. At most `max_tenants` are held (least recently used evicted), so a flood of
//! tenant ids cannot grow memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use super::builder::Accept;
use super::{Inner, Route, Verifier, parse_claims};
use crate::claims::RawClaims;
use crate::error::{Error, shown};
use crate::jws;
use crate::verify_signature::Body;

/// The placeholder in a [`Tenants`] pattern.
const TENANT: &str = "{tenant}";

/// The set of issuers a [`Verifier::issuers`] verifier routes between.
#[derive(Debug)]
pub(super) struct Issuers {
    by_issuer: HashMap<String, Arc<Inner>>,
    tenants: Option<Tenants>,
    max_token_len: usize,
}

impl Issuers {
    /// The policy and keys of the issuer `token` names, with the payload decoded into
    /// `body` and its claims read (once: the verification that follows checks these). The
    /// `iss` is read unverified: only the length, the shape and the payload's JSON are
    /// checked here.
    pub(super) fn route_in<'s>(
        &self,
        token: &str,
        body: &'s mut Body,
    ) -> Result<(Arc<Inner>, &'s [u8], RawClaims<'s>), Error> {
        let compact = jws::split(token, self.max_token_len)?;
        let payload: &'s [u8] = body
            .decode(compact.payload)
            .ok_or_else(|| jws::extra_parts(compact.payload))?;
        let claims = parse_claims(payload)?;
        let inner = self.lookup(claims.iss.as_deref())?;
        Ok((inner, payload, claims))
    }

    /// The verifier of issuer `iss`: a hash lookup, or a tenant's.
    fn lookup(&self, iss: Option<&str>) -> Result<Arc<Inner>, Error> {
        let iss = iss.ok_or(Error::MissingClaim("iss"))?;
        if let Some(inner) = self.by_issuer.get(iss) {
            return Ok(Arc::clone(inner));
        }
        if let Some(tenants) = &self.tenants
            && let Some(inner) = tenants.inner_for(iss)?
        {
            return Ok(inner);
        }
        Err(Error::WrongIssuer(shown(iss)))
    }
}

/// Builds a [`Verifier`] of several issuers. See [`Verifier::issuers`].
#[derive(Debug)]
#[must_use]
pub struct IssuersBuilder {
    verifiers: Vec<Verifier>,
    tenants: Option<Tenants>,
}

impl Verifier {
    /// The tenants of a verifier of several issuers, when it has a tenant pattern: how many
    /// tenants' verifiers it holds, for metrics and health.
    pub fn tenants(&self) -> Option<&Tenants> {
        match &self.route {
            Route::Many(set) => set.tenants.as_ref(),
            Route::One(_) => None,
        }
    }

    /// A verifier of several issuers: each of `verifiers` accepts its own issuer(s) with its
    /// own keys, audiences and algorithms, and a token goes to the one its `iss` names.
    ///
    /// ```
    /// use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let one = |issuer: &str, secret: &[u8]| {
    ///     let key = Key::hmac(&auth_core::Secret::new(secret.to_vec()), Algorithm::HS256).unwrap();
    ///     Verifier::builder().issuer(issuer).audience("api").algorithms([Algorithm::HS256])
    ///         .keys(KeySet::new([key])).build().unwrap()
    /// };
    /// let verifier = Verifier::issuers([one("https://a.example", &[1; 32]), one("https://b.example", &[2; 32])])
    ///     .build()
    ///     .unwrap();
    /// let sign = |secret: &[u8], iss: &str| {
    ///     SigningKey::hmac(&auth_core::Secret::new(secret.to_vec()), Algorithm::HS256).unwrap()
    ///         .sign(&serde_json::json!({"iss": iss, "aud": "api", "sub": "u", "exp": 4_000_000_000u64}))
    ///         .unwrap()
    /// };
    /// assert!(verifier.verify_principal(&sign(&[2; 32], "https://b.example")).await.is_ok());
    /// // Names b, signed with a's key: b's keys refuse it.
    /// assert!(verifier.verify_principal(&sign(&[1; 32], "https://b.example")).await.is_err());
    /// # });
    /// ```
    pub fn issuers(verifiers: impl IntoIterator<Item = Verifier>) -> IssuersBuilder {
        IssuersBuilder {
            verifiers: verifiers.into_iter().collect(),
            tenants: None,
        }
    }
}

impl IssuersBuilder {
    /// Adds one more issuer's verifier.
    pub fn issuer(mut self, verifier: Verifier) -> Self {
        self.verifiers.push(verifier);
        self
    }

    /// Also accepts the tenants of a multi-tenant provider.
    pub fn tenants(mut self, tenants: Tenants) -> Self {
        self.tenants = Some(tenants);
        self
    }

    /// Checks the set and builds the verifier.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the set is empty, a verifier accepts any issuer or
    /// nested tokens, is itself a set, two verifiers accept the same issuer, or the tenants
    /// have no allow-list or predicate.
    pub fn build(self) -> Result<Verifier, Error> {
        let bad = |why: String| Err(Error::Misconfigured(why.into()));
        if self.verifiers.is_empty() && self.tenants.is_none() {
            return bad("no issuer: give at least one verifier or a tenant pattern".into());
        }
        let mut by_issuer = HashMap::new();
        let mut max_token_len = self
            .tenants
            .as_ref()
            .map_or(0, |_| super::DEFAULT_MAX_TOKEN_LEN);
        for verifier in self.verifiers {
            let inner = one_issuer_only(verifier)?;
            let Accept::OneOf(issuers) = &inner.rules.issuers else {
                return bad("a verifier in a set must name its issuers".into());
            };
            max_token_len = max_token_len.max(inner.rules.max_token_len);
            for issuer in issuers {
                if by_issuer
                    .insert(issuer.clone(), Arc::clone(&inner))
                    .is_some()
                {
                    return bad(format!("issuer {} is in the set twice", shown(issuer)));
                }
            }
        }
        if self.tenants.as_ref().is_some_and(|t| t.allow.is_none()) {
            return bad("a tenant pattern needs allow() or allow_only(): which tenants?".into());
        }
        if let Some(tenants) = &self.tenants
            && let Some(issuer) = by_issuer.keys().find(|i| tenants.tenant_of(i).is_some())
        {
            return bad(format!(
                "issuer {} is both listed and matched by the tenant pattern",
                shown(issuer)
            ));
        }
        Ok(Verifier {
            route: Route::Many(Arc::new(Issuers {
                by_issuer,
                tenants: self.tenants,
                max_token_len,
            })),
        })
    }
}

/// The single-issuer policy of `verifier`, when it may join a set.
fn one_issuer_only(verifier: Verifier) -> Result<Arc<Inner>, Error> {
    let bad = |why: &'static str| Err(Error::Misconfigured(why.into()));
    match verifier.route {
        Route::Many(_) => bad("a set of issuers cannot hold another set"),
        Route::One(inner) if !matches!(inner.rules.issuers, Accept::OneOf(_)) => {
            bad("a verifier that accepts any issuer cannot join a set: name its issuer")
        }
        Route::One(inner) if inner.rules.nested => {
            bad("nested tokens cannot be routed by issuer: their claims are inside")
        }
        Route::One(inner) => Ok(inner),
    }
}

type MakeVerifier = dyn Fn(&str) -> Result<Verifier, Error> + Send + Sync;
type AllowTenant = dyn Fn(&str) -> bool + Send + Sync;

/// The tenants of a multi-tenant provider: issuers that fit a pattern with one `{tenant}`
/// placeholder, admitted by an allow-list or a predicate, each verified by a verifier made
/// on first use (typically with [`issuer_url`](crate::VerifierBuilder::issuer_url), so each
/// tenant's keys are its own).
///
/// A tenant id is 1 to 128 of `A-Z a-z 0-9 . _ -`: it cannot span path segments or reach
/// into the discovery URL. At most [`max_tenants`](Self::max_tenants) verifiers are held.
pub struct Tenants {
    prefix: String,
    suffix: String,
    allow: Option<Box<AllowTenant>>,
    make: Box<MakeVerifier>,
    max: usize,
    held: Mutex<Held>,
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field(
                "pattern",
                &format_args!("{}{TENANT}{}", self.prefix, self.suffix),
            )
            .field("max_tenants", &self.max)
            .field("held", &self.held().map.len())
            .finish_non_exhaustive()
    }
}

impl Tenants {
    /// The tenants whose issuer is `pattern` with its `{tenant}` placeholder filled in;
    /// `make(issuer)` builds a tenant's verifier, which must accept exactly that issuer.
    /// Add the tenants admitted with [`allow`](Self::allow) or
    /// [`allow_only`](Self::allow_only): without either, `build()` refuses the set.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when `pattern` does not hold `{tenant}` exactly once.
    pub fn new(
        pattern: &str,
        make: impl Fn(&str) -> Result<Verifier, Error> + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        let (prefix, suffix) = pattern
            .split_once(TENANT)
            .filter(|(_, rest)| !rest.contains(TENANT))
            .ok_or(Error::Misconfigured(
                "a tenant pattern holds {tenant} exactly once".into(),
            ))?;
        Ok(Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            allow: None,
            make: Box::new(make),
            max: 1024,
            held: Mutex::new(Held::default()),
        })
    }

    /// Admits the tenants for which `predicate` holds.
    pub fn allow(mut self, predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.allow = Some(Box::new(predicate));
        self
    }

    /// Admits the listed tenants only.
    pub fn allow_only(self, tenants: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let list: Vec<String> = tenants.into_iter().map(Into::into).collect();
        self.allow(move |t| list.iter().any(|l| l == t))
    }

    /// Holds at most `max` tenants' verifiers (default 1024), evicting the least recently
    /// used; an evicted tenant's keys are fetched again on its next token.
    pub fn max_tenants(mut self, max: usize) -> Self {
        self.max = max.max(1);
        self
    }

    /// How many tenants' verifiers are held now.
    pub fn len(&self) -> usize {
        self.held().map.len()
    }

    /// Whether no tenant's verifier is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tenant id in `issuer`, when it fits the pattern.
    fn tenant_of<'i>(&self, issuer: &'i str) -> Option<&'i str> {
        let tenant = issuer
            .strip_prefix(&*self.prefix)?
            .strip_suffix(&*self.suffix)?;
        let valid = (1..=128).contains(&tenant.len())
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        valid.then_some(tenant)
    }

    /// The verifier of the admitted tenant `issuer` names, made on first use; `None` when
    /// `issuer` is not an admitted tenant's.
    fn inner_for(&self, issuer: &str) -> Result<Option<Arc<Inner>>, Error> {
        let Some(tenant) = self.tenant_of(issuer) else {
            return Ok(None);
        };
        if !self.allow.as_ref().is_some_and(|allow| allow(tenant)) {
            return Ok(None);
        }
        if let Some(inner) = self.held().get(issuer) {
            return Ok(Some(inner));
        }
        // Made outside the lock: `make` is the application's code.
        let inner = one_issuer_only((self.make)(issuer)?)?;
        if !matches!(&inner.rules.issuers, Accept::OneOf(list) if list.len() == 1 && list[0] == issuer)
        {
            return Err(Error::Misconfigured(
                "a tenant's verifier must accept exactly the tenant's issuer".into(),
            ));
        }
        Ok(Some(self.held().insert(issuer, inner, self.max)))
    }
}

/// The tenants' verifiers, with when each was last used.
///
/// A map and a use counter rather than a linked LRU (or the `lru` crate): hits, the common
/// case, are one lookup and a store; the O(n) search for the oldest happens only when a new
/// tenant arrives at a full table, and n is bounded by `max_tenants`.
#[derive(Default)]
struct Held {
    map: HashMap<String, (Arc<Inner>, u64)>,
    tick: u64,
}

impl Held {
    fn get(&mut self, issuer: &str) -> Option<Arc<Inner>> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(issuer).map(|(inner, used)| {
            *used = tick;
            Arc::clone(inner)
        })
    }

    /// Holds `inner` for `issuer` (or returns the one another caller made meanwhile).
    fn insert(&mut self, issuer: &str, inner: Arc<Inner>, max: usize) -> Arc<Inner> {
        if let Some(held) = self.get(issuer) {
            return held;
        }
        while self.map.len() >= max {
            let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.map.remove(&oldest);
        }
        self.map
            .insert(issuer.to_owned(), (Arc::clone(&inner), self.tick));
        inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, Key, KeySet};

    fn one(issuer: &str) -> Verifier {
        let key = Key::hmac(&auth_core::Secret::new(vec![3u8; 32]), Algorithm::HS256).unwrap();
        Verifier::builder()
            .issuer(issuer)
            .audience("api")
            .algorithms([Algorithm::HS256])
            .keys(KeySet::new([key]))
            .build()
            .unwrap()
    }

    #[test]
    fn a_set_refuses_what_it_cannot_route() {
        let any = Verifier::builder()
            .danger_accept_any_issuer()
            .audience("api")
            .algorithms([Algorithm::HS256])
            .keys(KeySet::new([Key::hmac(
                &auth_core::Secret::new(vec![3u8; 32]),
                Algorithm::HS256,
            )
            .unwrap()]))
            .build()
            .unwrap();
        assert!(Verifier::issuers([any]).build().is_err());
        assert!(Verifier::issuers([one("a"), one("a")]).build().is_err());
        assert!(Verifier::issuers([]).build().is_err());
        let set = Verifier::issuers([one("a"), one("b")]).build().unwrap();
        assert!(Verifier::issuers([set]).build().is_err());
        // Tenants need an allow-list, and must not overlap a listed issuer.
        let make = |i: &str| Ok(one(i));
        let t = || Tenants::new("https://t.example/{tenant}", make).unwrap();
        assert!(Verifier::issuers([]).tenants(t()).build().is_err());
        assert!(
            Verifier::issuers([one("https://t.example/x")])
                .tenants(t().allow(|_| true))
                .build()
                .is_err()
        );
        assert!(
            Verifier::issuers([one("https://a.example")])
                .tenants(t().allow(|_| true))
                .build()
                .is_ok()
        );
    }

    #[test]
    fn a_pattern_has_one_placeholder_and_tenant_ids_one_segment() {
        let make = |i: &str| Ok(one(i));
        assert!(Tenants::new("https://t.example/", make).is_err());
        assert!(Tenants::new("https://{tenant}.example/{tenant}", make).is_err());
        let t = Tenants::new("https://login.example/{tenant}/v2.0", make).unwrap();
        assert_eq!(t.tenant_of("https://login.example/acme/v2.0"), Some("acme"));
        for bad in [
            "https://login.example//v2.0",
            "https://login.example/a/b/v2.0",
            "https://login.example/a?b/v2.0",
            "https://login.example/acme/v2.0/",
        ] {
            assert_eq!(t.tenant_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_least_recently_used_tenant_goes_first() {
        let inner = |i: &str| one_issuer_only(one(i)).unwrap();
        let mut held = Held::default();
        held.insert("a", inner("a"), 2);
        held.insert("b", inner("b"), 2);
        assert!(held.get("a").is_some());
        held.insert("c", inner("c"), 2);
        assert!(held.get("b").is_none(), "b was the least recently used");
        assert!(held.get("a").is_some() && held.get("c").is_some());
        assert_eq!(held.map.len(), 2);
    }
}
