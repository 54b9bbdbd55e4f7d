//! The one seam for outbound HTTP: token endpoints, JWKS, introspection, discovery.
//!
//! Architecture invariant: every outbound call in auth-rs goes through [`HttpClient`], which
//! takes an `http::Request<Vec<u8>>` and returns an `http::Response<Vec<u8>>`. No transport
//! crate appears in a public signature. Tests plug in closures or loopback servers; production
//! uses `auth-http`'s client (timeouts, size cap, no redirects, HTTPS only).

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;

use http::Uri;

use crate::BoxFuture;
use crate::rejection::BoxError;

/// An outbound request.
pub type HttpRequest = http::Request<Vec<u8>>;
/// An inbound response, body read in full.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Sends one HTTP request and reads its response.
///
/// Any `Fn(HttpRequest) -> impl Future<Output = Result<HttpResponse, HttpError>>` is an
/// `HttpClient`, which is how tests answer without a network:
///
/// ```
/// use auth_core::http_client::{HttpClient, HttpError, HttpRequest, HttpResponse};
///
/// let client = |req: HttpRequest| async move {
///     assert_eq!(req.uri(), "https://idp.example/jwks");
///     Ok::<_, HttpError>(HttpResponse::new(br#"{"keys":[]}"#.to_vec()))
/// };
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let req = http::Request::get("https://idp.example/jwks").body(Vec::new()).unwrap();
/// let resp = client.send(req).await.unwrap();
/// assert_eq!(resp.body(), br#"{"keys":[]}"#);
/// # });
/// ```
pub trait HttpClient: Send + Sync {
    /// Sends `request`.
    ///
    /// # Errors
    ///
    /// [`HttpError`] for transport failures. An HTTP error status is a response, not an
    /// `Err`.
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, HttpError>> + Send;
}

impl<F, Fut> HttpClient for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HttpResponse, HttpError>> + Send + 'static,
{
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, HttpError>> + Send {
        self(request)
    }
}

impl<C: HttpClient + ?Sized> HttpClient for Arc<C> {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, HttpError>> + Send {
        (**self).send(request)
    }
}

/// [`HttpClient`] in object-safe form, implemented for every client: what [`BoxHttpClient`]
/// holds. Call [`HttpClient`] instead.
pub trait DynHttpClient: Send + Sync {
    /// [`HttpClient::send`], boxed.
    fn send_boxed(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, HttpError>>;
}

impl<C: HttpClient> DynHttpClient for C {
    fn send_boxed(&self, request: HttpRequest) -> BoxFuture<'_, Result<HttpResponse, HttpError>> {
        Box::pin(self.send(request))
    }
}

/// A type-erased, cheaply cloneable HTTP client: what the crates keep once built (an outbound
/// call dwarfs the one allocation of its boxed future).
#[derive(Clone)]
pub struct BoxHttpClient(Arc<dyn DynHttpClient>);

impl BoxHttpClient {
    /// Erases `client`'s type.
    pub fn new(client: impl HttpClient + 'static) -> Self {
        Self(Arc::new(client))
    }
}

impl fmt::Debug for BoxHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BoxHttpClient").finish_non_exhaustive()
    }
}

impl HttpClient for BoxHttpClient {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.0.send_boxed(request).await
    }
}

/// What went wrong with an outbound request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HttpErrorKind {
    /// No connection could be made.
    Connect,
    /// The request or the response took longer than allowed.
    Timeout,
    /// The response body was larger than allowed.
    BodyTooLarge,
    /// The URL is not `https` and not loopback, and no override was given.
    InsecureUrl,
    /// The request could not be built or the response could not be read.
    Invalid,
    /// Anything else.
    Other,
}

/// A transport failure of an outbound request.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl HttpError {
    /// An error of `kind`; `message` should name the URL's host, never a credential.
    pub fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }
}

/// Which endpoint URLs are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// `https`, or `http` to a loopback host (`localhost`, `127.0.0.0/8`, `::1`). The default.
    #[default]
    HttpsOrLoopback,
    /// Any `http` or `https` URL. Only for test networks: credentials and tokens travel in
    /// clear text. Reached only through [`Transport::danger_allow_plain_http`].
    DangerPlainHttp,
}

impl Transport {
    /// Allows plain `http` to any host.
    ///
    /// # Security
    ///
    /// Tokens, secrets and keys then cross the network unencrypted and unauthenticated.
    pub fn danger_allow_plain_http() -> Self {
        Self::DangerPlainHttp
    }

    /// Checks `uri` against this policy.
    ///
    /// # Errors
    ///
    /// [`HttpError`] of kind [`HttpErrorKind::InsecureUrl`] when the URL is not absolute, has
    /// another scheme, or is plain `http` to a host that is not loopback.
    pub fn check(self, uri: &Uri) -> Result<(), HttpError> {
        let insecure = |why: &str| {
            HttpError::new(
                HttpErrorKind::InsecureUrl,
                format!("refusing {}: {why}", redacted_origin(uri)),
            )
        };
        let Some(host) = uri.host() else {
            return Err(insecure("not an absolute URL"));
        };
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http") if self == Self::DangerPlainHttp || is_loopback_host(host) => Ok(()),
            Some("http") => Err(insecure(
                "plain http to a non-loopback host (HTTPS is required)",
            )),
            _ => Err(insecure("scheme must be https")),
        }
    }
}

/// Whether `host` (as in a URI, IPv6 in brackets) is loopback: `localhost`, `127.0.0.0/8` or
/// `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The scheme, host and port of `uri`, without user info, path or query (which can carry
/// credentials): safe for messages.
pub fn redacted_origin(uri: &Uri) -> impl fmt::Display + '_ {
    struct Origin<'a>(&'a Uri);
    impl fmt::Display for Origin<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let scheme = self.0.scheme_str().unwrap_or("?");
            let host = self.0.host().unwrap_or("?");
            match self.0.port_u16() {
                Some(p) => write!(f, "{scheme}://{host}:{p}"),
                None => write!(f, "{scheme}://{host}"),
            }
        }
    }
    Origin(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(policy: Transport, uri: &str, ok: bool) {
        let uri: Uri = uri.parse().unwrap();
        assert_eq!(policy.check(&uri).is_ok(), ok, "{uri}");
    }

    #[test]
    fn https_required_except_loopback() {
        let p = Transport::default();
        check(p, "https://idp.example/jwks", true);
        check(p, "http://idp.example/jwks", false);
        check(p, "http://127.0.0.1:8080/jwks", true);
        check(p, "http://127.8.9.10/jwks", true);
        check(p, "http://[::1]:99/jwks", true);
        check(p, "http://localhost/jwks", true);
        check(p, "http://localhost.evil.example/jwks", false);
        check(p, "http://10.0.0.1/jwks", false);
        check(p, "ftp://idp.example/jwks", false);
        check(p, "/relative", false);
        check(
            Transport::danger_allow_plain_http(),
            "http://idp.example/",
            true,
        );
    }

    #[test]
    fn messages_do_not_carry_userinfo_or_query() {
        let uri: Uri = "http://user:pw@idp.example:81/p?token=abc".parse().unwrap();
        let e = Transport::default().check(&uri).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("http://idp.example:81"), "{msg}");
        assert!(!msg.contains("pw") && !msg.contains("abc"), "{msg}");
    }
}
