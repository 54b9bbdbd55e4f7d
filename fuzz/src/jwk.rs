//! `jwk`: JWK and JWKS parsing (`Key::from_jwk`, `KeySet::from_jwks`,
//! `KeySet::from_public_jwks`).
//!
//! Properties: no panic; a key parsed with a thumbprint has the RFC 7638 thumbprint of its
//! required members, computed here independently (SHA-256 of the canonical JSON); its public
//! JWK (those members alone) parses again to the same thumbprint; the JSON written back by
//! serde_json parses to the same thumbprint; a parsed set accounts for every entry (a key or
//! a skipped entry).

use auth_jwt::{Key, KeySet};
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::Digest as _;

/// The required members of a public JWK of `kty` (RFC 7638 §3.2), in lexicographic order.
fn required(kty: &str) -> Option<&'static [&'static str]> {
    match kty {
        "EC" => Some(&["crv", "kty", "x", "y"]),
        "RSA" => Some(&["e", "kty", "n"]),
        "OKP" => Some(&["crv", "kty", "x"]),
        _ => None,
    }
}

/// The public JWK (required members only) and its RFC 7638 thumbprint.
fn public_jwk(jwk: &Map<String, Value>) -> Option<(String, String)> {
    let members = required(jwk.get("kty")?.as_str()?)?;
    let mut public = Map::new();
    for m in members {
        public.insert(
            (*m).to_owned(),
            Value::String(jwk.get(*m)?.as_str()?.to_owned()),
        );
    }
    // serde_json's map is ordered (no `preserve_order`): the members come out sorted, with
    // no whitespace and minimal escaping, as RFC 7638 §3.3 asks.
    let canonical = Value::Object(public).to_string();
    let digest = sha2::Sha256::digest(canonical.as_bytes());
    let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    Some((canonical, thumbprint))
}

fn check_key(text: &str) {
    let Ok(key) = Key::from_jwk(text) else {
        return;
    };
    let Some(thumbprint) = key.thumbprint() else {
        return;
    };
    let value: Value = serde_json::from_str(text).expect("a parsed JWK is JSON");
    let jwk = value.as_object().expect("a parsed JWK is an object");
    let (public, expected) = public_jwk(jwk).expect("a key with a thumbprint is public");
    assert_eq!(thumbprint, expected, "thumbprint of {text}");
    let again = Key::from_jwk(&public).expect("the public JWK of a parsed key parses");
    assert_eq!(again.thumbprint(), Some(thumbprint), "public JWK {public}");
    let rewritten = Key::from_jwk(&value.to_string()).expect("the JWK written back parses");
    assert_eq!(rewritten.thumbprint(), Some(thumbprint));
}

fn check_set(text: &str) {
    for set in [KeySet::from_jwks(text), KeySet::from_public_jwks(text)] {
        let Ok(set) = set else { continue };
        let value: Value = serde_json::from_str(text).expect("a parsed JWKS is JSON");
        let entries = value["keys"].as_array().map_or(0, Vec::len);
        assert_eq!(
            set.len() + set.skipped().len(),
            entries,
            "every entry is a key or skipped"
        );
        for key in set.keys() {
            if let Some(tp) = key.thumbprint() {
                assert_eq!(tp.len(), 43, "a SHA-256 thumbprint in base64url");
            }
        }
    }
}

/// The property of target `jwk`.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_key(text);
    check_set(text);
    // A single key as a one-key set, so the fuzzer reaches the set's path with its inputs.
    if text.trim_start().starts_with('{') && !text.contains("\"keys\"") {
        check_set(&format!("{{\"keys\":[{text}]}}"));
    }
}
