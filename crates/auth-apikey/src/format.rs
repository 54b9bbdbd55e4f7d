//! The key format: `<prefix>_<id><secret><checksum>`, its parsing, its generation from the
//! operating system's CSPRNG, and the regular expression leak scanners look for.
//!
//! ```text
//! sk_live_Xq3R9tVb 1Fz0aPpKc8LmN4wEy2Ud7h 2DiM0k
//! ^^^^^^^ ^^^^^^^^ ^^^^^^^^^^^^^^^^^^^^^^ ^^^^^^
//! prefix  key id   secret part            checksum: base62(crc32(id + secret))
//!         8 base62 22 base62 (130 bits)   6 base62
//! ```
//!
//! The body (id, secret and checksum, 36 base62 characters) has exactly the shape of a GitHub
//! token: 30 random characters and GitHub's 6-character CRC-32 checksum of them, so the same
//! scanners and validators apply. The key id is random too, but not secret: it is the index
//! the store looks the key up by, and it may appear in logs and listings.

use auth_core::Secret;
use zeroize::Zeroize;

use crate::checksum::{self, CHECKSUM_LEN};
use crate::error::Error;
use crate::id::{ID_LEN, KeyId};
use crate::refusal::Refusal;

/// Length of the secret part in base62 characters: 22 characters carry 130.9 bits.
pub const SECRET_LEN: usize = 22;
/// Length of the body after `<prefix>_`: id, secret, checksum.
pub const BODY_LEN: usize = ID_LEN + SECRET_LEN + CHECKSUM_LEN;
/// The longest prefix accepted, in bytes.
pub const MAX_PREFIX_LEN: usize = 32;

/// A regular expression (Rust `regex` / RE2 / PCRE syntax) matching any key of this format,
/// whatever its prefix: for leak scanners. Follow a match with the checksum check
/// ([`checksum::verify`] on the 36 characters after the last `_`) to drop false positives;
/// [`KeyFormat::pattern`] gives the tighter pattern for one prefix. (`\b` needs the `regex`
/// crate's `unicode-perl` feature, on by default.)
pub const KEY_PATTERN: &str = r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_[0-9A-Za-z]{36}\b";

/// The format of one kind of key: its prefix (`sk_live`, `sk_test`).
///
/// ```
/// use auth_apikey::KeyFormat;
///
/// let format = KeyFormat::new("sk_test").unwrap();
/// let (id, key) = format.generate().unwrap();
/// let key = key.expose_str().unwrap();
/// assert!(key.starts_with("sk_test_"));
/// assert_eq!(format.parse(key), Ok(id));
/// assert!(KeyFormat::new("sk live").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyFormat {
    /// The prefix with its trailing `_`.
    head: Box<str>,
}

impl KeyFormat {
    /// A format with `prefix`: 1 to 32 ASCII letters, digits and single inner underscores,
    /// starting with a letter (`sk_live`, `ghp`, `acme_test`). Matching is case-sensitive.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPrefix`] when the prefix breaks these rules.
    pub fn new(prefix: &str) -> Result<Self, Error> {
        let b = prefix.as_bytes();
        let valid = !b.is_empty()
            && b.len() <= MAX_PREFIX_LEN
            && b[0].is_ascii_alphabetic()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
            && !prefix.ends_with('_')
            && !prefix.contains("__");
        if !valid {
            return Err(Error::InvalidPrefix);
        }
        Ok(Self {
            head: format!("{prefix}_").into_boxed_str(),
        })
    }

    /// The prefix, without the `_` that follows it in a key.
    pub fn prefix(&self) -> &str {
        &self.head[..self.head.len() - 1]
    }

    /// The length in bytes of every key of this format.
    pub fn key_len(&self) -> usize {
        self.head.len() + BODY_LEN
    }

    /// Whether `key` starts with this format's `<prefix>_`: a cheap test of whose key it is,
    /// not of its validity.
    pub fn recognizes(&self, key: &str) -> bool {
        key.starts_with(&*self.head)
    }

    /// Parses `key` offline: exact length, prefix, base62 body, checksum. Returns the key id
    /// to look up; says nothing about whether the key exists.
    ///
    /// Nothing is trimmed: surrounding whitespace makes a key malformed.
    ///
    /// # Errors
    ///
    /// [`Refusal::Malformed`] for a wrong length, prefix or character,
    /// [`Refusal::BadChecksum`] for a well-formed key whose checksum does not match.
    #[inline]
    pub fn parse(&self, key: &str) -> Result<KeyId, Refusal> {
        self.parse_inline(key)
    }

    /// [`KeyFormat::parse`], always inlined: on the path of every request, where its result
    /// should stay in registers.
    #[inline(always)]
    pub(crate) fn parse_inline(&self, key: &str) -> Result<KeyId, Refusal> {
        if key.len() != self.key_len() {
            return Err(Refusal::Malformed);
        }
        // A body of the exact length after a head of the exact length: then every step
        // below works on arrays of known size, inlined, with no call.
        let Some((head, body)) = key.as_bytes().split_last_chunk::<BODY_LEN>() else {
            return Err(Refusal::Malformed);
        };
        let (base62, checksum_ok) = checksum::check_body(body);
        if !(same_bytes(head, self.head.as_bytes()) & base62) {
            return Err(Refusal::Malformed);
        }
        if !checksum_ok {
            return Err(Refusal::BadChecksum);
        }
        let Some(id) = body.first_chunk::<ID_LEN>() else {
            return Err(Refusal::Malformed);
        };
        Ok(KeyId::from_bytes_unchecked(*id))
    }

    /// A fresh key: a random id and secret from the operating system's CSPRNG, base62 by
    /// rejection sampling (every character uniform), and the checksum.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] when the operating system cannot supply randomness.
    pub fn generate(&self) -> Result<(KeyId, Secret), Error> {
        let mut random = [0u8; ID_LEN + SECRET_LEN];
        fill_base62(&mut random)?;
        let mut key = Vec::with_capacity(self.key_len());
        key.extend_from_slice(self.head.as_bytes());
        key.extend_from_slice(&random);
        key.extend_from_slice(&checksum::checksum(&random));
        let mut id = [0u8; ID_LEN];
        id.copy_from_slice(&random[..ID_LEN]);
        random.zeroize();
        Ok((KeyId::from_bytes_unchecked(id), Secret::new(key)))
    }

    /// A regular expression matching exactly the keys of this format, for leak scanners:
    /// `\bsk_live_[0-9A-Za-z]{36}\b`. (A prefix has no regex metacharacters.)
    pub fn pattern(&self) -> String {
        format!(r"\b{}[0-9A-Za-z]{{{BODY_LEN}}}\b", self.head)
    }

    /// The public hint for a key: `<prefix>_<id>…`, for listings and logs.
    pub fn hint(&self, id: &KeyId) -> String {
        format!("{}{id}\u{2026}", self.head)
    }
}

/// `a == b`, a word at a time (the last word overlapping the one before), without a call to
/// `memcmp`: a key's head against ours, on every request. Not constant time (a prefix is
/// public).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a == b;
    }
    let word = |s: &[u8], i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    };
    let mut diff = word(a, n - 8) ^ word(b, n - 8);
    let mut i = 0;
    while i + 8 < n {
        diff |= word(a, i) ^ word(b, i);
        i += 8;
    }
    diff == 0
}

/// Fills `out` with uniformly random base62 characters.
fn fill_base62(out: &mut [u8]) -> Result<(), Error> {
    // 248 = 4 * 62: bytes below it map to base62 without bias; about 3% are rejected.
    const LIMIT: u8 = 248;
    let mut pool = [0u8; 48];
    let mut filled = 0;
    let result = loop {
        if let Err(e) = getrandom::fill(&mut pool) {
            break Err(Error::Random(Box::new(e)));
        }
        for &b in &pool {
            if filled == out.len() {
                break;
            }
            if b < LIMIT {
                out[filled] = checksum::ALPHABET[usize::from(b % 62)];
                filled += 1;
            }
        }
        if filled == out.len() {
            break Ok(());
        }
    };
    pool.zeroize();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules() {
        for ok in [
            "sk_live",
            "sk_test",
            "ghp",
            "b62",
            "a",
            "Acme_Prod_2",
            &"a".repeat(32),
        ] {
            assert!(KeyFormat::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "_sk",
            "sk_",
            "sk__live",
            "2sk",
            "sk-live",
            "sk live",
            "ské",
            &"a".repeat(33),
        ] {
            assert!(KeyFormat::new(bad).is_err(), "{bad}");
        }
        assert_eq!(KeyFormat::new("sk_live").unwrap().prefix(), "sk_live");
    }

    #[test]
    fn generated_keys_parse_back() {
        let f = KeyFormat::new("sk_live").unwrap();
        let (id, key) = f.generate().unwrap();
        let text = key.expose_str().unwrap();
        assert_eq!(text.len(), f.key_len());
        assert_eq!(f.parse(text), Ok(id));
        assert_eq!(&text[8..16], id.as_str());
        assert_eq!(f.hint(&id), format!("sk_live_{id}\u{2026}"));
    }

    #[test]
    fn parse_refusals() {
        let f = KeyFormat::new("tst").unwrap();
        let good = "tst_7TQUoGbwsFRKCzRYOs4MQvIqsaWL380yavFU";
        assert_eq!(
            f.parse(good).map(|id| id.to_string()),
            Ok("7TQUoGbw".into())
        );
        assert_eq!(f.parse(&good[..good.len() - 1]), Err(Refusal::Malformed));
        assert_eq!(
            f.parse(&good.replace("tst_", "tsx_")),
            Err(Refusal::Malformed)
        );
        assert_eq!(f.parse(&good.replace('U', "-")), Err(Refusal::Malformed));
        assert_eq!(
            f.parse(&good.replace("FU", "FV")),
            Err(Refusal::BadChecksum)
        );
        assert_eq!(f.parse(""), Err(Refusal::Malformed));
    }

    #[test]
    fn same_bytes_is_slice_equality() {
        let a: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..=a.len() {
            assert!(same_bytes(&a[..n], &a[..n]), "length {n}");
            assert!(!same_bytes(&a[..n], &a[..n.saturating_sub(1)]) || n == 0);
            for i in 0..n {
                let mut b = a[..n].to_vec();
                b[i] ^= 0x40;
                assert!(!same_bytes(&a[..n], &b), "length {n}, byte {i}");
            }
        }
    }

    #[test]
    fn key_id_round_trips() {
        let id: KeyId = "AbCd1234".parse().unwrap();
        assert_eq!(id.to_string(), "AbCd1234");
        assert_eq!(format!("{id:?}"), "KeyId(AbCd1234)");
        assert!("AbCd123".parse::<KeyId>().is_err());
        assert!("AbCd123-".parse::<KeyId>().is_err());
    }

    #[test]
    fn pattern_names_the_prefix() {
        let f = KeyFormat::new("sk_live").unwrap();
        assert_eq!(f.pattern(), r"\bsk_live_[0-9A-Za-z]{36}\b");
    }

    #[test]
    fn patterns_find_keys_in_text() {
        let f = KeyFormat::new("acme_prod").unwrap();
        let (_, key) = f.generate().unwrap();
        let key = key.expose_str().unwrap();
        let text = format!("config:\n  token: \"{key}\"\n");
        for pattern in [KEY_PATTERN.to_owned(), f.pattern()] {
            let re = regex::Regex::new(&pattern).unwrap();
            assert_eq!(re.find(&text).map(|m| m.as_str()), Some(key), "{pattern}");
            assert!(!re.is_match(&format!("{key}0")), "{pattern}: 37 characters");
        }
    }
}
