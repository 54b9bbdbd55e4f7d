//! Protected resource metadata (RFC 9728), from the client's side: a 401 names the
//! resource's metadata in its challenge (`resource_metadata`, §5.1), the metadata names the
//! authorization servers, and their metadata (RFC 8414, or OpenID Discovery) names the
//! endpoints to get a token from. [`ResourceMetadata::from_challenge`] and
//! [`ResourceMetadata::authorization_server`] walk that chain.
//!
//! Checks: every URL passes the [`Transport`] policy; a document fetched from a resource's
//! well-known location names that resource exactly (§3.3); one named by a challenge names
//! the server that answered, which is the rule of §3.3 widened as
//! draft-mcguinness-oauth-rfc9728bis proposes: the same scheme, host and port as the
//! request, and a path that is a prefix of the request's at a segment boundary (RFC 9728
//! asks for the request URL exactly, which would give every URL of an API its own
//! document). A document with a member twice is not JSON this crate reads.

use auth_core::{Challenge, HttpClient, RESOURCE_METADATA_PARAM, Transport, WellKnown};
use http::{HeaderMap, Uri, header::WWW_AUTHENTICATE};
use serde_json::{Map, Value};

use crate::endpoint::name;
use crate::error::Error;
use crate::metadata::{Metadata, fetch_json};

/// A protected resource's metadata, checked.
#[derive(Debug, Clone)]
pub struct ResourceMetadata {
    resource: String,
    doc: Map<String, Value>,
}

/// Which `resource` a document must name.
enum Expect<'a> {
    /// Exactly this identifier (a document at its well-known location).
    Identical(&'a str),
    /// One that covers this request URL: same origin, a path prefix (a challenge's).
    Covering(&'a Uri),
}

impl ResourceMetadata {
    /// Fetches the metadata of `resource` from its well-known location (RFC 9728 §3.1).
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] for an unusable identifier; [`Error::Transport`] and
    /// [`Error::Status`] when the document cannot be fetched; [`Error::InvalidResponse`] when
    /// it is not metadata of `resource`.
    pub async fn discover(
        http: &impl HttpClient,
        resource: &str,
        transport: Transport,
    ) -> Result<Self, Error> {
        let uri = WellKnown::ProtectedResource
            .url(resource, transport)
            .map_err(|e| Error::misconfigured(format!("resource: {e}")))?;
        Self::fetch(http, uri, &Expect::Identical(resource)).await
    }

    /// Follows the `resource_metadata` of a 401's challenges (RFC 9728 §5.1): `Ok(None)` when
    /// `headers` carry none; else the metadata, which must cover `request_url`, the URL the
    /// 401 answered.
    ///
    /// # Errors
    ///
    /// As [`ResourceMetadata::discover`]; [`Error::Misconfigured`] when `request_url` is not
    /// an absolute URL or the metadata URL fails `transport`.
    pub async fn from_challenge(
        http: &impl HttpClient,
        request_url: &str,
        headers: &HeaderMap,
        transport: Transport,
    ) -> Result<Option<Self>, Error> {
        let Some(url) = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Challenge::parse_all(v).ok())
            .flatten()
            .find_map(|c| c.param(RESOURCE_METADATA_PARAM).map(str::to_owned))
        else {
            return Ok(None);
        };
        let request: Uri = request_url
            .parse()
            .map_err(|_| Error::misconfigured("the request URL is not a URL"))?;
        let uri: Uri = url
            .parse()
            .map_err(|_| Error::invalid("resource metadata", "resource_metadata is not a URL"))?;
        transport
            .check(&uri)
            .map_err(|e| Error::misconfigured(format!("resource_metadata: {e}")))?;
        Self::fetch(http, uri, &Expect::Covering(&request))
            .await
            .map(Some)
    }

    async fn fetch(http: &impl HttpClient, uri: Uri, expect: &Expect<'_>) -> Result<Self, Error> {
        let endpoint = name("resource metadata", &uri);
        let body = fetch_json(http, uri, &endpoint).await?;
        Self::from_json(&body, expect).map_err(|why| Error::invalid(&endpoint, why))
    }

    fn from_json(body: &[u8], expect: &Expect<'_>) -> Result<Self, &'static str> {
        let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
            return Err("not a json object");
        };
        let resource = doc
            .get("resource")
            .and_then(Value::as_str)
            .ok_or("resource missing")?
            .to_owned();
        let named = match expect {
            Expect::Identical(id) => resource == *id,
            Expect::Covering(request) => covers(&resource, request),
        };
        if !named {
            return Err("the document describes another resource (RFC 9728 3.3)");
        }
        Ok(Self { resource, doc })
    }

    fn list(&self, key: &str) -> Vec<&str> {
        self.doc
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `authorization_servers`: the issuers whose tokens the resource takes.
    pub fn authorization_servers(&self) -> Vec<&str> {
        self.list("authorization_servers")
    }

    /// `scopes_supported`.
    pub fn scopes_supported(&self) -> Vec<&str> {
        self.list("scopes_supported")
    }

    /// `bearer_methods_supported`.
    pub fn bearer_methods_supported(&self) -> Vec<&str> {
        self.list("bearer_methods_supported")
    }

    /// Any member, raw.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.doc.get(key)
    }

    /// The metadata of the first authorization server the resource names: RFC 8414's
    /// document, or OpenID Discovery's when that is not found. Its `issuer` must be the one
    /// named here exactly.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidResponse`] when no authorization server is named; as
    /// [`Metadata::discover`] otherwise.
    pub async fn authorization_server(
        &self,
        http: &impl HttpClient,
        transport: Transport,
    ) -> Result<Metadata, Error> {
        let issuer = *self
            .authorization_servers()
            .first()
            .ok_or_else(|| Error::invalid("resource metadata", "no authorization_servers"))?;
        match Metadata::discover(http, issuer, WellKnown::OAuth, transport).await {
            Err(Error::Status { .. }) => {
                Metadata::discover(http, issuer, WellKnown::OpenId, transport).await
            }
            other => other,
        }
    }
}

/// Whether `resource` covers `request`: same scheme, host and port, and a path that is a
/// prefix of the request's ending at a segment boundary.
fn covers(resource: &str, request: &Uri) -> bool {
    let Ok(resource) = resource.parse::<Uri>() else {
        return false;
    };
    if resource.query().is_some() {
        return false;
    }
    let origin = |u: &Uri| {
        (
            u.scheme_str().map(str::to_ascii_lowercase),
            u.host().map(str::to_ascii_lowercase),
            u.port_u16(),
        )
    };
    if origin(&resource) != origin(request) {
        return false;
    }
    let prefix = resource.path().trim_end_matches('/');
    let path = request.path();
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_names_a_document_of_the_server_that_answered() {
        let req: Uri = "https://api.example/v1/orders/7".parse().unwrap();
        for good in [
            "https://api.example",
            "https://api.example/",
            "https://api.example/v1",
            "https://API.example/v1/orders/7",
        ] {
            assert!(covers(good, &req), "{good}");
        }
        for bad in [
            "https://api.example/v",
            "https://api.example/v1/orders/7/x",
            "http://api.example/v1",
            "https://api.example:8443/v1",
            "https://evil.example/v1",
            "https://api.example/v1?x",
        ] {
            assert!(!covers(bad, &req), "{bad}");
        }
    }

    #[test]
    fn the_documents_resource_is_checked() {
        let doc =
            br#"{"resource":"https://api.example","authorization_servers":["https://as.example"]}"#;
        let m =
            ResourceMetadata::from_json(doc, &Expect::Identical("https://api.example")).unwrap();
        assert_eq!(m.authorization_servers(), ["https://as.example"]);
        assert!(
            ResourceMetadata::from_json(doc, &Expect::Identical("https://api.example/")).is_err()
        );
        assert!(
            ResourceMetadata::from_json(b"[]", &Expect::Identical("https://api.example")).is_err()
        );
    }
}
