//! [`OAuthClientBuilder`]: every setting of an [`OAuthClient`], checked once in
//! [`OAuthClientBuilder::build`].

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use auth_core::{BoxHttpClient, Clock, CoarseClock, HttpClient, Transport};
use oauth2::{ClientId, Scope, TokenUrl};

use crate::bridge::endpoint_name;
use crate::client::{Inner, OAuthClient, Shared, check_endpoint};
use crate::client_auth::{Authn, ClientAuth};
use crate::error::Error;
use crate::par::ParSettings;
use crate::proof_key::DpopState;
use crate::response::{Quirk, Quirks};

/// Builds an [`OAuthClient`]; see [`OAuthClient::builder`].
#[must_use]
pub struct OAuthClientBuilder {
    client_id: String,
    auth: Option<ClientAuth>,
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
    dpop: Option<Arc<DpopState>>,
    pub(crate) par: ParSettings,
    #[cfg(feature = "jwt")]
    pub(crate) oidc: crate::oidc::OidcSettings,
}

impl fmt::Debug for OAuthClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClientBuilder")
            .field("client_id", &self.client_id)
            .field("token_endpoint", &self.token_endpoint)
            .field("dpop", &self.dpop)
            .finish_non_exhaustive()
    }
}

impl OAuthClientBuilder {
    /// How the client authenticates: required (a public client says so with
    /// [`ClientAuth::Public`]).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = Some(auth);
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
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
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

    /// Binds the tokens to `key` (DPoP, RFC 9449): every token request carries a proof made
    /// with it, and tokens the server binds (`token_type: DPoP`) are sent with a fresh proof
    /// on each request. Keep the key as long as the tokens: a bound refresh token is usable
    /// only with it. See the [`dpop`](crate::dpop) module.
    #[cfg(feature = "jwt")]
    pub fn dpop(mut self, key: auth_jwt::dpop::DpopKey) -> Self {
        self.dpop = Some(Arc::new(DpopState::new(key)));
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the client id is empty, no client authentication was chosen,
    /// the secret is not UTF-8, a `private_key_jwt` key is HMAC or its assertion lifetime
    /// is out of range or it has no audience (no token endpoint, issuer or explicit one),
    /// the HTTP client is missing, an endpoint
    /// is not an absolute URL, is not HTTPS (loopback excepted) or has a fragment, or a scope
    /// is not a valid scope token.
    pub fn build(self) -> Result<OAuthClient, Error> {
        if self.client_id.is_empty() {
            return Err(Error::misconfigured("client id is empty"));
        }
        let http = self
            .http
            .ok_or_else(|| Error::misconfigured("no http client (call http_client)"))?;
        let auth = self
            .auth
            .ok_or_else(|| {
                Error::misconfigured("no client authentication chosen (client_auth: SecretBasic, SecretPost, PrivateKeyJwt or Public)")
            })?
            .check(self.token_endpoint.clone().or_else(|| self.issuer.clone()))?;
        let (token_name, token_uri, token_url) = match self.token_endpoint {
            Some(url) => {
                let uri = check_endpoint("token endpoint", &url, self.transport)?;
                let parsed = TokenUrl::new(url)
                    .map_err(|_| Error::misconfigured("token endpoint is not a url"))?;
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
                        .map_err(|_| Error::misconfigured("authorization endpoint is not a url"))?,
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
        // The secret is added for each call (`Authn::client_secret`), never kept in `inner`.
        inner = inner.set_auth_type(auth.auth_type());
        if let Some(url) = &self.redirect_uri {
            // RFC 6749 §3.1.2: absolute, no fragment. Loopback http is fine for native apps.
            check_endpoint("redirect uri", url, self.transport)?;
            inner = inner.set_redirect_uri(
                oauth2::RedirectUrl::new(url.clone())
                    .map_err(|_| Error::misconfigured("redirect uri is not a url"))?,
            );
        }
        if self.iss_parameter && self.issuer.is_none() {
            return Err(Error::misconfigured(
                "iss_parameter_supported needs the issuer",
            ));
        }
        let (par_uri, require_par) = self.par.build(self.transport)?;
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
                    return Err(Error::misconfigured(
                        "a scope has characters RFC 6749 3.3 does not allow",
                    ));
                }
                list
            }
            None => Vec::new(),
        };
        #[cfg(feature = "jwt")]
        let oidc = {
            let openid = scopes.iter().any(|s| s.as_str() == "openid");
            self.oidc
                .build(&http, &self.clock, self.transport, openid)?
                .map(Arc::new)
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
                public: matches!(auth, Authn::Public),
                auth,
                client_id: self.client_id,
                redirect_uri: self.redirect_uri,
                issuer: self.issuer,
                iss_parameter: self.iss_parameter,
                revocation_uri,
                device_uri,
                token_uri,
                clock_offset_secs: AtomicI64::new(0),
                dpop: self.dpop,
                par_uri,
                require_par,
                #[cfg(feature = "jwt")]
                oidc,
            }),
        })
    }
}

impl OAuthClient {
    /// Starts building a client for `client_id`.
    pub fn builder(client_id: impl Into<String>) -> OAuthClientBuilder {
        OAuthClientBuilder {
            client_id: client_id.into(),
            auth: None,
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
            dpop: None,
            par: ParSettings::default(),
            #[cfg(feature = "jwt")]
            oidc: crate::oidc::OidcSettings::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};
    #[cfg(feature = "jwt")]
    use auth_jwt::SigningKey;

    #[cfg(feature = "jwt")]
    use crate::client_auth::PrivateKeyJwt;

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
                .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
                .http_client(http())
        };
        ok().build().unwrap();
        refused(
            OAuthClient::builder("")
                .token_endpoint("https://a/t")
                .client_auth(ClientAuth::Public)
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
                .client_auth(ClientAuth::Public)
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
        refused(
            ok().client_auth(ClientAuth::SecretPost(Secret::new(vec![0xff]))),
            "utf-8",
        );
        refused(ok().scopes("read \"write"), "scope");
        refused(
            ok().redirect_uri("http://client.example/cb"),
            "redirect uri",
        );
        ok().token_endpoint("http://127.0.0.1:9/token")
            .build()
            .unwrap();
        ok().token_endpoint("http://as.example/token")
            .transport(Transport::danger_allow_plaintext())
            .build()
            .unwrap();
    }

    #[cfg(feature = "jwt")]
    #[test]
    fn private_key_jwt_is_checked() {
        let key = SigningKey::generate(auth_jwt::Algorithm::ES256).unwrap();
        let ok = || {
            OAuthClient::builder("c")
                .token_endpoint("https://as.example/token")
                .http_client(http())
        };
        ok().client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(key.clone())))
            .build()
            .unwrap();
        refused(
            OAuthClient::builder("c")
                .client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(key.clone())))
                .http_client(http()),
            "private_key_jwt needs",
        );
        // An explicit audience stands in for the endpoint.
        OAuthClient::builder("c")
            .client_auth(ClientAuth::PrivateKeyJwt(
                PrivateKeyJwt::new(key.clone()).audience("https://as.example"),
            ))
            .http_client(http())
            .build()
            .unwrap();
        refused(
            ok().client_auth(ClientAuth::PrivateKeyJwt(
                PrivateKeyJwt::new(key).lifetime(std::time::Duration::from_secs(301)),
            )),
            "lifetime",
        );
        refused(
            ok().client_auth(ClientAuth::PrivateKeyJwt(PrivateKeyJwt::new(
                SigningKey::generate(auth_jwt::Algorithm::HS256).unwrap(),
            ))),
            "asymmetric",
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let b = OAuthClient::builder("c")
            .token_endpoint("https://as.example/token")
            .client_auth(ClientAuth::SecretBasic(Secret::new("hunter2-secret")))
            .http_client(http());
        assert!(!format!("{b:?}").contains("hunter2"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
