//! The `rate_limit` objects of the config (`{"requests", "period_secs", "burst"}`), for the
//! gateway's budgets and for its routes.

use std::time::Duration;

use auth_ratelimit::Quota;
use serde_json::{Map, Value};

/// Reads a `rate_limit` object.
pub(crate) fn rate_limit(value: &Value) -> Result<Quota, String> {
    let map: &Map<String, Value> = value.as_object().ok_or("rate_limit must be an object")?;
    let mut requests = None;
    let mut period = None;
    let mut burst = None;
    for (key, value) in map {
        let n = value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(format!("rate_limit.{key} must be a whole number"))?;
        match key.as_str() {
            "requests" => requests = Some(n),
            "period_secs" => period = Some(n),
            "burst" => burst = Some(n),
            other => return Err(format!("unknown rate_limit setting {other:?}")),
        }
    }
    let requests = requests.ok_or("rate_limit.requests is required")?;
    let period = period.ok_or("rate_limit.period_secs is required")?;
    quota(requests, period, burst)
}

/// A quota of `requests` per `period_secs`, with `burst` when given.
pub(crate) fn quota(requests: u32, period_secs: u32, burst: Option<u32>) -> Result<Quota, String> {
    let quota = Quota::new(requests, Duration::from_secs(period_secs.into()))
        .map_err(|e| format!("rate limit: {e}"))?;
    match burst {
        Some(b) => quota.with_burst(b).map_err(|e| format!("rate limit: {e}")),
        None => Ok(quota),
    }
}
