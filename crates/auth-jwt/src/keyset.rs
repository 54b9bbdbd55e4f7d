//! [`KeySet`]: the keys a verifier trusts, found by `kid` and `alg` without guessing.
//!
//! A token's `kid` is only ever compared with the keys' ids, never used as a path, a URL or a
//! query. A `kid` naming two different keys is refused, not resolved to either. A token
//! without `kid` uses the one key that fits its `alg`; with several, it is refused unless the
//! verifier was built with `try_each_key_without_kid`. A token whose `kid` names no key may
//! still use the one key that has no id and fits its `alg` (a single configured secret);
//! with several such keys it is refused.

use std::collections::HashMap;

use crate::error::{Error, shown};
use crate::{Algorithm, Key};

/// A set of verification keys.
#[derive(Debug, Default)]
pub struct KeySet {
    keys: Vec<Key>,
    skipped: Vec<String>,
    /// Key ids that name different keys in the source document.
    ambiguous: Vec<String>,
    /// Each key id's first key, `None` once another key of different material claims the
    /// same id. Kept as keys are added; read for sets larger than [`SCAN`], where a scan
    /// would cost more than hashing the token's `kid` (SipHash: the `kid` is the sender's).
    by_kid: HashMap<Box<str>, Option<usize>>,
}

/// Up to this many keys, a `kid` is looked up by scanning.
const SCAN: usize = 8;

/// What a `kid` names.
enum Named<'a> {
    Nothing,
    One(&'a Key),
    Several,
}

/// The keys to try for one token.
#[derive(Debug)]
pub(crate) enum Resolved<'a> {
    One(&'a Key),
    Each(Vec<&'a Key>),
}

impl KeySet {
    /// A set of the given keys.
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Self {
        let mut set = Self::default();
        for key in keys {
            set.push(key);
        }
        set
    }

    /// Parses a JWK Set (RFC 7517 §5). Keys that cannot verify (unknown `kty`, `use: enc`,
    /// `key_ops` without `verify`, private members, weak or invalid material) are skipped
    /// and listed in [`KeySet::skipped`]; they do not fail the set. Secrets (`kty: oct`)
    /// beside public keys are skipped too: a set that mixes them invites key confusion. A
    /// `kid` given to two different entries is never resolved, even if one was skipped.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] when the document is not a JSON object with a `keys` array, or
    /// has duplicate members.
    pub fn from_jwks(json: &str) -> Result<Self, Error> {
        Self::parse_jwks(json, false)
    }

    /// Parses a published JWKS (RFC 7517 §5), as fetched from a `jwks_uri`: like
    /// [`KeySet::from_jwks`], but every `oct` key is skipped. A published set is public, so a
    /// shared secret in it is known to anyone who can fetch the URL; verifying HMAC tokens
    /// with it would accept tokens forged by any of them.
    ///
    /// # Errors
    ///
    /// As [`KeySet::from_jwks`].
    pub fn from_public_jwks(json: &str) -> Result<Self, Error> {
        Self::parse_jwks(json, true)
    }

    fn parse_jwks(json: &str, public_only: bool) -> Result<Self, Error> {
        crate::json::check_unique(json.as_bytes())
            .map_err(|e| Error::invalid_key(format!("JWKS is not valid JSON: {e}")))?;
        let doc: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid_key(format!("JWKS is not valid JSON: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| Error::invalid_key("JWKS has no keys array"))?;
        let mut set = Self::default();
        let has_public = public_only
            || keys.iter().any(|k| {
                matches!(
                    k.get("kty").and_then(|t| t.as_str()),
                    Some("RSA" | "EC" | "OKP")
                )
            });
        for (i, jwk) in keys.iter().enumerate() {
            if has_public && jwk.get("kty").and_then(|t| t.as_str()) == Some("oct") {
                set.skipped.push(if public_only {
                    format!("key {i}: a secret in a published set")
                } else {
                    format!("key {i}: a secret in a set of public keys")
                });
                continue;
            }
            match crate::jwk::parse(jwk) {
                Ok(key) => set.push(key),
                Err(why) => set.skipped.push(format!("key {i}: {why}")),
            }
        }
        for (i, a) in keys.iter().enumerate() {
            let Some(kid) = a.get("kid").and_then(|k| k.as_str()) else {
                continue;
            };
            let differs = keys[i + 1..].iter().any(|b| {
                b.get("kid").and_then(|k| k.as_str()) == Some(kid) && !same_material(a, b)
            });
            if differs && !set.ambiguous.iter().any(|k| k == kid) {
                set.ambiguous.push(kid.to_owned());
            }
        }
        Ok(set)
    }

    /// Adds a key.
    pub fn push(&mut self, key: Key) {
        if let Some(kid) = key.kid() {
            match self.by_kid.get_mut(kid) {
                None => {
                    self.by_kid.insert(kid.into(), Some(self.keys.len()));
                }
                Some(slot) => {
                    if slot.is_some_and(|first| !self.keys[first].same_material(&key)) {
                        *slot = None;
                    }
                }
            }
        }
        self.keys.push(key);
    }

    /// The key(s) `kid` names.
    fn named(&self, kid: &str) -> Named<'_> {
        if self.keys.len() > SCAN {
            return match self.by_kid.get(kid) {
                None => Named::Nothing,
                Some(Some(i)) => self.keys.get(*i).map_or(Named::Nothing, Named::One),
                Some(None) => Named::Several,
            };
        }
        let mut named = self.keys.iter().filter(|k| k.kid() == Some(kid));
        match named.next() {
            None => Named::Nothing,
            Some(first) if named.any(|other| !other.same_material(first)) => Named::Several,
            Some(first) => Named::One(first),
        }
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Why keys of the source document were skipped, one line each.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no usable keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether any key can verify `alg`.
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.keys.iter().any(|k| k.supports(alg))
    }

    /// Whether a key with this `kid` is present.
    pub fn contains_kid(&self, kid: &str) -> bool {
        !matches!(self.named(kid), Named::Nothing)
    }

    /// The keys to try for a token's `kid` and `alg`.
    pub(crate) fn resolve(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        try_each: bool,
    ) -> Result<Resolved<'_>, Error> {
        if let Some(kid) = kid {
            if self.ambiguous.iter().any(|k| k == kid) {
                return Err(Error::UnknownKey(format!(
                    "kid {} names more than one key",
                    shown(kid)
                )));
            }
            match self.named(kid) {
                Named::Several => {
                    return Err(Error::UnknownKey(format!(
                        "kid {} names more than one key",
                        shown(kid)
                    )));
                }
                Named::One(key) if key.supports(alg) => return Ok(Resolved::One(key)),
                Named::One(_) => {
                    return Err(Error::UnknownKey(format!(
                        "key {} cannot verify {alg}",
                        shown(kid)
                    )));
                }
                Named::Nothing => {}
            }
            // No key has that id: keys without an id may still fit, unambiguously.
            return self.without_kid(alg, try_each, Some(kid), |k| k.kid().is_none());
        }
        self.without_kid(alg, try_each, None, |_| true)
    }

    fn without_kid(
        &self,
        alg: Algorithm,
        try_each: bool,
        kid: Option<&str>,
        eligible: impl Fn(&Key) -> bool,
    ) -> Result<Resolved<'_>, Error> {
        let mut fits = self.keys.iter().filter(|k| eligible(k) && k.supports(alg));
        let what = || {
            kid.map_or_else(
                || format!("token without kid and {alg}"),
                |k| format!("kid {} with {alg}", shown(k)),
            )
        };
        let Some(first) = fits.next() else {
            return Err(Error::UnknownKey(format!("no key for {}", what())));
        };
        let Some(second) = fits.next() else {
            return Ok(Resolved::One(first));
        };
        if try_each {
            return Ok(Resolved::Each(
                [first, second].into_iter().chain(fits).collect(),
            ));
        }
        Err(Error::UnknownKey(format!(
            "{} keys fit {}: refusing to guess",
            2 + fits.count(),
            what()
        )))
    }
}

/// Whether two JWK entries hold the same key material.
fn same_material(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    ["kty", "crv", "n", "e", "x", "y", "k"]
        .iter()
        .all(|m| a.get(m) == b.get(m))
}

#[cfg(test)]
mod tests {
    use auth_core::Secret;

    use super::*;

    fn hs(byte: u8, kid: Option<&str>) -> Key {
        let k = Key::hmac(&Secret::new(vec![byte; 32]), Algorithm::HS256).unwrap();
        match kid {
            Some(id) => k.with_kid(id),
            None => k,
        }
    }

    #[test]
    fn kid_lookup_is_exact_and_never_ambiguous() {
        let set = KeySet::new([hs(1, Some("a")), hs(2, Some("b"))]);
        assert!(matches!(
            set.resolve(Some("a"), Algorithm::HS256, false),
            Ok(Resolved::One(k)) if k.kid() == Some("a")
        ));
        assert!(set.resolve(Some("../a"), Algorithm::HS256, false).is_err());
        assert!(set.resolve(Some("a"), Algorithm::HS512, false).is_err());
        let dup = KeySet::new([hs(1, Some("a")), hs(2, Some("a"))]);
        assert!(dup.resolve(Some("a"), Algorithm::HS256, false).is_err());
        let same = KeySet::new([hs(1, Some("a")), hs(1, Some("a"))]);
        assert!(same.resolve(Some("a"), Algorithm::HS256, false).is_ok());
    }

    /// Past the scan threshold the index answers, and answers the same.
    #[test]
    fn large_sets_resolve_like_small_ones() {
        for extra in [0u8, 20] {
            let mut keys: Vec<Key> = (0..extra)
                .map(|i| hs(100 + i, Some(&format!("k{i}"))))
                .collect();
            keys.extend([
                hs(1, Some("a")),
                hs(2, Some("b")),
                hs(3, Some("b")),
                hs(4, None),
            ]);
            keys.push(hs(1, Some("a")));
            let set = KeySet::new(keys);
            assert!(matches!(
                set.resolve(Some("a"), Algorithm::HS256, false),
                Ok(Resolved::One(k)) if k.kid() == Some("a")
            ));
            assert!(set.resolve(Some("b"), Algorithm::HS256, false).is_err());
            assert!(set.contains_kid("b") && !set.contains_kid("c"));
            // An unknown kid falls back to the one key without an id.
            assert!(matches!(
                set.resolve(Some("c"), Algorithm::HS256, false),
                Ok(Resolved::One(k)) if k.kid().is_none()
            ));
            assert!(set.resolve(Some("a"), Algorithm::HS512, false).is_err());
        }
    }

    #[test]
    fn no_kid_uses_the_single_fitting_key_or_refuses() {
        let one = KeySet::new([hs(1, Some("a"))]);
        assert!(one.resolve(None, Algorithm::HS256, false).is_ok());
        let two = KeySet::new([hs(1, Some("a")), hs(2, Some("b"))]);
        assert!(two.resolve(None, Algorithm::HS256, false).is_err());
        assert!(matches!(
            two.resolve(None, Algorithm::HS256, true),
            Ok(Resolved::Each(v)) if v.len() == 2
        ));
    }

    #[test]
    fn jwks_skips_what_cannot_verify() {
        let set = KeySet::from_jwks(
            r#"{"keys":[{"kty":"foo"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"},{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.skipped().len(), 2);
        assert!(KeySet::from_jwks(r#"{"keys":[],"keys":[]}"#).is_err());
        assert!(KeySet::from_jwks(r#"{"kty":"oct"}"#).is_err());
    }
}
