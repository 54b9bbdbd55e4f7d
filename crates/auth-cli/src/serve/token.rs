//! `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4), answered with a
//! short-lived RFC 9068 JWT access token signed by the server's key ring. A request with a
//! valid DPoP proof (RFC 9449 §5) gets a token bound to the proof's key (`cnf.jkt`,
//! `token_type: DPoP`); an invalid proof is a 400 `invalid_dpop_proof`.

use auth_apikey::KeyRecord;
use auth_core::{ClientCertificate, Scopes};
use auth_jwt::dpop::DpopError;
use base64::Engine as _;
use http::{Method, StatusCode, header, request::Parts};
use serde_json::json;

use super::app::{App, Reply};
use super::client::{Form, oauth_error};

impl App {
    /// Answers the token request `form` of the authenticated `client`.
    pub(crate) async fn token(&self, form: Form, client: &KeyRecord, parts: &Parts) -> Reply {
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
        let granted = match form.scope.as_deref() {
            None | Some("") => client.scopes.clone(),
            Some(requested) => {
                // Strictly: a token dropped as unreadable would grant other than was asked.
                let Ok(requested) = Scopes::parse(requested) else {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        "scope is malformed (RFC 6749 section 3.3)",
                    );
                };
                if let Some(extra) = requested.iter().find(|s| !client.scopes.contains(s)) {
                    return oauth_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_scope",
                        &format!("scope {extra} is not granted to this client"),
                    );
                }
                requested
            }
        };
        let jkt = match self.token_proof(parts).await {
            Ok(jkt) => jkt,
            Err(reply) => return *reply,
        };
        let cert = parts.extensions.get::<ClientCertificate>();
        self.issue(
            &client.owner,
            client.id.as_str(),
            &granted,
            (jkt.as_deref(), cert),
        )
    }

    /// The thumbprint of the key of the request's DPoP proof, if it carries one; the 400 to
    /// answer if the proof is refused.
    async fn token_proof(&self, parts: &Parts) -> Result<Option<String>, Box<Reply>> {
        let mut proofs = parts.headers.get_all(auth_jwt::dpop::DPOP_HEADER).iter();
        let proof = match (proofs.next(), proofs.next()) {
            (None, _) => return Ok(None),
            (Some(proof), None) => proof.to_str().unwrap_or_default(),
            (Some(_), Some(_)) => {
                return Err(Box::new(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_dpop_proof",
                    "more than one DPoP header",
                )));
            }
        };
        let url = format!("{}/oauth/token", self.issuer);
        match self.proofs.verify(proof, &Method::POST, &url, None).await {
            Ok(proof) => Ok(Some(proof.jkt)),
            // RFC 9449 §8: the nonce to retry with.
            Err(DpopError::UseNonce { nonce }) => {
                let mut reply = oauth_error(
                    StatusCode::BAD_REQUEST,
                    "use_dpop_nonce",
                    "DPoP proofs must carry the server's nonce",
                );
                if let Ok(value) = http::HeaderValue::from_str(&nonce) {
                    reply.headers.insert(auth_jwt::dpop::NONCE_HEADER, value);
                }
                Err(Box::new(reply))
            }
            Err(e) => {
                self.log
                    .event("dpop_refused", &[("reason", json!(e.to_string()))]);
                Err(Box::new(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_dpop_proof",
                    &e.to_string(),
                )))
            }
        }
    }

    fn issue(
        &self,
        subject: &str,
        client_id: &str,
        scopes: &Scopes,
        (jkt, cert): (Option<&str>, Option<&ClientCertificate>),
    ) -> Reply {
        let now = self.clock.now().as_secs();
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
        let mut claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "client_id": client_id,
            "scope": scope,
            "iat": now,
            "exp": now + ttl,
            "jti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        // Over a connection with a client certificate: bound to it too (RFC 8705 §3).
        if let Some(cert) = cert {
            claims["cnf"]["x5t#S256"] = json!(cert.x5t_s256());
        }
        let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
        match self.ring.sign(&claims) {
            Ok(token) => {
                self.log.event(
                    "token_issued",
                    &[
                        ("client_id", json!(client_id)),
                        ("subject", json!(subject)),
                        ("scope", json!(scope)),
                        ("token_type", json!(token_type)),
                    ],
                );
                let mut reply = Reply::json(
                    StatusCode::OK,
                    &json!({"access_token": token, "token_type": token_type, "expires_in": ttl, "scope": scope}),
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
