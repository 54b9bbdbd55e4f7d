//! The signature half of verification, shared by the [`Verifier`](crate::Verifier) and
//! [`danger::verify_jws_signature`](crate::danger::verify_jws_signature): the header checked
//! strictly, then the key found and the signature verified.

use crate::error::{Error, shown};
use crate::header::{self, media_type_is};
use crate::jws::{self, Compact};
use crate::keyset::Resolved;
use crate::{Algorithm, KeySet};

/// Room to decode a token without allocating, for [`Verifier::verify_in`]: typical headers,
/// payloads up to 1 KiB and signatures up to RSA-4096 fit in it (about 1.8 KB); larger parts
/// spill to the heap. One scratch serves any number of verifications, one at a time: the
/// claims a verification returns borrow it until they are dropped.
///
/// [`Verifier::verify_in`]: crate::Verifier::verify_in
pub struct Scratch {
    pub(crate) head: HeadScratch,
    pub(crate) body: Body,
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The contents are a token's decoded parts: not shown.
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

impl Scratch {
    /// An empty scratch.
    pub fn new() -> Self {
        Self {
            head: HeadScratch {
                header: [0; 256],
                header_len: 0,
                signature: [0; 512],
                heap: Vec::new(),
                heap_signature: Vec::new(),
            },
            body: Body {
                payload: [0; 1024],
                len: 0,
                heap: Vec::new(),
            },
        }
    }
}

/// Room for a header and a signature.
pub(crate) struct HeadScratch {
    header: [u8; 256],
    /// The decoded header's length: in `header` if it fits, else all of `heap`.
    header_len: usize,
    signature: [u8; 512],
    heap: Vec<u8>,
    heap_signature: Vec<u8>,
}

impl HeadScratch {
    /// The header decoded by the last [`check_header`].
    pub(crate) fn header_json(&self) -> &[u8] {
        self.header.get(..self.header_len).unwrap_or(&self.heap)
    }
}

/// Room for a payload.
pub(crate) struct Body {
    payload: [u8; 1024],
    /// The decoded payload's length: in `payload` if it fits, else all of `heap`.
    len: usize,
    heap: Vec<u8>,
}

impl Body {
    /// The payload decoded by the last [`Body::decode`].
    pub(crate) fn payload(&self) -> &[u8] {
        self.payload.get(..self.len).unwrap_or(&self.heap)
    }

    /// Decodes a payload part: `None` when it is not canonical base64url.
    pub(crate) fn decode(&mut self, part: &str) -> Option<&[u8]> {
        self.len = jws::decoded_len(part.len())?;
        let out = match self.payload.get_mut(..self.len) {
            Some(out) => out,
            None => {
                self.heap = vec![0; self.len];
                &mut self.heap
            }
        };
        jws::decode_into(part.as_bytes(), out)?;
        Some(out)
    }

    /// Decodes the payload of a token whose header passed, with the verifier's errors.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`], or [`Error::Unsupported`] for a JWE.
    pub(crate) fn decode_checked(&mut self, compact: &Compact<'_>) -> Result<&[u8], Error> {
        match self.decode(compact.payload) {
            Some(payload) => Ok(payload),
            None if compact.payload.contains('.') => Err(jws::extra_parts(compact.payload)),
            None => Err(Error::malformed("payload is not base64url")),
        }
    }
}

/// Decodes `part` into `stack` when it fits, else into `heap`.
fn decode_into<'b>(
    part: &str,
    stack: &'b mut [u8],
    heap: &'b mut Vec<u8>,
    what: &'static str,
) -> Result<&'b [u8], Error> {
    let len = jws::decoded_len(part.len()).ok_or_else(|| Error::malformed(what))?;
    let out = match stack.get_mut(..len) {
        Some(out) => out,
        None => {
            *heap = vec![0; len];
            heap
        }
    };
    jws::decode_into(part.as_bytes(), out).ok_or_else(|| Error::malformed(what))?;
    Ok(out)
}

/// A token whose header passed; its signature is not yet verified.
#[derive(Debug)]
pub(crate) struct Signed<'t, 'b> {
    pub(crate) compact: Compact<'t>,
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<std::borrow::Cow<'b, str>>,
    /// The header says `cty: JWT`: the payload is itself a token (RFC 7519 §5.2).
    pub(crate) nested: bool,
    signature: &'b [u8],
}

/// Length, shape and header: JWE, `crit` and `b64` refused, nested tokens refused unless
/// `nested_ok`, `alg` allowed, `typ` as required; then the signature decoded. The payload
/// is the caller's to decode ([`Body::decode_checked`]) before the signature is verified.
///
/// # Errors
///
/// The first check that fails.
pub(crate) fn check_header<'t, 'b>(
    token: &'t str,
    scratch: &'b mut HeadScratch,
    max_len: usize,
    allowed: impl Fn(Algorithm) -> bool,
    typ: Option<&str>,
    nested_ok: bool,
) -> Result<Signed<'t, 'b>, Error> {
    let compact = jws::split(token, max_len)?;
    let HeadScratch {
        header: header_buf,
        header_len,
        signature: signature_buf,
        heap,
        heap_signature,
    } = scratch;
    let header_json = decode_into(compact.header, header_buf, heap, "header is not base64url")?;
    *header_len = header_json.len();
    let header =
        header::parse(header_json).map_err(|e| Error::Malformed(format!("header: {e}").into()))?;
    if header.enc || header.zip {
        return Err(Error::Unsupported(
            "JWE header: only signed tokens are accepted",
        ));
    }
    let name = header
        .alg
        .as_deref()
        .ok_or_else(|| Error::malformed("header has no alg"))?;
    let alg = Algorithm::from_name(name)
        .filter(|a| allowed(*a))
        .ok_or_else(|| Error::AlgorithmNotAllowed(shown(name)))?;
    if let Some(crit) = &header.crit {
        // No extension is understood here (RFC 7515 §4.1.11): any entry is refused, as is an
        // empty list.
        let first = crit
            .first()
            .map_or_else(|| "[] (empty)".to_owned(), |c| shown(c));
        return Err(Error::UnsupportedCritical(first));
    }
    if header.b64 {
        return Err(Error::UnsupportedCritical("b64 (unencoded payload)".into()));
    }
    let nested = header
        .cty
        .as_deref()
        .is_some_and(|c| media_type_is(c, "jwt"));
    if nested && !nested_ok {
        return Err(Error::Unsupported("nested JWT (cty JWT)"));
    }
    if let Some(want) = typ {
        match header.typ.as_deref() {
            Some(t) if media_type_is(t, want) => {}
            Some(t) => return Err(Error::WrongType(shown(t))),
            None => return Err(Error::WrongType("(none)".into())),
        }
    }
    let signature = decode_into(
        compact.signature,
        signature_buf,
        heap_signature,
        "signature is not base64url",
    )?;
    Ok(Signed {
        compact,
        alg,
        kid: header.kid,
        nested,
        signature,
    })
}

impl Signed<'_, '_> {
    /// Finds the key by `kid` and `alg` and verifies the signature.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] or [`Error::BadSignature`].
    pub(crate) fn verify_with(&self, keys: &KeySet, try_each: bool) -> Result<(), Error> {
        let message = self.compact.signing_input.as_bytes();
        let ok = match keys.resolve(self.kid.as_deref(), self.alg, try_each)? {
            Resolved::One(key) => key.verify(self.alg, message, self.signature),
            Resolved::Each(list) => list
                .iter()
                .any(|k| k.verify(self.alg, message, self.signature)),
        };
        if ok { Ok(()) } else { Err(Error::BadSignature) }
    }
}
