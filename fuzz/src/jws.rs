//! `jws_verify`: compact JWS parsing and verification with a fixed key set (the RFC 7515 A.1
//! HS256 secret and A.3 ES256 public key) on a fixed clock.
//!
//! The first byte picks the mode: arbitrary text as a token (never a panic; only the two
//! known tokens may pass), or one of the two valid tokens changed by byte edits
//! ([`crate::apply_edits`]): a token that differs from the original in any byte is refused,
//! the unchanged one accepted.

use std::sync::OnceLock;

use auth_core::{ManualClock, Secret, UnixTime};
use auth_jwt::{Algorithm, Key, KeySet, Verifier};

/// RFC 7515 A.1: HS256 over `{"iss":"joe","exp":1300819380,...}`.
pub const HS256_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7515 A.3: ES256 over the same claims.
pub const ES256_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const HS256_JWK: &str = r#"{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}"#;
const ES256_JWK: &str = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
/// Before the tokens' `exp` (1300819380).
const NOW: u64 = 1_300_819_000;

/// The verifier every input meets: HS256 and ES256, issuer `joe`, any audience.
pub fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let hs = hs256_key();
        let es = Key::from_jwk(ES256_JWK).expect("the A.3 key loads");
        Verifier::builder()
            .algorithms([Algorithm::HS256, Algorithm::ES256])
            .issuer("joe")
            .danger_accept_any_audience()
            .keys(KeySet::new([hs, es]))
            .clock(ManualClock::new(UnixTime::from_secs(NOW)))
            .build()
            .expect("the fuzzing verifier builds")
    })
}

fn hs256_key() -> Key {
    let jwk: serde_json::Value = serde_json::from_str(HS256_JWK).expect("json");
    let k = jwk["k"].as_str().expect("k");
    let secret = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, k)
        .expect("base64url");
    Key::hmac(&Secret::new(secret), Algorithm::HS256).expect("a 64-byte HS256 secret")
}

/// Whether the verifier accepts `token`.
pub fn accepts(token: &str) -> bool {
    crate::block_on(verifier().verify::<serde_json::Value>(token)).is_ok()
}

/// The property of target `jws_verify`.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let original = match mode % 3 {
        0 => {
            let token = String::from_utf8_lossy(rest);
            if accepts(&token) {
                assert!(
                    token == HS256_TOKEN || token == ES256_TOKEN,
                    "accepted a token never issued: {token:?}"
                );
            }
            return;
        }
        1 => HS256_TOKEN,
        _ => ES256_TOKEN,
    };
    let edited = crate::apply_edits(original.as_bytes(), rest);
    let token = String::from_utf8_lossy(&edited);
    let accepted = accepts(&token);
    if token == original {
        assert!(accepted, "the unchanged token was refused");
    } else {
        assert!(!accepted, "a changed token was accepted: {token:?}");
    }
}
