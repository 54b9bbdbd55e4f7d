//! Key files as people have them: a JWKS, a single JWK (public or private), or PEM; loaded
//! into auth-jwt's verification [`KeySet`] or a [`SigningKey`].
//!
//! auth-jwt takes private keys as PEM; a private JWK (EC, OKP, oct) is turned into PKCS#8
//! here with aws-lc-rs, which checks that its private and public parts agree.

use auth_core::Secret;
use auth_jwt::{Algorithm, Family, Key, KeySet, SigningKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use crate::output::Error;

pub(crate) mod rsa;

/// A parsed key set with at least one key, or an error naming `what` and what was skipped.
fn usable(set: Result<KeySet, auth_jwt::Error>, what: &str) -> Result<KeySet, Error> {
    let set = set.map_err(Error::config)?;
    if set.is_empty() {
        return Err(Error::config(format!(
            "{what} holds no usable key (skipped: {})",
            set.skipped().join("; ")
        )));
    }
    Ok(set)
}

/// Members that make a JWK private (RFC 7518 §6).
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a key file holds.
#[derive(Debug)]
pub(crate) enum KeyFile {
    /// `{"keys": [...]}`.
    Jwks(String),
    /// One JWK object.
    Jwk(Map<String, Value>),
    /// PEM text.
    Pem(Vec<u8>),
}

impl KeyFile {
    /// Sorts `bytes` into a JWKS, a JWK or PEM.
    pub(crate) fn parse(bytes: Vec<u8>, name: &str) -> Result<Self, Error> {
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::config(format!("{name} is not text")))?;
        let trimmed = text.trim_start();
        if trimmed.starts_with("-----BEGIN") {
            return Ok(Self::Pem(bytes));
        }
        let value: Value = serde_json::from_str(trimmed)
            .map_err(|e| Error::config(format!("{name} is neither PEM nor JSON: {e}")))?;
        match value {
            Value::Object(map) if map.get("keys").is_some_and(Value::is_array) => {
                Ok(Self::Jwks(trimmed.to_owned()))
            }
            Value::Object(map) => Ok(Self::Jwk(map)),
            _ => Err(Error::config(format!(
                "{name}: a JWK must be a JSON object"
            ))),
        }
    }

    /// The verification keys in this file. A private JWK or private PEM is reduced to its
    /// public part; PEM needs the algorithm list to know its family.
    pub(crate) fn verification_keys(&self, algs: &[Algorithm]) -> Result<KeySet, Error> {
        match self {
            Self::Jwks(json) => usable(KeySet::from_jwks(json), "the JWKS"),
            Self::Jwk(map) if map.get("kty").and_then(Value::as_str) == Some("oct") => {
                let key = signing_key_from_jwk(map, algs)?
                    .verification_key()
                    .map_err(Error::config)?;
                Ok(KeySet::new([key]))
            }
            Self::Jwk(map) => {
                let json = Value::Object(public_members(map)).to_string();
                Ok(KeySet::new([Key::from_jwk(&json).map_err(Error::config)?]))
            }
            Self::Pem(pem) => {
                let mut last = None;
                for &alg in algs {
                    match Key::from_pem(pem, alg) {
                        Ok(key) => return Ok(KeySet::new([key])),
                        Err(e) => last = Some(e.to_string()),
                    }
                    if let Ok(signing) = SigningKey::from_pem(pem, alg) {
                        let key = signing.verification_key().map_err(Error::config)?;
                        return Ok(KeySet::new([key]));
                    }
                }
                Err(Error::config(
                    last.unwrap_or_else(|| "no --alg given".into()),
                ))
            }
        }
    }

    /// The verification keys of a document fetched from `url`: a JWKS or one JWK, public
    /// keys only. Whoever can read the URL can read a symmetric (`oct`) key in it and forge
    /// HMAC tokens with it, so one is refused, with an error that says so, as is any private
    /// member; PEM is not a published key format.
    pub(crate) fn published_keys(&self, url: &str) -> Result<KeySet, Error> {
        let refuse = |what: &str| {
            Error::config(format!(
                "{url}: {what}: a key set fetched from a URL is public, so anyone who can \
                 read it could sign tokens with it; give an HMAC secret as a local file"
            ))
        };
        match self {
            Self::Jwks(json) => {
                let doc: Value = serde_json::from_str(json).map_err(Error::config)?;
                let keys = doc.get("keys").and_then(Value::as_array);
                if keys.is_some_and(|keys| keys.iter().any(|k| k.get("kty") == Some(&"oct".into())))
                {
                    return Err(refuse("the JWKS holds a symmetric (oct) key"));
                }
                usable(KeySet::from_public_jwks(json), &format!("{url}: the JWKS"))
            }
            Self::Jwk(map) if map.get("kty").and_then(Value::as_str) == Some("oct") => {
                Err(refuse("the JWK is a symmetric (oct) key"))
            }
            Self::Jwk(map) if PRIVATE_MEMBERS.iter().any(|m| map.contains_key(*m)) => {
                Err(refuse("the JWK holds private members"))
            }
            Self::Jwk(map) => {
                let json = Value::Object(map.clone()).to_string();
                Ok(KeySet::new([Key::from_jwk(&json).map_err(Error::config)?]))
            }
            Self::Pem(_) => Err(Error::config(format!(
                "{url}: PEM from a URL is not read; publish keys as a JWKS"
            ))),
        }
    }

    /// The signing key in this file, for `alg` (PEM) or for the JWK's own `alg`.
    pub(crate) fn signing_key(&self, algs: &[Algorithm]) -> Result<SigningKey, Error> {
        match self {
            Self::Jwks(_) => Err(Error::config(
                "a JWKS holds public keys: sign with a private JWK or PEM",
            )),
            Self::Jwk(map) => signing_key_from_jwk(map, algs),
            Self::Pem(pem) => {
                let alg = *algs.first().ok_or_else(|| {
                    Error::config("a PEM key needs --alg to say which algorithm it signs with")
                })?;
                SigningKey::from_pem(pem, alg).map_err(Error::config)
            }
        }
    }
}

/// A JWK without its private members.
pub(crate) fn public_members(jwk: &Map<String, Value>) -> Map<String, Value> {
    jwk.iter()
        .filter(|(k, _)| !PRIVATE_MEMBERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, Error> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::config(format!("the JWK has no string member {name:?}")))
}

fn b64(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, Error> {
    URL_SAFE_NO_PAD
        .decode(member(jwk, name)?)
        .map_err(|_| Error::config(format!("the JWK member {name:?} is not base64url")))
}

/// Picks the algorithm: the JWK's `alg` if any (and it must be in `algs` when `algs` is not
/// empty), else the first of `algs` that fits the key's family, else the family's default.
fn choose_alg(
    jwk: &Map<String, Value>,
    family: Family,
    algs: &[Algorithm],
) -> Result<Algorithm, Error> {
    if let Some(name) = jwk.get("alg").and_then(Value::as_str) {
        let alg = Algorithm::from_name(name)
            .ok_or_else(|| Error::config(format!("unknown JWK alg {name:?}")))?;
        if !algs.is_empty() && !algs.contains(&alg) {
            return Err(Error::config(format!(
                "the key is for {name}, not {algs:?}"
            )));
        }
        return Ok(alg);
    }
    if let Some(alg) = algs.iter().find(|a| a.family() == family) {
        return Ok(*alg);
    }
    match (family, jwk.get("crv").and_then(Value::as_str)) {
        (Family::Ec, Some("P-384")) => Ok(Algorithm::ES384),
        (Family::Ec, Some("P-521")) => Ok(Algorithm::ES512),
        (Family::Ec, _) => Ok(Algorithm::ES256),
        (Family::Ed, _) => Ok(Algorithm::EdDSA),
        (Family::Hmac, _) => Ok(Algorithm::HS256),
        _ => Ok(Algorithm::RS256),
    }
}

/// A private JWK as a [`SigningKey`]; the JWK's `kid`, if any, is kept.
pub(crate) fn signing_key_from_jwk(
    jwk: &Map<String, Value>,
    algs: &[Algorithm],
) -> Result<SigningKey, Error> {
    use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair};
    let failed = |what: &str| Error::config(format!("the private JWK is not a valid {what} key"));
    let key = match member(jwk, "kty")? {
        "oct" => {
            let alg = choose_alg(jwk, Family::Hmac, algs)?;
            SigningKey::hmac(&Secret::new(b64(jwk, "k")?), alg).map_err(Error::config)?
        }
        "EC" => {
            let alg = choose_alg(jwk, Family::Ec, algs)?;
            check_curve(jwk, alg)?;
            let signing = match alg {
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
                _ => return Err(failed("EC")),
            };
            let mut point = vec![4u8];
            point.extend(b64(jwk, "x")?);
            point.extend(b64(jwk, "y")?);
            let pair =
                EcdsaKeyPair::from_private_key_and_public_key(signing, &b64(jwk, "d")?, &point)
                    .map_err(|_| failed("EC"))?;
            let der = pair.to_pkcs8v1().map_err(|_| failed("EC"))?;
            SigningKey::from_pem(pem("PRIVATE KEY", der.as_ref()).as_bytes(), alg)
                .map_err(Error::config)?
        }
        "OKP" => {
            let alg = choose_alg(jwk, Family::Ed, algs)?;
            check_curve(jwk, alg)?;
            let pair = Ed25519KeyPair::from_seed_unchecked(&b64(jwk, "d")?)
                .map_err(|_| failed("Ed25519"))?;
            let der = pair.to_pkcs8v1().map_err(|_| failed("Ed25519"))?;
            let key = SigningKey::from_pem(pem("PRIVATE KEY", der.as_ref()).as_bytes(), alg)
                .map_err(Error::config)?;
            let derived_x = key
                .public_jwk()
                .and_then(|j| j["x"].as_str().map(str::to_owned));
            if derived_x.as_deref() != Some(member(jwk, "x")?) {
                return Err(Error::config("the private JWK's x does not match its d"));
            }
            key
        }
        "RSA" => {
            let alg = choose_alg(jwk, Family::Rsa, algs)?;
            let der = rsa::pkcs1(jwk)?;
            let key = SigningKey::from_pem(pem("RSA PRIVATE KEY", &der).as_bytes(), alg)
                .map_err(|_| failed("RSA"))?;
            // n and e must be the public half of d, p, q: the backend checked the key, and
            // the public JWK it derives must name the same modulus.
            let derived_n = key
                .public_jwk()
                .and_then(|j| j["n"].as_str().map(str::to_owned));
            if derived_n.as_deref() != Some(member(jwk, "n")?) {
                return Err(Error::config(
                    "the private JWK's n does not match its primes",
                ));
            }
            key
        }
        other => return Err(Error::config(format!("unknown JWK kty {other:?}"))),
    };
    Ok(match jwk.get("kid").and_then(Value::as_str) {
        Some(kid) => key.with_kid(kid),
        None => key,
    })
}

/// Refuses a JWK whose `crv` is not the curve of `alg` (RFC 7518 §6.2.1.1, RFC 8037 §2).
fn check_curve(jwk: &Map<String, Value>, alg: Algorithm) -> Result<(), Error> {
    let crv = member(jwk, "crv")?;
    match alg.curve() {
        Some(curve) if curve == crv => Ok(()),
        Some(curve) => Err(Error::config(format!(
            "the JWK's crv {crv:?} is not {curve}, the curve of {alg}"
        ))),
        None => Err(Error::config(format!(
            "{alg} is not an elliptic-curve algorithm"
        ))),
    }
}

/// The RFC 7638 SHA-256 thumbprint of a JWK, base64url. For an HMAC key (`oct`) it is taken
/// over `{"k", "kty"}` (RFC 7638 §3.2), which auth-jwt does not publish; for the others,
/// over the required public members, checked by auth-jwt.
pub(crate) fn jwk_thumbprint(jwk: &Map<String, Value>) -> Result<String, Error> {
    if member(jwk, "kty")? == "oct" {
        b64(jwk, "k")?;
        // Members in lexicographic order, no whitespace; `k` is base64url, JSON-escaped anyway.
        let canonical = format!(r#"{{"k":{},"kty":"oct"}}"#, Value::from(member(jwk, "k")?));
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        return Ok(URL_SAFE_NO_PAD.encode(digest.as_ref()));
    }
    auth_jwt::thumbprint(&Value::Object(public_members(jwk)).to_string()).map_err(Error::config)
}

/// The public JWK of a JWK, checked: a private EC or OKP key must agree with its public part,
/// and the public part must be a key auth-jwt accepts (known `kty`, the right `crv`, a point
/// on the curve, an RSA modulus of 2048 bits or more).
pub(crate) fn checked_public_jwk(jwk: &Map<String, Value>) -> Result<Map<String, Value>, Error> {
    let kty = member(jwk, "kty")?;
    if kty == "oct" {
        return Err(Error::config(
            "an HMAC secret has no public part to publish",
        ));
    }
    if jwk.contains_key("d") && matches!(kty, "EC" | "OKP") {
        signing_key_from_jwk(jwk, &[])?;
    }
    let public = public_members(jwk);
    Key::from_jwk(&Value::Object(public.clone()).to_string()).map_err(Error::config)?;
    Ok(public)
}

/// The DER prefixes of the SubjectPublicKeyInfo of each curve, before the key itself.
const SPKI_PREFIXES: [(Algorithm, &[u8], usize); 4] = [
    (
        Algorithm::ES256,
        b"\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\x03\x42\x00",
        65,
    ),
    (
        Algorithm::ES384,
        b"\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22\x03\x62\x00",
        97,
    ),
    (
        Algorithm::ES512,
        b"\x30\x81\x9b\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x23\x03\x81\x86\x00",
        133,
    ),
    (
        Algorithm::EdDSA,
        b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00",
        32,
    ),
];

/// The public JWK of a `BEGIN PUBLIC KEY` PEM of an EC (P-256, P-384, P-521) or Ed25519 key;
/// `Ok(None)` when the PEM is not a public key. The JWK is checked by
/// auth-jwt (the point is on the curve).
///
/// # Errors
///
/// [`Error::Config`] for an RSA or otherwise unsupported public key, or one that is not `alg`'s.
pub(crate) fn public_pem_jwk(
    pem: &[u8],
    alg: Option<Algorithm>,
) -> Result<Option<Map<String, Value>>, Error> {
    let text = String::from_utf8_lossy(pem);
    let Some(body) = text
        .split("-----BEGIN PUBLIC KEY-----")
        .nth(1)
        .and_then(|rest| rest.split("-----END PUBLIC KEY-----").next())
    else {
        return Ok(None);
    };
    let der = STANDARD
        .decode(body.split_whitespace().collect::<String>())
        .map_err(|_| Error::config("the public key PEM is not base64"))?;
    let found = SPKI_PREFIXES.iter().find_map(|&(alg, prefix, len)| {
        let key = der.strip_prefix(prefix)?;
        (key.len() == len).then_some((alg, key))
    });
    let Some((found, key)) = found else {
        return Err(Error::config(
            "the PEM public key is not EC (P-256, P-384, P-521) or Ed25519: RSA public keys \
             in PEM are not converted here (give the private key's PEM, or its JWK)",
        ));
    };
    if let Some(alg) = alg.filter(|&a| a != found) {
        return Err(Error::config(format!(
            "the PEM public key is a {found} key, not {alg}"
        )));
    }
    let enc = |b: &[u8]| Value::from(URL_SAFE_NO_PAD.encode(b));
    let mut jwk = Map::new();
    if found == Algorithm::EdDSA {
        jwk.insert("kty".into(), "OKP".into());
        jwk.insert("crv".into(), "Ed25519".into());
        jwk.insert("x".into(), enc(key));
    } else {
        // An uncompressed point: 0x04, x, y.
        let Some((4, xy)) = key.split_first() else {
            return Err(Error::config("the PEM's EC point is not uncompressed"));
        };
        let (x, y) = xy.split_at(xy.len() / 2);
        jwk.insert("kty".into(), "EC".into());
        jwk.insert("crv".into(), found.curve().unwrap_or_default().into());
        jwk.insert("x".into(), enc(x));
        jwk.insert("y".into(), enc(y));
    }
    Key::from_jwk(&Value::Object(jwk.clone()).to_string()).map_err(Error::config)?;
    Ok(Some(jwk))
}

/// Wraps DER in PEM armour.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Parses a comma-separated algorithm list (`ES256,RS256`).
pub(crate) fn parse_algs(list: &str) -> Result<Vec<Algorithm>, Error> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Algorithm::from_name(name).ok_or_else(|| {
                Error::config(format!(
                    "unknown algorithm {name:?} (one of HS256 HS384 HS512 RS256 RS384 RS512 \
                     PS256 PS384 PS512 ES256 ES384 ES512 EdDSA; `none` is never accepted)"
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_lists() {
        assert_eq!(
            parse_algs("ES256, RS256").unwrap(),
            [Algorithm::ES256, Algorithm::RS256]
        );
        assert!(parse_algs("none").is_err());
        assert!(parse_algs("hs256").is_err());
    }

    #[test]
    fn sorts_files() {
        let jwks = KeyFile::parse(br#"{"keys":[]}"#.to_vec(), "f").unwrap();
        assert!(matches!(jwks, KeyFile::Jwks(_)));
        let jwk = KeyFile::parse(br#"{"kty":"EC"}"#.to_vec(), "f").unwrap();
        assert!(matches!(jwk, KeyFile::Jwk(_)));
        let pem = KeyFile::parse(b"\n-----BEGIN PUBLIC KEY-----\n".to_vec(), "f").unwrap();
        assert!(matches!(pem, KeyFile::Pem(_)));
        assert!(KeyFile::parse(b"[1]".to_vec(), "f").is_err());
        assert!(KeyFile::parse(vec![0xff], "f").is_err());
    }

    #[test]
    fn pem_armour_wraps_at_64() {
        let text = pem("PRIVATE KEY", &[0u8; 100]);
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(text.lines().all(|l| l.len() <= 64));
    }
}
