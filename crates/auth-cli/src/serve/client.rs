//! Client authentication for the OAuth endpoints (RFC 6749 §2.3.1): the form, HTTP Basic
//! with form-urlencoded parts or `client_id`/`client_secret` in the body (never both), and
//! the §5.2 error answers. A client is an API key: its id is the client id, the key the secret.

use std::sync::Arc;

use auth_apikey::{KeyRecord, KeyStatus};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::app::{App, Reply};

/// The form's fields we read; anything else is ignored as RFC 6749 §3.2 says.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub(crate) grant_type: Option<String>,
    pub(crate) scope: Option<String>,
    pub(crate) token: Option<String>,
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
            "token" => &mut form.token,
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
pub(crate) fn oauth_error(status: StatusCode, code: &str, description: &str) -> Reply {
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

pub(crate) fn invalid_client() -> Reply {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    )
}

/// What the logs may say of a client id as sent: the id itself when it has a key id's shape
/// (public: it names a key and is no part of its secret); anything else, which may be a
/// key or a secret pasted into the wrong field, only as a fingerprint (the first 12 hex
/// digits of its SHA-256), enough to tell the same mistake again in the logs.
fn loggable_client_id(client_id: &str) -> String {
    if client_id.parse::<auth_apikey::KeyId>().is_ok() {
        return client_id.to_owned();
    }
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, client_id.as_bytes());
    let hex: String = digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
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
    /// Reads a form-encoded request to the token or introspection endpoint and
    /// authenticates its client: `client_secret_basic` or `client_secret_post`, where the
    /// client id is an API key's id and the secret the key. `endpoint` names it in logs.
    pub(crate) async fn authenticate_client(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        endpoint: &str,
    ) -> Result<(Form, Arc<KeyRecord>), Box<Reply>> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let bad =
            |why: &str| Box::new(oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why));
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(bad("the body must be application/x-www-form-urlencoded"));
        }
        let mut form = parse_form(body);
        if form.repeated {
            return Err(bad("a parameter is repeated"));
        }
        let basic = basic_credentials(headers).map_err(bad)?;
        let (client_id, secret) = match (basic, form.client_id.take(), form.client_secret.take()) {
            (Some(_), _, Some(_)) => {
                return Err(bad("use one client authentication method, not two"));
            }
            (Some(basic), _, None) => basic,
            (None, Some(id), Some(secret)) => (id, secret),
            _ => return Err(Box::new(invalid_client())),
        };
        match self.keys.check(&secret).await {
            Ok(KeyStatus::Valid(record)) if record.id.as_str() == client_id => Ok((form, record)),
            Ok(status) => {
                let reason = status
                    .refusal()
                    .map_or("client id does not match the key", |r| r.as_str());
                self.log.event(
                    "client_refused",
                    &[
                        ("endpoint", json!(endpoint)),
                        ("client", json!(loggable_client_id(&client_id))),
                        (
                            "key_id",
                            json!(
                                self.keys
                                    .format()
                                    .parse(&secret)
                                    .ok()
                                    .map(|id| id.as_str().to_owned())
                            ),
                        ),
                        ("reason", json!(reason)),
                    ],
                );
                Err(Box::new(invalid_client()))
            }
            Err(e) => {
                self.log.event(
                    "client_error",
                    &[
                        ("endpoint", json!(endpoint)),
                        ("error", json!(e.to_string())),
                    ],
                );
                Err(Box::new(oauth_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the key store is unavailable",
                )))
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
        assert_eq!(parse_form(b"token=x.y.z").token.as_deref(), Some("x.y.z"));
    }

    #[test]
    fn only_key_ids_are_logged_as_sent() {
        assert_eq!(loggable_client_id("AAAAAAA1"), "AAAAAAA1");
        let pasted = "ak_live_AAAAAAA1bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbcccccc";
        let logged = loggable_client_id(pasted);
        assert!(
            logged.starts_with("sha256:") && logged.len() == 19,
            "{logged}"
        );
        assert!(!pasted.contains(&logged[7..]));
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
