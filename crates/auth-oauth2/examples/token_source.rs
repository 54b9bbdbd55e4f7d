//! A service calling an API with OAuth 2.0 client credentials, and the API checking the token
//! by introspection, both against a small in-process authorization server (a closure behind
//! the `HttpClient` seam). In production the closure is `auth_http::Client`.
//!
//! Run with `cargo run -p auth-oauth2 --example token_source`.

use std::sync::Arc;

use auth_core::{
    Guard, HttpError, HttpRequest, HttpResponse, Principal, Secret, TokenAuthenticator,
};
use auth_oauth2::{ClientAuth, Introspector, OAuthClient, TokenSource};

fn authorization_server(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let body = match request.uri().path() {
        "/token" => r#"{"access_token":"opaque-123","token_type":"Bearer","expires_in":3600}"#,
        "/introspect" if request.body().starts_with(b"token=opaque-123&") => {
            r#"{"active":true,"sub":"reporting-service","scope":"reports:read","aud":"https://api.example","iss":"https://as.example"}"#
        }
        _ => r#"{"active":false}"#,
    };
    Ok(HttpResponse::new(body.as_bytes().to_vec()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let http = Arc::new(|req: HttpRequest| std::future::ready(authorization_server(req)));
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        // The calling service.
        let client = OAuthClient::builder("reporting-service")
            .token_endpoint("https://as.example/token")
            .client_auth(ClientAuth::SecretBasic(Secret::new("demo-secret"))) // Secret::from_env("CLIENT_SECRET")?
            .scopes("reports:read")
            .http_client(http.clone())
            .build()?;
        let source = TokenSource::client_credentials(client).build();
        let mut request = http::Request::get("https://api.example/reports").body(())?;
        let used = source.authorize(&mut request).await?;

        // The API: introspection behind the usual authenticator.
        let api_client = OAuthClient::builder("reports-api")
            .client_auth(ClientAuth::SecretBasic(Secret::new("api-secret")))
            .http_client(http)
            .build()?;
        let introspector = Introspector::builder(api_client, "https://as.example/introspect")
            .audience("https://api.example")
            .issuer("https://as.example")
            .build()?;
        let guard = Guard::new(TokenAuthenticator::bearer("reports", introspector));
        let (mut parts, ()) = request.into_parts();
        match guard.authorize(&mut parts).await {
            Ok(()) => {
                let who = parts.extensions.get::<Principal>().map(Principal::subject);
                eprintln!(
                    "API accepted the call from {who:?}; token expires at {:?}",
                    used.expires_at()
                );
            }
            Err(denial) => eprintln!("API refused: {}", denial.status()),
        }
        Ok(())
    })
}
