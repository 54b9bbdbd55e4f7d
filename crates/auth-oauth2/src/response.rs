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

/// How an access token is presented (RFC 6749 §7.1): the `token_type` of the response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenType {
    /// `Bearer` (RFC 6750): whoever holds it may use it.
    #[default]
    Bearer,
    /// `DPoP` (RFC 9449): bound to the client's DPoP key; every request needs a proof made
    /// with that key.
    DPoP,
}

impl TokenType {
    /// The scheme of the `Authorization` header: `Bearer` or `DPoP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "Bearer",
            Self::DPoP => "DPoP",
        }
    }
}

/// Tokens from a token endpoint, checked: a Bearer or DPoP access token, when it expires, the
/// refresh token if one was issued, and the granted scopes.
#[derive(Clone)]
pub struct TokenSet {
    access_token: Secret,
    token_type: TokenType,
    refresh_token: Option<Secret>,
    expires_at: Option<UnixTime>,
    scopes: Option<Scopes>,
    /// The `id_token` of the response, not yet verified: taken by the OpenID paths, never
    /// shown.
    id_token: Option<Secret>,
}

impl TokenSet {
    /// A token set, for stores and tests.
    pub fn new(access_token: Secret, expires_at: Option<UnixTime>) -> Self {
        Self {
            access_token,
            token_type: TokenType::Bearer,
            refresh_token: None,
            expires_at,
            scopes: None,
            id_token: None,
        }
    }

    /// Takes the response's unverified `id_token` out.
    pub(crate) fn take_id_token(&mut self) -> Option<Secret> {
        self.id_token.take()
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, refresh_token: Option<Secret>) -> Self {
        self.refresh_token = refresh_token;
        self
    }

    /// Sets the token type (default [`TokenType::Bearer`]): [`TokenType::DPoP`] for a token
    /// bound to the client's DPoP key.
    pub fn with_token_type(mut self, token_type: TokenType) -> Self {
        self.token_type = token_type;
        self
    }

    /// The token type: how the access token is presented.
    pub fn token_type(&self) -> TokenType {
        self.token_type
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
            .field("token_type", &self.token_type)
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
    #[serde(default)]
    id_token: Option<Value>,
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
    /// by `server_offset_secs` (the server's clock minus ours). `DPoP` is accepted only when
    /// the request carried a proof (`proof_sent`); `Bearer` always (a server may decline to
    /// bind, RFC 9449 §5).
    pub(crate) fn check(
        self,
        endpoint: &str,
        quirks: Quirks,
        sent_at: UnixTime,
        server_offset_secs: i64,
        proof_sent: bool,
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
        let token_type = match &self.token_type {
            None => return Err(Error::invalid(endpoint, "token_type missing")),
            Some(Value::String(t)) if t.eq_ignore_ascii_case("bearer") => TokenType::Bearer,
            Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop") && proof_sent => {
                TokenType::DPoP
            }
            Some(Value::String(t)) if t.eq_ignore_ascii_case("dpop") => {
                return Err(Error::invalid(
                    endpoint,
                    "token_type is DPoP but this client sent no DPoP proof (RFC 9449 5: configure a DPoP key with OAuthClientBuilder::dpop)",
                ));
            }
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
        };
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
            token_type,
            refresh_token: refresh,
            expires_at: expires_in
                .map(|s| sent_at.saturating_add(Duration::from_secs(s)))
                .or(expires_on),
            scopes,
            id_token: match self.id_token {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(Secret::new(t)),
                Some(_) => return Err(Error::invalid(endpoint, "id_token is not a string")),
            },
        })
    }
}

#[cfg(test)]
mod tests;
