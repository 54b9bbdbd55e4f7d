//! The cases the `jwt` bench times and the `jwt_allocations` bench counts: one ~400-byte
//! token per algorithm, auth-jwt's verifier, jsonwebtoken's, the raw primitive, and the rows
//! each group runs, so that both benches measure exactly the same calls.

#![allow(dead_code)] // each bench uses its part

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use auth_core::{ManualClock, Secret, UnixTime};
use auth_jwt::{Algorithm, Key, KeySet, Scratch, SigningKey, Verifier};
use aws_lc_rs::signature as sig;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

pub(crate) const NOW: u64 = 1_700_000_000;
pub(crate) const ISS: &str = "https://issuer.example.com/realms/production";
pub(crate) const AUD: &str = "https://api.example.com/orders";

/// The claims jsonwebtoken deserializes: what auth-jwt checks and returns.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde, held to make the work comparable
pub(crate) struct Claims {
    sub: String,
    iss: String,
    aud: String,
    exp: u64,
    scope: String,
}

pub(crate) fn claims() -> serde_json::Value {
    serde_json::json!({
        "iss": ISS, "sub": "user-7f3a9c2e-41d8-4c1b-9b0e-0c3f5d2a8e61", "aud": AUD,
        "exp": NOW + 3600, "nbf": NOW - 60, "iat": NOW - 60,
        "jti": "c8b4a1f2-9d7e-4e3b-a6f5-2b1c0d9e8f7a",
        "scope": "orders:read orders:write profile", "tenant": "acme"
    })
}

pub(crate) fn block<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

pub(crate) fn verifier(key: Key, alg: Algorithm) -> Verifier {
    Verifier::builder()
        .algorithms([alg])
        .issuer(ISS)
        .audience(AUD)
        .keys(KeySet::new([key]))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn peer_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut v = jsonwebtoken::Validation::new(alg);
    v.set_issuer(&[ISS]);
    v.set_audience(&[AUD]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_nbf = true;
    // jsonwebtoken reads the wall clock: the token expires far enough ahead for both.
    v.leeway = 0;
    v
}

/// The raw primitive: (signing input, signature) -> valid. Shared by the primitive's row and
/// the careful floor's.
pub(crate) type Floor = Rc<dyn Fn(&[u8], &[u8]) -> bool>;

pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) token: String,
    pub(crate) ours: Verifier,
    pub(crate) peer_key: jsonwebtoken::DecodingKey,
    pub(crate) peer_validation: jsonwebtoken::Validation,
    pub(crate) floor: Floor,
    /// The careful floor: the primitive inside the least whole-token check.
    pub(crate) careful: Careful,
}

pub(crate) fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap_or_default()
}

pub(crate) fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let far = |mut c: serde_json::Value| {
        // jsonwebtoken checks against the real clock; auth-jwt against NOW.
        c["exp"] = serde_json::json!(4_000_000_000u64);
        c
    };
    // HS256
    let secret = Secret::new(b"bench secret of at least thirty-two bytes".to_vec());
    let hs = SigningKey::hmac(&secret, Algorithm::HS256)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_kid("hs-1");
    let token = hs.sign(&far(claims())).unwrap_or_else(|e| panic!("{e}"));
    let hkey = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.expose_secret());
    let hmac: Floor = Rc::new(move |m, s| aws_lc_rs::hmac::verify(&hkey, m, s).is_ok());
    out.push(Case {
        name: "HS256",
        ours: verifier(
            hs.verification_key().unwrap_or_else(|e| panic!("{e}")),
            Algorithm::HS256,
        ),
        peer_key: jsonwebtoken::DecodingKey::from_secret(secret.expose_secret())
            .unwrap_or_else(|e| panic!("{e}")),
        peer_validation: peer_validation(jsonwebtoken::Algorithm::HS256),
        careful: Careful::new(&token, Rc::clone(&hmac)),
        floor: hmac,
        token,
    });
    for (name, alg, jalg) in [
        ("RS256", Algorithm::RS256, jsonwebtoken::Algorithm::RS256),
        ("ES256", Algorithm::ES256, jsonwebtoken::Algorithm::ES256),
        ("EdDSA", Algorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let k = SigningKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
        let token = k.sign(&far(claims())).unwrap_or_else(|e| panic!("{e}"));
        let jwk = k.public_jwk().unwrap_or_default();
        let s = |m: &str| jwk[m].as_str().unwrap_or_default().to_owned();
        let (peer_key, floor): (_, Floor) = match alg {
            Algorithm::RS256 => {
                let (n, e) = (b64(&s("n")), b64(&s("e")));
                let der = rsa_pkcs1_der(&n, &e);
                let parsed = sig::ParsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, der)
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_rsa_components(&s("n"), &s("e"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Rc::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
            Algorithm::ES256 => {
                let point = [vec![4], b64(&s("x")), b64(&s("y"))].concat();
                let parsed = sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point)
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_ec_components(&s("x"), &s("y"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Rc::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
            _ => {
                let parsed = sig::ParsedPublicKey::new(&sig::ED25519, b64(&s("x")))
                    .unwrap_or_else(|e| panic!("{e}"));
                (
                    jsonwebtoken::DecodingKey::from_ed_components(&s("x"))
                        .unwrap_or_else(|e| panic!("{e}")),
                    Rc::new(move |m, sg| parsed.verify_sig(m, sg).is_ok()),
                )
            }
        };
        out.push(Case {
            name,
            ours: verifier(k.verification_key().unwrap_or_else(|e| panic!("{e}")), alg),
            peer_key,
            peer_validation: peer_validation(jalg),
            careful: Careful::new(&token, Rc::clone(&floor)),
            floor,
            token,
        });
    }
    out
}

/// PKCS#1 RSAPublicKey DER from big-endian n and e.
pub(crate) fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(x: &[u8]) -> Vec<u8> {
        let mut v = x.to_vec();
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        [tag(0x02, v.len()), v].concat()
    }
    fn tag(t: u8, len: usize) -> Vec<u8> {
        if len < 128 {
            vec![t, len as u8]
        } else if len < 256 {
            vec![t, 0x81, len as u8]
        } else {
            vec![t, 0x82, (len >> 8) as u8, len as u8]
        }
    }
    let body = [int(n), int(e)].concat();
    [tag(0x30, body.len()), body].concat()
}

/// One row of a verification group: its function id and one verification (true: accepted).
pub(crate) type Row<'a> = (&'static str, Box<dyn FnMut() -> bool + 'a>);

/// The rows of `case`'s group, in the order they run.
pub(crate) fn rows(case: &Case) -> Vec<Row<'_>> {
    let (input, signature) = case.token.rsplit_once('.').unwrap_or_default();
    let signature = b64(signature);
    let mut scratch = Scratch::new();
    let mut out: Vec<Row<'_>> = vec![
        (
            "auth-jwt Verifier::verify_principal",
            Box::new(|| block(case.ours.verify_principal(black_box(&case.token))).is_ok()),
        ),
        (
            "auth-jwt Verifier::verify_in (borrowed claims)",
            Box::new(move || {
                block(case.ours.verify_in(black_box(&case.token), &mut scratch))
                    .is_ok_and(|c| c.subject().is_some() && c.has_scope("orders:read"))
            }),
        ),
        (
            "peer: jsonwebtoken::decode",
            Box::new(|| {
                jsonwebtoken::decode::<Claims>(
                    black_box(&case.token),
                    &case.peer_key,
                    &case.peer_validation,
                )
                .is_ok()
            }),
        ),
        (
            "floor: prepared-key primitive",
            Box::new(move || (case.floor)(black_box(input.as_bytes()), black_box(&signature))),
        ),
    ];
    out.push((
        "floor: whole token, careful (one pass, prepared key, payload decoded, exp/iss/aud/sub found)",
        Box::new(|| case.careful.verify(black_box(&case.token))),
    ));
    out
}

/// The careful floor: what a hand-written check of this one token shape cannot do without.
/// One pass, no JSON parser: the header must be byte for byte the one expected, the signature
/// is decoded onto the stack and checked by the primitive with its prepared key, then the
/// payload is decoded onto the stack and searched for `"exp":` (digits after `now`) and the
/// exact `"iss":"…"` and `"aud":"…"` members, and a `"sub":"` string. It refuses any other
/// shape and checks no duplicate, type or nesting, so it is a bound, not a verifier.
pub(crate) struct Careful {
    signature: Floor,
    header: String,
    iss: String,
    aud: String,
}

impl Careful {
    fn new(token: &str, signature: Floor) -> Self {
        Self {
            signature,
            header: token.split('.').next().unwrap_or_default().to_owned(),
            iss: format!("\"iss\":\"{ISS}\""),
            aud: format!("\"aud\":\"{AUD}\""),
        }
    }

    pub(crate) fn verify(&self, token: &str) -> bool {
        let Some((input, signature)) = token.rsplit_once('.') else {
            return false;
        };
        let Some((header, payload)) = input.split_once('.') else {
            return false;
        };
        // Room for an RSA-4096 signature.
        let mut sig = [0u8; 512];
        if header != self.header {
            return false;
        }
        let Ok(n) = URL_SAFE_NO_PAD.decode_slice(signature, &mut sig) else {
            return false;
        };
        if !(self.signature)(input.as_bytes(), &sig[..n]) {
            return false;
        }
        let mut buf = [0u8; 1024];
        let Ok(n) = URL_SAFE_NO_PAD.decode_slice(payload, &mut buf) else {
            return false;
        };
        let Ok(claims) = std::str::from_utf8(&buf[..n]) else {
            return false;
        };
        let exp = claims.find("\"exp\":").map(|i| {
            claims[i + 6..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                })
        });
        exp.is_some_and(|exp| exp > NOW)
            && claims.contains(&self.iss)
            && claims.contains(&self.aud)
            && claims.contains("\"sub\":\"")
    }
}

/// The kid-lookup group's verifiers: 100 HS256 keys, and the 100th key alone; and a token
/// signed by the 100th.
pub(crate) fn kid_lookup_setup() -> (Verifier, Verifier, String) {
    let signers: Vec<SigningKey> = (0..100u8)
        .map(|i| {
            SigningKey::hmac(&Secret::new(vec![i; 32]), Algorithm::HS256)
                .unwrap_or_else(|e| panic!("{e}"))
                .with_kid(format!("key-{i:03}"))
        })
        .collect();
    let many = verifier_of(
        ISS,
        signers
            .iter()
            .map(|s| s.verification_key().unwrap_or_else(|e| panic!("{e}"))),
    );
    let one = verifier_of(
        ISS,
        [signers[99]
            .verification_key()
            .unwrap_or_else(|e| panic!("{e}"))],
    );
    let mut c2 = claims();
    c2["exp"] = serde_json::json!(NOW + 3600);
    let token = signers[99].sign(&c2).unwrap_or_else(|e| panic!("{e}"));
    (many, one, token)
}

/// The issuers group's verifiers: one issuer's alone, and a set of two; and a token of the
/// first.
pub(crate) fn issuers_setup() -> (Verifier, Verifier, String) {
    let signer = SigningKey::hmac(&Secret::new(vec![7; 32]), Algorithm::HS256)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = || signer.verification_key().unwrap_or_else(|e| panic!("{e}"));
    let alone = verifier_of(ISS, [key()]);
    let set = Verifier::issuers([verifier_of("https://other.example", [key()]), alone.clone()])
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c2 = claims();
    c2["exp"] = serde_json::json!(NOW + 3600);
    let token = signer.sign(&c2).unwrap_or_else(|e| panic!("{e}"));
    (alone, set, token)
}

pub(crate) fn verifier_of(issuer: &str, keys: impl IntoIterator<Item = Key>) -> Verifier {
    Verifier::builder()
        .algorithms([Algorithm::HS256])
        .issuer(issuer)
        .audience(AUD)
        .keys(KeySet::new(keys))
        .clock(ManualClock::new(UnixTime::from_secs(NOW)))
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}
