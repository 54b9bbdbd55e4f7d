//! Duplicate members in JSON objects: RFC 8259 leaves their meaning open and parsers differ
//! on which value wins, so auth-jwt refuses a token that has them. `jwt sign` refuses them
//! in `--claims` and `jwt decode` reports them instead of silently showing one value.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The paths (`sub`, `a.b`, `list[2].x`) of the members that repeat a name already seen in
/// their object, names compared after JSON unescaping (`"\u0061"` is `"a"`).
///
/// # Errors
///
/// The parser's error when `json` is not one JSON value.
pub(crate) fn duplicate_members(json: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(json);
    Walk {
        path: String::new(),
        found: &found,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found.into_inner())
}

/// Visits a value at `path`, noting duplicate member names in `found`.
struct Walk<'f> {
    path: String,
    found: &'f RefCell<Vec<String>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while seq
            .next_element_seed(Walk {
                path: format!("{}[{i}]", self.path),
                found: self.found,
            })?
            .is_some()
        {
            i += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                name.clone()
            } else {
                format!("{}.{name}", self.path)
            };
            if !seen.insert(name) {
                self.found.borrow_mut().push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_at_any_depth() {
        let dups = |json: &str| duplicate_members(json.as_bytes()).unwrap();
        assert!(dups(r#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_empty());
        assert_eq!(dups(r#"{"sub":"a","sub":"b"}"#), ["sub"]);
        assert_eq!(dups(r#"{"a":{"b":1,"b":2}}"#), ["a.b"]);
        assert_eq!(dups(r#"{"l":[{"x":1,"x":1}]}"#), ["l[0].x"]);
        assert_eq!(dups(r#"{"alg":1,"\u0061lg":2}"#), ["alg"]);
        assert!(duplicate_members(b"{\"a\":1} x").is_err());
    }
}
