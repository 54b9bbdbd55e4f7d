//! actix-web, which has its own request types and its own extractor trait: the gate runs in
//! the `Authenticated` extractor (the head converted to `http::request::Parts` once, in
//! `head_of`), and `Claims<C>` hands a typed attribute of the principal to the handler, as
//! auth-tower's extractors do for axum.
//!
//! `DEMO_API_KEY=... cargo run -p examples --bin actix_server`

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{App, FromRequest, HttpMessage, HttpRequest, HttpResponse, HttpServer, web};
use auth_core::{BoxGate, Denial, Gate as _, Principal};
use examples::{DemoKeys, Plan, REALM, announce, gate, whoami, with_headers};

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

/// What the gate let through: the principal, and the headers (the `RateLimit` fields) for
/// the response. The gate runs once per request, however many extractors ask.
#[derive(Debug, Clone)]
struct Authenticated {
    principal: Principal,
    headers: http::HeaderMap,
}

/// The gate's refusal, answered as auth-core renders it (status, challenge, `Retry-After`).
#[derive(Debug)]
struct Refused(Denial);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused: {}", self.0.status())
    }
}

impl actix_web::ResponseError for Refused {
    fn error_response(&self) -> HttpResponse {
        into_actix(self.0.to_response())
    }
}

/// No principal where one was needed: 401 with the realm's challenge, never a 500.
fn unauthenticated() -> Denial {
    auth_core::Rejection::missing([auth_core::Challenge::bearer().with_realm(REALM)]).into()
}

type Extracting<T> = Pin<Box<dyn Future<Output = Result<T, Refused>>>>;

impl FromRequest for Authenticated {
    type Error = Refused;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(done) = req.extensions().get::<Authenticated>() {
                return Ok(done.clone());
            }
            let Some(gate) = req.app_data::<web::Data<Arc<BoxGate>>>().cloned() else {
                let why = auth_core::Error::Misconfigured("no gate in the app data".into());
                return Err(Refused(why.into()));
            };
            let mut head = head_of(&req);
            let headers = gate.check(&mut head).await.map_err(Refused)?;
            let Some(principal) = head.extensions.remove::<Principal>() else {
                return Err(Refused(unauthenticated()));
            };
            let done = Authenticated { principal, headers };
            req.extensions_mut().insert(done.clone());
            Ok(done)
        })
    }
}

/// A typed attribute of the principal (here the demo's [`Plan`]; a JWT verifier's claims
/// type in a JWT-protected app).
struct Claims<C>(C);

impl<C: Clone + Send + Sync + 'static> FromRequest for Claims<C> {
    type Error = Refused;
    type Future = Extracting<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(req, payload);
        Box::pin(async move {
            let who = authenticated.await?;
            who.principal
                .attribute::<C>()
                .cloned()
                .map(Claims)
                .ok_or_else(|| Refused(unauthenticated()))
        })
    }
}

async fn who(who: Authenticated, Claims(plan): Claims<Plan>) -> HttpResponse {
    let mut response = into_actix(with_headers(whoami(&who.principal), who.headers));
    response.headers_mut().insert(
        actix_web::http::header::HeaderName::from_static("x-plan"),
        actix_web::http::header::HeaderValue::from_static(plan.0),
    );
    response
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
