//! Each request through the layer is one `auth.gate` span carrying the decision: the status
//! a refusal answers and its server-side reason, or `passed`; never the credential.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};

use auth_core::{CredentialKind, Error, Guard, Principal, TokenVerdict};
use auth_tower::GateLayer;
use http::{Request, Response};
use tower::{ServiceBuilder, ServiceExt};
use tracing_subscriber::fmt::format::FmtSpan;

type Verify = fn(&str) -> Result<TokenVerdict, Error>;

fn verify(token: &str) -> Result<TokenVerdict, Error> {
    Ok(match token {
        "good-secret-token" => TokenVerdict::Valid(Principal::new("alice", CredentialKind::Jwt)),
        _ => TokenVerdict::Invalid("token expired 7m ago".into()),
    })
}

/// What the subscriber wrote.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn spans_of(token: &str) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(FmtSpan::CLOSE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let service = ServiceBuilder::new()
                .layer(GateLayer::new(Guard::bearer("api", verify as Verify)))
                .service_fn(|_req: Request<()>| async {
                    Ok::<_, Infallible>(Response::new("ok".to_owned()))
                });
            let request = Request::get("/orders")
                .header("authorization", format!("Bearer {token}"))
                .body(())
                .unwrap();
            service.oneshot(request).await.unwrap();
        });
    });
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn the_span_carries_the_decision_and_never_the_credential() {
    let refused = spans_of("forged-secret-token");
    let close = refused
        .lines()
        .find(|l| l.contains("auth.gate") && l.contains("close"))
        .unwrap();
    assert!(close.contains("status=401"), "{refused}");
    assert!(
        close.contains("reason=\"token expired 7m ago\""),
        "{refused}"
    );
    assert!(close.contains("path=/orders"), "{refused}");
    assert!(!refused.contains("forged-secret-token"), "{refused}");
    let passed = spans_of("good-secret-token");
    let close = passed
        .lines()
        .find(|l| l.contains("auth.gate") && l.contains("close"))
        .unwrap();
    assert!(close.contains("status=\"passed\""), "{passed}");
    assert!(!passed.contains("good-secret-token"), "{passed}");
}
