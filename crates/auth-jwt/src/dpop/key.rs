//! [`DpopKey`]: the client's key pair and the proofs it signs.

use std::sync::Arc;

use auth_core::{Clock, SystemClock};
use serde_json::{Map, Value, json};

use crate::{Algorithm, Error, SigningKey};

/// A DPoP key pair (ES256 by default; EdDSA, RS256 and PS256 too) and the proofs it makes.
/// Keep one per client: tokens bound to it stay usable only with it, across refreshes too.
#[derive(Clone)]
pub struct DpopKey {
    key: SigningKey,
    /// The public JWK as the header carries it (key members and `alg`, no `kid` or `use`).
    jwk: Value,
    thumbprint: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.algorithm())
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh key pair for `alg` from the operating system's random source.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for an HMAC algorithm (a DPoP key must be asymmetric);
    /// [`Error::Signing`] when the backend cannot generate the key.
    #[cfg(feature = "aws-lc-rs")]
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        if alg.family() == crate::Family::Hmac {
            return Err(Error::invalid_key(
                "a DPoP key must be asymmetric, not HMAC",
            ));
        }
        Self::from_signing_key(SigningKey::generate(alg)?)
    }

    /// Uses `key` (from [`SigningKey::from_pem`], say) as the DPoP key.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] for an HMAC key.
    pub fn from_signing_key(key: SigningKey) -> Result<Self, Error> {
        let Some(Value::Object(mut jwk)) = key.public_jwk() else {
            return Err(Error::invalid_key(
                "a DPoP key must be asymmetric, not HMAC",
            ));
        };
        jwk.remove("kid");
        jwk.remove("use");
        let thumbprint = crate::thumbprint(&Value::Object(jwk.clone()).to_string())?;
        Ok(Self {
            key,
            jwk: Value::Object(jwk),
            thumbprint,
            clock: Arc::new(SystemClock),
        })
    }

    /// Reads `iat` from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key: the `jkt` tokens are bound to.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK that proofs carry.
    pub fn public_jwk(&self) -> &Value {
        &self.jwk
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// A proof for one request: `method` and `url` (its query and fragment are left out of
    /// `htu`), `access_token` for `ath` on a resource request (none on a token request), and
    /// the server's `nonce` once it asked for one.
    ///
    /// # Errors
    ///
    /// [`Error::Signing`] when the random source or the backend fails.
    pub fn proof(
        &self,
        method: &http::Method,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String, Error> {
        let header = json!({
            "typ": super::PROOF_TYPE,
            "alg": self.key.algorithm().as_str(),
            "jwk": self.jwk,
        });
        let mut claims = Map::new();
        claims.insert("jti".into(), super::random_id()?.into());
        claims.insert("htm".into(), method.as_str().into());
        let htu = url.split(['?', '#']).next().unwrap_or(url);
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), self.clock.now().as_secs().into());
        if let Some(token) = access_token {
            claims.insert("ath".into(), super::access_token_hash(token).into());
        }
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), nonce.into());
        }
        self.key.sign_parts(
            header.to_string().as_bytes(),
            Value::Object(claims).to_string().as_bytes(),
        )
    }
}
