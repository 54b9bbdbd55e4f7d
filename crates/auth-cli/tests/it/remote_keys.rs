//! `auth jwt verify --jwks URL`: a key set fetched from a URL is public, so a symmetric key in
//! it is refused (whoever can read it could forge HMAC tokens), while the same server's public
//! keys verify.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::commands::{NOW, claims, key_and_token, verify};
use crate::support::temp_dir;

/// A loopback server publishing `doc` at `/jwks`; its URL.
async fn publish(server: &MockServer, at: &str, doc: &Value) -> String {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(server)
        .await;
    format!("{}{at}", server.uri())
}

#[tokio::test]
async fn a_fetched_key_set_never_yields_an_hmac_secret() {
    let dir = temp_dir("remote-keys");
    let server = MockServer::start().await;
    let now = NOW.to_string();

    // The positive twin: the public key of an ES256 pair, fetched, verifies its token.
    let (es_key, es_token) = key_and_token(&dir, "ES256", &claims());
    let es_public: Value = serde_json::from_str(
        &crate::support::run(&["jwk", "public", &es_key])
            .expect(0)
            .stdout,
    )
    .unwrap();
    let es_url = publish(&server, "/es.jwks", &es_public).await;
    verify(&es_token, &es_url, "ES256", &["--now", &now]).expect(0);

    // An HS256 secret published as a JWKS, alone or beside a public key, or as one JWK: the
    // token it signed verifies from a local file, and is refused from the URL.
    let (hs_key, hs_token) = key_and_token(&dir, "HS256", &claims());
    verify(&hs_token, &hs_key, "HS256", &["--now", &now]).expect(0);
    let secret: Value = serde_json::from_str(&std::fs::read_to_string(&hs_key).unwrap()).unwrap();
    let public = es_public["keys"][0].clone();
    for (at, doc) in [
        ("/oct.jwks", json!({"keys": [secret.clone()]})),
        ("/mixed.jwks", json!({"keys": [public, secret.clone()]})),
        ("/oct.jwk", secret.clone()),
    ] {
        let url = publish(&server, at, &doc).await;
        let r = verify(&hs_token, &url, "HS256", &["--now", &now]).expect(2);
        let message = r.json()["message"].as_str().unwrap_or_default().to_owned();
        assert!(
            message.contains("symmetric (oct) key") && message.contains("public"),
            "{at}: {}",
            r.stdout
        );
        assert!(
            !r.stdout.contains(secret["k"].as_str().unwrap()),
            "{}",
            r.stdout
        );
    }
}
