//! How a client authenticates to the authorization server (RFC 6749 §2.3): one
//! [`ClientAuth`] value, given once to
//! [`OAuthClientBuilder::client_auth`](crate::OAuthClientBuilder::client_auth), instead of
//! exclusive setters of which the last would silently win.
//!
//! Secrets stay in [`Secret`] (zeroized on drop) for the client's whole life; the `oauth2`
//! crate's `ClientSecret`, which does not zeroize, is made for each call and dropped with it.

use std::fmt;
#[cfg(feature = "jwt")]
use std::sync::Arc;
#[cfg(feature = "jwt")]
use std::time::Duration;

use auth_core::{Secret, UnixTime};
use oauth2::{AuthType, ClientSecret};

#[cfg(feature = "jwt")]
use crate::assertion::{Assertion, DEFAULT_ASSERTION_LIFETIME};
use crate::error::Error;

/// The `client_assertion_type` of a JWT bearer client assertion (RFC 7523 §2.2).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form parameter names of a client assertion (RFC 7521 §4.2).
pub(crate) const CLIENT_ASSERTION_TYPE: &str = "client_assertion_type";
pub(crate) const CLIENT_ASSERTION: &str = "client_assertion";

/// How the client proves who it is to the authorization server.
#[non_exhaustive]
pub enum ClientAuth {
    /// `client_secret_basic`: `Authorization: Basic` over the form-urlencoded client id and
    /// secret (RFC 6749 §2.3.1). What most servers expect of a confidential client.
    SecretBasic(Secret),
    /// `client_secret_post`: the client id and secret in the form body (§2.3.1).
    SecretPost(Secret),
    /// A public client (a command-line tool, a native app, §2.1): its `client_id` only.
    Public,
    /// `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a short-lived assertion
    /// signed by the client's private key with every request (feature `jwt`).
    #[cfg(feature = "jwt")]
    PrivateKeyJwt(PrivateKeyJwt),
    /// `client_secret_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): a short-lived assertion
    /// MACed (HS256) with the client secret with every request, so the secret itself never
    /// travels (feature `jwt`).
    #[cfg(feature = "jwt")]
    SecretJwt(ClientSecretJwt),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SecretBasic(_) => "ClientAuth::SecretBasic([redacted])",
            Self::SecretPost(_) => "ClientAuth::SecretPost([redacted])",
            Self::Public => "ClientAuth::Public",
            #[cfg(feature = "jwt")]
            Self::PrivateKeyJwt(_) => "ClientAuth::PrivateKeyJwt(..)",
            #[cfg(feature = "jwt")]
            Self::SecretJwt(_) => "ClientAuth::SecretJwt([redacted])",
        })
    }
}

/// The settings of `private_key_jwt`: the key, and the assertions' audience and lifetime.
///
/// Each request gets a fresh assertion: `iss` = `sub` = the client id, `aud` = the token
/// endpoint (the issuer when there is none) unless [`PrivateKeyJwt::audience`] says
/// otherwise, a random `jti`, and `iat`/`exp` on the client's clock moved by the server's
/// clock offset.
#[cfg(feature = "jwt")]
#[derive(Debug, Clone)]
pub struct PrivateKeyJwt {
    key: auth_jwt::SigningKey,
    audience: Option<String>,
    lifetime: Duration,
}

#[cfg(feature = "jwt")]
impl PrivateKeyJwt {
    /// Assertions signed with `key` (RS256, PS256, ES256, EdDSA, ...): register its public
    /// JWK with the server.
    pub fn new(key: auth_jwt::SigningKey) -> Self {
        Self {
            key,
            audience: None,
            lifetime: DEFAULT_ASSERTION_LIFETIME,
        }
    }

    /// The assertions' `aud`. Default: the token endpoint URL (RFC 7523 §3); some
    /// providers want their issuer identifier instead.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long each assertion is valid. Default: 60 s; at most
    /// [`MAX_ASSERTION_LIFETIME`](crate::assertion::MAX_ASSERTION_LIFETIME).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }
}

/// The settings of `client_secret_jwt`: the client secret (at least 32 bytes, as HS256 needs,
/// RFC 7518 §3.2), and the assertions' audience and lifetime, as for [`PrivateKeyJwt`].
#[cfg(feature = "jwt")]
#[derive(Clone)]
pub struct ClientSecretJwt {
    secret: Secret,
    audience: Option<String>,
    lifetime: Duration,
}

#[cfg(feature = "jwt")]
impl fmt::Debug for ClientSecretJwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecretJwt")
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "jwt")]
impl ClientSecretJwt {
    /// Assertions MACed with `secret` (HS256).
    pub fn new(secret: Secret) -> Self {
        Self {
            secret,
            audience: None,
            lifetime: DEFAULT_ASSERTION_LIFETIME,
        }
    }

    /// The assertions' `aud`. Default: the token endpoint URL (RFC 7523 §3).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// How long each assertion is valid. Default: 60 s; at most
    /// [`MAX_ASSERTION_LIFETIME`](crate::assertion::MAX_ASSERTION_LIFETIME).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }
}

/// A checked [`ClientAuth`], as a built client keeps it.
#[derive(Clone)]
pub(crate) enum Authn {
    Basic(Secret),
    Post(Secret),
    Public,
    /// `private_key_jwt` or `client_secret_jwt`: an assertion with every request.
    #[cfg(feature = "jwt")]
    PrivateKeyJwt(Arc<Assertion>),
}

impl ClientAuth {
    /// Checks the settings; `audience` is the default assertion audience (token endpoint,
    /// else issuer).
    #[cfg_attr(not(feature = "jwt"), allow(unused_variables))]
    pub(crate) fn check(self, audience: Option<String>) -> Result<Authn, Error> {
        let utf8 = |s: &Secret| {
            s.expose_str()
                .map(|_| ())
                .map_err(|_| Error::misconfigured("client secret is not utf-8"))
        };
        Ok(match self {
            Self::SecretBasic(s) => {
                utf8(&s)?;
                Authn::Basic(s)
            }
            Self::SecretPost(s) => {
                utf8(&s)?;
                Authn::Post(s)
            }
            Self::Public => Authn::Public,
            #[cfg(feature = "jwt")]
            Self::PrivateKeyJwt(p) => {
                let audience = p.audience.or(audience).ok_or_else(|| {
                    Error::misconfigured(
                        "private_key_jwt needs a token endpoint, an issuer or an audience",
                    )
                })?;
                Authn::PrivateKeyJwt(Arc::new(Assertion::new(p.key, audience, p.lifetime)?))
            }
            #[cfg(feature = "jwt")]
            Self::SecretJwt(p) => {
                let audience = p.audience.or(audience).ok_or_else(|| {
                    Error::misconfigured(
                        "client_secret_jwt needs a token endpoint, an issuer or an audience",
                    )
                })?;
                Authn::PrivateKeyJwt(Arc::new(Assertion::with_secret(
                    &p.secret, audience, p.lifetime,
                )?))
            }
        })
    }
}

impl Authn {
    /// Where the `oauth2` crate puts the client's credentials.
    pub(crate) fn auth_type(&self) -> AuthType {
        match self {
            Self::Basic(_) => AuthType::BasicAuth,
            _ => AuthType::RequestBody,
        }
    }

    /// The client secret for one call, as the `oauth2` crate's `ClientSecret` that lives as
    /// long as the call, when the client authenticates with one.
    pub(crate) fn client_secret(&self) -> Result<Option<ClientSecret>, Error> {
        match self {
            Self::Basic(s) | Self::Post(s) => {
                let s = s
                    .expose_str()
                    .map_err(|_| Error::misconfigured("client secret is not utf-8"))?;
                Ok(Some(ClientSecret::new(s.to_owned())))
            }
            _ => Ok(None),
        }
    }

    /// A fresh assertion for `client_id` at the server's time `now`, when the client
    /// authenticates with one.
    pub(crate) fn assertion(
        &self,
        client_id: &str,
        now: UnixTime,
    ) -> Result<Option<String>, Error> {
        match self {
            #[cfg(feature = "jwt")]
            Self::PrivateKeyJwt(a) => a.sign(client_id, now).map(Some),
            _ => {
                let _ = (client_id, now);
                Ok(None)
            }
        }
    }
}
