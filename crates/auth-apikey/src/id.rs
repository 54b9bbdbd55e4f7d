//! [`KeyId`]: the non-secret part of a key that the store indexes it by, and the only part of
//! a key that may appear in logs and listings.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::checksum;

/// Length of the key id in base62 characters.
pub const ID_LEN: usize = 8;

/// The non-secret identifier of a key: 8 base62 characters, the index for lookups.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KeyId([u8; ID_LEN]);

impl Hash for KeyId {
    /// One `write_u64`: the id is eight random bytes, so one word is all a hasher needs.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(u64::from_le_bytes(self.0));
    }
}

impl KeyId {
    /// An id from bytes the caller has already checked are base62.
    pub(crate) fn from_bytes_unchecked(bytes: [u8; ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only base62 bytes ever get in (parse, generate, from_str), so this is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The id as bytes.
    pub fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.as_str())
    }
}

impl FromStr for KeyId {
    type Err = InvalidKeyId;

    /// Parses the 8 base62 characters of an id (as shown in listings), not a whole key.
    fn from_str(s: &str) -> Result<Self, InvalidKeyId> {
        let bytes = <[u8; ID_LEN]>::try_from(s.as_bytes()).map_err(|_| InvalidKeyId)?;
        if !checksum::is_base62(&bytes) {
            return Err(InvalidKeyId);
        }
        Ok(Self(bytes))
    }
}

/// A key id that is not 8 base62 characters; converts into
/// [`Error::InvalidKeyId`](crate::Error::InvalidKeyId).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid key id: expected 8 base62 characters")]
pub struct InvalidKeyId;
