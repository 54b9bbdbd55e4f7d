//! Token revocation (RFC 7009): tell the server a token is no longer needed.

use auth_core::Secret;

use crate::client::OAuthClient;
use crate::endpoint::{json_or_error, name, post_form};
use crate::error::Error;

/// Which kind of token is being revoked: the `token_type_hint` (RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenKind {
    /// An access token.
    Access,
    /// A refresh token (revoking it may revoke its access tokens too).
    Refresh,
}

impl OAuthClient {
    /// Revokes `token` (RFC 7009 §2.1). A token the server does not know is not an error:
    /// the server answers 200 for it (§2.2).
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when no revocation endpoint is configured, [`Error::Server`] for
    /// the server's refusals (`unsupported_token_type`, `invalid_client`),
    /// [`Error::Transport`] when it cannot be reached.
    pub async fn revoke(&self, token: &Secret, kind: TokenKind) -> Result<(), Error> {
        let uri = self
            .shared
            .revocation_uri
            .as_ref()
            .ok_or_else(|| Error::misconfigured("no revocation endpoint configured"))?;
        let endpoint = name("revocation endpoint", uri);
        let token = token
            .expose_str()
            .map_err(|_| Error::misconfigured("token is not utf-8"))?;
        let hint = match kind {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        };
        let response = post_form(
            self,
            &endpoint,
            uri,
            &[("token", token), ("token_type_hint", hint)],
        )
        .await?;
        if response.status() == http::StatusCode::OK {
            return Ok(());
        }
        json_or_error(&endpoint, &response).map(drop)
    }
}
