//! [`Refusal`]: why a presented key was not accepted, for the server's logs and metrics.

use std::fmt;

/// Why a presented key was refused: for the server's logs and metrics, never for the client
/// (which sees 401 `invalid_token` for all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// Wrong length, wrong prefix, or a character outside base62.
    Malformed,
    /// Well formed, but the checksum does not match: a typo or a made-up string.
    BadChecksum,
    /// No key has this id.
    UnknownKey,
    /// The id exists but the secret does not match its digest.
    WrongSecret,
    /// Past its expiry (or past the overlap of a rotation).
    Expired,
    /// Revoked.
    Revoked,
    /// No uses left.
    Exhausted,
}

impl Refusal {
    /// A short lower-case description.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed key",
            Self::BadChecksum => "bad key checksum",
            Self::UnknownKey => "unknown key id",
            Self::WrongSecret => "wrong key secret",
            Self::Expired => "key expired",
            Self::Revoked => "key revoked",
            Self::Exhausted => "key has no uses left",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
