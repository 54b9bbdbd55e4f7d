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

/// Whether every byte of `bytes` is a base62 digit.
///
/// Looks at every byte whatever it finds (no early exit), so that the loop vectorizes.
pub fn is_base62(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(true, |ok, &b| ok & b.is_ascii_alphanumeric())
}

/// CRC-32 (IEEE 802.3 polynomial, reflected, as zlib's `crc32`) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
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
    let mut value = 0u64;
    let mut bad = 0u8;
    for &b in digits {
        let d = DIGIT[usize::from(b)];
        bad |= d & 0x80;
        value = value * 62 + u64::from(d & 0x3f);
    }
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
    }
}
