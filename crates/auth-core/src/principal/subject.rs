//! [`Subject`]: a principal's subject, held inline when short and shared when long, so that
//! building a [`Principal`](super::Principal) for the usual user ids and key owners allocates
//! nothing, and cloning one never copies a long subject.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// The longest subject kept inline: a UUID (36 bytes) or a typical e-mail address fits.
const INLINE_MAX: usize = 38;

/// The subject of a [`Principal`](super::Principal): immutable text that is cheap to build
/// and to clone. Up to 38 bytes it is kept inline (no allocation); a longer one is shared
/// (`Arc<str>`), and one built from an `Arc<str>` shares that allocation.
///
/// It reads as a `&str` ([`Subject::as_str`], `Deref`), and compares, orders and hashes as
/// its text does.
///
/// ```
/// use auth_core::principal::Subject;
///
/// let short = Subject::from("acme-ci");
/// assert_eq!(short, "acme-ci");
/// let shared: std::sync::Arc<str> = "a subject longer than the thirty-eight inline bytes".into();
/// assert_eq!(Subject::from(shared.clone()).as_str(), &*shared);
/// ```
#[derive(Clone)]
pub struct Subject(Repr);

#[derive(Clone)]
enum Repr {
    /// The first `len` bytes of `bytes`, UTF-8 (they are copied from a `&str`).
    Inline {
        len: u8,
        bytes: [u8; INLINE_MAX],
    },
    Shared(Arc<str>),
}

impl Subject {
    /// The subject as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Shared(s) => s,
        }
    }

    /// Whether the subject is held inline (no allocation of its own).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    fn inline(s: &str) -> Option<Self> {
        let len = u8::try_from(s.len())
            .ok()
            .filter(|&n| usize::from(n) <= INLINE_MAX)?;
        let mut bytes = [0; INLINE_MAX];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(Self(Repr::Inline { len, bytes }))
    }
}

impl Default for Subject {
    /// The empty subject.
    fn default() -> Self {
        Self(Repr::Inline {
            len: 0,
            bytes: [0; INLINE_MAX],
        })
    }
}

impl From<&str> for Subject {
    fn from(s: &str) -> Self {
        Self::inline(s).unwrap_or_else(|| Self(Repr::Shared(Arc::from(s))))
    }
}

impl From<&mut str> for Subject {
    fn from(s: &mut str) -> Self {
        Self::from(&*s)
    }
}

impl From<&String> for Subject {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<String> for Subject {
    fn from(s: String) -> Self {
        Self::inline(&s).unwrap_or_else(|| Self(Repr::Shared(Arc::from(s))))
    }
}

impl From<Box<str>> for Subject {
    fn from(s: Box<str>) -> Self {
        Self::inline(&s).unwrap_or_else(|| Self(Repr::Shared(Arc::from(s))))
    }
}

impl From<Cow<'_, str>> for Subject {
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(b) => Self::from(b),
            Cow::Owned(o) => Self::from(o),
        }
    }
}

impl From<Arc<str>> for Subject {
    /// Shares `s` (a long subject is not copied).
    fn from(s: Arc<str>) -> Self {
        Self::inline(&s).unwrap_or(Self(Repr::Shared(s)))
    }
}

impl From<char> for Subject {
    fn from(c: char) -> Self {
        Self::from(c.encode_utf8(&mut [0; 4]) as &str)
    }
}

impl From<Subject> for String {
    fn from(s: Subject) -> Self {
        s.as_str().to_owned()
    }
}

impl Deref for Subject {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Subject {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Subject {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Subject {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Subject {}

impl PartialEq<str> for Subject {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Subject {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Subject {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Subject {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Subject {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_subjects_are_inline_and_long_ones_shared() {
        let uuid = "123e4567-e89b-12d3-a456-426614174000";
        for s in ["", "a", "acme-ci", uuid, "é-ü-ñ", &"x".repeat(INLINE_MAX)] {
            let subject = Subject::from(s);
            assert!(subject.is_inline(), "{s:?}");
            assert_eq!(subject.as_str(), s);
            assert_eq!(Subject::from(s.to_owned()), subject);
        }
        let long = "y".repeat(INLINE_MAX + 1);
        let shared: Arc<str> = Arc::from(long.as_str());
        let subject = Subject::from(Arc::clone(&shared));
        assert!(!subject.is_inline());
        assert_eq!(subject.as_str(), long);
        assert_eq!(
            Arc::strong_count(&shared),
            2,
            "the Arc is shared, not copied"
        );
        assert_eq!(Subject::from(long.clone()), subject);
    }

    #[test]
    fn compares_and_hashes_as_its_text() {
        use std::collections::HashSet;
        let long = "z".repeat(100);
        let set: HashSet<Subject> = [Subject::from("b"), Subject::from(long.as_str())].into();
        assert!(set.contains("b") && set.contains(long.as_str()));
        assert!(!set.contains("c"));
        let (a, b) = (Subject::from("a"), Subject::from("b"));
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Less);
        assert_eq!(
            format!("{:?}", Subject::from("a\"")),
            format!("{:?}", "a\"")
        );
        assert_eq!(Subject::from('é'), "é");
    }
}
