//! Discovery: authorization server metadata (RFC 8414) and OpenID Provider configuration
//! (OpenID Connect Discovery 1.0 §4), fetched and checked. The `issuer` in the document must
//! equal the issuer asked for, byte for byte (RFC 8414 §3.3): no trailing-slash or case
//! normalisation, which is what defeats a mix-up through metadata.

pub use auth_core::WellKnown;
use auth_core::{HttpClient, Transport};
use http::header::ACCEPT;
use serde_json::{Map, Value};

use crate::OAuthClientBuilder;
use crate::endpoint::name;
use crate::error::Error;

/// The metadata of an authorization server, checked.
#[derive(Debug, Clone)]
pub struct Metadata {
    issuer: String,
    doc: Map<String, Value>,
}

impl Metadata {
    /// The URL of `issuer`'s `kind` document.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the issuer is not an `https` URL (loopback excepted) or has a
    /// query or fragment (RFC 8414 §2).
    pub fn well_known_url(
        issuer: &str,
        kind: WellKnown,
        transport: Transport,
    ) -> Result<String, Error> {
        kind.url(issuer, transport)
            .map(|u| u.to_string())
            .map_err(|e| Error::misconfigured(format!("issuer: {e}")))
    }

    /// Fetches and checks `issuer`'s metadata.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for an unacceptable issuer URL, [`Error::Transport`] and
    /// [`Error::Status`] when the document cannot be fetched, [`Error::InvalidResponse`] when
    /// it is not valid metadata or names another issuer.
    pub async fn discover(
        http: &impl HttpClient,
        issuer: &str,
        kind: WellKnown,
        transport: Transport,
    ) -> Result<Self, Error> {
        let url = Self::well_known_url(issuer, kind, transport)?;
        let uri: http::Uri = url
            .parse()
            .map_err(|_| Error::misconfigured("issuer is not a valid url"))?;
        let endpoint = name("metadata", &uri);
        let body = fetch_json(http, uri, &endpoint).await?;
        Self::from_json(issuer, &body).map_err(|e| match e {
            Error::InvalidResponse { reason, .. } => Error::InvalidResponse { endpoint, reason },
            other => other,
        })
    }

    /// Checks a metadata document fetched for `requested_issuer`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when it is not a JSON object, lacks `issuer`, or its
    /// `issuer` differs from `requested_issuer` in any way.
    pub fn from_json(requested_issuer: &str, body: &[u8]) -> Result<Self, Error> {
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
            return Err(Error::invalid("metadata", "not a json object"));
        };
        match doc.get("issuer").and_then(Value::as_str) {
            Some(issuer) if issuer == requested_issuer => {}
            Some(_) => {
                return Err(Error::invalid(
                    "metadata",
                    "issuer differs from the one requested (RFC 8414 3.3: must be identical)",
                ));
            }
            None => return Err(Error::invalid("metadata", "issuer missing")),
        }
        Ok(Self {
            issuer: requested_issuer.to_owned(),
            doc,
        })
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.doc.get(key).and_then(Value::as_str)
    }

    /// The issuer, identical to the one requested.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `authorization_endpoint`.
    pub fn authorization_endpoint(&self) -> Option<&str> {
        self.text("authorization_endpoint")
    }

    /// `token_endpoint`.
    pub fn token_endpoint(&self) -> Option<&str> {
        self.text("token_endpoint")
    }

    /// `revocation_endpoint` (RFC 7009).
    pub fn revocation_endpoint(&self) -> Option<&str> {
        self.text("revocation_endpoint")
    }

    /// `introspection_endpoint` (RFC 7662).
    pub fn introspection_endpoint(&self) -> Option<&str> {
        self.text("introspection_endpoint")
    }

    /// `device_authorization_endpoint` (RFC 8628).
    pub fn device_authorization_endpoint(&self) -> Option<&str> {
        self.text("device_authorization_endpoint")
    }

    /// `jwks_uri`.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.text("jwks_uri")
    }

    /// `userinfo_endpoint` (OpenID Connect Discovery §3).
    pub fn userinfo_endpoint(&self) -> Option<&str> {
        self.text("userinfo_endpoint")
    }

    /// `pushed_authorization_request_endpoint` (RFC 9126 §5).
    pub fn pushed_authorization_request_endpoint(&self) -> Option<&str> {
        self.text("pushed_authorization_request_endpoint")
    }

    /// `require_pushed_authorization_requests` (RFC 9126 §5); `false` when absent.
    pub fn require_pushed_authorization_requests(&self) -> bool {
        self.doc
            .get("require_pushed_authorization_requests")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3); `false` when absent.
    pub fn iss_parameter_supported(&self) -> bool {
        self.doc
            .get("authorization_response_iss_parameter_supported")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// Whether `code_challenge_methods_supported` lists `S256`.
    pub fn supports_pkce_s256(&self) -> bool {
        self.doc
            .get("code_challenge_methods_supported")
            .and_then(Value::as_array)
            .is_some_and(|m| m.iter().any(|v| v == "S256"))
    }

    /// Any member, raw.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.doc.get(key)
    }
}

/// GETs a JSON metadata document: its body when the answer is 200.
pub(crate) async fn fetch_json(
    http: &impl HttpClient,
    uri: http::Uri,
    endpoint: &str,
) -> Result<Vec<u8>, Error> {
    let request = http::Request::get(uri)
        .header(ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| Error::misconfigured("cannot build the metadata request"))?;
    let response = http
        .send(request)
        .await
        .map_err(|source| Error::Transport {
            endpoint: endpoint.to_owned(),
            source,
        })?;
    if response.status() != http::StatusCode::OK {
        return Err(Error::Status {
            endpoint: endpoint.to_owned(),
            status: response.status().as_u16(),
        });
    }
    Ok(response.into_body())
}

impl OAuthClientBuilder {
    /// Takes the endpoints, the issuer and its RFC 9207 support from discovered metadata;
    /// the pushed authorization request endpoint and whether it is required (RFC 9126); and
    /// with feature `jwt`, the OpenID Connect parts: `jwks_uri`, `userinfo_endpoint` and the
    /// advertised ID token and UserInfo signing algorithms. `build()` then checks the
    /// endpoints like any other.
    pub fn metadata(mut self, metadata: &Metadata) -> Self {
        self = self.par_metadata(metadata);
        #[cfg(feature = "jwt")]
        {
            self = self.oidc_metadata(metadata);
        }
        if let Some(u) = metadata.token_endpoint() {
            self = self.token_endpoint(u);
        }
        if let Some(u) = metadata.authorization_endpoint() {
            self = self.authorization_endpoint(u);
        }
        if let Some(u) = metadata.revocation_endpoint() {
            self = self.revocation_endpoint(u);
        }
        if let Some(u) = metadata.device_authorization_endpoint() {
            self = self.device_authorization_endpoint(u);
        }
        self.issuer(metadata.issuer())
            .iss_parameter_supported(metadata.iss_parameter_supported())
    }
}

#[cfg(feature = "jwt")]
impl OAuthClientBuilder {
    /// The OpenID parts of [`Self::metadata`].
    fn oidc_metadata(mut self, m: &Metadata) -> Self {
        if let Some(u) = m.jwks_uri() {
            self.oidc.jwks_uri = Some(u.to_owned());
        }
        if let Some(u) = m.userinfo_endpoint() {
            self.oidc.userinfo_endpoint = Some(u.to_owned());
        }
        self.oidc.advertised_id_token = names(m.get("id_token_signing_alg_values_supported"));
        self.oidc.advertised_userinfo = names(m.get("userinfo_signing_alg_values_supported"));
        self
    }
}

#[cfg(feature = "jwt")]
fn names(v: Option<&Value>) -> Option<Vec<String>> {
    v?.as_array().map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        let t = Transport::default();
        let url = |i| Metadata::well_known_url(i, WellKnown::OAuth, t).unwrap();
        assert_eq!(
            url("https://as.example.com"),
            "https://as.example.com/.well-known/oauth-authorization-server"
        );
        assert_eq!(
            url("https://as.example.com/tenant1"),
            "https://as.example.com/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            url("https://as.example.com/tenant1/"),
            "https://as.example.com/.well-known/oauth-authorization-server/tenant1"
        );
        assert_eq!(
            url("https://as.example.com:8443/a/b"),
            "https://as.example.com:8443/.well-known/oauth-authorization-server/a/b"
        );
        assert_eq!(
            Metadata::well_known_url("https://op.example/t", WellKnown::OpenId, t).unwrap(),
            "https://op.example/t/.well-known/openid-configuration"
        );
        for bad in [
            "http://as.example.com",
            "https://as.example.com?x=1",
            "https://as.example.com#f",
        ] {
            assert!(
                Metadata::well_known_url(bad, WellKnown::OAuth, t).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn issuer_must_be_identical() {
        let doc = |iss: &str| {
            format!(r#"{{"issuer":"{iss}","token_endpoint":"https://as.example.com/token"}}"#)
        };
        assert!(
            Metadata::from_json(
                "https://as.example.com",
                doc("https://as.example.com").as_bytes()
            )
            .is_ok()
        );
        for other in [
            "https://as.example.com/",
            "https://AS.example.com",
            "https://evil.example.com",
        ] {
            assert!(
                Metadata::from_json("https://as.example.com", doc(other).as_bytes()).is_err(),
                "{other}"
            );
        }
        assert!(Metadata::from_json("https://as.example.com", b"[]").is_err());
    }
}
