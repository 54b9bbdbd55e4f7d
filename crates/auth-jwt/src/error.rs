//! The crate's [`Error`], its stable machine-readable [`ErrorKind`], and how both map onto
//! auth-core's decisions: a token problem is a rejection (401 `invalid_token`), an
//! unavailable key source is 503, a bad configuration is 500.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use auth_core::{BoxError, TokenVerdict};

/// Why a token was refused, or why no verdict could be reached.
///
/// Messages are for the server's logs and say why ("token expired 7m12s ago"); the client
/// only ever sees `invalid_token`. Values taken from a token (an `alg`, a `kid`, an issuer)
/// are escaped and cut to 64 characters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is longer than the limit; nothing of it was decoded.
    #[error("token too large: {len} bytes, the limit is {max}")]
    TooLarge {
        /// The token's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a well-formed compact JWS with a well-typed header and claims.
    #[error("malformed token: {0}")]
    Malformed(Cow<'static, str>),
    /// The header's `alg` is not in the allow-list, or is not an algorithm at all.
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    /// A `crit` header parameter that this verifier does not understand (RFC 7515 §4.1.11).
    #[error("unsupported critical header parameter {0}")]
    UnsupportedCritical(String),
    /// A JWE, a nested JWT, or another form this verifier never accepts.
    #[error("unsupported token: {0}")]
    Unsupported(&'static str),
    /// No key (or no single key) verifies this token's `kid` and `alg`.
    #[error("unknown key: {0}")]
    UnknownKey(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `exp` is not in the future (beyond the leeway). Holds how long ago `exp` was.
    #[error("token expired {} ago", Human(*.0))]
    Expired(Duration),
    /// `nbf` is in the future (beyond the leeway). Holds how long until `nbf`.
    #[error("token not valid for another {}", Human(*.0))]
    NotYetValid(Duration),
    /// `iat` is in the future (beyond the leeway). Holds by how much.
    #[error("token issued {} in the future: clock skew?", Human(*.0))]
    IssuedInFuture(Duration),
    /// `iat` is older than the configured maximum age.
    #[error("token too old: issued {} ago, the limit is {}", Human(*age), Human(*max))]
    TooOld {
        /// How long ago the token was issued.
        age: Duration,
        /// The maximum age.
        max: Duration,
    },
    /// A claim the policy requires is absent.
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    /// `iss` is not one of the accepted issuers.
    #[error("wrong issuer {0}")]
    WrongIssuer(String),
    /// No `aud` value is one of the accepted audiences.
    #[error("wrong audience {0}")]
    WrongAudience(String),
    /// The header's `typ` is not the required type.
    #[error("wrong token type {0}")]
    WrongType(String),
    /// The claims are well typed by RFC 7519 but do not fit the application's claims type.
    #[error("claims do not fit the claims type: {0}")]
    Claims(String),
    /// A key could not be loaded or used.
    #[error("invalid key: {0}")]
    InvalidKey(Cow<'static, str>),
    /// The key source (a remote JWKS) cannot answer: 503, never 401.
    #[error("key source unavailable: {what}")]
    KeySourceUnavailable {
        /// What was unavailable, for logs.
        what: String,
        /// When to retry, if known.
        retry_after: Option<Duration>,
        /// The underlying failure.
        #[source]
        source: Option<BoxError>,
    },
    /// The verifier or signer was configured wrong.
    #[error("misconfigured: {0}")]
    Misconfigured(Cow<'static, str>),
    /// Signing failed in the crypto backend.
    #[error("signing failed")]
    Signing(#[source] BoxError),
}

/// A stable, machine-readable classification of an [`Error`], for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::TooLarge`].
    TooLarge,
    /// [`Error::Malformed`] and [`Error::Claims`].
    Malformed,
    /// [`Error::AlgorithmNotAllowed`].
    AlgorithmNotAllowed,
    /// [`Error::UnsupportedCritical`].
    UnsupportedCritical,
    /// [`Error::Unsupported`].
    Unsupported,
    /// [`Error::UnknownKey`].
    UnknownKey,
    /// [`Error::BadSignature`].
    BadSignature,
    /// [`Error::Expired`].
    Expired,
    /// [`Error::NotYetValid`] and [`Error::IssuedInFuture`].
    NotYetValid,
    /// [`Error::TooOld`].
    TooOld,
    /// [`Error::MissingClaim`].
    MissingClaim,
    /// [`Error::WrongIssuer`].
    WrongIssuer,
    /// [`Error::WrongAudience`].
    WrongAudience,
    /// [`Error::WrongType`].
    WrongType,
    /// [`Error::InvalidKey`].
    InvalidKey,
    /// [`Error::KeySourceUnavailable`].
    KeySourceUnavailable,
    /// [`Error::Misconfigured`].
    Misconfigured,
    /// [`Error::Signing`].
    Signing,
}

impl ErrorKind {
    /// A stable snake_case name: `"expired"`, `"bad_signature"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnsupportedCritical => "unsupported_critical_header",
            Self::Unsupported => "unsupported",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::TooOld => "too_old",
            Self::MissingClaim => "missing_claim",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::WrongType => "wrong_type",
            Self::InvalidKey => "invalid_key",
            Self::KeySourceUnavailable => "key_source_unavailable",
            Self::Misconfigured => "misconfigured",
            Self::Signing => "signing_failed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::Malformed(_) | Self::Claims(_) => ErrorKind::Malformed,
            Self::AlgorithmNotAllowed(_) => ErrorKind::AlgorithmNotAllowed,
            Self::UnsupportedCritical(_) => ErrorKind::UnsupportedCritical,
            Self::Unsupported(_) => ErrorKind::Unsupported,
            Self::UnknownKey(_) => ErrorKind::UnknownKey,
            Self::BadSignature => ErrorKind::BadSignature,
            Self::Expired(_) => ErrorKind::Expired,
            Self::NotYetValid(_) | Self::IssuedInFuture(_) => ErrorKind::NotYetValid,
            Self::TooOld { .. } => ErrorKind::TooOld,
            Self::MissingClaim(_) => ErrorKind::MissingClaim,
            Self::WrongIssuer(_) => ErrorKind::WrongIssuer,
            Self::WrongAudience(_) => ErrorKind::WrongAudience,
            Self::WrongType(_) => ErrorKind::WrongType,
            Self::InvalidKey(_) => ErrorKind::InvalidKey,
            Self::KeySourceUnavailable { .. } => ErrorKind::KeySourceUnavailable,
            Self::Misconfigured(_) => ErrorKind::Misconfigured,
            Self::Signing(_) => ErrorKind::Signing,
        }
    }

    /// Whether this is a verdict on the token (401 `invalid_token`) rather than a failure to
    /// reach one (503 or 500).
    pub fn is_rejection(&self) -> bool {
        !matches!(
            self,
            Self::KeySourceUnavailable { .. } | Self::Misconfigured(_) | Self::Signing(_)
        )
    }

    /// Converts to auth-core's vocabulary: a rejection becomes
    /// [`TokenVerdict::Invalid`] with this error's message; an unavailable key source becomes
    /// [`auth_core::Error::Unavailable`] (503); the rest [`auth_core::Error::Misconfigured`]
    /// (500).
    ///
    /// # Errors
    ///
    /// The auth-core error when this is not a verdict on the token.
    pub fn into_verdict(self) -> Result<TokenVerdict, auth_core::Error> {
        if self.is_rejection() {
            return Ok(TokenVerdict::Invalid(self.to_string().into()));
        }
        Err(match self {
            Self::KeySourceUnavailable {
                what,
                retry_after,
                source,
            } => auth_core::Error::Unavailable {
                what: what.into(),
                retry_after,
                source,
            },
            other => auth_core::Error::Misconfigured(other.to_string().into()),
        })
    }

    pub(crate) fn malformed(why: &'static str) -> Self {
        Self::Malformed(Cow::Borrowed(why))
    }

    pub(crate) fn invalid_key(why: impl Into<Cow<'static, str>>) -> Self {
        Self::InvalidKey(why.into())
    }
}

/// A value taken from a token, made safe for a log line: escaped and cut to 64 characters.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 64;
    let mut out = String::with_capacity(s.len().min(MAX) + 2);
    out.push('"');
    for (i, c) in s.chars().enumerate() {
        if i == MAX {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_debug());
    }
    out.push('"');
    out
}

/// A duration for people: `7m12s`, `42s`, `350ms`, `2d3h`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs == 0 {
            return write!(f, "{}ms", self.0.subsec_millis());
        }
        let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
        let parts = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
        let first = parts.iter().position(|(v, _)| *v != 0).unwrap_or(3);
        // Two units are enough for a log line: "2d3h", "7m12s".
        for (v, unit) in parts.iter().skip(first).take(2) {
            if *v != 0 || first == 3 {
                write!(f, "{v}{unit}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        let h = |s: u64| Human(Duration::from_secs(s)).to_string();
        assert_eq!(h(432), "7m12s");
        assert_eq!(h(42), "42s");
        assert_eq!(h(3600), "1h");
        assert_eq!(h(86_400 * 2 + 3 * 3600 + 5), "2d3h");
        assert_eq!(Human(Duration::from_millis(350)).to_string(), "350ms");
        assert_eq!(Human(Duration::ZERO).to_string(), "0ms");
    }

    #[test]
    fn messages_say_why() {
        assert_eq!(
            Error::Expired(Duration::from_secs(432)).to_string(),
            "token expired 7m12s ago"
        );
        assert_eq!(
            Error::IssuedInFuture(Duration::from_secs(42)).to_string(),
            "token issued 42s in the future: clock skew?"
        );
    }

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(shown(&"x".repeat(100)).len(), 64 + 2 + 3);
    }

    #[test]
    fn unavailable_maps_to_503_and_rejections_to_verdicts() {
        let e = Error::KeySourceUnavailable {
            what: "JWKS".into(),
            retry_after: None,
            source: None,
        };
        assert_eq!(e.into_verdict().unwrap_err().status(), 503);
        assert!(matches!(
            Error::BadSignature.into_verdict(),
            Ok(TokenVerdict::Invalid(_))
        ));
        assert_eq!(
            Error::Misconfigured("x".into())
                .into_verdict()
                .unwrap_err()
                .status(),
            500
        );
    }
}
