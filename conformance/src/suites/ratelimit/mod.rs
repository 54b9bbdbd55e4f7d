//! auth-ratelimit: GCRA sequences step by step, the limiter's bounds as properties on a manual
//! clock, concurrency, the `RateLimit` / `Retry-After` fields both ways, and client addresses
//! behind proxies.
//!
//! The GCRA limiter in `gcra`, the fields and client addresses in `fields`.

mod fields;
mod gcra;

use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_ratelimit::{Quota, RateLimiter};
use proptest::test_runner::TestCaseError;
use serde_json::Value;

use crate::harness::Suite;

const GCRA: &str = include_str!("../../../vectors/gcra_derived_vectors.json");
const FIELDS: &str = include_str!("../../../vectors/http_ratelimit_retryafter_vectors.json");

/// 2023-11-14T22:13:20Z: every test clock starts here.
const BASE: u64 = 1_700_000_000;

type Limiter<K> = RateLimiter<K, ManualClock>;

fn at_ms(ms: u64) -> UnixTime {
    UnixTime::from_secs(BASE).saturating_add(Duration::from_millis(ms))
}

/// A limiter of one quota: one request per `t_ms`, burst `b`.
fn limiter<K: std::hash::Hash + Eq + Clone>(t_ms: u64, b: u32, clock: &ManualClock) -> Limiter<K> {
    #[allow(clippy::expect_used)] // strategies only produce valid quotas
    let quota = Quota::new(1, Duration::from_millis(t_ms))
        .and_then(|q| q.with_burst(b))
        .expect("valid quota");
    #[allow(clippy::expect_used)]
    RateLimiter::builder(quota)
        .clock(clock.clone())
        .build()
        .expect("valid limiter")
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn fail(why: String) -> TestCaseError {
    TestCaseError::fail(why)
}

fn json() -> Result<(Value, Value), String> {
    let g = serde_json::from_str(GCRA).map_err(|e| e.to_string())?;
    let f = serde_json::from_str(FIELDS).map_err(|e| e.to_string())?;
    Ok((g, f))
}

trait NowTime {
    fn now_time(&self) -> UnixTime;
}

impl NowTime for ManualClock {
    fn now_time(&self) -> UnixTime {
        auth_core::Clock::now(self)
    }
}

/// The auth-ratelimit suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-ratelimit");
    gcra::add(&mut s);
    fields::add(&mut s);
    s
}
