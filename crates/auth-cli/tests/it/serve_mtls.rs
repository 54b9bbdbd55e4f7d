//! `auth serve --tls-client-ca`: certificate-bound access tokens (RFC 8705). A token
//! requested over a connection with a client certificate is bound to it (`cnf.x5t#S256`)
//! and accepted only on connections that present that certificate; a token requested
//! without one stays a plain bearer token.

use reqwest::StatusCode;
use serde_json::Value;

use crate::http::header;
use crate::server::{Server, create_key};
use crate::support::{openssl, temp_dir, write};

/// A client certificate `name.pem` (key `name.key`) issued by the test CA in `dir`.
fn client_certificate(dir: &std::path::Path, name: &str) -> reqwest::Identity {
    let openssl = |args: &[&str]| openssl(dir, args);
    let (key, csr, pem) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
    );
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        &format!("/CN={name}"),
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    write(dir, "client.ext", "extendedKeyUsage=clientAuth\n");
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "client.ext",
        "-out",
        &pem,
    ]);
    let mut both = std::fs::read(dir.join(&pem)).unwrap();
    both.extend(std::fs::read(dir.join(&key)).unwrap());
    reqwest::Identity::from_pem(&both).unwrap()
}

fn https(ca: &std::path::Path, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let root = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    let mut builder = reqwest::Client::builder().add_root_certificate(root);
    if let Some(identity) = identity {
        builder = builder.identity(identity);
    }
    builder.build().unwrap()
}

async fn token(http: &reqwest::Client, server: &Server, id: &str, key: &str) -> String {
    let body: Value = http
        .post(server.at("/oauth/token"))
        .basic_auth(id, Some(key))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn whoami(http: &reqwest::Client, server: &Server, token: &str) -> reqwest::Response {
    http.get(server.at("/api/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn cnf(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["cnf"].clone()
}

#[tokio::test]
async fn certificate_bound_tokens_work_only_with_their_certificate() {
    let dir = temp_dir("serve-mtls");
    let (ca, cert, key) = crate::serve_tls::make_certificates(&dir);
    let data = dir.join("data");
    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--tls-client-ca",
            ca.to_str().unwrap(),
        ],
    );
    let (api_key, id) = create_key(&data, "erin", &["read"]);
    let alice = https(&ca, Some(client_certificate(&dir, "alice")));
    let bob = https(&ca, Some(client_certificate(&dir, "bob")));
    let anonymous = https(&ca, None);

    // Requested with alice's certificate: bound to it.
    let bound = token(&alice, &server, &id, &api_key).await;
    let x5t = cnf(&bound)["x5t#S256"].as_str().unwrap().to_owned();
    assert_eq!(x5t.len(), 43, "a base64url SHA-256: {x5t}");
    assert_eq!(
        whoami(&alice, &server, &bound).await.status(),
        StatusCode::OK
    );
    for other in [&bob, &anonymous] {
        let r = whoami(other, &server, &bound).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(header(&r, "www-authenticate").contains("invalid_token"));
    }

    // Requested without a certificate: a bearer token, good on any connection.
    let plain = token(&anonymous, &server, &id, &api_key).await;
    assert!(cnf(&plain).is_null());
    for client in [&alice, &bob, &anonymous] {
        assert_eq!(
            whoami(client, &server, &plain).await.status(),
            StatusCode::OK
        );
    }
}
