//! `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4). The client id is an
//! API key's id and the client secret is the key itself, sent with `client_secret_basic`
//! (§2.3.1, form-urlencoded inside Basic) or `client_secret_post`; the answer is a
//! short-lived RFC 9068 JWT access token signed by the server's key ring.

use std::time::{SystemTime, UNIX_EPOCH};

use auth_apikey::KeyStatus;
use auth_core::Scopes;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::app::{App, Reply};

/// The form's fields we read; anything else is ignored as RFC 6749 §3.2 says.
#[derive(Debug, Default)]
struct Form {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    repeated: bool,
}

fn parse_form(body: &[u8]) -> Form {
    let mut form = Form::default();
    for (key, value) in form_urlencoded::parse(body) {
        let slot = match &*key {
            "grant_type" => &mut form.grant_type,
            "scope" => &mut form.scope,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            _ => continue,
        };
        // §3.2: request parameters MUST NOT be included more than once.
        if slot.replace(value.into_owned()).is_some() {
            form.repeated = true;
        }
    }
    form
}

/// An RFC 6749 §5.2 error.
fn oauth_error(status: StatusCode, code: &str, description: &str) -> Reply {
    let body = json!({"error": code, "error_description": description});
    let mut reply = Reply::json(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        reply.headers.insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"auth serve token endpoint\""),
        );
    }
    reply
}

fn invalid_client() -> Reply {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}

/// Client credentials from `Authorization: Basic`: each part form-urlencoded (§2.3.1).
/// The error is the `error_description` of a 400 `invalid_request`.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || "malformed Basic credentials";
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err("the token endpoint takes Basic client authentication");
    }
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

impl App {
    /// Answers a token request.
    pub(crate) async fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            );
        }
        let form = parse_form(body);
        if form.repeated {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "a parameter is repeated",
            );
        }
        let basic = match basic_credentials(headers) {
            Ok(basic) => basic,
            Err(why) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why),
        };
        let (client_id, secret) = match (basic, form.client_id, form.client_secret) {
            (Some(_), _, Some(_)) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "use one client authentication method, not two",
                );
            }
            (Some(basic), _, None) => basic,
            (None, Some(id), Some(secret)) => (id, secret),
            _ => return invalid_client(),
        };
        match form.grant_type.as_deref() {
            Some("client_credentials") => {}
            Some(_) => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                );
            }
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "grant_type is missing",
                );
            }
        }
        let record = match self.keys.check(&secret).await {
            Ok(KeyStatus::Valid(record)) if record.id.as_str() == client_id => record,
            Ok(status) => {
                self.log.event(
                    "token_refused",
                    &[
                        ("client_id", json!(client_id)),
                        (
                            "reason",
                            json!(
                                status
                                    .refusal()
                                    .map_or("client id does not match the key", |r| r.as_str())
                            ),
                        ),
                    ],
                );
                return invalid_client();
            }
            Err(e) => {
                self.log
                    .event("token_error", &[("error", json!(e.to_string()))]);
                return oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the key store is unavailable",
                );
            }
        };
        let granted = match form.scope.as_deref() {
            None => record.scopes.clone(),
            Some(requested) => {
                let requested = Scopes::from_space_separated(requested);
                if let Some(extra) = requested.iter().find(|s| !record.scopes.contains(s)) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        &format!("scope {extra} is not granted to this client"),
                    );
                }
                requested
            }
        };
        self.issue(&record.owner, &client_id, &granted)
    }

    fn issue(&self, subject: &str, client_id: &str, scopes: &Scopes) -> Reply {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ttl = self.config.token_ttl.as_secs();
        let mut jti = [0u8; 16];
        if aws_lc_rs::rand::fill(&mut jti).is_err() {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "no randomness",
            );
        }
        let scope = scopes.to_string();
        let claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + ttl,
            "jti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
        });
        match self.ring.sign(&claims) {
            Ok(token) => {
                self.log.event(
                    "token_issued",
                    &[
                        ("client_id", json!(client_id)),
                        ("subject", json!(subject)),
                        ("scope", json!(scope)),
                    ],
                );
                let mut reply = Reply::json(
                    StatusCode::OK,
                    &json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}),
                );
                reply.headers.insert(
                    header::CACHE_CONTROL,
                    http::HeaderValue::from_static("no-store"),
                );
                reply
                    .headers
                    .insert(header::PRAGMA, http::HeaderValue::from_static("no-cache"));
                reply
            }
            Err(e) => {
                self.log
                    .event("token_error", &[("error", json!(e.to_string()))]);
                oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "signing failed",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_refuses_repeats() {
        let f = parse_form(b"grant_type=client_credentials&scope=a+b");
        assert_eq!(f.scope.as_deref(), Some("a b"));
        assert!(!f.repeated);
        assert!(parse_form(b"scope=a&scope=b").repeated);
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        let (id, secret) = basic_credentials(&h).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my id", "s:cret"));
        h.insert(header::AUTHORIZATION, "Basic !!".parse().unwrap());
        assert!(basic_credentials(&h).is_err());
        h.insert(header::AUTHORIZATION, "Bearer x".parse().unwrap());
        assert!(basic_credentials(&h).is_err());
    }
}
