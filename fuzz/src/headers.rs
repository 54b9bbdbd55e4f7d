//! `authorization_header` and `www_authenticate`: auth-core's credential reading and
//! challenge grammar.
//!
//! Properties: no panic; `authorization_token` and `TokenExtractor::bearer` agree, and both
//! read what RFC 6750's rule written out plainly reads (whatever the readers' sixteen-byte
//! fast path does); the same bytes in a bare credential header read as its rule says; a token
//! read from `Authorization` reads back the same from `Bearer <token>`, and is the token68
//! the challenge grammar finds in the same value; a value that parses as credentials or as
//! challenges re-serialises (`to_header_value`) to a value that parses to the same.

use auth_core::challenge::parse_one;
use auth_core::credentials::{
    CredentialError, DEFAULT_MAX_CREDENTIAL_LEN, Location, authorization_token,
};
use auth_core::{Challenge, TokenExtractor};
use http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

/// `b` without its leading and trailing spaces and tabs.
fn trimmed(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// RFC 6750 §2.1 written out plainly: the scheme (any case), then a space or a tab or the end,
/// then, trimmed, a b64token (`ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, then only
/// `=`). Values no longer than the limit (the fuzzer's are).
fn bearer_rule(value: &[u8]) -> Result<Option<String>, CredentialError> {
    let Some((scheme, rest)) = value.split_at_checked(6) else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case(b"Bearer") || !matches!(rest.first(), None | Some(b' ' | b'\t'))
    {
        return Ok(None);
    }
    let token = trimmed(rest);
    let body = token
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)))
        .unwrap_or(token.len());
    if body == 0 || !token[body..].iter().all(|&c| c == b'=') {
        return Err(CredentialError::Malformed("Authorization"));
    }
    Ok(Some(String::from_utf8_lossy(token).into_owned()))
}

/// A bare credential header's rule: trimmed, one or more visible ASCII bytes.
fn bare_rule(value: &[u8]) -> Result<Option<String>, CredentialError> {
    let token = trimmed(value);
    if token.is_empty() || !token.iter().all(u8::is_ascii_graphic) {
        return Err(CredentialError::Malformed("credential header"));
    }
    Ok(Some(String::from_utf8_lossy(token).into_owned()))
}

fn with_authorization(value: HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    headers
}

/// A rendered value as text (it came from a `&str`, so it is UTF-8, maybe not ASCII).
fn text_of(value: &HeaderValue) -> &str {
    std::str::from_utf8(value.as_bytes()).expect("a challenge renders as UTF-8")
}

/// The property of target `authorization_header`.
pub fn check_authorization(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let headers = with_authorization(value.clone());
    let direct = authorization_token(&headers, "Bearer", DEFAULT_MAX_CREDENTIAL_LEN);
    let uri = http::Uri::from_static("/");
    let extractor = TokenExtractor::bearer();
    let extracted = extractor.extract_from(&headers, &uri);
    assert_eq!(
        direct.clone().map(|t| t.map(str::to_owned)),
        extracted.map(|f| f.map(|f| f.value.into_owned())),
        "authorization_token and TokenExtractor disagree"
    );
    if data.len() <= DEFAULT_MAX_CREDENTIAL_LEN {
        assert_eq!(
            direct.clone().map(|t| t.map(str::to_owned)),
            bearer_rule(data),
            "the reader and the rule differ on {data:?}"
        );
        let name = HeaderName::from_static("x-api-key");
        let mut bare = HeaderMap::new();
        bare.insert(name.clone(), value.clone());
        let reader = TokenExtractor::new([Location::Header(name)]);
        let read = reader.extract_from(&bare, &uri);
        assert_eq!(
            read.map(|f| f.map(|f| f.value.into_owned())),
            bare_rule(data),
            "the bare header reader and its rule differ on {data:?}"
        );
    }
    if let Ok(Some(token)) = direct {
        let again = HeaderValue::from_str(&format!("Bearer {token}")).expect("a token68 is ASCII");
        let again = with_authorization(again);
        assert_eq!(
            authorization_token(&again, "Bearer", DEFAULT_MAX_CREDENTIAL_LEN),
            Ok(Some(token))
        );
    }
    let Ok(text) = value.to_str() else { return };
    let Ok(credentials) = parse_one(text) else {
        return;
    };
    if let Ok(Some(token)) = direct {
        assert!(credentials.is_scheme("Bearer"));
        assert_eq!(
            credentials.token68(),
            Some(token),
            "two readings of {text:?}"
        );
    }
    let rendered = credentials.to_header_value();
    let rendered = text_of(&rendered);
    assert_eq!(
        parse_one(rendered).as_ref(),
        Ok(&credentials),
        "{text:?} rendered as {rendered:?}"
    );
}

/// The property of target `www_authenticate`.
pub fn check_www_authenticate(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(challenges) = Challenge::parse_all(text) else {
        return;
    };
    let values: Vec<HeaderValue> = challenges.iter().map(Challenge::to_header_value).collect();
    let mut joined = String::new();
    for (challenge, value) in challenges.iter().zip(&values) {
        let one = text_of(value);
        assert_eq!(
            Challenge::parse_all(one).as_deref(),
            Ok(std::slice::from_ref(challenge)),
            "{text:?}: {one:?}"
        );
        if !joined.is_empty() {
            joined.push_str(", ");
        }
        joined.push_str(one);
    }
    assert_eq!(
        Challenge::parse_all(&joined).as_ref(),
        Ok(&challenges),
        "{text:?} rendered as {joined:?}"
    );
}
