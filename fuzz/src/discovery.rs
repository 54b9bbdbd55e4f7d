//! `discovery`: authorization server metadata and OpenID Provider configuration documents
//! (RFC 8414, OpenID Connect Discovery 1.0), through `Metadata::from_json` and the client
//! built from them (`OAuthClientBuilder::metadata`).
//!
//! The first byte picks the issuer asked for, among spellings that differ by a slash, a
//! letter's case or the scheme; the rest is the document. Properties: the document is
//! accepted exactly when it is one JSON object whose `issuer` is the issuer asked for, byte
//! for byte (RFC 8414 §3.3, the defence against mix-up); every accessor returns the document's
//! own member (a string, or the boolean with `false` for absent); and a client built from the
//! metadata has only endpoints that are URLs without a fragment, over HTTPS or plain HTTP to a
//! loopback host.

use auth_core::Secret;
use auth_oauth2::{ClientAuth, Metadata, OAuthClient};
use serde_json::Value;

const ISSUERS: [&str; 4] = [
    "https://as.example",
    "https://as.example/",
    "https://AS.example",
    "http://127.0.0.1:8080",
];

/// Whether `url` is an endpoint the transport policy allows, checked here independently.
fn allowed_endpoint(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    if url.contains('#') {
        return false;
    }
    let host = uri.host().unwrap_or_default();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match uri.scheme_str() {
        Some("https") => !host.is_empty(),
        Some("http") => loopback,
        _ => false,
    }
}

/// The property of target `discovery`.
pub fn check(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let issuer = ISSUERS[usize::from(first) % ISSUERS.len()];
    let got = Metadata::from_json(issuer, body);
    let doc = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(doc)) if doc.get("issuer").and_then(Value::as_str) == Some(issuer) => doc,
        _ => {
            assert!(got.is_err(), "metadata accepted for {issuer}: {got:?}");
            return;
        }
    };
    let m = got.expect("an object naming the issuer asked for is accepted");
    assert_eq!(m.issuer(), issuer);
    let text = |k: &str| doc.get(k).and_then(Value::as_str);
    let flag = |k: &str| doc.get(k).and_then(Value::as_bool).unwrap_or(false);
    assert_eq!(m.token_endpoint(), text("token_endpoint"));
    assert_eq!(m.authorization_endpoint(), text("authorization_endpoint"));
    assert_eq!(m.revocation_endpoint(), text("revocation_endpoint"));
    assert_eq!(m.introspection_endpoint(), text("introspection_endpoint"));
    assert_eq!(
        m.device_authorization_endpoint(),
        text("device_authorization_endpoint")
    );
    assert_eq!(m.jwks_uri(), text("jwks_uri"));
    assert_eq!(m.userinfo_endpoint(), text("userinfo_endpoint"));
    assert_eq!(
        m.pushed_authorization_request_endpoint(),
        text("pushed_authorization_request_endpoint")
    );
    assert_eq!(
        m.require_pushed_authorization_requests(),
        flag("require_pushed_authorization_requests")
    );
    assert_eq!(
        m.iss_parameter_supported(),
        flag("authorization_response_iss_parameter_supported")
    );
    let s256 = doc
        .get("code_challenge_methods_supported")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|v| v.as_str() == Some("S256")));
    assert_eq!(m.supports_pkce_s256(), s256);

    let built = OAuthClient::builder("client")
        .metadata(&m)
        .client_auth(ClientAuth::SecretBasic(Secret::new("secret")))
        .build();
    if built.is_ok() {
        for k in [
            "token_endpoint",
            "authorization_endpoint",
            "revocation_endpoint",
            "device_authorization_endpoint",
            "pushed_authorization_request_endpoint",
        ] {
            if let Some(url) = text(k) {
                assert!(allowed_endpoint(url), "a client built with {k} {url:?}");
            }
        }
    }
}
