//! The gates of the gateway's route policies (`routes` in the config), built at start and
//! again on SIGHUP: a route's credentials (API keys, the gateway's tokens, JWTs of listed
//! issuers, and those tokens bound to a DPoP key with their proofs), its scopes and budgets.

use std::sync::Arc;

use auth_core::{
    AuthenticateExt as _, Challenge, Clock, GateExt as _, Guard, RateLimit, ScopeRequirement,
    TokenAuthenticator,
};
use auth_jwt::Verifier;

use super::app::REALM;
use super::budgets::{Budgets, Class};
use super::issued::IssuedTokens;
use super::limiters::Limiters;
use super::routes;
use crate::output::Error;

/// What a route's gate is made of, kept to remake the routes when the config is reloaded.
pub(crate) struct RouteParts {
    /// Where a route's own budget lives (in Redis, on the gateway's one connection).
    pub(crate) limiters: Limiters,
    pub(crate) keys: auth_apikey::ApiKeys<auth_apikey::BoxKeyStore>,
    pub(crate) tokens: IssuedTokens,
    pub(crate) budgets: Budgets,
    pub(crate) clock: Arc<dyn Clock>,
    /// DPoP proofs for the routes' tokens, and the gateway's URL they are made for.
    pub(crate) dpop: (auth_jwt::dpop::ProofVerifier, String),
}

impl RouteParts {
    /// The routes of `configured` (`None`: the implied route `/`), each with its gate.
    pub(crate) fn build(
        &self,
        configured: Option<Vec<routes::RouteConfig>>,
    ) -> Result<Vec<routes::Route>, Error> {
        configured
            .unwrap_or_else(|| vec![routes::RouteConfig::implied()])
            .into_iter()
            .enumerate()
            .map(|(i, route)| self.gate(route, i))
            .collect()
    }

    /// The gate of route `i`: its credentials (any one of them), its scopes, the failure
    /// budget of the client's address, and the caller's budget (the route's own quota, or the
    /// API's).
    fn gate(&self, config: routes::RouteConfig, i: usize) -> Result<routes::Route, Error> {
        use routes::Credential;
        if config.public {
            let label = std::sync::Arc::<str>::from(config.prefix.as_str()).into();
            return Ok(routes::Route {
                config,
                gate: None,
                label,
            });
        }
        let mut jwt_issuers = Vec::new();
        let mut own_tokens = None;
        let mut api_keys = false;
        for credential in &config.credentials {
            match credential {
                Credential::ApiKey => api_keys = true,
                Credential::Token => own_tokens = Some(self.tokens.clone()),
                Credential::Jwt {
                    issuer_url,
                    audience,
                    algorithms,
                } => jwt_issuers.push(
                    Verifier::builder()
                        .issuer_url(issuer_url, crate::output::http_client()?)
                        .audience(audience.clone())
                        .algorithms(algorithms.iter().copied())
                        .clock(Arc::clone(&self.clock))
                        .build()
                        .map_err(|e| Error::config(format!("route {}: {e}", config.prefix)))?,
                ),
            }
        }
        let issuers = match jwt_issuers.len() {
            0 => None,
            _ => Some(
                Verifier::issuers(jwt_issuers)
                    .build()
                    .map_err(|e| Error::config(format!("route {}: {e}", config.prefix)))?,
            ),
        };
        let jwts = match (issuers.is_some() || own_tokens.is_some()).then_some(()) {
            None => None,
            Some(()) => {
                let route_tokens = routes::RouteTokens {
                    issuers,
                    own: own_tokens,
                };
                // The same tokens bound to a DPoP key, with their proofs (RFC 9449).
                let dpop = auth_jwt::dpop::DpopAuthenticator::new(
                    route_tokens.clone(),
                    self.dpop.0.clone(),
                    &self.dpop.1,
                )
                .map_err(|e| Error::config(format!("issuer: {e}")))?
                .with_realm(REALM);
                Some(
                    TokenAuthenticator::bearer(REALM, route_tokens)
                        .with_challenge(Challenge::bearer().with_realm(REALM))
                        .or(dpop)
                        .boxed(),
                )
            }
        };
        let authenticator = match (
            api_keys.then(|| self.keys.authenticator(REALM).boxed()),
            jwts,
        ) {
            (Some(k), Some(j)) => k.or(j).boxed(),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => return Err(Error::config("a route without credentials")),
        };
        let mut guard = Guard::new(authenticator);
        if let Some(scopes) = &config.scopes {
            guard = guard.require_scope(ScopeRequirement::parse(scopes).map_err(Error::config)?);
        }
        let caller = match &config.quota {
            Some(quota) => RateLimit::new(
                self.limiters
                    .limiter(quota, &format!("auth-serve:route{i}:"))?,
                |parts: &http::request::Parts| {
                    let principal = parts.extensions.get::<auth_core::Principal>()?;
                    Some(principal.subject().to_owned())
                },
            )
            .with_own_quotas()
            .boxed(),
            None => self.budgets.principal_gate(Class::Api).boxed(),
        };
        let gate = guard
            .on_refusal(self.budgets.failure_gate(Class::Api))
            .then(caller)
            .boxed();
        Ok(routes::Route {
            label: std::sync::Arc::<str>::from(config.prefix.as_str()).into(),
            config,
            gate: Some(gate),
        })
    }
}
