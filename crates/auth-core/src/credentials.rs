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
    // `scheme` + at least one space + the token.
    if bytes.len() > max_len.saturating_add(scheme.len() + 1) {
        // Only an error if this is our scheme; another scheme is not ours to judge.
        return if starts_with_scheme(bytes, scheme) {
            Err(CredentialError::TooLong { limit: max_len })
        } else {
            Ok(None)
        };
    }
    if !starts_with_scheme(bytes, scheme) {
        return Ok(None);
    }
    let rest = &bytes[scheme.len()..];
    let token = trim_spaces(rest);
    if token.len() == rest.len() && !rest.is_empty() {
        // No space between scheme and token: "Bearerabc" is another scheme's name.
        return Ok(None);
    }
    if token.is_empty() || !is_token68(token) {
        return Err(CredentialError::Malformed("Authorization"));
    }
    // `token` is ASCII, so this cannot fail; map rather than unwrap all the same.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| CredentialError::Malformed("Authorization"))
}

fn starts_with_scheme(bytes: &[u8], scheme: &str) -> bool {
    bytes
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme.as_bytes()))
        && matches!(bytes.get(scheme.len()), None | Some(b' ' | b'\t'))
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

/// RFC 9110 token68 (which is RFC 6750's b64token).
fn is_token68(b: &[u8]) -> bool {
    let body_end = b
        .iter()
        .position(|&c| !TOKEN68[usize::from(c)])
        .unwrap_or(b.len());
    body_end > 0 && b[body_end..].iter().all(|&c| c == b'=')
}

/// The token68 body characters (`ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`) as a
/// table: one load a byte on the path every request takes.
static TOKEN68: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
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
    let bytes = trim_spaces(value.as_bytes());
    if bytes.len() > max_len {
        return Err(CredentialError::TooLong { limit: max_len });
    }
    if bytes.is_empty() || !bytes.iter().all(|b| b.is_ascii_graphic()) {
        return Err(CredentialError::Malformed("credential header"));
    }
    std::str::from_utf8(bytes)
        .map(|s| Some(Cow::Borrowed(s)))
        .map_err(|_| CredentialError::Malformed("credential header"))
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
