//! Duplicate member names (RFC 7515 §4, RFC 7519 §4, RFC 8259 §4): [`Members`] for the
//! readers of headers and claims, [`check_unique`] for keys and key sets, and
//! [`duplicate_members`] for tools that report them rather than refuse.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{JsonError, Parser};

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

    /// Records the caller's registered name number `bit`, or fails if the object had it,
    /// then reads its value with `value`.
    ///
    /// # Errors
    ///
    /// A duplicate member, or the error of `value`.
    #[inline(always)]
    pub(crate) fn read<'p, T>(
        &mut self,
        p: &mut Parser<'p>,
        bit: u32,
        name: &str,
        value: impl FnOnce(&mut Parser<'p>) -> Result<T, JsonError>,
    ) -> Result<T, JsonError> {
        self.known(p, bit, name)?;
        value(p)
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

/// Reads one JSON text that must be an object into a `T`: `member` reads the members it
/// knows (through [`Members::read`]) and answers `false` for the others, which are checked
/// for duplicates and skipped; nothing may follow the object.
///
/// # Errors
///
/// Not an object, a duplicate, trailing data, or the first error of `member`.
#[inline(always)]
pub(crate) fn read_object<'a, T: Default>(
    json: &'a [u8],
    mut member: impl FnMut(&mut T, &mut Members<'a>, &mut Parser<'a>, &str) -> Result<bool, JsonError>,
) -> Result<T, JsonError> {
    let mut p = Parser::new(json)?;
    let mut out = T::default();
    let mut members = Members::default();
    p.object(|p, name| {
        if !member(&mut out, &mut members, p, &name)? {
            members.insert(p, name)?;
            p.skip()?;
        }
        Ok(())
    })?;
    p.end()?;
    Ok(out)
}

/// The JSON text of the value of member `name` of the object `json` (already read
/// strictly, so an error here only ends the search), the first if it repeats.
pub(crate) fn member<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let mut p = Parser::of_str(json);
    let mut found = None;
    // An error with a static message (no allocation) stops the walk once found.
    let _ = p.object(|p, n| {
        p.peek();
        let start = p.pos();
        p.skip()?;
        if n == name {
            found = Some(p.since(start));
            return p.fail("found");
        }
        Ok(())
    });
    found
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

/// The paths (`sub`, `a.b`, `list[2].x`) of the members that repeat a name already seen in
/// their object, in document order, names compared after JSON unescaping (`"\u0061"` is
/// `"a"`). A strict verifier refuses a token whose header or claims have any; tools use this
/// to say where (`auth jwt decode`) or to refuse before signing (`auth jwt sign`).
///
/// ```
/// let dups = auth_jwt::duplicate_members(br#"{"sub":"a","l":[{"x":1,"x":2}],"sub":"b"}"#);
/// assert_eq!(dups.unwrap(), ["l[0].x", "sub"]);
/// ```
///
/// # Errors
///
/// [`JsonError`] when `json` is not one JSON value (trailing data included).
pub fn duplicate_members(json: &[u8]) -> Result<Vec<String>, JsonError> {
    let mut p = Parser::new(json)?;
    let mut found = Vec::new();
    walk(&mut p, &mut String::new(), &mut found)?;
    p.end()?;
    Ok(found)
}

/// Reads the value at `path`, noting the paths of repeated member names in `found`.
fn walk(p: &mut Parser<'_>, path: &mut String, found: &mut Vec<String>) -> Result<(), JsonError> {
    let at = path.len();
    match p.peek() {
        Some(b'{') => {
            let mut seen = BTreeSet::new();
            p.object(|p, name| {
                if at > 0 {
                    path.push('.');
                }
                path.push_str(&name);
                if !seen.insert(name) {
                    found.push(path.clone());
                }
                walk(p, path, found)?;
                path.truncate(at);
                Ok(())
            })
        }
        Some(b'[') => {
            let mut i = 0usize;
            p.array(|p| {
                let _ = write!(path, "[{i}]");
                i += 1;
                walk(p, path, found)?;
                path.truncate(at);
                Ok(())
            })
        }
        _ => p.skip(),
    }
}
