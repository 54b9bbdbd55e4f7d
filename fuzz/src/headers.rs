//! `authorization_header` and `www_authenticate`: auth-core's credential reading and
//! challenge grammar.
//!
//! Properties: no panic; `authorization_token` and `TokenExtractor::bearer` agree; a token
//! read from `Authorization` reads back the same from `Bearer <token>`, and is the token68
//! the challenge grammar finds in the same value; a value that parses as credentials or as
//! challenges re-serialises (`to_header_value`) to a value that parses to the same.

use auth_core::challenge::parse_one;
use auth_core::credentials::{DEFAULT_MAX_CREDENTIAL_LEN, authorization_token};
use auth_core::{Challenge, TokenExtractor};
use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};

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
