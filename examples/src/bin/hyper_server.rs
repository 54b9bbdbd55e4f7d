//! hyper 1.x with no framework: the gate called directly on `Request<Incoming>`'s head.
//!
//! `DEMO_API_KEY=... cargo run -p examples --bin hyper_server`, then
//! `curl -H "Authorization: Bearer $DEMO_API_KEY" http://127.0.0.1:PORT/whoami`.

use std::convert::Infallible;
use std::sync::Arc;

use auth_core::{Gate as _, Principal};
use examples::{DemoKeys, bind, gate, whoami, with_headers};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gate = Arc::new(gate(DemoKeys::from_env()?)?);
    let listener = bind().await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let gate = Arc::clone(&gate);
                async move {
                    let (mut parts, _body) = request.into_parts();
                    let response = match gate.check(&mut parts).await {
                        Ok(headers) => with_headers(
                            match parts.extensions.get::<Principal>() {
                                Some(p) if parts.uri.path() == "/whoami" => whoami(p),
                                _ => not_found(),
                            },
                            headers,
                        ),
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
