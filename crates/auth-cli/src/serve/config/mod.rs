//! `auth serve --config FILE`: the few settings that have embedded defaults, as strict JSON
//! (an unknown or repeated member is an error, so that a typo is not silently ignored).
//!
//! This module and its two children read bytes into settings and nothing else: they use no
//! other module of the crate (`crate::` or `super::` outside `config/`) and only the library
//! crates, so that the fuzz crate compiles these same files (`fuzz/src/serve_config.rs`)
//! without linking the gateway. The file is read, and errors become the command's, in
//! `serve::load_config`.

mod rate_limits;
pub(crate) mod routes;

use std::time::Duration;

use auth_ratelimit::Quota;
use auth_ratelimit::client_addr::{ForwardedHeader, TrustedProxies};
use serde_json::Value;

use self::rate_limits::{quota, rate_limit};

/// The gateway's settings.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The `iss` of issued tokens and of the metadata; default `http(s)://<bound address>`.
    pub(crate) issuer: Option<String>,
    /// The `aud` of issued tokens and what the API accepts; default the issuer.
    pub(crate) audience: Option<String>,
    /// Access token lifetime.
    pub(crate) token_ttl: Duration,
    /// The quota of each authenticated caller, per endpoint class: a principal on the API,
    /// a client at the token endpoint, a client at the introspection endpoint.
    pub(crate) quota: Quota,
    /// The quota of failed authentications from one client address, per endpoint class.
    pub(crate) failure_quota: Quota,
    /// Who may say who the client is (`Forwarded` / `X-Forwarded-For`), and how IPv6
    /// clients are grouped; by default the TCP peer is the client, IPv6 keyed by /64.
    pub(crate) proxies: TrustedProxies,
    /// The scope `GET /api/admin` needs.
    pub(crate) admin_scope: String,
    /// The service behind the gateway (`--upstream` wins over it).
    pub(crate) upstream: Option<String>,
    /// How long the upstream may take to answer with its head before a 504.
    pub(crate) upstream_timeout: Duration,
    /// How many connections may be open at once (idle keep-alive ones included).
    pub(crate) max_connections: usize,
    /// How long a request head may take to arrive (slow clients are cut off).
    pub(crate) head_timeout: Duration,
    /// Whether the upstream gets `X-Auth-Token`, a gateway-signed JWT of the caller.
    pub(crate) upstream_token: bool,
    /// The route policies for the upstream (`None`: the implied route `/`).
    pub(crate) routes: Option<Vec<routes::RouteConfig>>,
    /// DPoP proofs must carry the server's nonce, which changes this often (RFC 9449 §8).
    pub(crate) dpop_nonce: Option<Duration>,
}

impl Config {
    /// The embedded defaults: 5-minute tokens, 60 requests a minute for each caller and for
    /// each address's failures, no trusted proxy, scope `admin`.
    pub(crate) fn defaults() -> Result<Self, String> {
        Ok(Self {
            issuer: None,
            audience: None,
            token_ttl: Duration::from_secs(300),
            quota: quota(60, 60, None)?,
            failure_quota: quota(60, 60, None)?,
            proxies: TrustedProxies::none(),
            admin_scope: "admin".into(),
            upstream: None,
            upstream_timeout: Duration::from_secs(30),
            routes: None,
            upstream_token: false,
            max_connections: 10_000,
            head_timeout: Duration::from_secs(10),
            dpop_nonce: None,
        })
    }

    /// Reads a config file's bytes over the defaults; the error says what is wrong (the
    /// caller adds the file's name).
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let mut config = Self::defaults()?;
        let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        // serde_json keeps the last of a repeated member: a setting given twice is refused
        // instead, at any depth (a route's `scopes`), as a typo is.
        if let Ok(repeated) = auth_jwt::duplicate_members(bytes)
            && let Some(first) = repeated.first()
        {
            return Err(format!("{first} is given more than once"));
        }
        let Value::Object(map) = value else {
            return Err("must be a JSON object".into());
        };
        let mut proxies = Proxies::default();
        for (key, value) in &map {
            match key.as_str() {
                "issuer" => config.issuer = Some(string(value).ok_or("issuer")?),
                "upstream" => config.upstream = Some(string(value).ok_or("upstream")?),
                "max_connections" => {
                    let n = value.as_u64().filter(|n| (1..=1_000_000).contains(n));
                    let n = n.ok_or("max_connections: 1 to 1000000")?;
                    config.max_connections = usize::try_from(n).unwrap_or(10_000);
                }
                "header_timeout_secs" => {
                    let secs = value.as_u64().filter(|s| (1..=300).contains(s));
                    config.head_timeout =
                        Duration::from_secs(secs.ok_or("header_timeout_secs: 1 to 300")?);
                }
                "dpop_nonce_secs" => {
                    let secs = value.as_u64().filter(|s| (1..=86_400).contains(s));
                    let secs = secs.ok_or("dpop_nonce_secs: 1 to 86400")?;
                    config.dpop_nonce = Some(Duration::from_secs(secs));
                }
                "upstream_token" => {
                    config.upstream_token =
                        value.as_bool().ok_or("upstream_token: true or false")?;
                }
                "routes" => config.routes = Some(routes::parse(value)?),
                "upstream_timeout_secs" => {
                    let secs = value.as_u64().filter(|s| (1..=300).contains(s));
                    config.upstream_timeout =
                        Duration::from_secs(secs.ok_or("upstream_timeout_secs: 1 to 300")?);
                }
                "audience" => config.audience = Some(string(value).ok_or("audience")?),
                "admin_scope" => {
                    config.admin_scope = string(value)
                        .filter(|s| auth_core::principal::is_scope_token(s))
                        .ok_or("admin_scope must be one scope")?;
                }
                "token_ttl_secs" => {
                    let secs = value.as_u64().filter(|s| (1..=86_400).contains(s));
                    config.token_ttl =
                        Duration::from_secs(secs.ok_or("token_ttl_secs: 1 to 86400")?);
                }
                "rate_limit" => config.quota = rate_limit(value)?,
                "failure_rate_limit" => config.failure_quota = rate_limit(value)?,
                "trusted_proxies" => {
                    let list = value.as_array().ok_or("trusted_proxies: a list")?;
                    let nets: Option<Vec<String>> = list.iter().map(string).collect();
                    proxies.nets = nets.ok_or("trusted_proxies: CIDR strings")?;
                }
                "forwarded_header" => {
                    proxies.header = match value.as_str() {
                        Some("forwarded") => ForwardedHeader::Forwarded,
                        Some("x-forwarded-for") => ForwardedHeader::XForwardedFor,
                        _ => return Err("forwarded_header: forwarded or x-forwarded-for".into()),
                    };
                }
                "ipv6_prefix" => {
                    let bits = value.as_u64().filter(|b| (1..=128).contains(b));
                    let bits = bits.ok_or("ipv6_prefix: 1 to 128")?;
                    proxies.ipv6_prefix = u8::try_from(bits).unwrap_or(128);
                }
                other => return Err(format!("unknown setting {other:?}")),
            }
        }
        config.proxies =
            TrustedProxies::new(proxies.header, proxies.nets.iter().map(String::as_str))
                .map_err(|e| format!("trusted_proxies: {e}"))?
                .with_ipv6_prefix(proxies.ipv6_prefix);
        Ok(config)
    }
}

/// The trusted-proxy settings as read, before they are checked.
struct Proxies {
    nets: Vec<String>,
    header: ForwardedHeader,
    ipv6_prefix: u8,
}

impl Default for Proxies {
    fn default() -> Self {
        Self {
            nets: Vec::new(),
            header: ForwardedHeader::XForwardedFor,
            ipv6_prefix: auth_ratelimit::client_addr::DEFAULT_IPV6_PREFIX,
        }
    }
}

fn string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        Config::from_json(text.as_bytes())
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
        // A setting given twice is refused, at any depth; once, the same text is read.
        let twice = load(r#"{"token_ttl_secs": 60, "token_ttl_secs": 86400}"#);
        assert!(matches!(twice, Err(m) if m.contains("token_ttl_secs is given more")));
        let route = r#"{"routes": [{"prefix": "/a", "credentials": ["token"]RE}]}"#;
        assert!(load(&route.replace("RE", r#", "credentials": ["api_key"]"#)).is_err());
        assert!(load(&route.replace("RE", "")).is_ok());
        assert_eq!(Config::defaults().unwrap().admin_scope, "admin");
    }

    #[test]
    fn reads_the_proxy_walk_and_the_failure_budget() {
        let c = load(
            r#"{"trusted_proxies": ["10.0.0.0/8", "::1"], "ipv6_prefix": 56,
                "failure_rate_limit": {"requests": 5, "period_secs": 60}}"#,
        )
        .unwrap();
        assert_eq!(c.failure_quota.count(), 5);
        let mut h = http::HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        let via_proxy = c.proxies.client_addr(&h, "10.0.0.1".parse().unwrap());
        assert_eq!(
            via_proxy,
            "203.0.113.9".parse::<std::net::IpAddr>().unwrap()
        );
        // An untrusted peer is the client, whatever it writes.
        let direct = c.proxies.client_addr(&h, "198.51.100.7".parse().unwrap());
        assert_eq!(direct, "198.51.100.7".parse::<std::net::IpAddr>().unwrap());
        let v6 = c
            .proxies
            .client_addr(&h, "2001:db8:1:2ff::1".parse().unwrap());
        assert_eq!(v6, "2001:db8:1:200::".parse::<std::net::IpAddr>().unwrap());
        assert!(load(r#"{"trusted_proxies": ["10.0.0.0/33"]}"#).is_err());
        assert!(load(r#"{"trusted_proxies": "10.0.0.0/8"}"#).is_err());
        assert!(load(r#"{"forwarded_header": "x-real-ip"}"#).is_err());
        assert!(load(r#"{"ipv6_prefix": 0}"#).is_err());
    }
}
