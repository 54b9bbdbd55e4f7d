//! `auth jwk generate | public | thumbprint`: private JWKs from the operating system's
//! CSPRNG, their public JWKS, and RFC 7638 thumbprints.

use std::path::Path;

use auth_jwt::{Algorithm, Family, SigningKey};
use aws_lc_rs::encoding::AsBigEndian as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::keys::{KeyFile, public_members, signing_key_from_jwk};
use crate::output::{Error, Output, pretty, read_file};

/// `auth jwk generate`: a fresh private JWK for `alg` with `kid` (default: its thumbprint).
pub(crate) fn generate(alg: Algorithm, kid: Option<&str>, out: Output) -> Result<(), Error> {
    let jwk = private_jwk(alg, kid)?;
    // Check it loads back before anyone relies on it.
    signing_key_from_jwk(&jwk, &[alg])?;
    let value = Value::Object(jwk);
    out.result(&value, || pretty(&value));
    Ok(())
}

/// A new private JWK.
pub(crate) fn private_jwk(alg: Algorithm, kid: Option<&str>) -> Result<Map<String, Value>, Error> {
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair};
    let failed = |_| Error::config("the crypto backend could not generate a key");
    let enc = |b: &[u8]| Value::from(URL_SAFE_NO_PAD.encode(b));
    let (mut jwk, d) = match alg.family() {
        Family::Hmac => {
            let len = alg.min_hmac_key_len().unwrap_or(64).max(64);
            let mut k = vec![0u8; len];
            aws_lc_rs::rand::fill(&mut k).map_err(failed)?;
            let mut jwk = Map::new();
            jwk.insert("kty".into(), "oct".into());
            jwk.insert("k".into(), enc(&k));
            jwk.insert("alg".into(), alg.as_str().into());
            if let Some(kid) = kid {
                jwk.insert("kid".into(), kid.into());
            }
            return Ok(jwk);
        }
        Family::Ec => {
            let a = match alg {
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                other => {
                    return Err(Error::config(format!(
                        "{other} keys are not generated here"
                    )));
                }
            };
            let pair = EcdsaKeyPair::generate(a).map_err(failed)?;
            let d = pair.private_key().as_be_bytes().map_err(failed)?;
            let der = pair.to_pkcs8v1().map_err(failed)?;
            (public_of(der.as_ref(), alg)?, enc(d.as_ref()))
        }
        Family::Ed => {
            let pair = Ed25519KeyPair::generate().map_err(failed)?;
            let seed = pair.seed().map_err(failed)?;
            let d = seed.as_be_bytes().map_err(failed)?;
            let der = pair.to_pkcs8v1().map_err(failed)?;
            (public_of(der.as_ref(), alg)?, enc(d.as_ref()))
        }
        _ => {
            return Err(Error::config(
                "RSA private JWKs are not generated: use `openssl genpkey -algorithm RSA` and \
                 pass the PEM to `auth jwt sign --key`",
            ));
        }
    };
    jwk.insert("d".into(), d);
    if let Some(kid) = kid {
        jwk.insert("kid".into(), kid.into());
    }
    Ok(jwk)
}

/// The public JWK (with `kid` = thumbprint, `alg`, `use`) of a PKCS#8 private key.
fn public_of(pkcs8: &[u8], alg: Algorithm) -> Result<Map<String, Value>, Error> {
    let pem = crate::keys::pem("PRIVATE KEY", pkcs8);
    let key = SigningKey::from_pem(pem.as_bytes(), alg).map_err(Error::config)?;
    match key.public_jwk() {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(Error::config("the generated key has no public JWK")),
    }
}

/// `auth jwk public FILE`: the public JWKS of a private JWK, a PEM key or a JWKS.
pub(crate) fn public(path: &Path, alg: Option<Algorithm>, out: Output) -> Result<(), Error> {
    let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
    let keys: Vec<Value> = match &file {
        KeyFile::Jwks(json) => {
            let set: Value = serde_json::from_str(json).map_err(Error::config)?;
            let keys = set["keys"].as_array().cloned().unwrap_or_default();
            keys.iter()
                .filter_map(Value::as_object)
                .filter(|k| k.get("kty").and_then(Value::as_str) != Some("oct"))
                .map(|k| Value::Object(public_members(k)))
                .collect()
        }
        KeyFile::Jwk(map) if map.get("kty").and_then(Value::as_str) == Some("oct") => {
            return Err(Error::config(
                "an HMAC secret has no public part to publish",
            ));
        }
        KeyFile::Jwk(map) => vec![Value::Object(public_members(map))],
        KeyFile::Pem(_) => {
            let algs = pem_algs(alg);
            let key = pem_signing_key(&file, &algs)?;
            vec![
                key.public_jwk()
                    .ok_or_else(|| Error::config("no public key"))?,
            ]
        }
    };
    let value = json!({ "keys": keys });
    out.result(&value, || pretty(&value));
    Ok(())
}

/// `auth jwk thumbprint FILE`: the RFC 7638 SHA-256 thumbprint, base64url.
pub(crate) fn thumbprint(path: &Path, alg: Option<Algorithm>, out: Output) -> Result<(), Error> {
    let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
    let print = match &file {
        KeyFile::Jwks(_) => {
            return Err(Error::config("a JWKS holds several keys: give one JWK"));
        }
        KeyFile::Jwk(map) => {
            let public = Value::Object(public_members(map)).to_string();
            auth_jwt::thumbprint(&public).map_err(Error::config)?
        }
        KeyFile::Pem(_) => {
            let key = pem_signing_key(&file, &pem_algs(alg))?;
            let jwk = key
                .public_jwk()
                .ok_or_else(|| Error::config("no public key"))?;
            auth_jwt::thumbprint(&jwk.to_string()).map_err(Error::config)?
        }
    };
    let value = json!({ "thumbprint": print, "hash": "SHA-256" });
    out.result(&value, || print.clone());
    Ok(())
}

fn pem_algs(alg: Option<Algorithm>) -> Vec<Algorithm> {
    match alg {
        Some(alg) => vec![alg],
        None => vec![
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::RS256,
        ],
    }
}

/// A PEM private key, or a public one reduced to its JWK, trying each algorithm.
fn pem_signing_key(file: &KeyFile, algs: &[Algorithm]) -> Result<SigningKey, Error> {
    let KeyFile::Pem(pem) = file else {
        return Err(Error::config("not PEM"));
    };
    algs.iter()
        .find_map(|&alg| SigningKey::from_pem(pem, alg).ok())
        .ok_or_else(|| {
            Error::config("the PEM is not a private key of a supported family (give --alg)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip() {
        for alg in [
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            let jwk = private_jwk(alg, None).unwrap();
            let key = signing_key_from_jwk(&jwk, &[]).unwrap();
            assert_eq!(key.algorithm(), alg);
            let token = key.sign(&json!({"sub": "x"})).unwrap();
            assert_eq!(token.split('.').count(), 3);
        }
        assert!(private_jwk(Algorithm::RS256, None).is_err());
    }

    #[test]
    fn tampered_ed25519_is_refused() {
        let mut jwk = private_jwk(Algorithm::EdDSA, None).unwrap();
        let other = private_jwk(Algorithm::EdDSA, None).unwrap();
        jwk.insert("x".into(), other["x"].clone());
        assert!(signing_key_from_jwk(&jwk, &[]).is_err());
    }
}
