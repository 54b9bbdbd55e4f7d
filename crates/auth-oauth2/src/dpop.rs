//! DPoP (RFC 9449) on the client side: access tokens bound to a key the client holds.
//!
//! Give the client a key with
//! [`OAuthClientBuilder::dpop`](crate::OAuthClientBuilder::dpop) (feature `jwt`). Then:
//!
//! - every token request (client credentials, authorization code, refresh, device code)
//!   carries a `DPoP` proof for `POST` to the token endpoint, without `ath`;
//! - a `400` with `error=use_dpop_nonce` and a `DPoP-Nonce` header is retried once with that
//!   nonce; the latest nonce of each origin (`scheme://host:port`), from any response, is
//!   remembered and put in later proofs to that origin;
//! - a token response with `token_type: DPoP` gives a [`TokenType::DPoP`](crate::TokenType)
//!   token: [`AccessToken::apply`] sets `Authorization: DPoP <token>` and a fresh proof for
//!   the request's method and URL, with `ath`; [`TokenSource::should_retry_at`] learns a
//!   resource server's nonce and says when to retry once;
//! - a [`TokenSource`] refreshes with the same client, so with the same key: a bound refresh
//!   token is only usable with it.
//!
//! A server may answer a request that carried a proof with `token_type: Bearer`: it chose not
//! to bind the token (RFC 9449 §5), and the token is used as a plain bearer token. The other
//! way round, a `DPoP` token for a client that sent no proof, is refused
//! ([`Error::InvalidResponse`]): the client could not use it.
//!
//! The key and the tokens never appear in `Debug` output or in errors; a nonce is not a
//! secret (the server sends it in the clear to anyone).

use auth_core::{DynHttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse};
#[cfg(feature = "jwt")]
pub use auth_jwt::dpop::DpopKey;
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::error::Error;
use crate::source::{AccessToken, TokenSource};

/// The `error` a server answers when a proof needs its nonce (RFC 9449 §8, §9).
pub const USE_DPOP_NONCE: &str = "use_dpop_nonce";
/// The request header that carries a proof.
const DPOP_HEADER: &str = "dpop";
#[cfg(feature = "jwt")]
/// How many origins' nonces a client remembers; the oldest is forgotten beyond.
const MAX_ORIGINS: usize = 64;
#[cfg(feature = "jwt")]
/// The longest nonce kept (a server's nonce is short; anything longer is not taken).
const MAX_NONCE_LEN: usize = 512;

/// A client's DPoP key and the nonces its servers handed out. Without feature `jwt` it
/// cannot be made.
pub(crate) struct DpopState {
    #[cfg(feature = "jwt")]
    key: DpopKey,
    #[cfg(feature = "jwt")]
    nonces: std::sync::Mutex<Vec<(String, String)>>,
    #[cfg(not(feature = "jwt"))]
    never: std::convert::Infallible,
}

impl std::fmt::Debug for DpopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopState")
            .field("thumbprint", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "jwt")]
impl DpopState {
    pub(crate) fn new(key: DpopKey) -> Self {
        Self {
            key,
            nonces: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The key's RFC 7638 thumbprint: the `cnf.jkt` of the tokens bound to it.
    pub(crate) fn thumbprint(&self) -> &str {
        self.key.thumbprint()
    }

    fn nonces(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.nonces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The nonce last heard from `uri`'s origin.
    pub(crate) fn nonce_for(&self, uri: &Uri) -> Option<String> {
        let origin = origin(uri)?;
        let nonces = self.nonces();
        nonces
            .iter()
            .find(|(o, _)| *o == origin)
            .map(|(_, n)| n.clone())
    }

    /// Remembers the `DPoP-Nonce` in `headers` for `uri`'s origin; whether there was one.
    pub(crate) fn learn(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        let Some(nonce) = headers
            .get(auth_jwt::dpop::NONCE_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|n| !n.is_empty() && n.len() <= MAX_NONCE_LEN)
        else {
            return false;
        };
        let Some(origin) = origin(uri) else {
            return false;
        };
        let mut nonces = self.nonces();
        nonces.retain(|(o, _)| *o != origin);
        if nonces.len() >= MAX_ORIGINS {
            nonces.remove(0);
        }
        nonces.push((origin, nonce.to_owned()));
        true
    }

    /// A proof for `method` to `uri`, with `ath` for `access_token` and the origin's nonce.
    pub(crate) fn proof(
        &self,
        method: &Method,
        uri: &Uri,
        access_token: Option<&str>,
    ) -> Result<HeaderValue, Error> {
        let nonce = self.nonce_for(uri);
        let proof = self
            .key
            .proof(method, &uri.to_string(), access_token, nonce.as_deref())
            .map_err(|e| Error::DpopProof(Box::new(e)))?;
        HeaderValue::try_from(proof).map_err(|e| Error::DpopProof(Box::new(e)))
    }
}

#[cfg(not(feature = "jwt"))]
impl DpopState {
    pub(crate) fn thumbprint(&self) -> &str {
        match self.never {}
    }

    pub(crate) fn learn(&self, _uri: &Uri, _headers: &HeaderMap) -> bool {
        match self.never {}
    }

    pub(crate) fn proof(
        &self,
        _method: &Method,
        _uri: &Uri,
        _access_token: Option<&str>,
    ) -> Result<HeaderValue, Error> {
        match self.never {}
    }
}

/// `scheme://host:port`, the port always written, in lower case.
#[cfg(feature = "jwt")]
fn origin(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let host = uri.host()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(format!("{scheme}://{host}:{port}"))
}

/// Whether a token endpoint's response asks for a nonce: a 400 whose JSON `error` is
/// `use_dpop_nonce`.
fn asks_for_nonce(response: &HttpResponse) -> bool {
    response.status() == http::StatusCode::BAD_REQUEST
        && serde_json::from_slice::<serde_json::Value>(response.body())
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(|e| e == USE_DPOP_NONCE))
            .unwrap_or(false)
}

/// Sends a token endpoint request, with a `DPoP` proof when `dpop` is set: learns the
/// response's nonce, and retries once when the server asks for one and gave it. Returns the
/// response and whether a proof went with it.
pub(crate) async fn send_token_request(
    http: &dyn DynHttpClient,
    dpop: Option<&DpopState>,
    request: HttpRequest,
) -> Result<(HttpResponse, bool), HttpError> {
    let Some(dpop) = dpop else {
        return Ok((http.send_boxed(request).await?, false));
    };
    let (parts, body) = request.into_parts();
    let attempt = || -> Result<HttpRequest, HttpError> {
        let proof = dpop
            .proof(&parts.method, &parts.uri, None)
            .map_err(|e| HttpError::new(HttpErrorKind::Invalid, e.to_string()))?;
        let mut request = http::Request::new(body.clone());
        *request.method_mut() = parts.method.clone();
        *request.uri_mut() = parts.uri.clone();
        *request.version_mut() = parts.version;
        *request.headers_mut() = parts.headers.clone();
        request
            .headers_mut()
            .insert(http::HeaderName::from_static(DPOP_HEADER), proof);
        Ok(request)
    };
    let response = http.send_boxed(attempt()?).await?;
    let learned = dpop.learn(&parts.uri, response.headers());
    if learned && asks_for_nonce(&response) {
        let response = http.send_boxed(attempt()?).await?;
        dpop.learn(&parts.uri, response.headers());
        return Ok((response, true));
    }
    Ok((response, true))
}

impl TokenSource {
    /// As [`TokenSource::should_retry`], for a request to `uri` sent with `used`, and for
    /// DPoP-bound tokens also: remembers the `DPoP-Nonce` the response carries (on any
    /// status) for `uri`'s origin, and answers `true` to a 401 whose `DPoP` challenge says
    /// `error="use_dpop_nonce"` with a nonce (RFC 9449 §9): the token stays, and the retry's
    /// proof ([`TokenSource::authorize`] again) carries the nonce.
    ///
    /// Call it on every response to a DPoP request, so that the latest nonce is used; retry
    /// once only, as with [`TokenSource::should_retry`].
    pub fn should_retry_at<B>(
        &self,
        uri: &Uri,
        response: &http::Response<B>,
        used: &AccessToken,
    ) -> bool {
        if let Some(dpop) = used.dpop() {
            let learned = dpop.learn(uri, response.headers());
            if learned && response.status() == http::StatusCode::UNAUTHORIZED {
                let use_nonce = response
                    .headers()
                    .get_all(http::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter_map(|v| auth_core::Challenge::parse_all(v).ok())
                    .flatten()
                    .any(|c| c.is_scheme("DPoP") && c.param("error") == Some(USE_DPOP_NONCE));
                if use_nonce {
                    return true;
                }
            }
        }
        self.should_retry(response, used)
    }
}
