//! The attack catalogue: every trick JWT verifiers have fallen for. Each case builds the
//! hostile token itself and checks both that it is refused and why (the error kind).
//!
//! By target: `header` (algorithm, keys, header members), `claims` (time and identity),
//! `shape` (the token's form and the key policy). Their shared builders are here.

mod claims;
mod header;
mod shape;

use auth_jwt::Algorithm;

use super::{b64, good_claims, keys, sign_raw};
use crate::harness::Suite;

const HS: &[Algorithm] = &[Algorithm::HS256];

/// A token with `header` and `payload` JSON text and an arbitrary signature.
fn unsigned(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(sig)
    )
}

/// HS256 token with the fixture secret and `claims`.
fn hs(claims: &serde_json::Value) -> String {
    sign_raw(
        &keys().hs,
        r#"{"alg":"HS256","kid":"hs"}"#,
        &claims.to_string(),
    )
}

fn with(f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> serde_json::Value {
    let mut c = good_claims();
    if let Some(o) = c.as_object_mut() {
        f(o);
    }
    c
}

pub(super) fn add(s: &mut Suite) {
    header::add(s);
    claims::add(s);
    shape::add(s);
}
