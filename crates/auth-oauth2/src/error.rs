//! [`Error`]: everything that can go wrong talking to an authorization server, with the
//! server's own RFC 6749 §5.2 refusals ([`ServerError`]) kept apart from transport failures
//! and malformed responses.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use auth_core::HttpError;

/// An OAuth 2.0 error code (RFC 6749 §5.2, RFC 8628 §3.5, RFC 7009 §2.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated, or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the code, refresh token or credentials are invalid, expired or revoked.
    InvalidGrant,
    /// `unauthorized_client`: this client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the server does not support this grant type.
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// `authorization_pending` (RFC 8628): the user has not finished yet; poll again.
    AuthorizationPending,
    /// `slow_down` (RFC 8628): poll again, five seconds slower.
    SlowDown,
    /// `access_denied`: the user or server refused.
    AccessDenied,
    /// `expired_token` (RFC 8628): the device code expired.
    ExpiredToken,
    /// `unsupported_token_type` (RFC 7009): the server cannot revoke this kind of token.
    UnsupportedTokenType,
    /// Any other code, as sent.
    Other(String),
}

impl ErrorCode {
    /// Parses a code as sent by a server.
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "authorization_pending" => Self::AuthorizationPending,
            "slow_down" => Self::SlowDown,
            "access_denied" => Self::AccessDenied,
            "expired_token" => Self::ExpiredToken,
            "unsupported_token_type" => Self::UnsupportedTokenType,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AuthorizationPending => "authorization_pending",
            Self::SlowDown => "slow_down",
            Self::AccessDenied => "access_denied",
            Self::ExpiredToken => "expired_token",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal from the authorization server: an RFC 6749 §5.2 error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    code: ErrorCode,
    description: Option<String>,
    uri: Option<String>,
    status: u16,
}

impl ServerError {
    /// A server error with `code`, as answered with HTTP `status`.
    pub fn new(code: ErrorCode, status: u16) -> Self {
        Self {
            code,
            description: None,
            uri: None,
            status,
        }
    }

    /// Adds the server's `error_description` and `error_uri`.
    pub fn with_details(mut self, description: Option<String>, uri: Option<String>) -> Self {
        self.description = description;
        self.uri = uri;
        self
    }

    /// The error code.
    pub fn code(&self) -> &ErrorCode {
        &self.code
    }

    /// The server's `error_description`, if any (server-controlled text: log it, do not show
    /// it to end users as is).
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The server's `error_uri`, if any.
    pub fn uri(&self) -> Option<&str> {
        self.uri.as_deref()
    }

    /// The HTTP status the error came with.
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (http {})", self.code, self.status)?;
        if let Some(d) = &self.description {
            // Server-controlled: keep it on one line and short.
            let d: String = d.chars().take(200).filter(|c| !c.is_control()).collect();
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// Which rule an ID token (or a signed UserInfo response) broke (feature `jwt`; see
/// [`crate::id_token`]).
#[cfg(feature = "jwt")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdTokenError {
    /// `openid` was requested but the token response carries no `id_token`.
    #[error("the token response has no id_token though openid was requested")]
    Missing,
    /// Not a well-formed compact JWS with a JSON object of unique claims.
    #[error("malformed: {0}")]
    Malformed(Cow<'static, str>),
    /// `alg` is not both advertised by the provider and in the client's allow-list.
    #[error("alg {0} is not both advertised and allowed")]
    Algorithm(String),
    /// No key of the provider's JWKS verifies the signature.
    #[error("the signature does not verify with the provider's keys")]
    Signature,
    /// The provider's JWKS could not be fetched (transient: try again later).
    #[error("the provider's keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// A required claim is absent, or not of its type.
    #[error("claim {0} is missing or not of its type")]
    MissingClaim(&'static str),
    /// `iss` is not exactly the provider's issuer.
    #[error("iss is not the provider's issuer")]
    Issuer,
    /// `aud` does not contain the client id.
    #[error("aud does not contain the client id")]
    Audience,
    /// `azp` is not the client id, or is missing though there are several audiences.
    #[error("azp is not the client id, or is missing with several audiences")]
    AuthorizedParty,
    /// `exp` has passed (beyond the leeway).
    #[error("expired")]
    Expired,
    /// `iat` is in the future (beyond the leeway).
    #[error("iat is in the future")]
    IssuedAt,
    /// `nbf` is in the future (beyond the leeway).
    #[error("nbf is in the future")]
    NotYetValid,
    /// `nonce` is missing or differs from the one sent.
    #[error("nonce is missing or differs from the one sent")]
    Nonce,
    /// `max_age` was requested and `auth_time` is missing or older.
    #[error("auth_time is missing or older than max_age")]
    AuthTime,
    /// `at_hash` does not match the access token.
    #[error("at_hash does not match the access token")]
    AccessTokenHash,
    /// `c_hash` does not match the authorization code.
    #[error("c_hash does not match the authorization code")]
    CodeHash,
    /// A refreshed ID token names another `sub` than the first one (§12.2).
    #[error("sub differs from the first ID token's")]
    SubjectChanged,
    /// The claims do not fit the application's claims type.
    #[error("claims do not fit the claims type: {0}")]
    Claims(String),
}

/// Why a UserInfo response was refused (feature `jwt`; see [`crate::userinfo`]).
#[cfg(feature = "jwt")]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserInfoError {
    /// Its `sub` is not the ID token's (OpenID Connect Core §5.3.4).
    #[error("sub differs from the ID token's")]
    SubjectMismatch,
    /// It has no `sub` string.
    #[error("sub is missing")]
    MissingSubject,
    /// Neither `application/json` nor `application/jwt`.
    #[error("content type is neither application/json nor application/jwt")]
    ContentType,
    /// Not a JSON object.
    #[error("not a json object")]
    NotJson,
    /// The signed (`application/jwt`) form broke a rule: signature, algorithm, or its `iss`
    /// or `aud`.
    #[error("signed response: {0}")]
    Jwt(IdTokenError),
    /// The claims do not fit the application's claims type.
    #[error("claims do not fit the claims type: {0}")]
    Claims(String),
}

/// Everything that can go wrong in auth-oauth2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid (caught by `build()`).
    #[error("invalid configuration: {0}")]
    Misconfigured(Cow<'static, str>),
    /// The request could not be sent or its response not read.
    #[error("{endpoint}: request failed")]
    Transport {
        /// Which endpoint (`token endpoint https://as.example`), never a credential.
        endpoint: String,
        /// The transport failure.
        #[source]
        source: HttpError,
    },
    /// The authorization server refused the request (RFC 6749 §5.2).
    #[error("{endpoint} refused: {error}")]
    Server {
        /// Which endpoint.
        endpoint: String,
        /// The server's error response.
        error: ServerError,
    },
    /// The server answered an error status without an RFC 6749 §5.2 error body.
    #[error("{endpoint}: http {status} without an oauth error body")]
    Status {
        /// Which endpoint.
        endpoint: String,
        /// The HTTP status.
        status: u16,
    },
    /// The server answered something that is not a valid response.
    #[error("{endpoint}: invalid response: {reason}")]
    InvalidResponse {
        /// Which endpoint.
        endpoint: String,
        /// What was wrong with it.
        reason: Cow<'static, str>,
    },
    /// The authorization response (the redirect back to the client) was refused: wrong state,
    /// a mix-up `iss`, an error from the server.
    #[error("authorization response refused: {0}")]
    AuthorizationResponse(Cow<'static, str>),
    /// A refresh is needed but there is no refresh token and no other grant to fall back on.
    #[error("no refresh token: the user must authorize again")]
    NoRefreshToken,
    /// The token store failed.
    #[error("token store: {what}")]
    Store {
        /// What failed.
        what: Cow<'static, str>,
        /// The underlying failure.
        #[source]
        source: Option<auth_core::BoxError>,
    },
    /// The `private_key_jwt` client assertion could not be signed.
    #[error("cannot sign the client assertion")]
    ClientAssertion(#[source] auth_core::BoxError),
    /// A DPoP proof could not be made (the key could not sign, or the token is bound to a key
    /// this client does not have).
    #[error("cannot make the DPoP proof")]
    DpopProof(#[source] auth_core::BoxError),
    /// The ID token (or signed UserInfo response) broke a rule of OpenID Connect Core
    /// §3.1.3.7; the [`IdTokenError`] says which (feature `jwt`).
    #[cfg(feature = "jwt")]
    #[error("ID token refused: {0}")]
    IdToken(#[from] IdTokenError),
    /// The UserInfo response was refused (feature `jwt`).
    #[cfg(feature = "jwt")]
    #[error("userinfo refused: {0}")]
    UserInfo(#[from] UserInfoError),
    /// The refresh that this call made or waited for failed; every caller that waited on it
    /// gets the same failure.
    #[error("token refresh failed")]
    Refresh(#[source] Arc<Error>),
    /// A recent refresh failed and the source is waiting out its backoff before the next try.
    #[error("token refresh failed recently; next attempt in {} s", retry_in.as_secs())]
    BackingOff {
        /// How long until the next attempt.
        retry_in: Duration,
        /// The last failure.
        #[source]
        source: Arc<Error>,
    },
}

impl Error {
    /// The server's §5.2 error, if this is one (looking through a shared refresh failure).
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Self::Server { error, .. } => Some(error),
            Self::Refresh(e) | Self::BackingOff { source: e, .. } => e.server_error(),
            _ => None,
        }
    }

    /// Whether the server said `code`.
    pub fn is_server_error(&self, code: &ErrorCode) -> bool {
        self.server_error().is_some_and(|e| e.code() == code)
    }

    /// Whether the failure is transient (transport, 5xx, `temporarily_unavailable`), so that
    /// retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::Store { .. } | Self::BackingOff { .. } => true,
            Self::Refresh(e) => e.is_transient(),
            #[cfg(feature = "jwt")]
            Self::IdToken(IdTokenError::KeysUnavailable(_)) => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429,
            Self::Server { error, .. } => {
                error.status >= 500
                    || matches!(&error.code, ErrorCode::Other(c) if c == "temporarily_unavailable" || c == "server_error")
            }
            _ => false,
        }
    }

    pub(crate) fn misconfigured(why: impl Into<Cow<'static, str>>) -> Self {
        Self::Misconfigured(why.into())
    }

    pub(crate) fn invalid(endpoint: &str, why: impl Into<Cow<'static, str>>) -> Self {
        Self::InvalidResponse {
            endpoint: endpoint.to_owned(),
            reason: why.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "authorization_pending",
            "slow_down",
            "access_denied",
            "expired_token",
            "unsupported_token_type",
            "custom_thing",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(ErrorCode::parse("invalid_grant"), ErrorCode::InvalidGrant);
    }

    #[test]
    fn description_is_tamed() {
        let e = ServerError::new(ErrorCode::InvalidGrant, 400)
            .with_details(Some("code\nexpired".into()), None);
        assert_eq!(e.to_string(), "invalid_grant (http 400): codeexpired");
    }
}
