//! Token exchange (RFC 8693): a service swaps the token it was called with (the subject
//! token, and optionally its own actor token) for one with another audience, resource or
//! scope, to call the next service on the user's behalf.
//!
//! [`OAuthClient::exchange_token`] posts `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`
//! to the token endpoint with the client's authentication (and a DPoP proof when the client
//! has a key). The answer is checked strictly: `access_token` and `issued_token_type`
//! (required, typed as [`TokenTypeId`]), `token_type` `Bearer`, `DPoP` (after a proof) or
//! `N_A` for a token that is not an access token (§2.2.1).

use std::fmt;
use std::time::Duration;

use auth_core::{Scopes, Secret, UnixTime};
use serde_json::Value;

use crate::client::OAuthClient;
use crate::endpoint::{json_or_error, post_token_form};
use crate::error::Error;
use crate::response::{TokenSet, TokenType};

/// The `grant_type` of token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// A token type identifier (RFC 8693 §3): what a subject, actor, requested or issued token is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenTypeId {
    /// `urn:ietf:params:oauth:token-type:access_token`.
    AccessToken,
    /// `urn:ietf:params:oauth:token-type:refresh_token`.
    RefreshToken,
    /// `urn:ietf:params:oauth:token-type:id_token`.
    IdToken,
    /// `urn:ietf:params:oauth:token-type:saml1`.
    Saml1,
    /// `urn:ietf:params:oauth:token-type:saml2`.
    Saml2,
    /// `urn:ietf:params:oauth:token-type:jwt`.
    Jwt,
    /// Any other URI, as sent.
    Other(String),
}

impl TokenTypeId {
    /// Reads an identifier as sent.
    pub fn parse(uri: &str) -> Self {
        match uri.strip_prefix("urn:ietf:params:oauth:token-type:") {
            Some("access_token") => Self::AccessToken,
            Some("refresh_token") => Self::RefreshToken,
            Some("id_token") => Self::IdToken,
            Some("saml1") => Self::Saml1,
            Some("saml2") => Self::Saml2,
            Some("jwt") => Self::Jwt,
            _ => Self::Other(uri.to_owned()),
        }
    }

    /// The identifier as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            Self::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
            Self::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            Self::Saml1 => "urn:ietf:params:oauth:token-type:saml1",
            Self::Saml2 => "urn:ietf:params:oauth:token-type:saml2",
            Self::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            Self::Other(uri) => uri,
        }
    }
}

/// A token exchange request (RFC 8693 §2.1): the subject token and what to get for it.
pub struct TokenExchange {
    subject: (Secret, TokenTypeId),
    actor: Option<(Secret, TokenTypeId)>,
    audiences: Vec<String>,
    resources: Vec<String>,
    scope: Option<String>,
    requested: Option<TokenTypeId>,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange")
            .field("subject_token_type", &self.subject.1)
            .field("actor_token_type", &self.actor.as_ref().map(|a| &a.1))
            .field("audiences", &self.audiences)
            .field("resources", &self.resources)
            .field("scope", &self.scope)
            .field("requested", &self.requested)
            .finish_non_exhaustive()
    }
}

impl TokenExchange {
    /// Exchanges `subject_token`, of type `subject_token_type`.
    pub fn new(subject_token: Secret, subject_token_type: TokenTypeId) -> Self {
        Self {
            subject: (subject_token, subject_token_type),
            actor: None,
            audiences: Vec::new(),
            resources: Vec::new(),
            scope: None,
            requested: None,
        }
    }

    /// The actor token: who acts on the subject's behalf (delegation, §1.1).
    pub fn actor(mut self, actor_token: Secret, actor_token_type: TokenTypeId) -> Self {
        self.actor = Some((actor_token, actor_token_type));
        self
    }

    /// A logical name of the target service (`audience`; call again for more).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// The URI of the target service (`resource`, RFC 8707; call again for more).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// The scopes wanted, space-separated.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The type of token wanted (`requested_token_type`).
    pub fn requested_token_type(mut self, requested: TokenTypeId) -> Self {
        self.requested = Some(requested);
        self
    }
}

/// The token a token exchange issued, checked.
#[derive(Clone)]
pub struct ExchangedToken {
    token: Secret,
    issued_token_type: TokenTypeId,
    token_type: Option<TokenType>,
    expires_at: Option<UnixTime>,
    scopes: Option<Scopes>,
    refresh_token: Option<Secret>,
}

impl fmt::Debug for ExchangedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExchangedToken")
            .field("issued_token_type", &self.issued_token_type)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl ExchangedToken {
    /// The issued token (sent as `access_token` whatever its type).
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// What the issued token is (`issued_token_type`).
    pub fn issued_token_type(&self) -> &TokenTypeId {
        &self.issued_token_type
    }

    /// How to present it as an access token; `None` for `N_A` (not an access token).
    pub fn token_type(&self) -> Option<TokenType> {
        self.token_type
    }

    /// When it expires, by our clock, when the server said.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.expires_at
    }

    /// The granted scopes, when the server said.
    pub fn scopes(&self) -> Option<&Scopes> {
        self.scopes.as_ref()
    }

    /// The token as a [`TokenSet`], when it is usable as an access token.
    pub fn into_token_set(self) -> Option<TokenSet> {
        let token_type = self.token_type?;
        Some(
            TokenSet::new(self.token, self.expires_at)
                .with_token_type(token_type)
                .with_scopes(self.scopes)
                .with_refresh_token(self.refresh_token),
        )
    }
}

impl OAuthClient {
    /// Token exchange (RFC 8693 §2).
    ///
    /// # Errors
    ///
    /// [`Error::Server`] for the server's refusals (`invalid_grant` for a subject token it
    /// does not accept, `invalid_target` for an audience it will not issue for),
    /// [`Error::Transport`] when it cannot be reached, [`Error::InvalidResponse`] for an
    /// answer without `access_token` or `issued_token_type` or with an unknown `token_type`,
    /// [`Error::Misconfigured`] without a token endpoint or with a malformed scope.
    pub async fn exchange_token(&self, request: TokenExchange) -> Result<ExchangedToken, Error> {
        let shared = &*self.shared;
        let uri = shared
            .token_uri
            .as_ref()
            .ok_or_else(|| Error::misconfigured("no token endpoint configured"))?;
        let utf8 = |s: &Secret| {
            s.expose_str()
                .map(str::to_owned)
                .map_err(|_| Error::misconfigured("a token to exchange is not utf-8"))
        };
        if let Some(scope) = &request.scope
            && !scope
                .split(' ')
                .all(|s| s.is_empty() || auth_core::principal::is_scope_token(s))
        {
            return Err(Error::misconfigured(
                "a scope has characters RFC 6749 3.3 does not allow",
            ));
        }
        let subject = utf8(&request.subject.0)?;
        let actor = request.actor.as_ref().map(|a| utf8(&a.0)).transpose()?;
        let mut params: Vec<(&str, &str)> = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", &subject),
            ("subject_token_type", request.subject.1.as_str()),
        ];
        if let (Some(token), Some((_, kind))) = (&actor, &request.actor) {
            params.push(("actor_token", token));
            params.push(("actor_token_type", kind.as_str()));
        }
        params.extend(request.audiences.iter().map(|a| ("audience", a.as_str())));
        params.extend(request.resources.iter().map(|r| ("resource", r.as_str())));
        if let Some(scope) = &request.scope {
            params.push(("scope", scope));
        }
        if let Some(t) = &request.requested {
            params.push(("requested_token_type", t.as_str()));
        }
        let endpoint = &shared.token_name;
        let sent_at = shared.clock.now();
        let (response, proof_sent) = post_token_form(self, endpoint, uri, &params).await?;
        let body = json_or_error(endpoint, &response)?;
        let bad = |why: &'static str| Error::invalid(endpoint, why);
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("access_token missing"))?;
        let issued_token_type = body
            .get("issued_token_type")
            .and_then(Value::as_str)
            .map(TokenTypeId::parse)
            .ok_or_else(|| bad("issued_token_type missing (RFC 8693 2.2.1)"))?;
        let token_type = match body.get("token_type").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case("bearer") => Some(TokenType::Bearer),
            Some(t) if t.eq_ignore_ascii_case("dpop") && proof_sent => Some(TokenType::DPoP),
            Some("N_A") => None,
            Some(_) => return Err(bad("token_type is not Bearer, DPoP after a proof, or N_A")),
            None => return Err(bad("token_type missing")),
        };
        let expires_at = match body.get("expires_in") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                sent_at.saturating_add(Duration::from_secs(
                    v.as_u64()
                        .ok_or_else(|| bad("expires_in is not a number"))?,
                )),
            ),
        };
        let scopes = match body.get("scope") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Scopes::from_space_separated(s)),
            Some(_) => return Err(bad("scope is not a string")),
        };
        let refresh_token = match body.get("refresh_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Secret::new(s.clone())),
            Some(_) => return Err(bad("refresh_token is not a string")),
        };
        Ok(ExchangedToken {
            token: Secret::new(token),
            issued_token_type,
            token_type,
            expires_at,
            scopes,
            refresh_token,
        })
    }
}
