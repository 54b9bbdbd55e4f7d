//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3): building, rendering and
//! parsing, including several challenges in one field.
//!
//! The same grammar serves the `Authorization` request header (RFC 9110 §11.6.2), which is a
//! single "credentials" production of exactly the challenge's shape; see [`parse_one`].

use std::fmt::{self, Write as _};

use http::HeaderValue;

mod parse;

/// The `error` codes of RFC 6750 §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerErrorCode {
    /// The request is malformed (400).
    InvalidRequest,
    /// The access token is expired, revoked, malformed or invalid (401).
    InvalidToken,
    /// The token lacks a scope the request needs (403).
    InsufficientScope,
}

impl BearerErrorCode {
    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

/// One challenge: an auth-scheme with either a token68 or a list of auth-params.
///
/// Building never fails: characters that cannot appear in a header field (controls,
/// non-ASCII) are replaced with `?`, and `"` and `\` are escaped as quoted-pairs when rendered,
/// so a rendered challenge always parses back to itself.
///
/// ```
/// use auth_core::{Challenge, BearerErrorCode};
///
/// let c = Challenge::bearer()
///     .with_realm("example")
///     .with_error(BearerErrorCode::InvalidToken)
///     .with_error_description("The access token expired");
/// assert_eq!(
///     c.to_string(),
///     r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
/// );
/// assert_eq!(Challenge::parse_all(&c.to_string()).unwrap(), vec![c]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge for `scheme`, which should be an RFC 9110 token (invalid characters are
    /// replaced with `_`; an empty scheme becomes `_`).
    pub fn new(scheme: &str) -> Self {
        let mut s: String = scheme
            .chars()
            .map(|c| if is_tchar_char(c) { c } else { '_' })
            .collect();
        if s.is_empty() {
            s.push('_');
        }
        Self {
            scheme: s,
            token68: None,
            params: Vec::new(),
        }
    }

    /// A `Bearer` challenge (RFC 6750).
    pub fn bearer() -> Self {
        Self::new("Bearer")
    }

    /// Sets auth-param `name` to `value`, replacing an earlier value of the same name
    /// (names compare case-insensitively). Clears any token68.
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.set_param(name, value);
        self
    }

    /// As [`Challenge::with_param`], in place.
    pub fn set_param(&mut self, name: &str, value: &str) {
        let name: String = name
            .chars()
            .map(|c| if is_tchar_char(c) { c } else { '_' })
            .collect();
        let value = sanitize(value);
        self.token68 = None;
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
    }

    /// Sets `realm`.
    pub fn with_realm(self, realm: &str) -> Self {
        self.with_param("realm", realm)
    }

    /// Sets the RFC 6750 `error` code.
    pub fn with_error(self, code: BearerErrorCode) -> Self {
        self.with_param("error", code.as_str())
    }

    /// Sets `error_description`: human-readable, for the client developer. Keep it terse and
    /// free of anything secret; the detailed reason belongs in server logs.
    pub fn with_error_description(self, description: &str) -> Self {
        self.with_param("error_description", description)
    }

    /// Sets `error_uri`.
    pub fn with_error_uri(self, uri: &str) -> Self {
        self.with_param("error_uri", uri)
    }

    /// Sets `scope`: the space-separated scopes the request needs.
    pub fn with_scope(self, scope: &str) -> Self {
        self.with_param("scope", scope)
    }

    /// The auth-scheme, as written.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// Whether the scheme is `scheme`, compared case-insensitively as RFC 9110 requires.
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The token68, if the challenge carries one instead of auth-params.
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The value of auth-param `name` (case-insensitive), unescaped.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All auth-params in order.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The challenge as a header value (never fails: see the type's documentation).
    pub fn to_header_value(&self) -> HeaderValue {
        let mut text = String::with_capacity(self.rendered_len());
        // Writing into a String cannot fail.
        let _ = write!(text, "{self}");
        HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    /// An upper bound of the rendered length, to allocate once.
    fn rendered_len(&self) -> usize {
        let params: usize = self
            .params
            .iter()
            .map(|(n, v)| n.len() + 2 * v.len() + 5)
            .sum();
        self.scheme.len() + self.token68.as_ref().map_or(0, |t| t.len() + 1) + params
    }

    /// Parses a `WWW-Authenticate` field value into its challenges.
    ///
    /// # Errors
    ///
    /// [`ParseError`] with the byte offset where the grammar was broken.
    pub fn parse_all(input: &str) -> Result<Vec<Self>, ParseError> {
        parse::all(input)
    }
}

/// Parses exactly one challenge-shaped value, such as an `Authorization` field
/// (`credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`).
///
/// # Errors
///
/// [`ParseError`] when the value is not exactly one well-formed credentials production.
pub fn parse_one(input: &str) -> Result<Challenge, ParseError> {
    parse::one(input)
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(t) = &self.token68 {
            f.write_char(' ')?;
            return f.write_str(t);
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            f.write_str(name)?;
            f.write_str("=\"")?;
            // Runs between the characters that need a quoted-pair go out in one write.
            let mut rest = value.as_str();
            while let Some(i) = rest.find(['"', '\\']) {
                f.write_str(&rest[..i])?;
                f.write_char('\\')?;
                f.write_str(&rest[i..=i])?;
                rest = &rest[i + 1..];
            }
            f.write_str(rest)?;
            f.write_char('"')?;
        }
        Ok(())
    }
}

/// A header value did not follow the RFC 9110 challenge grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed authentication header at byte {position}: expected {expected}")]
pub struct ParseError {
    position: usize,
    expected: &'static str,
}

impl ParseError {
    /// The byte offset where parsing stopped.
    pub fn position(&self) -> usize {
        self.position
    }
}

fn sanitize(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c == '\t' || (' '..='~').contains(&c) {
                c
            } else {
                '?'
            }
        })
        .collect()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_tchar_char(c: char) -> bool {
    c.is_ascii() && is_tchar(c as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scheme, token68, params
    type Expected<'a> = (&'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);

    #[track_caller]
    fn check(input: &str, expected: &[Expected<'_>]) {
        let got = Challenge::parse_all(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let got: Vec<_> = got
            .iter()
            .map(|c| {
                (
                    c.scheme().to_owned(),
                    c.token68().map(str::to_owned),
                    c.params()
                        .map(|(n, v)| (n.to_owned(), v.to_owned()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let want: Vec<_> = expected
            .iter()
            .map(|(s, t, ps)| {
                (
                    (*s).to_owned(),
                    t.map(str::to_owned),
                    ps.iter()
                        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        assert_eq!(got, want, "{input:?}");
    }

    #[test]
    fn parses_the_rfc_examples() {
        check(
            r#"Bearer realm="example""#,
            &[("Bearer", None, &[("realm", "example")])],
        );
        check(
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
            &[(
                "Bearer",
                None,
                &[
                    ("realm", "example"),
                    ("error", "invalid_token"),
                    ("error_description", "The access token expired"),
                ],
            )],
        );
        // RFC 9110 §11.6.1's multi-challenge example.
        check(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#,
            &[
                (
                    "Newauth",
                    None,
                    &[
                        ("realm", "apps"),
                        ("type", "1"),
                        ("title", "Login to \"apps\""),
                    ],
                ),
                ("Basic", None, &[("realm", "simple")]),
            ],
        );
        check(
            "Basic, Bearer",
            &[("Basic", None, &[]), ("Bearer", None, &[])],
        );
        check(
            "Basic dXNlcjpwYXNz==",
            &[("Basic", Some("dXNlcjpwYXNz=="), &[])],
        );
        check(
            "Negotiate abc, Bearer error = invalid_token ,",
            &[
                ("Negotiate", Some("abc"), &[]),
                ("Bearer", None, &[("error", "invalid_token")]),
            ],
        );
    }

    #[test]
    fn rejects_broken_grammar() {
        for bad in [
            "",
            ",",
            "Bearer realm=\"x\", error=",
            "Bearer realm=\"unterminated",
            "Bearer realm=\"a\" error=\"b\"",
            "Bearer realm=\"a\", realm=\"b\"",
            "Bearer =x",
            "Bearer realm=\"\\\u{1}\"",
            "Bear\u{e9}r",
        ] {
            assert!(Challenge::parse_all(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn escapes_and_sanitizes_on_render() {
        let c = Challenge::bearer().with_error_description("say \"hi\" \\ to\nme \u{e9}");
        assert_eq!(
            c.to_string(),
            r#"Bearer error_description="say \"hi\" \\ to?me ?""#
        );
        assert_eq!(
            Challenge::parse_all(&c.to_string()).unwrap()[0].param("error_description"),
            Some("say \"hi\" \\ to?me ?")
        );
    }

    #[test]
    fn parse_one_takes_authorization_values() {
        let c = parse_one("bearer mF_9.B5f-4.1JqM").unwrap();
        assert!(c.is_scheme("Bearer"));
        assert_eq!(c.token68(), Some("mF_9.B5f-4.1JqM"));
        assert!(parse_one("Bearer a b").is_err());
        assert!(parse_one("Bearer a, Basic b").is_err());
    }
}
