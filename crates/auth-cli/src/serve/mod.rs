//! `auth serve`: an HTTP gateway built from the crates on hyper, with embedded defaults so
//! that `auth serve` alone works on a fresh machine.
//!
//! Start-up: open `--data` (API keys in SQLite; on the first start an admin key is made and
//! printed once), make the signing key ring, bind, print `listening on URL`, serve HTTP/1.1
//! (over TLS with `--tls-cert/--tls-key`) until SIGTERM or Ctrl-C, then stop accepting and
//! let open requests finish (at most 10 s).

mod app;
mod budgets;
mod client;
mod config;
mod introspect;
mod issued;
mod limiters;
mod listener;
mod log;
mod metrics;
#[cfg(feature = "otel")]
mod otel;
mod proxy;
mod route_gates;
mod routes;
mod tls;
mod token;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use auth_apikey::NewKey;
use auth_core::{
    AuthenticateExt as _, Challenge, Clock, CoarseClock, GateExt as _, Guard, ProtectedResource,
    RequireScope, ScopeRequirement, Scopes, TokenAuthenticator, Transport,
};
use auth_jwt::dpop::Nonces;
use auth_jwt::{Algorithm, KeyRing, Rotation, Verifier};
use serde_json::json;

use self::app::{App, REALM};
use self::budgets::{Budgets, Class};
use self::config::Config;
use self::issued::IssuedTokens;
use self::log::Log;
use crate::data::DataDir;
use crate::output::{Error, Output, stdout_line};
use crate::store::{self, DatabaseArgs};

/// `auth serve`'s arguments.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on (port 0: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// The data directory: the SQLite key store, the digest pepper and the signing keys.
    #[arg(long, default_value = "auth-data", value_name = "DIR")]
    data: PathBuf,
    /// A JSON file of settings: issuer, audience, token_ttl_secs, rate_limit
    /// {requests, period_secs, burst}, admin_scope.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Ask clients for a certificate issued by this CA (PEM): a token request over such a
    /// connection gets a token bound to the certificate (RFC 8705, `cnf.x5t#S256`), usable
    /// only on a connection that presents it.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Where API keys live (default: SQLite in --data).
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
    /// Share rate-limit state with a fleet through Redis (rediss://host:port over TLS;
    /// redis:// only to loopback). Fails closed: when Redis is unreachable, API requests get
    /// 503 rather than unlimited access.
    #[arg(long, value_name = "URL")]
    pub(crate) redis: Option<String>,
    /// Trust only this CA (PEM) for the Redis server's certificate, for a private CA; without
    /// it, the platform's roots.
    #[arg(long, value_name = "FILE", requires = "redis")]
    pub(crate) redis_ca: Option<PathBuf>,
    /// The most one rate-limit decision waits for Redis, in milliseconds, (re)connecting
    /// included (half to connect, half for the reply); past it the request gets 503. Raise it
    /// for a Redis that is far away or slow to shake hands over TLS.
    #[arg(long, value_name = "MS", requires = "redis", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub(crate) redis_timeout_ms: u64,
    /// Allow plain HTTP on a non-loopback address (credentials then cross the network in
    /// clear), to listen on and to an --upstream.
    #[arg(long)]
    insecure_http: bool,
    /// Put the gateway in front of this service (http://host:port[/prefix]): requests that
    /// pass the gate go there, without their credential and with the caller's identity in
    /// X-Auth-Subject, X-Auth-Scopes and X-Auth-Key-Id; the example /api/ is off. Also
    /// `upstream` in the config.
    #[arg(long, value_name = "URL")]
    upstream: Option<String>,
    /// Serve GET /metrics on this address instead of the main listener (which then answers
    /// 404 there): for a scraper on another network than the clients.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Export a span per request over OTLP/HTTP to this collector URL (for example
    /// http://127.0.0.1:4318/v1/traces).
    #[cfg(feature = "otel")]
    #[arg(long, value_name = "URL")]
    otlp_endpoint: Option<String>,
    /// The log lines on standard error: json (one object per line) or text.
    #[arg(long, value_enum, default_value_t = log::LogFormat::Json, value_name = "FORMAT")]
    log_format: log::LogFormat,
}

/// Runs the server until a shutdown signal, then writes out the log lines still buffered.
pub(crate) async fn serve(args: ServeArgs, out: Output) -> Result<(), Error> {
    let result = run(args, out).await;
    Log::flush();
    result
}

/// The settings of `--config FILE` over the defaults, or the defaults alone.
fn load_config(path: Option<&std::path::Path>) -> Result<Config, Error> {
    let Some(path) = path else {
        return Config::defaults().map_err(Error::config);
    };
    let bytes = crate::output::read_file(path)?;
    Config::from_json(&bytes).map_err(|e| Error::config(format!("{}: {e}", path.display())))
}

async fn run(args: ServeArgs, out: Output) -> Result<(), Error> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key, args.tls_client_ca.as_deref())?),
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() && !args.insecure_http {
        return Err(Error::config(format!(
            "refusing plain HTTP on non-loopback {}: give --tls-cert/--tls-key, or \
             --insecure-http if TLS ends in front of this server",
            args.listen
        )));
    }
    let config = load_config(args.config.as_deref())?;
    let upstream = match args.upstream.as_ref().or(config.upstream.as_ref()) {
        Some(url) => Some(proxy::Upstream::new(
            url,
            config.proxies.clone(),
            config.upstream_timeout,
            args.insecure_http,
        )?),
        None => None,
    };
    metrics::install();
    Log::set_format(args.log_format);
    #[cfg(feature = "otel")]
    let tracing = args
        .otlp_endpoint
        .as_deref()
        .map(otel::install)
        .transpose()?;
    let metrics_listener = match args.metrics_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| Error::config(format!("cannot listen on {addr}: {e}")))?,
        ),
        None => None,
    };
    // Bind first: a busy port must not cost the one showing of the admin key.
    let listener = listener::bind(args.listen)
        .map_err(|e| Error::config(format!("cannot listen on {}: {e}", args.listen)))?;
    let bound = listener.local_addr().map_err(Error::config)?;
    let data = DataDir::open(&args.data)?;
    let keys = data.api_keys(&args.database).await?;
    // A first start: no admin key in the store yet (a new SQLite file, or a new database).
    if store::has_no_keys_of(&keys, "admin").await? {
        let admin = NewKey::new("admin", "first-start admin key")
            .with_scopes(Scopes::from_space_separated(&config.admin_scope));
        let issued = keys.create(admin).await.map_err(Error::config)?;
        let value = crate::apikey::issued_json(&issued);
        if out.json {
            stdout_line(&json!({"admin_key": value}).to_string());
        } else {
            stdout_line(&format!(
                "admin key (shown once, store it now): {}\nclient id: {}",
                issued.expose_key(),
                issued.id().as_str()
            ));
        }
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    let issuer = config
        .issuer
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{bound}"));
    let audience = config.audience.clone().unwrap_or_else(|| issuer.clone());

    // One clock for the key ring, the verifier and the token endpoint's `iat`/`exp`.
    let clock: Arc<dyn Clock> = Arc::new(CoarseClock);
    let ring = KeyRing::new(
        Arc::clone(&clock),
        Rotation::new(Duration::from_secs(3600), config.token_ttl * 2),
        data.signing_keys("at+jwt")?,
    )
    .map_err(Error::config)?;
    // The server verifies only its own tokens, stamped by this clock: no leeway, so a token
    // is refused from the second its `exp` names (RFC 7519 §4.1.4), here and at introspection.
    let verifier = Verifier::builder()
        .leeway(Duration::ZERO)
        .algorithms([Algorithm::ES256])
        .issuer(issuer.clone())
        .audience(audience.clone())
        .key_source(ring.key_source())
        .require_type("at+jwt")
        .clock(Arc::clone(&clock))
        .build()
        .map_err(Error::config)?;
    let challenge = Challenge::bearer().with_realm(REALM);
    let tokens = IssuedTokens {
        verifier,
        keys: keys.clone(),
    };
    let mut proofs = auth_jwt::dpop::ProofVerifier::new().clock(Arc::clone(&clock));
    if let Some(period) = config.dpop_nonce {
        let key = data.dpop_nonce_key(&args.database)?;
        proofs = proofs.nonces(Nonces::new(key, period).with_clock(Arc::clone(&clock)));
    }
    // API keys, plain bearer tokens, DPoP-bound tokens with their proofs (RFC 9449 §7); the
    // Bearer challenge first, as clients that read only the first one expect.
    let authenticator = keys
        .authenticator(REALM)
        .or(TokenAuthenticator::bearer(REALM, tokens.clone()).with_challenge(challenge))
        .or(tokens.dpop(proofs.clone(), &issuer, REALM)?);
    let limiters = limiters::Limiters::start(&args, &config.quota).await?;
    let budgets = Budgets {
        granted: limiters.limiter(&config.quota, "auth-serve:")?,
        failures: limiters.limiter(&config.failure_quota, "auth-serve:fail:")?,
        proxies: config.proxies.clone(),
        log: Log,
    };
    let api_gate = Guard::new(authenticator)
        .on_refusal(budgets.failure_gate(Class::Api))
        .then(budgets.principal_gate(Class::Api))
        .boxed();
    if upstream.is_none() && config.routes.is_some() {
        return Err(Error::config(
            "routes apply to an upstream: give --upstream (or upstream in the config)",
        ));
    }
    let route_parts = route_gates::RouteParts {
        dpop: (proofs.clone(), issuer.clone()),
        limiters,
        keys: keys.clone(),
        tokens: tokens.clone(),
        budgets: budgets.clone(),
        clock: Arc::clone(&clock),
    };
    let routes = match &upstream {
        None => Vec::new(),
        Some(_) => route_parts.build(config.routes.clone())?,
    };
    let admin = RequireScope::new(
        ScopeRequirement::parse(&config.admin_scope).map_err(Error::config)?,
        [Challenge::bearer().with_realm(REALM)],
    );
    // The document names this server only; no credential travels to its URL, so a plain-HTTP
    // issuer on a test network (allowed by --insecure-http) may be named in it.
    let resource = ProtectedResource::new(&issuer, Transport::danger_allow_plaintext())
        .map_err(|e| Error::config(format!("issuer: {e}")))?
        .authorization_server(&issuer)
        .scopes([config.admin_scope.as_str()]);
    let app = Arc::new(App {
        config,
        issuer: issuer.clone(),
        audience,
        keys,
        ring,
        tokens,
        api_gate,
        proofs,
        admin,
        resource,
        budgets,
        clock,
        log: Log,
        upstream,
        metrics_apart: metrics_listener.is_some(),
        routes: ArcSwap::from_pointee(routes),
        tls: tls.is_some(),
    });
    #[cfg(unix)]
    if app.upstream.is_some()
        && let Some(path) = args.config.clone()
    {
        // Listening for SIGHUP before the address is printed: a SIGHUP that came before the
        // handler would end the process.
        use tokio::signal::unix::{SignalKind, signal};
        let hangups = signal(SignalKind::hangup()).map_err(Error::config)?;
        tokio::spawn(reload_on_hangup(
            Arc::clone(&app),
            path,
            route_parts,
            hangups,
        ));
    }

    if let Some(listener) = metrics_listener {
        let addr = listener.local_addr().map_err(Error::config)?;
        app.log
            .event("metrics_listening", &[("listen", json!(addr.to_string()))]);
        tokio::spawn(listener::serve_metrics(listener));
    }
    if out.json {
        stdout_line(
            &json!({"listening": format!("{scheme}://{bound}"), "issuer": issuer}).to_string(),
        );
    } else {
        stdout_line(&format!("listening on {scheme}://{bound}"));
    }
    app.log.event(
        "started",
        &[
            ("listen", json!(bound.to_string())),
            ("issuer", json!(issuer)),
        ],
    );
    let served = listener::accept_loop(listener, tls, app).await;
    #[cfg(feature = "otel")]
    if let Some(tracing) = tracing {
        let _ = tokio::task::spawn_blocking(move || tracing.finish()).await;
    }
    served
}

/// On SIGHUP, reads the config again and swaps in its routes; connections and requests in
/// flight are not touched. A config that does not load, or whose routes do not build, is
/// logged and the routes in force stay. Other settings take a restart.
#[cfg(unix)]
async fn reload_on_hangup(
    app: Arc<App>,
    path: PathBuf,
    parts: route_gates::RouteParts,
    mut hangups: tokio::signal::unix::Signal,
) {
    while hangups.recv().await.is_some() {
        let reloaded = load_config(Some(&path)).and_then(|c| parts.build(c.routes));
        match reloaded {
            Ok(routes) => {
                let count = routes.len();
                app.routes.store(Arc::new(routes));
                app.log
                    .event("config_reloaded", &[("routes", json!(count))]);
            }
            Err(e) => {
                let why = match e {
                    Error::Config(why) => why,
                    Error::Rejected { message, .. } => message,
                };
                app.log.event(
                    "config_reload_failed",
                    &[
                        ("error", json!(why)),
                        ("kept", json!("the routes in force")),
                    ],
                );
            }
        }
    }
}
