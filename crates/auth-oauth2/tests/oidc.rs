//! OpenID Connect relying party against a wiremock provider on 127.0.0.1 (port 0) whose ID
//! tokens the test crafts: each rule of OpenID Connect Core §3.1.3.7 broken one at a time
//! and refused for that reason, beside the well-formed token that passes on the same setup;
//! refreshed ID tokens (same `sub`); UserInfo in JSON and signed form, with a foreign `sub`
//! refused.
#![cfg(feature = "aws-lc-rs")]
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use auth_core::{BoxHttpClient, Clock as _, ManualClock, Secret, SystemClock};
use auth_jwt::{Algorithm, SigningKey};
use auth_oauth2::{
    ClientAuth, Error, IdToken, IdTokenError, Metadata, OAuthClient, OAuthClientBuilder, TokenSet,
    UserInfoError, WellKnown,
};
use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT: &str = "client-1";
const ACCESS: &str = "AT-0123456789";
const CODE: &str = "code-0123456789";

fn http() -> BoxHttpClient {
    BoxHttpClient::new(auth_http::Client::new(auth_http::Config::default()).unwrap())
}

fn now() -> u64 {
    SystemClock.now().as_secs()
}

/// The provider: its signing key (published), and a key it does not publish.
struct Provider {
    server: MockServer,
    key: SigningKey,
}

fn b64(v: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
}

/// `at_hash`/`c_hash` for SHA-256 algorithms, computed here independently of the crate.
fn half_sha256(v: &str) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(v.as_bytes());
    b64(&d[..16])
}

impl Provider {
    async fn start() -> Self {
        let server = MockServer::start().await;
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid("k1");
        let es384 = SigningKey::generate(Algorithm::ES384)
            .unwrap()
            .with_kid("k384");
        let issuer = server.uri();
        let doc = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "id_token_signing_alg_values_supported": ["ES256", "RS256"],
            "userinfo_signing_alg_values_supported": ["ES256"],
        });
        Mock::given(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(doc))
            .mount(&server)
            .await;
        // The ES384 key is published, but ES384 is not advertised for ID tokens.
        let jwks = json!({"keys": [key.public_jwk().unwrap(), es384.public_jwk().unwrap()]});
        Mock::given(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .mount(&server)
            .await;
        Self { server, key }
    }

    fn issuer(&self) -> String {
        self.server.uri()
    }

    async fn builder(&self) -> OAuthClientBuilder {
        let m = Metadata::discover(
            &http(),
            &self.issuer(),
            WellKnown::OpenId,
            Default::default(),
        )
        .await
        .unwrap();
        OAuthClient::builder(CLIENT)
            .metadata(&m)
            .client_auth(ClientAuth::SecretBasic(Secret::new("client-secret")))
            .redirect_uri("http://127.0.0.1:9/cb")
            .scopes("openid profile")
            .http_client(http())
            .clock(Arc::new(ManualClock::new(SystemClock.now())))
    }

    /// Claims that pass every rule, for `nonce`.
    fn claims(&self, nonce: &str) -> Value {
        let t = now();
        json!({
            "iss": self.issuer(), "sub": "alice", "aud": CLIENT, "exp": t + 300, "iat": t,
            "auth_time": t - 10, "nonce": nonce, "at_hash": half_sha256(ACCESS),
            "c_hash": half_sha256(CODE), "name": "Alice",
        })
    }

    /// Answers the token endpoint with `id_token` (none when `None`).
    async fn token_response(&self, id_token: Option<String>) {
        let mut body = json!({
            "access_token": ACCESS, "token_type": "Bearer", "expires_in": 300,
            "refresh_token": "RT-0123456789",
        });
        if let Some(t) = id_token {
            body["id_token"] = json!(t);
        }
        self.server.reset().await;
        Self::remount(self).await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    async fn remount(&self) {
        let issuer = self.issuer();
        let doc = json!({
            "issuer": issuer, "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
        });
        Mock::given(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(doc))
            .mount(&self.server)
            .await;
        let jwks = json!({"keys": [self.key.public_jwk().unwrap()]});
        Mock::given(path("/jwks"))
            .respond_with(ResponseTemplate::new(200).set_body_json(jwks))
            .mount(&self.server)
            .await;
    }
}

/// Runs the code flow against `p`, the ID token made by `make` from the passing claims.
async fn login(
    p: &Provider,
    builder: OAuthClientBuilder,
    make: impl FnOnce(Value) -> Option<String>,
) -> Result<(TokenSet, IdToken<Value>), Error> {
    let client = builder.build().unwrap();
    let (url, pending) = client.authorization_request().unwrap().into_parts();
    let nonce = pending.nonce().unwrap().expose_str().unwrap().to_owned();
    assert!(url.contains(&format!("nonce={nonce}")), "{url}");
    p.token_response(make(p.claims(&nonce))).await;
    let callback = format!(
        "http://127.0.0.1:9/cb?code={CODE}&state={}",
        pending.state()
    );
    pending.finish_with_id_token(&client, &callback).await
}

/// The rule `change` breaks, as the error says.
async fn refused(change: impl FnOnce(&Provider, &mut Value)) -> IdTokenError {
    let p = Provider::start().await;
    let b = p.builder().await;
    let err = login(&p, b, |mut c| {
        change(&p, &mut c);
        Some(p.key.sign(&c).unwrap())
    })
    .await
    .unwrap_err();
    match err {
        Error::IdToken(e) => e,
        other => panic!("not an ID token refusal: {other:?}"),
    }
}

#[tokio::test]
async fn a_well_formed_id_token_is_accepted_and_typed() {
    let p = Provider::start().await;
    let b = p.builder().await;
    let (tokens, id) = login(&p, b, |c| Some(p.key.sign(&c).unwrap()))
        .await
        .unwrap();
    assert_eq!(tokens.access_token().expose_str().unwrap(), ACCESS);
    assert_eq!(id.subject(), "alice");
    assert_eq!(id.claims()["name"], "Alice");
    assert_eq!(id.algorithm(), Algorithm::ES256);
    assert_eq!(id.standard().audiences, [CLIENT]);
    // `finish` verifies it too (and drops it).
    let p = Provider::start().await;
    let client = p.builder().await.build().unwrap();
    let (_, pending) = client.authorization_request().unwrap().into_parts();
    let nonce = pending.nonce().unwrap().expose_str().unwrap().to_owned();
    p.token_response(Some(
        p.key.sign(&p.claims("another-nonce-0123456789")).unwrap(),
    ))
    .await;
    let cb = format!(
        "http://127.0.0.1:9/cb?code={CODE}&state={}",
        pending.state()
    );
    let e = pending.finish(&client, &cb).await.unwrap_err();
    assert!(matches!(e, Error::IdToken(IdTokenError::Nonce)), "{e:?}");
    assert_ne!(nonce, "another-nonce-0123456789");
}

#[tokio::test]
async fn each_broken_rule_is_refused_for_its_reason() {
    use IdTokenError as E;
    let later = now() + 3600;
    assert_eq!(
        refused(|p, c| c["iss"] = json!(format!("{}/", p.issuer()))).await,
        E::Issuer
    );
    assert_eq!(
        refused(|_, c| c["iss"] = json!("https://evil.example")).await,
        E::Issuer
    );
    assert_eq!(
        refused(|_, c| c["aud"] = json!("someone-else")).await,
        E::Audience
    );
    assert_eq!(
        refused(|_, c| c["aud"] = json!([CLIENT, "other"])).await,
        E::AuthorizedParty
    );
    assert_eq!(
        refused(|_, c| c["azp"] = json!("other")).await,
        E::AuthorizedParty
    );
    assert_eq!(
        refused(|_, c| c["exp"] = json!(now() - 120)).await,
        E::Expired
    );
    assert_eq!(refused(|_, c| c["iat"] = json!(later)).await, E::IssuedAt);
    assert_eq!(
        refused(|_, c| drop(c.as_object_mut().unwrap().remove("iat"))).await,
        E::MissingClaim("iat")
    );
    assert_eq!(
        refused(|_, c| c["nbf"] = json!(later)).await,
        E::NotYetValid
    );
    assert_eq!(
        refused(|_, c| c["nonce"] = json!("x".repeat(43))).await,
        E::Nonce
    );
    assert_eq!(
        refused(|_, c| drop(c.as_object_mut().unwrap().remove("nonce"))).await,
        E::Nonce
    );
    assert_eq!(
        refused(|_, c| c["at_hash"] = json!(half_sha256("other"))).await,
        E::AccessTokenHash
    );
    assert_eq!(
        refused(|_, c| c["c_hash"] = json!(half_sha256("other"))).await,
        E::CodeHash
    );
    assert_eq!(
        refused(|_, c| drop(c.as_object_mut().unwrap().remove("sub"))).await,
        E::MissingClaim("sub")
    );
}

#[tokio::test]
async fn several_audiences_pass_with_azp_and_hashes_are_optional() {
    let p = Provider::start().await;
    let b = p.builder().await;
    let (_, id) = login(&p, b, |mut c| {
        c["aud"] = json!([CLIENT, "other"]);
        c["azp"] = json!(CLIENT);
        let o = c.as_object_mut().unwrap();
        o.remove("at_hash");
        o.remove("c_hash");
        Some(p.key.sign(&c).unwrap())
    })
    .await
    .unwrap();
    assert_eq!(id.standard().authorized_party.as_deref(), Some(CLIENT));
}

#[tokio::test]
async fn signatures_and_algorithms() {
    // Signed by a key the provider does not publish, with the published kid.
    let p = Provider::start().await;
    let b = p.builder().await;
    let stranger = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_kid("k1");
    let e = login(&p, b, |c| Some(stranger.sign(&c).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::Signature)),
        "{e:?}"
    );
    // ES384 with a published key, but not advertised for ID tokens.
    let p = Provider::start().await;
    let b = p.builder().await;
    let es384 = SigningKey::generate(Algorithm::ES384)
        .unwrap()
        .with_kid("k384");
    let e = login(&p, b, |c| Some(es384.sign(&c).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::Algorithm(_))),
        "{e:?}"
    );
    // HS256 with the client secret: never.
    let p = Provider::start().await;
    let b = p.builder().await;
    let hs = SigningKey::hmac(&Secret::new(vec![b'k'; 32]), Algorithm::HS256).unwrap();
    let e = login(&p, b, |c| Some(hs.sign(&c).unwrap()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::Algorithm(ref a)) if a == "HS256"),
        "{e:?}"
    );
    // alg none.
    let p = Provider::start().await;
    let b = p.builder().await;
    let e = login(&p, b, |c| {
        Some(format!(
            "{}.{}.",
            b64(br#"{"alg":"none"}"#),
            b64(c.to_string().as_bytes())
        ))
    })
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::Algorithm(ref a)) if a == "none"),
        "{e:?}"
    );
    // No id_token at all.
    let p = Provider::start().await;
    let b = p.builder().await;
    let e = login(&p, b, |_| None).await.unwrap_err();
    assert!(matches!(e, Error::IdToken(IdTokenError::Missing)), "{e:?}");
    // HMAC cannot be allowed.
    let p = Provider::start().await;
    let e = p
        .builder()
        .await
        .id_token_algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("HMAC"), "{e}");
}

#[tokio::test]
async fn max_age_requires_a_recent_auth_time() {
    let max_age = Duration::from_secs(60);
    let p = Provider::start().await;
    let b = p.builder().await.max_age(max_age);
    login(&p, b, |c| Some(p.key.sign(&c).unwrap()))
        .await
        .unwrap();
    for stale in [json!(now() - 600), Value::Null] {
        let p = Provider::start().await;
        let b = p.builder().await.max_age(max_age);
        let e = login(&p, b, |mut c| {
            c["auth_time"] = stale;
            if c["auth_time"].is_null() {
                c.as_object_mut().unwrap().remove("auth_time");
            }
            Some(p.key.sign(&c).unwrap())
        })
        .await
        .unwrap_err();
        assert!(matches!(e, Error::IdToken(IdTokenError::AuthTime)), "{e:?}");
    }
    // The request carried max_age.
    let p = Provider::start().await;
    let client = p.builder().await.max_age(max_age).build().unwrap();
    assert!(
        client
            .authorization_request()
            .unwrap()
            .url()
            .contains("max_age=60")
    );
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_its_subject() {
    let p = Provider::start().await;
    let client = p.builder().await.build().unwrap();
    let (tokens, first) = login(&p, p.builder().await, |c| Some(p.key.sign(&c).unwrap()))
        .await
        .unwrap();
    let rt = tokens.refresh_token().unwrap().clone();
    // No nonce on refresh; the same sub passes.
    let mut c = p.claims("unused");
    c.as_object_mut().unwrap().remove("nonce");
    c.as_object_mut().unwrap().remove("c_hash");
    p.token_response(Some(p.key.sign(&c).unwrap())).await;
    let (_, again) = client
        .refresh_with_id_token::<Value, _>(&rt, &first)
        .await
        .unwrap();
    assert_eq!(again.unwrap().subject(), "alice");
    c["sub"] = json!("mallory");
    p.token_response(Some(p.key.sign(&c).unwrap())).await;
    let e = client
        .refresh_with_id_token::<Value, _>(&rt, &first)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::IdToken(IdTokenError::SubjectChanged)),
        "{e:?}"
    );
}

async fn userinfo_answers(p: &Provider, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path("/userinfo"))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {ACCESS}").as_str(),
        ))
        .respond_with(response)
        .mount(&p.server)
        .await;
}

#[tokio::test]
async fn userinfo_json_and_signed_with_the_id_tokens_subject_only() {
    let p = Provider::start().await;
    let client = p.builder().await.build().unwrap();
    let (tokens, id) = login(&p, p.builder().await, |c| Some(p.key.sign(&c).unwrap()))
        .await
        .unwrap();
    let json_body = |sub: &str| {
        ResponseTemplate::new(200).set_body_json(json!({"sub": sub, "email": "a@example.com"}))
    };
    userinfo_answers(&p, json_body("alice")).await;
    let info = client.userinfo::<Value, _>(&tokens, &id).await.unwrap();
    assert_eq!(info.claims()["email"], "a@example.com");
    assert_eq!(info.signed_with(), None);
    p.remount_with_tokens().await;
    userinfo_answers(&p, json_body("mallory")).await;
    let e = client.userinfo::<Value, _>(&tokens, &id).await.unwrap_err();
    assert!(
        matches!(e, Error::UserInfo(UserInfoError::SubjectMismatch)),
        "{e:?}"
    );
    // The signed form (ES256 advertised for UserInfo by the first metadata).
    let jwt = |sub: &str| {
        let t = p
            .key
            .sign(&json!({"sub": sub, "iss": p.issuer(), "aud": CLIENT}))
            .unwrap();
        ResponseTemplate::new(200).set_body_raw(t.into_bytes(), "application/jwt")
    };
    p.remount_with_tokens().await;
    userinfo_answers(&p, jwt("alice")).await;
    let info = client.userinfo::<Value, _>(&tokens, &id).await.unwrap();
    assert_eq!(info.signed_with(), Some(Algorithm::ES256));
    p.remount_with_tokens().await;
    userinfo_answers(&p, jwt("mallory")).await;
    let e = client.userinfo::<Value, _>(&tokens, &id).await.unwrap_err();
    assert!(
        matches!(e, Error::UserInfo(UserInfoError::SubjectMismatch)),
        "{e:?}"
    );
    // Nothing secret in what a log would show.
    for shown in [
        format!("{id:?}"),
        format!("{tokens:?}"),
        format!("{client:?}"),
    ] {
        assert!(!shown.contains(ACCESS), "{shown}");
        assert!(!shown.contains(id.raw().expose_str().unwrap()), "{shown}");
    }
}

impl Provider {
    async fn remount_with_tokens(&self) {
        self.server.reset().await;
        self.remount().await;
    }
}
