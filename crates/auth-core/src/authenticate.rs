//! Authentication as a decision: the [`Authenticate`] trait, its combinators, and
//! [`Guard`], which turns a decision into "go on with this principal" or a response.
//!
//! An authenticator looks at a request head and answers one of four things:
//! [`Decision::Allow`] with a [`Principal`], [`Decision::Deny`] with a [`Rejection`],
//! [`Decision::Unrecognized`] when a credential is there but not of its kind, or
//! [`Decision::Abstain`] when the request carries no credential where it looks. `Err` is kept
//! for "could not decide" (503) and misconfiguration (500).

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use http::request::Parts;

use crate::BoxFuture;
use crate::challenge::Challenge;
use crate::credentials::TokenExtractor;
use crate::principal::{Principal, ScopeRequirement};
use crate::rejection::{Denial, Error, Rejection, RejectionKind};

/// What an authenticator concluded about a request.
#[derive(Debug)]
#[must_use = "a request is authenticated only if the decision is acted on"]
#[non_exhaustive]
pub enum Decision {
    /// The credential is valid: this is who sent it.
    Allow(Principal),
    /// A credential of this authenticator's kind is present and refused.
    Deny(Rejection),
    /// A credential is present where this authenticator reads, but not of its kind (an API
    /// key where a JWT is expected). The next authenticator of an [`Either`] may take it; if
    /// none does, [`Guard`] answers 401 `invalid_token`: RFC 6750 §3.1 keeps the bare
    /// challenge for requests that carry no credential at all.
    Unrecognized,
    /// No credential is present where this authenticator reads.
    Abstain,
}

/// Looks at a request head and decides who, if anyone, sent it.
pub trait Authenticate: Send + Sync {
    /// Decides about `request`.
    ///
    /// # Errors
    ///
    /// [`Error`] when no decision can be reached (a key service is down) or the
    /// authenticator is misconfigured. A wrong or missing credential is a [`Decision`],
    /// never an `Err`.
    fn authenticate(&self, request: &Parts)
    -> impl Future<Output = Result<Decision, Error>> + Send;

    /// The challenges to send when no credential was presented (`Bearer realm="api"`).
    fn challenges(&self) -> Vec<Challenge>;
}

/// Combinators on [`Authenticate`].
pub trait AuthenticateExt: Authenticate + Sized {
    /// Tries `self`, and `other` if `self` abstains or does not recognise the credential: the
    /// first authenticator that recognises its kind of credential decides ("API key or JWT").
    fn or<B: Authenticate>(self, other: B) -> Either<Self, B> {
        Either {
            first: self,
            second: other,
        }
    }

    /// Erases the type, for lists and trait objects.
    fn boxed(self) -> BoxAuthenticator
    where
        Self: 'static,
    {
        BoxAuthenticator(Arc::new(self))
    }
}

impl<A: Authenticate> AuthenticateExt for A {}

/// The first of two authenticators that recognises the credential decides. See
/// [`AuthenticateExt::or`].
#[derive(Debug, Clone)]
pub struct Either<A, B> {
    first: A,
    second: B,
}

impl<A: Authenticate, B: Authenticate> Authenticate for Either<A, B> {
    async fn authenticate(&self, request: &Parts) -> Result<Decision, Error> {
        match self.first.authenticate(request).await? {
            Decision::Abstain => self.second.authenticate(request).await,
            // A credential neither recognises stays unrecognised, not absent.
            Decision::Unrecognized => Ok(match self.second.authenticate(request).await? {
                Decision::Abstain => Decision::Unrecognized,
                decided => decided,
            }),
            decided => Ok(decided),
        }
    }

    fn challenges(&self) -> Vec<Challenge> {
        let mut c = self.first.challenges();
        for extra in self.second.challenges() {
            if !c.contains(&extra) {
                c.push(extra);
            }
        }
        c
    }
}

/// [`Authenticate`] in object-safe form, implemented for every authenticator: what
/// [`BoxAuthenticator`] holds. Call [`Authenticate`] instead.
pub trait DynAuthenticate: Send + Sync {
    /// [`Authenticate::authenticate`], boxed.
    fn authenticate_boxed<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Decision, Error>>;
    /// [`Authenticate::challenges`].
    fn challenges_dyn(&self) -> Vec<Challenge>;
}

impl<A: Authenticate> DynAuthenticate for A {
    fn authenticate_boxed<'a>(
        &'a self,
        request: &'a Parts,
    ) -> BoxFuture<'a, Result<Decision, Error>> {
        Box::pin(self.authenticate(request))
    }

    fn challenges_dyn(&self) -> Vec<Challenge> {
        self.challenges()
    }
}

/// A type-erased, cheaply cloneable authenticator.
#[derive(Clone)]
pub struct BoxAuthenticator(Arc<dyn DynAuthenticate>);

impl std::fmt::Debug for BoxAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BoxAuthenticator").finish_non_exhaustive()
    }
}

impl Authenticate for BoxAuthenticator {
    async fn authenticate(&self, request: &Parts) -> Result<Decision, Error> {
        self.0.authenticate_boxed(request).await
    }

    fn challenges(&self) -> Vec<Challenge> {
        self.0.challenges_dyn()
    }
}

impl<A: Authenticate + ?Sized> Authenticate for Arc<A> {
    fn authenticate(
        &self,
        request: &Parts,
    ) -> impl Future<Output = Result<Decision, Error>> + Send {
        (**self).authenticate(request)
    }

    fn challenges(&self) -> Vec<Challenge> {
        (**self).challenges()
    }
}

/// The verdict of a [`VerifyToken`] on one credential.
#[derive(Debug)]
#[must_use = "a token is valid only if its verdict says so"]
#[non_exhaustive]
pub enum TokenVerdict {
    /// Valid: this principal.
    Valid(Principal),
    /// Invalid; the reason is for the server's logs only.
    Invalid(Cow<'static, str>),
}

/// Checks one bearer-style credential string. Implemented by the JWT verifier, the API key
/// verifier and the introspection client; [`TokenAuthenticator`] does the reading from the
/// request and the answering.
///
/// Any `Fn(&str) -> Result<TokenVerdict, Error>` is a `VerifyToken`.
pub trait VerifyToken: Send + Sync {
    /// Whether `token` looks like this verifier's kind of credential (an API key prefix, the
    /// three parts of a JWT). For a token that is not recognised the authenticator answers
    /// [`Decision::Unrecognized`], so that the next one in an [`Either`] may try it.
    fn recognizes(&self, token: &str) -> bool {
        let _ = token;
        true
    }

    /// Verifies `token`.
    ///
    /// # Errors
    ///
    /// [`Error`] when no verdict can be reached.
    fn verify(&self, token: &str) -> impl Future<Output = Result<TokenVerdict, Error>> + Send;
}

impl<F> VerifyToken for F
where
    F: Fn(&str) -> Result<TokenVerdict, Error> + Send + Sync,
{
    fn verify(&self, token: &str) -> impl Future<Output = Result<TokenVerdict, Error>> + Send {
        std::future::ready(self(token))
    }
}

/// [`VerifyToken`] in object-safe form, implemented for every verifier: what
/// [`BoxVerifyToken`] holds. Call [`VerifyToken`] instead.
pub trait DynVerifyToken: Send + Sync {
    /// [`VerifyToken::recognizes`].
    fn recognizes_dyn(&self, token: &str) -> bool;
    /// [`VerifyToken::verify`], boxed.
    fn verify_boxed<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenVerdict, Error>>;
}

impl<V: VerifyToken> DynVerifyToken for V {
    fn recognizes_dyn(&self, token: &str) -> bool {
        self.recognizes(token)
    }

    fn verify_boxed<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<TokenVerdict, Error>> {
        Box::pin(self.verify(token))
    }
}

/// A type-erased, cheaply cloneable token verifier.
#[derive(Clone)]
pub struct BoxVerifyToken(Arc<dyn DynVerifyToken>);

impl BoxVerifyToken {
    /// Erases `verifier`'s type.
    pub fn new(verifier: impl VerifyToken + 'static) -> Self {
        Self(Arc::new(verifier))
    }
}

impl std::fmt::Debug for BoxVerifyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BoxVerifyToken").finish_non_exhaustive()
    }
}

impl VerifyToken for BoxVerifyToken {
    fn recognizes(&self, token: &str) -> bool {
        self.0.recognizes_dyn(token)
    }

    async fn verify(&self, token: &str) -> Result<TokenVerdict, Error> {
        self.0.verify_boxed(token).await
    }
}

/// Reads a token with a [`TokenExtractor`], checks it with a [`VerifyToken`], and answers
/// with RFC 6750's codes: malformed requests `invalid_request` (400), refused tokens
/// `invalid_token` (401), no token a bare challenge (401).
#[derive(Debug, Clone)]
pub struct TokenAuthenticator<V> {
    extractor: TokenExtractor,
    verifier: V,
    challenge: Challenge,
}

impl<V: VerifyToken> TokenAuthenticator<V> {
    /// Reads `Authorization: Bearer` and answers with `Bearer realm="{realm}"` challenges.
    pub fn bearer(realm: &str, verifier: V) -> Self {
        Self {
            extractor: TokenExtractor::bearer(),
            verifier,
            challenge: Challenge::bearer().with_realm(realm),
        }
    }

    /// Reads from `extractor`'s locations instead.
    pub fn with_extractor(mut self, extractor: TokenExtractor) -> Self {
        self.extractor = extractor;
        self
    }

    /// Uses `challenge` as the template for this authenticator's challenges.
    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = challenge;
        self
    }

    /// The extractor, for example to strip the credential before forwarding.
    pub fn extractor(&self) -> &TokenExtractor {
        &self.extractor
    }

    /// The verifier.
    pub fn verifier(&self) -> &V {
        &self.verifier
    }
}

impl<V: VerifyToken> Authenticate for TokenAuthenticator<V> {
    async fn authenticate(&self, request: &Parts) -> Result<Decision, Error> {
        let found = match self.extractor.extract(request) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(Decision::Abstain),
            Err(e) => {
                return Ok(Decision::Deny(Rejection::invalid_request(
                    self.challenge.clone(),
                    &e,
                )));
            }
        };
        if !self.verifier.recognizes(&found.value) {
            return Ok(Decision::Unrecognized);
        }
        Ok(match self.verifier.verify(&found.value).await? {
            TokenVerdict::Valid(principal) => {
                // A sender-constrained token is not a bearer token (RFC 9449 §7.1, RFC 8705 §3).
                match crate::confirmation::bearer_refusal(principal.attribute(), request) {
                    None => Decision::Allow(principal),
                    Some(why) => {
                        Decision::Deny(Rejection::invalid_token(self.challenge.clone(), why))
                    }
                }
            }
            TokenVerdict::Invalid(reason) => {
                Decision::Deny(Rejection::invalid_token(self.challenge.clone(), reason))
            }
        })
    }

    fn challenges(&self) -> Vec<Challenge> {
        vec![self.challenge.clone()]
    }
}

/// Runs an authenticator for a route and enforces what the route needs: a principal (unless
/// anonymous access is allowed) and, optionally, scopes.
///
/// ```
/// # tokio_test_block_on(async {
/// use auth_core::{Authenticate, CredentialKind, Guard, Principal, ScopeRequirement, Scopes};
/// use auth_core::{TokenAuthenticator, TokenVerdict};
///
/// let verify = |token: &str| -> Result<TokenVerdict, auth_core::Error> {
///     Ok(if token == "good" {
///         TokenVerdict::Valid(
///             Principal::new("alice", CredentialKind::Other("demo"))
///                 .with_scopes(Scopes::from_space_separated("read")),
///         )
///     } else {
///         TokenVerdict::Invalid("unknown token".into())
///     })
/// };
/// let guard = Guard::new(TokenAuthenticator::bearer("api", verify))
///     .require_scope(ScopeRequirement::parse("write").unwrap());
///
/// let (parts, ()) = http::Request::get("/").header("authorization", "Bearer good")
///     .body(()).unwrap().into_parts();
/// let denial = guard.decide(&parts).await.unwrap_err();
/// let response = denial.to_response();
/// assert_eq!(response.status(), 403);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     r#"Bearer realm="api", error="insufficient_scope", scope="write""#
/// );
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Guard<A> {
    authenticator: A,
    scope: Option<ScopeRequirement>,
    anonymous: bool,
}

impl<A: Authenticate> Guard<A> {
    /// A guard that requires a principal from `authenticator`.
    pub fn new(authenticator: A) -> Self {
        Self {
            authenticator,
            scope: None,
            anonymous: false,
        }
    }

    /// Also requires scopes: a principal without them is answered 403 `insufficient_scope`.
    pub fn require_scope(mut self, requirement: ScopeRequirement) -> Self {
        self.scope = Some(requirement);
        self
    }

    /// Lets requests without any credential through with no principal. A credential that is
    /// present is still checked, and a wrong one still refused. A scope requirement cannot be
    /// met anonymously: with one set, a request without a credential is still answered 401.
    pub fn allow_anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &A {
        &self.authenticator
    }
}

impl<V: VerifyToken> Guard<TokenAuthenticator<V>> {
    /// A guard for bearer tokens checked by `verifier`, challenging in `realm`: short for
    /// `Guard::new(TokenAuthenticator::bearer(realm, verifier))`.
    pub fn bearer(realm: &str, verifier: V) -> Self {
        Self::new(TokenAuthenticator::bearer(realm, verifier))
    }
}

impl<A: Authenticate> Guard<A> {
    /// Decides about `request`: `Ok(Some(principal))`, `Ok(None)` for an allowed anonymous
    /// request, or the [`Denial`] to answer with.
    ///
    /// # Errors
    ///
    /// [`Denial`], whose [`Denial::to_response`] is the answer to send.
    pub async fn decide(&self, request: &Parts) -> Result<Option<Principal>, Denial> {
        match self.authenticator.authenticate(request).await? {
            Decision::Deny(rejection) => Err(rejection.into()),
            Decision::Abstain if self.anonymous && self.scope.is_none() => Ok(None),
            Decision::Abstain => Err(Rejection::missing(self.authenticator.challenges()).into()),
            // Even with anonymous access: a credential that is present is checked.
            Decision::Unrecognized => Err(Rejection::new(
                RejectionKind::InvalidToken,
                self.authenticator.challenges(),
                "credential of no kind this route accepts",
            )
            .into()),
            Decision::Allow(principal) => {
                if let Some(need) = &self.scope
                    && !need.is_satisfied_by(principal.scopes())
                {
                    return Err(Rejection::insufficient_scope(
                        self.authenticator.challenges(),
                        &need.challenge_scope(),
                    )
                    .into());
                }
                Ok(Some(principal))
            }
        }
    }

    /// As [`Guard::decide`], and on success puts the principal into `request.extensions`.
    ///
    /// # Errors
    ///
    /// As [`Guard::decide`].
    pub async fn authorize(&self, request: &mut Parts) -> Result<(), Denial> {
        if let Some(principal) = self.decide(request).await? {
            request.extensions.insert(principal);
        }
        Ok(())
    }
}
