//! Interop with JWT libraries of other languages, run as real processes: PyJWT (PyPI) and
//! `jose` (npm), installed by `.ci/services` into `$AUTH_RS_PEERS_DIR`. What they sign
//! verifies here and what this signs verifies there, for HS256, RS256, PS256, ES256 and EdDSA.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use auth_core::{Clock, ManualClock, Secret, SystemClock};
use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
use serde_json::{Value, json};

use super::{AUD, ISS, b64, verify};
use crate::harness::{Suite, ensure, ensure_eq};
use crate::services::{Service, peers_dir};

const PYTHON: &[Service] = &[Service::Python];
const NODE: &[Service] = &[Service::Node];

const ALGS: [Algorithm; 5] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// The test secret for HS256 in both directions (a peer gets it as an `oct` JWK).
const SECRET: &[u8] = b"auth-rs interop secret, 32+ bytes long";

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("peers")
        .join(name)
}

/// Runs a peer on a batch of requests.
fn run(peer: &str, requests: &Value) -> Result<Vec<Value>, String> {
    let dir = peers_dir();
    let mut cmd = match peer {
        "pyjwt" => {
            let mut c = Command::new(dir.join("venv/bin/python"));
            c.arg(script("jwt_peer.py"));
            c
        }
        _ => {
            let source =
                std::fs::read_to_string(script("jose_peer.mjs")).map_err(|e| e.to_string())?;
            let mut c = Command::new("node");
            c.args(["--input-type=module", "--eval", &source])
                .current_dir(dir.join("node"));
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "{peer} not installed in {} (run .ci/services): {e}",
                dir.display()
            )
        })?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(requests.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{peer} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{peer} output: {e}"))
}

fn claims(now: u64) -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "interop", "exp": now + 600, "iat": now, "scope": "read"})
}

fn verifier(key: Key, alg: Algorithm, now: u64) -> Result<Verifier, String> {
    Verifier::builder()
        .algorithms([alg])
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::new([key]))
        .clock(ManualClock::new(auth_core::UnixTime::from_secs(now)))
        .build()
        .map_err(|e| e.to_string())
}

/// The peer signs with fresh keys for every algorithm; we verify with its public JWKs.
fn they_sign(peer: &'static str) -> Result<(), String> {
    let now = SystemClock.now().as_secs();
    let requests: Vec<Value> = ALGS
        .iter()
        .map(|a| json!({"op": "sign", "alg": a.as_str(), "claims": claims(now)}))
        .collect();
    let answers = run(peer, &Value::from(requests))?;
    ensure_eq("answers", answers.len(), ALGS.len())?;
    for (alg, answer) in ALGS.iter().zip(&answers) {
        let key =
            Key::from_jwk(&answer["jwk"].to_string()).map_err(|e| format!("{alg} key: {e}"))?;
        let token = answer["token"].as_str().ok_or("no token")?;
        let got =
            verify(&verifier(key, *alg, now)?, token).map_err(|e| format!("{peer} {alg}: {e}"))?;
        ensure_eq("sub", &got["sub"], &json!("interop"))?;
        // And a token of theirs altered in its payload fails here.
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = b64(
            json!({"iss": ISS, "aud": AUD, "sub": "mallory", "exp": now + 600})
                .to_string()
                .as_bytes(),
        );
        let key = Key::from_jwk(&answer["jwk"].to_string()).map_err(|e| e.to_string())?;
        ensure(
            verify(&verifier(key, *alg, now)?, &parts.join(".")).is_err(),
            || format!("{peer} {alg}: altered payload accepted"),
        )?;
    }
    Ok(())
}

/// We sign for every algorithm; the peer verifies with our public JWKs (HS256: the secret).
fn we_sign(peer: &'static str) -> Result<(), String> {
    let now = SystemClock.now().as_secs();
    let mut requests = Vec::new();
    for alg in ALGS {
        let (signer, jwk) = if alg == Algorithm::HS256 {
            let s = SigningKey::hmac(&Secret::new(SECRET.to_vec()), alg)
                .map_err(|e| e.to_string())?
                .with_kid("auth-rs-HS256");
            (
                s,
                json!({"kty": "oct", "k": b64(SECRET), "kid": "auth-rs-HS256"}),
            )
        } else {
            let s = SigningKey::generate(alg).map_err(|e| e.to_string())?;
            let jwk = s.public_jwk().ok_or("no public JWK")?;
            (s, jwk)
        };
        let token = signer.sign(&claims(now)).map_err(|e| e.to_string())?;
        requests.push(json!({"op": "verify", "alg": alg.as_str(), "token": token, "jwk": jwk, "iss": ISS, "aud": AUD}));
        // A token signed by another key must fail there too.
        let other = SigningKey::generate(alg).map_err(|e| e.to_string())?;
        let forged = other.sign(&claims(now)).map_err(|e| e.to_string())?;
        requests.push(json!({"op": "verify", "alg": alg.as_str(), "token": forged, "jwk": jwk, "iss": ISS, "aud": AUD}));
    }
    let answers = run(peer, &Value::from(requests))?;
    ensure_eq("answers", answers.len(), 2 * ALGS.len())?;
    for (i, alg) in ALGS.iter().enumerate() {
        let good = &answers[2 * i];
        ensure_eq(
            &format!("{peer} verifies our {alg}"),
            &good["claims"]["sub"],
            &json!("interop"),
        )
        .map_err(|e| format!("{e}: {good}"))?;
        let bad = &answers[2 * i + 1];
        ensure(bad.get("error").is_some(), || {
            format!("{peer} accepted a forged {alg}: {bad}")
        })?;
    }
    Ok(())
}

pub(super) fn add(s: &mut Suite) {
    s.case_needing(
        PYTHON,
        "PyJWT signs, auth-jwt verifies (HS256 RS256 PS256 ES256 EdDSA)",
        "interop: PyJWT",
        || they_sign("pyjwt"),
    );
    s.case_needing(
        PYTHON,
        "auth-jwt signs, PyJWT verifies (HS256 RS256 PS256 ES256 EdDSA)",
        "interop: PyJWT",
        || we_sign("pyjwt"),
    );
    s.case_needing(
        NODE,
        "jose signs, auth-jwt verifies (HS256 RS256 PS256 ES256 EdDSA)",
        "interop: jose (npm)",
        || they_sign("jose"),
    );
    s.case_needing(
        NODE,
        "auth-jwt signs, jose verifies (HS256 RS256 PS256 ES256 EdDSA)",
        "interop: jose (npm)",
        || we_sign("jose"),
    );
}
