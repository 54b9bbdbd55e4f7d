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
/// Eight bytes at a time (the last word overlapping the one before), with no branch on the
/// contents: this runs on every request, forged ones included.
pub fn is_base62(bytes: &[u8]) -> bool {
    // A key body: a constant length, so the word loop unrolls.
    if let Ok(body) = <&[u8; 36]>::try_from(bytes) {
        return words_are_base62(body);
    }
    if bytes.len() < 8 {
        // Pad with '0', a base62 digit.
        let mut word = [b'0'; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        return word_is_base62(u64::from_le_bytes(word));
    }
    let word_at = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let mut ok = word_is_base62(word_at(bytes.len() - 8));
    let mut i = 0;
    while i + 8 <= bytes.len() {
        ok &= word_is_base62(word_at(i));
        i += 8;
    }
    ok
}

/// [`is_base62`] for a fixed length of at least 8.
fn words_are_base62<const N: usize>(bytes: &[u8; N]) -> bool {
    let word_at = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let mut ok = word_is_base62(word_at(N - 8));
    let mut i = 0;
    while i + 8 <= N {
        ok &= word_is_base62(word_at(i));
        i += 8;
    }
    ok
}

/// SWAR: whether each of the eight bytes of `w` is in `0-9`, `A-Z` or `a-z`.
fn word_is_base62(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // For a byte x below 0x80, x + (0x80 - lo) has its high bit set iff x >= lo, and
    // x + (0x7f - hi) iff x > hi; neither sum carries into the next byte. Bytes of 0x80 and
    // above may carry, but then `ascii` is false whatever the ranges say.
    const fn at_least(lo: u64) -> u64 {
        ONES * (0x80 - lo)
    }
    const fn above(hi: u64) -> u64 {
        ONES * (0x7f - hi)
    }
    let ascii = w & HIGH == 0;
    let digit = w.wrapping_add(at_least(0x30)) & !w.wrapping_add(above(0x39));
    // Setting bit 5 maps A-Z onto a-z, and nothing else onto a-z.
    let l = w | (ONES * 0x20);
    let letter = l.wrapping_add(at_least(0x61)) & !l.wrapping_add(above(0x7a));
    ascii & ((digit | letter) & HIGH == HIGH)
}

/// How many bytes the CRC tables slice at most: the 30 random characters of a key body.
const SLICE_MAX: usize = 30;

/// The reflected CRC-32 tables for slicing by up to 30 bytes: `TABLES[k][b]` is the CRC
/// of byte `b` followed by `k` zero bytes. Built at compile time (30 KiB).
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
    t
};

/// One slicing step over `N` (4 to 30) bytes: the first four are folded into the CRC,
/// and every byte is looked up in its own table, so the lookups do not wait on each other.
fn slice<const N: usize>(crc: u32, chunk: &[u8; N]) -> u32 {
    let c = crc ^ u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    let mut out = TABLES[N - 1][(c & 0xff) as usize]
        ^ TABLES[N - 2][((c >> 8) & 0xff) as usize]
        ^ TABLES[N - 3][((c >> 16) & 0xff) as usize]
        ^ TABLES[N - 4][(c >> 24) as usize];
    let mut j = 4;
    while j < N {
        out ^= TABLES[N - 1 - j][usize::from(chunk[j])];
        j += 1;
    }
    out
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
    // Independent products rather than a Horner chain: no multiply waits on another.
    const PLACE: [u64; CHECKSUM_LEN] = [916_132_832, 14_776_336, 238_328, 3_844, 62, 1];
    let d = digits.map(|b| DIGIT[usize::from(b)]);
    let bad = d.iter().fold(0, |acc, &x| acc | x) & 0x80;
    let value = d
        .iter()
        .zip(PLACE)
        .fold(0, |acc, (&x, place)| acc + u64::from(x & 0x3f) * place);
    (bad == 0).then_some(value)
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
