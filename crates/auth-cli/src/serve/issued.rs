//! The server's own access tokens, accepted only while the API key they were issued to is
//! active: revoking or expiring a key (`auth apikey revoke`, `rotate`) ends the tokens minted
//! from it, at once on SQLite and on the instance whose cache the change reached, and within
//! the store's `max_stale` on every instance of a PostgreSQL fleet. The key is found by the
//! token's `client_id` (its key id); the lookup is the one a request with the key itself
//! makes. A token carries its key's own rate limit onto its principal, so that it spends the
//! key's budget rather than escape it.

use std::borrow::Cow;
use std::sync::Arc;

use auth_apikey::{ApiKeys, BoxKeyStore, KeyId, KeyRecord, KeyStore as _};
use auth_core::{Confirmation, CredentialKind, Principal, Scopes, TokenVerdict, VerifyToken};
use auth_jwt::Verifier;
use auth_jwt::dpop::{DpopAuthenticator, ProofVerifier};
use serde_json::Value;

/// Verifies the gateway's tokens: signature and claims, then the issuing key's state.
#[derive(Debug, Clone)]
pub(crate) struct IssuedTokens {
    pub(crate) verifier: Verifier,
    pub(crate) keys: ApiKeys<BoxKeyStore>,
}

/// Why a token that verified is refused anyway.
const KEY_INACTIVE: &str = "the API key this token was issued to is revoked or expired";

impl IssuedTokens {
    /// The verdict on `token`: its claims and its key's record if valid and the key active;
    /// why not otherwise.
    pub(crate) async fn check(
        &self,
        token: &str,
    ) -> Result<Result<(Value, Arc<KeyRecord>), Cow<'static, str>>, auth_core::Error> {
        let claims = match self.verifier.verify::<Value>(token).await {
            Ok(verified) => verified.claims,
            // A verdict on the token (401), or no verdict at all (503, 500).
            Err(e) => {
                return match e.into_verdict()? {
                    TokenVerdict::Invalid(why) => Ok(Err(why)),
                    _ => Ok(Err("refused".into())),
                };
            }
        };
        let id = claims["client_id"]
            .as_str()
            .and_then(|c| c.parse::<KeyId>().ok());
        let Some(id) = id else {
            return Ok(Err("client_id is not a key id".into()));
        };
        let record = self
            .keys
            .store()
            .get(&id)
            .await
            .map_err(auth_core::Error::from)?;
        let now = self.keys.clock().now();
        Ok(match record {
            Some(r) if r.revoked.is_none() && r.expires.is_none_or(|at| now < at) => {
                Ok((claims, r))
            }
            _ => Err(KEY_INACTIVE.into()),
        })
    }
}

impl IssuedTokens {
    /// These tokens sent as `Authorization: DPoP` with proofs checked by `proofs` for
    /// requests to `issuer` (the server's own URL), challenges naming `realm`.
    pub(crate) fn dpop(
        &self,
        proofs: ProofVerifier,
        issuer: &str,
        realm: &str,
    ) -> Result<DpopAuthenticator<Self>, crate::output::Error> {
        DpopAuthenticator::new(self.clone(), proofs, issuer)
            .map(|d| d.with_realm(realm))
            .map_err(|e| crate::output::Error::config(format!("issuer: {e}")))
    }
}

impl VerifyToken for IssuedTokens {
    fn recognizes(&self, token: &str) -> bool {
        self.verifier.recognizes(token)
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, auth_core::Error> {
        Ok(match self.check(token).await? {
            Ok((claims, key)) => match claims["sub"].as_str() {
                Some(sub) => {
                    let scopes =
                        Scopes::from_space_separated(claims["scope"].as_str().unwrap_or(""));
                    let mut principal =
                        Principal::new(sub, CredentialKind::Jwt).with_scopes(scopes);
                    if let Some(own) = key.own_quota() {
                        principal = principal.with_attribute(own);
                    }
                    // A DPoP-bound token (RFC 9449): usable with a proof by that key only.
                    if let Some(cnf) = confirmation(&claims["cnf"]) {
                        principal = principal.with_attribute(cnf);
                    }
                    TokenVerdict::Valid(principal)
                }
                None => TokenVerdict::Invalid("no sub".into()),
            },
            Err(why) => TokenVerdict::Invalid(why),
        })
    }
}

/// A token's `cnf`: the DPoP key (RFC 9449) and the client certificate (RFC 8705) it is bound
/// to, if any.
fn confirmation(cnf: &Value) -> Option<Confirmation> {
    let mut bound = Confirmation::new();
    if let Some(jkt) = cnf["jkt"].as_str() {
        bound = bound.with_jkt(jkt);
    }
    if let Some(x5t) = cnf["x5t#S256"].as_str() {
        bound = bound.with_x5t_s256(x5t);
    }
    bound.is_bound().then_some(bound)
}
