//! `auth serve --config FILE`: the few settings that have embedded defaults, as strict JSON
//! (an unknown member is an error, so that a typo is not silently ignored).

use std::path::Path;
use std::time::Duration;

use auth_ratelimit::Quota;
use serde_json::{Map, Value};

use crate::output::{Error, read_file};

/// The gateway's settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The `iss` of issued tokens and of the metadata; default `http(s)://<bound address>`.
    pub(crate) issuer: Option<String>,
    /// The `aud` of issued tokens and what the API accepts; default the issuer.
    pub(crate) audience: Option<String>,
    /// Access token lifetime.
    pub(crate) token_ttl: Duration,
    /// Per-principal quota on the API.
    pub(crate) quota: Quota,
    /// The scope `GET /api/admin` needs.
    pub(crate) admin_scope: String,
}

impl Config {
    /// The embedded defaults: 5-minute tokens, 60 requests a minute, scope `admin`.
    pub(crate) fn defaults() -> Result<Self, Error> {
        Ok(Self {
            issuer: None,
            audience: None,
            token_ttl: Duration::from_secs(300),
            quota: quota(60, 60, None)?,
            admin_scope: "admin".into(),
        })
    }

    /// Reads `path` over the defaults.
    pub(crate) fn load(path: Option<&Path>) -> Result<Self, Error> {
        let mut config = Self::defaults()?;
        let Some(path) = path else {
            return Ok(config);
        };
        let bad = |what: &str| Error::config(format!("{}: {what}", path.display()));
        let value: Value = serde_json::from_slice(&read_file(path)?)
            .map_err(|e| bad(&format!("not JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(bad("must be a JSON object"));
        };
        for (key, value) in &map {
            match key.as_str() {
                "issuer" => config.issuer = Some(string(value).ok_or_else(|| bad("issuer"))?),
                "audience" => config.audience = Some(string(value).ok_or_else(|| bad("audience"))?),
                "admin_scope" => {
                    config.admin_scope = string(value)
                        .filter(|s| auth_core::principal::is_scope_token(s))
                        .ok_or_else(|| bad("admin_scope must be one scope"))?;
                }
                "token_ttl_secs" => {
                    let secs = value.as_u64().filter(|s| (1..=86_400).contains(s));
                    config.token_ttl =
                        Duration::from_secs(secs.ok_or_else(|| bad("token_ttl_secs: 1 to 86400"))?);
                }
                "rate_limit" => config.quota = rate_limit(value).map_err(|e| bad(&e))?,
                other => return Err(bad(&format!("unknown setting {other:?}"))),
            }
        }
        Ok(config)
    }
}

fn string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

fn rate_limit(value: &Value) -> Result<Quota, String> {
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
    quota(requests, period, burst).map_err(|e| match e {
        Error::Config(m) | Error::Rejected { message: m, .. } => m,
    })
}

fn quota(requests: u32, period_secs: u32, burst: Option<u32>) -> Result<Quota, Error> {
    let quota = Quota::new(requests, Duration::from_secs(period_secs.into()))
        .map_err(|e| Error::config(format!("rate limit: {e}")))?;
    match burst {
        Some(b) => quota
            .with_burst(b)
            .map_err(|e| Error::config(format!("rate limit: {e}"))),
        None => Ok(quota),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Error> {
        let path =
            std::env::temp_dir().join(format!("auth-cli-config-{}.json", std::process::id()));
        std::fs::write(&path, text).unwrap();
        let c = Config::load(Some(&path));
        std::fs::remove_file(&path).unwrap();
        c
    }

    #[test]
    fn reads_settings_and_refuses_typos() {
        let c = load(r#"{"token_ttl_secs": 60, "rate_limit": {"requests": 3, "period_secs": 60}}"#)
            .unwrap();
        assert_eq!(c.token_ttl, Duration::from_secs(60));
        assert_eq!(c.quota.count(), 3);
        assert!(load(r#"{"token_ttl": 60}"#).is_err());
        assert!(load(r#"{"rate_limit": {"requests": 0, "period_secs": 60}}"#).is_err());
        assert!(load(r#"{"rate_limit": {"requests": 3}}"#).is_err());
        assert!(load(r#"{"admin_scope": "two words"}"#).is_err());
        assert!(load("[]").is_err());
        assert_eq!(Config::load(None).unwrap().admin_scope, "admin");
    }
}
