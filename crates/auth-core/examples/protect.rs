//! Protects a request with a bearer token from the environment and prints what each kind of
//! request gets back: `cargo run -p auth-core --example protect`.
//!
//! The token is read from `DEMO_TOKEN` (or the file `DEMO_TOKEN_FILE` names); when neither is
//! set the example uses a fixed demo token and says so.

#![allow(clippy::print_stdout)] // printing is what the example is for

use auth_core::{
    CredentialKind, Guard, Principal, ScopeRequirement, Scopes, Secret, TokenAuthenticator,
    TokenVerdict,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let token = match Secret::from_env("DEMO_TOKEN") {
        Ok(secret) => secret,
        Err(e) => {
            eprintln!("{e}; using a fixed demo token");
            Secret::new("demo-token-0123456789")
        }
    };
    let presented = token.expose_str()?.to_owned();
    let verify = move |candidate: &str| -> Result<TokenVerdict, auth_core::Error> {
        Ok(if token.ct_eq(candidate.as_bytes()) {
            TokenVerdict::Valid(
                Principal::new("demo-user", CredentialKind::ApiKey)
                    .with_scopes(Scopes::from_space_separated("reports:read")),
            )
        } else {
            TokenVerdict::Invalid("token does not match".into())
        })
    };
    let guard = Guard::new(TokenAuthenticator::bearer("demo", verify))
        .require_scope(ScopeRequirement::parse("reports:read")?);

    let requests = [
        ("no credential", None),
        ("right token", Some(format!("Bearer {presented}"))),
        ("lower-case scheme", Some(format!("bearer {presented}"))),
        ("wrong token", Some("Bearer not-the-token".to_owned())),
        ("malformed", Some("Bearer two words".to_owned())),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    for (what, authorization) in requests {
        let mut builder = http::Request::get("/reports");
        if let Some(value) = authorization {
            builder = builder.header("authorization", value);
        }
        let (mut parts, ()) = builder.body(())?.into_parts();
        let line = match runtime.block_on(guard.authorize(&mut parts)) {
            Ok(()) => {
                let who = parts.extensions.get::<Principal>().map(Principal::subject);
                format!("200 for {who:?}")
            }
            Err(denial) => {
                let response = denial.to_response();
                let challenge = response
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                format!("{} {challenge}  ({denial})", response.status())
            }
        };
        println!("{what:>18}: {line}");
    }
    Ok(())
}
