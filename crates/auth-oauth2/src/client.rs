//! [`OAuthClient`]: one concrete, checked client for an authorization server, built by
//! [`OAuthClientBuilder`](crate::OAuthClientBuilder), that runs the grants over auth-core's
//! [`HttpClient`](auth_core::HttpClient).
//!
//! The `oauth2` crate builds the requests (client authentication, form bodies) and reads the
//! error responses; its type with ten parameters stays inside. Everything a user can get wrong
//! is checked once, in [`OAuthClientBuilder::build`](crate::OAuthClientBuilder::build).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use auth_core::{BoxHttpClient, Clock, Scopes, Secret, Transport, UnixTime};
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{EndpointMaybeSet, EndpointNotSet, RefreshToken, Scope, StandardRevocableToken};

use crate::bridge::{Bridge, Seen, map_error};
use crate::client_auth::{Authn, CLIENT_ASSERTION, CLIENT_ASSERTION_TYPE, JWT_BEARER};
use crate::error::Error;
use crate::proof_key::DpopState;
use crate::response::{Quirks, RawTokenResponse, TokenSet};

pub(crate) type Inner = oauth2::Client<
    BasicErrorResponse,
    RawTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet, // authorization
    EndpointNotSet,   // device authorization: ours, `device.rs`
    EndpointNotSet,   // introspection: ours, `introspect.rs`
    EndpointNotSet,   // revocation: ours, `revoke.rs`
    EndpointMaybeSet, // token
>;

pub(crate) fn no_token_endpoint() -> Error {
    Error::misconfigured("no token endpoint configured")
}

pub(crate) use crate::endpoint_url::check_endpoint;

pub(crate) struct Shared {
    pub(crate) inner: Inner,
    pub(crate) http: BoxHttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) transport: Transport,
    pub(crate) quirks: Quirks,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) public: bool,
    pub(crate) auth: Authn,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) iss_parameter: bool,
    pub(crate) revocation_uri: Option<http::Uri>,
    pub(crate) device_uri: Option<http::Uri>,
    pub(crate) token_uri: Option<http::Uri>,
    pub(crate) token_name: String,
    pub(crate) clock_offset_secs: AtomicI64,
    /// The DPoP key and nonces, when the client binds its tokens.
    pub(crate) dpop: Option<Arc<DpopState>>,
    /// The pushed authorization request endpoint (RFC 9126), and whether it is required.
    pub(crate) par_uri: Option<http::Uri>,
    pub(crate) require_par: bool,
    /// The OpenID Connect settings, when the provider's `jwks_uri` is known.
    #[cfg(feature = "jwt")]
    pub(crate) oidc: Option<Arc<crate::oidc::Oidc>>,
}

/// A checked OAuth 2.0 client for one authorization server. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};
/// use auth_oauth2::{ClientAuth, OAuthClient};
///
/// let http = |_req: HttpRequest| async {
///     Ok::<_, HttpError>(HttpResponse::new(br#"{"access_token":"AT","token_type":"Bearer","expires_in":60}"#.to_vec()))
/// };
/// let client = OAuthClient::builder("my-service")
///     .token_endpoint("https://as.example/token")
///     .client_auth(ClientAuth::SecretBasic(Secret::new("s3cr3t")))
///     .scopes("reports:read")
///     .http_client(Arc::new(http))
///     .build()?;
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let tokens = client.client_credentials().await?;
/// assert_eq!(tokens.access_token().expose_secret(), b"AT");
/// # Ok::<_, auth_oauth2::Error>(()) })?;
/// # Ok::<_, Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct OAuthClient {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.shared.client_id)
            .field("token_endpoint", &self.shared.token_name)
            .field("dpop", &self.shared.dpop)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// The RFC 7638 thumbprint of the client's DPoP key (the `cnf.jkt` of the tokens bound to
    /// it), when it has one.
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        self.shared.dpop.as_deref().map(DpopState::thumbprint)
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The clock the client reads.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.shared.clock
    }

    /// The server's clock minus ours, in seconds, as last estimated from a token response's
    /// `Date` header (0 before any). Positive when the server's clock is ahead.
    pub fn server_clock_offset_secs(&self) -> i64 {
        self.shared.clock_offset_secs.load(Ordering::Relaxed)
    }

    /// Converts an instant stated by the server (an `exp`) into our clock's time.
    pub fn server_time_to_local(&self, server: UnixTime) -> UnixTime {
        server.saturating_shift(-self.server_clock_offset_secs())
    }

    /// Our clock moved by the server's clock offset: the server's time as we estimate it.
    pub(crate) fn server_now(&self) -> UnixTime {
        self.shared
            .clock
            .now()
            .saturating_shift(self.server_clock_offset_secs())
    }

    /// A fresh `private_key_jwt` assertion, when the client authenticates that way.
    pub(crate) fn client_assertion(&self) -> Result<Option<String>, Error> {
        self.shared
            .auth
            .assertion(&self.shared.client_id, self.server_now())
    }

    /// The `oauth2` crate's client for one call, with the client secret if there is one.
    pub(crate) fn oauth2_client(&self) -> Result<Inner, Error> {
        let inner = self.shared.inner.clone();
        Ok(match self.shared.auth.client_secret()? {
            Some(secret) => inner.set_client_secret(secret),
            None => inner,
        })
    }

    /// The client credentials grant (RFC 6749 §4.4) with the configured scopes.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for the server's §5.2 refusals, [`Error::Transport`] when it cannot
    /// be reached, [`Error::InvalidResponse`] for a response that is not a valid Bearer token
    /// response, [`Error::Misconfigured`] for a public client (it has no credentials to grant on).
    pub async fn client_credentials(&self) -> Result<TokenSet, Error> {
        if self.shared.public {
            return Err(Error::misconfigured(
                "a public client cannot use the client credentials grant",
            ));
        }
        let s = &*self.shared;
        let bridge = self.bridge();
        let inner = self.oauth2_client()?;
        let mut request = inner
            .exchange_client_credentials()
            .map_err(|_| no_token_endpoint())?
            .add_scopes(s.scopes.iter().cloned());
        if let Some(assertion) = self.client_assertion()? {
            request = request
                .add_extra_param(CLIENT_ASSERTION_TYPE, JWT_BEARER)
                .add_extra_param(CLIENT_ASSERTION, assertion);
        }
        let result = request.request_async(&bridge).await;
        self.finish(&bridge, result, None)
    }

    /// The refresh grant (RFC 6749 §6). When the response carries no new refresh token, the
    /// old one stays in the result (§6: the server may keep it valid).
    ///
    /// # Errors
    ///
    /// As [`OAuthClient::client_credentials`]; `invalid_grant` when the refresh token was
    /// revoked, expired, or already rotated away.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet, Error> {
        let mut tokens = self.refresh_keeping_id_token(refresh_token).await?;
        // Unverified here: use `refresh_with_id_token` for it.
        drop(tokens.take_id_token());
        Ok(tokens)
    }

    /// The refresh grant, any ID token of the response still in the token set.
    pub(crate) async fn refresh_keeping_id_token(
        &self,
        refresh_token: &Secret,
    ) -> Result<TokenSet, Error> {
        let rt = refresh_token
            .expose_str()
            .map_err(|_| Error::misconfigured("refresh token is not utf-8"))?;
        let rt = RefreshToken::new(rt.to_owned());
        let bridge = self.bridge();
        let inner = self.oauth2_client()?;
        let mut request = inner
            .exchange_refresh_token(&rt)
            .map_err(|_| no_token_endpoint())?;
        if let Some(assertion) = self.client_assertion()? {
            request = request
                .add_extra_param(CLIENT_ASSERTION_TYPE, JWT_BEARER)
                .add_extra_param(CLIENT_ASSERTION, assertion);
        }
        let result = request.request_async(&bridge).await;
        self.finish(&bridge, result, Some(refresh_token))
    }

    pub(crate) fn bridge(&self) -> Bridge<'_> {
        Bridge::new(
            &self.shared.http,
            self.shared.transport,
            &*self.shared.clock,
            self.shared.dpop.as_deref(),
        )
    }

    /// Maps and checks a token endpoint result, and learns the server's clock offset.
    pub(crate) fn finish(
        &self,
        bridge: &Bridge<'_>,
        result: Result<
            RawTokenResponse,
            oauth2::RequestTokenError<auth_core::HttpError, BasicErrorResponse>,
        >,
        old_refresh: Option<&Secret>,
    ) -> Result<TokenSet, Error> {
        let seen = bridge.seen();
        let name = &self.shared.token_name;
        let raw = result.map_err(|e| map_error(name, seen, e))?;
        self.learn_offset(seen);
        let offset = self.server_clock_offset_secs();
        let mut tokens = raw.check(
            name,
            self.shared.quirks,
            seen.sent_at,
            offset,
            seen.proof_sent,
        )?;
        if tokens.refresh_token().is_none() {
            tokens.set_refresh_token(old_refresh.cloned());
        }
        Ok(tokens)
    }

    fn learn_offset(&self, seen: Seen) {
        if let Some(date) = seen.date {
            self.shared
                .clock_offset_secs
                .store(date.signed_secs_since(seen.sent_at), Ordering::Relaxed);
        }
    }

    /// The configured scopes, as granted when a response does not say.
    pub fn requested_scopes(&self) -> Scopes {
        let joined: Vec<&str> = self.shared.scopes.iter().map(|s| s.as_str()).collect();
        Scopes::from_space_separated(&joined.join(" "))
    }
}
