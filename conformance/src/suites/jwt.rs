//! auth-jwt: the standards' vectors (RFC 7515, 7519, 7520, 7638, 8037) byte for byte, all
//! Wycheproof JWS and JWK vectors, an attack catalogue, and properties.

mod attacks;
mod discovery;
mod dpop;
mod issuers;
mod nested;
mod peers;
mod properties;
mod remote;
mod vectors;
mod wycheproof;

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use auth_core::{ManualClock, Secret, UnixTime};
use auth_jwt::{Algorithm, Error, KeySet, SigningKey, Verifier};
use serde_json::Value;

use crate::harness::Suite;

/// The suite.
pub fn suite() -> Suite {
    let mut s = Suite::new("auth-jwt");
    vectors::add(&mut s);
    wycheproof::add(&mut s);
    attacks::add(&mut s);
    nested::add(&mut s);
    properties::add(&mut s);
    remote::add(&mut s);
    discovery::add(&mut s);
    issuers::add(&mut s);
    dpop::add(&mut s);
    peers::add(&mut s);
    s
}

/// The fixed "now" of the attack and property cases.
const NOW: u64 = 1_700_000_000;
const ISS: &str = "https://issuer.example";
const AUD: &str = "api";

/// A vector file from `conformance/vectors/jwt/`, parsed.
fn vector(name: &str) -> Value {
    let text = match name {
        "A1" => include_str!("../../vectors/jwt/rfc7515_A1_hs256.json"),
        "A2" => include_str!("../../vectors/jwt/rfc7515_A2_rs256.json"),
        "A3" => include_str!("../../vectors/jwt/rfc7515_A3_es256.json"),
        "A4" => include_str!("../../vectors/jwt/rfc7515_A4_es512.json"),
        "A5" => include_str!("../../vectors/jwt/rfc7515_A5_unsecured_none.json"),
        "7519" => include_str!("../../vectors/jwt/rfc7519_3.1_example_jwt.json"),
        "4.1" => include_str!("../../vectors/jwt/rfc7520_4.1_rs256.json"),
        "4.2" => include_str!("../../vectors/jwt/rfc7520_4.2_ps384.json"),
        "4.3" => include_str!("../../vectors/jwt/rfc7520_4.3_es512.json"),
        "4.4" => include_str!("../../vectors/jwt/rfc7520_4.4_hs256.json"),
        "4.5" => include_str!("../../vectors/jwt/rfc7520_4.5_signature_with_detached_content.json"),
        "4.6" => {
            include_str!("../../vectors/jwt/rfc7520_4.6_protecting_specific_header_fields.json")
        }
        "4.7" => include_str!("../../vectors/jwt/rfc7520_4.7_protecting_content_only.json"),
        "7638" => include_str!("../../vectors/jwt/rfc7638_3.1_jwk_thumbprint.json"),
        "8037" => include_str!("../../vectors/jwt/rfc8037_A_ed25519.json"),
        "jws" => include_str!("../../vectors/jwt/json_web_signature_test.json"),
        "jwk" => include_str!("../../vectors/jwt/json_web_key_test.json"),
        _ => "null",
    };
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A string member of a vector, or an error naming it.
fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str, String> {
    v[name]
        .as_str()
        .ok_or_else(|| format!("vector has no string {name}"))
}

/// Runs a future that completes without waiting (verification with fixed keys does).
fn now_or_never<F: Future>(f: F) -> Option<F::Output> {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

/// Verifies with `v`, returning the payload as JSON.
fn verify(v: &Verifier, token: &str) -> Result<Value, Error> {
    now_or_never(v.verify::<Value>(token))
        .unwrap_or_else(|| Err(Error::Misconfigured("verification did not complete".into())))
        .map(|ok| ok.claims)
}

/// A verifier for the attack cases: `algs`, issuer [`ISS`], audience [`AUD`], no leeway,
/// the clock at [`NOW`].
fn strict(keys: KeySet, algs: &[Algorithm]) -> Verifier {
    strict_with(keys, algs, Duration::ZERO, None)
}

fn strict_with(keys: KeySet, algs: &[Algorithm], leeway: Duration, typ: Option<&str>) -> Verifier {
    let b = Verifier::builder()
        .algorithms(algs.iter().copied())
        .issuer(ISS)
        .audience(AUD)
        .keys(keys)
        .leeway(leeway)
        .clock(ManualClock::new(UnixTime::from_secs(NOW)));
    let b = match typ {
        Some(t) => b.require_type(t),
        None => b,
    };
    match b.build() {
        Ok(v) => v,
        Err(e) => panic!("test verifier: {e}"),
    }
}

/// Keys generated once per process.
struct Keys {
    hs: SigningKey,
    es: SigningKey,
    ed: SigningKey,
    rs: SigningKey,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let generate = |alg| match SigningKey::generate(alg) {
            Ok(k) => k,
            Err(e) => panic!("generate {alg}: {e}"),
        };
        Keys {
            hs: match SigningKey::hmac(&Secret::new(vec![0x5a; 32]), Algorithm::HS256) {
                Ok(k) => k.with_kid("hs"),
                Err(e) => panic!("{e}"),
            },
            es: generate(Algorithm::ES256),
            ed: generate(Algorithm::EdDSA),
            rs: generate(Algorithm::RS256),
        }
    })
}

/// The key set that verifies `k`.
fn set_of(k: &SigningKey) -> KeySet {
    match k.verification_key() {
        Ok(key) => KeySet::new([key]),
        Err(e) => panic!("{e}"),
    }
}

/// Good claims for the attack cases, valid for 10 minutes from [`NOW`].
fn good_claims() -> Value {
    serde_json::json!({"iss": ISS, "aud": AUD, "sub": "alice", "exp": NOW + 600, "iat": NOW})
}

/// Signs raw header and payload JSON text.
fn sign_raw(k: &SigningKey, header: &str, payload: &str) -> String {
    match k.sign_parts(header.as_bytes(), payload.as_bytes()) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    }
}

/// base64url without padding.
fn b64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// Fails unless `got` is an error of `kind`.
fn expect_kind<T: std::fmt::Debug>(
    what: &str,
    got: Result<T, Error>,
    kind: auth_jwt::ErrorKind,
) -> Result<(), String> {
    match got {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: want {kind}, got {} ({e})", e.kind())),
        Ok(v) => Err(format!("{what}: accepted, want {kind}: {v:?}")),
    }
}
