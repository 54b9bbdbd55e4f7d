//! The crypto backend, chosen at compile time by a feature: `aws-lc-rs` (default) or
//! `rust-crypto`. Neither is a compile error here. Both is allowed, because Cargo unifies the
//! features of every crate in a build (one dependency's choice must not break another's):
//! then aws-lc-rs is used. The provider is passed explicitly, never installed process-wide,
//! so jsonwebtoken's run-time choice between two installed providers never arises.
//!
//! Signing, PEM parsing and key derivation go through jsonwebtoken's provider for the chosen
//! backend, and so does verification with `rust-crypto`. With aws-lc-rs, verification keys
//! are prepared once and verified directly: HMAC keys as `aws_lc_rs::hmac::Key`, public keys
//! as `ParsedPublicKey`, because jsonwebtoken re-derives the HMAC key and re-parses public
//! keys on every `decode` (see ARCHITECTURE.md, "Decisions").

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "auth-jwt: enable one crypto backend: feature `aws-lc-rs` (the default) or `rust-crypto`"
);

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::Algorithm;

/// The provider of the backend this build chose.
pub(crate) fn provider() -> &'static CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

/// A key prepared for verifying one algorithm.
pub(crate) enum Prepared {
    /// An HMAC key with its pads computed once.
    #[cfg(feature = "aws-lc-rs")]
    Hmac(Box<aws_lc_rs::hmac::Key>),
    /// A public key parsed once by aws-lc-rs.
    #[cfg(feature = "aws-lc-rs")]
    Parsed(Box<aws_lc_rs::signature::ParsedPublicKey>),
    /// Any key, verified through jsonwebtoken's provider.
    Jwt(DecodingKey),
}

impl Prepared {
    /// Prepares an HMAC secret for `alg`; `None` for an empty secret (callers check the
    /// minimum length first).
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Option<Self> {
        if secret.is_empty() {
            return None;
        }
        #[cfg(feature = "aws-lc-rs")]
        {
            use aws_lc_rs::hmac;
            let a = match alg {
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => hmac::HMAC_SHA256,
            };
            Some(Self::Hmac(Box::new(hmac::Key::new(a, secret))))
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            let _ = alg;
            DecodingKey::from_secret(secret).ok().map(Self::Jwt)
        }
    }

    /// Prepares a public key for `alg`. With aws-lc-rs it is parsed once here rather than on
    /// every verification (jsonwebtoken's aws-lc verifiers re-parse RSA and EC keys each
    /// time); a key aws-lc-rs refuses stays with jsonwebtoken, which then fails to verify.
    pub(crate) fn public(alg: Algorithm, key: DecodingKey) -> Self {
        #[cfg(feature = "aws-lc-rs")]
        {
            use aws_lc_rs::signature as sig;
            let verification: &'static dyn sig::VerificationAlgorithm = match alg {
                Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
                Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
                Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
                Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
                Algorithm::EdDSA => &sig::ED25519,
                _ => return Self::Jwt(key),
            };
            let parsed = match key.kind() {
                jsonwebtoken::DecodingKeyKind::SecretOrDer(bytes) => {
                    sig::ParsedPublicKey::new(verification, bytes)
                }
                jsonwebtoken::DecodingKeyKind::RsaModulusExponent { n, e } => {
                    sig::ParsedPublicKey::new(verification, rsa_public_der(n, e))
                }
            };
            match parsed {
                Ok(p) => Self::Parsed(Box::new(p)),
                Err(_) => Self::Jwt(key),
            }
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            let _ = alg;
            Self::Jwt(key)
        }
    }

    /// Whether `signature` is `alg`'s signature of `message` under this key.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self {
            #[cfg(feature = "aws-lc-rs")]
            Self::Hmac(key) => aws_lc_rs::hmac::verify(key, message, signature).is_ok(),
            #[cfg(feature = "aws-lc-rs")]
            Self::Parsed(key) => key.verify_sig(message, signature).is_ok(),
            Self::Jwt(key) => match alg.to_jwt().map(|a| (provider().verifier_factory)(&a, key)) {
                Some(Ok(v)) => v.verify(message, &signature.to_vec()).is_ok(),
                _ => false,
            },
        }
    }
}

/// A PKCS#1 `RSAPublicKey` (RFC 8017 A.1.1) in DER from big-endian `n` and `e`.
#[cfg(feature = "aws-lc-rs")]
fn rsa_public_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn header(out: &mut Vec<u8>, tag: u8, len: usize) {
        out.push(tag);
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(out: &mut Vec<u8>, x: &[u8]) {
        let pad = x.first().is_none_or(|b| b & 0x80 != 0);
        header(out, 0x02, x.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(x);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 16);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut der = Vec::with_capacity(body.len() + 8);
    header(&mut der, 0x30, body.len());
    der.extend(body);
    der
}

/// Signs `message` with `key` for `alg`.
///
/// # Errors
///
/// The backend's error, boxed, when the key does not fit the algorithm.
pub(crate) fn sign(
    alg: Algorithm,
    key: &EncodingKey,
    message: &[u8],
) -> Result<Vec<u8>, auth_core::BoxError> {
    let Some(jwt_alg) = alg.to_jwt() else {
        return sign_es512(key, message);
    };
    let signer = (provider().signer_factory)(&jwt_alg, key)?;
    Ok(signer.try_sign(message)?)
}

/// ES512, which jsonwebtoken lacks, signed with aws-lc-rs directly.
fn sign_es512(key: &EncodingKey, message: &[u8]) -> Result<Vec<u8>, auth_core::BoxError> {
    #[cfg(feature = "aws-lc-rs")]
    {
        use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, key.as_bytes())
            .map_err(|e| e.to_string())?;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = pair.sign(&rng, message).map_err(|e| e.to_string())?;
        Ok(signature.as_ref().to_vec())
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        let _ = (key, message);
        Err("ES512 needs the aws-lc-rs backend".into())
    }
}

/// Whether this build can verify and sign `alg`: ES512 only with aws-lc-rs.
pub(crate) fn supports(alg: Algorithm) -> bool {
    alg != Algorithm::ES512 || cfg!(feature = "aws-lc-rs")
}

/// The public point (x, y) of an EC private key in PKCS#8.
///
/// # Errors
///
/// The backend's message when the key does not parse for `alg`.
pub(crate) fn ec_public(alg: Algorithm, pkcs8: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    if let Some(jwt_alg) = alg.to_jwt() {
        let (_, x, y) = (provider().key_utils.ec_pub_components_from_private_key)(pkcs8, jwt_alg)
            .map_err(|e| e.to_string())?;
        return Ok((x, y));
    }
    #[cfg(feature = "aws-lc-rs")]
    {
        use aws_lc_rs::signature::{ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P521_SHA512_FIXED_SIGNING, pkcs8)
            .map_err(|e| e.to_string())?;
        let point = pair.public_key().as_ref();
        let half = point.len().saturating_sub(1) / 2;
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * half => {
                let (x, y) = xy.split_at(half);
                Ok((x.to_vec(), y.to_vec()))
            }
            _ => Err("not an uncompressed P-521 point".into()),
        }
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        Err("ES512 needs the aws-lc-rs backend".into())
    }
}

/// SHA-256 of `parts` one after the other, on the build's backend: an aws-lc-rs build
/// compiles no RustCrypto hash crates (DPoP's `ath`, its replay ids).
pub(crate) fn sha256_of(parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    #[cfg(feature = "aws-lc-rs")]
    {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        for part in parts {
            ctx.update(part);
        }
        out.copy_from_slice(ctx.finish().as_ref());
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use sha2::Digest as _;
        let mut hash = sha2::Sha256::new();
        for part in parts {
            hash.update(part);
        }
        out.copy_from_slice(&hash.finalize());
    }
    out
}

/// HMAC-SHA-256 under `key` of `parts` one after the other, on the build's backend (DPoP
/// nonces).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    #[cfg(feature = "aws-lc-rs")]
    {
        use aws_lc_rs::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let mut ctx = hmac::Context::with_key(&key);
        for part in parts {
            ctx.update(part);
        }
        out.copy_from_slice(ctx.sign().as_ref());
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(part);
        }
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

/// SHA-256 of `data` (RFC 7638 thumbprints).
pub(crate) fn sha256(data: &[u8]) -> Vec<u8> {
    (provider().key_utils.compute_digest)(data, jsonwebtoken::jwk::ThumbprintHash::SHA256)
        .unwrap_or_default()
}

/// Whether `point` is a valid public key for `alg` (an EC point on the curve, 32 bytes of
/// Ed25519). With rust-crypto the check happens at verification instead.
pub(crate) fn public_key_is_valid(alg: Algorithm, point: &[u8]) -> bool {
    #[cfg(feature = "aws-lc-rs")]
    {
        use aws_lc_rs::signature as sig;
        let a: &'static dyn sig::VerificationAlgorithm = match alg {
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Algorithm::ES512 => &sig::ECDSA_P521_SHA512_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
            _ => return true,
        };
        sig::ParsedPublicKey::new(a, point).is_ok()
    }
    #[cfg(not(feature = "aws-lc-rs"))]
    {
        let _ = (alg, point);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "aws-lc-rs")]
    #[test]
    fn rsa_components_are_parsed_once() {
        // RFC 7517 A.1 / RFC 7638 §3.1 key.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let key = DecodingKey::from_rsa_components(n, "AQAB").unwrap();
        for alg in [Algorithm::RS256, Algorithm::PS512] {
            assert!(matches!(
                Prepared::public(alg, key.clone()),
                Prepared::Parsed(_)
            ));
        }
    }

    /// FIPS 180-2's "abc" and RFC 4231's test case 2, on whichever backend this build has
    /// (CI runs auth-jwt's tests on each), given in parts to check they are joined.
    #[test]
    fn digests_match_their_standards_vectors_on_this_backend() {
        let hex = |b: [u8; 32]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256_of(&[b"ab", b"c"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The twin: another message gives another digest.
        assert_ne!(sha256_of(&[b"abd"]), sha256_of(&[b"abc"]));
    }

    #[test]
    fn empty_secrets_are_not_keys() {
        assert!(Prepared::hmac(Algorithm::HS256, &[]).is_none());
        assert!(Prepared::hmac(Algorithm::HS256, &[1; 32]).is_some());
    }
}
