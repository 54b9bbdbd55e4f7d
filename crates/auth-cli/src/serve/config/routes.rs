//! The `routes` of the config: route policies for the gateway (`routes` in the config, with `--upstream`): for a path
//! prefix and methods, the credentials accepted, the scopes required, the rate limit, the
//! largest body, or `public`. The longest matching prefix wins (at a segment boundary:
//! `/api` covers `/api` and `/api/x`, not `/apix`); a request no route allows is refused
//! (deny by default). Without `routes`, one route `/` accepts the gateway's API keys and the
//! tokens it issued.
//!
//! ```json
//! "routes": [
//!   {"prefix": "/health", "public": true},
//!   {"prefix": "/admin", "methods": ["GET", "POST"], "scopes": ["admin"],
//!    "credentials": ["api_key"], "rate_limit": {"requests": 10, "period_secs": 60}},
//!   {"prefix": "/", "credentials": ["api_key", "token",
//!    {"jwt": {"issuer_url": "https://login.example.com", "audience": "api",
//!             "algorithms": ["RS256"]}}], "max_body_bytes": 1048576}
//! ]
//! ```

use auth_jwt::Algorithm;
use auth_ratelimit::Quota;
use http::Method;
use serde_json::{Map, Value};

/// The largest request body a route forwards unless it says otherwise: 10 MiB.
pub(crate) const DEFAULT_MAX_BODY: u64 = 10 * 1024 * 1024;

/// A credential a route accepts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Credential {
    /// The gateway's API keys (`Authorization: Bearer` or `X-API-Key`).
    ApiKey,
    /// The access tokens the gateway issued at `/oauth/token`.
    Token,
    /// JWT access tokens of an issuer found by discovery.
    Jwt {
        issuer_url: String,
        audience: String,
        algorithms: Vec<Algorithm>,
    },
}

/// One route, as configured.
#[derive(Debug, Clone)]
pub(crate) struct RouteConfig {
    pub(crate) prefix: String,
    /// `None`: every method.
    pub(crate) methods: Option<Vec<Method>>,
    pub(crate) public: bool,
    pub(crate) credentials: Vec<Credential>,
    /// Space-separated scopes, all required.
    pub(crate) scopes: Option<String>,
    pub(crate) quota: Option<Quota>,
    pub(crate) max_body: u64,
}

impl RouteConfig {
    /// The route implied by `--upstream` without `routes`: everything, for any valid
    /// credential the gateway knows.
    pub(crate) fn implied() -> Self {
        Self {
            prefix: "/".into(),
            methods: None,
            public: false,
            credentials: vec![Credential::ApiKey, Credential::Token],
            scopes: None,
            quota: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Whether this route covers `method` on `path`.
    pub(crate) fn covers(&self, method: &Method, path: &str) -> bool {
        let prefix = self.prefix.trim_end_matches('/');
        let under = prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'));
        under && self.methods.as_ref().is_none_or(|m| m.contains(method))
    }
}

/// Reads `routes` from the config.
pub(crate) fn parse(value: &Value) -> Result<Vec<RouteConfig>, String> {
    let list = value.as_array().ok_or("routes: a list")?;
    if list.is_empty() {
        return Err("routes: at least one route".into());
    }
    list.iter()
        .enumerate()
        .map(|(i, r)| route(r).map_err(|e| format!("routes[{i}]: {e}")))
        .collect()
}

fn route(value: &Value) -> Result<RouteConfig, String> {
    let map = value.as_object().ok_or("a JSON object")?;
    let mut route = RouteConfig::implied();
    route.prefix = String::new();
    let mut credentials = None;
    for (key, v) in map {
        match key.as_str() {
            "prefix" => {
                route.prefix = v
                    .as_str()
                    .filter(|p| p.starts_with('/') && !p.contains(['?', '#', '*']))
                    .ok_or("prefix: a path starting with /")?
                    .to_owned();
            }
            "methods" => {
                let list = v.as_array().ok_or("methods: a list")?;
                let methods: Option<Vec<Method>> = list
                    .iter()
                    .map(|m| {
                        m.as_str()
                            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
                    })
                    .collect();
                route.methods = Some(methods.filter(|m| !m.is_empty()).ok_or("methods: names")?);
            }
            "public" => route.public = v.as_bool().ok_or("public: true or false")?,
            "credentials" => credentials = Some(credentials_of(v)?),
            "scopes" => {
                let list = v.as_array().ok_or("scopes: a list")?;
                let scopes: Option<Vec<&str>> = list
                    .iter()
                    .map(|s| {
                        s.as_str()
                            .filter(|s| auth_core::principal::is_scope_token(s))
                    })
                    .collect();
                route.scopes = Some(scopes.ok_or("scopes: scope tokens")?.join(" "));
            }
            "rate_limit" => route.quota = Some(super::rate_limits::rate_limit(v)?),
            "max_body_bytes" => route.max_body = v.as_u64().ok_or("max_body_bytes: a number")?,
            other => return Err(format!("unknown setting {other:?}")),
        }
    }
    if route.prefix.is_empty() {
        return Err("prefix is required".into());
    }
    if let Some(c) = credentials {
        route.credentials = c;
    }
    if route.public && (route.scopes.is_some() || route.credentials.is_empty()) {
        return Err("a public route takes no scopes".into());
    }
    if !route.public && route.credentials.is_empty() {
        return Err("credentials: at least one, or public: true".into());
    }
    Ok(route)
}

fn credentials_of(value: &Value) -> Result<Vec<Credential>, String> {
    const WHICH: &str = "credentials: \"api_key\", \"token\" or {\"jwt\": {...}}";
    let list = value.as_array().ok_or("credentials: a list")?;
    list.iter()
        .map(|c| match c {
            Value::String(s) if s == "api_key" => Ok(Credential::ApiKey),
            Value::String(s) if s == "token" => Ok(Credential::Token),
            Value::Object(o) if o.len() == 1 => match o.get("jwt").and_then(Value::as_object) {
                Some(jwt) => jwt_credential(jwt),
                None => Err(WHICH.into()),
            },
            _ => Err(WHICH.into()),
        })
        .collect()
}

/// `{"jwt": {"issuer_url", "audience", "algorithms"}}`: all three, and nothing else (a
/// misspelt member is an error here as everywhere in the config).
fn jwt_credential(jwt: &Map<String, Value>) -> Result<Credential, String> {
    if let Some(other) = jwt
        .keys()
        .find(|k| !["issuer_url", "audience", "algorithms"].contains(&k.as_str()))
    {
        return Err(format!("jwt: unknown setting {other:?}"));
    }
    let text = |k: &str| jwt.get(k).and_then(Value::as_str).map(str::to_owned);
    let algorithms: Option<Vec<Algorithm>> = jwt
        .get("algorithms")
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().and_then(Algorithm::from_name))
                .collect()
        });
    Ok(Credential::Jwt {
        issuer_url: text("issuer_url").ok_or("jwt: issuer_url")?,
        audience: text("audience").ok_or("jwt: audience")?,
        algorithms: algorithms
            .filter(|a| !a.is_empty())
            .ok_or("jwt: algorithms, a list of names (RS256, ES256, ...)")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(json: &str) -> Vec<RouteConfig> {
        parse(&serde_json::from_str(json).unwrap_or(Value::Null)).unwrap_or_default()
    }

    #[test]
    fn settings_are_checked() {
        for bad in [
            r#"[]"#,
            r#"[{"credentials": ["api_key"]}]"#,
            r#"[{"prefix": "api"}]"#,
            r#"[{"prefix": "/", "credentials": []}]"#,
            r#"[{"prefix": "/", "credentials": ["password"]}]"#,
            r#"[{"prefix": "/", "public": true, "scopes": ["a"]}]"#,
            r#"[{"prefix": "/", "colour": "red"}]"#,
            r#"[{"prefix": "/", "credentials": [{"jwt": {"issuer_url": "https://a", "audience": "x"}}]}]"#,
            // A misspelt or extra member of a `jwt` credential is refused, as elsewhere; the
            // same credential without it reads below.
            r#"[{"prefix": "/", "credentials": [{"jwt": {"issuer_url": "https://a", "audience": "x", "algorithms": ["ES256"], "leeway": 5}}]}]"#,
            r#"[{"prefix": "/", "credentials": [{"jwt": {"issuer_url": "https://a", "audience": "x", "algorithms": ["ES256"]}, "api_key": true}]}]"#,
        ] {
            assert!(
                parse(&serde_json::from_str(bad).unwrap_or(Value::Null)).is_err(),
                "{bad}"
            );
        }
        let jwt = routes(
            r#"[{"prefix": "/", "credentials": [{"jwt": {"issuer_url": "https://a", "audience": "x", "algorithms": ["ES256"]}}]}]"#,
        );
        assert_eq!(
            jwt[0].credentials,
            [Credential::Jwt {
                issuer_url: "https://a".into(),
                audience: "x".into(),
                algorithms: vec![Algorithm::ES256]
            }]
        );
    }
}
