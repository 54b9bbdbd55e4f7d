//! OAuth 2.0 Protected Resource Metadata (RFC 9728): what a resource server publishes at
//! `/.well-known/oauth-protected-resource` so that a client holding no token yet can find
//! which authorization servers issue tokens for it, which scopes it knows and how to
//! present a token; and the `resource_metadata` parameter its 401 challenges carry to point
//! there (§5.1). auth-tower's layer and `auth serve` both publish one.

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode, Uri};

use crate::transport::Transport;
use crate::well_known::{InvalidIdentifier, WellKnown};

/// The challenge parameter that names the metadata URL (RFC 9728 §5.1).
pub const RESOURCE_METADATA_PARAM: &str = "resource_metadata";

/// A protected resource's metadata document.
///
/// ```
/// use auth_core::{ProtectedResource, Transport};
///
/// let metadata = ProtectedResource::new("https://api.example.com", Transport::default())?
///     .authorization_server("https://login.example.com")
///     .scopes(["orders:read", "orders:write"]);
/// assert_eq!(metadata.metadata_url(), "https://api.example.com/.well-known/oauth-protected-resource");
/// assert_eq!(metadata.metadata_path(), "/.well-known/oauth-protected-resource");
/// let doc: &str = &metadata.to_json();
/// assert!(doc.starts_with(r#"{"resource":"https://api.example.com","authorization_servers":["#));
/// # Ok::<(), auth_core::InvalidIdentifier>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    resource: String,
    metadata_url: String,
    metadata_path: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    bearer_methods: Vec<String>,
    dpop_algorithms: Vec<String>,
    name: Option<String>,
    documentation: Option<String>,
}

impl ProtectedResource {
    /// The metadata of the resource identified by `resource` (an absolute URL without query
    /// or fragment that passes `transport`), with `bearer_methods_supported: ["header"]`:
    /// tokens in the `Authorization` header only, as auth-rs takes them by default.
    ///
    /// # Errors
    ///
    /// [`InvalidIdentifier`] when `resource` cannot identify a resource.
    pub fn new(resource: &str, transport: Transport) -> Result<Self, InvalidIdentifier> {
        let url: Uri = WellKnown::ProtectedResource.url(resource, transport)?;
        Ok(Self {
            resource: resource.to_owned(),
            metadata_path: url.path().to_owned(),
            metadata_url: url.to_string(),
            authorization_servers: Vec::new(),
            scopes: Vec::new(),
            bearer_methods: vec!["header".to_owned()],
            dpop_algorithms: Vec::new(),
            name: None,
            documentation: None,
        })
    }

    /// Adds an authorization server (its issuer identifier) whose tokens the resource takes.
    #[must_use]
    pub fn authorization_server(mut self, issuer: &str) -> Self {
        self.authorization_servers.push(issuer.to_owned());
        self
    }

    /// Adds scopes to `scopes_supported`.
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Replaces `bearer_methods_supported` (`"header"`, `"body"`, `"query"`); an empty list
    /// says bearer tokens are not taken at all.
    #[must_use]
    pub fn bearer_methods<S: Into<String>>(mut self, methods: impl IntoIterator<Item = S>) -> Self {
        self.bearer_methods = methods.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `dpop_signing_alg_values_supported` (RFC 9728 §2, RFC 9449).
    #[must_use]
    pub fn dpop_algorithms<S: Into<String>>(mut self, algs: impl IntoIterator<Item = S>) -> Self {
        self.dpop_algorithms = algs.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`, for people.
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Sets `resource_documentation`, a page for developers.
    #[must_use]
    pub fn documentation(mut self, url: &str) -> Self {
        self.documentation = Some(url.to_owned());
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the document is served: the well-known location for the resource (RFC 9728
    /// §3.1, inserted before the resource's path), the value of `resource_metadata`.
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path of [`metadata_url`](Self::metadata_url), for routing.
    pub fn metadata_path(&self) -> &str {
        &self.metadata_path
    }

    /// The document as JSON. Members with nothing to say are left out.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        member(&mut out, "resource", &Json::Str(&self.resource));
        let lists = [
            ("authorization_servers", &self.authorization_servers),
            ("scopes_supported", &self.scopes),
            ("bearer_methods_supported", &self.bearer_methods),
            ("dpop_signing_alg_values_supported", &self.dpop_algorithms),
        ];
        for (name, list) in lists {
            if !list.is_empty() || name == "bearer_methods_supported" {
                member(&mut out, name, &Json::List(list));
            }
        }
        for (name, value) in [
            ("resource_name", &self.name),
            ("resource_documentation", &self.documentation),
        ] {
            if let Some(v) = value {
                member(&mut out, name, &Json::Str(v));
            }
        }
        out.push('}');
        out
    }

    /// The `200` response with the document, cacheable for an hour.
    pub fn to_response(&self) -> Response<String> {
        let mut response = Response::new(self.to_json());
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        response
    }
}

enum Json<'a> {
    Str(&'a str),
    List(&'a [String]),
}

/// Appends `"name":value` (with a comma after the first member).
///
/// Written by hand rather than with serde_json: auth-core stays free of serialization
/// dependencies, and the document is strings and lists of strings only.
fn member(out: &mut String, name: &str, value: &Json<'_>) {
    if out.len() > 1 {
        out.push(',');
    }
    string(out, name);
    out.push(':');
    match value {
        Json::Str(s) => string(out, s),
        Json::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(out, item);
            }
            out.push(']');
        }
    }
}

/// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_json_with_what_was_set() {
        let m = ProtectedResource::new("https://api.example/v1", Transport::default())
            .unwrap()
            .authorization_server("https://as.example")
            .scopes(["a", "b\"c"])
            .name("Orders\n");
        assert_eq!(
            m.to_json(),
            r#"{"resource":"https://api.example/v1","authorization_servers":["https://as.example"],"scopes_supported":["a","b\"c"],"bearer_methods_supported":["header"],"resource_name":"Orders\n"}"#
        );
        assert_eq!(
            m.metadata_url(),
            "https://api.example/.well-known/oauth-protected-resource/v1"
        );
        let bare = ProtectedResource::new("http://127.0.0.1:8080", Transport::default()).unwrap();
        assert_eq!(
            bare.to_json(),
            r#"{"resource":"http://127.0.0.1:8080","bearer_methods_supported":["header"]}"#
        );
        let mut escaped = String::new();
        string(&mut escaped, "\u{1}\\");
        assert_eq!(escaped, r#""\u0001\\""#);
        assert!(ProtectedResource::new("http://api.example", Transport::default()).is_err());
    }
}
