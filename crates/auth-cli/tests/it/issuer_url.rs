//! `auth jwt verify --issuer-url`: the keys of each issuer found by discovery on loopback
//! issuers, the token's `iss` picking the issuer, and another issuer's key refused.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::commands::NOW;
use crate::support::{run, temp_dir, write};

/// A loopback issuer whose metadata and JWKS publish the public half of `key` (a JWK file).
pub(crate) async fn issuer(key: &str) -> MockServer {
    let server = MockServer::start().await;
    let public: Value =
        serde_json::from_str(&run(&["jwk", "public", key]).expect(0).stdout).unwrap();
    let doc = json!({"issuer": server.uri(), "jwks_uri": format!("{}/jwks", server.uri())});
    for (at, body) in [
        ("/.well-known/openid-configuration", doc),
        ("/jwks", public),
    ] {
        Mock::given(method("GET"))
            .and(path(at))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

fn sign(key: &str, iss: &str) -> String {
    let claims = json!({"iss": iss, "aud": "api", "sub": "alice", "exp": NOW + 600});
    let args = ["jwt", "sign", "--key", key, "--alg", "ES256", "--kid", "k1"];
    let mut args = args.to_vec();
    let claims = claims.to_string();
    args.extend(["--claims", &claims]);
    run(&args).expect(0).stdout.trim().to_owned()
}

#[tokio::test]
async fn tokens_of_two_discovered_issuers_verify_and_a_crossed_key_does_not() {
    let dir = temp_dir("issuer-url");
    let generate = |name: &str| {
        let jwk = run(&["jwk", "generate", "--alg", "ES256", "--kid", "k1"])
            .expect(0)
            .stdout;
        write(&dir, name, &jwk)
    };
    let (key_a, key_b) = (generate("a.jwk"), generate("b.jwk"));
    let (a, b) = (issuer(&key_a).await, issuer(&key_b).await);
    let (ia, ib) = (a.uri(), b.uri());
    let now = NOW.to_string();
    let verify = |token: &str| {
        run(&[
            "--json",
            "jwt",
            "verify",
            token,
            "--issuer-url",
            &ia,
            "--issuer-url",
            &ib,
            "--aud",
            "api",
            "--alg",
            "ES256",
            "--now",
            &now,
        ])
    };
    for (key, iss) in [(&key_a, &ia), (&key_b, &ib)] {
        let r = verify(&sign(key, iss)).expect(0);
        assert_eq!(r.json()["claims"]["iss"], iss.as_str());
    }
    // Names A, signed with B's key (the same kid): refused by A's keys.
    let crossed = verify(&sign(&key_b, &ia)).expect(1);
    assert_eq!(
        crossed.json()["reason"],
        "bad_signature",
        "{}",
        crossed.stdout
    );
    // An issuer outside the set: refused as such.
    let other = verify(&sign(&key_a, "https://other.example")).expect(1);
    assert_eq!(other.json()["reason"], "wrong_issuer", "{}", other.stdout);
}
