//! hyper 1.x with no framework: the crates called directly on `Request<Incoming>`.
//!
//! `DEMO_API_KEY=... cargo run -p examples --bin hyper_server`, then
//! `curl -H "Authorization: Bearer $DEMO_API_KEY" http://127.0.0.1:PORT/whoami`.

use std::convert::Infallible;
use std::sync::Arc;

use auth_core::Principal;
use examples::{DemoKeys, bind, guard, whoami};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = Arc::new(guard(DemoKeys::from_env()?));
    let listener = bind().await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let guard = Arc::clone(&guard);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let guard = Arc::clone(&guard);
                async move {
                    let (mut parts, _body) = request.into_parts();
                    let response = match guard.authorize(&mut parts).await {
                        Ok(()) => match parts.extensions.get::<Principal>() {
                            Some(p) if parts.uri.path() == "/whoami" => whoami(p),
                            _ => not_found(),
                        },
                        Err(denial) => denial.to_response(),
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn not_found() -> Response<String> {
    let mut r = Response::new(String::new());
    *r.status_mut() = http::StatusCode::NOT_FOUND;
    r
}
