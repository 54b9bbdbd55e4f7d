//! A verification [`Key`]: one key, the algorithms it may verify, prepared once.
//!
//! A key belongs to one [`Family`] and verifies only that family's algorithms: an RSA public
//! key is never an HMAC secret. HMAC secrets must be at least as long as the hash (RFC 7518
//! §3.2: 32, 48, 64 bytes).

use std::fmt;

use auth_core::Secret;
use jsonwebtoken::DecodingKey;

use crate::backend::{self, Prepared};
use crate::error::Error;
use crate::{Algorithm, Family};

/// A key that verifies signatures.
///
/// Its `Debug` shows the key id, family and algorithms, never key material.
pub struct Key {
    kid: Option<Box<str>>,
    family: Family,
    /// RFC 7638 thumbprint, for public keys only (a secret's hash is not published).
    thumbprint: Option<Box<str>>,
    /// A digest of the key material, to tell two keys with one `kid` apart.
    fingerprint: Vec<u8>,
    verifiers: Vec<(Algorithm, Prepared)>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("algorithms", &self.algorithms().collect::<Vec<_>>())
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl Key {
    pub(crate) fn from_parts(
        family: Family,
        kid: Option<&str>,
        thumbprint: Option<String>,
        fingerprint: Vec<u8>,
        verifiers: Vec<(Algorithm, Prepared)>,
    ) -> Self {
        Self {
            kid: kid.map(Box::from),
            family,
            thumbprint: thumbprint.map(String::into_boxed_str),
            fingerprint,
            verifiers,
        }
    }

    /// An HMAC secret for `alg` (HS256, HS384 or HS512).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when `alg` is not an HMAC algorithm or the secret is shorter than
    /// the hash: 32 bytes for HS256, 48 for HS384, 64 for HS512 (RFC 7518 §3.2).
    pub fn hmac(secret: &Secret, alg: Algorithm) -> Result<Self, Error> {
        let min = alg
            .min_hmac_key_len()
            .ok_or_else(|| Error::invalid_key(format!("{alg} is not an HMAC algorithm")))?;
        if secret.len() < min {
            return Err(Error::invalid_key(format!(
                "{alg} needs a secret of at least {min} bytes, got {}",
                secret.len()
            )));
        }
        let prepared = Prepared::hmac(alg, secret.expose_secret())
            .ok_or_else(|| Error::invalid_key("empty secret"))?;
        Ok(Self::from_parts(
            Family::Hmac,
            None,
            None,
            backend::sha256(secret.expose_secret()),
            vec![(alg, prepared)],
        ))
    }

    /// A public key in PEM for `alg`: an RSA key (`BEGIN PUBLIC KEY` or
    /// `BEGIN RSA PUBLIC KEY`), an EC or an Ed25519 `BEGIN PUBLIC KEY`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when the PEM does not hold a public key of `alg`'s family.
    pub fn from_pem(pem: &[u8], alg: Algorithm) -> Result<Self, Error> {
        if !backend::supports(alg) {
            return Err(Error::invalid_key(format!(
                "{alg} needs the aws-lc-rs backend"
            )));
        }
        let bad = |e: jsonwebtoken::errors::Error| {
            Error::invalid_key(format!(
                "PEM is not a {} public key: {e}",
                alg.family().kty()
            ))
        };
        let key = match alg.family() {
            Family::Rsa => DecodingKey::from_rsa_pem(pem).map_err(bad)?,
            Family::Ec => DecodingKey::from_ec_pem(pem).map_err(bad)?,
            Family::Ed => DecodingKey::from_ed_pem(pem).map_err(bad)?,
            Family::Hmac => {
                return Err(Error::invalid_key(
                    "an HMAC secret is not a PEM key: use Key::hmac",
                ));
            }
        };
        let fingerprint = match key.kind() {
            jsonwebtoken::DecodingKeyKind::SecretOrDer(der) => {
                if matches!(alg.family(), Family::Ec | Family::Ed)
                    && !backend::public_key_is_valid(alg, der)
                {
                    return Err(Error::invalid_key("the public key is not a valid point"));
                }
                backend::sha256(der)
            }
            jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, .. } => backend::sha256(n),
        };
        Ok(Self::from_parts(
            alg.family(),
            None,
            None,
            fingerprint,
            vec![(alg, Prepared::public(alg, key))],
        ))
    }

    /// A single JWK (RFC 7517) in JSON. Unlike a key set, a key that cannot verify (unknown
    /// `kty`, `use: enc`, `key_ops` without `verify`, private members, too short) is an error.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] saying why the JWK cannot verify.
    pub fn from_jwk(json: &str) -> Result<Self, Error> {
        crate::json::check_unique(json.as_bytes())
            .map_err(|e| Error::invalid_key(format!("JWK is not valid JSON: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid_key(format!("JWK is not valid JSON: {e}")))?;
        crate::jwk::parse(&value).map_err(Error::invalid_key)
    }

    /// Sets the key id (`kid`) that tokens name this key by.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The RFC 7638 thumbprint (SHA-256, base64url) of a public key loaded from a JWK.
    pub fn thumbprint(&self) -> Option<&str> {
        self.thumbprint.as_deref()
    }

    /// The key family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The algorithms this key may verify.
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.verifiers.iter().map(|(a, _)| *a)
    }

    /// Whether this key may verify `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.verifiers.iter().any(|(a, _)| *a == alg)
    }

    pub(crate) fn same_material(&self, other: &Self) -> bool {
        self.family == other.family && self.fingerprint == other.fingerprint
    }

    /// Whether `signature` is a valid `alg` signature of `message` by this key. False for an
    /// algorithm the key does not support.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, p)| p.verify(alg, message, signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_secrets_must_be_as_long_as_the_hash() {
        for (alg, min) in [
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ] {
            assert!(Key::hmac(&Secret::new(vec![7; min - 1]), alg).is_err());
            assert!(Key::hmac(&Secret::new(vec![7; min]), alg).is_ok());
        }
        assert!(Key::hmac(&Secret::new(vec![7; 64]), Algorithm::RS256).is_err());
    }

    #[test]
    fn debug_shows_no_material() {
        let k = Key::hmac(&Secret::new(vec![0x41; 32]), Algorithm::HS256)
            .unwrap()
            .with_kid("k1");
        let d = format!("{k:?}");
        assert!(d.contains("k1") && d.contains("HS256"), "{d}");
        assert!(!d.contains("AAAA") && !d.contains("65, 65"), "{d}");
    }

    #[test]
    fn a_key_verifies_only_its_algorithms() {
        let k = Key::hmac(&Secret::new(vec![1; 64]), Algorithm::HS512).unwrap();
        assert!(k.supports(Algorithm::HS512));
        assert!(!k.supports(Algorithm::HS256));
        assert!(!k.verify(Algorithm::HS256, b"m", &[0; 32]));
    }
}
