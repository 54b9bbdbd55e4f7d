//! `Serialize` and `Deserialize` for [`Principal`], [`Scopes`] and [`CredentialKind`] (feature
//! `serde`), for applications that store or log who a request spoke for.
//!
//! - [`Scopes`] is its space-separated string (`"orders:read orders:write"`), read back
//!   strictly ([`Scopes::parse`]): a token RFC 6749 §3.3 forbids is an error, not dropped.
//! - [`CredentialKind`] is its [`as_str`](CredentialKind::as_str) name. A name other than
//!   `api_key`, `jwt` and `introspection` reads back as [`CredentialKind::Other`]; since that
//!   holds a `&'static str`, each distinct name is kept once for the life of the process, at
//!   most [`MAX_OTHER_KINDS`] of them of up to 64 bytes in `[a-z0-9_.:-]`: past that, reading
//!   fails rather than grow without bound.
//! - [`Principal`] is `{"subject": …, "kind": …, "scopes": …}`. **Its attributes are not
//!   serialized** (they are typed values of any type: JWT claims, key metadata) and a
//!   deserialized principal has none.

use std::fmt;
use std::sync::Mutex;

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::principal::{CredentialKind, Principal, Scopes};

/// How many distinct [`CredentialKind::Other`] names deserialization keeps in a process.
pub const MAX_OTHER_KINDS: usize = 64;

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("space-separated scope tokens")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scopes, E> {
                Scopes::parse(s).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

impl Serialize for CredentialKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CredentialKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CredentialKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a credential kind name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<CredentialKind, E> {
                Ok(match s {
                    "api_key" => CredentialKind::ApiKey,
                    "jwt" => CredentialKind::Jwt,
                    "introspection" => CredentialKind::Introspection,
                    other => CredentialKind::Other(intern(other).map_err(E::custom)?),
                })
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// The other kinds' names read so far, each leaked once.
static OTHER_KINDS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn intern(name: &str) -> Result<&'static str, &'static str> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b':' | b'-'));
    if !valid {
        return Err("a credential kind is 1 to 64 of [a-z0-9_.:-]");
    }
    let mut known = OTHER_KINDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = known.iter().find(|k| **k == name) {
        return Ok(found);
    }
    if known.len() >= MAX_OTHER_KINDS {
        return Err("too many distinct credential kinds");
    }
    let leaked: &'static str = Box::leak(name.into());
    known.push(leaked);
    Ok(leaked)
}

impl Serialize for Principal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Principal", 3)?;
        s.serialize_field("subject", self.subject())?;
        s.serialize_field("kind", &self.kind())?;
        s.serialize_field("scopes", self.scopes())?;
        s.end()
    }
}

/// What a principal is read from: no attributes.
#[derive(Deserialize)]
#[serde(rename = "Principal", deny_unknown_fields)]
struct PrincipalFields {
    subject: String,
    kind: CredentialKind,
    #[serde(default)]
    scopes: Scopes,
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let p = PrincipalFields::deserialize(deserializer)?;
        Ok(Principal::new(p.subject, p.kind).with_scopes(p.scopes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_round_trips_without_its_attributes() {
        #[derive(Clone)]
        struct Tenant;
        let p = Principal::new("alice", CredentialKind::Jwt)
            .with_scopes(Scopes::from_space_separated("orders:write orders:read"))
            .with_attribute(Tenant);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"subject":"alice","kind":"jwt","scopes":"orders:read orders:write"}"#
        );
        let back: Principal = serde_json::from_str(&json).unwrap();
        assert_eq!(back.subject(), "alice");
        assert_eq!(back.kind(), CredentialKind::Jwt);
        assert_eq!(back.scopes(), p.scopes());
        assert!(back.attribute::<Tenant>().is_none());
    }

    #[test]
    fn kinds_round_trip_and_other_names_are_bounded() {
        for kind in [
            CredentialKind::ApiKey,
            CredentialKind::Jwt,
            CredentialKind::Introspection,
            CredentialKind::Other("dpop"),
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<CredentialKind>(&json).unwrap(), kind);
        }
        assert!(serde_json::from_str::<CredentialKind>(r#""Not A Kind""#).is_err());
        assert!(serde_json::from_str::<CredentialKind>(r#""""#).is_err());
    }

    #[test]
    fn scopes_read_back_strictly() {
        let s = Scopes::from_space_separated("b a");
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#""a b""#);
        assert_eq!(serde_json::from_str::<Scopes>(&json).unwrap(), s);
        assert!(serde_json::from_str::<Scopes>(r#""a  b""#).is_err());
        assert!(
            serde_json::from_str::<Principal>(r#"{"subject":"x","kind":"jwt","extra":1}"#).is_err()
        );
        let bare: Principal = serde_json::from_str(r#"{"subject":"x","kind":"api_key"}"#).unwrap();
        assert!(bare.scopes().is_empty());
    }
}
