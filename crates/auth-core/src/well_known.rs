//! Well-known metadata locations: where an issuer's or a protected resource's metadata
//! document lives, given its identifier (RFC 8615 well-known URIs, as RFC 8414, OpenID
//! Connect Discovery and RFC 9728 place them). Shared by auth-jwt's discovery, auth-oauth2's
//! client and the resource servers that publish their own metadata.

use std::fmt;

use http::Uri;

use crate::transport::Transport;

/// Which well-known document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WellKnown {
    /// `/.well-known/oauth-authorization-server`, inserted between the host and the issuer's
    /// path (RFC 8414 §3.1).
    OAuth,
    /// `/.well-known/openid-configuration`, appended to the issuer (OpenID Connect Discovery
    /// 1.0 §4).
    OpenId,
    /// `/.well-known/oauth-protected-resource`, inserted between the host and the resource's
    /// path (RFC 9728 §3.1).
    ProtectedResource,
}

impl WellKnown {
    /// The well-known suffix, without the leading `/.well-known/`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::OAuth => "oauth-authorization-server",
            Self::OpenId => "openid-configuration",
            Self::ProtectedResource => "oauth-protected-resource",
        }
    }

    /// The URL of `identifier`'s document of this kind, after checking `identifier` against
    /// `transport`. An identifier is an absolute URL without query or fragment (RFC 8414 §2,
    /// RFC 9728 §1.2); a trailing slash of its path is not part of the location.
    ///
    /// ```
    /// use auth_core::{Transport, WellKnown};
    /// let t = Transport::default();
    /// assert_eq!(
    ///     WellKnown::OAuth.url("https://as.example/tenant1", t).unwrap().to_string(),
    ///     "https://as.example/.well-known/oauth-authorization-server/tenant1",
    /// );
    /// assert_eq!(
    ///     WellKnown::OpenId.url("https://op.example/t/", t).unwrap().to_string(),
    ///     "https://op.example/t/.well-known/openid-configuration",
    /// );
    /// assert!(WellKnown::OpenId.url("http://op.example", t).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidIdentifier`] when `identifier` is not an absolute URL, has a query or a
    /// fragment, or fails `transport`.
    pub fn url(self, identifier: &str, transport: Transport) -> Result<Uri, InvalidIdentifier> {
        let bad = |why: String| InvalidIdentifier(why);
        if identifier.contains('?') || identifier.contains('#') {
            return Err(bad("an identifier has no query or fragment".into()));
        }
        let uri: Uri = identifier
            .parse()
            .map_err(|_| bad("not a valid URL".into()))?;
        transport.check(&uri).map_err(|e| bad(e.to_string()))?;
        let scheme = uri.scheme_str().unwrap_or("https");
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        let path = uri.path().trim_end_matches('/');
        let suffix = self.suffix();
        let url = match self {
            Self::OpenId => format!("{scheme}://{authority}{path}/.well-known/{suffix}"),
            Self::OAuth | Self::ProtectedResource => {
                format!("{scheme}://{authority}/.well-known/{suffix}{path}")
            }
        };
        url.parse()
            .map_err(|_| bad("the metadata URL does not parse".into()))
    }
}

/// An issuer or resource identifier that cannot locate a metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidIdentifier(String);

impl fmt::Display for InvalidIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unusable identifier: {}", self.0)
    }
}

impl std::error::Error for InvalidIdentifier {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_by_kind() {
        let t = Transport::default();
        let url = |k: WellKnown, i: &str| k.url(i, t).map(|u| u.to_string());
        assert_eq!(
            url(WellKnown::OAuth, "https://as.example").unwrap(),
            "https://as.example/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            url(WellKnown::OAuth, "https://as.example:8443/a/b").unwrap(),
            "https://as.example:8443/.well-known/oauth-authorization-server/a/b"
        );
        assert_eq!(
            url(WellKnown::ProtectedResource, "https://api.example/v1").unwrap(),
            "https://api.example/.well-known/oauth-protected-resource/v1"
        );
        assert_eq!(
            url(WellKnown::OpenId, "http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/.well-known/openid-configuration"
        );
        for bad in [
            "https://as.example?x=1",
            "https://as.example#f",
            "as.example",
            "http://as.example",
        ] {
            assert!(url(WellKnown::OAuth, bad).is_err(), "{bad}");
        }
    }
}
