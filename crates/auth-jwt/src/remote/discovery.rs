//! Discovery: a [`RemoteJwks`](super::RemoteJwks) made from an issuer URL finds its
//! `jwks_uri` in the issuer's metadata, `/.well-known/openid-configuration` (OpenID Connect
//! Discovery §4) and, when that is not found, `/.well-known/oauth-authorization-server`
//! (RFC 8414 §3.1, the well-known part inserted before the issuer's path).
//!
//! - The document's `issuer` must equal the configured one byte for byte (RFC 8414 §3.3,
//!   OpenID Discovery §4.3): a mismatch is refused, never "fixed" by the other location.
//! - `jwks_uri` must pass the source's [`Transport`](auth_core::Transport) (HTTPS, loopback
//!   exempt); a document with a member twice is refused.
//! - Nothing else is taken from the document: the algorithms a verifier accepts are its own
//!   allow-list (metadata lists ID-token algorithms at most, never access-token ones).
//! - The metadata is looked up inside the JWKS fetch, so it shares that fetch's single
//!   flight and cooldown; it is cached for its `Cache-Control` lifetime (clamped like the
//!   JWKS'), and when a refresh fails the last `jwks_uri` keeps serving (stale-if-error).

use std::sync::{Mutex, PoisonError};

use auth_core::{HttpClient, Transport, UnixTime, WellKnown};
use http::header::ACCEPT;
use http::{StatusCode, Uri};
use serde::Deserialize;

use super::Shared;
use crate::json::duplicate_members;

/// An issuer whose metadata names the JWKS.
pub(super) struct Discovery {
    pub(super) issuer: String,
    transport: Transport,
    /// The metadata locations, in the order they are tried.
    locations: [Uri; 2],
    found: Mutex<Option<Found>>,
}

#[derive(Clone)]
struct Found {
    jwks_uri: Uri,
    expires_at: UnixTime,
}

#[derive(Deserialize)]
struct Document {
    issuer: String,
    jwks_uri: Option<String>,
}

impl Discovery {
    /// Discovery for `issuer`, whose URL must pass `transport`.
    pub(super) fn new(issuer: &str, transport: Transport) -> Result<Self, String> {
        let at = |kind: WellKnown| kind.url(issuer, transport).map_err(|e| e.to_string());
        Ok(Self {
            issuer: issuer.to_owned(),
            transport,
            locations: [at(WellKnown::OpenId)?, at(WellKnown::OAuth)?],
            found: Mutex::new(None),
        })
    }

    /// The JWKS location: the cached one while fresh, else from the metadata; when the
    /// metadata cannot be had, the last one known (stale-if-error), else why not.
    pub(super) async fn jwks_uri(&self, shared: &Shared) -> Result<Uri, String> {
        let known = self.found().clone();
        let now = shared.clock.now();
        if let Some(f) = &known
            && now < f.expires_at
        {
            return Ok(f.jwks_uri.clone());
        }
        match self.discover(shared).await {
            Ok(found) => {
                if known.is_none_or(|k| k.jwks_uri != found.jwks_uri) {
                    // A validator belongs to the document it came from.
                    shared.book().etag = None;
                }
                let uri = found.jwks_uri.clone();
                *self.found() = Some(found);
                Ok(uri)
            }
            Err(why) => match known {
                Some(stale) => {
                    shared.book().last_error = Some(format!("{why} (serving the last jwks_uri)"));
                    Ok(stale.jwks_uri)
                }
                None => Err(why),
            },
        }
    }

    fn found(&self) -> std::sync::MutexGuard<'_, Option<Found>> {
        self.found.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fetches the metadata: the OpenID location, then the RFC 8414 one when the first is
    /// not there (any status but 200). A transport failure or a bad document stops there.
    async fn discover(&self, shared: &Shared) -> Result<Found, String> {
        let mut last = String::new();
        for location in &self.locations {
            let request = http::Request::get(location.clone())
                .header(ACCEPT, "application/json")
                .body(Vec::new())
                .map_err(|e| format!("building the metadata request: {e}"))?;
            shared
                .fetches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let response = shared
                .client
                .send(request)
                .await
                .map_err(|e| format!("metadata fetch failed: {e}"))?;
            if response.status() != StatusCode::OK {
                last = format!(
                    "metadata at {} answered {}",
                    location.path(),
                    response.status()
                );
                continue;
            }
            let ttl = shared.ttl(response.headers());
            let jwks_uri = self.read(response.body(), shared.config.max_body_bytes)?;
            return Ok(Found {
                jwks_uri,
                expires_at: shared.clock.now().saturating_add(ttl),
            });
        }
        Err(last)
    }

    /// Checks a metadata document and returns its `jwks_uri`.
    fn read(&self, body: &[u8], max_body_bytes: usize) -> Result<Uri, String> {
        if body.len() > max_body_bytes {
            return Err(format!(
                "metadata of {} bytes is over the limit of {max_body_bytes}",
                body.len()
            ));
        }
        match duplicate_members(body) {
            Ok(dups) if dups.is_empty() => {}
            Ok(dups) => return Err(format!("metadata has a member twice: {}", dups[0])),
            Err(e) => return Err(format!("metadata is not JSON: {e}")),
        }
        let doc: Document = serde_json::from_slice(body).map_err(|e| format!("metadata: {e}"))?;
        if doc.issuer != self.issuer {
            return Err(
                "metadata names another issuer (it must be identical, RFC 8414 3.3)".into(),
            );
        }
        let jwks_uri = doc.jwks_uri.ok_or("metadata has no jwks_uri")?;
        let uri: Uri = jwks_uri
            .parse()
            .map_err(|_| "metadata's jwks_uri is not a URL".to_owned())?;
        self.transport
            .check(&uri)
            .map_err(|e| format!("metadata's jwks_uri: {e}"))?;
        Ok(uri)
    }
}
