//! `dpop_proof`: `dpop::ProofVerifier::verify` on a fixed clock, against the RFC 9449 §4.1
//! proof (`POST https://server.example.com/token`).
//!
//! The first byte picks the mode: arbitrary text as a proof (never a panic; nothing but the
//! RFC's proof passes), or the RFC's proof changed by byte edits: any proof that differs is
//! refused, the unchanged one accepted (each input meets a fresh replay cache).

use auth_core::{BoxReplayCache, ManualClock, UnixTime};
use auth_jwt::dpop::{MemoryReplayCache, ProofVerifier};

/// The RFC 9449 §4.1 proof.
pub const PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const IAT: u64 = 1_562_262_616;
const URL: &str = "https://server.example.com/token";

/// Whether a fresh verifier (fixed clock, empty replay cache) accepts `proof`.
pub fn accepts(proof: &str) -> bool {
    let verifier = ProofVerifier::new()
        .clock(ManualClock::new(UnixTime::from_secs(IAT + 1)))
        .replay_cache(BoxReplayCache::new(MemoryReplayCache::new(16)));
    crate::block_on(verifier.verify(proof, &http::Method::POST, URL, None)).is_ok()
}

/// The property of target `dpop_proof`.
pub fn check(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let proof = String::from_utf8_lossy(rest);
        if accepts(&proof) {
            assert_eq!(proof, PROOF, "accepted a proof never made");
        }
        return;
    }
    let edited = crate::apply_edits(PROOF.as_bytes(), rest);
    let proof = String::from_utf8_lossy(&edited);
    let accepted = accepts(&proof);
    if proof == PROOF {
        assert!(accepted, "the RFC's proof was refused");
    } else {
        assert!(!accepted, "a changed proof was accepted: {proof:?}");
    }
}
