//! tonic (gRPC) with the layer: the standard health service behind API-key authentication;
//! refusals reach gRPC clients as `grpc-status` 16 (unauthenticated) rather than HTTP 401.
//!
//! `DEMO_API_KEY=... cargo run -p examples --bin tonic_server`

use auth_tower::GateLayer;
use examples::{DemoKeys, announce, guard};
use tokio_stream_shim::incoming;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let guard = guard(DemoKeys::from_env()?);
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind(
        std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned()),
    )
    .await?;
    announce(listener.local_addr()?);
    tonic::transport::Server::builder()
        .layer(GateLayer::grpc(guard))
        .add_service(health)
        .serve_with_incoming(incoming(listener))
        .await?;
    Ok(())
}

mod tokio_stream_shim {
    //! A `Stream` of accepted connections, without pulling in `tokio-stream`.

    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::net::{TcpListener, TcpStream};

    pub(crate) struct Incoming(TcpListener);

    pub(crate) fn incoming(listener: TcpListener) -> Incoming {
        Incoming(listener)
    }

    impl tonic::codegen::tokio_stream::Stream for Incoming {
        type Item = std::io::Result<TcpStream>;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_accept(cx).map(|r| Some(r.map(|(s, _)| s)))
        }
    }
}
