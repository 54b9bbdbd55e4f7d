//! [`ClaimsVerifier`]: a [`Verifier`] whose tokens carry the application's own claims type
//! to the handler, as an attribute of the [`Principal`] it makes.

use std::fmt;
use std::marker::PhantomData;

use auth_core::{Principal, TokenVerdict, VerifyToken};
use serde::de::DeserializeOwned;

use super::{Verified, Verifier};
use crate::error::Error;

/// A [`Verifier`] that also deserializes each token's payload into `C` and attaches it to
/// the principal (`principal.attribute::<C>()`; auth-tower's `Claims<C>` extractor hands it
/// to the handler). A payload that does not fit `C` is an invalid token (401), like any
/// other claim that fails. Made by [`Verifier::with_claims`].
pub struct ClaimsVerifier<C> {
    verifier: Verifier,
    claims: PhantomData<fn() -> C>,
}

impl<C> Clone for ClaimsVerifier<C> {
    fn clone(&self) -> Self {
        Self {
            verifier: self.verifier.clone(),
            claims: PhantomData,
        }
    }
}

impl<C> fmt::Debug for ClaimsVerifier<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsVerifier")
            .field("claims", &std::any::type_name::<C>())
            .field("verifier", &self.verifier)
            .finish()
    }
}

impl Verifier {
    /// This verifier, with `C` as the claims type its principals carry.
    ///
    /// ```
    /// # use auth_jwt::{Algorithm, Key, KeySet, SigningKey, Verifier};
    /// #[derive(Clone, serde::Deserialize)]
    /// struct Claims { tenant: String }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// # let secret = auth_core::Secret::new(vec![9u8; 32]);
    /// let verifier = Verifier::builder()
    ///     .issuer("https://issuer.example").audience("api").algorithms([Algorithm::HS256])
    ///     .keys(KeySet::new([Key::hmac(&secret, Algorithm::HS256).unwrap()]))
    ///     .build().unwrap()
    ///     .with_claims::<Claims>();
    /// # let token = SigningKey::hmac(&secret, Algorithm::HS256).unwrap().sign(&serde_json::json!({
    /// #     "iss": "https://issuer.example", "aud": "api", "sub": "u", "exp": 4_000_000_000u64,
    /// #     "tenant": "acme"})).unwrap();
    /// let principal = verifier.verify_principal(&token).await.unwrap();
    /// assert_eq!(principal.attribute::<Claims>().unwrap().tenant, "acme");
    /// # });
    /// ```
    pub fn with_claims<C>(self) -> ClaimsVerifier<C>
    where
        C: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        ClaimsVerifier {
            verifier: self,
            claims: PhantomData,
        }
    }
}

impl<C> ClaimsVerifier<C>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// Verifies `token`: the principal (`sub` required), with the claims as `C` among its
    /// attributes, beside the registered claims.
    ///
    /// # Errors
    ///
    /// As [`Verifier::verify`]; [`Error::MissingClaim`] without `sub`.
    pub async fn verify_principal(&self, token: &str) -> Result<Principal, Error> {
        let verified: Verified<C> = self.verifier.verify(token).await?;
        let principal = verified.principal()?;
        Ok(principal.with_attribute(verified.claims))
    }

    /// The verifier underneath.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }
}

impl<C> VerifyToken for ClaimsVerifier<C>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn recognizes(&self, token: &str) -> bool {
        self.verifier.recognizes(token)
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        match self.verify_principal(token).await {
            Ok(principal) => Ok(TokenVerdict::Valid(principal)),
            Err(e) => e.into_verdict(),
        }
    }
}
