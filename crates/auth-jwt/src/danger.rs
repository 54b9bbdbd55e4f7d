//! Operations that skip the claims policy. Quarantined here so that a review can find them.

use crate::error::{Error, shown};
use crate::header::{self, media_type_is};
use crate::jws::{self, decode_part};
use crate::{Algorithm, Key};

/// Verifies the signature of a compact JWS with `key` and returns its payload, without
/// reading the payload as claims: no `exp`, `iss` or `aud` check. The header is still checked
/// as strictly as by the [`Verifier`](crate::Verifier): size, shape, duplicate members, `alg`
/// supported by `key` (never `none`), `crit` refused, JWE and nested tokens refused.
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
pub fn verify_jws_signature(token: &str, key: &Key, max_len: usize) -> Result<Vec<u8>, Error> {
    let compact = jws::split(token, max_len)?;
    let header_json = decode_part(compact.header, "header is not base64url")?;
    let header =
        header::parse(&header_json).map_err(|e| Error::Malformed(format!("header: {e}").into()))?;
    if header.enc || header.zip {
        return Err(Error::Unsupported(
            "JWE header: only signed tokens are accepted",
        ));
    }
    let name = header
        .alg
        .as_deref()
        .ok_or(Error::malformed("header has no alg"))?;
    let alg = Algorithm::from_name(name)
        .filter(|a| key.supports(*a))
        .ok_or_else(|| Error::AlgorithmNotAllowed(shown(name)))?;
    if let Some(crit) = &header.crit {
        let first = crit
            .first()
            .map_or_else(|| "[] (empty)".to_owned(), |c| shown(c));
        return Err(Error::UnsupportedCritical(first));
    }
    if header.b64 {
        return Err(Error::UnsupportedCritical("b64 (unencoded payload)".into()));
    }
    if header
        .cty
        .as_deref()
        .is_some_and(|c| media_type_is(c, "jwt"))
    {
        return Err(Error::Unsupported("nested JWT (cty JWT)"));
    }
    let signature = decode_part(compact.signature, "signature is not base64url")?;
    if !key.verify(alg, compact.signing_input.as_bytes(), &signature) {
        return Err(Error::BadSignature);
    }
    decode_part(compact.payload, "payload is not base64url")
}
