//! The JOSE header of a compact JWS, parsed strictly: `alg` a string, unique members,
//! `crit` understood or refused, JWE and compression recognised and refused, and the
//! key-carrying parameters (`jku`, `x5u`, `jwk`, `x5c`) read past and never used.

use std::borrow::Cow;

use crate::json::{self, JsonError, Parser};

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

/// Parses a decoded header.
///
/// # Errors
///
/// Not an object, a mistyped member, a duplicate, trailing data.
pub(crate) fn parse(json: &[u8]) -> Result<Header<'_>, JsonError> {
    json::read_object(json, |h: &mut Header<'_>, members, p, name| {
        match name {
            "alg" => h.alg = Some(members.read(p, 0, name, Parser::string)?),
            "kid" => h.kid = Some(members.read(p, 1, name, Parser::string)?),
            "typ" => h.typ = Some(members.read(p, 2, name, Parser::string)?),
            "cty" => h.cty = Some(members.read(p, 3, name, Parser::string)?),
            "crit" => h.crit = Some(members.read(p, 4, name, Parser::string_array)?),
            "enc" => h.enc = members.read(p, 5, name, Parser::present)?,
            "zip" => h.zip = members.read(p, 6, name, Parser::present)?,
            "b64" => h.b64 = members.read(p, 7, name, Parser::present)?,
            // jku, x5u, jwk, x5c, x5t, x5t#S256 and private names: never followed or
            // trusted, only checked for duplicate members.
            _ => return Ok(false),
        }
        Ok(true)
    })
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
