//! [`Principal`]: who a verified credential speaks for, with its [`Scopes`].

mod subject;

use std::fmt;
use std::sync::Arc;

use http::Extensions;

pub use subject::Subject;

/// Which kind of credential proved a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// An API key.
    ApiKey,
    /// A JSON Web Token verified locally.
    Jwt,
    /// An opaque token checked by OAuth 2.0 token introspection (RFC 7662).
    Introspection,
    /// Another kind, named by the authenticator.
    Other(&'static str),
}

impl CredentialKind {
    /// A short lower-case name: `api_key`, `jwt`, `introspection`, or the given name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::Jwt => "jwt",
            Self::Introspection => "introspection",
            Self::Other(name) => name,
        }
    }
}

/// An authenticated subject: the result of a successful authentication.
///
/// It travels with the request in [`http::Extensions`]; handlers read it back with
/// `parts.extensions.get::<Principal>()`. Typed attributes (JWT claims, key metadata) ride
/// along in [`Principal::attributes`].
///
/// Building one is cheap: a short subject is kept inline and a long one shared (see
/// [`Subject`]), the [`Scopes`] are shared with wherever they came from (a key record, say),
/// and the attribute map is allocated only when a first attribute is added.
#[derive(Clone)]
pub struct Principal {
    subject: Subject,
    scopes: Scopes,
    kind: CredentialKind,
    attributes: Extensions,
}

impl Principal {
    /// A principal for `subject`, proved by a credential of `kind`, with no scopes.
    ///
    /// `subject` is anything a `String` can be made from (`&str`, `String`, ...) or an
    /// `Arc<str>`, whose allocation is then shared; see [`Subject`].
    pub fn new(subject: impl Into<Subject>, kind: CredentialKind) -> Self {
        Self {
            subject: subject.into(),
            scopes: Scopes::default(),
            kind,
            attributes: Extensions::new(),
        }
    }

    /// Sets the scopes.
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Adds a typed attribute (replacing one of the same type).
    pub fn with_attribute<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.attributes.insert(value);
        self
    }

    /// The subject: a user id, a client id, an API key's owner.
    pub fn subject(&self) -> &str {
        self.subject.as_str()
    }

    /// The subject as a [`Subject`]: cloning it allocates nothing, for a key (a rate limit's,
    /// a cache's) that must outlive the borrow of the principal.
    pub fn shared_subject(&self) -> &Subject {
        &self.subject
    }

    /// The granted scopes.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The kind of credential that proved this principal.
    pub fn kind(&self) -> CredentialKind {
        self.kind
    }

    /// A typed attribute.
    pub fn attribute<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.attributes.get::<T>()
    }

    /// All typed attributes.
    pub fn attributes(&self) -> &Extensions {
        &self.attributes
    }

    /// Mutable access to the typed attributes.
    pub fn attributes_mut(&mut self) -> &mut Extensions {
        &mut self.attributes
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject)
            .field("scopes", &self.scopes)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A set of OAuth 2.0 scope tokens (RFC 6749 §3.3), kept sorted and free of duplicates.
///
/// Held as one shared string, the tokens in order separated by single spaces: one allocation
/// however many scopes (a token's scopes are built on every request), none for no scopes,
/// and none to clone (a key's scopes go onto every principal of that key).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Option<Arc<str>>);

impl Scopes {
    /// Parses a space-separated scope string. Tokens with characters RFC 6749 §3.3 forbids
    /// (controls, space, `"`, `\`, non-ASCII) are dropped.
    pub fn from_space_separated(s: &str) -> Self {
        // Already canonical (valid tokens in strictly ascending order, single spaces), as
        // issuers usually send it: a copy is all there is to do.
        if is_canonical(s.as_bytes()) {
            return Self::from_canonical(s);
        }
        s.split(' ').collect()
    }

    /// Parses a `scope` parameter strictly, as RFC 6749 §3.3 writes it: scope tokens separated
    /// by single spaces. The empty string is no scopes. For a server reading what a client
    /// asked for, where dropping a token it cannot read would grant something else than was
    /// asked ([`Scopes::from_space_separated`] drops them, for reading what an issuer granted).
    ///
    /// # Errors
    ///
    /// [`ScopeError::InvalidToken`] for a forbidden character, or an empty token (a leading,
    /// trailing or doubled space).
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        if s.is_empty() || is_canonical(s.as_bytes()) {
            return Ok(Self::from_canonical(s));
        }
        if s.split(' ').all(is_scope_token) {
            Ok(s.split(' ').collect())
        } else {
            Err(ScopeError::InvalidToken)
        }
    }

    /// Scopes from a string already in canonical form (the empty string is no scopes).
    fn from_canonical(s: &str) -> Self {
        Self((!s.is_empty()).then(|| Arc::from(s)))
    }

    /// Whether `scope` is granted.
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.as_str().split(' ').filter(|s| !s.is_empty())
    }

    /// How many scopes there are.
    pub fn len(&self) -> usize {
        match &self.0 {
            None => 0,
            Some(s) => s.bytes().filter(|b| *b == b' ').count() + 1,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The scopes as an OAuth 2.0 `scope` parameter: sorted, separated by single spaces.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }
}

/// Whether `s` is empty or valid scope tokens in strictly ascending order separated by
/// single spaces: one pass over the bytes, eight at a time between spaces.
fn is_canonical(s: &[u8]) -> bool {
    let mut start = 0;
    let mut previous: &[u8] = &[];
    let mut i = 0;
    loop {
        i = skip_scope_bytes(s, i);
        let Some(&b) = s.get(i) else { break };
        if SCOPE_CLASS[usize::from(b)] != SPACE {
            return false;
        }
        let token = s.get(start..i).unwrap_or_default();
        if token.is_empty() || (start > 0 && previous >= token) {
            return false;
        }
        previous = token;
        i += 1;
        start = i;
    }
    let last = s.get(start..).unwrap_or_default();
    s.is_empty() || (!last.is_empty() && (start == 0 || previous < last))
}

/// The index of the first byte at or after `i` that is not a scope-token character (a
/// space, or a forbidden byte), or `s.len()`.
fn skip_scope_bytes(s: &[u8], mut i: usize) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `x` below `n`: exact up to the first such byte.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let equal = |x: u64, n: u8| below(x ^ (ONES * u64::from(n)), 1);
    while let Some(chunk) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        // Not %x21 / %x23-5B / %x5D-7E: below 0x21, 0x22, 0x5C, 0x7F, or 0x80 and above.
        let hits = below(w, 0x21) | equal(w, 0x22) | equal(w, 0x5c) | equal(w, 0x7f) | (w & HIGH);
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while s
        .get(i)
        .is_some_and(|&b| SCOPE_CLASS[usize::from(b)] == TOKEN)
    {
        i += 1;
    }
    i
}

const TOKEN: u8 = 1;
const SPACE: u8 = 2;

/// Each byte's class in a scope string: [`TOKEN`], [`SPACE`], or 0 (forbidden).
static SCOPE_CLASS: [u8; 256] = {
    let mut t = [0; 256];
    let mut b = 0;
    while b < 256 {
        if is_scope_byte(b as u8) {
            t[b] = TOKEN;
        }
        b += 1;
    }
    t[b' ' as usize] = SPACE;
    t
};

/// `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3).
const fn is_scope_byte(b: u8) -> bool {
    b == 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e)
}

/// Whether `s` is an RFC 6749 scope-token: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_scope_byte)
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut v: Vec<S> = iter
            .into_iter()
            .filter(|s| is_scope_token(s.as_ref()))
            .collect();
        v.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
        v.dedup_by(|a, b| a.as_ref() == b.as_ref());
        let mut joined = String::with_capacity(v.iter().map(|s| s.as_ref().len() + 1).sum());
        for (i, s) in v.iter().enumerate() {
            if i > 0 {
                joined.push(' ');
            }
            joined.push_str(s.as_ref());
        }
        Self((!joined.is_empty()).then(|| Arc::from(joined)))
    }
}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for Scopes {
    /// Space-separated, as in an OAuth 2.0 `scope` parameter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What scopes a request needs: alternatives separated by `|`, each a space-separated list of
/// scopes that must all be granted.
///
/// ```
/// use auth_core::{ScopeRequirement, Scopes};
///
/// let need = ScopeRequirement::parse("orders:read orders:write | admin").unwrap();
/// assert!(need.is_satisfied_by(&Scopes::from_space_separated("admin")));
/// assert!(need.is_satisfied_by(&Scopes::from_space_separated("orders:write orders:read")));
/// assert!(!need.is_satisfied_by(&Scopes::from_space_separated("orders:read")));
/// // What a 403 challenge names in its `scope` auth-param: the first alternative.
/// assert_eq!(need.challenge_scope(), "orders:read orders:write");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRequirement {
    alternatives: Vec<Vec<Box<str>>>,
}

impl ScopeRequirement {
    /// All of `scopes` are needed.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when the list is empty or holds an invalid scope token.
    pub fn all<S: AsRef<str>>(scopes: impl IntoIterator<Item = S>) -> Result<Self, ScopeError> {
        let all = scopes
            .into_iter()
            .map(|s| {
                let s = s.as_ref();
                if is_scope_token(s) {
                    Ok(Box::from(s))
                } else {
                    Err(ScopeError::InvalidToken)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        if all.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(Self {
            alternatives: vec![all],
        })
    }

    /// Parses `a b | c`: (a and b) or c.
    ///
    /// # Errors
    ///
    /// [`ScopeError`] when an alternative is empty or a token is invalid.
    pub fn parse(expr: &str) -> Result<Self, ScopeError> {
        let mut alternatives = Vec::new();
        for alt in expr.split('|') {
            let one = Self::all(alt.split_ascii_whitespace())?;
            alternatives.extend(one.alternatives);
        }
        Ok(Self { alternatives })
    }

    /// Either this requirement or `other`.
    pub fn or(mut self, other: Self) -> Self {
        self.alternatives.extend(other.alternatives);
        self
    }

    /// Whether `granted` satisfies the requirement.
    pub fn is_satisfied_by(&self, granted: &Scopes) -> bool {
        self.alternatives
            .iter()
            .any(|alt| alt.iter().all(|s| granted.contains(s)))
    }

    /// The scopes named in an `insufficient_scope` challenge (RFC 6750 §3): the first
    /// alternative, space-separated.
    pub fn challenge_scope(&self) -> String {
        self.alternatives
            .first()
            .map(|alt| alt.join(" "))
            .unwrap_or_default()
    }
}

impl fmt::Display for ScopeRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alt) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            f.write_str(&alt.join(" "))?;
        }
        Ok(())
    }
}

/// A scope requirement could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// An alternative names no scope.
    #[error("empty scope requirement")]
    Empty,
    /// A scope has characters RFC 6749 §3.3 forbids.
    #[error("invalid scope token")]
    InvalidToken,
}

#[cfg(test)]
mod tests;
