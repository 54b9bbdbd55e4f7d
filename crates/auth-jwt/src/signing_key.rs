//! [`SigningKey`]: signs claims into a compact JWS, and knows its public JWK.

use std::fmt;

use auth_core::Secret;
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::EllipticCurve;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::backend;
use crate::error::Error;
use crate::jws::b64_encode;
use crate::{Algorithm, Family, Key};

/// A private key (or HMAC secret) that signs tokens with one algorithm.
///
/// Its `Debug` shows the algorithm and key id only.
#[derive(Clone)]
pub struct SigningKey {
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Box<str>,
    key: EncodingKey,
    /// The HMAC secret, kept to build the matching verification key.
    secret: Option<Secret>,
    /// The public JWK (no `kid`), for asymmetric keys.
    public: Option<Map<String, Value>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// An HMAC secret for `alg`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when `alg` is not HMAC or the secret is shorter than the hash
    /// (32, 48, 64 bytes: RFC 7518 §3.2).
    pub fn hmac(secret: &Secret, alg: Algorithm) -> Result<Self, Error> {
        // The same checks as verification keys.
        Key::hmac(secret, alg)?;
        let key = EncodingKey::from_secret(secret.expose_secret())
            .map_err(|_| Error::invalid_key("empty secret"))?;
        Ok(Self {
            alg,
            kid: None,
            typ: "JWT".into(),
            key,
            secret: Some(secret.clone()),
            public: None,
        })
    }

    /// A private key in PEM (PKCS#8, or PKCS#1 for RSA, SEC1 for EC) for `alg`. Its key id
    /// defaults to the RFC 7638 thumbprint of its public key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when the PEM is not a private key of `alg`'s family.
    pub fn from_pem(pem: &[u8], alg: Algorithm) -> Result<Self, Error> {
        let bad = |e: jsonwebtoken::errors::Error| {
            Error::invalid_key(format!(
                "PEM is not a {} private key: {e}",
                alg.family().kty()
            ))
        };
        let key = match alg.family() {
            Family::Rsa => EncodingKey::from_rsa_pem(pem).map_err(bad)?,
            Family::Ec => EncodingKey::from_ec_pem(pem).map_err(bad)?,
            Family::Ed => EncodingKey::from_ed_pem(pem).map_err(bad)?,
            Family::Hmac => {
                return Err(Error::invalid_key(
                    "an HMAC secret is not a PEM key: use SigningKey::hmac",
                ));
            }
        };
        Self::asymmetric(key, alg)
    }

    fn asymmetric(key: EncodingKey, alg: Algorithm) -> Result<Self, Error> {
        let utils = &backend::provider().key_utils;
        let der = key.as_bytes();
        let bad = |e: jsonwebtoken::errors::Error| {
            Error::invalid_key(format!("cannot derive the {alg} public key: {e}"))
        };
        let public = match alg.family() {
            Family::Rsa => {
                let (n, e) = (utils.rsa_pub_components_from_private_key)(der).map_err(bad)?;
                json!({"kty": "RSA", "n": b64_encode(&n), "e": b64_encode(&e)})
            }
            Family::Ec => {
                let (x, y) = backend::ec_public(alg, der).map_err(|e| {
                    Error::invalid_key(format!("cannot derive the {alg} public key: {e}"))
                })?;
                json!({"kty": "EC", "crv": alg.curve(), "x": b64_encode(&x), "y": b64_encode(&y)})
            }
            Family::Ed => {
                let x = (utils.ed_pub_components_from_private_key)(der, &EllipticCurve::Ed25519)
                    .map_err(bad)?;
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64_encode(&x)})
            }
            Family::Hmac => return Err(Error::invalid_key("not an asymmetric algorithm")),
        };
        let Value::Object(mut public) = public else {
            return Err(Error::invalid_key("public JWK is not an object"));
        };
        public.insert("alg".into(), alg.as_str().into());
        let mut signing = Self {
            alg,
            kid: None,
            typ: "JWT".into(),
            key,
            secret: None,
            public: Some(public),
        };
        let kid = signing.verification_key()?.thumbprint().map(Box::from);
        signing.kid = kid;
        Ok(signing)
    }

    /// A fresh random key for `alg`: a 64-byte secret for HMAC, a new P-256/P-384, Ed25519 or
    /// 2048-bit RSA key pair. Its key id is its thumbprint (HMAC: none until set).
    ///
    /// # Errors
    ///
    /// [`Error::Signing`] when the backend cannot generate the key.
    #[cfg(feature = "aws-lc-rs")]
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        use aws_lc_rs::encoding::AsDer as _;
        use aws_lc_rs::rand::SystemRandom;
        use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair};
        let rng = SystemRandom::new();
        let failed = |e: aws_lc_rs::error::Unspecified| Error::Signing(Box::new(e));
        let key = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let mut bytes = vec![0u8; 64];
                aws_lc_rs::rand::fill(&mut bytes).map_err(failed)?;
                return Self::hmac(&Secret::new(bytes), alg);
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => {
                let a = match alg {
                    Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                    _ => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
                };
                EncodingKey::from_ec_der(
                    EcdsaKeyPair::generate_pkcs8(a, &rng)
                        .map_err(failed)?
                        .as_ref(),
                )
            }
            Algorithm::EdDSA => EncodingKey::from_ed_der(
                Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(failed)?
                    .as_ref(),
            ),
            _ => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .map_err(failed)?;
                let der = pair.as_der().map_err(failed)?;
                // jsonwebtoken takes PKCS#8 RSA keys through PEM only.
                let pem = format!(
                    "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
                    base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        der.as_ref()
                    )
                );
                return Self::from_pem(pem.as_bytes(), alg);
            }
        };
        Self::asymmetric(key, alg)
    }

    /// Sets the key id written into each token's header.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into().into_boxed_str());
        self
    }

    /// Sets the header's `typ` (default `JWT`; RFC 9068 access tokens use `at+jwt`).
    #[must_use]
    pub fn with_type(mut self, typ: impl Into<String>) -> Self {
        self.typ = typ.into().into_boxed_str();
        self
    }

    /// The same key for another algorithm of its family: an RSA key for RS384 or PS256, an
    /// HMAC secret for HS384 if it is long enough.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] across families or curves, or for a secret too short for `alg`.
    pub fn with_algorithm(&self, alg: Algorithm) -> Result<Self, Error> {
        if alg.family() != self.alg.family() || (self.alg.family() == Family::Ec && alg != self.alg)
        {
            return Err(Error::invalid_key(format!(
                "a {} key cannot sign {alg}",
                self.alg
            )));
        }
        if let Some(secret) = &self.secret {
            Key::hmac(secret, alg)?;
        }
        let mut key = self.clone();
        key.alg = alg;
        if let Some(public) = &mut key.public {
            public.insert("alg".into(), alg.as_str().into());
        }
        Ok(key)
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id, if any.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The public JWK (with `kid`, `alg`, `use: sig`) to publish; `None` for HMAC.
    pub fn public_jwk(&self) -> Option<Value> {
        let mut jwk = self.public.clone()?;
        jwk.insert("use".into(), "sig".into());
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), Value::from(&**kid));
        }
        Some(Value::Object(jwk))
    }

    /// The key that verifies this key's signatures.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] if the public part does not load (a bug, not an input error).
    pub fn verification_key(&self) -> Result<Key, Error> {
        let key = match (&self.secret, self.public_jwk()) {
            (Some(secret), _) => Key::hmac(secret, self.alg)?,
            (None, Some(jwk)) => crate::jwk::parse(&jwk).map_err(Error::invalid_key)?,
            (None, None) => return Err(Error::invalid_key("no public key")),
        };
        Ok(match &self.kid {
            Some(kid) => key.with_kid(&**kid),
            None => key,
        })
    }

    /// Signs `claims` into a compact JWS with header `{"alg", "typ", "kid"}`.
    ///
    /// # Errors
    ///
    /// [`Error::Claims`] when `claims` does not serialize to a JSON object;
    /// [`Error::Signing`] when the backend fails.
    pub fn sign<T: Serialize + ?Sized>(&self, claims: &T) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|e| Error::Claims(e.to_string()))?;
        if payload.first() != Some(&b'{') {
            return Err(Error::Claims("claims must be a JSON object".into()));
        }
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.as_str().into());
        header.insert("typ".into(), Value::from(&*self.typ));
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), Value::from(&**kid));
        }
        let header = serde_json::to_vec(&header).map_err(|e| Error::Claims(e.to_string()))?;
        self.sign_parts(&header, &payload)
    }

    /// Signs a raw header and payload (both JSON bytes, not yet encoded). For tests and tools
    /// that need headers this crate would never write.
    ///
    /// # Errors
    ///
    /// [`Error::Signing`] when the backend fails.
    pub fn sign_parts(&self, header: &[u8], payload: &[u8]) -> Result<String, Error> {
        let mut token = b64_encode(header);
        token.push('.');
        token.push_str(&b64_encode(payload));
        let signature =
            backend::sign(self.alg, &self.key, token.as_bytes()).map_err(Error::Signing)?;
        token.push('.');
        token.push_str(&b64_encode(&signature));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_keys_publish_nothing_and_switch_only_within_length() {
        let k = SigningKey::hmac(&Secret::new(vec![1; 48]), Algorithm::HS256).unwrap();
        assert!(k.public_jwk().is_none());
        assert!(k.with_algorithm(Algorithm::HS384).is_ok());
        assert!(k.with_algorithm(Algorithm::HS512).is_err());
        assert!(k.with_algorithm(Algorithm::RS256).is_err());
        assert!(!format!("{k:?}").contains("[1, 1"));
    }

    #[test]
    fn claims_must_be_an_object() {
        let k = SigningKey::hmac(&Secret::new(vec![1; 32]), Algorithm::HS256).unwrap();
        assert!(matches!(k.sign(&[1, 2]), Err(Error::Claims(_))));
        assert!(matches!(k.sign("x"), Err(Error::Claims(_))));
        let token = k.sign(&serde_json::json!({"sub": "a"})).unwrap();
        assert_eq!(token.matches('.').count(), 2);
    }

    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn generated_keys_carry_their_thumbprint_as_kid() {
        let k = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let jwk = k.public_jwk().unwrap();
        assert_eq!(jwk["kid"].as_str(), k.kid());
        assert_eq!(
            k.verification_key().unwrap().thumbprint(),
            k.kid(),
            "kid is the RFC 7638 thumbprint"
        );
        assert!(jwk.get("d").is_none());
        let es = SigningKey::generate(Algorithm::ES256).unwrap();
        assert!(es.with_algorithm(Algorithm::ES384).is_err());
    }
}
