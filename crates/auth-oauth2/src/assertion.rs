//! `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): the
//! client proves who it is with a short-lived JWT signed by its private key, sent as
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
//! `client_assertion` with every grant, revocation and introspection request.
//!
//! Each request gets a fresh assertion: `iss` = `sub` = the client id, `aud` = the token
//! endpoint (or what [`PrivateKeyJwt::audience`](crate::PrivateKeyJwt::audience) names), a random
//! 128-bit `jti` (servers refuse a replayed one), `iat` and `exp` from the client's clock
//! moved by the server's clock offset learned from `Date` headers, so that a client whose
//! clock runs behind or ahead does not send assertions the server sees as not yet valid or
//! already expired.

use std::time::Duration;

use auth_core::UnixTime;
use auth_jwt::{Family, SigningKey};
use oauth2::CsrfToken;
use serde::Serialize;

use crate::error::Error;

/// The default lifetime of an assertion: long enough for one request, short enough that a
/// leaked one is useless soon after.
pub const DEFAULT_ASSERTION_LIFETIME: Duration = Duration::from_secs(60);

/// The longest lifetime [`PrivateKeyJwt::lifetime`](crate::PrivateKeyJwt::lifetime) accepts.
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// How a client signs its assertions: the key, the audience and the lifetime. (`SigningKey`'s
/// `Debug` shows its algorithm and key id only.)
#[derive(Clone, Debug)]
pub(crate) struct Assertion {
    key: SigningKey,
    audience: String,
    lifetime: Duration,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    iat: u64,
    exp: u64,
}

impl Assertion {
    /// Checks the key and lifetime.
    pub(crate) fn new(
        key: SigningKey,
        audience: String,
        lifetime: Duration,
    ) -> Result<Self, Error> {
        if key.algorithm().family() == Family::Hmac {
            return Err(Error::misconfigured(
                "private_key_jwt needs an asymmetric key (HMAC would be client_secret_jwt)",
            ));
        }
        Self::checked(key, audience, lifetime)
    }

    /// `client_secret_jwt` (RFC 7523 §2.2, OpenID Connect Core §9): HS256 over the client
    /// secret, which must then be at least 32 bytes (RFC 7518 §3.2).
    pub(crate) fn with_secret(
        secret: &auth_core::Secret,
        audience: String,
        lifetime: Duration,
    ) -> Result<Self, Error> {
        let key = SigningKey::hmac(secret, auth_jwt::Algorithm::HS256).map_err(|_| {
            Error::misconfigured(
                "client_secret_jwt needs a client secret of at least 32 bytes (RFC 7518 3.2)",
            )
        })?;
        Self::checked(key, audience, lifetime)
    }

    fn checked(key: SigningKey, audience: String, lifetime: Duration) -> Result<Self, Error> {
        if lifetime.is_zero() || lifetime > MAX_ASSERTION_LIFETIME {
            return Err(Error::misconfigured(
                "client assertion lifetime must be between 1 s and 300 s",
            ));
        }
        if audience.is_empty() {
            return Err(Error::misconfigured("client assertion audience is empty"));
        }
        Ok(Self {
            key,
            audience,
            lifetime,
        })
    }

    /// Signs a fresh assertion for `client_id`, valid from `server_now` (the server's time as
    /// we estimate it) for the lifetime.
    pub(crate) fn sign(&self, client_id: &str, server_now: UnixTime) -> Result<String, Error> {
        let jti = CsrfToken::new_random_len(16);
        let iat = server_now.as_secs();
        let claims = Claims {
            iss: client_id,
            sub: client_id,
            aud: &self.audience,
            jti: jti.secret(),
            iat,
            exp: iat.saturating_add(self.lifetime.as_secs().max(1)),
        };
        self.key
            .sign(&claims)
            .map_err(|e| Error::ClientAssertion(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::ManualClock;
    use auth_jwt::{Algorithm, KeySet, Verifier};

    #[test]
    fn signs_a_fresh_short_lived_assertion() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let verifier = Verifier::builder()
            .algorithms([Algorithm::ES256])
            .issuer("client-1")
            .audience("https://as.example/token")
            .keys(KeySet::new([key.verification_key().unwrap()]))
            .clock(ManualClock::new(UnixTime::from_secs(1_700_000_010)))
            .build()
            .unwrap();
        let a = Assertion::new(
            key,
            "https://as.example/token".into(),
            DEFAULT_ASSERTION_LIFETIME,
        )
        .unwrap();
        let t1 = a
            .sign("client-1", UnixTime::from_secs(1_700_000_000))
            .unwrap();
        let t2 = a
            .sign("client-1", UnixTime::from_secs(1_700_000_000))
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let v = rt
            .block_on(verifier.verify::<serde_json::Value>(&t1))
            .unwrap();
        let c = v.registered();
        assert_eq!(c.subject(), Some("client-1"));
        assert_eq!(c.issued_at(), Some(UnixTime::from_secs(1_700_000_000)));
        assert_eq!(c.expires_at(), Some(UnixTime::from_secs(1_700_000_060)));
        let v2 = rt
            .block_on(verifier.verify::<serde_json::Value>(&t2))
            .unwrap();
        let (j1, j2) = (c.token_id().unwrap(), v2.registered().token_id().unwrap());
        assert_ne!(j1, j2, "jti must be unique");
        assert_eq!(j1.len(), 22, "128 bits, base64url");
    }

    #[test]
    fn refuses_hmac_and_long_lifetimes() {
        let hmac = SigningKey::generate(Algorithm::HS256).unwrap();
        let e = Assertion::new(hmac, "a".into(), DEFAULT_ASSERTION_LIFETIME).unwrap_err();
        assert!(e.to_string().contains("asymmetric"), "{e}");
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let e = Assertion::new(key.clone(), "a".into(), Duration::from_secs(301)).unwrap_err();
        assert!(e.to_string().contains("lifetime"), "{e}");
        assert!(Assertion::new(key.clone(), "a".into(), Duration::ZERO).is_err());
        assert!(Assertion::new(key, String::new(), DEFAULT_ASSERTION_LIFETIME).is_err());
    }
}
