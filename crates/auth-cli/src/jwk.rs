//! `auth jwk generate | public | thumbprint`: private JWKs from the operating system's
//! CSPRNG, their public JWKS, and RFC 7638 thumbprints.

use std::path::Path;

use auth_jwt::{Algorithm, Family, SigningKey};
use aws_lc_rs::encoding::AsBigEndian as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::keys::{
    KeyFile, checked_public_jwk, jwk_thumbprint, public_pem_jwk, signing_key_from_jwk,
};
use crate::output::{Error, Output, pretty, read_file};

/// What `auth jwk generate` makes, for its messages.
const GENERATED: &str = "jwk generate makes RSA (RS256/384/512, PS256/384/512), ES256, ES384, ES512, EdDSA, HS256, HS384 and HS512 keys";

/// `auth jwk generate`: a fresh private JWK for `alg` with `kid` (default: its thumbprint).
pub(crate) fn generate(
    alg: Algorithm,
    rsa_bits: u32,
    kid: Option<&str>,
    out: Output,
) -> Result<(), Error> {
    let jwk = private_jwk(alg, rsa_bits, kid)?;
    // Check it loads back before anyone relies on it.
    signing_key_from_jwk(&jwk, &[alg])?;
    let value = Value::Object(jwk);
    out.result(&value, || pretty(&value));
    Ok(())
}

/// A new private JWK.
pub(crate) fn private_jwk(
    alg: Algorithm,
    rsa_bits: u32,
    kid: Option<&str>,
) -> Result<Map<String, Value>, Error> {
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
            // Like EC and OKP keys: the kid defaults to the RFC 7638 thumbprint.
            let kid = match kid {
                Some(kid) => kid.to_owned(),
                None => jwk_thumbprint(&jwk)?,
            };
            jwk.insert("kid".into(), kid.into());
            return Ok(jwk);
        }
        Family::Ec => {
            let a = match alg {
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
                other => {
                    return Err(Error::config(format!(
                        "{other} keys are not generated here ({GENERATED})"
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
        Family::Rsa => {
            use aws_lc_rs::encoding::AsDer as _;
            use aws_lc_rs::rsa::{KeyPair, KeySize};
            let size = match rsa_bits {
                2048 => KeySize::Rsa2048,
                3072 => KeySize::Rsa3072,
                4096 => KeySize::Rsa4096,
                8192 => KeySize::Rsa8192,
                other => {
                    return Err(Error::config(format!(
                        "--size {other}: RSA keys are 2048, 3072, 4096 or 8192 bits"
                    )));
                }
            };
            let pair = KeyPair::generate(size).map_err(failed)?;
            let der = pair.as_der().map_err(failed)?;
            let mut jwk = crate::keys::rsa::private_jwk(der.as_ref())?;
            jwk.insert("alg".into(), alg.as_str().into());
            let kid = match kid {
                Some(kid) => kid.to_owned(),
                None => jwk_thumbprint(&crate::keys::public_members(&jwk))?,
            };
            jwk.insert("kid".into(), kid.into());
            return Ok(jwk);
        }
        _ => {
            return Err(Error::config(format!(
                "{alg} keys are not generated ({GENERATED})"
            )));
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

/// `auth jwk public FILE`: the public JWKS of a private JWK, a PEM key (private, or an EC
/// or Ed25519 public key) or a JWKS; every key is checked before it is published.
pub(crate) fn public(path: &Path, alg: Option<Algorithm>, out: Output) -> Result<(), Error> {
    let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
    let keys: Vec<Value> = match &file {
        KeyFile::Jwks(json) => {
            let set: Value = serde_json::from_str(json).map_err(Error::config)?;
            let keys = set["keys"].as_array().cloned().unwrap_or_default();
            let mut public = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                let key = key.as_object().ok_or_else(|| {
                    Error::config(format!("key {i} of the JWKS is not an object"))
                })?;
                if key.get("kty").and_then(Value::as_str) == Some("oct") {
                    continue;
                }
                let checked = checked_public_jwk(key)
                    .map_err(|e| Error::config(format!("key {i} of the JWKS: {}", message(&e))))?;
                public.push(Value::Object(checked));
            }
            public
        }
        KeyFile::Jwk(map) => vec![Value::Object(checked_public_jwk(map)?)],
        KeyFile::Pem(pem) => vec![pem_public_jwk(pem, alg)?],
    };
    let value = json!({ "keys": keys });
    out.result(&value, || pretty(&value));
    Ok(())
}

fn message(e: &Error) -> &str {
    match e {
        Error::Config(m) | Error::Rejected { message: m, .. } => m,
    }
}

/// `auth jwk thumbprint FILE`: the RFC 7638 SHA-256 thumbprint, base64url.
pub(crate) fn thumbprint(path: &Path, alg: Option<Algorithm>, out: Output) -> Result<(), Error> {
    let file = KeyFile::parse(read_file(path)?, &path.display().to_string())?;
    let print = match &file {
        KeyFile::Jwks(_) => {
            return Err(Error::config("a JWKS holds several keys: give one JWK"));
        }
        KeyFile::Jwk(map) => jwk_thumbprint(map)?,
        KeyFile::Pem(pem) => {
            auth_jwt::thumbprint(&pem_public_jwk(pem, alg)?.to_string()).map_err(Error::config)?
        }
    };
    let value = json!({ "thumbprint": print, "hash": "SHA-256" });
    out.result(&value, || print.clone());
    Ok(())
}

/// The public JWK of a PEM: a `BEGIN PUBLIC KEY` of an EC or Ed25519 key read directly, a
/// private key (PKCS#8, PKCS#1, SEC1) of `alg`, or of the first of ES256, ES384, ES512, EdDSA
/// and RS256 it is.
fn pem_public_jwk(pem: &[u8], alg: Option<Algorithm>) -> Result<Value, Error> {
    if let Some(jwk) = public_pem_jwk(pem, alg)? {
        return Ok(Value::Object(jwk));
    }
    let tried = match alg {
        Some(alg) => vec![alg],
        None => vec![
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::EdDSA,
            Algorithm::RS256,
        ],
    };
    let key = tried
        .iter()
        .find_map(|&alg| SigningKey::from_pem(pem, alg).ok())
        .ok_or_else(|| match alg {
            Some(alg) => Error::config(format!("the PEM is not a {alg} private or public key")),
            None => Error::config(
                "the PEM is not a private key of ES256, ES384, ES512, EdDSA or RSA, nor an EC or \
                 Ed25519 public key",
            ),
        })?;
    key.public_jwk()
        .ok_or_else(|| Error::config("the key has no public part"))
}

/// The algorithm of `auth jwk generate --kty KTY [--crv CRV] [--size BITS]`, or of `--alg`.
pub(crate) fn generated_alg(
    alg: Option<Algorithm>,
    kty: Option<&str>,
    crv: Option<&str>,
    size: Option<u32>,
) -> Result<Algorithm, Error> {
    let from_kty = match (kty.map(str::to_ascii_uppercase).as_deref(), crv, size) {
        (None, None, None) => None,
        (Some("EC"), None | Some("P-256"), None) => Some(Algorithm::ES256),
        (Some("EC"), Some("P-384"), None) => Some(Algorithm::ES384),
        (Some("EC"), Some("P-521"), None) => Some(Algorithm::ES512),
        (Some("OKP"), None | Some("Ed25519"), None) => Some(Algorithm::EdDSA),
        (Some("OCT"), None, None | Some(256)) => Some(Algorithm::HS256),
        (Some("OCT"), None, Some(384)) => Some(Algorithm::HS384),
        (Some("OCT"), None, Some(512)) => Some(Algorithm::HS512),
        (Some("RSA"), None, _) => Some(Algorithm::RS256),
        (kty, crv, size) => {
            return Err(Error::config(format!(
                "no key for --kty {} --crv {} --size {}: EC with P-256, P-384 or P-521; OKP with \
                 Ed25519; oct with 256, 384 or 512; RSA with 2048, 3072, 4096 or 8192",
                kty.unwrap_or("-"),
                crv.unwrap_or("-"),
                size.map_or("-".to_owned(), |s| s.to_string())
            )));
        }
    };
    match (alg, from_kty) {
        (Some(alg), None) => Ok(alg),
        (None, Some(from)) => Ok(from),
        // `--kty RSA --alg PS256`: the family must agree.
        (Some(alg), Some(from))
            if alg.family() == from.family() && from.family() == Family::Rsa =>
        {
            Ok(alg)
        }
        (Some(alg), Some(from)) if alg == from => Ok(alg),
        (Some(alg), Some(from)) => Err(Error::config(format!(
            "--alg {alg} is not a {from} key's algorithm"
        ))),
        (None, None) => Err(Error::config("give --alg ALG or --kty KTY")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip() {
        for alg in [
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::ES512,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            let jwk = private_jwk(alg, 2048, None).unwrap();
            assert_eq!(
                jwk["kid"].as_str(),
                Some(jwk_thumbprint(&jwk).unwrap().as_str())
            );
            let key = signing_key_from_jwk(&jwk, &[]).unwrap();
            assert_eq!(key.algorithm(), alg);
            let token = key.sign(&json!({"sub": "x"})).unwrap();
            assert_eq!(token.split('.').count(), 3);
        }
        assert!(private_jwk(Algorithm::RS256, 1024, None).is_err());
    }

    #[test]
    fn tampered_ed25519_is_refused() {
        let mut jwk = private_jwk(Algorithm::EdDSA, 2048, None).unwrap();
        let other = private_jwk(Algorithm::EdDSA, 2048, None).unwrap();
        jwk.insert("x".into(), other["x"].clone());
        assert!(signing_key_from_jwk(&jwk, &[]).is_err());
    }
}
