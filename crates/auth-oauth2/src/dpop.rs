//! DPoP (RFC 9449) on the client side: access tokens bound to a key the client holds.
//!
//! Give the client a key with
//! [`OAuthClientBuilder::dpop`](crate::OAuthClientBuilder::dpop) (feature `jwt`). Then:
//!
//! - every token request (client credentials, authorization code, refresh, device code)
//!   carries a `DPoP` proof for `POST` to the token endpoint, without `ath`;
//! - a `400` with `error=use_dpop_nonce` and a `DPoP-Nonce` header is retried once with that
//!   nonce; the latest nonce of each origin (`scheme://host:port`), from any response, is
//!   remembered and put in later proofs to that origin;
//! - a token response with `token_type: DPoP` gives a [`TokenType::DPoP`](crate::TokenType)
//!   token: [`AccessToken::apply`] sets `Authorization: DPoP <token>` and a fresh proof for
//!   the request's method and URL, with `ath`; [`TokenSource::should_retry_at`] learns a
//!   resource server's nonce and says when to retry once;
//! - a [`TokenSource`] refreshes with the same client, so with the same key: a bound refresh
//!   token is only usable with it.
//!
//! A server may answer a request that carried a proof with `token_type: Bearer`: it chose not
//! to bind the token (RFC 9449 §5), and the token is used as a plain bearer token. The other
//! way round, a `DPoP` token for a client that sent no proof, is refused
//! ([`Error::InvalidResponse`](crate::Error::InvalidResponse)): the client could not use it.
//!
//! The key and the tokens never appear in `Debug` output or in errors; a nonce is not a
//! secret (the server sends it in the clear to anyone).

#[cfg(feature = "jwt")]
pub use auth_jwt::dpop::DpopKey;
use http::Uri;

pub use crate::proof_key::USE_DPOP_NONCE;
use crate::source::{AccessToken, TokenSource};

impl TokenSource {
    /// As [`TokenSource::should_retry`], for a request to `uri` sent with `used`, and for
    /// DPoP-bound tokens also: remembers the `DPoP-Nonce` the response carries (on any
    /// status) for `uri`'s origin, and answers `true` to a 401 whose `DPoP` challenge says
    /// `error="use_dpop_nonce"` with a nonce (RFC 9449 §9): the token stays, and the retry's
    /// proof ([`TokenSource::authorize`] again) carries the nonce.
    ///
    /// Call it on every response to a DPoP request, so that the latest nonce is used; retry
    /// once only, as with [`TokenSource::should_retry`].
    pub fn should_retry_at<B>(
        &self,
        uri: &Uri,
        response: &http::Response<B>,
        used: &AccessToken,
    ) -> bool {
        if let Some(dpop) = used.dpop() {
            let learned = dpop.learn(uri, response.headers());
            if learned && response.status() == http::StatusCode::UNAUTHORIZED {
                let use_nonce = response
                    .headers()
                    .get_all(http::header::WWW_AUTHENTICATE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .filter_map(|v| auth_core::Challenge::parse_all(v).ok())
                    .flatten()
                    .any(|c| c.is_scheme("DPoP") && c.param("error") == Some(USE_DPOP_NONCE));
                if use_nonce {
                    return true;
                }
            }
        }
        self.should_retry(response, used)
    }
}
