//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1.1): always
//! S256, never `plain`; a `state` of 256 random bits, single use (the pending authorization
//! is consumed by [`PendingAuthorization::finish`]) and compared in constant time; the
//! redirect URI matched exactly; RFC 9207's `iss` checked by exact string, and required when
//! the server advertises it.

use std::fmt;

use auth_core::Secret;
use oauth2::{AuthorizationCode, PkceCodeChallenge, PkceCodeVerifier};
use subtle::ConstantTimeEq;

use crate::client::OAuthClient;
use crate::client_auth::{CLIENT_ASSERTION, CLIENT_ASSERTION_TYPE, JWT_BEARER};
use crate::error::{Error, ErrorCode, ServerError};
use crate::response::TokenSet;

/// A PKCE code verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
pub struct Pkce {
    verifier: Secret,
    challenge: String,
}

impl Pkce {
    /// A fresh verifier: 32 random bytes, base64url (43 characters).
    pub fn random() -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Self {
            verifier: Secret::new(verifier.into_secret()),
            challenge: challenge.as_str().to_owned(),
        }
    }

    /// The S256 pair for a given verifier.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the verifier is not 43 to 128 unreserved characters
    /// (RFC 7636 §4.1).
    pub fn from_verifier(verifier: &str) -> Result<Self, Error> {
        let ok_len = (43..=128).contains(&verifier.len());
        let ok_chars = verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if !ok_len || !ok_chars {
            return Err(Error::misconfigured(
                "a PKCE verifier is 43 to 128 unreserved characters",
            ));
        }
        let v = PkceCodeVerifier::new(verifier.to_owned());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&v);
        Ok(Self {
            verifier: Secret::new(v.into_secret()),
            challenge: challenge.as_str().to_owned(),
        })
    }

    /// The `code_challenge` to send with the authorization request.
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// The `code_verifier` to send with the token request.
    pub fn verifier(&self) -> &Secret {
        &self.verifier
    }
}

impl fmt::Debug for Pkce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

/// An authorization request: send the user to [`AuthorizationRequest::url`], keep
/// [`AuthorizationRequest::pending`] (in the session) for the callback.
#[derive(Debug)]
pub struct AuthorizationRequest {
    url: String,
    pending: PendingAuthorization,
}

impl AuthorizationRequest {
    /// Where to send the user's browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Splits into the URL and what the callback needs.
    pub fn into_parts(self) -> (String, PendingAuthorization) {
        (self.url, self.pending)
    }

    /// What the callback needs.
    pub fn pending(self) -> PendingAuthorization {
        self.pending
    }
}

/// An authorization in progress: the state, the PKCE verifier, and what the callback must
/// match. Used once: [`PendingAuthorization::finish`] consumes it.
pub struct PendingAuthorization {
    state: Secret,
    pkce: Pkce,
    /// The OpenID Connect `nonce`, sent when `openid` was requested (feature `jwt`).
    nonce: Option<Secret>,
}

/// A code exchanged: the tokens (with the ID token still inside), and what the ID token is
/// checked against.
pub(crate) struct Exchanged {
    pub(crate) tokens: TokenSet,
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    pub(crate) code: String,
    #[cfg_attr(not(feature = "jwt"), allow(dead_code))]
    pub(crate) nonce: Option<Secret>,
}

impl fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingAuthorization")
            .finish_non_exhaustive()
    }
}

impl PendingAuthorization {
    /// The `state` sent with the request: the key under which a web server keeps this
    /// authorization between the redirect and the callback (in the user's server-side
    /// session, or a short-lived map keyed by it). It travels in URLs, so it is not a secret
    /// in the way the PKCE verifier is; it must only be unguessable and single use.
    pub fn state(&self) -> &str {
        // Built from base64url text (or checked UTF-8 in `from_parts`).
        self.state.expose_str().unwrap_or_default()
    }

    /// The parts to keep between the redirect and the callback, across requests or a
    /// restart: the `state` and the PKCE `code_verifier`. Store the verifier server-side
    /// (never in a cookie the browser can read) and rebuild with
    /// [`PendingAuthorization::from_parts`]. With `openid`, keep [`Self::nonce`] too and
    /// give it back with [`Self::with_nonce`].
    pub fn into_parts(self) -> (Secret, Secret) {
        (self.state, self.pkce.verifier)
    }

    /// Rebuilds a pending authorization from [`PendingAuthorization::into_parts`].
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the state is not 22 to 512 URL-safe characters (at least 128
    /// bits in base64url), or the verifier is not 43 to 128 unreserved characters
    /// (RFC 7636 §4.1).
    pub fn from_parts(state: Secret, verifier: &Secret) -> Result<Self, Error> {
        if !url_safe_token(&state) {
            return Err(Error::misconfigured(
                "a state is 22 to 512 URL-safe characters (at least 128 bits)",
            ));
        }
        let verifier = verifier.expose_str().map_err(|_| {
            Error::misconfigured("a PKCE verifier is 43 to 128 unreserved characters")
        })?;
        Ok(Self {
            state,
            pkce: Pkce::from_verifier(verifier)?,
            nonce: None,
        })
    }

    /// The OpenID Connect `nonce` sent with the request (when `openid` was requested): keep
    /// it with the parts of [`Self::into_parts`]. Not a credential, but single use like
    /// `state`.
    pub fn nonce(&self) -> Option<&Secret> {
        self.nonce.as_ref()
    }

    /// Restores the `nonce` of a pending authorization rebuilt with [`Self::from_parts`].
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when it is not 22 to 512 URL-safe characters.
    pub fn with_nonce(mut self, nonce: Secret) -> Result<Self, Error> {
        if !url_safe_token(&nonce) {
            return Err(Error::misconfigured(
                "a nonce is 22 to 512 URL-safe characters (at least 128 bits)",
            ));
        }
        self.nonce = Some(nonce);
        Ok(self)
    }

    /// Checks the redirect the browser came back with (`callback`: the full URL, or the
    /// path and query) and exchanges its code for tokens.
    ///
    /// In order: the callback's scheme, host, port and path must equal the redirect URI;
    /// no parameter may be repeated (RFC 6749 §3.1); `state` must match; `iss` must equal the
    /// issuer exactly when the server advertises RFC 9207 (and must then be present), and
    /// may not name another issuer in any case; then an `error` is reported, or the `code`
    /// exchanged. Nothing is sent to the token endpoint unless every check passes.
    ///
    /// # Errors
    ///
    /// [`Error::AuthorizationResponse`] when a check fails, [`Error::Server`] when the
    /// callback carries an error, or the errors of the token request.
    ///
    /// When `openid` was requested (a nonce was sent; feature `jwt`), the ID token is
    /// verified as well ([`crate::id_token`]); [`Self::finish_with_id_token`] returns it typed.
    pub async fn finish(self, client: &OAuthClient, callback: &str) -> Result<TokenSet, Error> {
        let done = self.exchange(client, callback).await?;
        #[cfg(feature = "jwt")]
        let tokens = done.verify::<serde::de::IgnoredAny>(client).await?.0;
        #[cfg(not(feature = "jwt"))]
        let tokens = done.tokens;
        Ok(tokens)
    }

    /// The checks of [`Self::finish`] and the code exchange, the ID token not yet verified.
    pub(crate) async fn exchange(
        self,
        client: &OAuthClient,
        callback: &str,
    ) -> Result<Exchanged, Error> {
        let shared = &*client.shared;
        let refuse = |why: &'static str| Error::AuthorizationResponse(why.into());
        let redirect = shared
            .redirect_uri
            .as_deref()
            .ok_or_else(|| Error::misconfigured("no redirect uri configured"))?;
        let (base, query) = callback.split_once('?').unwrap_or((callback, ""));
        let query = query.split('#').next().unwrap_or_default();
        let (redirect_base, _) = redirect.split_once('?').unwrap_or((redirect, ""));
        let same = if base.starts_with('/') {
            // Only the path and query came: compare with the redirect URI's path.
            redirect_base
                .parse::<http::Uri>()
                .is_ok_and(|u| u.path() == base)
        } else {
            base == redirect_base
        };
        if !same {
            return Err(refuse("callback is not the registered redirect uri"));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (k, v) in form_pairs(query) {
            if params.iter().any(|(seen, _)| *seen == k) {
                return Err(refuse("a parameter is repeated (RFC 6749 3.1)"));
            }
            params.push((k, v));
        }
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let state = get("state").ok_or_else(|| refuse("state missing"))?;
        if !bool::from(state.as_bytes().ct_eq(self.state.expose_secret())) {
            return Err(refuse("state does not match"));
        }
        match (&shared.issuer, get("iss")) {
            (Some(issuer), Some(iss)) if iss != issuer => {
                return Err(refuse("iss names another issuer (mix-up, RFC 9207)"));
            }
            (Some(_), None) if shared.iss_parameter => {
                return Err(refuse(
                    "iss missing though the server advertises it (RFC 9207)",
                ));
            }
            (None, Some(_)) if shared.iss_parameter => {
                return Err(refuse(
                    "iss sent but no issuer configured to check it against",
                ));
            }
            _ => {}
        }
        if let Some(code) = get("error") {
            return Err(Error::Server {
                endpoint: "authorization endpoint".to_owned(),
                error: ServerError::new(ErrorCode::parse(code), 302).with_details(
                    get("error_description").map(str::to_owned),
                    get("error_uri").map(str::to_owned),
                ),
            });
        }
        let code = get("code").ok_or_else(|| refuse("code missing"))?;
        let verifier = self
            .pkce
            .verifier
            .expose_str()
            .map(|v| PkceCodeVerifier::new(v.to_owned()))
            .map_err(|_| refuse("pkce verifier is not utf-8"))?;
        let bridge = client.bridge();
        let inner = client.oauth2_client()?;
        let mut request = inner
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| crate::client::no_token_endpoint())?
            .set_pkce_verifier(verifier);
        if let Some(assertion) = client.client_assertion()? {
            request = request
                .add_extra_param(CLIENT_ASSERTION_TYPE, JWT_BEARER)
                .add_extra_param(CLIENT_ASSERTION, assertion);
        }
        let result = request.request_async(&bridge).await;
        let tokens = client.finish(&bridge, result, None)?;
        Ok(Exchanged {
            tokens,
            code: code.to_owned(),
            nonce: self.nonce,
        })
    }
}

/// Whether `s` is 22 to 512 URL-safe characters: a `state` or `nonce` of at least 128 bits.
fn url_safe_token(s: &Secret) -> bool {
    s.expose_str().is_ok_and(|s| {
        (22..=512).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    })
}

fn form_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(query.as_bytes()).into_owned()
}

impl AuthorizationRequest {
    pub(crate) fn new(url: String, state: Secret, pkce: Pkce, nonce: Option<Secret>) -> Self {
        Self {
            url,
            pending: PendingAuthorization { state, pkce, nonce },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let p = Pkce::from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifier_syntax_is_checked_without_panicking() {
        assert!(Pkce::from_verifier(&"a".repeat(42)).is_err());
        assert!(Pkce::from_verifier(&"a".repeat(43)).is_ok());
        assert!(Pkce::from_verifier(&"a".repeat(128)).is_ok());
        assert!(Pkce::from_verifier(&"a".repeat(129)).is_err());
        assert!(Pkce::from_verifier("dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk").is_err());
        assert!(Pkce::from_verifier("é".repeat(30).as_str()).is_err());
        assert_eq!(Pkce::random().verifier().len(), 43);
    }
}
