//! The registered claims (RFC 7519 §4.1), parsed strictly in one pass: `iss`, `sub`, `jti`
//! strings, `aud` a string or an array of strings, `exp`/`nbf`/`iat` non-negative numbers,
//! scopes from `scope` (space separated) or `scp` (an array, or a string), every member
//! unique at every depth. The owned [`Claims`] travels with the principal.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use auth_core::{Confirmation, Scopes, UnixTime};

use crate::json::{self, JsonError, Number, OneOrMany, Parser};

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
    /// `cnf` (RFC 7800): `jkt` (RFC 9449) and `x5t#S256` (RFC 8705), other members skipped.
    pub(crate) cnf: Option<Confirmation>,
}

/// `cnf`: an object whose `jkt` and `x5t#S256` must be strings; its other members (a `jwk`,
/// a `kid`) are checked for duplicates and skipped.
fn confirmation(p: &mut Parser<'_>) -> Result<Confirmation, JsonError> {
    let mut cnf = Confirmation::new();
    let mut members = json::Members::default();
    p.object(|p, name| {
        match &*name {
            "jkt" => {
                let jkt = members.read(p, 0, "jkt", Parser::string)?;
                cnf = std::mem::take(&mut cnf).with_jkt(jkt);
            }
            "x5t#S256" => {
                let x5t = members.read(p, 1, "x5t#S256", Parser::string)?;
                cnf = std::mem::take(&mut cnf).with_x5t_s256(x5t);
            }
            _ => {
                members.insert(p, name)?;
                p.skip()?;
            }
        }
        Ok(())
    })?;
    Ok(cnf)
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number of seconds, fractions allowed.
fn numeric_date(p: &mut Parser<'_>) -> Result<UnixTime, JsonError> {
    match p.number()? {
        Number::Unsigned(secs) => Ok(UnixTime::from_secs(secs)),
        // -0 is 0; NaN cannot be written in JSON.
        Number::Float(v) if v < 0.0 || v.is_nan() => Err(p.error("a negative date")),
        // Beyond Duration's range is "forever", not an error.
        Number::Float(v) => Ok(UnixTime::from_duration(
            Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX),
        )),
    }
}

/// Parses a decoded payload.
///
/// # Errors
///
/// Not an object, a mistyped claim, a duplicate, trailing data.
pub(crate) fn parse(json: &[u8]) -> Result<RawClaims<'_>, JsonError> {
    json::read_object(json, |c: &mut RawClaims<'_>, members, p, name| {
        match name {
            "iss" => c.iss = Some(members.read(p, 0, name, Parser::string)?),
            "sub" => c.sub = Some(members.read(p, 1, name, Parser::string)?),
            "jti" => c.jti = Some(members.read(p, 2, name, Parser::string)?),
            "aud" => c.aud = Some(members.read(p, 3, name, Parser::strings)?),
            "exp" => c.exp = Some(members.read(p, 4, name, numeric_date)?),
            "nbf" => c.nbf = Some(members.read(p, 5, name, numeric_date)?),
            "iat" => c.iat = Some(members.read(p, 6, name, numeric_date)?),
            "scope" => c.scope = Some(members.read(p, 7, name, Parser::string)?),
            "scp" => c.scp = Some(members.read(p, 8, name, Parser::strings)?),
            "cnf" => c.cnf = Some(members.read(p, 9, name, confirmation)?),
            _ => return Ok(false),
        }
        Ok(true)
    })
}

impl RawClaims<'_> {
    /// The granted scopes: `scope` if present, else `scp`.
    pub(crate) fn scopes(&self) -> Scopes {
        match (&self.scope, &self.scp) {
            (Some(s), _) => Scopes::from_space_separated(s),
            (None, Some(list)) => list
                .iter()
                .flat_map(|s| {
                    s.split(' ')
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
            (None, None) => Scopes::default(),
        }
    }

    pub(crate) fn to_owned_claims(&self) -> Claims {
        let auds = || self.aud.iter().flat_map(OneOrMany::iter);
        let strings = [&self.iss, &self.sub, &self.jti];
        let len = strings
            .iter()
            .filter_map(|s| s.as_deref())
            .map(str::len)
            .sum::<usize>()
            + auds().map(|a| a.len()).sum::<usize>();
        let mut text = String::with_capacity(len);
        let mut put = |s: &str| {
            let start = text.len();
            text.push_str(s);
            start..text.len()
        };
        let [iss, sub, jti] = strings.map(|s| s.as_deref().map(&mut put));
        let aud = auds().map(|a| put(&a).end).collect();
        Claims {
            text: text.into_boxed_str(),
            iss,
            sub,
            jti,
            aud,
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            cnf: self.cnf.clone().map(Box::new),
        }
    }
}

/// The registered claims of a verified token (RFC 7519 §4.1). Attached to the
/// [`auth_core::Principal`] as an attribute.
#[derive(Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`, `sub`, `jti` and the audiences, one after another: one allocation for all the
    /// strings (every verification builds one of these).
    text: Box<str>,
    iss: Option<Range<usize>>,
    sub: Option<Range<usize>>,
    jti: Option<Range<usize>>,
    /// Where each audience ends in `text`; the first starts where the strings before it end.
    /// Most tokens have one audience, and a `SmallEnds` holds up to two without allocating.
    aud: SmallEnds,
    exp: Option<UnixTime>,
    nbf: Option<UnixTime>,
    iat: Option<UnixTime>,
    /// Boxed: most tokens have none, and this keeps `Claims` small.
    cnf: Option<Box<Confirmation>>,
}

/// Up to two offsets inline, more on the heap.
#[derive(Clone, PartialEq, Eq, Default)]
struct SmallEnds {
    inline: [usize; 2],
    len: usize,
    more: Vec<usize>,
}

impl FromIterator<usize> for SmallEnds {
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        let mut out = Self::default();
        for end in iter {
            match out.inline.get_mut(out.len) {
                Some(slot) => {
                    *slot = end;
                    out.len += 1;
                }
                None => out.more.push(end),
            }
        }
        out
    }
}

impl SmallEnds {
    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.inline[..self.len].iter().chain(&self.more).copied()
    }
}

impl Claims {
    fn get(&self, range: &Option<Range<usize>>) -> Option<&str> {
        range.clone().and_then(|r| self.text.get(r))
    }
    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.get(&self.iss)
    }
    /// `sub`.
    pub fn subject(&self) -> Option<&str> {
        self.get(&self.sub)
    }
    /// `aud`, one entry per audience (a string `aud` is one entry).
    pub fn audiences(&self) -> impl Iterator<Item = &str> {
        let first = [&self.iss, &self.sub, &self.jti]
            .iter()
            .filter_map(|r| r.as_ref().map(|r| r.end))
            .max()
            .unwrap_or(0);
        self.aud.iter().scan(first, |start, end| {
            let s = self.text.get(*start..end).unwrap_or_default();
            *start = end;
            Some(s)
        })
    }
    /// `jti`.
    pub fn token_id(&self) -> Option<&str> {
        self.get(&self.jti)
    }
    /// `exp`.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.exp
    }
    /// `nbf`.
    pub fn not_before(&self) -> Option<UnixTime> {
        self.nbf
    }
    /// `cnf`: the key or certificate a sender-constrained token is bound to.
    pub fn confirmation(&self) -> Option<&Confirmation> {
        self.cnf.as_deref()
    }

    /// `iat`.
    pub fn issued_at(&self) -> Option<UnixTime> {
        self.iat
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("iss", &self.issuer())
            .field("sub", &self.subject())
            .field("aud", &self.audiences().collect::<Vec<_>>())
            .field("jti", &self.token_id())
            .field("exp", &self.exp)
            .field("nbf", &self.nbf)
            .field("iat", &self.iat)
            .finish()
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
        assert_eq!(c.aud.as_ref().unwrap().iter().count(), 2);
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
    fn owned_claims_keep_every_string() {
        for json in [
            &br#"{"iss":"i","sub":"s","jti":"j","aud":["a","","c"]}"#[..],
            br#"{"aud":"only"}"#,
            br#"{"sub":"","aud":["x","y"]}"#,
            br#"{}"#,
        ] {
            let raw = parse(json).unwrap();
            let c = raw.to_owned_claims();
            assert_eq!(c.issuer(), raw.iss.as_deref());
            assert_eq!(c.subject(), raw.sub.as_deref());
            assert_eq!(c.token_id(), raw.jti.as_deref());
            let want: Vec<Cow<'_, str>> = raw.aud.iter().flat_map(OneOrMany::iter).collect();
            assert_eq!(c.audiences().collect::<Vec<_>>(), want);
            assert_eq!(c.clone(), c);
        }
    }

    #[test]
    fn scp_array_and_huge_dates() {
        let c = parse(br#"{"scp":["read","write"],"exp":1e300}"#).unwrap();
        assert_eq!(c.scopes().len(), 2);
        assert_eq!(c.exp, Some(UnixTime::from_duration(Duration::MAX)));
    }
}
