//! A resource call with a DPoP token from oidc-provider: the request auth-oauth2 builds
//! (`Authorization: DPoP`, a fresh proof with `ath`) is checked by auth-jwt's `ProofVerifier`
//! and accepted by a `DpopAuthenticator` that introspects the token at the provider; the same
//! token presented as `Bearer` is refused; a resource's nonce challenge is answered by one
//! retry.

use std::time::Duration;

use auth_jwt::dpop::{Nonces, ProofVerifier};
use auth_oauth2::TokenType;

use super::dpop_peer::{CLIENT_ID, RESOURCE_ORIGIN, Setup, nonce_claim};
use crate::harness::{Suite, block_on, ensure, ensure_eq};
use crate::services::Service;

pub(super) fn cases(s: &mut Suite) {
    s.case_needing(
        &[Service::Node],
        "oidc-provider DPoP: a resource call carries a fresh proof with ath, checked by ProofVerifier; the bound token is refused as Bearer",
        "RFC 9449 §4.3, §7.1, §7.2",
        || block_on(resource_case()),
    );
    s.case_needing(
        &[Service::Node],
        "oidc-provider DPoP: a resource's use_dpop_nonce challenge is answered by exactly one retry with its nonce",
        "RFC 9449 §9",
        || block_on(resource_nonce_case()),
    );
}

/// A request to `url` authorized by the setup's source, as a resource sees it.
async fn authorized(
    setup: &Setup,
    method: http::Method,
    url: &str,
) -> Result<(http::request::Parts, auth_oauth2::AccessToken), String> {
    let mut request = http::Request::builder()
        .method(method)
        .uri(url)
        .body(())
        .map_err(|e| e.to_string())?;
    let used = setup
        .source
        .authorize(&mut request)
        .await
        .map_err(|e| e.to_string())?;
    Ok((request.into_parts().0, used))
}

async fn resource_case() -> Result<(), String> {
    let setup = Setup::new().await?;
    let url = format!("{RESOURCE_ORIGIN}/reports?month=5");
    let (parts, used) = authorized(&setup, http::Method::GET, &url).await?;
    ensure_eq("token_type", used.token_type(), TokenType::DPoP)?;
    let token = used.secret().expose_str().map_err(|e| e.to_string())?;
    let authorization = parts
        .headers
        .get("authorization")
        .ok_or("no Authorization")?;
    ensure_eq(
        "Authorization",
        authorization.to_str().ok(),
        Some(format!("DPoP {token}").as_str()),
    )?;
    let proof = parts
        .headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .ok_or("no DPoP proof")?
        .to_owned();
    // Our ProofVerifier: the proof is for this method, URL and token, made with our key.
    let wrong_token = ProofVerifier::new()
        .verify(&proof, &http::Method::GET, &url, Some("another-token"))
        .await;
    ensure(wrong_token.is_err(), || {
        "ath of another token accepted".into()
    })?;
    let wrong_method = ProofVerifier::new()
        .verify(&proof, &http::Method::POST, &url, Some(token))
        .await;
    ensure(wrong_method.is_err(), || "another method accepted".into())?;
    let checked = ProofVerifier::new()
        .verify(&proof, &http::Method::GET, &url, Some(token))
        .await
        .map_err(|e| e.to_string())?;
    ensure_eq("proof key", checked.jkt.as_str(), setup.jkt.as_str())?;

    // The resource: introspection at the provider finds cnf.jkt, the proof's key matches.
    let principal = setup
        .dpop_resource(None)?
        .decide(&parts)
        .await
        .map_err(|d| format!("refused: {}", d.status()))?
        .ok_or("anonymous")?;
    ensure_eq("subject", principal.subject(), CLIENT_ID)?;
    // The same token as a plain bearer token: refused, bound as it is.
    let mut as_bearer = parts.clone();
    as_bearer.headers.remove("dpop");
    let value = format!("Bearer {token}");
    as_bearer.headers.insert(
        "authorization",
        http::HeaderValue::from_str(&value).map_err(|e| e.to_string())?,
    );
    let refused = setup
        .bearer_resource()?
        .decide(&as_bearer)
        .await
        .err()
        .ok_or("a DPoP-bound token accepted as Bearer")?;
    ensure_eq("status", refused.status().as_u16(), 401)
}

async fn resource_nonce_case() -> Result<(), String> {
    let setup = Setup::new().await?;
    let nonces = Nonces::random(Duration::from_secs(300)).map_err(|e| e.to_string())?;
    let resource = setup.dpop_resource(Some(nonces))?;
    let url = format!("{RESOURCE_ORIGIN}/reports");
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let (parts, used) = authorized(&setup, http::Method::GET, &url).await?;
    let denial = resource
        .decide(&parts)
        .await
        .err()
        .ok_or("a proof without the resource's nonce accepted")?;
    let response = denial.to_response();
    ensure_eq("status", response.status().as_u16(), 401)?;
    ensure(setup.source.should_retry_at(&uri, &response, &used), || {
        format!("no retry on {:?}", response.headers())
    })?;
    // The one retry carries the nonce and passes.
    let (parts, used) = authorized(&setup, http::Method::GET, &url).await?;
    let proof = parts
        .headers
        .get("dpop")
        .and_then(|v| v.to_str().ok())
        .ok_or("no proof")?;
    ensure(nonce_claim(proof).is_some(), || {
        "retry without nonce".into()
    })?;
    let principal = resource
        .decide(&parts)
        .await
        .map_err(|d| format!("retry refused: {}", d.status()))?;
    ensure(principal.is_some(), || "anonymous".into())?;
    // A plain refusal (invalid_token from the resource, no nonce) is not a nonce retry.
    let response = http::Response::builder()
        .status(401)
        .header("www-authenticate", r#"DPoP error="invalid_dpop_proof""#)
        .body(())
        .map_err(|e| e.to_string())?;
    ensure(
        !setup.source.should_retry_at(&uri, &response, &used),
        || "retried without a nonce".into(),
    )
}
