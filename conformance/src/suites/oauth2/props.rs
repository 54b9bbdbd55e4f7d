//! Properties: no parser in auth-oauth2 panics on any input, and nothing a server sends makes
//! a client hand out a token it should not.

use auth_core::{HttpError, HttpRequest, HttpResponse};
use proptest::prelude::*;

use super::*;
use crate::harness::check;

fn closure_client(status: u16, body: Vec<u8>) -> Result<OAuthClient, String> {
    let http = move |_req: HttpRequest| {
        let mut r = HttpResponse::new(body.clone());
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
        async move { Ok::<_, HttpError>(r) }
    };
    OAuthClient::builder("c")
        .token_endpoint("https://as.example/token")
        .authorization_endpoint("https://as.example/authorize")
        .redirect_uri("https://client.example/cb")
        .issuer("https://as.example")
        .iss_parameter_supported(true)
        .client_auth(ClientAuth::SecretBasic(Secret::new("s")))
        .http_client(Arc::new(http))
        .build()
        .map_err(|e| e.to_string())
}

/// JSON-ish bodies: arbitrary bytes, and objects built from token response members.
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let member = prop_oneof![
        Just("\"access_token\":\"AT\"".to_owned()),
        Just("\"token_type\":\"Bearer\"".to_owned()),
        Just("\"token_type\":\"mac\"".to_owned()),
        any::<i64>().prop_map(|n| format!("\"expires_in\":{n}")),
        "[a-z0-9 ]{0,8}".prop_map(|s| format!("\"expires_in\":\"{s}\"")),
        Just("\"scope\":[\"a\",1]".to_owned()),
        Just("\"refresh_token\":\"\"".to_owned()),
        "[ -~]{0,12}".prop_map(|s| format!("\"access_token\":{s:?}")),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(member, 0..6)
            .prop_map(|m| format!("{{{}}}", m.join(",")).into_bytes()),
    ]
}

pub(super) fn cases(s: &mut Suite) {
    s.case(
        "no panic on any token response; only well-formed Bearer responses give a token",
        "RFC 6749 §5.1, design: no panics",
        || {
            check(
                200,
                (
                    prop_oneof![Just(200u16), Just(400), Just(401), Just(500)],
                    bodies(),
                ),
                |(status, body)| {
                    let client =
                        closure_client(status, body.clone()).map_err(TestCaseError::fail)?;
                    let got = block_on(client.client_credentials());
                    if let Ok(t) = &got {
                        let text = String::from_utf8_lossy(&body);
                        prop_assert!(status == 200, "a token from http {status}");
                        prop_assert!(
                            text.to_ascii_lowercase()
                                .contains("\"token_type\":\"bearer\""),
                            "token from {text}"
                        );
                        prop_assert!(!t.access_token().is_empty());
                    }
                    Ok(())
                },
            )
        },
    );

    s.case(
        "no panic on any callback, PKCE verifier or metadata document",
        "design: no panics",
        || {
            check(
                200,
                ("[ -~]{0,80}", proptest::collection::vec(any::<u8>(), 0..80)),
                |(text, bytes)| {
                    let _ = Pkce::from_verifier(&text);
                    let _ = Metadata::from_json("https://as.example", &bytes);
                    let client = closure_client(200, Vec::new()).map_err(TestCaseError::fail)?;
                    for callback in [text.clone(), format!("https://client.example/cb?{text}")] {
                        let pending = client
                            .authorization_request()
                            .map_err(|e| TestCaseError::fail(e.to_string()))?
                            .pending();
                        // A random callback never carries our 256-bit state: always refused.
                        prop_assert!(block_on(pending.finish(&client, &callback)).is_err());
                    }
                    Ok(())
                },
            )
        },
    );
}
