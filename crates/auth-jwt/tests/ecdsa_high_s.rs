//! The decision on ECDSA's malleability: for a valid signature (r, s), (r, n - s) is valid
//! too. RFC 7518 §3.4 does not ask for a canonical ("low") s, and the signers in use
//! (OpenSSL, and so PyJWT and most JOSE libraries) emit a high s for about half of their
//! tokens, so auth-jwt accepts both, on both crypto backends. The consequence, written in
//! ARCHITECTURE.md: an ECDSA token has two encodings, so no state (revocation, replay) may be
//! keyed on a token's bytes, only on its claims (`jti`) or its key id.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use auth_core::{ManualClock, UnixTime};
use auth_jwt::{Algorithm, KeySet, SigningKey, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const NOW: u64 = 1_700_000_000;

const P256: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg2TzzDvW5wu51rgwc
m1OBseHK8XCWkRTMgFnCBouU6IWhRANCAATp4Y1kortLbuzTJLPR6iDmGZlrCsqJ
CxK/iKlN1iYgtNQiUACwUn95GhOZRVM1n4/Jh0RYE/O53HdKiBQYbLAM
-----END PRIVATE KEY-----
";

const P384: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDD9YLltQswy50TLo4ei
5q7vJuEHPn+VmtbVjVNzKEDxFAwE4TSCwO1PyDefLzqEaFihZANiAATWuAURnEip
MEM8g9G1QaE4kkPQtrb0k+8h39EiEiPdh42tsL2AtD4Qi4jaOfSipcdtXb/vaaa5
Ev2adJa/DdA6CYkG+jo5dohBoX9vvE8FkIBxM/ZgZrjdoTk6pf8bGoU=
-----END PRIVATE KEY-----
";

/// The group orders of P-256 and P-384, big-endian.
const N256: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const N384: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `n - s` for big-endian numbers of equal length, `s < n`.
fn negate(n: &[u8], s: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; n.len()];
    let mut borrow = 0i16;
    for i in (0..n.len()).rev() {
        let d = i16::from(n[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        out[i] = u8::try_from(d.rem_euclid(256)).unwrap();
    }
    assert_eq!(borrow, 0);
    out
}

fn verifier(key: &SigningKey) -> Verifier {
    Verifier::builder()
        .algorithms([key.algorithm()])
        .issuer("https://idp.example")
        .audience("api")
        .keys(KeySet::new([key.verification_key().unwrap()]))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .leeway(Duration::ZERO)
        .build()
        .unwrap()
}

#[test]
fn a_high_s_twin_verifies_with_the_same_claims_on_both_backends() {
    let claims = json!({"iss": "https://idp.example", "aud": "api", "sub": "alice",
                        "exp": NOW + 60, "jti": "one-token"});
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for (pem, alg, n) in [
        (P256, Algorithm::ES256, N256),
        (P384, Algorithm::ES384, N384),
    ] {
        let key = SigningKey::from_pem(pem.as_bytes(), alg).unwrap();
        let v = verifier(&key);
        let token = key.sign(&claims).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let (r, s) = sig.split_at(sig.len() / 2);
        let twin_sig = [r, &negate(&hex(n), s)].concat();
        let twin = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&twin_sig));
        assert_ne!(twin, token);
        let a = rt.block_on(v.verify::<Value>(&token)).unwrap();
        let b = rt.block_on(v.verify::<Value>(&twin)).unwrap();
        assert_eq!(a.claims, b.claims, "{alg:?}");
        // The negative twin: any other change of s is refused.
        let mut other = twin_sig.clone();
        let last = other.len() - 1;
        other[last] ^= 1;
        let broken = format!("{input}.{}", URL_SAFE_NO_PAD.encode(&other));
        assert!(rt.block_on(v.verify::<Value>(&broken)).is_err(), "{alg:?}");
    }
}
