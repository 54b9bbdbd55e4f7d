//! Strict JSON for JOSE, read by hand in one pass: member names unique at every depth
//! (RFC 7515 §4, RFC 7519 §4: a parser must reject duplicates or use the last; we reject),
//! strings borrowed from the input unless they hold escapes, nesting bounded, nothing after
//! the value.
//!
//! Headers and claims are read on every verification, and serde_json was a third of the
//! work that is not the signature; this reader does what they need and no more (see
//! ARCHITECTURE.md). serde_json still reads keys and the application's claims type; every
//! input the two disagree on is a bug, and the tests below hold them to each other.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

/// Objects and arrays nest at most this deep (as serde_json's default limit).
const MAX_DEPTH: u32 = 128;

/// Why a JSON text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    at: usize,
    what: Cow<'static, str>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// A JSON number: an integer that fits a `u64`, or anything else as an `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Unsigned(u64),
    Float(f64),
}

/// A string or an array of strings (`aud`, `scp`); a single string is held without a `Vec`.
#[derive(Debug)]
pub(crate) enum OneOrMany<'a> {
    One(Cow<'a, str>),
    Many(Vec<Cow<'a, str>>),
}

impl<'a> OneOrMany<'a> {
    /// The strings, one for a string member.
    pub(crate) fn as_slice(&self) -> &[Cow<'a, str>] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

/// A reader over one JSON text, already checked to be UTF-8.
pub(crate) struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Parser<'a> {
    /// A reader over `json`.
    ///
    /// # Errors
    ///
    /// When `json` is not UTF-8.
    pub(crate) fn new(json: &'a [u8]) -> Result<Self, JsonError> {
        let text = std::str::from_utf8(json).map_err(|e| JsonError {
            at: e.valid_up_to(),
            what: "invalid UTF-8".into(),
        })?;
        Ok(Self {
            text,
            pos: 0,
            depth: 0,
        })
    }

    /// An error at the current position.
    pub(crate) fn error(&self, what: impl Into<Cow<'static, str>>) -> JsonError {
        JsonError {
            at: self.pos,
            what: what.into(),
        }
    }

    fn fail<T>(&self, what: impl Into<Cow<'static, str>>) -> Result<T, JsonError> {
        Err(self.error(what))
    }

    /// The next byte that is not JSON whitespace, without taking it.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    #[inline]
    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    /// Checks that only whitespace follows the value.
    ///
    /// # Errors
    ///
    /// Trailing data.
    pub(crate) fn end(mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("trailing data"),
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        Ok(())
    }

    /// Reads an object, handing each member's name to `member`, which must read its value.
    ///
    /// # Errors
    ///
    /// The first syntax error, or the first error of `member`.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.sequence(
            (b'{', b'}'),
            "expected an object",
            "expected `,` or `}`",
            |p| {
                if p.peek() != Some(b'"') {
                    return p.fail("expected a member name");
                }
                let name = p.string_body()?;
                p.expect(b':', "expected `:`")?;
                member(p, name)
            },
        )
    }

    /// Reads an array, calling `item` to read each element.
    ///
    /// # Errors
    ///
    /// The first syntax error, or the first error of `item`.
    pub(crate) fn array(
        &mut self,
        item: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.sequence(
            (b'[', b']'),
            "expected an array",
            "expected `,` or `]`",
            item,
        )
    }

    /// `open`, then items separated by commas, then `close`, one level deeper.
    #[inline(always)]
    fn sequence(
        &mut self,
        (open, close): (u8, u8),
        what: &'static str,
        separator: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.expect(open, what)?;
        self.enter()?;
        if self.peek() == Some(close) {
            self.pos += 1;
        } else {
            loop {
                item(self)?;
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(c) if c == close => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.fail(separator),
                }
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Reads a string value.
    ///
    /// # Errors
    ///
    /// Any other value, or a malformed string.
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a string");
        }
        self.string_body()
    }

    /// Reads a string or an array of strings.
    ///
    /// # Errors
    ///
    /// Any other value, or a malformed one.
    pub(crate) fn strings(&mut self) -> Result<OneOrMany<'a>, JsonError> {
        match self.peek() {
            Some(b'"') => self.string_body().map(OneOrMany::One),
            Some(b'[') => self.string_array().map(OneOrMany::Many),
            _ => self.fail("expected a string or an array of strings"),
        }
    }

    /// Reads an array of strings.
    ///
    /// # Errors
    ///
    /// Any other value, or a malformed one.
    pub(crate) fn string_array(&mut self) -> Result<Vec<Cow<'a, str>>, JsonError> {
        let mut out = Vec::new();
        self.array(|p| {
            out.push(p.string()?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads a number.
    ///
    /// # Errors
    ///
    /// Any other value, or a malformed number.
    pub(crate) fn number(&mut self) -> Result<Number, JsonError> {
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return self.fail("expected a number");
        }
        let start = self.pos;
        // The common case, a NumericDate in whole seconds: digits only, read as scanned.
        let bytes = self.text.as_bytes();
        let mut i = start;
        let mut n = 0u64;
        while let Some(&d) = bytes.get(i)
            && d.is_ascii_digit()
        {
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            i += 1;
        }
        let plain = i - start;
        if (1..=19).contains(&plain)
            && (plain == 1 || bytes[start] != b'0')
            && !matches!(bytes.get(i), Some(b'.' | b'e' | b'E'))
        {
            // Nineteen digits cannot overflow a u64.
            self.pos = i;
            return Ok(Number::Unsigned(n));
        }
        let integer = self.number_body()?;
        let digits = self.text.get(start..self.pos).unwrap_or_default();
        // Past u64::MAX integers are read as floats, as serde_json does.
        if integer
            && !digits.starts_with('-')
            && let Some(n) = digits.bytes().try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
        {
            return Ok(Number::Unsigned(n));
        }
        // The grammar was checked above; Rust's float syntax is a superset of JSON's.
        match digits.parse::<f64>() {
            Ok(f) => Ok(Number::Float(f)),
            Err(_) => self.fail("invalid number"),
        }
    }

    /// Reads any value, checking its objects for duplicate members.
    ///
    /// # Errors
    ///
    /// The first syntax error or duplicate member.
    pub(crate) fn skip(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            Some(b'{') => {
                let mut members = Members::default();
                self.object(|p, name| {
                    members.insert(p, name)?;
                    p.skip()
                })
            }
            Some(b'[') => self.array(Self::skip),
            Some(b'"') => self.string_body().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number_body().map(drop),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            _ => self.fail("expected a value"),
        }
    }

    fn literal(&mut self, word: &'static str) -> Result<(), JsonError> {
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        if rest.starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            self.fail("expected a value")
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` from `pos`; whether it had
    /// neither a fraction nor an exponent.
    fn number_body(&mut self) -> Result<bool, JsonError> {
        let bytes = self.text.as_bytes();
        let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
        let digits_from = |mut i: usize| {
            while at(i).is_ascii_digit() {
                i += 1;
            }
            i
        };
        let mut i = self.pos;
        if at(i) == b'-' {
            i += 1;
        }
        i = match at(i) {
            b'0' => i + 1,
            b'1'..=b'9' => digits_from(i + 1),
            _ => {
                self.pos = i;
                return self.fail("invalid number");
            }
        };
        let mut integer = true;
        if at(i) == b'.' {
            integer = false;
            if !at(i + 1).is_ascii_digit() {
                self.pos = i + 1;
                return self.fail("invalid number");
            }
            i = digits_from(i + 1);
        }
        if matches!(at(i), b'e' | b'E') {
            integer = false;
            i += 1;
            if matches!(at(i), b'+' | b'-') {
                i += 1;
            }
            if !at(i).is_ascii_digit() {
                self.pos = i;
                return self.fail("invalid number");
            }
            i = digits_from(i);
        }
        self.pos = i;
        Ok(integer)
    }

    /// A string from its opening quote at `pos`: borrowed when it has no escapes. Inlined:
    /// most strings are short member names, where a call costs as much as the scan.
    #[inline(always)]
    fn string_body(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        // The text is UTF-8: the bytes of a multi-byte character are all >= 0x80, so a
        // quote or backslash byte is always a whole character and a slice between two of
        // them is on character boundaries.
        loop {
            i = skip_plain(bytes, i);
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(self.text.get(start..i).unwrap_or_default()));
                }
                Some(b'\\') => return self.unescape(start, i).map(Cow::Owned),
                Some(&c) if c < 0x20 => {
                    self.pos = i;
                    return self.fail("control character in string");
                }
                Some(_) => i += 1,
                None => {
                    self.pos = i;
                    return self.fail("unterminated string");
                }
            }
        }
    }

    /// The rest of a string with escapes, from `start` (after the quote) with the first
    /// backslash at `i`.
    #[inline(never)]
    fn unescape(&mut self, start: usize, mut i: usize) -> Result<String, JsonError> {
        let bytes = self.text.as_bytes();
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            match bytes.get(i) {
                Some(b'"') => {
                    out.push_str(self.text.get(run..i).unwrap_or_default());
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.text.get(run..i).unwrap_or_default());
                    self.pos = i;
                    let (c, len) = self.escape(i)?;
                    out.push(c);
                    i += len;
                    run = i;
                }
                Some(&c) if c < 0x20 => {
                    self.pos = i;
                    return self.fail("control character in string");
                }
                Some(_) => i += 1,
                None => {
                    self.pos = i;
                    return self.fail("unterminated string");
                }
            }
        }
    }

    /// The escape at `i` (its backslash): the character and the escape's length.
    fn escape(&self, i: usize) -> Result<(char, usize), JsonError> {
        let bytes = self.text.as_bytes();
        let c = match bytes.get(i + 1) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hi = self.hex4(i + 2)?;
                return match hi {
                    0xD800..=0xDBFF => {
                        if bytes.get(i + 6..i + 8) != Some(b"\\u") {
                            return self.fail("unpaired surrogate in \\u escape");
                        }
                        let lo = self.hex4(i + 8)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return self.fail("unpaired surrogate in \\u escape");
                        }
                        let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        match char::from_u32(code) {
                            Some(c) => Ok((c, 12)),
                            None => self.fail("invalid \\u escape"),
                        }
                    }
                    0xDC00..=0xDFFF => self.fail("unpaired surrogate in \\u escape"),
                    _ => match char::from_u32(hi) {
                        Some(c) => Ok((c, 6)),
                        None => self.fail("invalid \\u escape"),
                    },
                };
            }
            _ => return self.fail("invalid escape"),
        };
        Ok((c, 2))
    }

    fn hex4(&self, i: usize) -> Result<u32, JsonError> {
        let digits = self.text.as_bytes().get(i..i + 4).unwrap_or_default();
        if digits.len() != 4 {
            return self.fail("invalid \\u escape");
        }
        digits
            .iter()
            .try_fold(0u32, |acc, &d| match char::from(d).to_digit(16) {
                Some(v) => Ok(acc << 4 | v),
                None => self.fail("invalid \\u escape"),
            })
    }
}

/// The index of the first byte at or after `i` that is a quote, a backslash or a control
/// character, or of the last few bytes: eight bytes at a time.
#[inline(always)]
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `x` that is below `n`, exact up to the first such byte
    // (a borrow can mark later ones): the first is all that is used.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    while let Some(chunk) = bytes.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let hits = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i
}

/// Remembers the member names of one object and refuses a repeat. The callers' registered
/// names are one bit each; other names, the first 16 borrowed ones inline and compared
/// linearly, the rest (and names with escapes, which own their text) in an ordered set, so
/// the work stays O(n log n) on any input and the common case allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Members<'a> {
    known: u32,
    inline: [&'a str; INLINE],
    len: usize,
    spilled: BTreeSet<Cow<'a, str>>,
}

const INLINE: usize = 16;

impl<'a> Members<'a> {
    /// Records the caller's registered name number `bit`, or fails if the object had it.
    ///
    /// # Errors
    ///
    /// A duplicate member.
    pub(crate) fn known(&mut self, p: &Parser<'_>, bit: u32, name: &str) -> Result<(), JsonError> {
        let mask = 1u32 << bit;
        if self.known & mask != 0 {
            return duplicate(p, name);
        }
        self.known |= mask;
        Ok(())
    }

    /// Records a name that is not one of the caller's registered names, or fails if the
    /// object had it.
    ///
    /// # Errors
    ///
    /// A duplicate member.
    pub(crate) fn insert(&mut self, p: &Parser<'_>, name: Cow<'a, str>) -> Result<(), JsonError> {
        let seen = self.inline[..self.len].contains(&&*name) || self.spilled.contains(&*name);
        if seen {
            return duplicate(p, &name);
        }
        match name {
            Cow::Borrowed(name) if self.len < INLINE => {
                self.inline[self.len] = name;
                self.len += 1;
            }
            name => {
                self.spilled.insert(name);
            }
        }
        Ok(())
    }
}

fn duplicate(p: &Parser<'_>, name: &str) -> Result<(), JsonError> {
    p.fail(format!("duplicate member {}", crate::error::shown(name)))
}

/// Checks that `json` is one JSON value with unique members at every depth.
///
/// # Errors
///
/// A syntax error, a duplicate member or trailing data.
pub(crate) fn check_unique(json: &[u8]) -> Result<(), JsonError> {
    let mut p = Parser::new(json)?;
    p.skip()?;
    p.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(json: &str) -> Result<Cow<'_, str>, JsonError> {
        let mut p = Parser::new(json.as_bytes())?;
        let s = p.string()?;
        p.end()?;
        Ok(s)
    }

    #[test]
    fn duplicates_are_found_at_any_depth() {
        assert!(check_unique(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert!(check_unique(br#"{"a":1,"a":2}"#).is_err());
        assert!(check_unique(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(check_unique(br#"[{"x":1,"x":1}]"#).is_err());
        // An escaped name equal to a plain one is the same name.
        assert!(check_unique(br#"{"alg":1,"\u0061lg":2}"#).is_err());
        // Past the inline names too.
        let many: Vec<String> = (0..40).map(|i| format!("\"m{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(check_unique(ok.as_bytes()).is_ok());
        let dup = format!("{{{},\"m3\":0}}", many.join(","));
        let err = check_unique(dup.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("duplicate member \"m3\""), "{err}");
    }

    #[test]
    fn trailing_data_is_refused() {
        assert!(check_unique(b" {\"a\":1} \r\n\t").is_ok());
        assert!(check_unique(br#"{"a":1} x"#).is_err());
        assert!(check_unique(br#"{"a":1}{"b":2}"#).is_err());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        assert!(check_unique(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert!(check_unique(ok.as_bytes()).is_ok());
        let over = format!("{}{}", "[".repeat(129), "]".repeat(129));
        assert!(check_unique(over.as_bytes()).is_err());
    }

    #[test]
    fn strings_and_escapes() {
        assert!(matches!(string(r#""plain""#), Ok(Cow::Borrowed("plain"))));
        assert_eq!(string(r#""é\u00e9\n\"\\\/""#).unwrap(), "éé\n\"\\/");
        assert_eq!(string(r#""\ud83d\ude00""#).unwrap(), "😀");
        assert_eq!(string(r#""\u0000""#).unwrap(), "\0");
        for bad in [
            r#""\ud83d""#,
            r#""\ud83d\u0041""#,
            r#""\ude00""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\x""#,
            "\"a\u{1}\"",
            r#""open"#,
            r#""\"#,
            "'single'",
        ] {
            assert!(string(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn numbers() {
        let num = |s: &str| {
            let mut p = Parser::new(s.as_bytes())?;
            let n = p.number()?;
            p.end().map(|()| n)
        };
        assert_eq!(num("0"), Ok(Number::Unsigned(0)));
        assert_eq!(num("1700000000"), Ok(Number::Unsigned(1_700_000_000)));
        assert_eq!(num("18446744073709551615"), Ok(Number::Unsigned(u64::MAX)));
        assert_eq!(
            num("18446744073709551616"),
            Ok(Number::Float(1.8446744073709552e19))
        );
        assert_eq!(num("-5"), Ok(Number::Float(-5.0)));
        assert_eq!(num("1.5e9"), Ok(Number::Float(1.5e9)));
        assert_eq!(num("2E-1"), Ok(Number::Float(0.2)));
        for bad in [
            "01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1_0", "NaN", "inf", "--1",
        ] {
            assert!(num(bad).is_err(), "{bad}");
        }
    }

    /// Our reader and serde_json accept the same texts (ours also refuses duplicates, which
    /// these texts never have).
    #[test]
    fn agrees_with_serde_json() {
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"a\"",
            "\"b\"",
            "\"\\u00e9\"",
            "\"\\ud800\"",
            "\"\\",
            "0",
            "-1",
            "1.5",
            "1e3",
            "-",
            ".",
            "e",
            "true",
            "false",
            "null",
            "nul",
            " ",
            "\n",
            "\u{0}",
            "é",
            "\"",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut agreed = 0;
        for _ in 0..200_000 {
            let len = next() % 9;
            let text: String = (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            let ours = check_unique(text.as_bytes());
            if ours.is_ok() != theirs {
                // The one difference allowed: a duplicate member, which serde_json keeps.
                let dup = ours
                    .as_ref()
                    .is_err_and(|e| e.what.starts_with("duplicate member"));
                assert!(dup, "{text:?}: ours {ours:?}, serde_json ok: {theirs}");
            }
            agreed += usize::from(theirs);
        }
        assert!(agreed > 1000, "too few valid texts generated: {agreed}");
    }
}
