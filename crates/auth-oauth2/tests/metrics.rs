//! With the `metrics` feature, each token refresh is counted through the `metrics` facade
//! (`auth_token_refreshes_total{outcome}`), read here by a local debugging recorder.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use auth_core::{HttpError, HttpRequest, HttpResponse, Secret};
use auth_oauth2::{ClientAuth, OAuthClient, TokenSource};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

/// A source whose endpoint answers `body`.
fn source(body: &'static str, status: u16) -> TokenSource {
    let http = move |_req: HttpRequest| async move {
        let mut response = HttpResponse::new(body.as_bytes().to_vec());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok::<_, HttpError>(response)
    };
    let client = OAuthClient::builder("c")
        .token_endpoint("https://as.example/token")
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .http_client(Arc::new(http))
        .build()
        .unwrap();
    TokenSource::client_credentials(client).build()
}

#[test]
fn refreshes_are_counted_by_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ok = source(
            r#"{"access_token":"AT","token_type":"Bearer","expires_in":600}"#,
            200,
        );
        assert!(rt.block_on(ok.get()).is_ok());
        let refused = source(r#"{"error":"invalid_client"}"#, 401);
        assert!(rt.block_on(refused.get()).is_err());
    });
    let counts: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let labels: Vec<String> = key
                    .key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), n))
            }
            _ => None,
        })
        .collect();
    assert!(
        counts.contains(&("auth_token_refreshes_total{outcome=ok}".into(), 1)),
        "{counts:?}"
    );
    assert!(
        counts.contains(&("auth_token_refreshes_total{outcome=error}".into(), 1)),
        "{counts:?}"
    );
}
