//! Client side: attaching a key loaded from the environment to outgoing requests.
//!
//! A thin layer over [`auth_core::StaticCredential`] that adds one thing: the key is checked
//! against its format (length, prefix, checksum) when it is loaded, so that a truncated or
//! mistyped key fails at startup, naming the variable, rather than as a 401 on the first
//! call.

use std::ffi::OsString;

use auth_core::{Secret, StaticCredential};
use http::HeaderName;

use crate::error::Error;
use crate::format::KeyFormat;
use crate::keys::X_API_KEY;

/// Where an outgoing request carries the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `<header>: <key>`, usually `X-API-Key`.
    Header(HeaderName),
}

impl Placement {
    /// `X-API-Key: <key>`.
    pub fn x_api_key() -> Self {
        Self::Header(X_API_KEY)
    }
}

/// Loads a key of `format` from the environment variable `var` (or the file `{var}_FILE`
/// names) and makes it a credential for outgoing requests, sent as `placement` says (the
/// header is marked sensitive).
///
/// ```no_run
/// use auth_apikey::{KeyFormat, Placement, client_credential_from_env};
///
/// let format = KeyFormat::new("sk_live")?;
/// let credential = client_credential_from_env("ACME_API_KEY", &format, Placement::x_api_key())?;
/// let mut request = http::Request::get("https://api.example.com/v1/orders").body(())?;
/// credential.apply(&mut request)?; // https only (or http to loopback)
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`Error::Load`] when the variable is missing or empty; [`Error::MalformedClientKey`]
/// when the value is not a well-formed key of `format` (it names the variable, never the
/// value).
pub fn client_credential_from_env(
    var: &str,
    format: &KeyFormat,
    placement: Placement,
) -> Result<StaticCredential, Error> {
    client_credential_from_lookup(var, |v| std::env::var_os(v), format, placement)
}

/// As [`client_credential_from_env`], with the environment given as a lookup function.
///
/// # Errors
///
/// As [`client_credential_from_env`].
pub fn client_credential_from_lookup(
    var: &str,
    lookup: impl Fn(&str) -> Option<OsString>,
    format: &KeyFormat,
    placement: Placement,
) -> Result<StaticCredential, Error> {
    let key = Secret::from_lookup(var, lookup).map_err(|e| Error::Load {
        what: "API key",
        source: Box::new(e),
    })?;
    let malformed = |why| Error::MalformedClientKey {
        variable: var.to_owned(),
        prefix: format.prefix().to_owned(),
        why,
    };
    let text = key.expose_str().map_err(|_| malformed("not UTF-8"))?;
    format.parse(text).map_err(|r| malformed(r.as_str()))?;
    let credential = match placement {
        Placement::Bearer => StaticCredential::bearer(&key),
        Placement::Header(name) => StaticCredential::header(name, &key),
    };
    // A well-formed key is base62 after an ASCII prefix: a header can always carry it.
    credential.map_err(|_| malformed("not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(value: &str) -> impl Fn(&str) -> Option<OsString> + '_ {
        move |v| (v == "KEY").then(|| OsString::from(value))
    }

    #[test]
    fn attaches_a_checked_key() {
        let format = KeyFormat::new("sk_test").unwrap();
        let (_, key) = format.generate().unwrap();
        let text = key.expose_str().unwrap();
        let c = client_credential_from_lookup("KEY", env(text), &format, Placement::x_api_key())
            .unwrap();
        let mut request = http::Request::get("https://api.example/").body(()).unwrap();
        c.apply(&mut request).unwrap();
        assert_eq!(request.headers()["x-api-key"], text);
        assert!(request.headers()["x-api-key"].is_sensitive());
        assert!(!format!("{c:?}").contains(&text[8..]));

        let c =
            client_credential_from_lookup("KEY", env(text), &format, Placement::Bearer).unwrap();
        c.apply(&mut request).unwrap();
        assert_eq!(request.headers()["authorization"], format!("Bearer {text}"));
    }

    #[test]
    fn a_mistyped_key_fails_at_load() {
        let format = KeyFormat::new("sk_test").unwrap();
        let (_, key) = format.generate().unwrap();
        let mut typo = key.expose_str().unwrap().to_owned();
        typo.pop();
        let e = client_credential_from_lookup("KEY", env(&typo), &format, Placement::Bearer)
            .unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("KEY") && message.contains("malformed"),
            "{message}"
        );
        assert!(!message.contains(&typo[8..]));
        let e = client_credential_from_lookup("NOPE", env(&typo), &format, Placement::Bearer)
            .unwrap_err();
        assert!(matches!(e, Error::Load { .. }));
    }
}
