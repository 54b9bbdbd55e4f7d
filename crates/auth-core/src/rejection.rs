//! Outcomes that end a request early, and the one place that turns them into responses.
//!
//! Three things are kept apart, because they need different answers:
//!
//! | value | meaning | status |
//! |---|---|---|
//! | [`Rejection`] | a decision: the credential is missing, malformed, wrong, lacks a scope, or is over its rate limit | 400, 401, 403, 429 |
//! | [`Error::Unavailable`] | no decision could be reached: a key or token service is down | 503 |
//! | [`Error::Misconfigured`] | the server itself is set up wrong | 500 |
//!
//! The client sees a terse, fixed text and a correct `WWW-Authenticate`; the reason, which can
//! be detailed ("token expired 7m ago"), stays on the server side in [`Rejection::reason`] and
//! the error's `Display`.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{Response, StatusCode};

use crate::challenge::{BearerErrorCode, Challenge};
use crate::credentials::CredentialError;

/// A boxed error, for sources whose type the caller should not depend on.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No credential was presented (401, challenge without `error`).
    Missing,
    /// The request is malformed: a repeated or ambiguous credential, bad syntax (400,
    /// `invalid_request`).
    InvalidRequest,
    /// The credential is expired, revoked, unknown or fails verification (401,
    /// `invalid_token`).
    InvalidToken,
    /// The principal lacks a needed scope (403, `insufficient_scope`).
    InsufficientScope,
    /// Over the rate limit (429, with `Retry-After`).
    RateLimited,
    /// The DPoP proof (RFC 9449) is missing, malformed, replayed or not for this request or
    /// this token (401, `DPoP error="invalid_dpop_proof"`).
    InvalidProof,
    /// The DPoP proof lacks the server's current nonce (401, `DPoP error="use_dpop_nonce"`,
    /// with the nonce in `DPoP-Nonce`).
    UseNonce,
}

impl RejectionKind {
    /// The HTTP status for this kind.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::Missing | Self::InvalidToken | Self::InvalidProof | Self::UseNonce => {
                StatusCode::UNAUTHORIZED
            }
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    /// The RFC 6750 error code, where there is one.
    pub const fn error_code(self) -> Option<BearerErrorCode> {
        match self {
            Self::InvalidRequest => Some(BearerErrorCode::InvalidRequest),
            Self::InvalidToken => Some(BearerErrorCode::InvalidToken),
            Self::InsufficientScope => Some(BearerErrorCode::InsufficientScope),
            Self::Missing | Self::RateLimited | Self::InvalidProof | Self::UseNonce => None,
        }
    }

    /// The short machine-readable word used in response bodies.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "unauthorized",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::RateLimited => "rate_limited",
            Self::InvalidProof => "invalid_dpop_proof",
            Self::UseNonce => "use_dpop_nonce",
        }
    }
}

/// A decision to refuse the request, with everything needed to answer it correctly.
#[derive(Clone)]
pub struct Rejection {
    kind: RejectionKind,
    challenges: Vec<Challenge>,
    headers: HeaderMap,
    reason: Cow<'static, str>,
}

impl Rejection {
    /// A rejection of `kind`. Each challenge gets the kind's RFC 6750 `error` code (none for
    /// [`RejectionKind::Missing`], as RFC 6750 §3.1 requires when no credential was sent).
    /// `reason` is for the server's logs, never sent to the client.
    pub fn new(
        kind: RejectionKind,
        challenges: impl IntoIterator<Item = Challenge>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        let challenges = challenges
            .into_iter()
            .map(|c| match kind.error_code() {
                Some(code) => c.with_error(code),
                None => c,
            })
            .collect();
        Self {
            kind,
            challenges,
            headers: HeaderMap::new(),
            reason: reason.into(),
        }
    }

    /// No credential was presented.
    pub fn missing(challenges: impl IntoIterator<Item = Challenge>) -> Self {
        Self::new(
            RejectionKind::Missing,
            challenges,
            "no credential presented",
        )
    }

    /// The credential is invalid; `reason` says why, for the server.
    pub fn invalid_token(challenge: Challenge, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(RejectionKind::InvalidToken, [challenge], reason)
    }

    /// The request carrying the credential is malformed.
    pub fn invalid_request(challenge: Challenge, error: &CredentialError) -> Self {
        Self::new(
            RejectionKind::InvalidRequest,
            [challenge],
            error.to_string(),
        )
    }

    /// The principal lacks `scope` (space-separated), named in each challenge's `scope`
    /// auth-param.
    pub fn insufficient_scope(
        challenges: impl IntoIterator<Item = Challenge>,
        scope: &str,
    ) -> Self {
        let mut r = Self::new(
            RejectionKind::InsufficientScope,
            challenges,
            format!("missing scope: {scope}"),
        );
        r.challenges = std::mem::take(&mut r.challenges)
            .into_iter()
            .map(|c| c.with_scope(scope))
            .collect();
        r
    }

    /// Over the rate limit; the client may retry after `retry_after` (sent as whole seconds,
    /// rounded up).
    pub fn rate_limited(retry_after: Duration) -> Self {
        let mut r = Self::new(RejectionKind::RateLimited, [], "rate limit exceeded");
        r.headers.insert(RETRY_AFTER, delay_seconds(retry_after));
        r
    }

    /// Adds a response header (for example the `RateLimit` fields).
    pub fn with_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Adds `error_description` to every challenge. Keep it terse, fixed, and free of
    /// anything secret or attacker-supplied.
    pub fn with_description(mut self, description: &str) -> Self {
        self.challenges = std::mem::take(&mut self.challenges)
            .into_iter()
            .map(|c| c.with_error_description(description))
            .collect();
        self
    }

    /// Sets auth-param `name` to `value` on every challenge (for example RFC 9728's
    /// `resource_metadata`).
    pub fn with_challenge_param(mut self, name: &str, value: &str) -> Self {
        for c in &mut self.challenges {
            c.set_param(name, value);
        }
        self
    }

    /// What kind of rejection this is.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The challenges sent in `WWW-Authenticate`.
    pub fn challenges(&self) -> &[Challenge] {
        &self.challenges
    }

    /// Extra response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Why, for the server's logs. Never sent to the client.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The response to send: status, one `WWW-Authenticate` field per challenge, extra
    /// headers, `Cache-Control: no-store`, and a small JSON body with the error word only.
    pub fn to_response(&self) -> Response<String> {
        let mut response = json_response(self.status(), self.kind.as_str());
        let headers = response.headers_mut();
        for c in &self.challenges {
            headers.append(WWW_AUTHENTICATE, c.to_header_value());
        }
        for (name, value) in &self.headers {
            headers.append(name, value.clone());
        }
        response
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("kind", &self.kind)
            .field("reason", &self.reason)
            .field("challenges", &self.challenges)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.reason)
    }
}

/// No decision could be reached. Never a reason to answer 401.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A service needed for the decision (JWKS, introspection, key store, rate-limit store)
    /// is unreachable or failing: 503.
    #[error("{what} unavailable")]
    Unavailable {
        /// What was unavailable, for logs: "JWKS https://idp/jwks".
        what: Cow<'static, str>,
        /// When the client may retry, if known.
        retry_after: Option<Duration>,
        /// The underlying failure.
        #[source]
        source: Option<BoxError>,
    },
    /// The server is configured wrong: 500.
    #[error("misconfigured: {0}")]
    Misconfigured(Cow<'static, str>),
}

impl Error {
    /// A service needed for the decision is unavailable.
    pub fn unavailable(what: impl Into<Cow<'static, str>>, source: impl Into<BoxError>) -> Self {
        Self::Unavailable {
            what: what.into(),
            retry_after: None,
            source: Some(source.into()),
        }
    }

    /// The HTTP status: 503 or 500.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Misconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response to send: no detail, `Retry-After` when known.
    pub fn to_response(&self) -> Response<String> {
        match self {
            Self::Unavailable { retry_after, .. } => {
                let mut r = json_response(self.status(), "temporarily_unavailable");
                if let Some(d) = retry_after {
                    r.headers_mut().insert(RETRY_AFTER, delay_seconds(*d));
                }
                r
            }
            Self::Misconfigured(_) => json_response(self.status(), "server_error"),
        }
    }
}

/// Why a request did not get through: a [`Rejection`] or an [`Error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Denial {
    /// The credential was refused.
    #[error(transparent)]
    Rejected(Rejection),
    /// No decision could be reached.
    #[error(transparent)]
    Failed(#[from] Error),
}

impl std::error::Error for Rejection {}

impl From<Rejection> for Denial {
    fn from(r: Rejection) -> Self {
        Self::Rejected(r)
    }
}

impl Denial {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Rejected(r) => r.status(),
            Self::Failed(e) => e.status(),
        }
    }

    /// The response to send.
    pub fn to_response(&self) -> Response<String> {
        match self {
            Self::Rejected(r) => r.to_response(),
            Self::Failed(e) => e.to_response(),
        }
    }

    /// [`Rejection::with_challenge_param`] on a rejection; an error is left as it is (its
    /// responses carry no challenge).
    #[must_use]
    pub fn with_challenge_param(self, name: &str, value: &str) -> Self {
        match self {
            Self::Rejected(r) => Self::Rejected(r.with_challenge_param(name, value)),
            other => other,
        }
    }
}

/// `Retry-After` delay-seconds: whole seconds, rounded up, at least 1 for any wait.
pub fn delay_seconds(d: Duration) -> HeaderValue {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    HeaderValue::from(secs)
}

fn json_response(status: StatusCode, error: &'static str) -> Response<String> {
    let mut r = Response::new(format!("{{\"error\":\"{error}\"}}"));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let c = Challenge::bearer().with_realm("api");
        assert_eq!(Rejection::missing([c.clone()]).status(), 401);
        assert_eq!(Rejection::invalid_token(c.clone(), "x").status(), 401);
        assert_eq!(
            Rejection::invalid_request(c.clone(), &CredentialError::Ambiguous).status(),
            400
        );
        assert_eq!(Rejection::insufficient_scope([c], "a").status(), 403);
        assert_eq!(
            Rejection::rate_limited(Duration::from_millis(1)).status(),
            429
        );
        assert_eq!(Error::unavailable("jwks", "down").status(), 503);
        assert_eq!(Error::Misconfigured("x".into()).status(), 500);
    }

    #[test]
    fn missing_has_no_error_param() {
        let r = Rejection::missing([Challenge::bearer().with_realm("api")]).to_response();
        assert_eq!(r.headers()[WWW_AUTHENTICATE], r#"Bearer realm="api""#);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(delay_seconds(Duration::from_millis(1)), "1");
        assert_eq!(delay_seconds(Duration::from_secs(2)), "2");
        assert_eq!(delay_seconds(Duration::from_millis(2001)), "3");
        assert_eq!(delay_seconds(Duration::ZERO), "0");
    }

    #[test]
    fn reason_is_not_sent() {
        let r = Rejection::invalid_token(Challenge::bearer(), "token expired 7m12s ago");
        let resp = r.to_response();
        assert!(!resp.body().contains("7m12s"));
        assert!(!format!("{:?}", resp.headers()).contains("7m12s"));
        assert!(r.to_string().contains("7m12s"));
    }
}
