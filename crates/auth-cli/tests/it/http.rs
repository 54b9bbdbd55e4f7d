//! HTTP helpers for the `auth serve` tests: a client, GETs with a Bearer credential, the
//! client credentials grant, headers.

use serde_json::Value;

use crate::server::Server;

/// A plain HTTP client.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// GETs `url`, with a Bearer credential if given.
pub(crate) async fn get(
    http: &reqwest::Client,
    url: String,
    bearer: Option<&str>,
) -> reqwest::Response {
    let request = http.get(url);
    let request = match bearer {
        Some(credential) => request.bearer_auth(credential),
        None => request,
    };
    request.send().await.unwrap()
}

/// GETs `url` and reads its JSON.
pub(crate) async fn get_json(http: &reqwest::Client, url: String) -> Value {
    get(http, url, None).await.json().await.unwrap()
}

/// `POST /oauth/token` with `client_secret_basic` and no scope.
pub(crate) async fn client_credentials(
    http: &reqwest::Client,
    server: &Server,
    id: &str,
    key: &str,
) -> reqwest::Response {
    http.post(server.at("/oauth/token"))
        .basic_auth(id, Some(key))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

/// [`client_credentials`]'s token response, read as JSON.
pub(crate) async fn token_json(
    http: &reqwest::Client,
    server: &Server,
    id: &str,
    key: &str,
) -> Value {
    client_credentials(http, server, id, key)
        .await
        .json()
        .await
        .unwrap()
}

/// Header `name` of `r`, which must be there.
pub(crate) fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {:?}", r.headers()))
        .to_str()
        .unwrap()
}

/// `auth --json oauth2 token` from `issuer` as client `id` with `secret` (in the environment),
/// with `extra` arguments and environment variables.
pub(crate) fn oauth2_token(
    issuer: &str,
    id: &str,
    secret: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> crate::support::Run {
    let mut args = vec!["--json", "oauth2", "token", "--issuer", issuer];
    args.extend(["--client-id", id, "--client-secret-env", "CLIENT_SECRET"]);
    args.extend(extra);
    let mut env = env.to_vec();
    env.push(("CLIENT_SECRET", secret));
    crate::support::run_with(&args, None, &env)
}

/// The access token [`client_credentials`] gets.
pub(crate) async fn access_token(
    http: &reqwest::Client,
    server: &Server,
    id: &str,
    key: &str,
) -> String {
    token_json(http, server, id, key).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}
