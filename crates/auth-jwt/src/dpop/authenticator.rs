//! [`DpopAuthenticator`]: `Authorization: DPoP <token>` with its proof, as an
//! [`Authenticate`].

use auth_core::{
    Authenticate, Challenge, Confirmation, Decision, Error, Rejection, RejectionKind, TokenVerdict,
    VerifyToken,
};
use http::HeaderValue;
use http::request::Parts;

use super::proof::{DpopError, ProofVerifier};

/// The absolute URL a request was made to, as a front proxy that the server trusts described
/// it (a forward-auth request): put in the request's extensions, it is what a DPoP proof's
/// `htu` must name instead of the authenticator's origin and the request's path. Only the
/// server sets it, from headers it trusts; a client's own request never names its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DpopTarget(pub String);

/// Authenticates requests that carry a DPoP-bound access token: reads `Authorization: DPoP`,
/// verifies the token with `V` (a JWT verifier, or introspection), checks the one `DPoP`
/// header's proof for this method and URL and this token, and requires the token's
/// `cnf.jkt` to be the proof key's thumbprint. Requests without a `DPoP` authorization
/// abstain, so `DpopAuthenticator.or(bearer)` serves both kinds of client (a DPoP-bound token
/// sent as `Bearer` is refused by the bearer side).
///
/// Refusals carry `WWW-Authenticate: DPoP algs="..." error="invalid_dpop_proof"` (or
/// `invalid_token`, or `use_dpop_nonce` with a fresh `DPoP-Nonce`).
#[derive(Debug, Clone)]
pub struct DpopAuthenticator<V> {
    verifier: V,
    proofs: ProofVerifier,
    /// `scheme://authority`, what `htu` must start with.
    origin: String,
    challenge: Challenge,
}

impl<V: VerifyToken> DpopAuthenticator<V> {
    /// Tokens checked by `verifier`, proofs by `proofs`, for requests to `origin`
    /// (`https://api.example.com`: the URL clients use, which a server behind a proxy
    /// cannot learn from the request alone).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Misconfigured`] when `origin` is not an `http(s)` origin.
    pub fn new(verifier: V, proofs: ProofVerifier, origin: &str) -> Result<Self, crate::Error> {
        let normalized = super::normalize_htu(origin)
            .filter(|o| o.ends_with('/') && o.matches('/').count() == 3)
            .ok_or_else(|| {
                crate::Error::Misconfigured(format!("not an http(s) origin: {origin}").into())
            })?;
        let challenge = Challenge::new("DPoP").with_param("algs", &proofs.algs_param());
        Ok(Self {
            verifier,
            proofs,
            origin: normalized.trim_end_matches('/').to_owned(),
            challenge,
        })
    }

    /// Adds `realm` to the challenges.
    #[must_use]
    pub fn with_realm(mut self, realm: &str) -> Self {
        self.challenge = self.challenge.with_realm(realm);
        self
    }

    /// The proof verifier.
    pub fn proofs(&self) -> &ProofVerifier {
        &self.proofs
    }

    fn rejection(
        &self,
        kind: RejectionKind,
        reason: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Rejection {
        let challenge = self.challenge.clone().with_param("error", kind.as_str());
        Rejection::new(kind, [challenge], reason)
    }

    fn refuse(
        &self,
        kind: RejectionKind,
        reason: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Decision {
        Decision::Deny(self.rejection(kind, reason))
    }

    fn refuse_proof(&self, e: &DpopError) -> Result<Decision, Error> {
        match e {
            DpopError::UseNonce { nonce } => {
                let header = HeaderValue::from_str(nonce)
                    .map_err(|_| Error::unavailable("DPoP nonce", "not a header value"))?;
                let r = self.rejection(RejectionKind::UseNonce, e.to_string());
                Ok(Decision::Deny(r.with_header(
                    http::HeaderName::from_static(super::NONCE_HEADER),
                    header,
                )))
            }
            DpopError::Unavailable => Err(Error::unavailable("DPoP replay cache", e.to_string())),
            other => Ok(self.refuse(RejectionKind::InvalidProof, other.to_string())),
        }
    }
}

/// The token of `Authorization: DPoP <token>`: `Ok(None)` when there is no such header.
fn dpop_token(parts: &Parts) -> Result<Option<&str>, &'static str> {
    let mut values = parts.headers.get_all(http::header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let Ok(value) = value.to_str() else {
        return Ok(None);
    };
    let Some((scheme, token)) = value.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("DPoP") {
        return Ok(None);
    }
    if values.next().is_some() {
        return Err("more than one Authorization header");
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err("Authorization: DPoP without one token");
    }
    Ok(Some(token))
}

impl<V: VerifyToken> Authenticate for DpopAuthenticator<V> {
    async fn authenticate(&self, request: &Parts) -> Result<Decision, Error> {
        let token = match dpop_token(request) {
            Ok(Some(token)) => token,
            Ok(None) => return Ok(Decision::Abstain),
            Err(why) => {
                let challenge = self
                    .challenge
                    .clone()
                    .with_param("error", "invalid_request");
                return Ok(Decision::Deny(Rejection::new(
                    RejectionKind::InvalidRequest,
                    [challenge],
                    why,
                )));
            }
        };
        let mut proofs = request.headers.get_all(super::DPOP_HEADER).iter();
        let proof = match (proofs.next().map(HeaderValue::to_str), proofs.next()) {
            (Some(Ok(proof)), None) => proof,
            (None, _) => return Ok(self.refuse(RejectionKind::InvalidProof, "no DPoP proof")),
            (Some(_), Some(_)) => {
                return Ok(self.refuse(RejectionKind::InvalidProof, "more than one DPoP proof"));
            }
            (Some(Err(_)), None) => {
                return Ok(self.refuse(RejectionKind::InvalidProof, "DPoP proof is not text"));
            }
        };
        if !self.verifier.recognizes(token) {
            return Ok(self.refuse(
                RejectionKind::InvalidToken,
                "not a token this server issues",
            ));
        }
        let principal = match self.verifier.verify(token).await? {
            TokenVerdict::Valid(principal) => principal,
            TokenVerdict::Invalid(reason) => {
                return Ok(self.refuse(RejectionKind::InvalidToken, reason));
            }
            _ => return Ok(self.refuse(RejectionKind::InvalidToken, "token refused")),
        };
        let Some(cnf) = principal.attribute::<Confirmation>() else {
            return Ok(self.refuse(
                RejectionKind::InvalidToken,
                "token not bound to a DPoP key (no cnf)",
            ));
        };
        let Some(jkt) = cnf.jkt() else {
            return Ok(self.refuse(
                RejectionKind::InvalidToken,
                "token not bound to a DPoP key (no cnf.jkt)",
            ));
        };
        // Bound to a client certificate as well (RFC 8705): that one too.
        if let Some(why) = cnf.certificate_refusal(request) {
            return Ok(self.refuse(RejectionKind::InvalidToken, why));
        }
        let url = match request.extensions.get::<DpopTarget>() {
            Some(DpopTarget(url)) => url.clone(),
            None => format!("{}{}", self.origin, request.uri.path()),
        };
        let verified = match self
            .proofs
            .verify(proof, &request.method, &url, Some(token))
            .await
        {
            Ok(verified) => verified,
            Err(e) => return self.refuse_proof(&e),
        };
        if verified.jkt != jkt {
            return self.refuse_proof(&DpopError::WrongKey);
        }
        Ok(Decision::Allow(principal))
    }

    fn challenges(&self) -> Vec<Challenge> {
        vec![self.challenge.clone()]
    }
}
