//! Operations that skip the claims policy. Quarantined here so that a review can find them.

use crate::error::Error;
use crate::verify_signature::{Scratch, check_header};
use crate::{Algorithm, KeySet};

/// Verifies the signature of a compact JWS with `keys` and returns its payload, without
/// reading the payload as claims: no `exp`, `iss` or `aud` check. The header is checked as
/// strictly as by the [`Verifier`](crate::Verifier): size, shape, duplicate members, `alg`
/// in `algorithms` (never `none`), `crit` refused, JWE and nested tokens refused, the key
/// found by `kid` without guessing.
///
/// For JWS that do not carry JWT claims (RFC 7520's examples sign prose).
///
/// # Security
///
/// Nothing here says the payload is fresh, meant for you, or from the issuer you trust.
///
/// # Errors
///
/// The same [`Error`]s as the verifier's header and signature checks.
pub fn verify_jws_signature(
    token: &str,
    keys: &KeySet,
    algorithms: &[Algorithm],
    max_len: usize,
) -> Result<Vec<u8>, Error> {
    let mut scratch = Scratch::new();
    let signed = check_header(
        token,
        &mut scratch.head,
        max_len,
        |a| algorithms.contains(&a),
        None,
        false,
    )?;
    let payload = scratch.body.decode_checked(&signed.compact)?.to_vec();
    signed.verify_with(keys, false)?;
    Ok(payload)
}
