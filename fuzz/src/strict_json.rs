//! `strict_json`: auth-jwt's hand-written strict JSON reader on its own
//! (`auth_jwt::duplicate_members`, the reader every JOSE header and claims set goes through).
//!
//! The reader's module says that any input it and serde_json disagree on is a bug; this
//! target holds it to that on every input. The oracle is serde_json with a visitor written
//! here that records the path of each repeated member name, by the rule the reader documents
//! (`sub`, `a.b`, `list[2].x`; names compared after unescaping).
//!
//! Properties: no panic; the reader accepts exactly what serde_json accepts as one JSON value;
//! where both accept, the repeated members are the same, in the same order; a document with
//! none, written back by serde_json, is accepted again with none.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Walks one JSON value, appending the path of every repeated member name to `found`.
struct Walk<'f> {
    path: String,
    found: &'f mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        loop {
            let path = format!("{}[{i}]", self.path);
            let seed = Walk {
                path,
                found: &mut *self.found,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                name.clone()
            } else {
                format!("{}.{name}", self.path)
            };
            if !seen.insert(name) {
                self.found.push(path.clone());
            }
            map.next_value_seed(Walk {
                path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

/// serde_json's reading of `data`: the repeated members' paths, or its error.
pub(crate) fn oracle(data: &[u8]) -> Result<Vec<String>, serde_json::Error> {
    let mut found = Vec::new();
    let mut d = serde_json::Deserializer::from_slice(data);
    Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut d)?;
    d.end()?;
    Ok(found)
}

/// The property of target `strict_json`.
pub fn check(data: &[u8]) {
    let ours = auth_jwt::duplicate_members(data);
    let theirs = oracle(data);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "repeated members differ"),
        (Err(_), Err(_)) => return,
        _ => panic!(
            "the strict reader and serde_json disagree on {:?}: {ours:?} / {theirs:?}",
            String::from_utf8_lossy(data)
        ),
    }
    if ours.is_ok_and(|d| d.is_empty()) {
        // Written back (serde_json's map is sorted, minimal escapes): still one value, no
        // repeated member.
        let value: serde_json::Value = serde_json::from_slice(data).expect("accepted above");
        let again = value.to_string();
        assert_eq!(
            auth_jwt::duplicate_members(again.as_bytes()).as_deref(),
            Ok(&[][..]),
            "written back: {again}"
        );
        // And serde_json's own skip agrees that it is one value.
        serde_json::from_slice::<IgnoredAny>(again.as_bytes()).expect("one value");
    }
}
