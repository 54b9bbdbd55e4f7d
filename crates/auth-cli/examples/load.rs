//! A client of `auth serve`: fetches a token by client credentials, then measures
//! `GET /api/whoami` with the API key and with the JWT, beside `GET /healthz` (no
//! authentication: the floor), in requests per second and latencies.
//!
//! ```sh
//! auth serve --data ./d --config big-quota.json &       # {"rate_limit": {"requests": 1000000, "period_secs": 1}}
//! KEY=$(auth --json apikey create --data ./d --subject load | jq -r .key)
//! AUTH_URL=http://127.0.0.1:8080 AUTH_KEY=$KEY cargo run --release -p auth-cli --example load
//! ```
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

const TASKS: usize = 32;
const PER_TASK: usize = 500;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("AUTH_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let key = std::env::var("AUTH_KEY").map_err(|_| "set AUTH_KEY to an API key")?;
    let client_id = key
        .get(key.len() - 36..key.len() - 28)
        .ok_or("AUTH_KEY is not an API key")?
        .to_owned();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!("{url}/oauth/token"))
        .basic_auth(&client_id, Some(&key))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    let jwt = token["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned();
    let cases = [
        ("healthz (floor)", "/healthz", None),
        ("api key", "/api/whoami", Some(key.clone())),
        ("jwt", "/api/whoami", Some(jwt)),
    ];
    for (name, path, credential) in cases {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..TASKS {
            let (http, target, credential) =
                (http.clone(), format!("{url}{path}"), credential.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(PER_TASK);
                for _ in 0..PER_TASK {
                    let t = Instant::now();
                    let request = http.get(&target);
                    let request = match &credential {
                        Some(c) => request.bearer_auth(c),
                        None => request,
                    };
                    let r = request.send().await.map_err(|e| e.to_string())?;
                    if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                        return Err(format!(
                            "{target}: 429: the server's rate limit is below this load; \
                             start it with a larger quota (see this example's doc comment)"
                        ));
                    }
                    if !r.status().is_success() {
                        return Err(format!("{target}: {}", r.status()));
                    }
                    r.bytes().await.map_err(|e| e.to_string())?;
                    latencies.push(t.elapsed());
                }
                Ok(latencies)
            }));
        }
        let mut all: Vec<Duration> = Vec::new();
        for task in tasks {
            all.extend(task.await??);
        }
        let elapsed = started.elapsed();
        all.sort();
        let pct = |p: usize| all[(all.len() * p / 100).min(all.len() - 1)];
        println!(
            "{name}: {} requests in {elapsed:.2?}: {:.0} req/s, p50 {:.2?}, p99 {:.2?}",
            all.len(),
            all.len() as f64 / elapsed.as_secs_f64(),
            pct(50),
            pct(99)
        );
    }
    Ok(())
}
