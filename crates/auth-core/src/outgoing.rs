//! Client side: attaching a credential to an outgoing `http::Request`.
//!
//! The header value is marked sensitive ([`HeaderValue::set_sensitive`]), so that HTTP/2
//! never indexes it (HPACK) and well-behaved loggers do not print it.

use std::fmt;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use crate::secret::{Secret, SecretError};

/// A fixed credential for outgoing requests: a bearer token, or an API key in a named header.
///
/// ```
/// use auth_core::{Secret, StaticCredential};
///
/// let key = Secret::new("sk_live_example");
/// let credential = StaticCredential::bearer(&key).unwrap();
/// let mut request = http::Request::get("https://api.example.com/data").body(()).unwrap();
/// credential.apply(&mut request);
/// assert!(request.headers()["authorization"].is_sensitive());
/// assert_eq!(format!("{credential:?}"), "StaticCredential { header: \"authorization\", value: [redacted] }");
/// ```
#[derive(Clone)]
pub struct StaticCredential {
    header: HeaderName,
    value: HeaderValue,
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

    /// Sets the credential header on `request`, replacing any earlier value.
    pub fn apply<B>(&self, request: &mut http::Request<B>) {
        self.apply_to_headers(request.headers_mut());
    }

    /// Sets the credential header in `headers`, replacing any earlier value.
    pub fn apply_to_headers(&self, headers: &mut HeaderMap) {
        headers.insert(self.header.clone(), self.value.clone());
    }
}

impl fmt::Debug for StaticCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticCredential")
            .field("header", &self.header.as_str())
            .field("value", &format_args!("[redacted]"))
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
        let mut req = http::Request::get("/")
            .header("x-api-key", "old")
            .body(())
            .unwrap();
        c.apply(&mut req);
        assert_eq!(req.headers().get_all("x-api-key").iter().count(), 1);
        assert_eq!(req.headers()["x-api-key"], "k-123");
        assert!(req.headers()["x-api-key"].is_sensitive());
        assert!(!format!("{c:?}").contains("k-123"));
    }

    #[test]
    fn rejects_header_breaking_bytes() {
        assert!(StaticCredential::bearer(&Secret::new("a\r\nX-Evil: 1")).is_err());
        assert!(StaticCredential::bearer(&Secret::new(vec![0xff])).is_err());
    }
}
