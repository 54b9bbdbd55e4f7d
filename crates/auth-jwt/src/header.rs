//! The JOSE header of a compact JWS, parsed strictly: `alg` a string, unique members,
//! `crit` understood or refused, JWE and compression recognised and refused, and the
//! key-carrying parameters (`jku`, `x5u`, `jwk`, `x5c`) read past and never used.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::strict::{Members, Name, Str, Unique};

/// The header members the verifier acts on, borrowed from the decoded header.
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    pub(crate) alg: Option<Cow<'a, str>>,
    pub(crate) kid: Option<Cow<'a, str>>,
    pub(crate) typ: Option<Cow<'a, str>>,
    pub(crate) cty: Option<Cow<'a, str>>,
    /// The names listed in `crit`; `Some(empty)` is itself an error (RFC 7515 §4.1.11).
    pub(crate) crit: Option<Vec<Cow<'a, str>>>,
    /// `enc` is present: this is a JWE header.
    pub(crate) enc: bool,
    /// `zip` is present: compressed content, a JWE feature.
    pub(crate) zip: bool,
    /// `b64` is present (RFC 7797 unencoded payload): never understood here.
    pub(crate) b64: bool,
}

impl<'de> de::Deserialize<'de> for Header<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut h = Header::default();
        let mut members = Members::default();
        while let Some(Name(name)) = map.next_key()? {
            match &*name {
                "alg" => {
                    members.known(0, &name)?;
                    h.alg = Some(map.next_value::<Str<'de>>()?.0);
                }
                "kid" => {
                    members.known(1, &name)?;
                    h.kid = Some(map.next_value::<Str<'de>>()?.0);
                }
                "typ" => {
                    members.known(2, &name)?;
                    h.typ = Some(map.next_value::<Str<'de>>()?.0);
                }
                "cty" => {
                    members.known(3, &name)?;
                    h.cty = Some(map.next_value::<Str<'de>>()?.0);
                }
                "crit" => {
                    members.known(4, &name)?;
                    let names = map.next_value::<Vec<Str<'de>>>()?;
                    h.crit = Some(names.into_iter().map(|s| s.0).collect());
                }
                "enc" => {
                    members.known(5, &name)?;
                    h.enc = true;
                    map.next_value::<Unique>()?;
                }
                "zip" => {
                    members.known(6, &name)?;
                    h.zip = true;
                    map.next_value::<Unique>()?;
                }
                "b64" => {
                    members.known(7, &name)?;
                    h.b64 = true;
                    map.next_value::<Unique>()?;
                }
                // jku, x5u, jwk, x5c, x5t, x5t#S256 and private names: never followed or
                // trusted, only checked for duplicate members.
                _ => {
                    members.insert(&name)?;
                    map.next_value::<Unique>()?;
                }
            }
        }
        Ok(h)
    }
}

/// Parses a decoded header.
///
/// # Errors
///
/// The parser's message: not an object, a mistyped member, a duplicate, trailing data.
pub(crate) fn parse(json: &[u8]) -> Result<Header<'_>, String> {
    // One UTF-8 check over the whole text; serde_json's str reader then skips it per string.
    let text = std::str::from_utf8(json).map_err(|e| e.to_string())?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// Whether a media type names `want`, case-insensitively, with or without `application/`
/// (RFC 7515 §4.1.9, RFC 9068 §2.1).
pub(crate) fn media_type_is(typ: &str, want: &str) -> bool {
    let strip = |s: &str| -> String {
        let lower = s.to_ascii_lowercase();
        lower
            .strip_prefix("application/")
            .map_or(lower.clone(), str::to_owned)
    };
    strip(typ) == strip(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_members_that_matter() {
        let h =
            parse(br#"{"alg":"RS256","kid":"k1","typ":"at+jwt","x5u":"https://evil"}"#).unwrap();
        assert_eq!(h.alg.as_deref(), Some("RS256"));
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
        assert!(h.crit.is_none() && !h.enc);
    }

    #[test]
    fn refuses_mistyped_and_duplicate_members() {
        for bad in [
            &br#"{"alg":null}"#[..],
            br#"{"alg":["HS256"]}"#,
            br#"{"alg":"HS256","alg":"none"}"#,
            br#"{"alg":"HS256","kid":7}"#,
            br#"{"alg":"HS256","crit":[1]}"#,
            br#"{"alg":"HS256","jwk":{"kty":"oct","kty":"RSA"}}"#,
            br#"{"alg":"HS256","crit":"exp"}"#,
            br#"["alg","HS256"]"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn media_types() {
        assert!(media_type_is("at+jwt", "at+jwt"));
        assert!(media_type_is("application/AT+JWT", "at+jwt"));
        assert!(media_type_is("AT+jwt", "application/at+jwt"));
        assert!(!media_type_is("jwt", "at+jwt"));
        assert!(!media_type_is("application/jwt", "at+jwt"));
    }
}
