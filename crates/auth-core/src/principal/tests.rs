//! Scopes as a sorted set, the strict and lenient parsers, requirements, and attributes.

use super::*;

#[test]
fn strict_parse_refuses_what_the_lenient_one_drops() {
    assert_eq!(Scopes::parse("b a b").unwrap().as_str(), "a b");
    assert_eq!(Scopes::parse("a b").unwrap().as_str(), "a b");
    assert!(Scopes::parse("").unwrap().is_empty());
    for bad in [
        "a\"b",
        "read\u{1}",
        "a  b",
        " a",
        "a ",
        "caf\u{e9}",
        "a\\b",
        " ",
    ] {
        assert_eq!(Scopes::parse(bad), Err(ScopeError::InvalidToken), "{bad:?}");
    }
}

#[test]
fn scopes_are_a_set() {
    let s = Scopes::from_space_separated("b a  b \"bad\" c");
    assert_eq!(s.to_string(), "a b c");
    assert!(s.contains("a") && !s.contains("bad"));
}

/// The canonical fast path and the general one agree with a plain sort and dedup.
#[test]
fn scope_strings_normalize_like_a_sorted_set() {
    let words = [
        "a",
        "b",
        "c",
        "a:b",
        "",
        "\"",
        "é",
        "\t",
        "orders:read",
        "orders:write",
        "x\\y",
        "del\u{7f}ete",
        "profile",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..5_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = seed % 6;
        let input: Vec<&str> = (0..n)
            .map(|i| words[((seed >> (8 * i)) % words.len() as u64) as usize])
            .collect();
        let input = input.join(" ");
        let mut expected: Vec<&str> = input.split(' ').filter(|t| is_scope_token(t)).collect();
        expected.sort_unstable();
        expected.dedup();
        let got = Scopes::from_space_separated(&input);
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{input:?}");
        assert_eq!(got.len(), expected.len(), "{input:?}");
        assert_eq!(got.as_str(), expected.join(" "), "{input:?}");
        assert_eq!(got, expected.iter().collect::<Scopes>(), "{input:?}");
    }
}

#[test]
fn requirement_grammar() {
    assert_eq!(ScopeRequirement::parse(""), Err(ScopeError::Empty));
    assert_eq!(ScopeRequirement::parse("a |"), Err(ScopeError::Empty));
    assert_eq!(
        ScopeRequirement::parse("a\"b"),
        Err(ScopeError::InvalidToken)
    );
    let r = ScopeRequirement::parse(" a  b|c ").unwrap();
    assert_eq!(r.to_string(), "a b | c");
    assert_eq!(
        r.clone()
            .or(ScopeRequirement::parse("d").unwrap())
            .to_string(),
        "a b | c | d"
    );
}

#[test]
fn principal_carries_typed_attributes() {
    #[derive(Clone, Debug, PartialEq)]
    struct Tenant(u32);
    let p = Principal::new("alice", CredentialKind::Jwt).with_attribute(Tenant(7));
    assert_eq!(p.attribute::<Tenant>(), Some(&Tenant(7)));
    assert_eq!(p.kind().as_str(), "jwt");
}
