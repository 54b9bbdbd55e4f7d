//! [`Gate`]: one check a request head must pass, and the gates auth-rs provides.

use std::future::Future;

use auth_core::{Authenticate, Challenge, Denial, Guard, Principal, Rejection, ScopeRequirement};
use http::HeaderMap;
use http::request::Parts;

/// Decides whether a request may pass. On success it may add to the request's extensions
/// (the [`Principal`]) and return headers for the eventual response (the `RateLimit` fields);
/// on refusal it returns the [`Denial`] to answer with.
pub trait Gate: Send + Sync {
    /// Checks `request`.
    ///
    /// # Errors
    ///
    /// The [`Denial`] to answer with.
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send;
}

/// Authentication: runs the guard's authenticator, enforces its scope requirement, and puts
/// the principal into the request's extensions.
impl<A: Authenticate> Gate for Guard<A> {
    async fn check(&self, request: &mut Parts) -> Result<HeaderMap, Denial> {
        self.authorize(request).await?;
        Ok(HeaderMap::new())
    }
}

/// A per-route scope requirement, checked against the [`Principal`] an earlier gate put into
/// the extensions: none is 401, one without the scopes is 403 `insufficient_scope`.
#[derive(Debug, Clone)]
pub struct RequireScope {
    requirement: ScopeRequirement,
    challenges: Vec<Challenge>,
}

impl RequireScope {
    /// Requires `requirement`; `challenges` are the realm's challenge templates (for example
    /// `Challenge::bearer().with_realm("api")`), sent with the 401 or 403.
    pub fn new(
        requirement: ScopeRequirement,
        challenges: impl IntoIterator<Item = Challenge>,
    ) -> Self {
        Self {
            requirement,
            challenges: challenges.into_iter().collect(),
        }
    }
}

impl Gate for RequireScope {
    fn check(&self, request: &mut Parts) -> impl Future<Output = Result<HeaderMap, Denial>> + Send {
        let decided = match request.extensions.get::<Principal>() {
            None => Err(Rejection::missing(self.challenges.clone()).into()),
            Some(p) if !self.requirement.is_satisfied_by(p.scopes()) => {
                Err(Rejection::insufficient_scope(
                    self.challenges.clone(),
                    &self.requirement.challenge_scope(),
                )
                .into())
            }
            Some(_) => Ok(HeaderMap::new()),
        };
        std::future::ready(decided)
    }
}
