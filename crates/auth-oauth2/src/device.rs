//! The device authorization grant (RFC 8628) for command-line tools and devices without a
//! browser: ask for a user code, show it, poll the token endpoint until the user approves.
//!
//! Polling is left to the caller's loop and sleep, so that no async runtime is assumed:
//!
//! ```no_run
//! # async fn demo(client: auth_oauth2::OAuthClient, sleep: impl Fn(std::time::Duration) -> std::future::Ready<()>) -> Result<(), auth_oauth2::Error> {
//! use auth_oauth2::DevicePoll;
//! let device = client.device_authorization().await?;
//! eprintln!("open {} and enter {}", device.verification_uri(), device.user_code());
//! let tokens = loop {
//!     match client.poll_device_token(&device).await? {
//!         DevicePoll::Ready(tokens) => break tokens,
//!         DevicePoll::Pending { retry_in } => sleep(retry_in).await,
//!         _ => sleep(std::time::Duration::from_secs(5)).await,
//!     }
//! };
//! # let _ = tokens; Ok(()) }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auth_core::{Secret, UnixTime};
use serde_json::Value;

use crate::client::{OAuthClient, no_token_endpoint};
use crate::endpoint::{json_or_error, name, post_form, post_token_form};
use crate::error::{Error, ErrorCode};
use crate::response::{RawTokenResponse, TokenSet};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device authorization in progress (RFC 8628 §3.2).
pub struct DeviceAuthorization {
    device_code: Secret,
    user_code: String,
    verification_uri: String,
    verification_uri_complete: Option<String>,
    expires_at: UnixTime,
    interval_secs: AtomicU64,
}

impl fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl DeviceAuthorization {
    /// The code the user types in.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user goes.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// The same with the code filled in, if the server offers it (for a QR code).
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the device code expires, by our clock.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The current polling interval (raised by 5 s on each `slow_down`, §3.5).
    pub fn interval(&self) -> Duration {
        Duration::from_secs(self.interval_secs.load(Ordering::Relaxed))
    }
}

/// The outcome of one poll.
#[derive(Debug)]
#[non_exhaustive]
pub enum DevicePoll {
    /// The user approved: the tokens.
    Ready(TokenSet),
    /// Not yet: poll again after `retry_in`.
    Pending {
        /// How long to wait before the next poll.
        retry_in: Duration,
    },
}

impl OAuthClient {
    /// Starts a device authorization (RFC 8628 §3.1) for the configured scopes.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when no device authorization endpoint is configured, the
    /// endpoint's errors, [`Error::InvalidResponse`] when a required member is missing.
    pub async fn device_authorization(&self) -> Result<DeviceAuthorization, Error> {
        let shared = &*self.shared;
        let uri = shared
            .device_uri
            .as_ref()
            .ok_or_else(|| Error::misconfigured("no device authorization endpoint configured"))?;
        let endpoint = name("device authorization endpoint", uri);
        let scope = shared
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let params: Vec<(&str, &str)> = if scope.is_empty() {
            vec![]
        } else {
            vec![("scope", &scope)]
        };
        let sent_at = shared.clock.now();
        let response = post_form(self, &endpoint, uri, &params).await?;
        let doc = json_or_error(&endpoint, &response)?;
        let text = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_owned);
        let missing = |k: &'static str| Error::invalid(&endpoint, format!("{k} missing"));
        let expires_in = doc
            .get("expires_in")
            .and_then(Value::as_u64)
            .ok_or_else(|| missing("expires_in"))?;
        Ok(DeviceAuthorization {
            device_code: Secret::new(text("device_code").ok_or_else(|| missing("device_code"))?),
            user_code: text("user_code").ok_or_else(|| missing("user_code"))?,
            verification_uri: text("verification_uri")
                .ok_or_else(|| missing("verification_uri"))?,
            verification_uri_complete: text("verification_uri_complete"),
            expires_at: sent_at.saturating_add(Duration::from_secs(expires_in)),
            interval_secs: AtomicU64::new(
                doc.get("interval")
                    .and_then(Value::as_u64)
                    .unwrap_or(5)
                    .max(1),
            ),
        })
    }

    /// Polls the token endpoint once for `device` (RFC 8628 §3.4, §3.5).
    ///
    /// # Errors
    ///
    /// [`Error::Server`] with `access_denied` or `expired_token` (also when the device code
    /// expired by our clock, without a request), and the token endpoint's other errors.
    pub async fn poll_device_token(
        &self,
        device: &DeviceAuthorization,
    ) -> Result<DevicePoll, Error> {
        let shared = &*self.shared;
        let uri = shared.token_uri.as_ref().ok_or_else(no_token_endpoint)?;
        let endpoint = &shared.token_name;
        let sent_at = shared.clock.now();
        if sent_at >= device.expires_at {
            return Err(Error::Server {
                endpoint: endpoint.clone(),
                error: crate::ServerError::new(ErrorCode::ExpiredToken, 400),
            });
        }
        let code = device
            .device_code
            .expose_str()
            .map_err(|_| Error::misconfigured("device code is not utf-8"))?;
        let (response, proof_sent) = post_token_form(
            self,
            endpoint,
            uri,
            &[("grant_type", GRANT), ("device_code", code)],
        )
        .await?;
        if response.status() == http::StatusCode::OK {
            let raw: RawTokenResponse = serde_json::from_slice(response.body())
                .map_err(|_| Error::invalid(endpoint, "not a valid json token response"))?;
            return raw
                .check(
                    endpoint,
                    shared.quirks,
                    sent_at,
                    self.server_clock_offset_secs(),
                    proof_sent,
                )
                .map(DevicePoll::Ready);
        }
        match json_or_error(endpoint, &response) {
            Err(e) if e.is_server_error(&ErrorCode::AuthorizationPending) => {
                Ok(DevicePoll::Pending {
                    retry_in: device.interval(),
                })
            }
            Err(e) if e.is_server_error(&ErrorCode::SlowDown) => {
                device.interval_secs.fetch_add(5, Ordering::Relaxed);
                Ok(DevicePoll::Pending {
                    retry_in: device.interval(),
                })
            }
            Err(e) => Err(e),
            Ok(_) => Err(Error::Status {
                endpoint: endpoint.clone(),
                status: response.status().as_u16(),
            }),
        }
    }
}
