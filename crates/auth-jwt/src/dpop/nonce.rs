//! [`Nonces`]: server-provided DPoP nonces (RFC 9449 §8), rotating and stateless.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{Clock, Secret, SystemClock};
use subtle::ConstantTimeEq as _;

/// The bytes of the MAC kept in a nonce.
const MAC_LEN: usize = 16;

/// Nonces that change every `period`: a nonce is the number of the period and an HMAC of it
/// under a server secret, so any server holding the secret checks it without shared state.
/// The current and the previous period's nonces are accepted, so a client that fetched one
/// just before a rotation is not refused.
pub struct Nonces {
    key: Secret,
    period: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    /// Nonces under `key` (share it across a fleet), rotating every `period` (at least 1 s).
    pub fn new(key: Secret, period: Duration) -> Self {
        Self {
            key,
            period: period.max(Duration::from_secs(1)),
            clock: Arc::new(SystemClock),
        }
    }

    /// Nonces under a fresh random key, for a single server.
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    pub fn random(period: Duration) -> Result<Self, getrandom::Error> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self::new(Secret::new(key), period))
    }

    /// Reads the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The nonce to hand out now.
    pub fn current(&self) -> String {
        self.nonce(self.window())
    }

    /// Whether `nonce` is this period's or the previous one's.
    pub fn is_current(&self, nonce: &str) -> bool {
        let Ok(bytes) = crate::jws::b64_decode(nonce) else {
            return false;
        };
        let Some((window, mac)) = bytes.split_first_chunk::<8>() else {
            return false;
        };
        let window = u64::from_be_bytes(*window);
        let now = self.window();
        // The length first: a truncated MAC would otherwise be checked as a prefix.
        mac.len() == MAC_LEN
            && (window == now || window.checked_add(1) == Some(now))
            && bool::from(self.mac(window)[..MAC_LEN].ct_eq(mac))
    }

    fn window(&self) -> u64 {
        self.clock.now().as_secs() / self.period.as_secs().max(1)
    }

    /// HMAC-SHA-256 of the window's number under the key.
    fn mac(&self, window: u64) -> [u8; 32] {
        let key = self.key.expose_secret();
        crate::backend::hmac_sha256(key, &[b"dpop-nonce", &window.to_be_bytes()])
    }

    fn nonce(&self, window: u64) -> String {
        let tag = self.mac(window);
        let mut bytes = window.to_be_bytes().to_vec();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        crate::jws::b64_encode(&bytes)
    }
}
