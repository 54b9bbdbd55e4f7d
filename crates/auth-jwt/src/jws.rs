//! The compact serialization (RFC 7515 §7.1): a length check before anything else, exactly
//! three parts (five is a JWE), strict base64url without padding, and the signing input.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::Error;

/// The three parts of a compact JWS, borrowed from the token.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'t str,
}

/// Splits `token`, checking its length first.
///
/// # Errors
///
/// [`Error::TooLarge`] before any decoding; [`Error::Unsupported`] for a JWE (five parts);
/// [`Error::Malformed`] for any other shape.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, Error> {
    if token.len() > max_len {
        return Err(Error::TooLarge {
            len: token.len(),
            max: max_len,
        });
    }
    // str::find uses core's word-at-a-time byte search.
    let first = token.find('.');
    let second = first.and_then(|h| token[h + 1..].find('.').map(|i| h + 1 + i));
    let (Some(h), Some(p)) = (first, second) else {
        return Err(Error::malformed("not three dot-separated parts"));
    };
    let rest = &token[p + 1..];
    if rest.contains('.') {
        return Err(if rest.bytes().filter(|b| *b == b'.').count() == 2 {
            Error::Unsupported("JWE (five parts): only signed tokens are accepted")
        } else {
            Error::malformed("not three dot-separated parts")
        });
    }
    let compact = Compact {
        header: &token[..h],
        payload: &token[h + 1..p],
        signature: &token[p + 1..],
        signing_input: &token[..p],
    };
    if compact.header.is_empty() {
        return Err(Error::malformed("empty header"));
    }
    if compact.signature.is_empty() {
        return Err(Error::malformed(
            "empty signature: unsecured tokens are never accepted",
        ));
    }
    Ok(compact)
}

/// Strict base64url (RFC 4648 §5) without padding, whitespace or non-zero trailing bits.
///
/// # Errors
///
/// When `s` is not canonical base64url.
pub(crate) fn b64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    URL_SAFE_NO_PAD.decode(s)
}

/// base64url without padding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes one part of a token.
///
/// # Errors
///
/// [`Error::Malformed`] naming the part.
pub(crate) fn decode_part(part: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    b64_decode(part).map_err(|_| Error::malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(split("a.b.c", 100).is_ok());
        assert!(matches!(
            split("a.b.c", 4),
            Err(Error::TooLarge { len: 5, max: 4 })
        ));
        assert!(matches!(
            split("a.b.c.d.e", 100),
            Err(Error::Unsupported(_))
        ));
        for bad in ["", "a", "a.b", "a.b.c.d", ".b.c", "a.b."] {
            assert!(matches!(split(bad, 100), Err(Error::Malformed(_))), "{bad}");
        }
        let c = split("h.p.s", 100).unwrap();
        assert_eq!(
            (c.header, c.payload, c.signature, c.signing_input),
            ("h", "p", "s", "h.p")
        );
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64_decode("Zm9v").unwrap(), b"foo");
        for bad in ["Zm9v=", "Zm9", "Zm+v", "Zm/v", "Zm9v ", "Zg", "Zh"] {
            // "Zg" is canonical for "f"; "Zh" has non-zero trailing bits.
            if bad == "Zg" {
                assert!(b64_decode(bad).is_ok());
                continue;
            }
            assert!(b64_decode(bad).is_err(), "{bad}");
        }
    }
}
