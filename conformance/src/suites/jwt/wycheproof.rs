//! Project Wycheproof's JOSE vectors (`testvectors_v1`): every JWS verification test and every
//! JWK key-set test, with the known-faulty ones listed and explained.

use auth_jwt::danger::verify_jws_signature;
use auth_jwt::{Algorithm, KeySet};
use serde_json::Value;

use super::vector;
use crate::harness::{Suite, ensure};

/// Vectors whose expected result we do not follow, and why.
const KNOWN_FAULTY: &[(u64, &str)] = &[
    (
        346,
        "PS384 token (RFC 7520 Figure 20) with a key whose JWK says alg PS256: we hold a key to \
         its alg (RFC 7517 §4.4) and refuse",
    ),
    (
        350,
        "PS384 token with a key whose JWK says alg PS256 (key_ops variant): refused as 346",
    ),
    (
        347,
        "the P-521 key's JWK says alg ES521, which is no registered algorithm: the key is \
         skipped (the JWK test wrong_algorithm wants exactly that)",
    ),
    (351, "the ES521 JWK of 347, key_ops variant: skipped as 347"),
    (
        372,
        "a '?' inserted in the header: our base64url decoder is strict and refuses it \
         (README of the vectors: may be rejected)",
    ),
    (
        373,
        "a '?' inserted in the payload: refused by the strict decoder as 372",
    ),
    (
        367,
        "marked invalid but byte-identical to the valid test 357 (README of the vectors)",
    ),
    (
        370,
        "marked invalid but byte-identical to the valid test 357 (README of the vectors)",
    ),
];

/// The key set a test group verifies with: its public keys, or its secret for HMAC groups.
fn group_keys(group: &Value) -> Result<KeySet, String> {
    let jwk = if group.get("public").is_some() {
        &group["public"]
    } else {
        &group["private"]
    };
    let jwks = if jwk.get("keys").is_some() {
        jwk.to_string()
    } else {
        serde_json::json!({ "keys": [jwk] }).to_string()
    };
    KeySet::from_jwks(&jwks).map_err(|e| e.to_string())
}

/// Runs every test of a vector file; returns the unexpected outcomes and how many ran.
fn run(file: &str) -> Result<(Vec<String>, usize), String> {
    let doc = vector(file);
    let groups = doc["testGroups"].as_array().ok_or("no testGroups")?;
    let mut wrong = Vec::new();
    let mut count = 0;
    for group in groups {
        let keys = group_keys(group)?;
        for test in group["tests"].as_array().ok_or("no tests")? {
            count += 1;
            let id = test["tcId"].as_u64().unwrap_or(0);
            let token = test["jws"]
                .as_str()
                .map_or_else(|| test["jws"].to_string(), str::to_owned);
            let valid = test["result"] == "valid";
            let got = verify_jws_signature(&token, &keys, &Algorithm::ALL, 64 * 1024);
            let known = KNOWN_FAULTY.iter().any(|(k, _)| *k == id);
            if got.is_ok() != valid && !known {
                wrong.push(format!(
                    "tc {id} ({}): want {}, got {}",
                    test["comment"].as_str().unwrap_or(""),
                    test["result"],
                    got.map_or_else(|e| format!("error: {e}"), |_| "valid".into())
                ));
            }
        }
    }
    Ok((wrong, count))
}

pub(super) fn add(s: &mut Suite) {
    s.case(
        "all Wycheproof JWS vectors",
        "Wycheproof json_web_signature_test",
        || {
            let (wrong, count) = run("jws")?;
            ensure(count == 401, || format!("ran {count} of 401"))?;
            ensure(wrong.is_empty(), || wrong.join("\n"))
        },
    );
    s.case(
        "all Wycheproof JWK vectors",
        "Wycheproof json_web_key_test",
        || {
            let (wrong, count) = run("jwk")?;
            ensure(count == 26, || format!("ran {count} of 26"))?;
            ensure(wrong.is_empty(), || wrong.join("\n"))
        },
    );
}
