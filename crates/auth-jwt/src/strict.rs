//! Strict JSON for JOSE: objects whose members must be unique at every depth (RFC 7515 §4,
//! RFC 7519 §4: a parser must reject or use the last; we reject), and a skipper that walks any
//! value checking just that.
//!
//! serde_json keeps the last of two equal members and ignores unknown ones without looking;
//! these visitors see every member once and refuse a second.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Remembers the member names of one object and refuses a repeat. The first 16 names are
/// kept inline and compared linearly; past that they go to an ordered set, so the work stays
/// O(n log n) on any input.
#[derive(Debug, Default)]
pub(crate) struct Members<'de> {
    /// Registered names seen, one bit each: checked without comparing strings.
    known: u32,
    inline: [Option<Cow<'de, str>>; INLINE],
    len: usize,
    spilled: BTreeSet<Cow<'de, str>>,
}

const INLINE: usize = 16;

impl<'de> Members<'de> {
    /// Records the registered name number `bit`, or fails if the object already had it.
    pub(crate) fn known<E: de::Error>(&mut self, bit: u32, name: &str) -> Result<(), E> {
        let mask = 1u32 << bit;
        if self.known & mask != 0 {
            return Err(E::custom(format_args!(
                "duplicate member {}",
                crate::error::shown(name)
            )));
        }
        self.known |= mask;
        Ok(())
    }

    /// Records a name that is not one of the caller's registered names, or fails if the
    /// object already had it.
    #[allow(clippy::ptr_arg)] // the Cow is cloned into the set: borrowed names stay borrowed
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Cow<'de, str>) -> Result<(), E> {
        let seen = self.inline[..self.len]
            .iter()
            .any(|n| n.as_deref() == Some(&**name))
            || self.spilled.contains(&**name);
        if seen {
            return Err(E::custom(format_args!(
                "duplicate member {}",
                crate::error::shown(name)
            )));
        }
        if self.len < INLINE {
            self.inline[self.len] = Some(name.clone());
            self.len += 1;
        } else {
            self.spilled.insert(name.clone());
        }
        Ok(())
    }
}

/// A member name, borrowed from the input when it has no escapes.
#[derive(Debug)]
pub(crate) struct Name<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(Name)
    }
}

/// A JSON string, borrowed when it has no escapes; anything else is a type error.
pub(crate) struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Deserializes a string member value (and only a string).
#[derive(Debug)]
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor).map(Str)
    }
}

/// A string or an array of strings (`aud`, `scp`); a single string is held without a `Vec`.
#[derive(Debug)]
pub(crate) enum OneOrMany<'de> {
    One(Cow<'de, str>),
    Many(Vec<Cow<'de, str>>),
}

impl<'de> OneOrMany<'de> {
    /// The strings, one for a string member.
    pub(crate) fn as_slice(&self) -> &[Cow<'de, str>] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

impl<'de> de::Deserialize<'de> for OneOrMany<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Str(s)) = seq.next_element()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Any JSON value, checked for duplicate members at every depth and otherwise ignored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unique;

impl<'de> de::Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = Unique;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Unique, E> {
        Ok(Unique)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut members = Members::default();
        while let Some(Name(name)) = map.next_key()? {
            members.insert(&name)?;
            map.next_value::<Unique>()?;
        }
        Ok(Unique)
    }
}

/// Checks that `json` is one JSON value with unique members at every depth.
///
/// # Errors
///
/// The parser's message on a syntax error, trailing data or a duplicate member.
pub(crate) fn check_unique(json: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<Unique>(json)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_found_at_any_depth() {
        assert!(check_unique(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
        assert!(check_unique(br#"{"a":1,"a":2}"#).is_err());
        assert!(check_unique(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(check_unique(br#"[{"x":1,"x":1}]"#).is_err());
        // An escaped name equal to a plain one is the same name.
        assert!(check_unique(br#"{"alg":1,"\u0061lg":2}"#).is_err());
    }

    #[test]
    fn trailing_data_is_refused() {
        assert!(check_unique(br#"{"a":1} x"#).is_err());
        assert!(check_unique(br#"{"a":1}{"b":2}"#).is_err());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        assert!(check_unique(deep.as_bytes()).is_err());
    }
}
