//! [`PerIp`]: a rate limit per client address, the client found behind the trusted proxies
//! by [`TrustedProxies`] (IPv6 keyed by its /64 unless configured otherwise).

use std::fmt;

use auth_core::{Denial, Error, Gate, Limiter, PeerAddr};
use http::HeaderMap;
use http::request::Parts;

use crate::client_addr::TrustedProxies;
use crate::{Policy, RateLimiter};

/// A [`Gate`] that limits each client address with `limiter`.
///
/// The TCP peer must be in the request's extensions as [`PeerAddr`]: `auth serve` and the
/// hyper examples put it there, and auth-tower's layer copies it from axum's
/// `ConnectInfo<SocketAddr>`. A request without one is a server misconfiguration (500), not
/// a request to let through unlimited.
///
/// ```
/// use auth_core::{Gate, PeerAddr};
/// use auth_ratelimit::{PerIp, Quota};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let gate = PerIp::in_memory(Quota::per_minute(1).unwrap()).unwrap();
/// let request = |peer: &str| {
///     let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
///     parts.extensions.insert(PeerAddr(peer.parse().unwrap()));
///     parts
/// };
/// assert!(gate.check(&mut request("192.0.2.1:1000")).await.is_ok());
/// assert_eq!(gate.check(&mut request("192.0.2.1:2000")).await.unwrap_err().status(), 429);
/// // Another address, its own budget; an IPv6 client's whole /64 shares one.
/// assert!(gate.check(&mut request("[2001:db8::1]:1")).await.is_ok());
/// assert_eq!(gate.check(&mut request("[2001:db8::2]:1")).await.unwrap_err().status(), 429);
/// # });
/// ```
pub struct PerIp<L> {
    limiter: L,
    proxies: TrustedProxies,
    cost: u32,
}

impl PerIp<RateLimiter<String>> {
    /// Limits each client address to `policy` with an in-memory [`RateLimiter`] (default
    /// bounds: idle keys evicted, at most [`DEFAULT_MAX_KEYS`](crate::DEFAULT_MAX_KEYS)).
    ///
    /// # Errors
    ///
    /// As [`RateLimiterBuilder::build`](crate::RateLimiterBuilder::build).
    pub fn in_memory(policy: impl Into<Policy>) -> Result<Self, crate::Error> {
        Ok(Self::new(RateLimiter::builder(policy).build()?))
    }
}

impl<L: Limiter> PerIp<L> {
    /// Limits each client address; no proxy is trusted (the TCP peer is the client).
    pub fn new(limiter: L) -> Self {
        Self {
            limiter,
            proxies: TrustedProxies::none(),
            cost: 1,
        }
    }

    /// Finds the client behind `proxies` (`Forwarded` or `X-Forwarded-For` from the proxies
    /// you run, and only those).
    #[must_use]
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Each request costs `cost` units instead of one.
    #[must_use]
    pub fn with_cost(mut self, cost: u32) -> Self {
        self.cost = cost;
        self
    }
}

impl<L: Limiter> Gate for PerIp<L> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        let Some(PeerAddr(peer)) = request.extensions.get::<PeerAddr>().copied() else {
            return Err(Error::Misconfigured(
                "per-IP limit without a client address: the server must put PeerAddr into \
                 the request's extensions (with axum, serve with \
                 into_make_service_with_connect_info::<SocketAddr>())"
                    .into(),
            )
            .into());
        };
        let client = self.proxies.client_addr(&request.headers, peer.ip());
        self.limiter.admit(&client.to_string(), self.cost).await
    }
}

impl<L: fmt::Debug> fmt::Debug for PerIp<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerIp")
            .field("limiter", &self.limiter)
            .field("proxies", &self.proxies)
            .field("cost", &self.cost)
            .finish()
    }
}
