//! [`VerifierBuilder`]: every choice a [`Verifier`] needs, checked in `build()`.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{BoxHttpClient, Clock, CoarseClock, HttpClient, Transport};

use super::{Inner, Route, Verifier};
use crate::error::Error;
use crate::source::KeySource;
use crate::{Algorithm, KeySet, RemoteConfig, RemoteJwks};

/// The leeway when none is set.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// The largest leeway `build()` accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The token length limit when none is set: 8 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// Which issuers or audiences a verifier accepts.
#[derive(Debug, Clone)]
pub(super) enum Accept {
    Unset,
    Any,
    OneOf(Vec<String>),
}

/// Builds a [`Verifier`]; `build()` checks that every required choice was made.
///
/// Required: [`algorithms`](Self::algorithms), an [`issuer`](Self::issuer) (or
/// [`danger_accept_any_issuer`](Self::danger_accept_any_issuer)), an
/// [`audience`](Self::audience) (or
/// [`danger_accept_any_audience`](Self::danger_accept_any_audience)), and keys
/// ([`keys`](Self::keys) or [`key_source`](Self::key_source)).
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    rules: Rules,
    keys: Option<Keys>,
    remote: RemoteConfig,
    transport: Transport,
}

/// Where the keys will come from.
#[derive(Debug)]
enum Keys {
    Source(KeySource),
    /// Found by discovery once the clock is known, in `build()`.
    Discover {
        issuer: String,
        http: BoxHttpClient,
    },
}

/// What a verifier checks, apart from where its keys come from: set on the builder, kept
/// whole by the [`Verifier`] once `build()` has checked it.
#[derive(Debug)]
pub(super) struct Rules {
    pub(super) algorithms: Vec<Algorithm>,
    pub(super) issuers: Accept,
    pub(super) audiences: Accept,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) leeway: Duration,
    pub(super) max_age: Option<Duration>,
    pub(super) typ: Option<String>,
    pub(super) max_token_len: usize,
    pub(super) try_each_key: bool,
    pub(super) nested: bool,
}

impl VerifierBuilder {
    /// The algorithms tokens may use. `none` cannot be named, so it cannot be allowed.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.rules.algorithms.extend(algorithms);
        self
    }

    /// Accepts tokens whose `iss` is exactly `issuer` (call again for more issuers).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        match &mut self.rules.issuers {
            Accept::OneOf(v) => v.push(issuer.into()),
            other => *other = Accept::OneOf(vec![issuer.into()]),
        }
        self
    }

    /// Accepts tokens with an `aud` value exactly `audience` (call again for more).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        match &mut self.rules.audiences {
            Accept::OneOf(v) => v.push(audience.into()),
            other => *other = Accept::OneOf(vec![audience.into()]),
        }
        self
    }

    /// Accepts any issuer, or none. `iss`, when present, must still be a string.
    ///
    /// # Security
    ///
    /// Any issuer whose tokens your keys verify is then trusted. Use only when the keys are
    /// yours alone.
    pub fn danger_accept_any_issuer(mut self) -> Self {
        self.rules.issuers = Accept::Any;
        self
    }

    /// Accepts any audience, or none. `aud`, when present, must still be well typed.
    ///
    /// # Security
    ///
    /// A token issued for another service is then accepted here (RFC 8725 §3.9).
    pub fn danger_accept_any_audience(mut self) -> Self {
        self.rules.audiences = Accept::Any;
        self
    }

    /// Verifies with a fixed set of keys.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(Keys::Source(KeySource::fixed(keys)));
        self
    }

    /// Accepts tokens from the issuer `issuer_url` (exactly, as [`issuer`](Self::issuer)),
    /// with its keys found by discovery: the `jwks_uri` of its metadata
    /// (`/.well-known/openid-configuration`, or RFC 8414's
    /// `/.well-known/oauth-authorization-server`), fetched through `http`. The metadata must
    /// name this issuer exactly and a `jwks_uri` that passes the
    /// [`transport`](Self::transport) policy. Nothing is fetched before the first token;
    /// see [`RemoteJwks::discover_with_options`] for caching and failures. The algorithms
    /// stay yours to list: metadata does not say which ones access tokens use.
    ///
    /// ```
    /// use auth_jwt::{Algorithm, Verifier};
    /// # let http = |_r: auth_core::HttpRequest| async {
    /// #     Ok::<_, auth_core::HttpError>(auth_core::HttpResponse::new(Vec::new())) };
    /// let verifier = Verifier::builder()
    ///     .issuer_url("https://login.example.com", http)
    ///     .algorithms([Algorithm::ES256, Algorithm::RS256])
    ///     .audience("https://api.example.com")
    ///     .build()
    ///     .unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn issuer_url(self, issuer_url: &str, http: impl HttpClient + 'static) -> Self {
        let mut this = self.issuer(issuer_url);
        this.keys = Some(Keys::Discover {
            issuer: issuer_url.to_owned(),
            http: BoxHttpClient::new(http),
        });
        this
    }

    /// The transport policy for the discovered metadata and keys of
    /// [`issuer_url`](Self::issuer_url) (default: HTTPS, or plain HTTP to loopback).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The cache tuning for the discovered keys of [`issuer_url`](Self::issuer_url).
    pub fn remote_config(mut self, config: RemoteConfig) -> Self {
        self.remote = config;
        self
    }

    /// Verifies with keys from `source` (fixed, a key ring, or a remote JWKS).
    pub fn key_source(mut self, source: KeySource) -> Self {
        self.keys = Some(Keys::Source(source));
        self
    }

    /// The clock for `exp`, `nbf`, `iat` (default: [`CoarseClock`], the system clock at tick
    /// resolution).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.rules.clock = Arc::new(clock);
        self
    }

    /// Allowed clock skew for `exp`, `nbf` and `iat` (default 30 s, at most 5 min).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules.leeway = leeway;
        self
    }

    /// Requires `iat` and refuses tokens issued longer ago than `max_age`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.rules.max_age = Some(max_age);
        self
    }

    /// Requires the header's `typ` to be `typ`, compared case-insensitively with or without
    /// `application/` (RFC 9068 access tokens: `"at+jwt"`).
    pub fn require_type(mut self, typ: impl Into<String>) -> Self {
        self.rules.typ = Some(typ.into());
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB), checked before any decoding.
    pub fn max_token_len(mut self, bytes: usize) -> Self {
        self.rules.max_token_len = bytes;
        self
    }

    /// For tokens without `kid`, tries each key that fits the `alg` instead of refusing when
    /// more than one does.
    pub fn try_each_key_without_kid(mut self) -> Self {
        self.rules.try_each_key = true;
        self
    }

    /// Accepts a nested JWT (RFC 7519 §5.2: outer header `cty: JWT`, the payload a compact
    /// JWS) one level deep. The outer token's header and signature are checked by this same
    /// policy (algorithms, keys, `typ`, `crit`, size), then the inner token is verified in
    /// full by it too: its header, key and signature, and its claims, which are the ones
    /// returned. An inner token that is nested again is refused. Off by default: a nested
    /// token is refused as [`Error::Unsupported`].
    pub fn accept_nested_jwt(mut self) -> Self {
        self.rules.nested = true;
        self
    }

    /// Checks the configuration and builds the verifier.
    ///
    /// # Errors
    ///
    /// [`Error::Misconfigured`] when no algorithm, issuer, audience or key source was given
    /// (and not waived by a `danger_` call), the issuer URL to discover is unusable, the leeway exceeds [`MAX_LEEWAY`], the token
    /// limit is under 64 bytes or over 1 MiB, or fixed keys cannot verify any allowed
    /// algorithm.
    pub fn build(mut self) -> Result<Verifier, Error> {
        let bad = |why: &'static str| Err(Error::Misconfigured(why.into()));
        self.rules.algorithms.sort();
        self.rules.algorithms.dedup();
        if self.rules.algorithms.is_empty() {
            return bad("no algorithm allowed: call algorithms()");
        }
        if matches!(self.rules.issuers, Accept::Unset) {
            return bad("no issuer: call issuer(), or danger_accept_any_issuer()");
        }
        if matches!(self.rules.audiences, Accept::Unset) {
            return bad("no audience: call audience(), or danger_accept_any_audience()");
        }
        let keys = match self.keys {
            None => return bad("no keys: call keys(), key_source() or issuer_url()"),
            Some(Keys::Source(source)) => source,
            Some(Keys::Discover { issuer, http }) => {
                // One issuer's keys verify that issuer's tokens only.
                if !matches!(&self.rules.issuers, Accept::OneOf(list) if list.len() == 1) {
                    return bad(
                        "issuer_url() gives one issuer's keys: it cannot be combined with \
                         issuer() or a second issuer_url(); use Verifier::issuers for several",
                    );
                }
                KeySource::remote(RemoteJwks::discover_with_options(
                    &issuer,
                    http,
                    Arc::clone(&self.rules.clock),
                    self.remote,
                    self.transport,
                )?)
            }
        };
        if self.rules.leeway > MAX_LEEWAY {
            return Err(Error::Misconfigured(
                format!(
                    "leeway {:?} is over the cap of {MAX_LEEWAY:?}",
                    self.rules.leeway
                )
                .into(),
            ));
        }
        if !(64..=1024 * 1024).contains(&self.rules.max_token_len) {
            return bad("max_token_len must be between 64 bytes and 1 MiB");
        }
        if keys.as_remote().is_some()
            && self
                .rules
                .algorithms
                .iter()
                .any(|a| matches!(a.family(), crate::Family::Hmac))
        {
            return bad(
                "HMAC algorithms with a remote JWKS: a published set holds no secrets \
                 (its oct keys are skipped); give HMAC keys with keys()",
            );
        }
        if let Some(fixed) = keys.fixed_keys()
            && !self.rules.algorithms.iter().any(|a| fixed.supports(*a))
        {
            return bad("none of the keys can verify any allowed algorithm");
        }
        Ok(Verifier {
            route: Route::One(Arc::new(Inner {
                rules: self.rules,
                keys,
            })),
        })
    }
}

impl Verifier {
    /// Starts a builder. See [`VerifierBuilder`] for what is required.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder {
            rules: Rules {
                algorithms: Vec::new(),
                issuers: Accept::Unset,
                audiences: Accept::Unset,
                clock: Arc::new(CoarseClock),
                leeway: DEFAULT_LEEWAY,
                max_age: None,
                typ: None,
                max_token_len: DEFAULT_MAX_TOKEN_LEN,
                try_each_key: false,
                nested: false,
            },
            keys: None,
            remote: RemoteConfig::default(),
            transport: Transport::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovered_keys_serve_their_issuer_only() {
        let http = |_r: auth_core::HttpRequest| async {
            Ok::<_, auth_core::HttpError>(auth_core::HttpResponse::new(Vec::new()))
        };
        let base = || {
            Verifier::builder()
                .audience("api")
                .algorithms([Algorithm::ES256])
        };
        assert!(base().issuer_url("https://a.example", http).build().is_ok());
        // A second issuer would be verified with the first one's keys.
        for twice in [
            base()
                .issuer_url("https://a.example", http)
                .issuer("https://b.example"),
            base()
                .issuer_url("https://a.example", http)
                .issuer_url("https://b.example", http),
        ] {
            assert!(twice.build().is_err());
        }
        assert!(base().issuer_url("http://a.example", http).build().is_err());
    }
}
