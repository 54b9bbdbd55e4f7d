//! The one seam for outbound HTTP: token endpoints, JWKS, introspection, discovery.
//!
//! Architecture invariant: every outbound call in auth-rs goes through [`HttpClient`], which
//! takes an `http::Request<Vec<u8>>` and returns an `http::Response<Vec<u8>>`. No transport
//! crate appears in a public signature. Tests plug in closures or loopback servers; production
//! uses `auth-http`'s client (timeouts, size cap, no redirects, HTTPS only).

use std::fmt;
use std::future::Future;
use std::sync::Arc;

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
