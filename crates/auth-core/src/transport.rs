//! [`Transport`]: the one policy for where a credential may travel, used by every sender
//! and every client of a network service in auth-rs: outbound HTTP (`auth-http`, auth-jwt's
//! remote JWKS, auth-oauth2's endpoints, `StaticCredential`, `AccessToken`), the PostgreSQL
//! key store and the Redis limiter. Encrypted, or plaintext to loopback only, unless
//! explicitly allowed with [`Transport::danger_allow_plaintext`].

use std::fmt;
use std::net::IpAddr;

use http::Uri;

use crate::http_client::{HttpError, HttpErrorKind};

/// Where credentials may travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// Encrypted (`https`, `rediss`, TLS to PostgreSQL), or plaintext to a loopback host
    /// (`localhost`, `127.0.0.0/8`, `::1`) or a Unix socket. The default.
    #[default]
    EncryptedOrLoopback,
    /// Plaintext to any host as well. Only for test networks: credentials and tokens travel
    /// in clear text. Reached only through [`Transport::danger_allow_plaintext`].
    DangerPlaintext,
}

impl Transport {
    /// Allows plaintext (plain `http`, `redis://`, PostgreSQL without TLS) to any host.
    ///
    /// # Security
    ///
    /// Tokens, secrets and keys then cross the network unencrypted and unauthenticated.
    pub fn danger_allow_plaintext() -> Self {
        Self::DangerPlaintext
    }

    /// The old name of [`Transport::danger_allow_plaintext`].
    #[deprecated(since = "0.2.0", note = "use danger_allow_plaintext")]
    pub fn danger_allow_plain_http() -> Self {
        Self::danger_allow_plaintext()
    }

    /// Whether plaintext may go to `host` (as in a URI, IPv6 in brackets).
    pub fn allows_plaintext_to(self, host: &str) -> bool {
        self == Self::DangerPlaintext || is_loopback_host(host)
    }

    /// Whether plaintext may go to any host (the danger setting).
    pub fn allows_plaintext_anywhere(self) -> bool {
        self == Self::DangerPlaintext
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
            Some("http") if self.allows_plaintext_to(host) => Ok(()),
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
            Transport::danger_allow_plaintext(),
            "http://idp.example/",
            true,
        );
    }

    #[test]
    fn plaintext_to_loopback_only_unless_allowed() {
        let p = Transport::default();
        assert!(p.allows_plaintext_to("127.0.0.1") && p.allows_plaintext_to("[::1]"));
        assert!(!p.allows_plaintext_to("db.internal") && !p.allows_plaintext_anywhere());
        let danger = Transport::danger_allow_plaintext();
        assert!(danger.allows_plaintext_to("db.internal") && danger.allows_plaintext_anywhere());
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
