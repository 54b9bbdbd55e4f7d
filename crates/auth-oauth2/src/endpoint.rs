//! Form POSTs to the endpoints that the `oauth2` crate does not serve the way we need:
//! revocation (it refuses loopback `http`, which tests and local servers use),
//! introspection (we read `active` strictly ourselves) and discovery's GET. Client
//! authentication follows the same rules as the token endpoint (RFC 6749 §2.3.1).

use auth_core::transport::redacted_origin;
use auth_core::{HttpClient as _, HttpRequest, HttpResponse, Secret};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Uri};
use serde_json::Value;

use crate::client::OAuthClient;
use crate::client_auth::{Authn, CLIENT_ASSERTION, CLIENT_ASSERTION_TYPE, JWT_BEARER};
use crate::error::{Error, ErrorCode, ServerError};

/// `Authorization: Basic` over the form-urlencoded id and secret (RFC 6749 §2.3.1), marked
/// sensitive.
pub(crate) fn basic_auth(client_id: &str, secret: &Secret) -> Result<HeaderValue, Error> {
    let secret = secret
        .expose_str()
        .map_err(|_| Error::misconfigured("client secret is not utf-8"))?;
    let user: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let pass: String = form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut value = HeaderValue::try_from(format!(
        "Basic {}",
        STANDARD.encode(format!("{user}:{pass}"))
    ))
    .map_err(|_| Error::misconfigured("client credentials cannot be sent in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Sends a form POST to `uri`, authenticated as the client; returns the response.
pub(crate) async fn post_form(
    client: &OAuthClient,
    endpoint: &str,
    uri: &Uri,
    params: &[(&str, &str)],
) -> Result<HttpResponse, Error> {
    let request = build_form(client, endpoint, uri, params)?;
    send(client, endpoint, request).await
}

/// A form POST to the token endpoint `uri`: as [`post_form`], with a DPoP proof when the
/// client has a key (and one retry with the server's nonce). Returns the response and
/// whether a proof went with it.
pub(crate) async fn post_token_form(
    client: &OAuthClient,
    endpoint: &str,
    uri: &Uri,
    params: &[(&str, &str)],
) -> Result<(HttpResponse, bool), Error> {
    let request = build_form(client, endpoint, uri, params)?;
    let shared = &*client.shared;
    let transport = |source| Error::Transport {
        endpoint: endpoint.to_owned(),
        source,
    };
    shared.transport.check(request.uri()).map_err(transport)?;
    crate::proof_key::send_token_request(&shared.http, shared.dpop.as_deref(), request)
        .await
        .map_err(transport)
}

fn build_form(
    client: &OAuthClient,
    endpoint: &str,
    uri: &Uri,
    params: &[(&str, &str)],
) -> Result<HttpRequest, Error> {
    let shared = &*client.shared;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(params.iter().copied());
    let mut builder = http::Request::post(uri.clone())
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    match &shared.auth {
        Authn::Basic(secret) => {
            builder = builder.header(AUTHORIZATION, basic_auth(&shared.client_id, secret)?);
        }
        Authn::Post(secret) => {
            form.append_pair("client_id", &shared.client_id);
            let secret = secret
                .expose_str()
                .map_err(|_| Error::misconfigured("client secret is not utf-8"))?;
            form.append_pair("client_secret", secret);
        }
        // A public client, or one that sends an assertion with its id.
        _ => {
            form.append_pair("client_id", &shared.client_id);
            if let Some(assertion) = client.client_assertion()? {
                form.append_pair(CLIENT_ASSERTION_TYPE, JWT_BEARER);
                form.append_pair(CLIENT_ASSERTION, &assertion);
            }
        }
    }
    builder
        .body(form.finish().into_bytes())
        .map_err(|_| Error::misconfigured(format!("{endpoint}: cannot build the request")))
}

/// Sends `request` through the client's transport policy and HTTP client.
pub(crate) async fn send(
    client: &OAuthClient,
    endpoint: &str,
    request: HttpRequest,
) -> Result<HttpResponse, Error> {
    let shared = &*client.shared;
    let transport = |source| Error::Transport {
        endpoint: endpoint.to_owned(),
        source,
    };
    shared.transport.check(request.uri()).map_err(transport)?;
    shared.http.send(request).await.map_err(transport)
}

/// Reads a JSON object from a 200 response, or the RFC 6749 §5.2 error of any other.
pub(crate) fn json_or_error(
    endpoint: &str,
    response: &HttpResponse,
) -> Result<serde_json::Map<String, Value>, Error> {
    let status = response.status().as_u16();
    let parsed: Option<Value> = serde_json::from_slice(response.body()).ok();
    if status != 200 {
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("error"))
            .and_then(Value::as_str);
        return Err(match code {
            Some(code) => {
                let text = |k: &str| {
                    parsed
                        .as_ref()
                        .and_then(|v| v.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                Error::Server {
                    endpoint: endpoint.to_owned(),
                    error: ServerError::new(ErrorCode::parse(code), status)
                        .with_details(text("error_description"), text("error_uri")),
                }
            }
            None => Error::Status {
                endpoint: endpoint.to_owned(),
                status,
            },
        });
    }
    match parsed {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(Error::invalid(endpoint, "not a json object")),
    }
}

/// `what https://host:port` for messages.
pub(crate) fn name(what: &str, uri: &Uri) -> String {
    format!("{what} {}", redacted_origin(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_before_base64() {
        let h = basic_auth("s6BhdRkqt3", &Secret::new("7Fjfp0ZBr1KtDRbnfVdmIw")).unwrap();
        assert_eq!(h, "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3");
        let h = basic_auth("my client:1", &Secret::new("p@ss:w/rd+%é")).unwrap();
        assert_eq!(
            h,
            "Basic bXkrY2xpZW50JTNBMTpwJTQwc3MlM0F3JTJGcmQlMkIlMjUlQzMlQTk="
        );
        assert!(h.is_sensitive());
    }
}
