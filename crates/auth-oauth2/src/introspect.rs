//! Resource server: RFC 7662 token introspection as an [`auth_core::VerifyToken`], so that
//! `TokenAuthenticator::bearer(realm, introspector)` is the authenticator.
//!
//! Only a JSON boolean `"active": true` counts (RFC 7662 §2.2); `aud`, `iss` and `exp` are
//! checked; results are cached for the lesser of the token's `exp` and a configured maximum
//! (the bound on how long a revoked token keeps working); concurrent checks of one token
//! share one request; an endpoint that cannot answer is 503, never 401.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::{Principal, TokenVerdict, UnixTime, VerifyToken};
use serde_json::{Map, Value};

use crate::client::{OAuthClient, check_endpoint};
use crate::endpoint::{name, post_form};
use crate::error::Error;

mod response;

/// The members of an active introspection response, attached to the [`Principal`].
#[derive(Debug, Clone)]
pub struct IntrospectionClaims(Map<String, Value>);

impl IntrospectionClaims {
    /// A member of the response (`client_id`, `username`, extensions).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

/// Builds an [`Introspector`]; see [`Introspector::builder`].
#[must_use]
pub struct IntrospectorBuilder {
    client: OAuthClient,
    endpoint: String,
    audience: Option<String>,
    any_audience: bool,
    issuer: Option<String>,
    any_issuer: bool,
    max_cache: Duration,
    max_entries: usize,
}

impl fmt::Debug for IntrospectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectorBuilder")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl IntrospectorBuilder {
    /// The audience this resource server is: an active token's `aud` must be or contain it.
    /// Required unless waived with [`Self::danger_accept_any_audience`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Accepts tokens for any audience.
    ///
    /// # Security
    ///
    /// A token issued for another service is then accepted here (RFC 9700 §2.3).
    pub fn danger_accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The issuer an active token's `iss` must equal exactly. Required unless waived with
    /// [`Self::danger_accept_any_issuer`].
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Accepts responses without or with any `iss`.
    ///
    /// # Security
    ///
    /// Only for servers that never send `iss`; the endpoint's identity then rests on TLS alone.
    pub fn danger_accept_any_issuer(mut self) -> Self {
        self.any_issuer = true;
        self
    }

    /// The longest an active result is trusted without asking again: the bound on how long
    /// a revoked token keeps working here. Default: 60 s.
    pub fn max_cache_ttl(mut self, ttl: Duration) -> Self {
        self.max_cache = ttl;
        self
    }

    /// How many active tokens to cache at most. Default: 10 000.
    pub fn max_cache_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries;
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the endpoint is not acceptable, or the audience or issuer is
    /// neither set nor waived.
    pub fn build(self) -> Result<Introspector, Error> {
        let uri = check_endpoint(
            "introspection endpoint",
            &self.endpoint,
            self.client.shared.transport,
        )?;
        if self.audience.is_none() && !self.any_audience {
            return Err(Error::misconfigured(
                "no audience (set it, or danger_accept_any_audience)",
            ));
        }
        if self.issuer.is_none() && !self.any_issuer {
            return Err(Error::misconfigured(
                "no issuer (set it, or danger_accept_any_issuer)",
            ));
        }
        Ok(Introspector {
            inner: Arc::new(Inner {
                endpoint: name("introspection endpoint", &uri),
                uri,
                client: self.client,
                audience: self.audience,
                issuer: self.issuer,
                max_cache: self.max_cache,
                max_entries: self.max_entries,
                cache: Mutex::new(HashMap::new()),
                inflight: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// Checks opaque access tokens at an RFC 7662 introspection endpoint. Cheap to clone.
///
/// # Security
///
/// The cache holds the tokens it has seen active, in memory, for at most the configured
/// maximum lifetime.
#[derive(Clone)]
pub struct Introspector {
    inner: Arc<Inner>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("endpoint", &self.inner.endpoint)
            .field("audience", &self.inner.audience)
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

type Flight = Arc<tokio::sync::OnceCell<Outcome>>;

struct Inner {
    client: OAuthClient,
    uri: http::Uri,
    endpoint: String,
    audience: Option<String>,
    issuer: Option<String>,
    max_cache: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<Box<str>, (Principal, UnixTime)>>,
    inflight: Mutex<HashMap<Box<str>, Flight>>,
}

#[derive(Clone)]
enum Outcome {
    Active(Principal, UnixTime),
    Inactive(Cow<'static, str>),
    Unavailable(String),
    Misconfigured(String),
}

impl Introspector {
    /// An introspector at `endpoint`, authenticating as `client` (its client authentication,
    /// HTTP client, clock and transport policy).
    pub fn builder(client: OAuthClient, endpoint: impl Into<String>) -> IntrospectorBuilder {
        IntrospectorBuilder {
            client,
            endpoint: endpoint.into(),
            audience: None,
            any_audience: false,
            issuer: None,
            any_issuer: false,
            max_cache: Duration::from_secs(60),
            max_entries: 10_000,
        }
    }

    async fn check(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        let inner = &*self.inner;
        let now = inner.client.clock().now();
        if let Ok(cache) = inner.cache.lock()
            && let Some((principal, until)) = cache.get(token)
            && now < *until
        {
            return Ok(TokenVerdict::Valid(principal.clone()));
        }
        let boarding = Boarding::join(&inner.inflight, token);
        let outcome = match boarding.flight.as_deref() {
            Some(flight) => flight.get_or_init(|| self.introspect(token)).await.clone(),
            None => self.introspect(token).await,
        };
        drop(boarding);
        match outcome {
            Outcome::Active(principal, until) => {
                self.remember(token, &principal, until);
                Ok(TokenVerdict::Valid(principal))
            }
            Outcome::Inactive(why) => Ok(TokenVerdict::Invalid(why)),
            Outcome::Unavailable(why) => {
                Err(auth_core::Error::unavailable(inner.endpoint.clone(), why))
            }
            Outcome::Misconfigured(why) => Err(auth_core::Error::Misconfigured(why.into())),
        }
    }

    fn remember(&self, token: &str, principal: &Principal, until: UnixTime) {
        let inner = &*self.inner;
        let now = inner.client.clock().now();
        if let Ok(mut cache) = inner.cache.lock() {
            if cache.len() >= inner.max_entries {
                cache.retain(|_, (_, u)| now < *u);
            }
            if cache.len() < inner.max_entries {
                cache.insert(token.into(), (principal.clone(), until));
            }
        }
    }

    async fn introspect(&self, token: &str) -> Outcome {
        let inner = &*self.inner;
        let params = [("token", token), ("token_type_hint", "access_token")];
        let response = match post_form(&inner.client, &inner.endpoint, &inner.uri, &params).await {
            Ok(r) => r,
            Err(Error::Misconfigured(why)) => return Outcome::Misconfigured(why.into_owned()),
            Err(e) => return Outcome::Unavailable(e.to_string()),
        };
        let now = inner.client.clock().now();
        match response.status().as_u16() {
            200 => {}
            401 | 403 => {
                return Outcome::Misconfigured(format!(
                    "{} refused our client credentials (http {})",
                    inner.endpoint,
                    response.status().as_u16()
                ));
            }
            s => return Outcome::Unavailable(format!("{} answered http {s}", inner.endpoint)),
        }
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(response.body()) else {
            return Outcome::Unavailable(format!(
                "{} answered something that is not a json object",
                inner.endpoint
            ));
        };
        // The server's clock, from its Date header, for `exp` and `nbf`.
        let offset =
            UnixTime::from_date_header(response.headers()).map_or(0, |d| d.signed_secs_since(now));
        let local = |server: UnixTime| server.saturating_shift(offset.saturating_neg());
        self.judge(doc, now, local)
    }

    fn judge(
        &self,
        doc: Map<String, Value>,
        now: UnixTime,
        local: impl Fn(UnixTime) -> UnixTime,
    ) -> Outcome {
        let inner = &*self.inner;
        let expected = response::Expected {
            issuer: inner.issuer.as_deref(),
            audience: inner.audience.as_deref(),
        };
        match response::judge(doc, now, local, expected) {
            Ok((principal, exp)) => {
                let cap = now.saturating_add(inner.max_cache);
                Outcome::Active(principal, exp.map_or(cap, |e| e.min(cap)))
            }
            Err(why) => Outcome::Inactive(why),
        }
    }
}

/// One caller's place in a shared request for one token. The last caller to leave, whether
/// it got the answer or was dropped half-way, removes the entry, so that callers who go
/// away leave nothing behind; a caller still waiting keeps it for the others.
struct Boarding<'a> {
    map: &'a Mutex<HashMap<Box<str>, Flight>>,
    token: &'a str,
    /// `Some` until dropped.
    flight: Option<Flight>,
}

impl<'a> Boarding<'a> {
    fn join(map: &'a Mutex<HashMap<Box<str>, Flight>>, token: &'a str) -> Self {
        let flight = match map.lock() {
            Ok(mut map) => Arc::clone(map.entry(token.into()).or_default()),
            Err(_) => Flight::default(),
        };
        Self {
            map,
            token,
            flight: Some(flight),
        }
    }
}

impl Drop for Boarding<'_> {
    fn drop(&mut self) {
        let Some(flight) = self.flight.take() else {
            return;
        };
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        // Under the lock: new callers clone the flight only under it, so a count of two
        // (the map's and ours) means nobody else waits. Ours is dropped under the lock too,
        // so two callers leaving together cannot both see the other still there.
        let ours = map.get(self.token).is_some_and(|f| Arc::ptr_eq(f, &flight));
        if ours && (flight.initialized() || Arc::strong_count(&flight) == 2) {
            map.remove(self.token);
        }
        drop(flight);
    }
}

impl VerifyToken for Introspector {
    fn verify(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<TokenVerdict, auth_core::Error>> + Send {
        let this = self.clone();
        let token = token.to_owned();
        async move { this.check(&token).await }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Waker};

    use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};

    use super::*;
    use crate::ClientAuth;

    /// An introspector whose endpoint never answers.
    fn stalled() -> Introspector {
        let http = |_req: HttpRequest| std::future::pending::<Result<HttpResponse, HttpError>>();
        let client = OAuthClient::builder("rs")
            .token_endpoint("https://as.example/token")
            .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
            .http_client(Arc::new(http))
            .build()
            .unwrap();
        Introspector::builder(client, "https://as.example/introspect")
            .audience("api")
            .issuer("https://as.example")
            .build()
            .unwrap()
    }

    #[test]
    fn a_bound_tokens_cnf_jkt_goes_on_the_principal() {
        let i = stalled();
        let doc = |cnf: Value| {
            let mut d = serde_json::json!({"active": true, "sub": "s", "aud": "api",
                "iss": "https://as.example"});
            if !cnf.is_null() {
                d["cnf"] = cnf;
            }
            d.as_object().cloned().unwrap()
        };
        let jkt = |d| match i.judge(d, UnixTime::EPOCH, |t| t) {
            Outcome::Active(p, _) => p
                .attribute::<auth_core::Confirmation>()
                .map(|c| c.jkt().map(str::to_owned)),
            _ => panic!("inactive"),
        };
        assert_eq!(
            jkt(doc(serde_json::json!({"jkt": "T"}))),
            Some(Some("T".into()))
        );
        assert_eq!(
            jkt(doc(Value::Null)),
            None,
            "an unbound token stays a bearer token"
        );
    }

    fn in_flight(i: &Introspector) -> usize {
        i.inner.inflight.lock().unwrap().len()
    }

    #[test]
    fn callers_that_go_away_leave_nothing_in_flight() {
        let introspector = stalled();
        let mut cx = Context::from_waker(Waker::noop());
        for n in 0..10_000 {
            let token = format!("token-{}", n % 5_000);
            let mut call = pin!(introspector.verify(&token));
            assert!(call.as_mut().poll(&mut cx).is_pending());
            // The positive twin: while the caller waits, its request is in flight.
            assert_eq!(in_flight(&introspector), 1);
        }
        assert_eq!(in_flight(&introspector), 0);
    }

    #[test]
    fn a_shared_request_stays_while_one_caller_still_waits() {
        let introspector = stalled();
        let mut cx = Context::from_waker(Waker::noop());
        let mut second = Box::pin(introspector.verify("t"));
        {
            let mut first = pin!(introspector.verify("t"));
            assert!(first.as_mut().poll(&mut cx).is_pending());
            assert!(second.as_mut().poll(&mut cx).is_pending());
        }
        // The first caller went away; the second still shares the request.
        assert_eq!(in_flight(&introspector), 1);
        drop(second);
        assert_eq!(in_flight(&introspector), 0);
    }
}
