//! The production [`HttpClient`] for auth-rs, on reqwest (rustls, aws-lc-rs, the platform's
//! certificate roots).
//!
//! Every outbound call of the auth crates (token endpoints, JWKS, introspection, discovery)
//! goes through `auth_core::HttpClient`; this crate is the real implementation, kept out of
//! the core crates so that they carry no transport in their dependencies or signatures.
//!
//! What it enforces, whatever the caller asks:
//!
//! - HTTPS, except to loopback hosts, unless [`Transport::danger_allow_plaintext`] is set;
//! - a connect timeout and an overall timeout;
//! - a cap on the response body, checked against `Content-Length` and while reading;
//! - no redirects (a redirect is returned as the response it is).
//!
//! It needs a Tokio runtime at call time, as reqwest does.
//!
//! # Example
//!
//! ```no_run
//! use auth_core::HttpClient;
//! use auth_http::{Client, Config};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(Config::default())?;
//! let request = http::Request::get("https://idp.example.com/.well-known/jwks.json")
//!     .body(Vec::new())?;
//! let response = client.send(request).await?;
//! println!("{} bytes of JWKS", response.body().len());
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::http_client::{HttpError, HttpErrorKind, HttpRequest, HttpResponse};
use auth_core::transport::redacted_origin;
use auth_core::{CaCertificates, HttpClient, Transport};

/// Settings for [`Client`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Time allowed to establish a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Time allowed for the whole exchange, body included (default 10 s).
    pub timeout: Duration,
    /// Largest response body accepted, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// Which URLs are acceptable (default: HTTPS, or plain HTTP to loopback).
    pub transport: Transport,
    /// The CA certificates to trust instead of the platform's roots, if set.
    ca: Option<CaPem>,
}

/// CA certificates in PEM, shown by size only.
#[derive(Clone)]
struct CaPem(Arc<[u8]>);

impl fmt::Debug for CaPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes of PEM", self.0.len())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            max_body_bytes: 1024 * 1024,
            transport: Transport::default(),
            ca: None,
        }
    }
}

impl Config {
    /// Sets the connect timeout.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the overall timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the response body cap in bytes.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Sets the transport policy.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Trusts only the CA certificates in `pem` (one or more, PEM), instead of the
    /// platform's roots: for endpoints behind a private CA. Checked by [`Client::new`].
    pub fn with_ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca = Some(CaPem(pem.into().into()));
        self
    }
}

/// An [`HttpClient`] on reqwest. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    inner: reqwest::Client,
    config: Config,
}

impl Client {
    /// Builds a client.
    ///
    /// # Errors
    ///
    /// [`HttpError`] when the TLS backend cannot be initialised, or the CA certificates
    /// given are not PEM certificates.
    pub fn new(config: Config) -> Result<Self, HttpError> {
        let mut builder = reqwest::Client::builder();
        if let Some(CaPem(pem)) = &config.ca {
            let ca = CaCertificates::from_pem(pem)
                .map_err(|e| HttpError::new(HttpErrorKind::Other, e.reason()))?;
            let certs = ca
                .der()
                .map(reqwest::Certificate::from_der)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    HttpError::new(
                        HttpErrorKind::Other,
                        "CA certificate is not an X.509 certificate the TLS backend can use",
                    )
                })?;
            builder = builder.tls_certs_only(certs);
        }
        let inner = builder
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("auth-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                HttpError::new(HttpErrorKind::Other, "cannot build the HTTP client").with_source(e)
            })?;
        Ok(Self { inner, config })
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        self.config.transport.check(request.uri())?;
        let origin = redacted_origin(request.uri()).to_string();
        let request = reqwest::Request::try_from(request).map_err(|e| {
            HttpError::new(
                HttpErrorKind::Invalid,
                format!("invalid request to {origin}"),
            )
            .with_source(e)
        })?;
        let mut response = self
            .inner
            .execute(request)
            .await
            .map_err(|e| classify(e, &origin, self.config.timeout))?;

        let cap = self.config.max_body_bytes;
        let too_large = || {
            HttpError::new(
                HttpErrorKind::BodyTooLarge,
                format!("response from {origin} exceeds {cap} bytes"),
            )
        };
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > cap))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(e, &origin, self.config.timeout))?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }

        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            *headers = std::mem::take(response.headers_mut());
        }
        builder.body(body).map_err(|e| {
            HttpError::new(
                HttpErrorKind::Invalid,
                format!("invalid response from {origin}"),
            )
            .with_source(e)
        })
    }
}

fn classify(e: reqwest::Error, origin: &str, timeout: Duration) -> HttpError {
    let (kind, what) = if e.is_timeout() {
        (
            HttpErrorKind::Timeout,
            format!("timed out after {timeout:?}"),
        )
    } else if e.is_connect() {
        (HttpErrorKind::Connect, "connection failed".to_owned())
    } else if e.is_body() || e.is_decode() {
        (
            HttpErrorKind::Invalid,
            "unreadable response body".to_owned(),
        )
    } else {
        (HttpErrorKind::Other, "request failed".to_owned())
    };
    // reqwest's own message can include the full URL; keep it only as the source.
    HttpError::new(kind, format!("{origin}: {what}")).with_source(e.without_url())
}

impl HttpClient for Client {
    fn send(
        &self,
        request: HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, HttpError>> + Send {
        self.execute(request)
    }
}

/// The examples in this crate's README.md, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct CrateReadmeDoctests;
