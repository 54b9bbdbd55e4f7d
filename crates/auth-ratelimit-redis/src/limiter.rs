//! [`RedisLimiter`]: GCRA on Redis, one script call per decision, with an explicit
//! [`FailurePolicy`] and a bounded wait.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use auth_core::OwnQuota;
use auth_core::{Denial, Limiter, Rejection, Transport};
use auth_ratelimit::headers::Headers;
use auth_ratelimit::{Error, LimitDecision, Outcome, Policy, PolicyState, Quota, RateLimiter};
use http::HeaderMap;
use redis::aio::ConnectionManager;

use crate::connect::{self, Redacted};

/// The GCRA script: reads Redis's clock, decides for every quota, writes only on admission, and
/// sets the key to expire when it is fully replenished.
const SCRIPT: &str = include_str!("script.lua");

/// What to do when Redis cannot answer within the timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse to decide: [`Error::Unavailable`], which auth-core answers with 503. The default:
    /// an outage must not turn into unlimited traffic.
    #[default]
    FailClosed,
    /// Let the request through, with no `RateLimit` state to report.
    FailOpen,
    /// Decide with a limiter in this process holding the same quotas (each instance then
    /// admits up to the full quota on its own during the outage).
    FallbackLocal,
}

/// A rate limiter whose state lives in Redis, shared by every instance that uses the same
/// Redis and key prefix.
///
/// Each decision is one `EVALSHA` of a script that reads Redis's `TIME`, runs GCRA for every
/// quota on one hash key (so it works on Redis Cluster: one key, one slot), writes only when
/// the request is admitted, and sets the key to expire when every quota is fully replenished.
/// Times are whole microseconds in Redis: emission intervals are rounded up to the microsecond.
pub struct RedisLimiter {
    pub(crate) conn: ConnectionManager,
    script: redis::Script,
    quotas: Box<[Quota]>,
    pub(crate) micros: Box<[(u64, u64)]>,
    pub(crate) prefix: String,
    on_failure: FailurePolicy,
    local: Option<RateLimiter<String>>,
    headers: Headers,
    pub(crate) dry_run: bool,
    server: String,
}

impl RedisLimiter {
    /// Starts a limiter on the Redis at `url` enforcing `policy` (a
    /// [`Policy`](auth_ratelimit::Policy), or a single quota): `rediss://host:port`
    /// (TLS, the server's certificate verified) or `redis://127.0.0.1:6379` (plaintext, to
    /// a loopback host unless [`RedisLimiterBuilder::danger_allow_plaintext`]). A password goes in the
    /// user info: `rediss://:password@host:6380`.
    pub fn builder(url: impl Into<String>, policy: impl Into<Policy>) -> RedisLimiterBuilder {
        RedisLimiterBuilder {
            url: url.into(),
            ca_pem: None,
            transport: Transport::default(),
            policy: policy.into(),
            prefix: "ratelimit:".to_owned(),
            timeout: Duration::from_millis(250),
            on_failure: FailurePolicy::FailClosed,
        }
    }

    /// Opens the connection now and loads the decision script, so that the first decision
    /// pays for neither (a TLS handshake and a `SCRIPT LOAD` round trip); a server calls it
    /// before it accepts requests. Without it the limiter connects on its first decision.
    /// Limiters made by [`with_policy`](Self::with_policy) share the connection it opens.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when Redis does not answer within the limiter's timeout. The
    /// limiter stays usable: it connects again on its next decision.
    pub async fn connect(&self) -> Result<(), Error> {
        let mut conn = self.conn.clone();
        match self.script.load_async(&mut conn).await {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::Unavailable {
                what: Cow::Owned(self.server.clone()),
                source: Box::new(e),
            }),
        }
    }

    /// Another limiter on this one's connection: the same server, timeout and failure
    /// policy, enforcing `policy` on keys under `prefix`. A process that limits several
    /// things in one Redis (a gateway's budgets and routes) then keeps one multiplexed
    /// connection for all of them, connected and reconnected once, rather than one each.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for quotas a limiter cannot take, as
    /// [`RedisLimiterBuilder::build`].
    pub fn with_policy(
        &self,
        policy: impl Into<Policy>,
        prefix: impl Into<String>,
    ) -> Result<RedisLimiter, Error> {
        let policy = policy.into();
        policy.check()?;
        assemble(
            self.conn.clone(),
            self.server.clone(),
            &policy,
            prefix.into(),
            self.on_failure,
        )
    }

    /// The failure policy.
    pub fn failure_policy(&self) -> FailurePolicy {
        self.on_failure
    }

    /// The quotas applied to every key, in order.
    pub fn quotas(&self) -> &[Quota] {
        &self.quotas
    }

    /// Decides on one request of `cost` units for `key`, on Redis's clock (the raw
    /// decision; [`Limiter::admit`] answers with headers or the 429).
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] when Redis could not answer within the timeout and the policy
    /// is to fail closed (maps to 503 through `auth_core::Error`),
    /// [`Error::CostExceedsBurst`] when no wait could admit `cost`.
    pub async fn check(&self, key: &str, cost: u32) -> Result<LimitDecision, Error> {
        self.decide(key, cost, None).await
    }

    /// Decides on one request of `cost` units for `key` under `quota` alone, in place of the
    /// limiter's quotas: for a caller with a quota of its own, as
    /// `RateLimiter::check_under`. Keep such keys apart from those [`check`](Self::check)
    /// decides (`auth_core::RateLimit` appends `#` and the quota's id).
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check), the burst being `quota`'s.
    pub async fn check_under(
        &self,
        key: &str,
        quota: &Quota,
        cost: u32,
    ) -> Result<LimitDecision, Error> {
        self.decide(key, cost, Some(quota)).await
    }

    /// [`check`](Self::check) under the limiter's quotas, or `own` alone.
    async fn decide(
        &self,
        key: &str,
        cost: u32,
        own: Option<&Quota>,
    ) -> Result<LimitDecision, Error> {
        let own_micros = own.map(micros);
        let (quotas, micros) = match (own, &own_micros) {
            (Some(quota), Some(m)) => (std::slice::from_ref(quota), std::slice::from_ref(m)),
            _ => (&*self.quotas, &*self.micros),
        };
        let burst = quotas.iter().map(Quota::burst).min().unwrap_or(0);
        if cost > burst {
            return Err(Error::CostExceedsBurst { cost, burst });
        }
        let mut call = self.script.key(format!("{}{key}", self.prefix));
        for &(interval, capacity) in micros {
            let step = interval.saturating_mul(u64::from(cost));
            call.arg(step).arg(capacity.saturating_sub(step));
        }
        let mut conn = self.conn.clone();
        let reply: Result<redis::Value, redis::RedisError> = call.invoke_async(&mut conn).await;
        let failure: auth_core::BoxError = match reply {
            Ok(reply) => match self.decision(&reply, cost, micros) {
                Some(decision) => return Ok(decision),
                None => format!("malformed script reply: {reply:?}").into(),
            },
            Err(e) => Box::new(e),
        };
        self.failed(key, cost, own, failure)
    }

    /// The decision when Redis could not give one (`failure` saying why), under the failure
    /// policy.
    pub(crate) fn failed(
        &self,
        key: &str,
        cost: u32,
        own: Option<&Quota>,
        failure: auth_core::BoxError,
    ) -> Result<LimitDecision, Error> {
        #[cfg(feature = "metrics")]
        metrics::counter!("auth_ratelimit_store_errors_total", "store" => "redis").increment(1);
        match (&self.on_failure, &self.local, own) {
            (FailurePolicy::FailOpen, _, _) => Ok(LimitDecision::new(Outcome::Allowed, &[])),
            (FailurePolicy::FallbackLocal, Some(local), None) => local.check_cost(key, cost),
            (FailurePolicy::FallbackLocal, Some(local), Some(quota)) => {
                local.check_under(key, quota, cost)
            }
            _ => Err(Error::Unavailable {
                what: Cow::Owned(self.server.clone()),
                source: failure,
            }),
        }
    }

    /// Turns the script's reply (see `script.lua`: how far each quota's TAT is ahead of
    /// Redis's now, in microseconds) into a decision on `cost` under the quotas of `micros`.
    fn decision(
        &self,
        reply: &redis::Value,
        cost: u32,
        micros: &[(u64, u64)],
    ) -> Option<LimitDecision> {
        let mut states = [PolicyState::default(); auth_ratelimit::MAX_QUOTAS];
        let allowed = match (reply, micros) {
            (&redis::Value::Int(v), &[quota]) => {
                let allowed = v >= 0;
                let ahead = if allowed { v } else { -1 - v };
                states[0] = state(u64::try_from(ahead).ok()?, cost, allowed, quota);
                allowed
            }
            (redis::Value::Array(items), _) if items.len() == micros.len() + 1 => {
                let int = |v: &redis::Value| match *v {
                    redis::Value::Int(i) => u64::try_from(i).ok(),
                    _ => None,
                };
                let allowed = int(&items[0])? == 1;
                for (i, (item, &quota)) in items[1..].iter().zip(micros).enumerate() {
                    *states.get_mut(i)? = state(int(item)?, cost, allowed, quota);
                }
                allowed
            }
            _ => return None,
        };
        let outcome = Outcome::new(allowed, self.dry_run);
        Some(LimitDecision::new(outcome, &states[..micros.len()]))
    }
}

/// A quota's state when its TAT is `ahead` microseconds ahead of now: after the decision
/// when `admitted`, before it when refused; then the quota is one that refused if `cost`
/// more would put it beyond its capacity, and says how long until it would not.
pub(crate) fn state(
    ahead: u64,
    cost: u32,
    admitted: bool,
    (interval, capacity): (u64, u64),
) -> PolicyState {
    let over = ahead
        .saturating_add(interval.saturating_mul(u64::from(cost)))
        .saturating_sub(capacity);
    PolicyState::new(
        capacity.saturating_sub(ahead) / interval.max(1),
        Duration::from_micros(ahead),
        (!admitted && over > 0).then(|| Duration::from_micros(over)),
    )
}

/// A quota's emission interval and capacity (`burst * interval`) in whole microseconds, the
/// interval rounded up: the script's arguments.
pub(crate) fn micros(q: &Quota) -> (u64, u64) {
    let interval = u64::try_from(q.interval().as_nanos().div_ceil(1000)).unwrap_or(u64::MAX);
    (interval, interval.saturating_mul(u64::from(q.burst())))
}

impl RedisLimiter {
    /// The response headers for `decision`, or the 429 when it is over the limit and
    /// enforced, as `RateLimiter::enforce`.
    ///
    /// # Errors
    ///
    /// The 429 rejection.
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere
    pub fn enforce(&self, decision: &LimitDecision) -> Result<HeaderMap, Rejection> {
        self.headers.enforce(&self.quotas, decision)
    }

    /// [`enforce`](Self::enforce) for a decision of [`check_under`](Self::check_under): the
    /// fields name `quota` alone.
    ///
    /// # Errors
    ///
    /// The 429 rejection.
    #[allow(clippy::result_large_err)] // auth-core's Rejection, by value as everywhere
    pub fn enforce_under(
        &self,
        quota: &Quota,
        decision: &LimitDecision,
    ) -> Result<HeaderMap, Rejection> {
        let quotas = std::slice::from_ref(quota);
        Headers::new(quotas, self.headers.is_legacy()).enforce(quotas, decision)
    }
}

/// The fleet's limiter behind auth-core's seam: a gate (`auth_core::RateLimit`), the tower
/// layer and `auth serve` take it as they take the in-memory one.
impl Limiter for RedisLimiter {
    async fn admit(&self, key: &str, cost: u32) -> Result<HeaderMap, Denial> {
        let decision = self
            .check(key, cost)
            .await
            .map_err(|e| Denial::Failed(e.into()))?;
        self.enforce(&decision).map_err(Denial::from)
    }

    async fn admit_under(
        &self,
        key: &str,
        cost: u32,
        quota: &OwnQuota,
    ) -> Result<HeaderMap, Denial> {
        let quota = Quota::try_from(quota).map_err(|e| Denial::Failed(e.into()))?;
        let decision = self
            .check_under(key, &quota, cost)
            .await
            .map_err(|e| Denial::Failed(e.into()))?;
        self.enforce_under(&quota, &decision).map_err(Denial::from)
    }
}

impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("server", &self.server)
            .field("prefix", &self.prefix)
            .field("quotas", &self.quotas)
            .field("on_failure", &self.on_failure)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

/// Configures a [`RedisLimiter`].
#[must_use]
pub struct RedisLimiterBuilder {
    url: String,
    ca_pem: Option<Vec<u8>>,
    transport: Transport,
    policy: Policy,
    prefix: String,
    timeout: Duration,
    on_failure: FailurePolicy,
}

impl fmt::Debug for RedisLimiterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiterBuilder")
            .field("url", &Redacted(&self.url))
            .field("ca_certificate", &self.ca_pem.as_ref().map(|_| "<set>"))
            .field("transport", &self.transport)
            .field("policy", &self.policy)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("on_failure", &self.on_failure)
            .finish()
    }
}

impl RedisLimiterBuilder {
    /// The prefix of every Redis key (default `ratelimit:`); instances that share a prefix
    /// share limits. Put `{...}` around a part of it to pin keys to one Cluster slot if needed.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a decision waits for Redis (default 250 ms), split evenly between
    /// (re)connecting and the reply; then the failure policy applies.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What to do when Redis cannot answer (default [`FailurePolicy::FailClosed`]).
    pub fn failure_policy(mut self, on_failure: FailurePolicy) -> Self {
        self.on_failure = on_failure;
        self
    }

    /// Trusts the CA certificates in `pem` (PEM, one or more `CERTIFICATE` blocks) for the
    /// `rediss://` server, instead of the platform's roots: for a Redis whose certificate a
    /// private CA signed. The server's name is still checked against its certificate.
    pub fn ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem = Some(pem.into());
        self
    }

    /// Allows plaintext `redis://` to a host that is not loopback.
    ///
    /// # Security
    ///
    /// The password and every rate-limit key (API key ids, client addresses) then cross the
    /// network unencrypted, and anyone on the path can read or change the limiter's answers.
    /// Use `rediss://` instead wherever the server supports TLS.
    pub fn danger_allow_plaintext(self) -> Self {
        self.transport(Transport::danger_allow_plaintext())
    }

    /// Where the connection may be plaintext: the policy every auth-rs client of a network
    /// service takes (default: `rediss://`, or `redis://` to loopback and Unix sockets only).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Builds the limiter. It connects lazily, on the first decision, and reconnects on its
    /// own after a failure; call this inside the Tokio runtime that will drive it.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`], saying why, for a URL the `redis` crate refuses, plaintext
    /// `redis://` to a host that is not loopback (see [`RedisLimiterBuilder::danger_allow_plaintext`]),
    /// `rediss://...#insecure`, a CA certificate that is not PEM or comes with a `redis://`
    /// URL, a zero timeout, or quotas a limiter cannot take; also when called outside a
    /// Tokio runtime, which the `redis` crate needs to spawn the connection's task on.
    pub fn build(self) -> Result<RedisLimiter, Error> {
        self.policy.check()?;
        if self.timeout.is_zero() {
            return Err(Error::Misconfigured(
                "timeout must be longer than zero".into(),
            ));
        }
        let (conn, server) = connect::manager(
            &self.url,
            self.ca_pem.as_deref(),
            self.transport,
            self.timeout,
            "RedisLimiter::build",
        )?;
        assemble(conn, server, &self.policy, self.prefix, self.on_failure)
    }
}

/// A limiter of `policy` under `prefix` on the connection `conn` to `server`.
fn assemble(
    conn: ConnectionManager,
    server: String,
    policy: &Policy,
    prefix: String,
    on_failure: FailurePolicy,
) -> Result<RedisLimiter, Error> {
    let local = match on_failure {
        FailurePolicy::FallbackLocal => Some(RateLimiter::builder(policy.clone()).build()?),
        _ => None,
    };
    Ok(RedisLimiter {
        conn,
        script: redis::Script::new(SCRIPT),
        headers: policy.headers(),
        quotas: policy.quotas().into(),
        micros: policy.quotas().iter().map(micros).collect(),
        prefix,
        on_failure,
        local,
        dry_run: policy.is_dry_run(),
        server,
    })
}
