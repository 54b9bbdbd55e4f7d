//! The client's DPoP key and the nonces its servers handed out ([`DpopState`]), and the token
//! endpoint's send with a proof and one nonce retry: what the bridge, the device grant and
//! the token cache share (the public side is the `dpop` module).

use auth_core::{DynHttpClient, HttpError, HttpErrorKind, HttpRequest, HttpResponse};
#[cfg(feature = "jwt")]
use auth_jwt::dpop::DpopKey;
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::error::Error;

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
