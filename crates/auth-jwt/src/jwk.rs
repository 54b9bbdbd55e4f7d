//! JWK (RFC 7517) to [`Key`], and RFC 7638 thumbprints.
//!
//! A JWK verifies only when it is a signature key: `use`, when present, is `sig`; `key_ops`,
//! when present, includes `verify`; it holds no private members; its `alg`, when present,
//! fits its `kty` and `crv`. RSA moduli are at least 2048 bits with an odd exponent above 1,
//! EC points are on their curve, HMAC secrets are at least as long as the hash.

use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};

use crate::backend::{self, Prepared};
use crate::error::shown;
use crate::jws::b64_decode;
use crate::{Algorithm, Family, Key};

type Obj = Map<String, Value>;

fn string<'a>(jwk: &'a Obj, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("member {name} is not a string")),
    }
}

fn required<'a>(jwk: &'a Obj, name: &str) -> Result<&'a str, String> {
    string(jwk, name)?.ok_or_else(|| format!("member {name} is missing"))
}

fn bytes(jwk: &Obj, name: &str) -> Result<Vec<u8>, String> {
    b64_decode(required(jwk, name)?).map_err(|_| format!("member {name} is not base64url"))
}

/// The RFC 7638 thumbprint of the required members, in order, as canonical JSON.
pub(crate) fn thumbprint(members: &[(&str, &str)]) -> String {
    let mut json = String::from("{");
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        // serde_json writes the minimal escaping RFC 7638 §3.3 asks for.
        json.push_str(&serde_json::Value::from(*name).to_string());
        json.push(':');
        json.push_str(&serde_json::Value::from(*value).to_string());
    }
    json.push('}');
    crate::jws::b64_encode(&backend::sha256(json.as_bytes()))
}

/// Parses one JWK, or says why it cannot verify.
///
/// # Errors
///
/// Why the key is unusable; in a key set this skips the key.
pub(crate) fn parse(value: &Value) -> Result<Key, String> {
    let jwk = value.as_object().ok_or("a JWK is not an object")?;
    let kty = required(jwk, "kty")?;
    let kid = string(jwk, "kid")?;
    if let Some(u) = string(jwk, "use")?
        && u != "sig"
    {
        return Err(format!("use is {}, not sig", shown(u)));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array().ok_or("key_ops is not an array")?;
        if !ops.iter().any(|o| o.as_str() == Some("verify")) {
            return Err("key_ops does not include verify".into());
        }
    }
    let alg = match string(jwk, "alg")? {
        None => None,
        Some(name) => Some(Algorithm::from_name(name).ok_or_else(|| {
            format!("alg {} is not a supported signature algorithm", shown(name))
        })?),
    };
    let family = match kty {
        "RSA" => Family::Rsa,
        "EC" => Family::Ec,
        "OKP" => Family::Ed,
        "oct" => Family::Hmac,
        other => return Err(format!("kty {} is not supported", shown(other))),
    };
    if let Some(a) = alg
        && a.family() != family
    {
        return Err(format!("alg {a} does not fit kty {kty}"));
    }
    if family != Family::Hmac
        && let Some(private) = ["d", "p", "q", "dp", "dq", "qi", "oth"]
            .into_iter()
            .find(|m| jwk.contains_key(*m))
    {
        return Err(format!(
            "a private key (member {private}) in a verification key set"
        ));
    }
    let algs = |default: &mut dyn Iterator<Item = Algorithm>| -> Vec<Algorithm> {
        alg.map_or_else(|| default.collect(), |a| vec![a])
    };
    match family {
        Family::Rsa => {
            let n = bytes(jwk, "n")?;
            let e = bytes(jwk, "e")?;
            let n_min = strip_zeros(&n);
            let bits = (n_min.len() * 8)
                .saturating_sub(n_min.first().map_or(0, |b| b.leading_zeros() as usize));
            if bits < 2048 {
                return Err(format!("RSA modulus of {bits} bits, the minimum is 2048"));
            }
            if is_roca(n_min) {
                return Err("RSA modulus has the ROCA fingerprint (CVE-2017-15361)".into());
            }
            let e_min = strip_zeros(&e);
            if e_min.len() > 8 || e_min.last().is_none_or(|b| b & 1 == 0) || e_min == [1] {
                return Err("RSA exponent is not an odd number above 1".into());
            }
            let tp = thumbprint(&[
                ("e", required(jwk, "e")?),
                ("kty", "RSA"),
                ("n", required(jwk, "n")?),
            ]);
            let dk = DecodingKey::from_rsa_raw_components(n_min, e_min);
            let verifiers = algs(&mut Family::Rsa.algorithms())
                .into_iter()
                .map(|a| (a, Prepared::public(a, dk.clone())))
                .collect();
            Ok(Key::from_parts(
                family,
                kid,
                Some(tp.clone()),
                tp.into_bytes(),
                verifiers,
            ))
        }
        Family::Ec => {
            let crv = required(jwk, "crv")?;
            let curve_alg = match crv {
                "P-256" => Algorithm::ES256,
                "P-384" => Algorithm::ES384,
                "P-521" if backend::supports(Algorithm::ES512) => Algorithm::ES512,
                other => return Err(format!("crv {} is not supported", shown(other))),
            };
            if alg.is_some_and(|a| a != curve_alg) {
                return Err(format!("crv {crv} does not fit alg"));
            }
            let (x, y) = (bytes(jwk, "x")?, bytes(jwk, "y")?);
            let size = match curve_alg {
                Algorithm::ES256 => 32,
                Algorithm::ES384 => 48,
                _ => 66,
            };
            if x.len() != size || y.len() != size {
                return Err(format!("{crv} coordinates must be {size} bytes"));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            if !backend::public_key_is_valid(curve_alg, &point) {
                return Err(format!("the point is not on {crv}"));
            }
            let tp = thumbprint(&[
                ("crv", crv),
                ("kty", "EC"),
                ("x", required(jwk, "x")?),
                ("y", required(jwk, "y")?),
            ]);
            let prepared = Prepared::public(curve_alg, DecodingKey::from_ec_der(&point));
            Ok(Key::from_parts(
                family,
                kid,
                Some(tp.clone()),
                tp.into_bytes(),
                vec![(curve_alg, prepared)],
            ))
        }
        Family::Ed => {
            let crv = required(jwk, "crv")?;
            if crv != "Ed25519" {
                return Err(format!(
                    "crv {} is not a supported signature curve",
                    shown(crv)
                ));
            }
            let x = bytes(jwk, "x")?;
            if x.len() != 32 || !backend::public_key_is_valid(Algorithm::EdDSA, &x) {
                return Err("Ed25519 public key must be 32 valid bytes".into());
            }
            let tp = thumbprint(&[("crv", crv), ("kty", "OKP"), ("x", required(jwk, "x")?)]);
            let prepared = Prepared::public(Algorithm::EdDSA, DecodingKey::from_ed_der(&x));
            Ok(Key::from_parts(
                family,
                kid,
                Some(tp.clone()),
                tp.into_bytes(),
                vec![(Algorithm::EdDSA, prepared)],
            ))
        }
        Family::Hmac => {
            let k = bytes(jwk, "k")?;
            let verifiers: Vec<_> = algs(&mut Family::Hmac.algorithms())
                .into_iter()
                .filter(|a| a.min_hmac_key_len().is_some_and(|min| k.len() >= min))
                .filter_map(|a| Prepared::hmac(a, &k).map(|p| (a, p)))
                .collect();
            if verifiers.is_empty() {
                return Err(format!(
                    "an HMAC secret of {} bytes is too short for {}",
                    k.len(),
                    alg.map_or("any HMAC algorithm", Algorithm::as_str)
                ));
            }
            Ok(Key::from_parts(
                family,
                kid,
                None,
                backend::sha256(&k),
                verifiers,
            ))
        }
    }
}

/// Whether an RSA modulus has the ROCA fingerprint (CVE-2017-15361): for each small prime p,
/// `n mod p` lies in the subgroup generated by 65537. A random modulus fails this for some
/// prime with overwhelming probability; Infineon's weak keys pass it for all.
pub(crate) fn is_roca(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let r = n.iter().fold(0u32, |r, &b| (r * 256 + u32::from(b)) % p);
        let g = 65_537 % p;
        let mut x = 1;
        loop {
            if x == r {
                return true;
            }
            x = x * g % p;
            if x == 1 {
                return false;
            }
        }
    })
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(s: &str) -> Result<Key, String> {
        parse(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn rfc7638_thumbprint() {
        let k = jwk(r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(
            k.thumbprint(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        assert_eq!(k.kid(), Some("2011-04-29"));
    }

    #[test]
    fn non_signature_keys_are_refused() {
        let ed = r#""kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo""#;
        assert!(jwk(&format!("{{{ed}}}")).is_ok());
        for extra in [
            r#","use":"enc""#,
            r#","key_ops":["sign"]"#,
            r#","key_ops":"verify""#,
            r#","alg":"ES256""#,
            r#","alg":"none""#,
            r#","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A""#,
            r#","kid":7"#,
        ] {
            assert!(jwk(&format!("{{{ed}{extra}}}")).is_err(), "{extra}");
        }
        assert!(jwk(r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#).is_err());
        assert!(jwk(r#"{"kty":"oct","k":"AAAA"}"#).is_err());
        assert!(jwk(r#"{"kty":"foo"}"#).is_err());
        // Empty or all-zero moduli are 0 bits, not an arithmetic accident.
        for n in ["", "AA", "AAAA"] {
            let rsa = format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#);
            assert!(jwk(&rsa).is_err(), "{rsa}");
        }
        assert!(jwk(r#"{"kty":"OKP","crv":"X25519","x":"AA"}"#).is_err());
    }

    #[test]
    fn oct_without_alg_verifies_what_its_length_allows() {
        let k = jwk(&format!(
            r#"{{"kty":"oct","k":"{}"}}"#,
            crate::jws::b64_encode(&[9; 48])
        ))
        .unwrap();
        assert_eq!(
            k.algorithms().collect::<Vec<_>>(),
            [Algorithm::HS256, Algorithm::HS384]
        );
    }
}
