//! `auth jwt sign`'s inputs: times a NumericDate cannot sensibly hold, duplicate members
//! (refused by `sign`, named by `decode`), and an HMAC secret from the environment.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;

use crate::commands::{NOW, claims, verify};
use crate::support::{run, run_with, temp_dir, write};

#[test]
fn sign_refuses_absurd_times_and_duplicate_claims() {
    let dir = temp_dir("sign-absurd");
    let jwk = run(&["jwk", "generate", "--alg", "HS256"]).expect(0).stdout;
    let key = write(&dir, "k.jwk", &jwk);
    let sign = |claims: &str, extra: &[&str]| {
        let mut args = vec![
            "jwt", "sign", "--key", &key, "--alg", "HS256", "--claims", claims,
        ];
        args.extend(extra);
        run(&args)
    };
    let r = sign("{}", &["--exp-in", "18446744073709551615"]).expect(2);
    assert!(r.stderr.contains("9999-12-31T23:59:59Z"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    // The bound itself is year 9999; a century is fine.
    sign("{}", &["--exp-in", "3155760000"]).expect(0);
    sign(r#"{"exp":253402300800}"#, &[]).expect(2);
    sign(r#"{"nbf":-1}"#, &[]).expect(2);
    sign(r#"{"iat":"yesterday"}"#, &[]).expect(2);
    sign(r#"{"exp":253402300799}"#, &[]).expect(0);
    // Duplicate members: refused, named.
    let r = sign(r#"{"sub":"a","sub":"b"}"#, &[]).expect(2);
    assert!(
        r.stderr.contains("duplicate") && r.stderr.contains("sub"),
        "{}",
        r.stderr
    );
    sign(r#"{"a":{"x":1,"\u0078":2}}"#, &[]).expect(2);
}

#[test]
fn decode_reports_duplicate_members() {
    // A token made elsewhere: {"alg":"HS256"}.{"sub":"a","sub":"b"}.sig
    let token = format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(br#"{"sub":"a","sub":"b"}"#)
    );
    let v = run(&["--json", "jwt", "decode", &token]).expect(0).json();
    assert_eq!(v["duplicate_members"], json!(["claims.sub"]));
    let r = run(&["jwt", "decode", &token]).expect(0);
    assert!(
        r.stdout.contains("DUPLICATE MEMBERS: claims.sub"),
        "{}",
        r.stdout
    );
    let v = run(&["--json", "jwt", "decode", &key_free_token()])
        .expect(0)
        .json();
    assert_eq!(v["duplicate_members"], json!([]));
}

fn key_free_token() -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(br#"{"sub":"a"}"#)
    )
}

#[test]
fn sign_with_an_hmac_secret_from_the_environment() {
    let dir = temp_dir("sign-key-env");
    let secret = "correct horse battery staple, 32+ bytes of it";
    let sign = |alg: &str, env: &[(&str, &str)]| {
        run_with(
            &[
                "jwt",
                "sign",
                "--key-env",
                "JWT_SECRET",
                "--alg",
                alg,
                "--claims",
                &claims().to_string(),
            ],
            None,
            env,
        )
    };
    let token = sign("HS256", &[("JWT_SECRET", secret)]).expect(0).stdout;
    // The same secret as an oct JWK verifies it.
    let jwk = json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode(secret)});
    let key = write(&dir, "oct.jwk", &jwk.to_string());
    let now = NOW.to_string();
    verify(token.trim(), &key, "HS256", &["--now", &now]).expect(0);
    // VAR_FILE names a file.
    let file = write(&dir, "secret", secret);
    let from_file = sign("HS256", &[("JWT_SECRET_FILE", &file)])
        .expect(0)
        .stdout;
    assert_eq!(from_file, token);
    // Too short for HS512, not an HMAC algorithm, unset, or both sources: exit 2, no secret shown.
    let r = sign("HS512", &[("JWT_SECRET", secret)]).expect(2);
    assert!(!r.stderr.contains(secret), "{}", r.stderr);
    sign("ES256", &[("JWT_SECRET", secret)]).expect(2);
    sign("HS256", &[]).expect(2);
    run(&[
        "jwt",
        "sign",
        "--key",
        &key,
        "--key-env",
        "X",
        "--alg",
        "HS256",
        "--claims",
        "{}",
    ])
    .expect(2);
    run(&["jwt", "sign", "--alg", "HS256", "--claims", "{}"]).expect(2);
}
