//! `auth jwk`: thumbprints of every key kind, public PEM keys, `kid` defaults, and keys that
//! are not what they claim refused before they sign or are published.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::Digest as _;

use crate::commands::{NOW, claims, key_and_token, verify};
use crate::support::{openssl, run, temp_dir, write};

#[test]
fn hmac_keys_have_an_rfc_7638_thumbprint_and_it_is_their_kid() {
    let dir = temp_dir("jwk-oct");
    let jwk: Value =
        serde_json::from_str(&run(&["jwk", "generate", "--alg", "HS256"]).expect(0).stdout)
            .unwrap();
    // RFC 7638 §3.2: SHA-256 over {"k","kty"} in that order, no whitespace.
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, jwk["k"].as_str().unwrap());
    let expected = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()));
    assert_eq!(jwk["kid"], expected.as_str(), "{jwk}");
    let file = write(&dir, "hs.jwk", &jwk.to_string());
    let r = run(&["jwk", "thumbprint", &file]).expect(0);
    assert_eq!(r.stdout.trim(), expected);
    // An explicit kid wins.
    let v: Value = serde_json::from_str(
        &run(&["jwk", "generate", "--alg", "HS384", "--kid", "mine"])
            .expect(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(v["kid"], "mine");
}

#[test]
fn public_pem_keys_are_read() {
    let dir = temp_dir("jwk-public-pem");
    for (alg, genpkey) in [
        (
            "ES256",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
        ),
        (
            "ES384",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"][..],
        ),
        (
            "ES512",
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"][..],
        ),
        ("EdDSA", &["-algorithm", "ED25519"][..]),
    ] {
        let (private, public) = (format!("{alg}.pem"), format!("{alg}.pub.pem"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey);
        args.extend(["-out", &private]);
        openssl(&dir, &args);
        openssl(&dir, &["pkey", "-pubout", "-in", &private, "-out", &public]);
        let (private, public) = (dir.join(private), dir.join(public));
        let (private, public) = (private.to_str().unwrap(), public.to_str().unwrap());
        // The public PEM's thumbprint and JWK are the private key's.
        let from_private = run(&["jwk", "thumbprint", private]).expect(0).stdout;
        let from_public = run(&["jwk", "thumbprint", public, "--alg", alg])
            .expect(0)
            .stdout;
        assert_eq!(from_public, from_private, "{alg}");
        run(&["jwk", "thumbprint", public]).expect(0);
        let jwks: Value = serde_json::from_str(
            &run(&["jwk", "public", public, "--alg", alg])
                .expect(0)
                .stdout,
        )
        .unwrap();
        let of_private: Value =
            serde_json::from_str(&run(&["jwk", "public", private]).expect(0).stdout).unwrap();
        for member in ["kty", "crv", "x", "y"] {
            assert_eq!(
                jwks["keys"][0][member], of_private["keys"][0][member],
                "{alg} {member}"
            );
        }
        // Another algorithm than the key's is refused.
        let other = if alg == "ES256" { "ES384" } else { "ES256" };
        let r = run(&["jwk", "public", public, "--alg", other]).expect(2);
        assert!(r.stderr.contains(alg), "{}", r.stderr);
    }
    // RSA public PEM: refused, saying so (not "give --alg").
    openssl(
        &dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ],
    );
    openssl(
        &dir,
        &["pkey", "-pubout", "-in", "rsa.pem", "-out", "rsa.pub.pem"],
    );
    let rsa = dir.join("rsa.pub.pem");
    let r = run(&["jwk", "public", rsa.to_str().unwrap(), "--alg", "RS256"]).expect(2);
    assert!(r.stderr.contains("RSA public keys"), "{}", r.stderr);
}

#[test]
fn es512_keys_are_generated_and_unknown_ones_named() {
    let dir = temp_dir("jwk-es512");
    let (key, token) = key_and_token(&dir, "ES512", &claims());
    verify(&token, &key, "ES512", &["--now", &NOW.to_string()]).expect(0);
    // RSA keys are generated too (as private JWKs, 2048 bits unless --size says otherwise).
    let rsa = run(&["--json", "jwk", "generate", "--alg", "RS256"])
        .expect(0)
        .json();
    assert_eq!(rsa["kty"], "RSA");
    assert_eq!(rsa["alg"], "RS256");
    let r = run(&["jwk", "generate", "--alg", "ES999"]).expect(2);
    assert!(r.stderr.contains("ES512"), "{}", r.stderr);
}

#[test]
fn keys_with_a_wrong_curve_or_type_are_refused() {
    let dir = temp_dir("jwk-garbage");
    for alg in ["ES256", "EdDSA"] {
        let mut jwk: Value =
            serde_json::from_str(&run(&["jwk", "generate", "--alg", alg]).expect(0).stdout)
                .unwrap();
        jwk["crv"] = "garbage".into();
        let key = write(&dir, &format!("{alg}.jwk"), &jwk.to_string());
        let r = run(&["jwt", "sign", "--key", &key, "--alg", alg, "--claims", "{}"]).expect(2);
        assert!(r.stderr.contains("crv"), "{alg}: {}", r.stderr);
        run(&["jwk", "public", &key]).expect(2);
        run(&["jwk", "thumbprint", &key]).expect(2);
    }
    let nonsense = write(&dir, "nonsense.jwk", r#"{"kty":"nonsense","x":"AAAA"}"#);
    run(&["jwk", "public", &nonsense]).expect(2);
    let jwks = write(
        &dir,
        "set.jwks",
        r#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#,
    );
    let r = run(&["jwk", "public", &jwks]).expect(2);
    assert!(r.stderr.contains("key 0"), "{}", r.stderr);
}
