//! `auth serve` over HTTPS (rustls), and the CLI as a client of an HTTPS issuer whose CA the
//! system does not know.

use serde_json::Value;

use crate::http::{client, get_json, oauth2_token};
use crate::server::{Server, create_key};
use crate::support::{run, temp_dir, write};

#[tokio::test]
async fn https_with_rustls() {
    let dir = temp_dir("serve-tls");
    let (ca, cert, key) = make_certificates(&dir);
    let server = Server::start(
        &dir.join("data"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let root = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let https = reqwest::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let meta: Value = get_json(&https, server.at("/.well-known/oauth-authorization-server")).await;
    assert_eq!(meta["issuer"], server.url);
    // Plain HTTP to the TLS port gets nothing useful.
    let plain = server.url.replace("https://", "http://");
    assert!(
        client()
            .get(format!("{plain}/healthz"))
            .send()
            .await
            .is_err()
    );
}

/// The CLI as a client of an HTTPS issuer whose CA the system does not know: the error says
/// why (the certificate), and `SSL_CERT_FILE` or `--cacert` trusts the CA.
#[test]
fn an_unknown_ca_is_named_and_ssl_cert_file_trusts_one() {
    let dir = temp_dir("serve-tls-client");
    let (ca, cert, key) = make_certificates(&dir);
    let data = dir.join("data");
    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let (secret, id) = create_key(&data, "dave", &[]);
    let v = oauth2_token(&server.url, &id, &secret, &[], &[])
        .expect(2)
        .json();
    let message = v["message"].as_str().unwrap();
    assert!(
        message.contains("certificate") && message.contains("UnknownIssuer"),
        "{message}"
    );
    assert!(!message.contains(&secret));
    let trust = [("SSL_CERT_FILE", ca.to_str().unwrap())];
    let v = oauth2_token(&server.url, &id, &secret, &[], &trust)
        .expect(0)
        .json();
    assert!(v["access_token"].is_string(), "{v}");
    // --cacert trusts it for this command alone; a file that is no certificate is exit 2.
    let v = oauth2_token(
        &server.url,
        &id,
        &secret,
        &["--cacert", ca.to_str().unwrap()],
        &[],
    )
    .expect(0)
    .json();
    assert!(v["access_token"].is_string(), "{v}");
    let not_pem = write(&dir, "not.pem", "not a certificate");
    let v = oauth2_token(&server.url, &id, &secret, &["--cacert", &not_pem], &[])
        .expect(2)
        .json();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("no CERTIFICATE block"),
        "{v}"
    );
}

#[test]
fn refuses_plain_http_off_loopback_and_bad_settings() {
    let dir = temp_dir("serve-refusals");
    let data = dir.join("data");
    let data = data.to_str().unwrap();
    let r = run(&["serve", "--listen", "0.0.0.0:0", "--data", data]).expect(2);
    assert!(r.stderr.contains("--insecure-http"), "{}", r.stderr);
    let bad = write(&dir, "bad.json", r#"{"token_ttl": 5}"#);
    run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--config",
        &bad,
    ])
    .expect(2);
    let missing = dir.join("nope.pem");
    let missing = missing.to_str().unwrap();
    run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--tls-cert",
        missing,
        "--tls-key",
        missing,
    ])
    .expect(2);
    run(&["serve", "--tls-cert", missing]).expect(2);
    // A busy port is exit 2, and does not spend the one showing of the admin key.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let fresh = dir.join("fresh");
    run(&[
        "serve",
        "--listen",
        &busy,
        "--data",
        fresh.to_str().unwrap(),
    ])
    .expect(2);
    assert!(Server::start(&fresh, &[]).admin_key.is_some());
}

/// A CA and a leaf certificate for localhost and 127.0.0.1 signed by it, with openssl.
pub(crate) fn make_certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let openssl = |args: &[&str]| crate::support::openssl(dir, args);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-subj",
                "/CN=test CA",
                "-days",
                "1",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "leaf.csr",
            ],
        ]
        .concat(),
    );
    write(
        dir,
        "san.ext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "cert.pem",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}
