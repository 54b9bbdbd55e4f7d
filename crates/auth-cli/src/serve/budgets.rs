//! The gateway's rate-limit budgets. Each endpoint class (the API, the token endpoint, the
//! introspection endpoint) has its own, and within a class:
//!
//! - a caller that authenticated spends its own budget, keyed by who it is (the principal's
//!   subject, the client's id), never its address: nobody else's traffic from the same
//!   address or NAT can exhaust it;
//! - a failed authentication spends the failure budget of its client address (IPv6 by /64,
//!   found behind the configured trusted proxies only), which only failures touch. Once it is
//!   empty, further failures from that address get 429 instead of 401; a valid credential
//!   from the same address is still served. (The credential is checked either way: a 429 in
//!   place of a 401 tells no more than the 401 would, and API keys and signed tokens are
//!   far beyond guessing.)

use std::net::{IpAddr, SocketAddr};

use auth_ratelimit::client_addr::TrustedProxies;
use auth_ratelimit::{RateLimiter, Store as _};
use auth_ratelimit_redis::RedisLimiter;
use http::{HeaderMap, StatusCode};
use serde_json::json;

use super::app::Reply;
use super::log::Log;

/// Where rate-limit state lives: this process, or Redis shared by a fleet.
#[derive(Debug)]
pub(crate) enum Limits {
    /// In memory, this process only.
    Local(RateLimiter<String>),
    /// In Redis, shared by every instance pointed at it.
    Redis(RedisLimiter),
}

/// The endpoint classes, each with budgets of its own.
#[derive(Debug, Clone, Copy)]
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

/// The budgets of authenticated callers and of failures, and the proxy walk.
#[derive(Debug)]
pub(crate) struct Budgets {
    /// Authenticated callers: `<class>:<subject or client id>`.
    pub(crate) granted: Limits,
    /// Failed authentications: `<class>:<client address>`.
    pub(crate) failures: Limits,
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
    pub(crate) async fn granted(&self, class: Class, who: &str) -> Result<HeaderMap, Box<Reply>> {
        take(
            &self.granted,
            &format!("{}:{who}", class.as_str()),
            self.log,
        )
        .await
    }

    /// One failed authentication from `addr` in `class`: the headers to add to the refusal,
    /// or the 429 to answer instead once the address's failure budget is spent.
    pub(crate) async fn failed(&self, class: Class, addr: IpAddr) -> Result<HeaderMap, Box<Reply>> {
        take(
            &self.failures,
            &format!("{}:{addr}", class.as_str()),
            self.log,
        )
        .await
    }
}

/// Whether a refusal is a failed authentication (the caller's doing), not the server's.
pub(crate) fn is_failure(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
    )
}

async fn take(limits: &Limits, key: &str, log: Log) -> Result<HeaderMap, Box<Reply>> {
    let enforced = match limits {
        Limits::Local(local) => local.enforce(&local.check(key)),
        Limits::Redis(redis) => match redis.check(key, 1).await {
            Ok(decision) => redis.enforce(&decision),
            Err(e) => {
                let e = auth_core::Error::from(e);
                log.event("ratelimit_error", &[("error", json!(e.to_string()))]);
                return Err(Box::new(Reply::from_response(e.to_response())));
            }
        },
    };
    enforced.map_err(|limited| Box::new(Reply::from_response(limited.to_response())))
}
