//! The offline commands: jwt, jwk, apikey, pkce.

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::support::{run, run_with, temp_dir, write};

const ISS: &str = "https://issuer.example";
pub(crate) const NOW: u64 = 1_700_000_000;

/// A private JWK for `alg` in `dir`, and the token it signs for `claims`.
pub(crate) fn key_and_token(dir: &std::path::Path, alg: &str, claims: &Value) -> (String, String) {
    let jwk = run(&["jwk", "generate", "--alg", alg]).expect(0).stdout;
    let key = write(dir, &format!("{alg}.jwk"), &jwk);
    let token = run(&[
        "jwt",
        "sign",
        "--key",
        &key,
        "--alg",
        alg,
        "--claims",
        &claims.to_string(),
    ])
    .expect(0)
    .stdout;
    (key, token.trim().to_owned())
}

pub(crate) fn claims() -> Value {
    json!({"iss": ISS, "aud": "api", "sub": "alice", "scope": "read write", "iat": NOW, "exp": NOW + 3540})
}

pub(crate) fn verify(token: &str, keys: &str, alg: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec![
        "--json", "jwt", "verify", token, "--jwks", keys, "--alg", alg,
    ];
    args.extend(["--iss", ISS, "--aud", "api"]);
    args.extend(extra);
    run(&args)
}

#[test]
fn help_for_every_command() {
    let commands: &[&[&str]] = &[
        &[],
        &["jwt"],
        &["jwt", "decode"],
        &["jwt", "verify"],
        &["jwt", "sign"],
        &["jwk", "generate"],
        &["jwk", "public"],
        &["jwk", "thumbprint"],
        &["apikey", "generate"],
        &["apikey", "check"],
        &["apikey", "create"],
        &["apikey", "revoke"],
        &["apikey", "rotate"],
        &["pkce"],
        &["oauth2"],
        &["oauth2", "token"],
        &["oauth2", "introspect"],
        &["oauth2", "login"],
        &["oauth2", "device"],
        &["oauth2", "refresh"],
        &["oauth2", "revoke"],
        &["completions"],
        &["dpop"],
        &["dpop", "proof"],
        &["serve"],
    ];
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let r = run(&args).expect(0);
        assert!(
            r.stdout.contains("Usage: auth"),
            "{command:?}: {}",
            r.stdout
        );
    }
    assert!(run(&["--help"]).stdout.contains("Exit codes"));
    // A usage error is exit 2.
    run(&["jwt", "frobnicate"]).expect(2);
}

#[test]
fn sign_then_verify_each_family() {
    let dir = temp_dir("families");
    for alg in ["ES256", "ES384", "EdDSA", "HS256", "HS512"] {
        let (key, token) = key_and_token(&dir, alg, &claims());
        let now = NOW.to_string();
        // The private JWK itself works as the key source.
        let v = verify(&token, &key, alg, &["--now", &now]).expect(0).json();
        assert_eq!(v["valid"], true, "{alg}");
        assert_eq!(v["subject"], "alice");
        assert_eq!(v["scopes"], json!(["read", "write"]));
        if alg.starts_with("HS") {
            run(&["jwk", "public", &key]).expect(2);
            continue;
        }
        // So does its public JWKS.
        let public = run(&["jwk", "public", &key]).expect(0).stdout;
        assert!(!public.contains("\"d\""), "{public}");
        let jwks = write(&dir, &format!("{alg}.jwks"), &public);
        verify(&token, &jwks, alg, &["--now", &now]).expect(0);
    }
}

#[test]
fn rejections_are_exit_1_with_a_reason() {
    let dir = temp_dir("rejections");
    let (key, token) = key_and_token(&dir, "ES256", &claims());
    let (other, _) = key_and_token(&temp_dir("rejections-other"), "ES256", &claims());
    let now = NOW.to_string();
    // Past exp plus the default leeway of 30 s.
    let late = (NOW + 3540 + 31).to_string();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--now", &late], "ES256", "expired"),
        (
            vec!["--now", &now, "--typ", "at+jwt"],
            "ES256",
            "wrong_type",
        ),
    ];
    for (extra, alg, reason) in cases {
        let v = verify(&token, &key, alg, &extra).expect(1).json();
        assert_eq!(v["reason"], reason, "{v}");
        assert_eq!(v["valid"], false);
    }
    // A token in an algorithm that is not allowed.
    let (_, ed_token) = key_and_token(&dir, "EdDSA", &claims());
    let v = verify(&ed_token, &key, "ES256", &["--now", &now])
        .expect(1)
        .json();
    assert_eq!(v["reason"], "algorithm_not_allowed");
    // An allow-list that no key fits is a configuration error.
    verify(&token, &key, "EdDSA", &["--now", &now]).expect(2);
    // The default leeway is the 30 s that --help says: 29 s after exp passes.
    let within = (NOW + 3540 + 29).to_string();
    verify(&token, &key, "ES256", &["--now", &within]).expect(0);
    let help = run(&["jwt", "verify", "--help"]).expect(0).stdout;
    assert!(help.contains("default 30"), "{help}");
    // The leeway admits a token just expired.
    let just = (NOW + 3550).to_string();
    verify(&token, &key, "ES256", &["--now", &just, "--leeway", "30"]).expect(0);
    // With no leeway, exp == now is expired.
    let at_exp = (NOW + 3540).to_string();
    verify(&token, &key, "ES256", &["--now", &at_exp, "--leeway", "0"]).expect(1);
    // Another key: refused by kid.
    let v = verify(&token, &other, "ES256", &["--now", &now])
        .expect(1)
        .json();
    assert_eq!(v["reason"], "unknown_key");
    // Wrong audience and issuer.
    let r = run(&[
        "--json", "jwt", "verify", &token, "--jwks", &key, "--alg", "ES256", "--iss", ISS, "--aud",
        "other", "--now", &now,
    ]);
    assert_eq!(r.expect(1).json()["reason"], "wrong_audience");
    // A forged signature.
    let mut forged = token.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let v = verify(&forged, &key, "ES256", &["--now", &now])
        .expect(1)
        .json();
    assert_eq!(v["reason"], "bad_signature");
    // Garbage.
    assert_eq!(
        verify("abc", &key, "ES256", &[]).expect(1).json()["reason"],
        "malformed"
    );
    // Human mode: the reason on standard error.
    let r = run(&[
        "jwt", "verify", &token, "--jwks", &key, "--alg", "ES256", "--iss", ISS, "--aud", "api",
        "--now", &late,
    ])
    .expect(1);
    assert!(r.stderr.contains("(expired)"), "{}", r.stderr);
}

#[test]
fn configuration_errors_are_exit_2() {
    let dir = temp_dir("config");
    let (key, token) = key_and_token(&dir, "ES256", &claims());
    verify(&token, "/nonexistent/jwks.json", "ES256", &[]).expect(2);
    verify(&token, &key, "none", &[]).expect(2);
    verify(&token, &key, "es256", &[]).expect(2);
    let junk = write(&dir, "junk", "not a key");
    verify(&token, &junk, "ES256", &[]).expect(2);
    // Nothing listens on port 9 of loopback.
    verify(&token, "http://127.0.0.1:9/jwks.json", "ES256", &[]).expect(2);
    run(&["jwt", "verify", &token, "--jwks", &key, "--alg", "ES256"]).expect(2);
    run(&[
        "jwt", "sign", "--key", &key, "--alg", "ES256", "--claims", "[1]",
    ])
    .expect(2);
    run(&[
        "jwt", "sign", "--key", &key, "--alg", "EdDSA", "--claims", "{}",
    ])
    .expect(2);
    run(&["jwk", "generate", "--alg", "ES999"]).expect(2);
}

#[test]
fn decode_labels_unverified_and_dates_times() {
    let dir = temp_dir("decode");
    let (_, token) = key_and_token(&dir, "EdDSA", &claims());
    let now = NOW.to_string();
    let r = run(&["jwt", "decode", &token, "--now", &now]).expect(0);
    assert!(r.stdout.starts_with("UNVERIFIED"), "{}", r.stdout);
    assert!(r.stdout.contains("header (unverified)"));
    assert!(
        r.stdout
            .contains("exp: 2023-11-14T23:12:20Z (expires in 59m)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("iat: 2023-11-14T22:13:20Z (issued 0s ago)")
    );
    // `-` reads standard input; --json for scripts.
    let v = run_with(
        &["--json", "jwt", "decode", "-", "--now", &now],
        Some(&token),
        &[],
    )
    .expect(0)
    .json();
    assert_eq!(v["verified"], false);
    assert_eq!(v["header"]["alg"], "EdDSA");
    assert_eq!(v["claims"]["sub"], "alice");
    assert_eq!(v["times"]["exp"]["relative"], "expires in 59m");
    let v = run(&["--json", "jwt", "decode", "a.b"]).expect(1).json();
    assert_eq!(v["reason"], "malformed");
}

#[test]
fn exp_in_sets_exp_and_iat() {
    let dir = temp_dir("exp-in");
    let jwk = run(&["jwk", "generate", "--alg", "ES256", "--kid", "k1"])
        .expect(0)
        .stdout;
    let key = write(&dir, "k.jwk", &jwk);
    let v = run(&[
        "--json",
        "jwt",
        "sign",
        "--key",
        &key,
        "--alg",
        "ES256",
        "--claims",
        r#"{"sub":"x"}"#,
        "--exp-in",
        "600",
    ])
    .expect(0)
    .json();
    assert_eq!(v["kid"], "k1");
    let token = v["token"].as_str().unwrap();
    let d = run(&["--json", "jwt", "decode", token]).expect(0).json();
    let (exp, iat) = (
        d["claims"]["exp"].as_u64().unwrap(),
        d["claims"]["iat"].as_u64().unwrap(),
    );
    assert_eq!(exp - iat, 600);
    assert_eq!(d["header"]["kid"], "k1");
}

#[test]
fn pem_keys_from_openssl() {
    let dir = temp_dir("pem");
    let private = dir.join("ec.pem");
    let public = dir.join("ec.pub.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ])
        .arg(&private)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl genpkey");
    let ok = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&private)
        .arg("-out")
        .arg(&public)
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl pkey");
    let (private, public) = (private.to_str().unwrap(), public.to_str().unwrap());
    let token = run(&[
        "jwt",
        "sign",
        "--key",
        private,
        "--alg",
        "ES256",
        "--claims",
        &claims().to_string(),
    ])
    .expect(0)
    .stdout;
    let now = NOW.to_string();
    verify(token.trim(), public, "ES256", &["--now", &now]).expect(0);
    // The PEM's thumbprint is the token's kid, and its public JWKS verifies too.
    let kid = run(&["jwk", "thumbprint", private]).expect(0).stdout;
    let header = run(&["--json", "jwt", "decode", token.trim()])
        .expect(0)
        .json();
    assert_eq!(header["header"]["kid"], kid.trim());
    let jwks = write(
        &dir,
        "ec.jwks",
        &run(&["jwk", "public", private]).expect(0).stdout,
    );
    verify(token.trim(), &jwks, "ES256", &["--now", &now]).expect(0);
}

#[test]
fn thumbprint_matches_rfc_7638() {
    let vector: Value = serde_json::from_str(include_str!(
        "../../../../conformance/vectors/jwt/rfc7638_3.1_jwk_thumbprint.json"
    ))
    .unwrap();
    let dir = temp_dir("thumbprint");
    let file = write(&dir, "rsa.jwk", &vector["input_jwk"].to_string());
    let r = run(&["jwk", "thumbprint", &file]).expect(0);
    assert_eq!(r.stdout.trim(), vector["thumbprint_b64u"]);
}

#[test]
fn api_keys_generate_and_check() {
    let v = run(&["--json", "apikey", "generate", "--prefix", "sk_test"])
        .expect(0)
        .json();
    let key = v["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_test_"));
    assert_eq!(v["record"]["id"].as_str().unwrap(), &key[8..16]);
    let digest = hex(&sha2::Sha256::digest(key.as_bytes()));
    assert_eq!(v["record"]["digest_sha256"], digest);

    let c = run_with(&["--json", "apikey", "check", "-"], Some(&key), &[])
        .expect(0)
        .json();
    assert_eq!(c["id"], v["record"]["id"]);
    run_with(
        &["apikey", "check", "--key-env", "MY_KEY"],
        None,
        &[("MY_KEY", &key)],
    )
    .expect(0);

    // One character changed: the checksum catches it.
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    let r = run_with(&["--json", "apikey", "check", "-"], Some(&typo), &[]).expect(1);
    assert_eq!(r.json()["reason"], "bad_checksum");
    let r = run_with(
        &["--json", "apikey", "check", "-"],
        Some("sk_test_short"),
        &[],
    )
    .expect(1);
    assert_eq!(r.json()["reason"], "malformed");
    // Never from the command line.
    let r = run(&["apikey", "check", &key]).expect(2);
    assert!(!r.stderr.contains(&key));
    run(&["apikey", "check", "--key-env", "AUTH_CLI_TEST_UNSET"]).expect(2);
}

#[test]
fn pkce_challenge_is_s256_of_the_verifier() {
    let v = run(&["--json", "pkce"]).expect(0).json();
    let verifier = v["code_verifier"].as_str().unwrap();
    assert!((43..=128).contains(&verifier.len()));
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(v["code_challenge"], challenge);
    assert_eq!(v["code_challenge_method"], "S256");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn apikey_create_needs_the_servers_data_directory() {
    let dir = temp_dir("create-data");
    let missing = dir.join("nonexist");
    let missing = missing.to_str().unwrap();
    let create = |data: &str, extra: &[&str]| {
        let mut args = vec!["apikey", "create", "--data", data, "--subject", "x"];
        args.extend(extra);
        run(&args)
    };
    // A mistyped --data is refused, and nothing is created.
    let r = create(missing, &[]).expect(2);
    assert!(
        r.stderr.contains("auth serve --data") && r.stderr.contains("--init"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
    assert!(!std::path::Path::new(missing).exists());
    // So is a directory without a pepper.
    let empty = dir.join("empty");
    std::fs::create_dir(&empty).unwrap();
    create(empty.to_str().unwrap(), &[]).expect(2);
    assert!(std::fs::read_dir(&empty).unwrap().next().is_none());
    // --init asks for a new one: a pepper readable by its owner only.
    let r = create(missing, &["--init"]).expect(0);
    assert!(r.stdout.starts_with("ak_live_"), "{}", r.stdout);
    let pepper = std::path::Path::new(missing).join("pepper");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&pepper), 0o600);
        // The directory and the key database are the owner's alone too.
        assert_eq!(mode(std::path::Path::new(missing)), 0o700);
        assert_eq!(mode(&std::path::Path::new(missing).join("keys.db")), 0o600);
        // Then the directory is used as it is; a pepper others can read is refused.
        create(missing, &[]).expect(0);
        std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = create(missing, &[]).expect(2);
        assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
        std::fs::set_permissions(&pepper, std::fs::Permissions::from_mode(0o600)).unwrap();
        create(missing, &[]).expect(0);
    }
    // A pepper that is not one (too large) is refused, not read whole.
    std::fs::write(&pepper, vec![b'p'; 64 * 1024]).unwrap();
    let r = create(missing, &[]).expect(2);
    assert!(r.stderr.contains("pepper"), "{}", r.stderr);
}

#[test]
fn usage_errors_under_json_are_one_json_document() {
    for args in [
        &["--json", "jwt", "verify", "x"][..],
        &[
            "--json", "jwt", "sign", "--alg", "none", "--key", "k", "--claims", "{}",
        ][..],
        &["jwt", "decode", "--json", "--now", "soon"][..],
        &["--json", "frobnicate"][..],
        &["--json", "jwt"][..],
    ] {
        let r = run(args).expect(2);
        let v = r.json();
        assert_eq!(v["error"], "usage", "{args:?}: {v}");
        assert!(!v["message"].as_str().unwrap().is_empty(), "{args:?}");
    }
    // Without --json, clap's text on standard error; help and version still exit 0.
    let r = run(&["jwt", "verify", "x"]).expect(2);
    assert!(r.stdout.is_empty() && r.stderr.contains("Usage:"), "{r:?}");
    assert!(
        run(&["--json", "jwt", "--help"])
            .expect(0)
            .stdout
            .contains("Usage: auth")
    );
    assert!(
        run(&["--json", "--version"])
            .expect(0)
            .stdout
            .starts_with("auth ")
    );
    // A `--json` after `--` is an operand, not the flag.
    let r = run(&["jwt", "decode", "--", "--json", "extra"]).expect(2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
