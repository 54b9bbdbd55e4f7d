//! The gateway's rate-limit budgets. Each endpoint class (the API, the token endpoint, the
//! introspection endpoint) has its own, and within a class:
//!
//! - a caller that authenticated spends its own budget, keyed by who it is (the principal's
//!   subject, the client's id), never its address: nobody else's traffic from the same
//!   address or NAT can exhaust it. On the API, an API key with a rate limit of its own
//!   (`auth apikey create --rate N/SECS`), and every access token minted from it, spends
//!   that quota instead, keyed by the key's id and named `key` in the `RateLimit` fields;
//!   it neither spends nor is held to its subject's default budget;
//! - a failed authentication spends the failure budget of its client address (IPv6 by /64,
//!   found behind the configured trusted proxies only), which only failures touch. Once it is
//!   empty, further failures from that address get 429 instead of 401; a valid credential
//!   from the same address is still served. (The credential is checked either way: a 429 in
//!   place of a 401 tells no more than the 401 would, and API keys and signed tokens are
//!   far beyond guessing.)

use std::net::{IpAddr, SocketAddr};

use auth_core::{BoxLimiter, Denial, Limiter as _, PeerAddr, Principal, RateLimit};
use auth_ratelimit::client_addr::TrustedProxies;
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::log::Log;

/// The endpoint classes, each with budgets of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// `/api/*`.
    Api,
    /// `POST /oauth/token`.
    Token,
    /// `POST /oauth/introspect`.
    Introspect,
}

impl Class {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Token => "token",
            Self::Introspect => "introspect",
        }
    }
}

/// The budgets of authenticated callers and of failures, and the proxy walk. A budget is
/// any [`Limiter`](auth_core::Limiter): this process's, or Redis shared by a fleet.
#[derive(Debug, Clone)]
pub(crate) struct Budgets {
    /// Authenticated callers: `<class>:<subject or client id>`.
    pub(crate) granted: BoxLimiter,
    /// Failed authentications: `<class>:<client address>`.
    pub(crate) failures: BoxLimiter,
    /// Who may say who the client is.
    pub(crate) proxies: TrustedProxies,
    pub(crate) log: Log,
}

impl Budgets {
    /// The client address a request's failures are counted under: the TCP peer, or the
    /// address the trusted proxies name; IPv6 reduced to its configured prefix.
    pub(crate) fn client_addr(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        self.proxies.client_addr(headers, peer.ip())
    }

    /// One request from the authenticated `who` in `class`: the RateLimit headers to add, or
    /// the 429 (503 when a shared store cannot decide) to answer instead.
    pub(crate) async fn granted(&self, class: Class, who: &str) -> Result<HeaderMap, Denial> {
        let key = format!("{}:{who}", class.as_str());
        self.logged(self.granted.admit(&key, 1).await)
    }

    /// One failed authentication from `addr` in `class`: the headers to add to the refusal,
    /// or the 429 to answer instead once the address's failure budget is spent.
    pub(crate) async fn failed(&self, class: Class, addr: IpAddr) -> Result<HeaderMap, Denial> {
        let key = format!("{}:{addr}", class.as_str());
        self.logged(self.failures.admit(&key, 1).await)
    }

    /// The gate of `class`'s failure budget: keyed by the client address behind the trusted
    /// proxies (the connection's [`PeerAddr`] must be in the extensions).
    pub(crate) fn failure_gate(
        &self,
        class: Class,
    ) -> RateLimit<BoxLimiter, impl Fn(&Parts) -> Option<String> + Send + Sync + use<>> {
        let proxies = self.proxies.clone();
        RateLimit::new(self.failures.clone(), move |parts: &Parts| {
            let peer = parts.extensions.get::<PeerAddr>()?;
            let addr = proxies.client_addr(&parts.headers, peer.0.ip());
            Some(format!("{}:{addr}", class.as_str()))
        })
    }

    /// The gate of `class`'s budgets of authenticated principals, keyed by subject; a
    /// principal with a quota of its own (an API key's) is held to that quota alone, keyed
    /// `<class>:<subject>#<key id>`.
    pub(crate) fn principal_gate(
        &self,
        class: Class,
    ) -> RateLimit<BoxLimiter, impl Fn(&Parts) -> Option<String> + Send + Sync + use<>> {
        RateLimit::new(self.granted.clone(), move |parts: &Parts| {
            let principal = parts.extensions.get::<Principal>()?;
            Some(format!("{}:{}", class.as_str(), principal.subject()))
        })
        .with_own_quotas()
    }

    /// Logs a store that could not decide.
    #[allow(clippy::result_large_err)] // auth-core's Denial, by value as every gate returns it
    fn logged(&self, admitted: Result<HeaderMap, Denial>) -> Result<HeaderMap, Denial> {
        if let Err(Denial::Failed(e)) = &admitted {
            self.log
                .event("ratelimit_error", &[("error", json!(e.to_string()))]);
        }
        admitted
    }
}

/// Whether a refusal is a failed authentication (the caller's doing), not the server's.
pub(crate) fn is_failure(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}
