//! Client side: attaching a credential to an outgoing `http::Request`.
//!
//! The header value is marked sensitive ([`HeaderValue::set_sensitive`]), so that HTTP/2
//! never indexes it (HPACK) and well-behaved loggers do not print it, and it is only attached
//! to a request bound for `https` (or `http` to a loopback host): a credential sent in clear
//! text is a credential given away.

use std::fmt;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::http_client::HttpError;
use crate::secret::{Secret, SecretError};
use crate::transport::Transport;

/// A fixed credential for outgoing requests: a bearer token, or an API key in a named header.
///
/// ```
/// use auth_core::{Secret, StaticCredential};
///
/// let key = Secret::new("sk_live_example");
/// let credential = StaticCredential::bearer(&key).unwrap();
/// let mut request = http::Request::get("https://api.example.com/data").body(()).unwrap();
/// credential.apply(&mut request).unwrap();
/// assert!(request.headers()["authorization"].is_sensitive());
///
/// // Not in clear text to another host:
/// let mut plain = http::Request::get("http://api.example.com/data").body(()).unwrap();
/// assert!(credential.apply(&mut plain).is_err());
/// assert!(plain.headers().get("authorization").is_none());
/// assert_eq!(
///     format!("{credential:?}"),
///     "StaticCredential { header: \"authorization\", value: [redacted], transport: EncryptedOrLoopback }"
/// );
/// ```
#[derive(Clone)]
pub struct StaticCredential {
    header: HeaderName,
    value: HeaderValue,
    transport: Transport,
}

impl StaticCredential {
    /// `Authorization: Bearer <token>`.
    ///
    /// # Errors
    ///
    /// [`InvalidCredential`] when the token has characters a header cannot carry.
    pub fn bearer(token: &Secret) -> Result<Self, InvalidCredential> {
        let mut value = Vec::with_capacity(7 + token.len());
        value.extend_from_slice(b"Bearer ");
        value.extend_from_slice(token.expose_secret());
        let secret = Secret::new(value);
        Self::header(AUTHORIZATION, &secret)
    }

    /// `<name>: <key>`, for example `X-API-Key`.
    ///
    /// # Errors
    ///
    /// [`InvalidCredential`] when the key has characters a header cannot carry.
    pub fn header(name: HeaderName, value: &Secret) -> Result<Self, InvalidCredential> {
        let bytes = value.expose_secret();
        if !bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return Err(InvalidCredential);
        }
        let mut value = HeaderValue::from_bytes(bytes).map_err(|_| InvalidCredential)?;
        value.set_sensitive(true);
        Ok(Self {
            header: name,
            value,
            transport: Transport::default(),
        })
    }

    /// A bearer token from the environment variable `var` (or the file `{var}_FILE` names).
    ///
    /// # Errors
    ///
    /// [`LoadError`] when the variable is missing or the value is not a valid header value.
    pub fn bearer_from_env(var: &str) -> Result<Self, LoadError> {
        let secret = Secret::from_env(var)?;
        Ok(Self::bearer(&secret)?)
    }

    /// Where requests may carry this credential: by default `https`, or `http` to a loopback
    /// host ([`Transport::EncryptedOrLoopback`]). [`Transport::danger_allow_plaintext`] is for
    /// test networks only.
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Sets the credential header on `request`, replacing any earlier value, once the
    /// request's URL is one the credential may travel to (see
    /// [`StaticCredential::with_transport`]).
    ///
    /// # Errors
    ///
    /// [`HttpError`] of kind [`InsecureUrl`](crate::http_client::HttpErrorKind::InsecureUrl)
    /// when the URL is not absolute, or is plain `http` to a host that is not loopback; the
    /// request is then left without the credential.
    pub fn apply<B>(&self, request: &mut http::Request<B>) -> Result<(), HttpError> {
        self.transport.check(request.uri())?;
        self.apply_to_headers(request.headers_mut());
        Ok(())
    }

    /// Sets the credential header in `headers`, replacing any earlier value. There is no URL
    /// here to check: use it only where the caller knows the request goes over HTTPS (a
    /// client built for one `https` base URL), and prefer [`StaticCredential::apply`].
    pub fn apply_to_headers(&self, headers: &mut HeaderMap) {
        headers.insert(self.header.clone(), self.value.clone());
    }
}

impl fmt::Debug for StaticCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredential")
            .field("header", &self.header.as_str())
            .field("value", &format_args!("[redacted]"))
            .field("transport", &self.transport)
            .finish()
    }
}

/// A credential has bytes that an HTTP header cannot carry (controls, non-ASCII).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("credential has characters a header cannot carry")]
pub struct InvalidCredential;

/// A credential could not be loaded from the environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The secret could not be loaded.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The secret is not a valid header value.
    #[error(transparent)]
    Invalid(#[from] InvalidCredential),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_header_is_sensitive_and_replaces() {
        let c =
            StaticCredential::header(HeaderName::from_static("x-api-key"), &Secret::new("k-123"))
                .unwrap();
        let mut req = http::Request::get("https://api.example/")
            .header("x-api-key", "old")
            .body(())
            .unwrap();
        c.apply(&mut req).unwrap();
        assert_eq!(req.headers().get_all("x-api-key").iter().count(), 1);
        assert_eq!(req.headers()["x-api-key"], "k-123");
        assert!(req.headers()["x-api-key"].is_sensitive());
        assert!(!format!("{c:?}").contains("k-123"));
    }

    #[test]
    fn only_over_https_or_to_loopback() {
        let c = StaticCredential::bearer(&Secret::new("t")).unwrap();
        for url in [
            "https://api.example/x",
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://[::1]/x",
        ] {
            let mut req = http::Request::get(url).body(()).unwrap();
            c.apply(&mut req).unwrap();
            assert!(req.headers().contains_key("authorization"), "{url}");
        }
        for url in ["http://api.example/x", "/relative", "ftp://api.example/x"] {
            let mut req = http::Request::get(url).body(()).unwrap();
            let e = c.apply(&mut req).unwrap_err();
            assert_eq!(
                e.kind(),
                crate::http_client::HttpErrorKind::InsecureUrl,
                "{url}"
            );
            assert!(!req.headers().contains_key("authorization"), "{url}");
        }
        let test_network = c.with_transport(Transport::danger_allow_plaintext());
        let mut req = http::Request::get("http://api.example/x").body(()).unwrap();
        test_network.apply(&mut req).unwrap();
    }

    #[test]
    fn rejects_header_breaking_bytes() {
        assert!(StaticCredential::bearer(&Secret::new("a\r\nX-Evil: 1")).is_err());
        assert!(StaticCredential::bearer(&Secret::new(vec![0xff])).is_err());
    }
}
