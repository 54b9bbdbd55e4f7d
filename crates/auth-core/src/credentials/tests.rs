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

/// The single-pass readers against the rules written out plainly (trim, then the token68 or
/// visible-ASCII check, as RFC 6750 §2.1 and RFC 9110 §11.2 put them): every string of up to
/// four bytes over an alphabet of the interesting bytes (each class boundary), and longer
/// ones, across the sixteen-byte chunks and the overlapping tail, with each of those bytes at
/// each position.
#[test]
fn single_pass_readers_agree_with_the_rules_written_out() {
    fn trim(mut b: &[u8]) -> &[u8] {
        while let [b' ' | b'\t', rest @ ..] = b {
            b = rest;
        }
        while let [rest @ .., b' ' | b'\t'] = b {
            b = rest;
        }
        b
    }
    fn token68(b: &[u8]) -> bool {
        let body = b
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)))
            .unwrap_or(b.len());
        body > 0 && b[body..].iter().all(|&c| c == b'=')
    }
    fn bearer_rule(value: &[u8]) -> Result<Option<String>, CredentialError> {
        let Some(rest) = value.strip_prefix(b"Bearer") else {
            return Ok(None);
        };
        if !matches!(rest.first(), None | Some(b' ' | b'\t')) {
            return Ok(None);
        }
        let token = trim(rest);
        if token.is_empty() || !token68(token) {
            return Err(CredentialError::Malformed("Authorization"));
        }
        Ok(Some(String::from_utf8_lossy(token).into_owned()))
    }
    fn header_rule(value: &[u8]) -> Result<Option<String>, CredentialError> {
        let token = trim(value);
        if token.is_empty() || !token.iter().all(u8::is_ascii_graphic) {
            return Err(CredentialError::Malformed("credential header"));
        }
        Ok(Some(String::from_utf8_lossy(token).into_owned()))
    }
    let alphabet: &[u8] = b" \t=a~^,!\x7f\x80Z9/_@[`{+-:\xff";
    let mut values: Vec<Vec<u8>> = vec![Vec::new()];
    let mut last = values.clone();
    for _ in 0..4 {
        last = last
            .iter()
            .flat_map(|v| {
                alphabet.iter().map(move |&c| {
                    let mut v = v.clone();
                    v.push(c);
                    v
                })
            })
            .collect();
        values.extend(last.iter().cloned());
    }
    for n in [7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 47, 48, 49] {
        for &c in alphabet {
            for at in 0..n {
                let mut v = vec![b'k'; n];
                v[at] = c;
                values.push(v);
            }
        }
    }
    let bearer = TokenExtractor::bearer();
    let header = TokenExtractor::new([Location::Header(HeaderName::from_static("x-api-key"))]);
    for value in &values {
        // A header value cannot hold a control byte other than a tab.
        let Ok(header_value) = http::HeaderValue::from_bytes(value) else {
            continue;
        };
        let mut with_scheme = b"Bearer ".to_vec();
        with_scheme.extend_from_slice(value);
        if let Ok(auth) = http::HeaderValue::from_bytes(&with_scheme) {
            let mut p = parts(&[], "/");
            p.headers.insert(AUTHORIZATION, auth);
            let got = bearer.extract(&p).map(|f| f.map(|f| f.value.into_owned()));
            assert_eq!(got, bearer_rule(&with_scheme), "{with_scheme:?}");
        }
        let mut p = parts(&[], "/");
        p.headers.insert("x-api-key", header_value);
        let got = header.extract(&p).map(|f| f.map(|f| f.value.into_owned()));
        assert_eq!(got, header_rule(value), "{value:?}");
    }
}

/// The vectorised classes are the table's, for every byte.
#[test]
fn range_comparisons_classify_every_byte_as_the_table_does() {
    for c in 0..=u8::MAX {
        let table = CLASS[usize::from(c)];
        assert_eq!(
            in_class::<TOKEN68_BODY>(c) != 0,
            table & TOKEN68_BODY != 0,
            "{c:#x}"
        );
        assert_eq!(in_class::<VISIBLE>(c) != 0, table & VISIBLE != 0, "{c:#x}");
    }
}
