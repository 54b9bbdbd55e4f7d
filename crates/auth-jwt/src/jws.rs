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
    // The first and the last dot: two short scans (header and signature). A dot between
    // them, in the payload, is found by its base64url decoding, which refuses it, and
    // [`extra_parts`] then says what the token was.
    let (Some(h), Some(p)) = (token.find('.'), token.rfind('.')) else {
        return Err(Error::malformed("not three dot-separated parts"));
    };
    if h == p {
        return Err(Error::malformed("not three dot-separated parts"));
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

/// The error for a token whose payload part holds a dot: five parts are a JWE.
pub(crate) fn extra_parts(payload: &str) -> Error {
    if payload.bytes().filter(|b| *b == b'.').count() == 2 {
        Error::Unsupported("JWE (five parts): only signed tokens are accepted")
    } else {
        Error::malformed("not three dot-separated parts")
    }
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

/// Marks a byte that is not in the base64url alphabet: above the 24 bits that four
/// characters decode to.
const BAD: u32 = 0xFF00_0000;

/// base64url character to its six bits shifted into place for position `slot` (0 to 3) of a
/// group of four characters (24 bits), or [`BAD`]: decoding a group is four lookups and
/// three ORs, with no shift chain between them.
const fn table(slot: u32) -> [u32; 256] {
    let shift = 18 - 6 * slot;
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = (i as u32) << shift;
        t[b'a' as usize + i] = (26 + i as u32) << shift;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = (52 + d as u32) << shift;
        d += 1;
    }
    t[b'-' as usize] = 62 << shift;
    t[b'_' as usize] = 63 << shift;
    t
}

static TABLES: [[u32; 256]; 4] = [table(0), table(1), table(2), table(3)];

/// The decoded length of `len` base64url characters without padding, or `None` when no
/// canonical encoding has that length (one character past a multiple of four).
pub(crate) fn decoded_len(len: usize) -> Option<usize> {
    match len % 4 {
        1 => None,
        rem => Some(len / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Strict base64url without padding into `out`, which must be exactly
/// [`decoded_len`]`(src.len())` long. Refuses any byte outside the alphabet (padding,
/// whitespace, `+`, `/`) and non-zero trailing bits, as `base64`'s `URL_SAFE_NO_PAD` does
/// (a unit test holds them equal on every string of up to four characters drawn from the
/// edge cases, and on 20,000 fixed-seed pseudo-random ones).
///
/// Why not `base64`'s decoder, which the rest of auth-rs uses: measured, on the three parts
/// of the ~400-byte benchmark token (callgrind, release), this takes 1,770 instructions and
/// `URL_SAFE_NO_PAD.decode_slice_unchecked` (base64 0.23, its fastest path) 3,360. The
/// difference is 5% of an HS256 verification (30,840 instructions), and without it that
/// verification would cost 0.625 of `jsonwebtoken::decode` instead of 0.594, missing the 0.6
/// goal (benches/README.md, auth-jwt). Only this hot path decodes here; JWKs, keys and
/// everything off the verification path use `base64`.
///
/// Returns `None` on any error; `out` then holds garbage.
pub(crate) fn decode_into(src: &[u8], out: &mut [u8]) -> Option<()> {
    if decoded_len(src.len()) != Some(out.len()) {
        return None;
    }
    let mut seen = 0u32;
    // Eight characters to six bytes at a time, fixed-size arrays so no bounds checks.
    let (octets, rest) = src.as_chunks::<8>();
    let (sixes, out_rest) = out.as_chunks_mut::<6>();
    for (o, c) in sixes.iter_mut().zip(octets) {
        let (hi, lo) = (
            group(&[c[0], c[1], c[2], c[3]]),
            group(&[c[4], c[5], c[6], c[7]]),
        );
        seen |= hi | lo;
        let w = u64::from(hi) << 24 | u64::from(lo);
        o.copy_from_slice(&w.to_be_bytes()[2..]);
    }
    // At most seven characters are left: a group of four, then two or three more.
    let (quad, tail) = match rest.split_first_chunk::<4>() {
        Some((q, t)) => (Some(group(q)), t),
        None => (None, rest),
    };
    let t = |i: usize, c: u8| TABLES[i][usize::from(c)];
    let (last, tail_bytes, unused) = match *tail {
        [] => (0, 0, 0),
        // The unused low bits of the last character must be zero.
        [a, b] => (t(0, a) | t(1, b), 1, 0xFFFF),
        [a, b, c] => (t(0, a) | t(1, b) | t(2, c), 2, 0xFF),
        _ => return None,
    };
    seen |= last | if last & unused != 0 { BAD } else { 0 };
    let mut end = [0u8; 5];
    let mut n = 0;
    if let Some(q) = quad {
        seen |= q;
        end[..3].copy_from_slice(&q.to_be_bytes()[1..]);
        n = 3;
    }
    end[n..n + tail_bytes].copy_from_slice(&last.to_be_bytes()[1..1 + tail_bytes]);
    n += tail_bytes;
    out_rest.copy_from_slice(end.get(..n)?);
    (seen & BAD == 0).then_some(())
}

/// Four base64url characters to 24 bits, with [`BAD`] bits set if any is not base64url.
#[inline(always)]
fn group(c: &[u8; 4]) -> u32 {
    TABLES[0][usize::from(c[0])]
        | TABLES[1][usize::from(c[1])]
        | TABLES[2][usize::from(c[2])]
        | TABLES[3][usize::from(c[3])]
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
        for bad in ["", "a", "a.b", ".b.c", "a.b."] {
            assert!(matches!(split(bad, 100), Err(Error::Malformed(_))), "{bad}");
        }
        // More parts land in the payload, whose decoding refuses the dots.
        let jwe = split("a.b.c.d.e", 100).unwrap();
        assert_eq!(
            (jwe.header, jwe.payload, jwe.signature),
            ("a", "b.c.d", "e")
        );
        assert!(matches!(extra_parts(jwe.payload), Error::Unsupported(_)));
        assert!(matches!(extra_parts("b.c"), Error::Malformed(_)));
        let c = split("h.p.s", 100).unwrap();
        assert_eq!(
            (c.header, c.payload, c.signature, c.signing_input),
            ("h", "p", "s", "h.p")
        );
    }

    /// Our decoder against `base64`'s strict `URL_SAFE_NO_PAD` on every string of up to
    /// four characters over an alphabet with the edge cases, and on pseudo-random strings.
    #[test]
    fn decoder_agrees_with_the_base64_crate() {
        let chars = b"AQgw-_09az+/=. \x80Zh";
        let ours = |s: &[u8]| {
            let mut out = vec![0; decoded_len(s.len())?];
            decode_into(s, &mut out).map(|()| out)
        };
        let theirs = |s: &[u8]| URL_SAFE_NO_PAD.decode(s).ok();
        let mut all: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let prev: Vec<Vec<u8>> = all.iter().filter(|v| v.len() == len - 1).cloned().collect();
            for p in prev {
                for c in chars {
                    all.push([p.clone(), vec![*c]].concat());
                }
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 23) as usize;
            let s: Vec<u8> = (0..len)
                .map(|i| {
                    let r = (seed >> (i % 8 * 8)) as u8;
                    if r < 8 {
                        chars[usize::from(r) % chars.len()]
                    } else {
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                            [usize::from(r) % 64]
                    }
                })
                .collect();
            all.push(s);
        }
        for s in all {
            assert_eq!(ours(&s), theirs(&s), "{:?}", String::from_utf8_lossy(&s));
        }
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
