//! JWT access tokens (RFC 9068) on a resource server: discovery gives the issuer and its
//! `jwks_uri`; auth-jwt's [`RemoteJwks`] caches the keys; a strict [`Verifier`] checks
//! signature, `iss`, `aud`, `exp` and `typ: at+jwt`.
//!
//! [`Metadata::access_token_verifier`] does the composition; the caller names what only it
//! knows, the algorithms and its own audience:
//!
//! ```no_run
//! # async fn demo(http: auth_core::BoxHttpClient) -> Result<(), Box<dyn std::error::Error>> {
//! use auth_core::{SystemClock, TokenAuthenticator, Transport};
//! use auth_jwt::Algorithm;
//! use auth_oauth2::{Metadata, WellKnown};
//!
//! let metadata = Metadata::discover(&http, "https://as.example", WellKnown::OpenId, Transport::default()).await?;
//! let verifier = metadata
//!     .access_token_verifier(http, SystemClock, Transport::default())?
//!     .algorithms([Algorithm::RS256, Algorithm::ES256])
//!     .audience("https://api.example")
//!     .build()?;
//! let authenticator = TokenAuthenticator::bearer("api", verifier);
//! # let _ = authenticator; Ok(()) }
//! ```

use auth_core::{Clock, HttpClient, Transport};
use auth_jwt::{KeySource, RemoteConfig, RemoteJwks, Verifier, VerifierBuilder};

use crate::error::Error;
use crate::metadata::Metadata;

/// The `typ` header of RFC 9068 access tokens (§2.1), required by the verifier.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

impl Metadata {
    /// A verifier builder for this issuer's JWT access tokens: the issuer set to the
    /// discovered (and checked) one, keys from `jwks_uri` through a [`RemoteJwks`] with
    /// default tuning, `typ: at+jwt` required (RFC 9068 §4), time from `clock`. Add the
    /// algorithms and your audience, then `build()`.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when the metadata has no `jwks_uri` or it fails `transport`.
    pub fn access_token_verifier(
        &self,
        http: impl HttpClient + 'static,
        clock: impl Clock + Clone + 'static,
        transport: Transport,
    ) -> Result<VerifierBuilder, Error> {
        let uri = self
            .jwks_uri()
            .ok_or_else(|| Error::misconfigured("metadata has no jwks_uri"))?;
        let jwks =
            RemoteJwks::with_options(uri, http, clock.clone(), RemoteConfig::default(), transport)
                .map_err(|e| Error::misconfigured(format!("jwks_uri: {e}")))?;
        Ok(Verifier::builder()
            .issuer(self.issuer())
            .key_source(KeySource::remote(jwks))
            .require_type(ACCESS_TOKEN_TYPE)
            .clock(clock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_core::{HttpError, HttpRequest, HttpResponse, SystemClock};

    #[test]
    fn needs_a_jwks_uri_that_passes_the_transport() {
        let http = |_r: HttpRequest| async { Ok::<_, HttpError>(HttpResponse::new(Vec::new())) };
        let t = Transport::default();
        let none = Metadata::from_json("https://as.example", br#"{"issuer":"https://as.example"}"#)
            .unwrap();
        let e = none
            .access_token_verifier(http, SystemClock, t)
            .unwrap_err();
        assert!(e.to_string().contains("jwks_uri"), "{e}");
        let plain = Metadata::from_json(
            "https://as.example",
            br#"{"issuer":"https://as.example","jwks_uri":"http://as.example/jwks"}"#,
        )
        .unwrap();
        assert!(plain.access_token_verifier(http, SystemClock, t).is_err());
        let ok = Metadata::from_json(
            "https://as.example",
            br#"{"issuer":"https://as.example","jwks_uri":"https://as.example/jwks"}"#,
        )
        .unwrap();
        // Without algorithms and audience the builder still refuses to build.
        let b = ok.access_token_verifier(http, SystemClock, t).unwrap();
        assert!(b.build().is_err());
    }
}
