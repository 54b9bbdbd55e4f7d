//! Starting the authorization code flow: the front-channel URL
//! ([`OAuthClient::authorization_request`]), or a pushed authorization request (RFC 9126,
//! [`OAuthClient::start_authorization`]) when the provider has the endpoint.
//!
//! With PAR the authorization parameters (PKCE challenge, `state`, `nonce`, scopes, redirect
//! URI) are POSTed to the `pushed_authorization_request_endpoint` with the client's
//! authentication (and a DPoP proof when the client has a key, RFC 9449 §10.1), and the
//! browser is sent to the authorization endpoint with only `client_id` and the
//! `request_uri` the provider answered: nothing it could tamper with travels through it.
//! When the provider says `require_pushed_authorization_requests`, the front-channel URL is
//! refused.

use auth_core::Secret;
use oauth2::{CsrfToken, PkceCodeChallenge, PkceCodeVerifier};
use serde_json::Value;

use crate::OAuthClientBuilder;
use crate::authorize::{AuthorizationRequest, Pkce};
use crate::client::OAuthClient;
use crate::client_auth::Authn;
use crate::endpoint::{json_or_error, name, post_token_form};
use crate::endpoint_url::check_endpoint;
use crate::error::Error;
use crate::metadata::Metadata;

/// The PAR settings of a builder, as given.
#[derive(Debug, Default)]
pub(crate) struct ParSettings {
    endpoint: Option<String>,
    required: bool,
}

impl ParSettings {
    /// The checked endpoint and whether PAR is required.
    pub(crate) fn build(
        self,
        transport: auth_core::Transport,
    ) -> Result<(Option<http::Uri>, bool), Error> {
        let uri = self
            .endpoint
            .map(|u| check_endpoint("pushed authorization request endpoint", &u, transport))
            .transpose()?;
        if self.required && uri.is_none() {
            return Err(Error::misconfigured(
                "pushed authorization requests are required but no endpoint is configured",
            ));
        }
        Ok((uri, self.required))
    }
}

impl OAuthClientBuilder {
    /// The pushed authorization request endpoint (RFC 9126 §5): with it,
    /// [`OAuthClient::start_authorization`] pushes the parameters. [`Self::metadata`] sets it.
    pub fn pushed_authorization_request_endpoint(mut self, url: impl Into<String>) -> Self {
        self.par.endpoint = Some(url.into());
        self
    }

    /// Whether the provider requires pushed authorization requests (RFC 9126 §5): then
    /// [`OAuthClient::authorization_request`] is refused. [`Self::metadata`] sets it.
    pub fn require_pushed_authorization_requests(mut self, required: bool) -> Self {
        self.par.required = required;
        self
    }

    /// The PAR parts of [`Self::metadata`].
    pub(crate) fn par_metadata(mut self, m: &Metadata) -> Self {
        if let Some(u) = m.pushed_authorization_request_endpoint() {
            self.par.endpoint = Some(u.to_owned());
        }
        self.par.required = m.require_pushed_authorization_requests();
        self
    }
}

/// An authorization request's URL with every parameter, and what the callback needs.
struct Prepared {
    url: oauth2::url::Url,
    state: Secret,
    pkce: Pkce,
    nonce: Option<Secret>,
}

impl OAuthClient {
    /// Starts the authorization code flow with PKCE S256, a fresh `state` and, with `openid`
    /// among the scopes and the provider's `jwks_uri` known (feature `jwt`), a fresh `nonce`
    /// (and `max_age` when configured), requesting the configured scopes: the URL carries
    /// every parameter.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when no authorization endpoint or redirect URI is configured,
    /// when the provider requires pushed authorization requests (use
    /// [`OAuthClient::start_authorization`]).
    pub fn authorization_request(&self) -> Result<AuthorizationRequest, Error> {
        if self.shared.require_par {
            return Err(Error::misconfigured(
                "the provider requires pushed authorization requests (RFC 9126): use start_authorization",
            ));
        }
        let p = self.prepare()?;
        Ok(AuthorizationRequest::new(
            p.url.to_string(),
            p.state,
            p.pkce,
            p.nonce,
        ))
    }

    /// Starts the authorization code flow as [`OAuthClient::authorization_request`] does, but
    /// when a pushed authorization request endpoint is configured (RFC 9126), posts the
    /// parameters there with client authentication, and the URL carries only `client_id`
    /// and the `request_uri` the provider answered.
    ///
    /// # Errors
    ///
    /// As [`OAuthClient::authorization_request`]; [`Error::Server`] when the provider refuses
    /// the pushed request, [`Error::Transport`] when it cannot be reached,
    /// [`Error::InvalidResponse`] when its answer has no `request_uri`.
    pub async fn start_authorization(&self) -> Result<AuthorizationRequest, Error> {
        let Some(uri) = &self.shared.par_uri else {
            return self.authorization_request();
        };
        let p = self.prepare()?;
        let endpoint = name("pushed authorization request endpoint", uri);
        // The client authentication adds `client_id` to the body, but for Basic.
        let basic = matches!(self.shared.auth, Authn::Basic(_));
        let pairs: Vec<(String, String)> = p
            .url
            .query_pairs()
            .into_owned()
            .filter(|(k, _)| basic || k != "client_id")
            .collect();
        let params: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (response, _) = post_token_form(self, &endpoint, uri, &params).await?;
        let body = if response.status() == http::StatusCode::CREATED {
            match serde_json::from_slice::<Value>(response.body()) {
                Ok(Value::Object(map)) => map,
                _ => return Err(Error::invalid(&endpoint, "not a json object")),
            }
        } else {
            json_or_error(&endpoint, &response)?
        };
        let request_uri = body
            .get("request_uri")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::invalid(&endpoint, "request_uri missing"))?;
        let mut url = p.url;
        url.set_query(None);
        // The authorization endpoint's own query, if it has one, stays (RFC 6749 §3.1).
        if let Some(own) = self.shared.inner.auth_uri().and_then(|u| u.url().query()) {
            url.set_query(Some(own));
        }
        url.query_pairs_mut()
            .append_pair("client_id", &self.shared.client_id)
            .append_pair("request_uri", request_uri);
        Ok(AuthorizationRequest::new(
            url.to_string(),
            p.state,
            p.pkce,
            p.nonce,
        ))
    }

    fn prepare(&self) -> Result<Prepared, Error> {
        let shared = &*self.shared;
        if shared.redirect_uri.is_none() {
            return Err(Error::misconfigured("no redirect uri configured"));
        }
        let pkce = Pkce::random();
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce.verifier()
                .expose_str()
                .map_err(|_| Error::misconfigured("pkce verifier is not utf-8"))?
                .to_owned(),
        ));
        let request = shared
            .inner
            .authorize_url(|| CsrfToken::new_random_len(32))
            .map_err(|_| Error::misconfigured("no authorization endpoint configured"))?
            .set_pkce_challenge(challenge)
            .add_scopes(shared.scopes.iter().cloned());
        #[cfg(feature = "jwt")]
        let (request, nonce) = openid_parameters(self, request)?;
        #[cfg(not(feature = "jwt"))]
        let nonce = None;
        let (url, state) = request.url();
        Ok(Prepared {
            url,
            state: Secret::new(state.into_secret()),
            pkce,
            nonce,
        })
    }
}

/// With `openid` among the scopes and the provider's `jwks_uri` known: a fresh `nonce`, and
/// `max_age` when configured.
#[cfg(feature = "jwt")]
fn openid_parameters<'a>(
    client: &OAuthClient,
    mut request: oauth2::AuthorizationRequest<'a>,
) -> Result<(oauth2::AuthorizationRequest<'a>, Option<Secret>), Error> {
    let shared = &*client.shared;
    if !shared.scopes.iter().any(|s| s.as_str() == "openid") {
        return Ok((request, None));
    }
    // Without the provider's keys the client is a plain OAuth client: no nonce, and the
    // response's ID token is never handed out (`finish_with_id_token` refuses).
    let Some(oidc) = shared.oidc.as_deref() else {
        return Ok((request, None));
    };
    let nonce = CsrfToken::new_random_len(32).into_secret();
    request = request.add_extra_param("nonce", nonce.clone());
    if let Some(max_age) = oidc.max_age {
        request = request.add_extra_param("max_age", max_age.as_secs().to_string());
    }
    Ok((request, Some(Secret::new(nonce))))
}
