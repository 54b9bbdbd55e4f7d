//! Token responses (RFC 6749 §5.1): read leniently off the wire, then checked strictly into a
//! [`TokenSet`], with the provider quirks we accept only when switched on ([`Quirk`]).

use std::fmt;
use std::time::Duration;

use auth_core::{Scopes, Secret, UnixTime};
use oauth2::basic::BasicTokenType;
use oauth2::{AccessToken, RefreshToken, Scope, TokenResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// A deviation from RFC 6749 that some providers make, accepted only when switched on with
/// `OAuthClientBuilder::accept_quirk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quirk {
    /// `expires_in` sent as a string of digits (`"3600"`) instead of a JSON number.
    ExpiresInAsString,
    /// `scope` sent as a JSON array of strings instead of one space-separated string.
    ScopeAsArray,
    /// No `expires_in`, but `expires_on`: the absolute expiry in seconds since the epoch by
    /// the server's clock (Azure AD v1, as a number or a string of digits). Converted to our
    /// clock with the offset estimated from the response's `Date` header; `expires_in` wins
    /// when both are sent.
    ExpiresOn,
}

/// The set of quirks a client accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Quirks {
    expires_in_as_string: bool,
    scope_as_array: bool,
    expires_on: bool,
}

impl Quirks {
    pub(crate) fn with(mut self, quirk: Quirk) -> Self {
        match quirk {
            Quirk::ExpiresInAsString => self.expires_in_as_string = true,
            Quirk::ScopeAsArray => self.scope_as_array = true,
            Quirk::ExpiresOn => self.expires_on = true,
        }
        self
    }
}

/// Tokens from a token endpoint, checked: a Bearer access token, when it expires, the
/// refresh token if one was issued, and the granted scopes.
#[derive(Clone)]
pub struct TokenSet {
    access_token: Secret,
    refresh_token: Option<Secret>,
    expires_at: Option<UnixTime>,
    scopes: Option<Scopes>,
}

impl TokenSet {
    /// A token set, for stores and tests.
    pub fn new(access_token: Secret, expires_at: Option<UnixTime>) -> Self {
        Self {
            access_token,
            refresh_token: None,
            expires_at,
            scopes: None,
        }
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Option<Secret>) -> Self {
        self.refresh_token = refresh_token;
        self
    }

    /// Sets the granted scopes.
    pub fn with_scopes(mut self, scopes: Option<Scopes>) -> Self {
        self.scopes = scopes;
        self
    }

    /// The access token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The refresh token, if the server issued one.
    pub fn refresh_token(&self) -> Option<&Secret> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, by our clock; `None` when the server did not say.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.expires_at
    }

    /// The granted scopes, when the server said (RFC 6749 §5.1: absent means as requested).
    pub fn scopes(&self) -> Option<&Scopes> {
        self.scopes.as_ref()
    }

    /// Takes the refresh token out (used when a refresh response carries none: the old one
    /// stays valid, RFC 6749 §6).
    pub(crate) fn set_refresh_token(&mut self, refresh_token: Option<Secret>) {
        self.refresh_token = refresh_token;
    }
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A token response as sent, before any check. Implements `oauth2`'s `TokenResponse` only so
/// that the `oauth2` crate can carry it; we read the raw fields.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct RawTokenResponse {
    #[serde(default = "empty_access_token")]
    access_token: AccessToken,
    #[serde(default)]
    token_type: Option<Value>,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    expires_on: Option<Value>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(default)]
    scope: Option<Value>,
    #[serde(skip, default = "bearer")]
    placeholder_type: BasicTokenType,
}

fn empty_access_token() -> AccessToken {
    AccessToken::new(String::new())
}

fn bearer() -> BasicTokenType {
    BasicTokenType::Bearer
}

impl fmt::Debug for RawTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawTokenResponse").finish_non_exhaustive()
    }
}

impl TokenResponse for RawTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &BasicTokenType {
        &self.placeholder_type
    }
    fn expires_in(&self) -> Option<Duration> {
        self.expires_in
            .as_ref()
            .and_then(Value::as_u64)
            .map(Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

/// Whether `token` can travel in an `Authorization` header unchanged: visible ASCII.
fn header_safe(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

impl RawTokenResponse {
    /// Checks the response strictly (RFC 6749 §5.1, §7.1), allowing `quirks`. `sent_at` is when
    /// the request left, by our clock: `expires_in` counts from then, which errs on the early
    /// side whatever the network delay. `expires_in` is relative, so the server's clock never
    /// enters it; only an absolute `expires_on` ([`Quirk::ExpiresOn`]) is moved onto our clock
    /// by `server_offset_secs` (the server's clock minus ours).
    pub(crate) fn check(
        self,
        endpoint: &str,
        quirks: Quirks,
        sent_at: UnixTime,
        server_offset_secs: i64,
    ) -> Result<TokenSet, Error> {
        let access = self.access_token.into_secret();
        if access.is_empty() {
            return Err(Error::invalid(endpoint, "access_token missing"));
        }
        if !header_safe(&access) {
            return Err(Error::invalid(
                endpoint,
                "access_token has characters a header cannot carry",
            ));
        }
        match &self.token_type {
            None => return Err(Error::invalid(endpoint, "token_type missing")),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => {}
            Some(Value::String(t)) => {
                let t: String = t.chars().take(32).filter(char::is_ascii_graphic).collect();
                return Err(Error::invalid(
                    endpoint,
                    format!(
                        "token_type {t:?} is not Bearer (RFC 6749 7.1: a client must not use a token type it does not understand)"
                    ),
                ));
            }
            Some(_) => return Err(Error::invalid(endpoint, "token_type is not a string")),
        }
        let expires_in = match self.expires_in {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
                (Some(secs), _) => Some(secs),
                // A negative lifetime: already expired, never an underflow.
                (None, Some(_)) => Some(0),
                (None, None) => {
                    return Err(Error::invalid(endpoint, "expires_in is not an integer"));
                }
            },
            Some(Value::String(s)) if quirks.expires_in_as_string => {
                match s.trim().parse::<u64>() {
                    Ok(secs) => Some(secs),
                    Err(_) => {
                        return Err(Error::invalid(
                            endpoint,
                            "expires_in string is not a number",
                        ));
                    }
                }
            }
            Some(Value::String(_)) => {
                return Err(Error::invalid(
                    endpoint,
                    "expires_in is a string, not a number (accept with Quirk::ExpiresInAsString)",
                ));
            }
            Some(_) => return Err(Error::invalid(endpoint, "expires_in is not a number")),
        };
        let expires_on = match (&expires_in, self.expires_on) {
            (None, Some(v)) if quirks.expires_on => {
                let secs = match &v {
                    Value::Number(n) => n.as_u64(),
                    Value::String(s) => s.trim().parse::<u64>().ok(),
                    _ => None,
                }
                .ok_or_else(|| Error::invalid(endpoint, "expires_on is not a number of seconds"))?;
                Some(UnixTime::from_secs(secs).saturating_shift(-server_offset_secs))
            }
            _ => None,
        };
        let scopes = match self.scope {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Scopes::from_space_separated(&s)),
            Some(Value::Array(items)) if quirks.scope_as_array => {
                let mut joined = String::new();
                for item in items {
                    let Value::String(s) = item else {
                        return Err(Error::invalid(endpoint, "scope array holds a non-string"));
                    };
                    joined.push_str(&s);
                    joined.push(' ');
                }
                Some(Scopes::from_space_separated(&joined))
            }
            Some(Value::Array(_)) => {
                return Err(Error::invalid(
                    endpoint,
                    "scope is an array, not a string (accept with Quirk::ScopeAsArray)",
                ));
            }
            Some(_) => return Err(Error::invalid(endpoint, "scope is not a string")),
        };
        let refresh = match self.refresh_token {
            None => None,
            Some(rt) => {
                let rt = rt.into_secret();
                if !header_safe(&rt) {
                    return Err(Error::invalid(
                        endpoint,
                        "refresh_token is empty or has control characters",
                    ));
                }
                Some(Secret::new(rt))
            }
        };
        Ok(TokenSet {
            access_token: Secret::new(access),
            refresh_token: refresh,
            expires_at: expires_in
                .map(|s| sent_at.saturating_add(Duration::from_secs(s)))
                .or(expires_on),
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: UnixTime = UnixTime::from_secs(1_000);

    fn parse(body: &str, quirks: Quirks) -> Result<TokenSet, String> {
        let raw: RawTokenResponse = serde_json::from_str(body).map_err(|e| e.to_string())?;
        raw.check("token endpoint", quirks, AT, 0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn expires_on_only_with_the_quirk_and_moved_onto_our_clock() {
        let q = Quirks::default().with(Quirk::ExpiresOn);
        let body = r#"{"access_token":"a","token_type":"Bearer","expires_on":"5000"}"#;
        let at = |body: &str, q, offset| {
            let raw: RawTokenResponse = serde_json::from_str(body).unwrap();
            raw.check("t", q, AT, offset)
                .map(|t| t.expires_at().map(UnixTime::as_secs))
        };
        // Ignored without the quirk; the server's clock 300 s ahead moves it 300 s earlier.
        assert_eq!(at(body, Quirks::default(), 300).unwrap(), None);
        assert_eq!(at(body, q, 300).unwrap(), Some(4_700));
        assert_eq!(at(body, q, -300).unwrap(), Some(5_300));
        // expires_in is relative: never moved by the offset, and it wins over expires_on.
        let both =
            r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"expires_on":5000}"#;
        assert_eq!(at(both, q, 300).unwrap(), Some(1_060));
        let bad = r#"{"access_token":"a","token_type":"Bearer","expires_on":"soon"}"#;
        assert!(at(bad, q, 0).is_err());
    }

    #[track_caller]
    fn check(body: &str, quirks: Quirks, expected: Result<Option<u64>, &str>) {
        match (parse(body, quirks), expected) {
            (Ok(t), Ok(exp)) => {
                assert_eq!(t.expires_at().map(UnixTime::as_secs), exp, "{body}");
            }
            (Err(e), Err(want)) => assert!(e.contains(want), "{body}: {e}"),
            (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn strict_by_default() {
        let none = Quirks::default();
        check(
            r#"{"access_token":"AT","token_type":"bearer","expires_in":3600}"#,
            none,
            Ok(Some(4600)),
        );
        check(
            r#"{"access_token":"AT","token_type":"BEARER"}"#,
            none,
            Ok(None),
        );
        check(
            r#"{"token_type":"Bearer","expires_in":3600}"#,
            none,
            Err("access_token missing"),
        );
        check(
            r#"{"access_token":"AT","expires_in":3600}"#,
            none,
            Err("token_type missing"),
        );
        check(
            r#"{"access_token":"AT","token_type":"example"}"#,
            none,
            Err("not Bearer"),
        );
        check(
            r#"{"access_token":"AT","token_type":"DPoP"}"#,
            none,
            Err("not Bearer"),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":"3600"}"#,
            none,
            Err("ExpiresInAsString"),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":-5}"#,
            none,
            Ok(Some(1000)),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":1.5}"#,
            none,
            Err("not an integer"),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","scope":["a"]}"#,
            none,
            Err("ScopeAsArray"),
        );
        check(
            r#"{"access_token":"A T","token_type":"Bearer"}"#,
            none,
            Err("header"),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","scope":"read write","unknown_member":{"x":1}}"#,
            none,
            Ok(None),
        );
    }

    #[test]
    fn quirks_when_switched_on() {
        let q = Quirks::default()
            .with(Quirk::ExpiresInAsString)
            .with(Quirk::ScopeAsArray);
        check(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":"3600"}"#,
            q,
            Ok(Some(4600)),
        );
        check(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":"soon"}"#,
            q,
            Err("not a number"),
        );
        let t = parse(
            r#"{"access_token":"AT","token_type":"Bearer","scope":["a","b"]}"#,
            q,
        )
        .unwrap();
        assert!(t.scopes().unwrap().contains("b"));
    }

    #[test]
    fn debug_hides_tokens() {
        let t = parse(
            r#"{"access_token":"sekrit-at","token_type":"Bearer","refresh_token":"sekrit-rt"}"#,
            Quirks::default(),
        )
        .unwrap();
        let d = format!("{t:?}");
        assert!(!d.contains("sekrit"), "{d}");
    }
}
