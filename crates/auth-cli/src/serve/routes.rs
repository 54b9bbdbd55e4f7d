//! Route policies for the gateway as built: each route's settings (read by
//! [`config::routes`](super::config::routes)) and its gate, none when `public`. The longest
//! matching prefix wins (at a segment boundary: `/api` covers `/api` and `/api/x`, not
//! `/apix`); a request no route allows is refused (deny by default).

use auth_core::{BoxGate, TokenVerdict, VerifyToken};
use auth_jwt::{ErrorKind, Verifier};
use http::Method;

pub(crate) use super::config::routes::{Credential, RouteConfig};
use super::issued::IssuedTokens;

/// A route with its gate (`None`: public).
#[derive(Debug)]
pub(crate) struct Route {
    pub(crate) config: RouteConfig,
    pub(crate) gate: Option<BoxGate>,
    /// Its `route` label in the metrics: the prefix.
    pub(crate) label: super::metrics::Label,
}

/// The JWTs a route accepts: the issuers named by its `jwt` credentials (one verifier, the
/// token's `iss` picking the issuer), and the gateway's own tokens when `token` is listed.
/// Two JWT authenticators one after the other would not do: the first recognises every JWT
/// and decides.
#[derive(Debug, Clone)]
pub(crate) struct RouteTokens {
    pub(crate) issuers: Option<Verifier>,
    pub(crate) own: Option<IssuedTokens>,
}

impl VerifyToken for RouteTokens {
    fn recognizes(&self, token: &str) -> bool {
        self.issuers.as_ref().is_some_and(|v| v.recognizes(token))
            || self.own.as_ref().is_some_and(|o| o.recognizes(token))
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        if let Some(issuers) = &self.issuers {
            match issuers.verify_principal(token).await {
                Ok(principal) => return Ok(TokenVerdict::Valid(principal)),
                // Not one of those issuers: perhaps the gateway's own token.
                Err(e) if e.kind() == ErrorKind::WrongIssuer && self.own.is_some() => {}
                Err(e) => return e.into_verdict(),
            }
        }
        match &self.own {
            Some(own) => own.verify(token).await,
            None => Ok(TokenVerdict::Invalid("no issuer of this route".into())),
        }
    }
}

/// The route of `routes` for `method` on `path`: the longest prefix among those that cover it.
pub(crate) fn pick<'r, R>(
    routes: &'r [R],
    config: impl Fn(&R) -> &RouteConfig,
    method: &Method,
    path: &str,
) -> Option<&'r R> {
    routes
        .iter()
        .filter(|r| config(r).covers(method, path))
        .max_by_key(|r| config(r).prefix.trim_end_matches('/').len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(json: &str) -> Vec<RouteConfig> {
        let value = serde_json::from_str(json).unwrap_or(serde_json::Value::Null);
        super::super::config::routes::parse(&value).unwrap_or_default()
    }

    #[test]
    fn the_longest_covering_prefix_wins_and_nothing_else_is_allowed() {
        let r = routes(
            r#"[{"prefix": "/", "credentials": ["api_key"]},
                {"prefix": "/api", "methods": ["GET"], "scopes": ["read"]},
                {"prefix": "/api/public", "public": true}]"#,
        );
        let at = |m: Method, p: &str| pick(&r, |r| r, &m, p).map(|r| r.prefix.as_str());
        assert_eq!(at(Method::GET, "/api/x"), Some("/api"));
        assert_eq!(at(Method::GET, "/api"), Some("/api"));
        assert_eq!(at(Method::GET, "/apix"), Some("/"));
        assert_eq!(
            at(Method::POST, "/api/x"),
            Some("/"),
            "GET only: the next one"
        );
        assert_eq!(at(Method::GET, "/api/public/a"), Some("/api/public"));
        let narrow = routes(r#"[{"prefix": "/api", "credentials": ["token"]}]"#);
        assert!(
            pick(&narrow, |r| r, &Method::GET, "/other").is_none(),
            "deny by default"
        );
    }
}
