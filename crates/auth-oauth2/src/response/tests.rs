//! Tests of the token response checks: strict by default, quirks when switched on, DPoP
//! only after a proof.

use super::*;

const AT: UnixTime = UnixTime::from_secs(1_000);

fn parse(body: &str, quirks: Quirks) -> Result<TokenSet, String> {
    let raw: RawTokenResponse = serde_json::from_str(body).map_err(|e| e.to_string())?;
    raw.check("token endpoint", quirks, AT, 0, false)
        .map_err(|e| e.to_string())
}

#[test]
fn expires_on_only_with_the_quirk_and_moved_onto_our_clock() {
    let q = Quirks::default().with(Quirk::ExpiresOn);
    let body = r#"{"access_token":"a","token_type":"Bearer","expires_on":"5000"}"#;
    let at = |body: &str, q, offset| {
        let raw: RawTokenResponse = serde_json::from_str(body).unwrap();
        raw.check("t", q, AT, offset, false)
            .map(|t| t.expires_at().map(UnixTime::as_secs))
    };
    // Ignored without the quirk; the server's clock 300 s ahead moves it 300 s earlier.
    assert_eq!(at(body, Quirks::default(), 300).unwrap(), None);
    assert_eq!(at(body, q, 300).unwrap(), Some(4_700));
    assert_eq!(at(body, q, -300).unwrap(), Some(5_300));
    // expires_in is relative: never moved by the offset, and it wins over expires_on.
    let both = r#"{"access_token":"a","token_type":"Bearer","expires_in":60,"expires_on":5000}"#;
    assert_eq!(at(both, q, 300).unwrap(), Some(1_060));
    let bad = r#"{"access_token":"a","token_type":"Bearer","expires_on":"soon"}"#;
    assert!(at(bad, q, 0).is_err());
}

#[track_caller]
fn check(body: &str, quirks: Quirks, expected: Result<Option<u64>, &str>) {
    match (parse(body, quirks), expected) {
        (Ok(t), Ok(exp)) => {
            assert_eq!(t.expires_at().map(UnixTime::as_secs), exp, "{body}");
        }
        (Err(e), Err(want)) => assert!(e.contains(want), "{body}: {e}"),
        (got, want) => panic!("{body}: got {got:?}, want {want:?}"),
    }
}

#[test]
fn strict_by_default() {
    let none = Quirks::default();
    check(
        r#"{"access_token":"AT","token_type":"bearer","expires_in":3600}"#,
        none,
        Ok(Some(4600)),
    );
    check(
        r#"{"access_token":"AT","token_type":"BEARER"}"#,
        none,
        Ok(None),
    );
    check(
        r#"{"token_type":"Bearer","expires_in":3600}"#,
        none,
        Err("access_token missing"),
    );
    check(
        r#"{"access_token":"AT","expires_in":3600}"#,
        none,
        Err("token_type missing"),
    );
    check(
        r#"{"access_token":"AT","token_type":"example"}"#,
        none,
        Err("not Bearer"),
    );
    check(
        r#"{"access_token":"AT","token_type":"DPoP"}"#,
        none,
        Err("sent no DPoP proof"),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","expires_in":"3600"}"#,
        none,
        Err("ExpiresInAsString"),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","expires_in":-5}"#,
        none,
        Ok(Some(1000)),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","expires_in":1.5}"#,
        none,
        Err("not an integer"),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","scope":["a"]}"#,
        none,
        Err("ScopeAsArray"),
    );
    check(
        r#"{"access_token":"A T","token_type":"Bearer"}"#,
        none,
        Err("header"),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","scope":"read write","unknown_member":{"x":1}}"#,
        none,
        Ok(None),
    );
}

#[test]
fn quirks_when_switched_on() {
    let q = Quirks::default()
        .with(Quirk::ExpiresInAsString)
        .with(Quirk::ScopeAsArray);
    check(
        r#"{"access_token":"AT","token_type":"Bearer","expires_in":"3600"}"#,
        q,
        Ok(Some(4600)),
    );
    check(
        r#"{"access_token":"AT","token_type":"Bearer","expires_in":"soon"}"#,
        q,
        Err("not a number"),
    );
    let t = parse(
        r#"{"access_token":"AT","token_type":"Bearer","scope":["a","b"]}"#,
        q,
    )
    .unwrap();
    assert!(t.scopes().unwrap().contains("b"));
}

#[test]
fn dpop_only_after_a_proof_and_bearer_either_way() {
    let check = |body: &str, proof_sent| {
        let raw: RawTokenResponse = serde_json::from_str(body).unwrap();
        raw.check("t", Quirks::default(), AT, 0, proof_sent)
            .map(|t| t.token_type())
            .map_err(|e| e.to_string())
    };
    let dpop = r#"{"access_token":"AT","token_type":"DPoP"}"#;
    let bearer = r#"{"access_token":"AT","token_type":"Bearer"}"#;
    assert_eq!(check(dpop, true), Ok(TokenType::DPoP));
    assert_eq!(
        check(r#"{"access_token":"AT","token_type":"dpop"}"#, true),
        Ok(TokenType::DPoP)
    );
    let e = check(dpop, false).unwrap_err();
    assert!(
        e.contains("sent no DPoP proof") && !e.contains("AT\""),
        "{e}"
    );
    // A server that declines to bind answers Bearer to a proof: a bearer token.
    assert_eq!(check(bearer, true), Ok(TokenType::Bearer));
    assert_eq!(check(bearer, false), Ok(TokenType::Bearer));
}

#[test]
fn debug_hides_tokens() {
    let t = parse(
        r#"{"access_token":"sekrit-at","token_type":"Bearer","refresh_token":"sekrit-rt"}"#,
        Quirks::default(),
    )
    .unwrap();
    let d = format!("{t:?}");
    assert!(!d.contains("sekrit"), "{d}");
}
