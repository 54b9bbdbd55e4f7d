//! The UserInfo endpoint (OpenID Connect Core §5.3, feature `jwt`): the signed-in user's
//! claims, fetched with the access token and tied to the ID token.
//!
//! [`OAuthClient::userinfo`] sends `GET` with `Authorization: Bearer <token>`, or, for a
//! token bound to the client's DPoP key, `Authorization: DPoP <token>` with a fresh proof
//! (one retry when the server asks for its nonce, RFC 9449 §9). The answer is read as JSON
//! (`application/json`) or as a signed JWT (`application/jwt`, verified with the provider's
//! keys and an algorithm advertised in `userinfo_signing_alg_values_supported` and allowed;
//! its `iss` and `aud`, when present, must be the provider's issuer and contain the client
//! id). Either way its `sub` must equal the ID token's (§5.3.4): a response about another
//! user is refused ([`UserInfoError::SubjectMismatch`]).

use std::fmt;

use auth_core::Challenge;
use auth_jwt::Algorithm;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::OAuthClient;
use crate::endpoint::{name, send};
use crate::error::IdTokenError;
pub use crate::error::UserInfoError;
use crate::error::{Error, ErrorCode, ServerError};
use crate::id_token::IdToken;
use crate::oidc::verify_jws;
use crate::response::{TokenSet, TokenType};

/// A UserInfo response, checked: its `sub` (the ID token's), the application's claims `C`,
/// and the algorithm when it came signed.
#[derive(Clone)]
pub struct UserInfo<C> {
    subject: String,
    claims: C,
    signed: Option<Algorithm>,
}

impl<C> UserInfo<C> {
    /// `sub`, equal to the ID token's.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The application's claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// Takes the application's claims.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The algorithm of a signed (`application/jwt`) response; `None` for plain JSON.
    pub fn signed_with(&self) -> Option<Algorithm> {
        self.signed
    }
}

impl<C: fmt::Debug> fmt::Debug for UserInfo<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserInfo")
            .field("subject", &self.subject)
            .field("claims", &self.claims)
            .field("signed", &self.signed)
            .finish()
    }
}

impl OAuthClient {
    /// The UserInfo of the user `id_token` names, fetched with `tokens`' access token (the
    /// tokens that came with it, or refreshed ones).
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] without a UserInfo endpoint or `jwks_uri`;
    /// [`Error::Transport`] when it cannot be reached; [`Error::Server`] for a refusal with an
    /// RFC 6750 `error` (`invalid_token`, `insufficient_scope`), [`Error::Status`] for another;
    /// [`Error::UserInfo`] when the response is refused.
    pub async fn userinfo<C: DeserializeOwned, P>(
        &self,
        tokens: &TokenSet,
        id_token: &IdToken<P>,
    ) -> Result<UserInfo<C>, Error> {
        let shared = &*self.shared;
        let oidc = shared.oidc.as_deref().ok_or_else(|| {
            Error::misconfigured("no jwks_uri (OAuthClientBuilder::metadata or jwks_uri)")
        })?;
        let uri = oidc
            .userinfo_uri
            .as_ref()
            .ok_or_else(|| Error::misconfigured("no userinfo endpoint configured"))?;
        let endpoint = name("userinfo endpoint", uri);
        let token = tokens
            .access_token()
            .expose_str()
            .map_err(|_| Error::misconfigured("access token is not utf-8"))?;
        let mut authorization =
            HeaderValue::try_from(format!("{} {token}", tokens.token_type().as_str()))
                .map_err(|_| Error::misconfigured("access token cannot travel in a header"))?;
        authorization.set_sensitive(true);
        let dpop = match tokens.token_type() {
            TokenType::DPoP => Some(shared.dpop.as_deref().ok_or_else(|| {
                Error::misconfigured("a DPoP-bound token needs the client's DPoP key")
            })?),
            _ => None,
        };
        let request = || -> Result<auth_core::HttpRequest, Error> {
            let mut request = http::Request::get(uri.clone())
                .header(ACCEPT, "application/json, application/jwt")
                .header(AUTHORIZATION, authorization.clone())
                .body(Vec::new())
                .map_err(|_| Error::misconfigured("cannot build the userinfo request"))?;
            if let Some(dpop) = dpop {
                let proof = dpop.proof(&Method::GET, uri, Some(token))?;
                request
                    .headers_mut()
                    .insert(http::HeaderName::from_static("dpop"), proof);
            }
            Ok(request)
        };
        let mut response = send(self, &endpoint, request()?).await?;
        if let Some(dpop) = dpop
            && dpop.learn(uri, response.headers())
            && response.status() == http::StatusCode::UNAUTHORIZED
        {
            response = send(self, &endpoint, request()?).await?;
            dpop.learn(uri, response.headers());
        }
        let status = response.status().as_u16();
        if status != 200 {
            let code = response
                .headers()
                .get_all(WWW_AUTHENTICATE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(|v| Challenge::parse_all(v).ok())
                .flatten()
                .find_map(|c| c.param("error").map(ErrorCode::parse));
            return Err(match code {
                Some(code) => Error::Server {
                    endpoint,
                    error: ServerError::new(code, status),
                },
                None => Error::Status { endpoint, status },
            });
        }
        let media = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let (claims, signed) = match media.as_str() {
            "application/json" => match serde_json::from_slice::<Value>(response.body()) {
                Ok(Value::Object(map)) => (map, None),
                _ => return Err(UserInfoError::NotJson.into()),
            },
            "application/jwt" => {
                let body = std::str::from_utf8(response.body())
                    .map_err(|_| UserInfoError::Jwt(IdTokenError::Malformed("not utf-8".into())))?;
                let jws = verify_jws(oidc, body.trim(), &oidc.userinfo_algorithms)
                    .await
                    .map_err(UserInfoError::Jwt)?;
                self.check_signed(&jws.claims)?;
                (jws.claims, Some(jws.alg))
            }
            _ => return Err(UserInfoError::ContentType.into()),
        };
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or(UserInfoError::MissingSubject)?
            .to_owned();
        if subject != id_token.subject() {
            return Err(UserInfoError::SubjectMismatch.into());
        }
        let claims = serde_json::from_value(Value::Object(claims))
            .map_err(|e| UserInfoError::Claims(e.to_string().chars().take(120).collect()))?;
        Ok(UserInfo {
            subject,
            claims,
            signed,
        })
    }

    /// The `iss` and `aud` of a signed UserInfo response, when present (§5.3.2).
    fn check_signed(&self, claims: &Map<String, Value>) -> Result<(), UserInfoError> {
        let shared = &*self.shared;
        match claims.get("iss") {
            None => {}
            Some(Value::String(iss)) if Some(iss.as_str()) == shared.issuer.as_deref() => {}
            Some(_) => return Err(UserInfoError::Jwt(IdTokenError::Issuer)),
        }
        let ours = |v: &Value| v.as_str() == Some(shared.client_id.as_str());
        match claims.get("aud") {
            None => Ok(()),
            Some(Value::String(_)) | Some(Value::Array(_))
                if claims.get("aud").is_some_and(|a| {
                    ours(a) || a.as_array().is_some_and(|l| l.iter().any(ours))
                }) =>
            {
                Ok(())
            }
            Some(_) => Err(UserInfoError::Jwt(IdTokenError::Audience)),
        }
    }
}
