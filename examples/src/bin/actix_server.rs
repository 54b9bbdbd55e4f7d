//! actix-web, which has its own request types: the head is converted to `http::request::Parts`
//! once, in `head_of`, and everything else is auth-rs as usual.
//!
//! `DEMO_API_KEY=... cargo run -p examples --bin actix_server`

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use auth_core::{BoxGate, Gate as _, Principal};
use examples::{DemoKeys, announce, gate, whoami, with_headers};

/// actix-web's head as an `http` 1.x head: method, URI and headers are copied as bytes
/// (actix-web 4 is built on `http` 0.2, a different type with the same meaning).
fn head_of(req: &HttpRequest) -> http::request::Parts {
    let mut builder = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        builder = builder.header(name.as_str(), value.as_bytes());
    }
    // A head actix accepted is a valid head; fall back to an empty one rather than panic.
    builder.body(()).map_or_else(
        |_| http::Request::new(()).into_parts().0,
        |r| r.into_parts().0,
    )
}

/// An `http` response as an actix-web response.
fn into_actix(response: http::Response<String>) -> HttpResponse {
    let mut out = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(response.status().as_u16())
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    for (name, value) in response.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(response.into_body())
}

async fn who(req: HttpRequest, gate: web::Data<Arc<BoxGate>>) -> HttpResponse {
    let mut head = head_of(&req);
    match gate.check(&mut head).await {
        Ok(headers) => match head.extensions.get::<Principal>() {
            Some(p) => into_actix(with_headers(whoami(p), headers)),
            None => HttpResponse::InternalServerError().finish(),
        },
        Err(denial) => into_actix(denial.to_response()),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gate = Arc::new(gate(DemoKeys::from_env()?)?);
    let listener = std::net::TcpListener::bind(
        std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned()),
    )?;
    announce(listener.local_addr()?);
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(Arc::clone(&gate)))
            .route("/whoami", web::get().to(who))
    })
    .workers(1)
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
