//! `POST /oauth/introspect`: token introspection (RFC 7662) for resource servers that hold
//! no keys. The caller authenticates as a client like at the token endpoint; the token may be
//! one of the server's JWTs or an API key. Anything not valid is `{"active": false}`, with no
//! reason (§2.2: the reason stays in the server's logs).

use auth_apikey::{KeyRecord, KeyStatus};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::app::{App, Reply};
use super::client::{Form, oauth_error};

impl App {
    /// Answers the introspection request `form` of the authenticated `client`.
    pub(crate) async fn introspect(&self, form: Form, client: &KeyRecord) -> Reply {
        let Some(token) = form.token.as_deref() else {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "token is missing",
            );
        };
        let answer = match self.token_info(token).await {
            Ok(answer) => answer,
            Err(why) => {
                self.log.event("introspect_error", &[("error", json!(why))]);
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "cannot check the token now",
                );
            }
        };
        self.log.event(
            "introspected",
            &[
                ("client_id", json!(client.id.as_str())),
                ("active", answer["active"].clone()),
            ],
        );
        let mut reply = Reply::json(StatusCode::OK, &answer);
        reply
            .headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        reply
    }

    /// The RFC 7662 §2.2 answer for `token`, without the members it has no value for (a key
    /// that never expires has no `exp`: §2.2 defines it as a number, never `null`); `Err`
    /// when no answer can be reached.
    async fn token_info(&self, token: &str) -> Result<Value, String> {
        let mut answer = self.token_members(token).await?;
        if let Some(members) = answer.as_object_mut() {
            members.retain(|_, value| !value.is_null());
        }
        Ok(answer)
    }

    /// [`App::token_info`] with `null` for what is not known.
    async fn token_members(&self, token: &str) -> Result<Value, String> {
        let inactive = json!({"active": false});
        if self.keys.format().recognizes(token) {
            // Looking at a key is not using it: a limited-use key keeps its uses.
            return match self.keys.inspect(token).await {
                Ok(KeyStatus::Valid(record)) => Ok(json!({
                    "active": true,
                    "token_type": "Bearer",
                    "kind": "api_key",
                    "sub": record.owner,
                    "client_id": record.id.as_str(),
                    "scope": record.scopes.to_string(),
                    "iat": record.created.as_secs(),
                    "exp": record.expires.map(|t| t.as_secs()),
                })),
                Ok(_) => Ok(inactive),
                Err(e) => Err(e.to_string()),
            };
        }
        // The token's signature and claims, and the state of the key it was issued to.
        let claims = match self.tokens.check(token).await {
            Ok(Ok((claims, _key))) => claims,
            Ok(Err(_)) => return Ok(inactive),
            Err(e) => return Err(e.to_string()),
        };
        Ok(json!({
            "active": true,
            "token_type": "Bearer",
            "kind": "jwt",
            "sub": claims["sub"],
            "client_id": claims["client_id"],
            "scope": claims["scope"],
            "iss": claims["iss"],
            "aud": claims["aud"],
            "iat": claims["iat"],
            "exp": claims["exp"],
            "jti": claims["jti"],
        }))
    }
}
