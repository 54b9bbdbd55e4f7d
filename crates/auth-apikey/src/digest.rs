//! Digests at rest: what the store keeps instead of the key.
//!
//! HMAC-SHA-256 keyed with a server-side pepper when one is configured, SHA-256 otherwise.
//! No slow password hash: a key carries 130 bits from a CSPRNG, so there is nothing for a
//! slow hash to stretch, and every request pays for the digest (see ARCHITECTURE.md).
//!
//! Digests are compared in constant time as four 64-bit words: 32 bytes compared byte by
//! byte with `subtle` cost about as much as the SHA-256 itself.

use std::fmt;

use auth_core::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;

/// Length of a digest in bytes.
pub const DIGEST_LEN: usize = 32;

/// The digest of a key, as stored. Not secret on its own (the key cannot be recovered from
/// it), but not useful in logs either, so `Debug` leaves it out.
#[derive(Clone, Copy)]
pub struct KeyDigest([u8; DIGEST_LEN]);

impl KeyDigest {
    /// Wraps stored bytes.
    pub const fn from_bytes(bytes: [u8; DIGEST_LEN]) -> Self {
        Self(bytes)
    }

    /// The bytes, for a store to write.
    pub const fn as_bytes(&self) -> &[u8; DIGEST_LEN] {
        &self.0
    }

    /// Compares in time independent of the contents: the differences of the four 64-bit
    /// words ORed together (no branch), then one constant-time comparison with zero.
    #[inline]
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        let (a, b) = (self.words(), other.words());
        let diff = (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]);
        bool::from(diff.ct_eq(&0))
    }

    #[inline]
    fn words(&self) -> [u64; 4] {
        let mut w = [0u64; 4];
        for (word, chunk) in w.iter_mut().zip(self.0.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *word = u64::from_ne_bytes(b);
        }
        w
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

/// Computes the digests of keys: HMAC-SHA-256 with a pepper, or plain SHA-256.
#[derive(Clone)]
pub struct KeyHasher(Kind);

#[derive(Clone)]
enum Kind {
    Sha256,
    /// The keyed state after the pepper has been absorbed: cloning it skips the key schedule.
    Hmac(Box<Hmac<Sha256>>),
}

impl KeyHasher {
    /// SHA-256 of the key, no pepper. A leaked store then lets an attacker check guesses
    /// offline, which 130 random bits make hopeless; a pepper adds a second line of defence.
    pub fn sha256() -> Self {
        Self(Kind::Sha256)
    }

    /// HMAC-SHA-256 keyed with `pepper`, a server-side secret kept outside the store (for
    /// example from an environment variable): a copy of the store alone is useless.
    ///
    /// # Errors
    ///
    /// [`Error::WeakPepper`] when the pepper is shorter than 16 bytes.
    pub fn hmac_sha256(pepper: &Secret) -> Result<Self, Error> {
        if pepper.len() < 16 {
            return Err(Error::WeakPepper);
        }
        let mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret())
            .map_err(|_| Error::WeakPepper)?;
        Ok(Self(Kind::Hmac(Box::new(mac))))
    }

    /// Whether a pepper is configured.
    pub fn is_keyed(&self) -> bool {
        matches!(self.0, Kind::Hmac(_))
    }

    /// A fingerprint of this hasher, safe to store and show: `sha256`, or `hmac-sha256:`
    /// and 16 hex digits of the HMAC of a fixed label under the pepper. Instances of a fleet
    /// record it beside their keys to notice one started with a different pepper, under
    /// which none of the fleet's keys would verify. It reveals nothing of the pepper.
    pub fn fingerprint(&self) -> String {
        match &self.0 {
            Kind::Sha256 => "sha256".to_owned(),
            Kind::Hmac(mac) => {
                let mut mac = (**mac).clone();
                mac.update(b"auth-apikey pepper fingerprint v1");
                let tag = mac.finalize().into_bytes();
                let hex: String = tag[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("hmac-sha256:{hex}")
            }
        }
    }

    /// The digest of `key` (the whole key text, prefix included).
    pub fn digest(&self, key: &[u8]) -> KeyDigest {
        let mut out = [0u8; DIGEST_LEN];
        match &self.0 {
            Kind::Sha256 => out.copy_from_slice(&Sha256::digest(key)),
            Kind::Hmac(mac) => {
                let mut mac = (**mac).clone();
                mac.update(key);
                out.copy_from_slice(&mac.finalize().into_bytes());
            }
        }
        KeyDigest(out)
    }
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Kind::Sha256 => "KeyHasher(sha256)",
            Kind::Hmac(_) => "KeyHasher(hmac-sha256, pepper: [redacted])",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &KeyDigest) -> String {
        d.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn fingerprints_tell_peppers_apart_and_hide_them() {
        let a = KeyHasher::hmac_sha256(&Secret::new(vec![1u8; 32])).unwrap();
        let a2 = KeyHasher::hmac_sha256(&Secret::new(vec![1u8; 32])).unwrap();
        let b = KeyHasher::hmac_sha256(&Secret::new(vec![2u8; 32])).unwrap();
        assert_eq!(a.fingerprint(), a2.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert!(a.fingerprint().starts_with("hmac-sha256:"));
        assert_eq!(a.fingerprint().len(), "hmac-sha256:".len() + 16);
        assert!(!a.fingerprint().contains("0101"));
        assert_eq!(KeyHasher::sha256().fingerprint(), "sha256");
    }

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            hex(&KeyHasher::sha256().digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2 has a 4-byte key, below our floor; use case 1's data with a
        // 20-byte key of 0x0b (test case 1).
        let h = KeyHasher::hmac_sha256(&Secret::new(vec![0x0b; 20])).unwrap();
        assert_eq!(
            hex(&h.digest(b"Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // The keyed state is reused, not consumed.
        assert_eq!(hex(&h.digest(b"Hi There")), hex(&h.digest(b"Hi There")));
    }

    #[test]
    fn weak_pepper_is_refused() {
        assert!(matches!(
            KeyHasher::hmac_sha256(&Secret::new("short")),
            Err(Error::WeakPepper)
        ));
    }

    #[test]
    fn ct_eq_compares_every_word() {
        let a = KeyHasher::sha256().digest(b"a");
        assert!(a.ct_eq(&a));
        for i in 0..DIGEST_LEN {
            let mut b = *a.as_bytes();
            b[i] ^= 1;
            assert!(!a.ct_eq(&KeyDigest::from_bytes(b)), "byte {i}");
        }
    }

    #[test]
    fn debug_hides_the_pepper() {
        let h = KeyHasher::hmac_sha256(&Secret::new("pepper-pepper-pepper")).unwrap();
        assert!(!format!("{h:?}").contains("pepper-pepper"));
    }
}
