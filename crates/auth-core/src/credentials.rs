//! Reading credentials from a request head: the `Authorization` header (RFC 9110 §11.6.2,
//! RFC 6750 §2.1), a named header such as `X-API-Key`, or, only when switched on, a query
//! parameter (RFC 6750 §2.3).
//!
//! Whatever the bytes, extraction returns a value or an error: it never panics, and it does
//! a bounded amount of work (the length limit is checked before anything else).

use std::borrow::Cow;

use http::header::{AUTHORIZATION, HeaderMap, HeaderName};
use http::request::Parts;
use http::uri::{PathAndQuery, Uri};

/// The default limit on a credential's length: 16 KiB, more than any sane token.
pub const DEFAULT_MAX_CREDENTIAL_LEN: usize = 16 * 1024;

/// Where a credential may be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// `Authorization: <scheme> <token68>`, the scheme compared case-insensitively.
    Authorization {
        /// The auth-scheme, for example `Bearer`.
        scheme: Cow<'static, str>,
    },
    /// A header that carries the bare credential, for example `X-API-Key`.
    Header(HeaderName),
    /// A query parameter. Discouraged: URLs end up in logs, browser history and `Referer`
    /// headers (RFC 6750 §5.3).
    Query(Cow<'static, str>),
}

impl Location {
    /// `Authorization: Bearer ...`.
    pub const BEARER: Self = Self::Authorization {
        scheme: Cow::Borrowed("Bearer"),
    };
}

/// A credential found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Found<'a> {
    /// The credential itself (percent-decoded when it came from the query).
    pub value: Cow<'a, str>,
    /// Where it was found.
    pub location: &'a Location,
}

/// A credential was present but the request carrying it is malformed: RFC 6750's
/// `invalid_request`, answered with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// The same header appears more than once.
    #[error("header {0} sent more than once")]
    Repeated(&'static str),
    /// Credentials arrived in more than one place (RFC 6750 §2: clients must use one).
    #[error("credentials sent in more than one place")]
    Ambiguous,
    /// The credential is longer than the configured limit.
    #[error("credential longer than {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The value is not visible ASCII, or not the expected syntax.
    #[error("malformed credential in {0}")]
    Malformed(&'static str),
}

/// Reads one credential from the configured [`Location`]s.
///
/// ```
/// use auth_core::credentials::{Location, TokenExtractor};
///
/// let extractor = TokenExtractor::bearer();
/// let req = http::Request::get("/").header("authorization", "bEaReR abc.def").body(()).unwrap();
/// let (parts, ()) = req.into_parts();
/// let found = extractor.extract(&parts).unwrap().unwrap();
/// assert_eq!(found.value, "abc.def");
/// assert_eq!(found.location, &Location::BEARER);
/// ```
#[derive(Debug, Clone)]
pub struct TokenExtractor {
    locations: Vec<Location>,
    max_len: usize,
}

impl TokenExtractor {
    /// Reads `Authorization: Bearer <token>` only.
    pub fn bearer() -> Self {
        Self {
            locations: vec![Location::BEARER],
            max_len: DEFAULT_MAX_CREDENTIAL_LEN,
        }
    }

    /// Reads from exactly these locations. A credential found in two of them is rejected.
    pub fn new(locations: impl IntoIterator<Item = Location>) -> Self {
        Self {
            locations: locations.into_iter().collect(),
            max_len: DEFAULT_MAX_CREDENTIAL_LEN,
        }
    }

    /// Also reads the bare credential from header `name`.
    pub fn with_header(mut self, name: HeaderName) -> Self {
        self.locations.push(Location::Header(name));
        self
    }

    /// Also reads the credential from query parameter `name`.
    ///
    /// # Security
    ///
    /// Discouraged: URLs are logged by proxies and servers and leak through `Referer`.
    /// Prefer a header; switch this on only for clients that cannot send one.
    pub fn with_query_parameter(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.locations.push(Location::Query(name.into()));
        self
    }

    /// Sets the maximum credential length in bytes (default
    /// [`DEFAULT_MAX_CREDENTIAL_LEN`]).
    pub fn with_max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The locations read, in order.
    pub fn locations(&self) -> &[Location] {
        &self.locations
    }

    /// Finds the credential.
    ///
    /// `Ok(None)` means no credential of the configured kinds is present (an `Authorization`
    /// header with another scheme counts as absent: it is somebody else's credential).
    ///
    /// # Errors
    ///
    /// [`CredentialError`] when a header is repeated, credentials appear in two places, or a
    /// value is too long or malformed.
    pub fn extract<'a>(&'a self, parts: &'a Parts) -> Result<Option<Found<'a>>, CredentialError> {
        self.extract_from(&parts.headers, &parts.uri)
    }

    /// As [`TokenExtractor::extract`], from a header map and URI.
    ///
    /// # Errors
    ///
    /// As [`TokenExtractor::extract`].
    pub fn extract_from<'a>(
        &'a self,
        headers: &'a HeaderMap,
        uri: &'a Uri,
    ) -> Result<Option<Found<'a>>, CredentialError> {
        let mut found: Option<Found<'a>> = None;
        for location in &self.locations {
            let value = match location {
                Location::Authorization { scheme } => {
                    authorization_token(headers, scheme, self.max_len)?.map(Cow::Borrowed)
                }
                Location::Header(name) => header_token(headers, name, self.max_len)?,
                Location::Query(name) => query_token(uri, name, self.max_len)?,
            };
            if let Some(value) = value {
                if found.is_some() {
                    return Err(CredentialError::Ambiguous);
                }
                found = Some(Found { value, location });
            }
        }
        Ok(found)
    }

    /// Removes the credential from `parts` so that it does not travel further upstream:
    /// the header, or the query parameter (the URI is rebuilt without it).
    pub fn strip(&self, parts: &mut Parts) {
        for location in &self.locations {
            match location {
                Location::Authorization { scheme } => {
                    let ours = parts.headers.get(AUTHORIZATION).is_some_and(|v| {
                        v.as_bytes()
                            .get(..scheme.len())
                            .is_some_and(|s| s.eq_ignore_ascii_case(scheme.as_bytes()))
                    });
                    if ours {
                        parts.headers.remove(AUTHORIZATION);
                    }
                }
                Location::Header(name) => {
                    parts.headers.remove(name);
                }
                Location::Query(name) => strip_query(&mut parts.uri, name),
            }
        }
    }
}

impl Default for TokenExtractor {
    fn default() -> Self {
        Self::bearer()
    }
}

/// The token of `Authorization: <scheme> <token68>`, if the header is present with that
/// scheme (compared case-insensitively).
///
/// # Errors
///
/// [`CredentialError`] when the header is repeated, too long, not visible ASCII, or carries
/// the scheme without a well-formed token68.
pub fn authorization_token<'a>(
    headers: &'a HeaderMap,
    scheme: &str,
    max_len: usize,
) -> Result<Option<&'a str>, CredentialError> {
    let Some(value) = single_header(headers, &AUTHORIZATION)? else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    // Another scheme is not ours to judge, whatever its length.
    if !starts_with_scheme(bytes, scheme) {
        return Ok(None);
    }
    // `scheme` + at least one space + the token.
    if bytes.len() > max_len.saturating_add(scheme.len() + 1) {
        return Err(CredentialError::TooLong { limit: max_len });
    }
    let rest = bytes.get(scheme.len()..).unwrap_or_default();
    match token_span::<TOKEN68_BODY>(rest) {
        Some((start, end)) => rest
            .get(start..end)
            .and_then(|token| std::str::from_utf8(token).ok())
            .map(Some)
            .ok_or(CredentialError::Malformed("Authorization")),
        None => Err(CredentialError::Malformed("Authorization")),
    }
}

/// Whether `bytes` starts with `scheme` (ASCII case-insensitively) followed by a space, a tab
/// or nothing: "Bearerabc" is another scheme's name.
fn starts_with_scheme(bytes: &[u8], scheme: &str) -> bool {
    bytes
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme.as_bytes()))
        && matches!(bytes.get(scheme.len()), None | Some(b' ' | b'\t'))
}

/// The bounds of the one credential in `b`: optional spaces and tabs, one or more bytes of
/// class `BODY` then, for token68 alone, `=` padding, then only spaces and tabs. `None` when
/// `b` is anything else (empty, an inner space, a byte of no class).
fn token_span<const BODY: u8>(b: &[u8]) -> Option<(usize, usize)> {
    let start = b.iter().position(|&c| CLASS[usize::from(c)] & SPACE == 0)?;
    let rest = b.get(start..)?;
    // What every well-formed request sends: the credential runs to the end of the value.
    if all_of_class::<BODY>(rest) {
        return Some((start, b.len()));
    }
    // Padding, trailing spaces, or a malformed value: found a byte at a time.
    let body = rest
        .iter()
        .position(|&c| CLASS[usize::from(c)] & BODY == 0)
        .unwrap_or(rest.len());
    if body == 0 {
        return None;
    }
    let mut end = start + body;
    if BODY == TOKEN68_BODY {
        end += b.get(end..)?.iter().take_while(|&&c| c == b'=').count();
    }
    b.get(end..)?
        .iter()
        .all(|&c| CLASS[usize::from(c)] & SPACE != 0)
        .then_some((start, end))
}

/// Whether `b` is not empty and every byte of it is of class `BODY`, sixteen bytes at a time.
///
/// Each chunk is classified by comparisons rather than [`CLASS`] loads and without a branch
/// per byte, which the compiler turns into vector instructions (SSE2 on x86-64): reading a
/// JWT from `Authorization` fell from 68 to 31 ns with it (benches/README.md). The tail is
/// the last sixteen bytes again, overlapping the chunk before: the question is about every
/// byte, so looking at some twice changes nothing.
fn all_of_class<const BODY: u8>(b: &[u8]) -> bool {
    fn chunk_ok<const BODY: u8>(chunk: &[u8; 16]) -> bool {
        chunk.iter().fold(1, |ok, &c| ok & in_class::<BODY>(c)) != 0
    }
    let (chunks, tail) = b.as_chunks::<16>();
    if !chunks.iter().all(chunk_ok::<BODY>) {
        return false;
    }
    match b.last_chunk::<16>() {
        Some(last) if !tail.is_empty() => chunk_ok::<BODY>(last),
        Some(_) => true,
        None => !tail.is_empty() && tail.iter().all(|&c| in_class::<BODY>(c) != 0),
    }
}

/// [`CLASS`]`[c] & BODY != 0`, as 1 or 0, written as range comparisons that vectorise.
#[inline(always)]
fn in_class<const BODY: u8>(c: u8) -> u8 {
    if BODY == VISIBLE {
        u8::from(c.wrapping_sub(0x21) < 0x5e)
    } else {
        // ALPHA (folded to lower case), DIGIT, "-" "." "/" (adjacent), "_", "~", "+".
        u8::from((c | 0x20).wrapping_sub(b'a') < 26)
            | u8::from(c.wrapping_sub(b'0') < 10)
            | u8::from(c.wrapping_sub(b'-') < 3)
            | u8::from(c == b'_')
            | u8::from(c == b'~')
            | u8::from(c == b'+')
    }
}

/// [`CLASS`] bit: a token68 body character, `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" /
/// "/"` (RFC 9110 §11.2; RFC 6750's b64token).
const TOKEN68_BODY: u8 = 1;
/// [`CLASS`] bit: visible ASCII (`VCHAR`, %x21-7E), a bare credential header's characters.
const VISIBLE: u8 = 2;
/// [`CLASS`] bit: a space or a horizontal tab.
const SPACE: u8 = 4;

/// Each byte's classes, as [`TOKEN68_BODY`], [`VISIBLE`] and [`SPACE`] bits: one load a byte
/// on the path every request takes.
static CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/') {
            t[c] |= TOKEN68_BODY;
        }
        if b.is_ascii_graphic() {
            t[c] |= VISIBLE;
        }
        if b == b' ' || b == b'\t' {
            t[c] |= SPACE;
        }
        c += 1;
    }
    t
};

fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a http::HeaderValue>, CredentialError> {
    let mut values = headers.get_all(name).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(CredentialError::Repeated(static_name(name)));
    }
    Ok(first)
}

fn static_name(name: &HeaderName) -> &'static str {
    if name == AUTHORIZATION {
        "Authorization"
    } else {
        "credential header"
    }
}

fn header_token<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    max_len: usize,
) -> Result<Option<Cow<'a, str>>, CredentialError> {
    let Some(value) = single_header(headers, name)? else {
        return Ok(None);
    };
    let bytes = value.as_bytes();
    // Too long is said first, whatever else is wrong with the value (and a value no longer
    // than the limit cannot be too long once trimmed).
    if bytes.len() > max_len && trim_spaces(bytes).len() > max_len {
        return Err(CredentialError::TooLong { limit: max_len });
    }
    let Some((start, end)) = token_span::<VISIBLE>(bytes) else {
        return Err(CredentialError::Malformed("credential header"));
    };
    bytes
        .get(start..end)
        .and_then(|token| std::str::from_utf8(token).ok())
        .map(|s| Some(Cow::Borrowed(s)))
        .ok_or(CredentialError::Malformed("credential header"))
}

fn trim_spaces(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

fn query_token<'a>(
    uri: &'a Uri,
    name: &str,
    max_len: usize,
) -> Result<Option<Cow<'a, str>>, CredentialError> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != name {
            continue;
        }
        if found.is_some() {
            return Err(CredentialError::Repeated("query parameter"));
        }
        if value.len() > max_len {
            return Err(CredentialError::TooLong { limit: max_len });
        }
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CredentialError::Malformed("query parameter"));
        }
        found = Some(value);
    }
    Ok(found)
}

fn strip_query(uri: &mut Uri, name: &str) {
    let Some(query) = uri.query() else { return };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            form_urlencoded::parse(key.as_bytes())
                .next()
                .is_none_or(|(k, _)| k != name)
        })
        .collect();
    let path = uri.path();
    let pq = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let Ok(pq) = PathAndQuery::try_from(pq) else {
        return;
    };
    let mut parts = std::mem::take(uri).into_parts();
    parts.path_and_query = Some(pq);
    if let Ok(rebuilt) = Uri::from_parts(parts) {
        *uri = rebuilt;
    }
}

#[cfg(test)]
mod tests;
