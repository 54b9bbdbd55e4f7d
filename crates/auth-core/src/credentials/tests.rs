//! Extraction from every location, with the malformed, doubled and oversized cases.

use super::*;

fn parts(headers: &[(&str, &[u8])], uri: &str) -> Parts {
    let mut b = http::Request::get(uri);
    for (n, v) in headers {
        b = b.header(*n, http::HeaderValue::from_bytes(v).unwrap());
    }
    b.body(()).unwrap().into_parts().0
}

#[track_caller]
fn check(
    ex: &TokenExtractor,
    headers: &[(&str, &[u8])],
    uri: &str,
    want: Result<Option<&str>, CredentialError>,
) {
    let p = parts(headers, uri);
    let got = ex.extract(&p).map(|o| o.map(|f| f.value.into_owned()));
    assert_eq!(got, want.map(|o| o.map(str::to_owned)));
}

#[test]
fn bearer_cases() {
    let ex = TokenExtractor::bearer();
    use CredentialError::*;
    check(
        &ex,
        &[("authorization", b"Bearer abc")],
        "/",
        Ok(Some("abc")),
    );
    check(
        &ex,
        &[("authorization", b"bearer abc")],
        "/",
        Ok(Some("abc")),
    );
    check(
        &ex,
        &[("authorization", b"BEARER  abc== ")],
        "/",
        Ok(Some("abc==")),
    );
    check(&ex, &[("authorization", b"Basic dXNlcg==")], "/", Ok(None));
    check(&ex, &[("authorization", b"Bearerabc")], "/", Ok(None));
    check(&ex, &[], "/", Ok(None));
    check(
        &ex,
        &[("authorization", b"Bearer")],
        "/",
        Err(Malformed("Authorization")),
    );
    check(
        &ex,
        &[("authorization", b"Bearer ")],
        "/",
        Err(Malformed("Authorization")),
    );
    check(
        &ex,
        &[("authorization", b"Bearer a b")],
        "/",
        Err(Malformed("Authorization")),
    );
    check(
        &ex,
        &[("authorization", b"Bearer a=b")],
        "/",
        Err(Malformed("Authorization")),
    );
    check(
        &ex,
        &[("authorization", b"Bearer \xff\xfe")],
        "/",
        Err(Malformed("Authorization")),
    );
    check(
        &ex,
        &[
            ("authorization", b"Bearer a"),
            ("authorization", b"Bearer b"),
        ],
        "/",
        Err(Repeated("Authorization")),
    );
    let long = format!("Bearer {}", "a".repeat(DEFAULT_MAX_CREDENTIAL_LEN + 1));
    check(
        &ex,
        &[("authorization", long.as_bytes())],
        "/",
        Err(TooLong {
            limit: DEFAULT_MAX_CREDENTIAL_LEN,
        }),
    );
}

#[test]
fn several_locations() {
    let ex = TokenExtractor::bearer()
        .with_header(HeaderName::from_static("x-api-key"))
        .with_query_parameter("api_key");
    use CredentialError::*;
    check(&ex, &[("x-api-key", b"k1")], "/", Ok(Some("k1")));
    check(&ex, &[], "/?a=1&api_key=k%2B1", Ok(Some("k+1")));
    check(
        &ex,
        &[("authorization", b"Bearer k1"), ("x-api-key", b"k1")],
        "/",
        Err(Ambiguous),
    );
    check(&ex, &[("x-api-key", b"k1")], "/?api_key=k2", Err(Ambiguous));
    check(
        &ex,
        &[],
        "/?api_key=a&api_key=b",
        Err(Repeated("query parameter")),
    );
    check(
        &ex,
        &[("x-api-key", b"")],
        "/",
        Err(Malformed("credential header")),
    );
    // Query parameters are ignored unless switched on.
    check(&TokenExtractor::bearer(), &[], "/?api_key=k", Ok(None));
}

#[test]
fn strip_removes_the_credential() {
    let ex = TokenExtractor::bearer()
        .with_header(HeaderName::from_static("x-api-key"))
        .with_query_parameter("api_key");
    let mut p = parts(
        &[
            ("authorization", b"Bearer t"),
            ("x-api-key", b"k"),
            ("accept", b"*/*"),
        ],
        "http://h/p?a=1&api_key=k&b=2",
    );
    ex.strip(&mut p);
    assert!(p.headers.get("authorization").is_none());
    assert!(p.headers.get("x-api-key").is_none());
    assert!(p.headers.get("accept").is_some());
    assert_eq!(p.uri.to_string(), "http://h/p?a=1&b=2");

    let mut p = parts(&[("authorization", b"Basic dXNlcg==")], "/p?api_key=k");
    ex.strip(&mut p);
    assert!(p.headers.get("authorization").is_some(), "not our scheme");
    assert_eq!(p.uri.to_string(), "/p");
}
