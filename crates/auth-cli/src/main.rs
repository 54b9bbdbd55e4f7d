//! `auth`: the auth-rs crates from a shell, and `auth serve`, a gateway built from them.
//!
//! Exit codes: 0 valid or done, 1 credential rejected, 2 usage or configuration error.
//! `--json` prints one JSON document for scripts. Secrets come from environment variables or
//! files named by flags, never from arguments that `ps` would show.

use std::path::PathBuf;
use std::process::ExitCode;

use auth_jwt::Algorithm;
use clap::{Args, Parser, Subcommand};

/// mimalloc rather than the system allocator: a proxied request makes a few dozen short-lived
/// allocations (headers, bodies' frames, the log line), and under load at 64 connections
/// glibc's malloc and free were 13% of the gateway's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod apikey;
mod data;
mod dpop;
mod jwk;
mod jwt;
mod keys;
mod login;
mod oauth2;
mod output;
mod serve;
mod store;
mod time;

use output::{Error, Output};

/// Debug and issue API credentials (JWTs, JWKs, API keys, PKCE), and run a small auth gateway.
#[derive(Debug, Parser)]
#[command(name = "auth", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 valid or done, 1 credential rejected, 2 usage or configuration error."
)]
struct Cli {
    /// Print one JSON document (results and errors) for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// For outbound HTTPS (issuers, JWKS URLs): trust only the CA certificates in this PEM
    /// file instead of the system's roots, for a private CA (`auth serve --tls-cert`).
    #[arg(long, global = true, value_name = "FILE")]
    cacert: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// JSON Web Tokens: decode, verify, sign.
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// JSON Web Keys: generate, public, thumbprint.
    #[command(subcommand)]
    Jwk(JwkCommand),
    /// DPoP (RFC 9449): a proof for one request.
    #[command(subcommand)]
    Dpop(DpopCommand),
    /// API keys: generate, check, create, revoke, rotate.
    #[command(subcommand)]
    Apikey(apikey::ApikeyCommand),
    /// A PKCE code verifier and its S256 challenge (RFC 7636).
    Pkce,
    /// OAuth 2.0 client: login (authorization code + PKCE), client credentials, introspection.
    #[command(subcommand)]
    Oauth2(Oauth2Command),
    /// Run the gateway: API keys, a token endpoint, JWKS, rate limits, an example API.
    Serve(serve::ServeArgs),
    /// A completion script for a shell: `auth completions bash > /etc/bash_completion.d/auth`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// The man page (roff), as `cargo xtask man` installs it.
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Subcommand)]
enum JwtCommand {
    /// Show a token's header and claims WITHOUT verifying anything.
    Decode {
        /// The token; `-` or none reads it from standard input.
        token: Option<String>,
        /// Show times relative to this Unix time instead of now.
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
    },
    /// Verify a token's signature and claims: exit 0 and the claims, or exit 1 and why.
    Verify(VerifyArgs),
    /// Sign claims into a compact JWS.
    Sign(jwt::SignArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The token; `-` or none reads it from standard input.
    token: Option<String>,
    /// The keys of the --iss issuers: a JWKS, JWK or PEM file, or an https URL of a JWKS
    /// (http only to loopback).
    #[arg(
        long,
        value_name = "FILE|URL",
        required_unless_present_any = ["issuer_url", "secret_env", "secret_file"],
        conflicts_with_all = ["secret_env", "secret_file"],
        requires = "iss"
    )]
    jwks: Option<String>,
    /// The HMAC secret of the --iss issuers (HS256/384/512), from this environment variable
    /// (or the file `VAR_FILE` names).
    #[arg(
        long,
        value_name = "VAR",
        conflicts_with = "secret_file",
        requires = "iss"
    )]
    secret_env: Option<String>,
    /// The HMAC secret of the --iss issuers, from this file (a trailing newline is not part
    /// of it).
    #[arg(long, value_name = "FILE", requires = "iss")]
    secret_file: Option<PathBuf>,
    /// An accepted issuer whose keys are found by discovery (its openid-configuration or
    /// RFC 8414 metadata, the `issuer` in it identical); repeat for several. The token's
    /// `iss` picks the issuer, whose keys must then verify it.
    #[arg(long = "issuer-url", value_name = "URL")]
    issuer_url: Vec<String>,
    /// The accepted algorithms, comma separated (`none` is never accepted).
    #[arg(long, value_name = "LIST")]
    alg: String,
    /// An issuer accepted with the --jwks keys (repeat for several).
    #[arg(long, value_name = "ISS", required_unless_present = "issuer_url")]
    iss: Vec<String>,
    /// The accepted audience (repeat for several).
    #[arg(long, value_name = "AUD", required = true)]
    aud: Vec<String>,
    /// Clock skew allowed on exp, nbf and iat, in seconds (default 30, auth-jwt's
    /// DEFAULT_LEEWAY; at most 300).
    #[arg(long, value_name = "SECS")]
    leeway: Option<u64>,
    /// Evaluate time claims at this Unix time instead of now.
    #[arg(long, value_name = "UNIX")]
    now: Option<u64>,
    /// Require this header `typ` (for example `at+jwt`).
    #[arg(long, value_name = "TYP")]
    typ: Option<String>,
}

#[derive(Debug, Subcommand)]
enum DpopCommand {
    /// A DPoP proof for one request, to send in its `DPoP` header.
    Proof(dpop::ProofArgs),
}

#[derive(Debug, Subcommand)]
enum JwkCommand {
    /// A fresh private JWK (EC, Ed25519 or HMAC; RSA keys: use PEM).
    Generate {
        /// The algorithm: RS256..PS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512.
        #[arg(long, value_parser = parse_alg, required_unless_present = "kty")]
        alg: Option<Algorithm>,
        /// Or the key type: RSA, EC, OKP or oct.
        #[arg(long)]
        kty: Option<String>,
        /// With `--kty EC`: P-256 (default), P-384 or P-521; with OKP: Ed25519.
        #[arg(long)]
        crv: Option<String>,
        /// With `--kty RSA`: 2048 (default), 3072, 4096 or 8192 bits; with oct: 256, 384 or
        /// 512.
        #[arg(long, value_name = "BITS")]
        size: Option<u32>,
        /// The key id (default: the key's RFC 7638 thumbprint).
        #[arg(long)]
        kid: Option<String>,
    },
    /// The public JWKS of a private JWK, a PEM key (private, or an EC or Ed25519 public key)
    /// or a JWKS, each key checked.
    Public {
        /// The key file.
        file: PathBuf,
        /// For a private PEM: the algorithm of the key (default: ES256, ES384, ES512, EdDSA,
        /// RS256 tried in turn); for a public PEM, it must be the key's.
        #[arg(long, value_parser = parse_alg)]
        alg: Option<Algorithm>,
    },
    /// The RFC 7638 SHA-256 thumbprint of a JWK (HMAC keys too) or PEM key.
    Thumbprint {
        /// The key file.
        file: PathBuf,
        /// For a private PEM: the algorithm of the key (default: ES256, ES384, ES512, EdDSA,
        /// RS256 tried in turn); for a public PEM, it must be the key's.
        #[arg(long, value_parser = parse_alg)]
        alg: Option<Algorithm>,
    },
}

#[derive(Debug, Subcommand)]
enum Oauth2Command {
    /// Sign in on another device (RFC 8628): prints where to go and the code to enter, then
    /// waits for the approval and prints the access token.
    Device(oauth2::DeviceArgs),
    /// A new access token for a refresh token (read from the environment).
    Refresh(oauth2::RefreshArgs),
    /// Revoke a token (RFC 7009).
    Revoke(oauth2::RevokeArgs),
    /// Get an access token by the client credentials grant, finding the token endpoint
    /// through the issuer's RFC 8414 metadata. Prints the token (exit 1 if refused).
    Token {
        #[command(flatten)]
        client: oauth2::ClientArgs,
        /// A scope to request (repeat for several).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// Send the secret in the form body (`client_secret_post`) instead of HTTP Basic.
        #[arg(long)]
        client_secret_post: bool,
        /// Ask for a DPoP-bound token (RFC 9449), proving possession of this private key (a
        /// JWK or PEM); `auth dpop proof --key FILE` then makes the proofs to use it with.
        #[arg(long, value_name = "FILE")]
        dpop_key: Option<PathBuf>,
    },
    /// Sign in with a browser: authorization code + PKCE with a loopback redirect
    /// (`http://127.0.0.1:PORT/callback`). Prints the URL to open, then the access token.
    Login {
        /// The issuer URL; its metadata names the authorization and token endpoints.
        #[arg(long, value_name = "URL")]
        issuer: String,
        /// The client id.
        #[arg(long, value_name = "ID")]
        client_id: String,
        /// For a confidential client: the environment variable holding its secret.
        #[arg(long, value_name = "VAR")]
        client_secret_env: Option<String>,
        /// A scope to request (repeat for several).
        #[arg(long = "scope", value_name = "S")]
        scopes: Vec<String>,
        /// The loopback port of the redirect URI (default: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Seconds to wait for the browser to come back.
        #[arg(long, default_value_t = 300, value_name = "SECS")]
        timeout: u64,
    },
    /// Ask the issuer whether a token is active (RFC 7662): exit 0 and its claims, or 1.
    Introspect {
        /// The token; `-` or none reads it from standard input.
        token: Option<String>,
        #[command(flatten)]
        client: oauth2::ClientArgs,
    },
}

pub(crate) fn parse_alg(name: &str) -> Result<Algorithm, String> {
    keys::parse_algs(name)
        .map_err(|e| match e {
            Error::Config(m) | Error::Rejected { message: m, .. } => m,
        })
        .and_then(|algs| match algs.as_slice() {
            [one] => Ok(*one),
            _ => Err("give exactly one algorithm".into()),
        })
}

/// Whether `--json` is among the arguments (before a `--` that ends the options), for the
/// errors of a command line clap could not parse.
fn json_requested(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, json_requested(&args)),
    };
    let out = Output { json: cli.json };
    if let Some(path) = &cli.cacert {
        match output::read_file(path) {
            Ok(pem) => output::trust_ca(pem),
            Err(e) => return out.error(&e),
        }
    }
    let result = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli.command, out)),
        Err(e) => Err(Error::config(format!("cannot start the runtime: {e}"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => out.error(&e),
    }
}

/// A command line clap refused. `--help` and `--version` print as usual (exit 0); a usage
/// error under `--json` is one JSON document on standard output, like every other error
/// (exit 2), and clap's own text on standard error otherwise.
fn usage_error(e: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    if !json || matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let text = e.render().to_string();
    let message = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        "a subcommand is required".to_owned()
    } else {
        // clap's paragraph before the usage line, on one line.
        text.lines()
            .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
            .trim_start_matches("error: ")
            .to_owned()
    };
    let usage = text
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(str::to_owned);
    output::stdout_line(&output::pretty(
        &serde_json::json!({"error": "usage", "message": message, "usage": usage}),
    ));
    ExitCode::from(2)
}

async fn run(command: Command, out: Output) -> Result<(), Error> {
    match command {
        Command::Jwt(JwtCommand::Decode { token, now }) => jwt::decode(token.as_deref(), now, out),
        Command::Jwt(JwtCommand::Verify(a)) => {
            let secret = match (&a.secret_env, &a.secret_file) {
                (Some(var), _) => Some(output::secret_from_env(var)?),
                (None, Some(path)) => Some(jwt::secret_file(path)?),
                (None, None) => None,
            };
            if !a.iss.is_empty() && a.jwks.is_none() && secret.is_none() {
                return Err(Error::config(
                    "--iss names issuers whose keys --jwks, --secret-env or --secret-file gives",
                ));
            }
            let policy = jwt::Policy {
                jwks: a.jwks.as_deref(),
                secret,
                issuer_urls: &a.issuer_url,
                algs: keys::parse_algs(&a.alg)?,
                issuers: &a.iss,
                audiences: &a.aud,
                leeway: a.leeway,
                now: a.now,
                typ: a.typ.as_deref(),
            };
            jwt::verify(a.token.as_deref(), policy, out).await
        }
        Command::Jwt(JwtCommand::Sign(args)) => jwt::sign(&args, out),
        Command::Jwk(JwkCommand::Generate {
            alg,
            kty,
            crv,
            size,
            kid,
        }) => {
            let alg = jwk::generated_alg(alg, kty.as_deref(), crv.as_deref(), size)?;
            let rsa_bits = if alg.family() == auth_jwt::Family::Rsa {
                size.unwrap_or(2048)
            } else {
                2048
            };
            jwk::generate(alg, rsa_bits, kid.as_deref(), out)
        }
        Command::Jwk(JwkCommand::Public { file, alg }) => jwk::public(&file, alg, out),
        Command::Jwk(JwkCommand::Thumbprint { file, alg }) => jwk::thumbprint(&file, alg, out),
        Command::Dpop(DpopCommand::Proof(args)) => dpop::proof(&args, out),
        Command::Apikey(command) => apikey::run(command, out).await,
        Command::Pkce => oauth2::pkce(out),
        Command::Oauth2(Oauth2Command::Device(args)) => oauth2::device(&args, out).await,
        Command::Oauth2(Oauth2Command::Refresh(args)) => oauth2::refresh(&args, out).await,
        Command::Oauth2(Oauth2Command::Revoke(args)) => oauth2::revoke(&args, out).await,
        Command::Oauth2(Oauth2Command::Token {
            client,
            scopes,
            client_secret_post,
            dpop_key,
        }) => {
            let request = oauth2::TokenRequest {
                client: &client,
                scopes: &scopes,
                post: client_secret_post,
                dpop_key: dpop_key.as_deref(),
            };
            oauth2::token(request, out).await
        }
        Command::Oauth2(Oauth2Command::Login {
            issuer,
            client_id,
            client_secret_env,
            scopes,
            port,
            timeout,
        }) => {
            let request = login::LoginRequest {
                issuer: &issuer,
                client_id: &client_id,
                secret_env: client_secret_env.as_deref(),
                scopes: &scopes,
                port,
                timeout: std::time::Duration::from_secs(timeout),
            };
            login::login(request, out).await
        }
        Command::Oauth2(Oauth2Command::Introspect { token, client }) => {
            let request = oauth2::IntrospectRequest {
                token: token.as_deref(),
                client: &client,
            };
            oauth2::introspect(request, out).await
        }
        Command::Serve(args) => serve::serve(args, out).await,
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            let mut stdout = std::io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "auth", &mut stdout);
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory as _;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout().lock())
                .map_err(|e| Error::config(format!("writing the man page: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn leeway_help_says_auth_jwts_default() {
        let cli = Cli::command();
        let verify = cli
            .find_subcommand("jwt")
            .and_then(|jwt| jwt.find_subcommand("verify"))
            .unwrap();
        let leeway = verify
            .get_arguments()
            .find(|a| a.get_id() == "leeway")
            .unwrap();
        let help = leeway.get_help().unwrap().to_string();
        let default = format!("default {}", auth_jwt::DEFAULT_LEEWAY.as_secs());
        assert!(help.contains(&default), "{help}");
    }

    #[test]
    fn json_is_found_before_the_end_of_options() {
        let args = |list: &[&str]| list.iter().map(Into::into).collect::<Vec<_>>();
        assert!(json_requested(&args(&["auth", "jwt", "--json", "x"])));
        assert!(!json_requested(&args(&["auth", "jwt", "--", "--json"])));
        assert!(!json_requested(&args(&["--json"])));
    }
}
