//! `api_key`: auth-apikey's key format and checksum (`KeyFormat::parse`).
//!
//! Properties: a key is accepted exactly when it is `tst_` and 36 base62 characters whose
//! last six are the checksum of the first thirty, computed here twice: the crate's way
//! (`checksum::checksum`) and by a bit-at-a-time CRC-32 written independently; the id
//! returned is the body's first eight characters. The first byte picks the mode: the input
//! as a key, or a key built with a valid checksum from the input and then changed by byte
//! edits (raw inputs almost never carry a valid checksum).

use auth_apikey::{BODY_LEN, KeyFormat, checksum};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const PREFIX: &str = "tst";
const RANDOM_LEN: usize = 30;

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`), one bit at a time.
fn reference_crc32(data: &[u8]) -> u32 {
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

/// Six base62 digits, most significant first, left-padded with `0`.
fn reference_checksum(random: &[u8]) -> [u8; 6] {
    let mut n = reference_crc32(random);
    let mut out = [b'0'; 6];
    for digit in out.iter_mut().rev() {
        *digit = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Whether `key` should be accepted, by the reference.
fn well_formed(key: &[u8]) -> bool {
    let Some(body) = key.strip_prefix(b"tst_") else {
        return false;
    };
    body.len() == BODY_LEN
        && body.iter().all(u8::is_ascii_alphanumeric)
        && body[RANDOM_LEN..] == reference_checksum(&body[..RANDOM_LEN])
}

fn check_key(format: &KeyFormat, key: &[u8]) {
    let Ok(text) = std::str::from_utf8(key) else {
        assert!(!well_formed(key));
        return;
    };
    let parsed = format.parse(text);
    assert_eq!(parsed.is_ok(), well_formed(key), "{text:?}: {parsed:?}");
    if let Ok(id) = parsed {
        let body = &key[PREFIX.len() + 1..];
        assert_eq!(id.as_str().as_bytes(), &body[..8]);
        assert_eq!(checksum::checksum(&body[..RANDOM_LEN]), body[RANDOM_LEN..]);
    }
}

/// The property of target `api_key`.
pub fn check(data: &[u8]) {
    let format = KeyFormat::new(PREFIX).expect("a valid prefix");
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check_key(&format, rest);
        return;
    }
    let (seed, edits) = rest.split_at(rest.len().min(RANDOM_LEN));
    let mut random = [b'0'; RANDOM_LEN];
    for (r, s) in random.iter_mut().zip(seed) {
        *r = ALPHABET[usize::from(*s) % 62];
    }
    let sum = checksum::checksum(&random);
    assert_eq!(sum, reference_checksum(&random), "the crate's checksum");
    let mut key = format!("{PREFIX}_").into_bytes();
    key.extend_from_slice(&random);
    key.extend_from_slice(&sum);
    assert!(
        format
            .parse(std::str::from_utf8(&key).expect("ascii"))
            .is_ok()
    );
    check_key(&format, &crate::apply_edits(&key, edits));
}
