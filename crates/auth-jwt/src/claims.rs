//! The registered claims (RFC 7519 §4.1), parsed strictly in one pass: `iss`, `sub`, `jti`
//! strings, `aud` a string or an array of strings, `exp`/`nbf`/`iat` non-negative numbers,
//! scopes from `scope` (space separated) or `scp` (an array, or a string), every member
//! unique at every depth. The owned [`Claims`] travels with the principal.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use auth_core::{Scopes, UnixTime};
use serde::de::{self, Deserializer, MapAccess, Visitor};

use crate::strict::{Members, Name, OneOrMany, Str, Unique};

/// The registered claims as read from a payload, borrowed where possible.
#[derive(Debug, Default)]
pub(crate) struct RawClaims<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) sub: Option<Cow<'a, str>>,
    pub(crate) aud: Option<OneOrMany<'a>>,
    pub(crate) jti: Option<Cow<'a, str>>,
    pub(crate) exp: Option<UnixTime>,
    pub(crate) nbf: Option<UnixTime>,
    pub(crate) iat: Option<UnixTime>,
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) scp: Option<OneOrMany<'a>>,
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number of seconds, fractions allowed.
struct NumericDate(UnixTime);

impl<'de> de::Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative number of seconds")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(UnixTime::from_secs(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                u64::try_from(v)
                    .map(|v| NumericDate(UnixTime::from_secs(v)))
                    .map_err(|_| E::custom("a negative date"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_nan() || v < 0.0 {
                    return Err(E::custom("a negative date"));
                }
                // Beyond Duration's range is "forever", not an error.
                let d = Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX);
                Ok(NumericDate(UnixTime::from_duration(d)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> de::Deserialize<'de> for RawClaims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = RawClaims<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWT claims object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut c = RawClaims::default();
        let mut members = Members::default();
        while let Some(Name(name)) = map.next_key()? {
            match &*name {
                "iss" => {
                    members.known(0, &name)?;
                    c.iss = Some(map.next_value::<Str<'de>>()?.0);
                }
                "sub" => {
                    members.known(1, &name)?;
                    c.sub = Some(map.next_value::<Str<'de>>()?.0);
                }
                "jti" => {
                    members.known(2, &name)?;
                    c.jti = Some(map.next_value::<Str<'de>>()?.0);
                }
                "aud" => {
                    members.known(3, &name)?;
                    c.aud = Some(map.next_value::<OneOrMany<'de>>()?);
                }
                "exp" => {
                    members.known(4, &name)?;
                    c.exp = Some(map.next_value::<NumericDate>()?.0);
                }
                "nbf" => {
                    members.known(5, &name)?;
                    c.nbf = Some(map.next_value::<NumericDate>()?.0);
                }
                "iat" => {
                    members.known(6, &name)?;
                    c.iat = Some(map.next_value::<NumericDate>()?.0);
                }
                "scope" => {
                    members.known(7, &name)?;
                    c.scope = Some(map.next_value::<Str<'de>>()?.0);
                }
                "scp" => {
                    members.known(8, &name)?;
                    c.scp = Some(map.next_value::<OneOrMany<'de>>()?);
                }
                _ => {
                    members.insert(&name)?;
                    map.next_value::<Unique>()?;
                }
            }
        }
        Ok(c)
    }
}

/// Parses a decoded payload.
///
/// # Errors
///
/// The parser's message: not an object, a mistyped claim, a duplicate, trailing data.
pub(crate) fn parse(json: &[u8]) -> Result<RawClaims<'_>, String> {
    // One UTF-8 check over the whole text; serde_json's str reader then skips it per string.
    let text = std::str::from_utf8(json).map_err(|e| e.to_string())?;
    serde_json::from_str(text).map_err(|e| e.to_string())
}

impl RawClaims<'_> {
    /// The granted scopes: `scope` if present, else `scp`.
    pub(crate) fn scopes(&self) -> Scopes {
        match (&self.scope, &self.scp) {
            (Some(s), _) => Scopes::from_space_separated(s),
            (None, Some(list)) => list
                .as_slice()
                .iter()
                .flat_map(|s| s.split(' ').filter(|t| !t.is_empty()))
                .collect(),
            (None, None) => Scopes::default(),
        }
    }

    pub(crate) fn to_owned_claims(&self) -> Claims {
        let own = |s: &Option<Cow<'_, str>>| s.as_deref().map(Box::from);
        Claims {
            iss: own(&self.iss),
            sub: own(&self.sub),
            aud: self
                .aud
                .iter()
                .flat_map(OneOrMany::as_slice)
                .map(|s| Box::from(&**s))
                .collect(),
            jti: own(&self.jti),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
        }
    }
}

/// The registered claims of a verified token (RFC 7519 §4.1). Attached to the
/// [`auth_core::Principal`] as an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    iss: Option<Box<str>>,
    sub: Option<Box<str>>,
    aud: Vec<Box<str>>,
    jti: Option<Box<str>>,
    exp: Option<UnixTime>,
    nbf: Option<UnixTime>,
    iat: Option<UnixTime>,
}

impl Claims {
    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.iss.as_deref()
    }
    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.sub.as_deref()
    }
    /// `aud`, one entry per audience (a string `aud` is one entry).
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        self.aud.iter().map(|s| &**s)
    }
    /// `jti`.
    pub fn token_id(&self) -> Option<&str> {
        self.jti.as_deref()
    }
    /// `exp`.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.exp
    }
    /// `nbf`.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.nbf
    }
    /// `iat`.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.iat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_typed_claims_parse() {
        let c = parse(
            br#"{"iss":"https://idp","sub":"alice","aud":["a","b"],"exp":1.5e9,"nbf":0,
                "iat":1500000000,"scope":"read write","x":{"y":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(c.iss.as_deref(), Some("https://idp"));
        assert_eq!(c.aud.as_ref().unwrap().as_slice().len(), 2);
        assert_eq!(c.exp, Some(UnixTime::from_secs(1_500_000_000)));
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["read", "write"]);
    }

    #[test]
    fn mistyped_claims_are_refused() {
        for bad in [
            &br#"{"iss":1}"#[..],
            br#"{"iss":null}"#,
            br#"{"iss":["a"]}"#,
            br#"{"sub":{"a":1}}"#,
            br#"{"aud":7}"#,
            br#"{"aud":["a",7]}"#,
            br#"{"aud":null}"#,
            br#"{"exp":"1500000000"}"#,
            br#"{"exp":-1}"#,
            br#"{"exp":-0.5}"#,
            br#"{"nbf":true}"#,
            br#"{"exp":1,"exp":2}"#,
            br#"{"a":{"b":1,"b":2}}"#,
            br#"[]"#,
            br#"{"sub":"a"} {}"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn scp_array_and_huge_dates() {
        let c = parse(br#"{"scp":["read","write"],"exp":1e300}"#).unwrap();
        assert_eq!(c.scopes().len(), 2);
        assert_eq!(c.exp, Some(UnixTime::from_duration(Duration::MAX)));
    }
}
