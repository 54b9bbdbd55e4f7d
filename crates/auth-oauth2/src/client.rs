//! [`OAuthClient`]: one concrete, checked client for an authorization server, built by
//! [`OAuthClientBuilder`], that runs the grants over auth-core's [`HttpClient`].
//!
//! The `oauth2` crate builds the requests (client authentication, form bodies) and reads the
//! error responses; its type with ten parameters stays inside. Everything a user can get wrong
//! is checked once, in [`OAuthClientBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use auth_core::{
    BoxHttpClient, Clock, CoarseClock, HttpClient, Scopes, Secret, Transport, UnixTime,
};
use auth_jwt::SigningKey;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, RefreshToken, Scope,
    StandardRevocableToken, TokenUrl,
};

use crate::assertion::{Assertion, DEFAULT_ASSERTION_LIFETIME, JWT_BEARER};
use crate::bridge::{Bridge, Seen, endpoint_name, map_error};
use crate::error::Error;
use crate::response::{Quirk, Quirks, RawTokenResponse, TokenSet};

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

/// How the client authenticates to the token endpoint (RFC 6749 §2.3).
#[derive(Clone)]
pub(crate) enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic with the form-urlencoded id and secret (§2.3.1).
    Basic(Secret),
    /// `client_secret_post`: `client_id` and `client_secret` in the form body (§2.3.1).
    Post(Secret),
    /// A public client (§2.1): `client_id` in the body, no secret.
    Public,
    /// `private_key_jwt` (RFC 7523 §2.2): a signed assertion in the form body.
    PrivateKeyJwt(Arc<Assertion>),
}

/// Builds an [`OAuthClient`]; see [`OAuthClient::builder`].
#[must_use]
pub struct OAuthClientBuilder {
    client_id: String,
    auth: Option<ClientAuth>,
    signing_key: Option<SigningKey>,
    assertion_audience: Option<String>,
    assertion_lifetime: Duration,
    token_endpoint: Option<String>,
    authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    device_endpoint: Option<String>,
    redirect_uri: Option<String>,
    scopes: Option<String>,
    issuer: Option<String>,
    iss_parameter: bool,
    http: Option<BoxHttpClient>,
    clock: Arc<dyn Clock>,
    transport: Transport,
    quirks: Quirks,
}

impl fmt::Debug for OAuthClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientBuilder")
            .field("client_id", &self.client_id)
            .field("token_endpoint", &self.token_endpoint)
            .finish_non_exhaustive()
    }
}

impl OAuthClientBuilder {
    /// Authenticates with `client_secret_basic`: `Authorization: Basic` over the
    /// form-urlencoded client id and secret (RFC 6749 §2.3.1).
    pub fn client_secret_basic(mut self, secret: Secret) -> Self {
        self.auth = Some(ClientAuth::Basic(secret));
        self.signing_key = None;
        self
    }

    /// Authenticates with `client_secret_post`: the id and secret in the form body.
    pub fn client_secret_post(mut self, secret: Secret) -> Self {
        self.auth = Some(ClientAuth::Post(secret));
        self.signing_key = None;
        self
    }

    /// A public client (a command-line tool, a native app): sends its `client_id` only.
    pub fn public_client(mut self) -> Self {
        self.auth = Some(ClientAuth::Public);
        self.signing_key = None;
        self
    }

    /// Authenticates with `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): each
    /// request carries a fresh assertion signed with `key` (RS256, PS256, ES256, EdDSA, ...),
    /// whose public key the server knows (registered JWKS). `iss` = `sub` = the client id,
    /// `aud` = the token endpoint unless [`Self::client_assertion_audience`] says otherwise,
    /// a random `jti`, and a lifetime of [`DEFAULT_ASSERTION_LIFETIME`].
    ///
    /// [`DEFAULT_ASSERTION_LIFETIME`]: crate::assertion::DEFAULT_ASSERTION_LIFETIME
    pub fn private_key_jwt(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self.auth = None;
        self
    }

    /// The `aud` of `private_key_jwt` assertions. Default: the token endpoint URL (RFC 7523
    /// §3); some providers want their issuer identifier instead.
    pub fn client_assertion_audience(mut self, audience: impl Into<String>) -> Self {
        self.assertion_audience = Some(audience.into());
        self
    }

    /// How long each `private_key_jwt` assertion is valid. Default: 60 s; at most
    /// [`MAX_ASSERTION_LIFETIME`].
    ///
    /// [`MAX_ASSERTION_LIFETIME`]: crate::assertion::MAX_ASSERTION_LIFETIME
    pub fn client_assertion_lifetime(mut self, lifetime: Duration) -> Self {
        self.assertion_lifetime = lifetime;
        self
    }

    /// The token endpoint. Required for every grant; a resource server that only
    /// introspects may leave it out.
    pub fn token_endpoint(mut self, url: impl Into<String>) -> Self {
        self.token_endpoint = Some(url.into());
        self
    }

    /// The authorization endpoint, for the authorization code flow.
    pub fn authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.authorization_endpoint = Some(url.into());
        self
    }

    /// The revocation endpoint (RFC 7009).
    pub fn revocation_endpoint(mut self, url: impl Into<String>) -> Self {
        self.revocation_endpoint = Some(url.into());
        self
    }

    /// The device authorization endpoint (RFC 8628 §3.1).
    pub fn device_authorization_endpoint(mut self, url: impl Into<String>) -> Self {
        self.device_endpoint = Some(url.into());
        self
    }

    /// The redirect URI registered for this client, sent and matched exactly.
    pub fn redirect_uri(mut self, url: impl Into<String>) -> Self {
        self.redirect_uri = Some(url.into());
        self
    }

    /// The scopes to request, space-separated (`"read write"`). Default: none (the server's
    /// default).
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = Some(scopes.into());
        self
    }

    /// The authorization server's issuer identifier (RFC 8414 §2), compared by exact string
    /// with the `iss` of authorization responses (RFC 9207).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Whether the server advertises `authorization_response_iss_parameter_supported`
    /// (RFC 9207 §3): then every authorization response must carry an `iss` equal to the
    /// issuer. Discovery sets it from the metadata. Requires [`Self::issuer`].
    pub fn iss_parameter_supported(mut self, supported: bool) -> Self {
        self.iss_parameter = supported;
        self
    }

    /// The HTTP client for every call. Required: `auth_http::Client` in production, a closure
    /// or a loopback server in tests.
    pub fn http_client(mut self, http: impl HttpClient + 'static) -> Self {
        self.http = Some(BoxHttpClient::new(http));
        self
    }

    /// The clock. Default: [`CoarseClock`], the system clock at tick resolution.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Which endpoint URLs are acceptable. Default: HTTPS, or plain HTTP to loopback.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Accepts one provider deviation from RFC 6749 in token responses.
    pub fn accept_quirk(mut self, quirk: Quirk) -> Self {
        self.quirks = self.quirks.with(quirk);
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the client id is empty, no client authentication was chosen,
    /// the secret is not UTF-8, a `private_key_jwt` key is HMAC or its assertion lifetime
    /// is out of range or it has no audience (no token endpoint, issuer or explicit one), the HTTP client is missing, an endpoint
    /// is not an absolute URL, is not HTTPS (loopback excepted) or has a fragment, or a scope
    /// is not a valid scope token.
    pub fn build(self) -> Result<OAuthClient, Error> {
        if self.client_id.is_empty() {
            return Err(Error::config("client id is empty"));
        }
        let http = self
            .http
            .ok_or_else(|| Error::config("no http client (call http_client)"))?;
        let auth = match (self.auth, self.signing_key) {
            (Some(auth), _) => auth,
            (None, Some(key)) => {
                let audience = self
                    .assertion_audience
                    .or_else(|| self.token_endpoint.clone())
                    .or_else(|| self.issuer.clone())
                    .ok_or_else(|| {
                        Error::config("private_key_jwt needs a token endpoint, an issuer or client_assertion_audience")
                    })?;
                ClientAuth::PrivateKeyJwt(Arc::new(Assertion::new(
                    key,
                    audience,
                    self.assertion_lifetime,
                )?))
            }
            (None, None) => {
                return Err(Error::config(
                    "no client authentication chosen (client_secret_basic, client_secret_post, private_key_jwt or public_client)",
                ));
            }
        };
        let (token_name, token_uri, token_url) = match self.token_endpoint {
            Some(url) => {
                let uri = check_endpoint("token endpoint", &url, self.transport)?;
                let parsed =
                    TokenUrl::new(url).map_err(|_| Error::config("token endpoint is not a url"))?;
                (
                    endpoint_name("token endpoint", &uri),
                    Some(uri),
                    Some(parsed),
                )
            }
            None => ("token endpoint (none configured)".to_owned(), None, None),
        };
        let device_uri = self
            .device_endpoint
            .map(|url| check_endpoint("device authorization endpoint", &url, self.transport))
            .transpose()?;
        let (_, auth_url) = match self.authorization_endpoint {
            Some(url) => (
                Some(check_endpoint(
                    "authorization endpoint",
                    &url,
                    self.transport,
                )?),
                Some(
                    oauth2::AuthUrl::new(url)
                        .map_err(|_| Error::config("authorization endpoint is not a url"))?,
                ),
            ),
            None => (None, None),
        };
        let revocation_uri = self
            .revocation_endpoint
            .map(|url| check_endpoint("revocation endpoint", &url, self.transport))
            .transpose()?;
        let mut inner: Inner = oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_token_uri_option(token_url)
            .set_auth_uri_option(auth_url);
        let secret = |s: &Secret| {
            s.expose_str()
                .map(|s| ClientSecret::new(s.to_owned()))
                .map_err(|_| Error::config("client secret is not utf-8"))
        };
        inner = match &auth {
            ClientAuth::Basic(s) => inner
                .set_client_secret(secret(s)?)
                .set_auth_type(AuthType::BasicAuth),
            ClientAuth::Post(s) => inner
                .set_client_secret(secret(s)?)
                .set_auth_type(AuthType::RequestBody),
            // No secret: `oauth2` sends the `client_id` in the body; the assertion is added
            // to each request.
            ClientAuth::Public | ClientAuth::PrivateKeyJwt(_) => {
                inner.set_auth_type(AuthType::RequestBody)
            }
        };
        if let Some(url) = &self.redirect_uri {
            // RFC 6749 §3.1.2: absolute, no fragment. Loopback http is fine for native apps.
            check_endpoint("redirect uri", url, self.transport)?;
            inner = inner.set_redirect_uri(
                oauth2::RedirectUrl::new(url.clone())
                    .map_err(|_| Error::config("redirect uri is not a url"))?,
            );
        }
        if self.iss_parameter && self.issuer.is_none() {
            return Err(Error::config("iss_parameter_supported needs the issuer"));
        }
        let scopes = match self.scopes {
            Some(s) => {
                let list: Vec<Scope> = s
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(|s| Scope::new(s.to_owned()))
                    .collect();
                if list
                    .iter()
                    .any(|s| !auth_core::principal::is_scope_token(s))
                {
                    return Err(Error::config(
                        "a scope has characters RFC 6749 3.3 does not allow",
                    ));
                }
                list
            }
            None => Vec::new(),
        };
        Ok(OAuthClient {
            shared: Arc::new(Shared {
                token_name,
                inner,
                http,
                clock: self.clock,
                transport: self.transport,
                quirks: self.quirks,
                scopes,
                public: matches!(auth, ClientAuth::Public),
                auth,
                client_id: self.client_id,
                redirect_uri: self.redirect_uri,
                issuer: self.issuer,
                iss_parameter: self.iss_parameter,
                revocation_uri,
                device_uri,
                token_uri,
                clock_offset_secs: AtomicI64::new(0),
            }),
        })
    }
}

/// The form parameter names of a client assertion (RFC 7521 §4.2).
pub(crate) const CLIENT_ASSERTION_TYPE: &str = "client_assertion_type";
pub(crate) const CLIENT_ASSERTION: &str = "client_assertion";

/// `t` moved by `secs` seconds (later when positive), saturating.
pub(crate) fn shift(t: UnixTime, secs: i64) -> UnixTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        t.saturating_add(d)
    } else {
        t.saturating_sub(d)
    }
}

pub(crate) fn no_token_endpoint() -> Error {
    Error::config("no token endpoint configured")
}

/// Parses and checks an endpoint URL against the transport policy.
pub(crate) fn check_endpoint(
    what: &'static str,
    url: &str,
    transport: Transport,
) -> Result<http::Uri, Error> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| Error::config(format!("{what} is not a valid url")))?;
    if url.contains('#') {
        return Err(Error::config(format!("{what} has a fragment")));
    }
    transport
        .check(&uri)
        .map_err(|e| Error::config(format!("{what}: {e}")))?;
    Ok(uri)
}

pub(crate) struct Shared {
    pub(crate) inner: Inner,
    pub(crate) http: BoxHttpClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) transport: Transport,
    pub(crate) quirks: Quirks,
    pub(crate) scopes: Vec<Scope>,
    pub(crate) public: bool,
    pub(crate) auth: ClientAuth,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) issuer: Option<String>,
    pub(crate) iss_parameter: bool,
    pub(crate) revocation_uri: Option<http::Uri>,
    pub(crate) device_uri: Option<http::Uri>,
    pub(crate) token_uri: Option<http::Uri>,
    pub(crate) token_name: String,
    clock_offset_secs: AtomicI64,
}

/// A checked OAuth 2.0 client for one authorization server. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};
/// use auth_oauth2::OAuthClient;
///
/// let http = |_req: HttpRequest| async {
///     Ok::<_, HttpError>(HttpResponse::new(br#"{"access_token":"AT","token_type":"Bearer","expires_in":60}"#.to_vec()))
/// };
/// let client = OAuthClient::builder("my-service")
///     .token_endpoint("https://as.example/token")
///     .client_secret_basic(Secret::new("s3cr3t"))
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
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// Starts building a client for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> OAuthClientBuilder {
        OAuthClientBuilder {
            client_id: client_id.into(),
            auth: None,
            signing_key: None,
            assertion_audience: None,
            assertion_lifetime: DEFAULT_ASSERTION_LIFETIME,
            token_endpoint: None,
            authorization_endpoint: None,
            revocation_endpoint: None,
            device_endpoint: None,
            redirect_uri: None,
            scopes: None,
            issuer: None,
            iss_parameter: false,
            http: None,
            clock: Arc::new(CoarseClock),
            transport: Transport::default(),
            quirks: Quirks::default(),
        }
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
        shift(server, -self.server_clock_offset_secs())
    }

    /// Our clock moved by the server's clock offset: the server's time as we estimate it.
    pub(crate) fn server_now(&self) -> UnixTime {
        shift(self.shared.clock.now(), self.server_clock_offset_secs())
    }

    /// A fresh `private_key_jwt` assertion, when the client authenticates that way.
    pub(crate) fn client_assertion(&self) -> Result<Option<String>, Error> {
        match &self.shared.auth {
            ClientAuth::PrivateKeyJwt(a) => {
                a.sign(&self.shared.client_id, self.server_now()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The client credentials grant (RFC 6749 §4.4) with the configured scopes.
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for the server's §5.2 refusals, [`Error::Transport`] when it cannot
    /// be reached, [`Error::InvalidResponse`] for a response that is not a valid Bearer token
    /// response, [`Error::Config`] for a public client (it has no credentials to grant on).
    pub async fn client_credentials(&self) -> Result<TokenSet, Error> {
        if self.shared.public {
            return Err(Error::config(
                "a public client cannot use the client credentials grant",
            ));
        }
        let s = &*self.shared;
        let bridge = self.bridge();
        let mut request = s
            .inner
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
        let rt = refresh_token
            .expose_str()
            .map_err(|_| Error::config("refresh token is not utf-8"))?;
        let rt = RefreshToken::new(rt.to_owned());
        let bridge = self.bridge();
        let mut request = self
            .shared
            .inner
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
        let mut tokens = raw.check(name, self.shared.quirks, seen.sent_at, offset)?;
        if tokens.refresh_token().is_none() {
            tokens.set_refresh_token(old_refresh.cloned());
        }
        Ok(tokens)
    }

    fn learn_offset(&self, seen: Seen) {
        if let Some(date) = seen.date {
            let server = i64::try_from(date.as_secs()).unwrap_or(i64::MAX);
            let ours = i64::try_from(seen.sent_at.as_secs()).unwrap_or(i64::MAX);
            self.shared
                .clock_offset_secs
                .store(server.saturating_sub(ours), Ordering::Relaxed);
        }
    }

    /// The configured scopes, as granted when a response does not say.
    pub fn requested_scopes(&self) -> Scopes {
        let joined: Vec<&str> = self.shared.scopes.iter().map(|s| s.as_str()).collect();
        Scopes::from_space_separated(&joined.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::{HttpError, HttpRequest, HttpResponse};

    fn http() -> BoxHttpClient {
        BoxHttpClient::new(|_r: HttpRequest| async {
            Ok::<_, HttpError>(HttpResponse::new(Vec::new()))
        })
    }

    #[track_caller]
    fn refused(b: OAuthClientBuilder, why: &str) {
        let e = b.build().unwrap_err().to_string();
        assert!(e.contains(why), "{e}");
    }

    #[test]
    fn build_checks_everything() {
        let ok = || {
            OAuthClient::builder("c")
                .token_endpoint("https://as.example/token")
                .client_secret_basic(Secret::new("s"))
                .http_client(http())
        };
        ok().build().unwrap();
        refused(
            OAuthClient::builder("")
                .token_endpoint("https://a/t")
                .public_client()
                .http_client(http()),
            "client id",
        );
        refused(
            OAuthClient::builder("c")
                .token_endpoint("https://a/t")
                .http_client(http()),
            "client authentication",
        );
        refused(
            OAuthClient::builder("c")
                .public_client()
                .token_endpoint("https://a/t"),
            "http client",
        );
        refused(
            ok().token_endpoint("http://as.example/token"),
            "HTTPS is required",
        );
        refused(
            ok().token_endpoint("https://as.example/token#f"),
            "fragment",
        );
        refused(ok().token_endpoint("/token"), "not an absolute URL");
        refused(ok().client_secret_post(Secret::new(vec![0xff])), "utf-8");
        refused(ok().scopes("read \"write"), "scope");
        let key = SigningKey::generate(auth_jwt::Algorithm::ES256).unwrap();
        refused(
            OAuthClient::builder("c")
                .private_key_jwt(key.clone())
                .http_client(http()),
            "private_key_jwt needs",
        );
        refused(
            ok().private_key_jwt(SigningKey::generate(auth_jwt::Algorithm::HS256).unwrap()),
            "asymmetric",
        );
        // The last choice of client authentication wins.
        ok().private_key_jwt(key.clone()).build().unwrap();
        ok().private_key_jwt(key)
            .client_secret_post(Secret::new(vec![0xff]))
            .build()
            .unwrap_err();
        refused(
            ok().redirect_uri("http://client.example/cb"),
            "redirect uri",
        );
        ok().token_endpoint("http://127.0.0.1:9/token")
            .build()
            .unwrap();
        ok().token_endpoint("http://as.example/token")
            .transport(Transport::danger_allow_plain_http())
            .build()
            .unwrap();
    }

    #[test]
    fn debug_shows_no_secret() {
        let b = OAuthClient::builder("c")
            .token_endpoint("https://as.example/token")
            .client_secret_basic(Secret::new("hunter2-secret"))
            .http_client(http());
        assert!(!format!("{b:?}").contains("hunter2"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
