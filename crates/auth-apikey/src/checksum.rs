//! GitHub's checksum for tokens: CRC-32 (IEEE 802.3, as zlib's `crc32`) of the random part,
//! written as six base62 digits (`0-9A-Za-z`), left-padded with `0`.
//!
//! The construction is the one GitHub published for its tokens in 2021 (`ghp_` and friends)
//! and npm adopted: a checksum lets a client, a leak scanner or the server reject a typo or a
//! made-up string offline, before any store lookup. It is not a MAC: anyone can compute it.
//! The prefix is not covered (GitHub's rule); the digest at rest covers the whole key.

/// The base62 alphabet, in GitHub's order: digits, then upper case, then lower case.
pub const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Length of the checksum in base62 digits.
pub const CHECKSUM_LEN: usize = 6;

/// Not a base62 digit, in [`DIGIT`].
const INVALID: u8 = 0xff;

/// The value of each byte as a base62 digit, or [`INVALID`].
const DIGIT: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Whether every byte of `bytes` is a base62 digit (`0-9A-Za-z`).
///
/// With no branch on the contents (this runs on every request, forged ones included), in a
/// shape the compiler turns into 16-byte vector operations.
pub fn is_base62(bytes: &[u8]) -> bool {
    if let Ok(body) = <&[u8; BODY_LEN]>::try_from(bytes) {
        return body_is_base62(body);
    }
    bytes.iter().fold(0, |bad, &b| bad | not_base62(b)) == 0
}

/// [`is_base62`] for a key body: three 16-byte windows (the last overlapping the second),
/// one lane per byte, which compile to a few dozen SSE2 or NEON instructions.
#[inline]
fn body_is_base62(body: &[u8; BODY_LEN]) -> bool {
    const LANES: usize = 16;
    let mut bad = [0u8; LANES];
    for start in [0, LANES, BODY_LEN - LANES] {
        for (lane, &b) in bad.iter_mut().zip(&body[start..start + LANES]) {
            *lane |= not_base62(b);
        }
    }
    u128::from_ne_bytes(bad) == 0
}

/// Zero if `b` is in `0-9`, `A-Z` or `a-z`, not zero otherwise: saturating subtractions, no
/// comparison, so that it vectorizes. (Setting bit 5 maps `A-Z` onto `a-z` and nothing else
/// onto `a-z`; a byte below `0` or `a` wraps to a large value.)
#[inline]
const fn not_base62(b: u8) -> u8 {
    let digit = b.wrapping_sub(b'0').saturating_sub(9);
    let letter = (b | 0x20).wrapping_sub(b'a').saturating_sub(25);
    if digit < letter { digit } else { letter }
}

/// How many bytes the CRC tables slice at most: the 30 random characters of a key body.
const SLICE_MAX: usize = 30;

/// The reflected CRC-32 tables for slicing by up to 30 bytes: `TABLES[k][b]` is the CRC
/// of byte `b` followed by `k` zero bytes, rotated left by `8 * (k % 4)` bits (see
/// [`slice`]). Built at compile time (30 KiB). `TABLES[0]` is the plain byte table.
static TABLES: [[u32; 256]; SLICE_MAX] = {
    let mut t = [[0u32; 256]; SLICE_MAX];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < SLICE_MAX {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    let mut k = 1;
    while k < SLICE_MAX {
        let mut i = 0;
        while i < 256 {
            t[k][i] = t[k][i].rotate_left(8 * (k % 4) as u32);
            i += 1;
        }
        k += 1;
    }
    t
};

/// One slicing step over `N` (4 to 30) bytes: the first four are folded into the CRC,
/// and every byte is looked up in its own table, so the lookups do not wait on each other.
///
/// The lookups are XORed in four groups, by table number modulo 4, and each group is
/// rotated back once at the end. One XOR chain of 30 lookups would take 30 cycles however
/// the source groups them (the compiler flattens XOR trees); the rotations keep four
/// independent chains of at most eight.
#[inline]
fn slice<const N: usize>(crc: u32, chunk: &[u8; N]) -> u32 {
    let mut bytes = *chunk;
    let head = crc ^ u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    bytes[..4].copy_from_slice(&head.to_le_bytes());
    let group = |g: usize| {
        (g..N)
            .step_by(4)
            .fold(0, |acc, k| acc ^ TABLES[k][usize::from(bytes[N - 1 - k])])
    };
    (group(0) ^ group(1).rotate_right(8)) ^ (group(2).rotate_right(16) ^ group(3).rotate_right(24))
}

/// CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's `crc32`) of `data`.
///
/// A key's 30 random characters take one step of 30 independent table lookups; other
/// lengths slice by 16, 8 and 4 bytes, then go byte by byte.
pub fn crc32(data: &[u8]) -> u32 {
    if let Ok(body) = <&[u8; SLICE_MAX]>::try_from(data) {
        return !slice(!0, body);
    }
    let mut crc = !0u32;
    let mut rest = data;
    while let Some((chunk, tail)) = rest.split_first_chunk::<16>() {
        crc = slice(crc, chunk);
        rest = tail;
    }
    if let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        crc = slice(crc, chunk);
        rest = tail;
    }
    if let Some((chunk, tail)) = rest.split_first_chunk::<4>() {
        crc = slice(crc, chunk);
        rest = tail;
    }
    for &b in rest {
        crc = TABLES[0][((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// `value` as six base62 digits, left-padded with `0` (the largest, for `u32::MAX`, is
/// `4gfFC3`).
pub fn encode(value: u32) -> [u8; CHECKSUM_LEN] {
    let mut out = [b'0'; CHECKSUM_LEN];
    let mut v = value;
    for slot in out.iter_mut().rev() {
        // `v % 62` is below 62, so the index is in bounds.
        *slot = ALPHABET[(v % 62) as usize];
        v /= 62;
    }
    out
}

/// The value of six base62 digits, or `None` if one is not a digit. Values above
/// `u32::MAX` (up to 62^6 - 1) are returned as they are: they never equal a CRC-32.
pub fn decode(digits: &[u8; CHECKSUM_LEN]) -> Option<u64> {
    let d = digits.map(|b| DIGIT[usize::from(b)]);
    let bad = (d[0] | d[1] | d[2] | d[3] | d[4] | d[5]) & 0x80;
    (bad == 0).then(|| place_value(&d))
}

/// The value of six base62 digit values (each below 62), as independent products rather
/// than a Horner chain: no multiply waits on another.
#[inline]
fn place_value(d: &[u8; CHECKSUM_LEN]) -> u64 {
    const PLACE: [u64; CHECKSUM_LEN] = [916_132_832, 14_776_336, 238_328, 3_844, 62, 1];
    (u64::from(d[0]) * PLACE[0] + u64::from(d[1]) * PLACE[1])
        + (u64::from(d[2]) * PLACE[2] + u64::from(d[3]) * PLACE[3])
        + (u64::from(d[4]) * PLACE[4] + u64::from(d[5]))
}

/// The checksum of `random`: `encode(crc32(random))`.
pub fn checksum(random: &[u8]) -> [u8; CHECKSUM_LEN] {
    encode(crc32(random))
}

/// Whether `body` is a random part followed by its six-digit checksum.
pub fn verify(body: &[u8]) -> bool {
    let Some(split) = body.len().checked_sub(CHECKSUM_LEN) else {
        return false;
    };
    let (random, check) = body.split_at(split);
    let Ok(check) = <&[u8; CHECKSUM_LEN]>::try_from(check) else {
        return false;
    };
    decode(check) == Some(u64::from(crc32(random)))
}

/// Length of a key body: 30 random characters and their checksum.
const BODY_LEN: usize = SLICE_MAX + CHECKSUM_LEN;

/// The offline verdict on a key body, computed in one go with no call and no early exit
/// (the work is the same whatever the body): whether all 36 characters are base62, and
/// whether the last six are the checksum of the first 30.
///
/// The two are independent, so the CPU overlaps the CRC's table lookups with the
/// character checks. For a body that is not base62 the second answer means nothing.
#[inline]
pub(crate) fn check_body(body: &[u8; BODY_LEN]) -> (bool, bool) {
    let (random, sum) = body.split_at(SLICE_MAX);
    let (Ok(random), Ok(sum)) = (
        <&[u8; SLICE_MAX]>::try_from(random),
        <&[u8; CHECKSUM_LEN]>::try_from(sum),
    ) else {
        // Unreachable: the lengths add up.
        return (false, false);
    };
    let well_formed = body_is_base62(body);
    let crc = !slice(!0, random);
    // Not `decode`: its own digit check repeats the one above, and when the body is not
    // base62 the second answer is ignored.
    let sum = place_value(&sum.map(|b| DIGIT[usize::from(b)]));
    (well_formed, sum == u64::from(crc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        // The classic check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn encode_pads_and_tops_out() {
        assert_eq!(&encode(0), b"000000");
        assert_eq!(&encode(61), b"00000z");
        assert_eq!(&encode(62), b"000010");
        assert_eq!(&encode(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn decode_inverts_encode() {
        for v in [0, 1, 61, 62, 895_380_036, 3_913_073_424, u32::MAX] {
            assert_eq!(decode(&encode(v)), Some(u64::from(v)));
        }
        assert_eq!(decode(b"zzzzzz"), Some(62u64.pow(6) - 1));
        assert_eq!(decode(b"00000-"), None);
        assert_eq!(decode(b"\xff00000"[..6].try_into().unwrap()), None);
    }

    #[test]
    fn verify_checks_the_last_six() {
        let random = b"7TQUoGbwsFRKCzRYOs4MQvIqsaWL38";
        let mut body = random.to_vec();
        body.extend_from_slice(&checksum(random));
        assert_eq!(&body[30..], b"0yavFU");
        assert!(verify(&body));
        body[0] = b'8';
        assert!(!verify(&body));
        assert!(!verify(b"short"));
    }

    #[test]
    fn base62_check() {
        assert!(is_base62(ALPHABET));
        assert!(!is_base62(b"abc-def"));
        assert!(!is_base62("é".as_bytes()));
        assert!(is_base62(b""));
        for b in 0..=255u8 {
            assert_eq!(not_base62(b) == 0, b.is_ascii_alphanumeric(), "{b:#x}");
        }
        // Every byte value in every position of a 36-byte body, against the plain check.
        let mut body = *b"7TQUoGbwsFRKCzRYOs4MQvIqsaWL380yavFU";
        for i in 0..body.len() {
            let keep = body[i];
            for b in 0..=255u8 {
                body[i] = b;
                assert_eq!(is_base62(&body), b.is_ascii_alphanumeric(), "{b:#x} at {i}");
            }
            body[i] = keep;
        }
    }

    /// Bit by bit, straight from the definition.
    fn crc32_reference(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn sliced_crc32_matches_the_definition_at_every_length() {
        let data: Vec<u8> = (0..200u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in 0..data.len() {
            for start in [0, 1, 3] {
                let d = &data[start..(start + len).min(data.len())];
                assert_eq!(crc32(d), crc32_reference(d), "length {}", d.len());
            }
        }
    }
}
