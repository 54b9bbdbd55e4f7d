//! A key's own rate limit: `auth apikey create --rate N/SECS` stores it (and refuses what is
//! not one), and `auth serve` holds the key, and the access tokens minted from it, to that
//! quota alone on the API, named `key` in the `RateLimit` fields, while the subject's other
//! keys keep the default budget.
//!
//! No timing race: a key of two a minute readmits a request 30 s after its first, and these
//! requests take milliseconds; the test asserts that it ran well inside that window.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::http::{client, get, header, token_json};
use crate::server::{Server, create_key, create_key_with};
use crate::support::{run, temp_dir};

#[tokio::test]
async fn a_key_of_two_a_minute_gets_429_on_its_third_request_while_other_keys_are_served() {
    let data = temp_dir("serve-key-rate").join("data");
    let server = Server::start(&data, &[]);
    let (limited, limited_id) = create_key_with(&data, "alice", &[], &["--rate", "2/60"]);
    let (plain, _) = create_key(&data, "alice", &[]);
    let (larger, _) = create_key_with(&data, "alice", &[], &["--rate", "100/60"]);
    let http = client();
    let whoami = || server.at("/api/whoami");
    let started = Instant::now();

    for left in [1, 0] {
        let r = get(&http, whoami(), Some(&limited)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-policy"), r#""key";q=2;w=60"#);
        let fields = header(&r, "ratelimit");
        assert!(
            fields.starts_with(&format!(r#""key";r={left};t="#)),
            "{fields}"
        );
    }
    let r = get(&http, whoami(), Some(&limited)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = header(&r, "retry-after").parse().unwrap();
    assert!((1..=30).contains(&retry), "Retry-After {retry}");
    assert_eq!(header(&r, "ratelimit-policy"), r#""key";q=2;w=60"#);
    assert!(header(&r, "ratelimit").starts_with(r#""key";r=0;t="#));

    // At that moment: the same subject's key without --rate spends the default budget ...
    let r = get(&http, whoami(), Some(&plain)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "ratelimit-policy"), r#""60-per-60s";q=60;w=60"#);
    assert!(header(&r, "ratelimit").starts_with(r#""60-per-60s";r=59;"#));
    // ... and a key with a larger quota of its own is served past two.
    for _ in 0..3 {
        let r = get(&http, whoami(), Some(&larger)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "ratelimit-policy"), r#""key";q=100;w=60"#);
    }

    // An access token minted from the limited key spends the key's budget: it cannot be
    // used to get round it.
    let token = token_json(&http, &server, &limited_id, &limited).await;
    let token = token["access_token"].as_str().unwrap();
    let r = get(&http, whoami(), Some(token)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&r, "ratelimit").starts_with(r#""key";r=0;"#));

    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the test ran too slowly to tell a refusal from a replenished quota"
    );
}

#[test]
fn create_stores_the_rate_and_reports_it() {
    let data = temp_dir("apikey-rate");
    let d = data.to_str().unwrap();
    let create = |extra: &[&str]| {
        let mut args = vec!["--json", "apikey", "create", "--init", "--data", d];
        args.extend(["--subject", "alice"]);
        args.extend(extra);
        run(&args).expect(0).json()
    };
    let limited = create(&["--rate", "2/60"]);
    assert_eq!(
        limited["record"]["rate"],
        serde_json::json!({"requests": 2, "period_secs": 60, "burst": 2})
    );
    assert!(create(&[])["record"]["rate"].is_null());
    // For people: the key alone on standard output, the rate among the notes.
    let r = run(&[
        "apikey",
        "create",
        "--data",
        d,
        "--subject",
        "bob",
        "--rate",
        "5/1",
    ])
    .expect(0);
    assert!(r.stderr.contains("rate 5/1s"), "{}", r.stderr);
}

#[test]
fn a_malformed_rate_is_a_usage_error() {
    let data = temp_dir("apikey-bad-rate");
    let d = data.to_str().unwrap();
    for bad in ["2", "2-60", "0/60", "2/0", "2/60s", "x/60", "4000000000/1"] {
        let args = [
            "apikey",
            "create",
            "--init",
            "--data",
            d,
            "--subject",
            "a",
            "--rate",
            bad,
        ];
        let r = run(&args).expect(2);
        assert!(r.stderr.contains("--rate"), "{bad}: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "{bad}: a key was printed: {}",
            r.stdout
        );
        let mut json = vec!["--json"];
        json.extend(args);
        let v = run(&json).expect(2).json();
        assert_eq!(v["error"], "usage", "{bad}: {v}");
    }
    let r = run(&[
        "apikey",
        "create",
        "--init",
        "--data",
        d,
        "--subject",
        "a",
        "--rate",
        "2/60s",
    ]);
    assert!(r.stderr.contains("N/SECS"), "{}", r.stderr);
    // Nothing was created: the data directory was never opened.
    assert!(!data.join("keys.db").exists());
}
