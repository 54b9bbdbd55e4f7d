//! Strings (borrowed unless they hold escapes, scanned eight bytes at a time) and numbers
//! (integers that fit a `u64` read as scanned) for the [`Parser`].

use std::borrow::Cow;

use super::{JsonError, Number, OneOrMany, Parser};

impl<'a> Parser<'a> {
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

    /// Skips any value, for a member whose presence is all that counts: `true`.
    ///
    /// # Errors
    ///
    /// A malformed value.
    pub(crate) fn present(&mut self) -> Result<bool, JsonError> {
        self.skip().map(|()| true)
    }

    /// Reads a string or an array of strings.
    ///
    /// # Errors
    ///
    /// Any other value, or a malformed one.
    pub(crate) fn strings(&mut self) -> Result<OneOrMany<'a>, JsonError> {
        match self.peek() {
            Some(b'"') => self.string_body().map(OneOrMany::One),
            Some(b'[') => {
                let start = self.pos;
                self.array(|p| p.string().map(drop))?;
                Ok(OneOrMany::Array(self.since(start)))
            }
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
        // Past f64's range (`1e400`) is refused, as serde_json refuses it, rather than read
        // as infinity.
        match digits.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Number::Float(f)),
            Ok(_) => self.fail("number out of range"),
            Err(_) => self.fail("invalid number"),
        }
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` from `pos`; whether it had
    /// neither a fraction nor an exponent.
    pub(super) fn number_body(&mut self) -> Result<bool, JsonError> {
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
    pub(super) fn string_body(&mut self) -> Result<Cow<'a, str>, JsonError> {
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
                Some(&c) if c >= 0x20 => i += 1,
                _ => return self.bad_string(i),
            }
        }
    }

    /// Skips a string from its opening quote at `pos`, checking it as [`Self::string_body`]
    /// does, without unescaping it into an owned copy.
    pub(super) fn skip_string(&mut self) -> Result<(), JsonError> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        loop {
            i = skip_plain(bytes, i);
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos = i;
                    let (_, len) = self.escape(i)?;
                    i += len;
                }
                Some(&c) if c >= 0x20 => i += 1,
                _ => return self.bad_string(i),
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
                Some(&c) if c >= 0x20 => i += 1,
                _ => return self.bad_string(i),
            }
        }
    }

    /// The error for the byte at `i` that ends a string early: a control character (which
    /// must be escaped), or the end of the text.
    #[cold]
    fn bad_string<T>(&mut self, i: usize) -> Result<T, JsonError> {
        self.pos = i;
        match self.text.as_bytes().get(i) {
            Some(_) => self.fail("control character in string"),
            None => self.fail("unterminated string"),
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
