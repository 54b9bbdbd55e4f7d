//! The server-side seam: a [`Gate`] is one check a request head must pass before the
//! application sees it (authentication, a scope, a rate limit). It answers the headers to add
//! to the eventual response (the `RateLimit` fields), or the [`Denial`] to answer with; it
//! may add to the request's extensions (the [`Principal`]).
//!
//! Gates compose: [`GateExt::then`] runs two in order, [`GateExt::on_refusal`] spends a
//! second gate (a failure budget) only when the first refuses the caller. Every adapter runs
//! one gate: auth-tower's layer, `auth serve`, a hand-written hyper service, a serverless
//! handler.
//!
//! ```
//! use auth_core::{Gate, GateExt, Guard, RequireScope, ScopeRequirement, TokenAuthenticator};
//! use auth_core::{Challenge, CredentialKind, Principal, TokenVerdict};
//!
//! let verify = |token: &str| -> Result<TokenVerdict, auth_core::Error> {
//!     Ok(match token {
//!         "good" => TokenVerdict::Valid(Principal::new("alice", CredentialKind::ApiKey)),
//!         _ => TokenVerdict::Invalid("unknown".into()),
//!     })
//! };
//! let gate = Guard::new(TokenAuthenticator::bearer("api", verify))
//!     .then(RequireScope::new(ScopeRequirement::parse("write")?, [Challenge::bearer()]));
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let (mut parts, ()) = http::Request::get("/").header("authorization", "Bearer good")
//!     .body(())?.into_parts();
//! let refused = gate.check(&mut parts).await.unwrap_err();
//! assert_eq!(refused.to_response().status(), 403);
//! # Ok::<_, Box<dyn std::error::Error>>(()) })?;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http::request::Parts;
use http::{HeaderMap, StatusCode};

use crate::BoxFuture;
use crate::authenticate::{Authenticate, Guard};
use crate::challenge::Challenge;
use crate::principal::{Principal, ScopeRequirement};
use crate::rejection::{Denial, Rejection};

/// Decides whether a request may pass: the headers for its response, or the refusal.
pub trait Gate: Send + Sync {
    /// Checks `request`, adding to its extensions what later gates and the application need.
    ///
    /// # Errors
    ///
    /// The [`Denial`] to answer with: a [`Rejection`] (400, 401, 403, 429), or an
    /// [`Error`](crate::Error) when no decision could be reached (503, 500).
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send;
}

/// [`Gate`] in object-safe form, implemented for every gate: what [`BoxGate`] holds.
pub trait DynGate: Send + Sync {
    /// [`Gate::check`], boxed.
    fn check_boxed<'a>(
        &'a self,
        request: &'a mut Parts,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>>;
}

impl<G: Gate> DynGate for G {
    fn check_boxed<'a>(
        &'a self,
        request: &'a mut Parts,
    ) -> BoxFuture<'a, Result<HeaderMap, Denial>> {
        Box::pin(self.check(request))
    }
}

/// A type-erased, cheaply cloneable gate: for gates chosen at run time (from a
/// configuration), and to name a stack's type.
#[derive(Clone)]
pub struct BoxGate(Arc<dyn DynGate>);

impl BoxGate {
    /// Erases `gate`'s type.
    pub fn new(gate: impl Gate + 'static) -> Self {
        Self(Arc::new(gate))
    }
}

impl fmt::Debug for BoxGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxGate").finish_non_exhaustive()
    }
}

impl Gate for BoxGate {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        self.0.check_boxed(request).await
    }
}

impl<G: Gate + ?Sized> Gate for Arc<G> {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        (**self).check(request)
    }
}

/// Combinators on [`Gate`].
pub trait GateExt: Gate + Sized {
    /// `self`, then `next` if `self` let the request through; the headers of both.
    fn then<B: Gate>(self, next: B) -> Then<Self, B> {
        Then { first: self, next }
    }

    /// `self`; when it refuses the caller (400, 401, 403), `budget` is checked too: a
    /// refusal of `budget` (429) answers instead, and its headers go onto `self`'s refusal.
    /// Failed authentications then spend a budget of their own (per client address, say),
    /// which requests that pass never touch. The server's own failures (503, 500) spend
    /// nothing.
    fn on_refusal<B: Gate>(self, budget: B) -> OnRefusal<Self, B> {
        OnRefusal { gate: self, budget }
    }

    /// Erases the type.
    fn boxed(self) -> BoxGate
    where
        Self: 'static,
    {
        BoxGate::new(self)
    }
}

impl<G: Gate> GateExt for G {}

/// Two gates in order. See [`GateExt::then`].
#[derive(Debug, Clone)]
pub struct Then<A, B> {
    first: A,
    next: B,
}

impl<A: Gate, B: Gate> Gate for Then<A, B> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        let mut headers = self.first.check(request).await?;
        let more = self.next.check(request).await?;
        // Usually one side has no headers (authentication adds none): no copy then.
        if headers.is_empty() {
            return Ok(more);
        }
        for (name, value) in &more {
            headers.append(name, value.clone());
        }
        Ok(headers)
    }
}

/// A gate whose refusals of the caller spend a budget. See [`GateExt::on_refusal`].
#[derive(Debug, Clone)]
pub struct OnRefusal<G, B> {
    gate: G,
    budget: B,
}

impl<G: Gate, B: Gate> Gate for OnRefusal<G, B> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        let refusal = match self.gate.check(request).await {
            Ok(headers) => return Ok(headers),
            Err(Denial::Rejected(r)) if is_the_callers(r.status()) => r,
            Err(other) => return Err(other),
        };
        let headers = self.budget.check(request).await?;
        Err(headers
            .iter()
            .fold(refusal, |r, (name, value)| {
                r.with_header(name.clone(), value.clone())
            })
            .into())
    }
}

fn is_the_callers(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}

/// Authentication: runs the guard's authenticator, enforces its scope requirement, and puts
/// the principal into the request's extensions.
impl<A: Authenticate> Gate for Guard<A> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        self.authorize(request).await?;
        Ok(HeaderMap::new())
    }
}

/// A per-route scope requirement, checked against the [`Principal`] an earlier gate put into
/// the extensions: none is 401, one without the scopes is 403 `insufficient_scope`.
#[derive(Debug, Clone)]
pub struct RequireScope {
    requirement: ScopeRequirement,
    challenges: Vec<Challenge>,
}

impl RequireScope {
    /// Requires `requirement`; `challenges` are the realm's challenge templates (for example
    /// `Challenge::bearer().with_realm("api")`), sent with the 401 or 403.
    pub fn new(
        requirement: ScopeRequirement,
        challenges: impl IntoIterator<Item = Challenge>,
    ) -> Self {
        Self {
            requirement,
            challenges: challenges.into_iter().collect(),
        }
    }
}

impl Gate for RequireScope {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let decided = match request.extensions.get::<Principal>() {
            None => Err(Rejection::missing(self.challenges.clone()).into()),
            Some(p) if !self.requirement.is_satisfied_by(p.scopes()) => {
                Err(Rejection::insufficient_scope(
                    self.challenges.clone(),
                    &self.requirement.challenge_scope(),
                )
                .into())
            }
            Some(_) => Ok(HeaderMap::new()),
        };
        std::future::ready(decided)
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // Denial by value, as every gate returns it
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use http::HeaderValue;

    use super::*;
    use crate::authenticate::{TokenAuthenticator, TokenVerdict};
    use crate::principal::CredentialKind;
    use crate::rejection::Error;

    fn run<G: Gate>(gate: &G, authorization: Option<&str>) -> Result<HeaderMap, Denial> {
        let mut request = http::Request::get("/");
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        let (mut parts, ()) = request.body(()).unwrap_or_default().into_parts();
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(gate.check(&mut parts)))
            .unwrap_or_else(|e| Err(Error::Misconfigured(e.to_string().into()).into()))
    }

    type Verify = fn(&str) -> Result<TokenVerdict, Error>;

    fn guard() -> Guard<TokenAuthenticator<Verify>> {
        fn verify(token: &str) -> Result<TokenVerdict, Error> {
            match token {
                "good" => Ok(TokenVerdict::Valid(Principal::new(
                    "a",
                    CredentialKind::ApiKey,
                ))),
                "down" => Err(Error::unavailable("keys", "down")),
                _ => Ok(TokenVerdict::Invalid("bad".into())),
            }
        }
        Guard::new(TokenAuthenticator::bearer("api", verify as Verify))
    }

    /// A budget: admits `limit` requests with a header, then refuses with 429; counts calls.
    struct Budget {
        limit: usize,
        calls: AtomicUsize,
    }

    impl Gate for Budget {
        async fn check(&self, _: &mut Parts) -> Result<HeaderMap, Denial> {
            if self.calls.fetch_add(1, Ordering::SeqCst) >= self.limit {
                return Err(Rejection::rate_limited(Duration::from_secs(7)).into());
            }
            let mut h = HeaderMap::new();
            h.insert("ratelimit", HeaderValue::from_static("\"f\";r=0;t=1"));
            Ok(h)
        }
    }

    fn budget(limit: usize) -> Budget {
        Budget {
            limit,
            calls: AtomicUsize::new(0),
        }
    }

    #[test]
    fn then_runs_both_and_merges_their_headers_or_stops_at_a_refusal() {
        let gate = guard().then(budget(1));
        assert!(
            run(&gate, Some("Bearer good"))
                .unwrap()
                .contains_key("ratelimit")
        );
        assert_eq!(run(&gate, Some("Bearer good")).unwrap_err().status(), 429);
        let bad = guard().then(budget(5));
        assert_eq!(run(&bad, Some("Bearer nope")).unwrap_err().status(), 401);
        assert_eq!(
            bad.next.calls.load(Ordering::SeqCst),
            0,
            "a refused request spent"
        );
    }

    #[test]
    fn on_refusal_spends_only_on_the_callers_failures() {
        let gate = guard().on_refusal(budget(1));
        // A pass spends nothing.
        assert!(run(&gate, Some("Bearer good")).is_ok());
        assert_eq!(gate.budget.calls.load(Ordering::SeqCst), 0);
        // A caller's failure spends, and carries the budget's headers.
        let first = run(&gate, Some("Bearer nope")).unwrap_err();
        assert_eq!(first.status(), 401);
        assert!(first.to_response().headers().contains_key("ratelimit"));
        // Once spent, failures are 429; a valid credential still passes.
        assert_eq!(run(&gate, Some("Bearer nope")).unwrap_err().status(), 429);
        assert!(run(&gate, Some("Bearer good")).is_ok());
        // The server's own failure spends nothing.
        let calls = gate.budget.calls.load(Ordering::SeqCst);
        assert_eq!(run(&gate, Some("Bearer down")).unwrap_err().status(), 503);
        assert_eq!(gate.budget.calls.load(Ordering::SeqCst), calls);
    }

    #[test]
    fn a_boxed_gate_is_the_gate() {
        let gate = guard().then(budget(1)).boxed();
        assert!(run(&gate, Some("Bearer good")).is_ok());
        assert_eq!(run(&gate, Some("Bearer good")).unwrap_err().status(), 429);
        assert_eq!(run(&Arc::new(guard()), None).unwrap_err().status(), 401);
    }
}
