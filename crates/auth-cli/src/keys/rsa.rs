//! RSA private JWKs (RFC 7518 §6.3.2): from a PKCS#8 key the backend generated, and back to
//! PKCS#1 for signing. The backend (aws-lc-rs) neither reads nor writes RSA key components,
//! so this is the few lines of DER it takes: two SEQUENCEs of INTEGERs, with definite lengths
//! only (DER), refused on any other shape.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::output::Error;

/// The members of an RSA private JWK after `kty`, in RSAPrivateKey's order (RFC 8017 A.1.2).
const MEMBERS: [&str; 8] = ["n", "e", "d", "p", "q", "dp", "dq", "qi"];

fn bad() -> Error {
    Error::config("not an RSA private key (PKCS#8 DER) the CLI can read")
}

/// One TLV: its tag, its contents and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        (len, rest)
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// The contents of a SEQUENCE that is all of `input`.
fn sequence(input: &[u8]) -> Option<&[u8]> {
    match tlv(input)? {
        (0x30, contents, []) => Some(contents),
        _ => None,
    }
}

/// The magnitude of a non-negative INTEGER, without leading zeros.
fn unsigned(contents: &[u8]) -> Option<&[u8]> {
    if contents.first().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let start = contents
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(contents.len());
    Some(&contents[start..])
}

/// The private JWK (`kty`, `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`) of a PKCS#8 RSA key.
pub(crate) fn private_jwk(pkcs8: &[u8]) -> Result<Map<String, Value>, Error> {
    // PrivateKeyInfo: version, AlgorithmIdentifier, OCTET STRING { RSAPrivateKey }.
    let info = sequence(pkcs8).ok_or_else(bad)?;
    let (_, _, rest) = tlv(info).filter(|t| t.0 == 0x02).ok_or_else(bad)?;
    let (_, _, rest) = tlv(rest).filter(|t| t.0 == 0x30).ok_or_else(bad)?;
    let (_, key, _) = tlv(rest).filter(|t| t.0 == 0x04).ok_or_else(bad)?;
    let mut rest = sequence(key).ok_or_else(bad)?;
    // version 0 (two primes), then the eight integers.
    let (_, version, after) = tlv(rest).filter(|t| t.0 == 0x02).ok_or_else(bad)?;
    if version != [0] {
        return Err(bad());
    }
    rest = after;
    let mut jwk = Map::new();
    jwk.insert("kty".into(), "RSA".into());
    for name in MEMBERS {
        let (_, value, after) = tlv(rest).filter(|t| t.0 == 0x02).ok_or_else(bad)?;
        let value = unsigned(value).ok_or_else(bad)?;
        jwk.insert(name.into(), URL_SAFE_NO_PAD.encode(value).into());
        rest = after;
    }
    Ok(jwk)
}

fn der(tag: u8, contents: &[u8]) -> Vec<u8> {
    let len = contents.len();
    let mut out = vec![tag];
    match len {
        0..0x80 => out.push(len as u8),
        0x80..0x100 => out.extend([0x81, len as u8]),
        0x100..0x10000 => out.extend([0x82, (len >> 8) as u8, len as u8]),
        _ => out.extend([0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]),
    }
    out.extend_from_slice(contents);
    out
}

fn integer(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len());
    let mut contents = magnitude[start..].to_vec();
    if contents.first().is_none_or(|b| b & 0x80 != 0) {
        contents.insert(0, 0);
    }
    der(0x02, &contents)
}

/// The PKCS#1 RSAPrivateKey DER of a private JWK's members.
pub(crate) fn pkcs1(jwk: &Map<String, Value>) -> Result<Vec<u8>, Error> {
    let mut body = integer(&[0]);
    for name in MEMBERS {
        let value = jwk
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
            .ok_or_else(|| Error::config(format!("the RSA private JWK has no base64url {name}")))?;
        body.extend(integer(&value));
    }
    Ok(der(0x30, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_keep_their_sign_bit_clear() {
        assert_eq!(integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[0x00, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(integer(&[]), [0x02, 0x01, 0x00]);
        assert_eq!(der(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(der(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn truncated_or_foreign_der_is_refused() {
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x02],
            &[0x31, 0x00],
            &[0x30, 0x84, 0, 0, 0, 1],
        ] {
            assert!(private_jwk(bad).is_err(), "{bad:?}");
        }
    }
}
