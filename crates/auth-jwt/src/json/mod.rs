//! Strict JSON for JOSE, read by hand in one pass: member names unique at every depth
//! (RFC 7515 §4, RFC 7519 §4: a parser must reject duplicates or use the last; we reject),
//! strings borrowed from the input unless they hold escapes, nesting bounded, nothing after
//! the value.
//!
//! Headers and claims are read on every verification, and serde_json was a third of the
//! work that is not the signature; this reader does what they need and no more (see
//! ARCHITECTURE.md). serde_json still reads keys and the application's claims type; every
//! input the two disagree on is a bug, and the tests hold them to each other.
//!
//! The structure (objects, arrays, nesting, any value) is here; strings and numbers in
//! `scalars`; the duplicate-member bookkeeping, and the checks built on it, in `members`.

use std::borrow::Cow;
use std::fmt;

mod members;
mod scalars;
#[cfg(test)]
mod tests;

pub use members::duplicate_members;
pub(crate) use members::{Members, check_unique, member, read_object};

/// Objects and arrays nest less deep than this, as with serde_json's default limit (whose
/// 128th level is refused; the `strict_json` fuzz target holds the two equal).
const MAX_DEPTH: u32 = 128;

/// Why a JSON text was refused, and where: a syntax error or a duplicate member, with the
/// byte offset at which it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    at: usize,
    what: Cow<'static, str>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for JsonError {}

/// A JSON number: an integer that fits a `u64`, or anything else as an `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Unsigned(u64),
    Float(f64),
}

/// A string or an array of strings (`aud`, `scp`). Neither form allocates as read from a
/// token: an array is held as its checked JSON text and its strings are read again when
/// iterated (allocating only for a string with escapes).
#[derive(Debug)]
pub(crate) enum OneOrMany<'a> {
    One(Cow<'a, str>),
    /// A JSON array of strings, already checked, as written (`["a","b"]`).
    Array(&'a str),
    /// Strings from elsewhere (serde).
    #[cfg_attr(not(feature = "serde"), allow(dead_code))]
    Many(Vec<Cow<'a, str>>),
}

impl<'a> OneOrMany<'a> {
    /// The strings, one for a string member.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Cow<'a, str>> + '_ {
        let (one, array, many) = match self {
            Self::One(s) => (Some(s.clone()), None, &[][..]),
            Self::Array(text) => (None, Some(StringsOf::new(text)), &[][..]),
            Self::Many(v) => (None, None, &v[..]),
        };
        one.into_iter()
            .chain(array.into_iter().flatten())
            .chain(many.iter().cloned())
    }

    /// The first string, if any.
    pub(crate) fn first(&self) -> Option<Cow<'a, str>> {
        self.iter().next()
    }
}

/// The strings of a JSON array of strings that was checked when the claims were read.
pub(crate) struct StringsOf<'a> {
    p: Parser<'a>,
    started: bool,
    done: bool,
}

impl<'a> StringsOf<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            p: Parser {
                text,
                pos: 0,
                depth: 0,
            },
            started: false,
            done: false,
        }
    }
}

impl<'a> Iterator for StringsOf<'a> {
    type Item = Cow<'a, str>;

    fn next(&mut self) -> Option<Cow<'a, str>> {
        if self.done {
            return None;
        }
        // `[` before the first string, `,` before each other; anything else is the end.
        let opener = if self.started { b',' } else { b'[' };
        self.started = true;
        if self.p.peek() == Some(opener) {
            self.p.pos += 1;
            if let Ok(s) = self.p.string() {
                return Some(s);
            }
        }
        self.done = true;
        None
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
    pub(crate) fn peek(&mut self) -> Option<u8> {
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

    /// A reader over text already known to be UTF-8.
    pub(crate) fn of_str(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            depth: 0,
        }
    }

    /// The text from byte `start` to the current position.
    pub(crate) fn since(&self, start: usize) -> &'a str {
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// The current byte offset.
    pub(crate) fn pos(&self) -> usize {
        self.pos
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
        if self.depth >= MAX_DEPTH {
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
            Some(b'"') => self.skip_string(),
            // Read, not only scanned: a number past f64's range is refused wherever it is.
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
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
}
