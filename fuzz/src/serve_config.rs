//! Target `serve_config`: `auth serve --config`'s reader, `Config::from_json`, compiled from
//! the gateway's own files (`crates/auth-cli/src/serve/config/`). Those files use only the
//! library crates, so this crate includes them by path rather than linking the `auth` binary's
//! crate with hyper, SQLite's C library and the PostgreSQL client; the stable replay builds
//! them too, so a change that breaks that rule fails `cargo xtask ci`.
//!
//! Properties, for every input:
//! - it reads only a JSON object whose members are all known settings and none repeated at
//!   any depth (repeats found by the `strict_json` target's independent serde visitor);
//! - what it reads is what was written: each setting given is in the config as given, within
//!   its documented range, and each route keeps its prefix, body limit and quota;
//! - written back by serde_json (members sorted, its own spelling of strings and numbers),
//!   a document without repeats reads to the same outcome and, when read, the same config.

#[allow(dead_code)] // the gateway's accessors this property has no use for
#[path = "../../crates/auth-cli/src/serve/config/mod.rs"]
mod config;

use std::net::IpAddr;

use serde_json::{Map, Value};

use self::config::Config;
use self::config::routes::Credential;

/// The settings `Config::from_json` knows, from its documentation (crates/auth-cli/README.md).
const KNOWN: &[&str] = &[
    "issuer",
    "audience",
    "upstream",
    "upstream_token",
    "upstream_timeout_secs",
    "max_connections",
    "header_timeout_secs",
    "dpop_nonce_secs",
    "routes",
    "admin_scope",
    "token_ttl_secs",
    "rate_limit",
    "failure_rate_limit",
    "trusted_proxies",
    "forwarded_header",
    "ipv6_prefix",
];

/// The property of target `serve_config`.
pub fn check(data: &[u8]) {
    let read = Config::from_json(data);
    let repeated = crate::strict_json::oracle(data);
    let value = serde_json::from_slice::<Value>(data);
    let Ok(config) = &read else {
        // Refused: written back without repeats, it is refused again.
        if let (Ok(Value::Object(map)), Ok(r)) = (&value, &repeated)
            && r.is_empty()
        {
            let again = Config::from_json(Value::Object(map.clone()).to_string().as_bytes());
            assert!(
                again.is_err(),
                "refused, then read once written back: {read:?}"
            );
        }
        return;
    };
    let Ok(Value::Object(map)) = value else {
        panic!("read something that is not a JSON object: {value:?}")
    };
    assert_eq!(
        repeated.as_deref().ok(),
        Some(&[][..]),
        "read a repeated member"
    );
    if let Some(unknown) = map.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        panic!("read an unknown setting {unknown:?}");
    }
    as_given(config, &map);
    let again = Config::from_json(Value::Object(map).to_string().as_bytes())
        .unwrap_or_else(|e| panic!("read, then refused once written back: {e}"));
    assert_eq!(format!("{config:?}"), format!("{again:?}"), "written back");
}

/// Each setting in `map` is in `config` as given.
fn as_given(config: &Config, map: &Map<String, Value>) {
    let text = |k: &str| map.get(k).map(|v| v.as_str().expect("a string setting"));
    let secs = |k: &str, max: u64| {
        map.get(k).map(|v| {
            let n = v.as_u64().expect("a whole number");
            assert!((1..=max).contains(&n), "{k} {n} out of range");
            n
        })
    };
    assert_eq!(config.issuer.as_deref(), text("issuer"));
    assert_eq!(config.audience.as_deref(), text("audience"));
    assert_eq!(config.upstream.as_deref(), text("upstream"));
    if let Some(s) = text("admin_scope") {
        assert_eq!(config.admin_scope, s);
        assert!(auth_core::principal::is_scope_token(s), "admin_scope {s:?}");
    }
    if let Some(n) = secs("token_ttl_secs", 86_400) {
        assert_eq!(config.token_ttl.as_secs(), n);
    }
    if let Some(n) = secs("upstream_timeout_secs", 300) {
        assert_eq!(config.upstream_timeout.as_secs(), n);
    }
    if let Some(n) = secs("header_timeout_secs", 300) {
        assert_eq!(config.head_timeout.as_secs(), n);
    }
    assert_eq!(
        config.dpop_nonce.map(|d| d.as_secs()),
        secs("dpop_nonce_secs", 86_400)
    );
    if let Some(n) = secs("max_connections", 1_000_000) {
        assert_eq!(config.max_connections as u64, n);
    }
    if let Some(v) = map.get("upstream_token") {
        assert_eq!(Some(config.upstream_token), v.as_bool());
    }
    if let Some(v) = map.get("rate_limit") {
        quota_as_given(&config.quota, v);
    }
    if let Some(v) = map.get("failure_rate_limit") {
        quota_as_given(&config.failure_quota, v);
    }
    if let Some(v) = map.get("trusted_proxies") {
        for net in v.as_array().expect("a list") {
            let net = net.as_str().expect("CIDR strings");
            let addr = net.split('/').next().unwrap_or(net);
            if let Ok(ip) = addr.parse::<IpAddr>() {
                // The address written is inside its own block, whatever the mask.
                assert!(config.proxies.is_trusted(ip), "{net} listed, not trusted");
            }
        }
    }
    match (map.get("routes"), &config.routes) {
        (None, None) => {}
        (Some(Value::Array(given)), Some(read)) => {
            assert_eq!(given.len(), read.len(), "routes");
            for (g, r) in given.iter().zip(read) {
                route_as_given(g, r);
            }
        }
        other => panic!("routes {other:?}"),
    }
}

fn route_as_given(given: &Value, read: &config::routes::RouteConfig) {
    let given = given.as_object().expect("a route is an object");
    assert_eq!(
        given.get("prefix").and_then(Value::as_str),
        Some(&*read.prefix)
    );
    assert!(read.prefix.starts_with('/'), "prefix {:?}", read.prefix);
    assert!(read.covers(&http::Method::GET, &read.prefix) || read.methods.is_some());
    if let Some(n) = given.get("max_body_bytes") {
        assert_eq!(n.as_u64(), Some(read.max_body));
    }
    match (given.get("rate_limit"), &read.quota) {
        (Some(v), Some(q)) => quota_as_given(q, v),
        (None, None) => {}
        other => panic!("route rate_limit {other:?}"),
    }
    if read.public {
        assert!(read.scopes.is_none(), "a public route with scopes");
    } else {
        assert!(!read.credentials.is_empty(), "a route no credential opens");
    }
    for c in &read.credentials {
        if let Credential::Jwt { algorithms, .. } = c {
            assert!(
                !algorithms.is_empty(),
                "a jwt credential without algorithms"
            );
        }
    }
}

fn quota_as_given(quota: &auth_ratelimit::Quota, given: &Value) {
    let n = |k: &str| given.get(k).and_then(Value::as_u64);
    assert_eq!(Some(u64::from(quota.count())), n("requests"), "requests");
    assert_eq!(Some(quota.period().as_secs()), n("period_secs"), "period");
    if let Some(burst) = n("burst") {
        assert_eq!(u64::from(quota.burst()), burst, "burst");
    }
}
