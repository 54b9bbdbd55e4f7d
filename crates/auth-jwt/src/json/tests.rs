//! The reader against serde_json, and its edge cases.

use super::*;

fn string(json: &str) -> Result<Cow<'_, str>, JsonError> {
    let mut p = Parser::new(json.as_bytes())?;
    let s = p.string()?;
    p.end()?;
    Ok(s)
}

#[test]
fn duplicates_are_found_at_any_depth() {
    assert!(check_unique(br#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_ok());
    assert!(check_unique(br#"{"a":1,"a":2}"#).is_err());
    assert!(check_unique(br#"{"a":{"b":1,"b":1}}"#).is_err());
    assert!(check_unique(br#"[{"x":1,"x":1}]"#).is_err());
    // An escaped name equal to a plain one is the same name.
    assert!(check_unique(br#"{"alg":1,"\u0061lg":2}"#).is_err());
    // Past the inline names too.
    let many: Vec<String> = (0..40).map(|i| format!("\"m{i}\":{i}")).collect();
    let ok = format!("{{{}}}", many.join(","));
    assert!(check_unique(ok.as_bytes()).is_ok());
    let dup = format!("{{{},\"m3\":0}}", many.join(","));
    let err = check_unique(dup.as_bytes()).unwrap_err().to_string();
    assert!(err.starts_with("duplicate member \"m3\""), "{err}");
}

#[test]
fn trailing_data_is_refused() {
    assert!(check_unique(b" {\"a\":1} \r\n\t").is_ok());
    assert!(check_unique(br#"{"a":1} x"#).is_err());
    assert!(check_unique(br#"{"a":1}{"b":2}"#).is_err());
}

#[test]
fn deep_nesting_does_not_overflow() {
    let deep = "[".repeat(100_000);
    assert!(check_unique(deep.as_bytes()).is_err());
    // serde_json's limit: 127 levels read, the 128th refused (fuzz target strict_json).
    let ok = format!("{}{}", "[".repeat(127), "]".repeat(127));
    assert!(check_unique(ok.as_bytes()).is_ok());
    let over = format!("{}{}", "[".repeat(128), "]".repeat(128));
    assert!(check_unique(over.as_bytes()).is_err());
}

#[test]
fn strings_and_escapes() {
    assert!(matches!(string(r#""plain""#), Ok(Cow::Borrowed("plain"))));
    assert_eq!(string(r#""é\u00e9\n\"\\\/""#).unwrap(), "éé\n\"\\/");
    assert_eq!(string(r#""\ud83d\ude00""#).unwrap(), "😀");
    assert_eq!(string(r#""\u0000""#).unwrap(), "\0");
    for bad in [
        r#""\ud83d""#,
        r#""\ud83d\u0041""#,
        r#""\ude00""#,
        r#""\u12""#,
        r#""\u12g4""#,
        r#""\x""#,
        "\"a\u{1}\"",
        r#""open"#,
        r#""\"#,
        "'single'",
    ] {
        assert!(string(bad).is_err(), "{bad}");
    }
}

#[test]
fn numbers() {
    let num = |s: &str| {
        let mut p = Parser::new(s.as_bytes())?;
        let n = p.number()?;
        p.end().map(|()| n)
    };
    assert_eq!(num("0"), Ok(Number::Unsigned(0)));
    assert_eq!(num("1700000000"), Ok(Number::Unsigned(1_700_000_000)));
    assert_eq!(num("18446744073709551615"), Ok(Number::Unsigned(u64::MAX)));
    assert_eq!(
        num("18446744073709551616"),
        Ok(Number::Float(1.8446744073709552e19))
    );
    assert_eq!(num("-5"), Ok(Number::Float(-5.0)));
    assert_eq!(num("1.5e9"), Ok(Number::Float(1.5e9)));
    assert_eq!(num("2E-1"), Ok(Number::Float(0.2)));
    // Past f64's range, refused as serde_json refuses it (found by fuzz target
    // strict_json), beside the largest finite and a tiny one, which read.
    assert_eq!(num("1.7976931348623157e308"), Ok(Number::Float(f64::MAX)));
    assert_eq!(num("1e-400"), Ok(Number::Float(0.0)));
    let big = format!("1{}", "0".repeat(400));
    assert!(num("1e400").is_err() && num("-1e400").is_err() && num(&big).is_err());
    assert!(check_unique(br#"{"a":[1e400]}"#).is_err());
    assert!(check_unique(br#"{"a":[1e300]}"#).is_ok());
    for bad in [
        "01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1_0", "NaN", "inf", "--1",
    ] {
        assert!(num(bad).is_err(), "{bad}");
    }
}

/// Our reader and serde_json accept the same texts (ours also refuses duplicates, which
/// these texts never have).
#[test]
fn agrees_with_serde_json() {
    let pieces = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"a\"",
        "\"b\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\",
        "0",
        "-1",
        "1.5",
        "1e3",
        "-",
        ".",
        "e",
        "true",
        "false",
        "null",
        "nul",
        " ",
        "\n",
        "\u{0}",
        "é",
        "\"",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut agreed = 0;
    for _ in 0..200_000 {
        let len = next() % 9;
        let text: String = (0..len)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
        let ours = check_unique(text.as_bytes());
        if ours.is_ok() != theirs {
            // The one difference allowed: a duplicate member, which serde_json keeps.
            let dup = ours
                .as_ref()
                .is_err_and(|e| e.what.starts_with("duplicate member"));
            assert!(dup, "{text:?}: ours {ours:?}, serde_json ok: {theirs}");
        }
        agreed += usize::from(theirs);
    }
    assert!(agreed > 1000, "too few valid texts generated: {agreed}");
}

#[test]
fn duplicate_paths_at_any_depth() {
    let dups = |json: &str| duplicate_members(json.as_bytes()).unwrap();
    assert!(dups(r#"{"a":1,"b":{"c":[{"d":1}]}}"#).is_empty());
    assert_eq!(dups(r#"{"sub":"a","sub":"b"}"#), ["sub"]);
    assert_eq!(dups(r#"{"a":{"b":1,"b":2}}"#), ["a.b"]);
    assert_eq!(dups(r#"{"l":[{"x":1,"x":1}]}"#), ["l[0].x"]);
    assert_eq!(dups(r#"[{"x":1},{"x":1,"x":1}]"#), ["[1].x"]);
    assert_eq!(dups(r#"{"alg":1,"\u0061lg":2}"#), ["alg"]);
    assert_eq!(dups(r#"{"a":1,"a":2,"a":3}"#), ["a", "a"]);
    assert!(duplicate_members(b"{\"a\":1} x").is_err());
    assert!(duplicate_members(b"{\"a\":").is_err());
    // The same texts through check_unique: refused exactly when a path is reported.
    for json in [r#"{"a":1,"b":{"c":[{"d":1}]}}"#, r#"{"l":[{"x":1,"x":1}]}"#] {
        assert_eq!(
            check_unique(json.as_bytes()).is_ok(),
            dups(json).is_empty(),
            "{json}"
        );
    }
}

#[test]
fn arrays_of_strings_are_read_again_as_written() {
    let read = |json: &str| {
        let mut p = Parser::new(json.as_bytes()).unwrap();
        let list = p.strings().unwrap();
        p.end().unwrap();
        list.iter().map(Cow::into_owned).collect::<Vec<_>>()
    };
    assert_eq!(read(r#"[ "a" , "b\u0063" ,"" ]"#), ["a", "bc", ""]);
    assert_eq!(read("[ ]"), Vec::<String>::new());
    assert_eq!(read(r#""one""#), ["one"]);
    // A mistyped array is refused when read, so it is never iterated.
    let mut p = Parser::new(br#"["a",1]"#).unwrap();
    assert!(p.strings().is_err());
}

#[test]
fn a_member_is_found_as_its_json_text() {
    let json = r#"{ "a" : {"x":[1,"\""]} , "b":"s\"t", "c\u0064":7, "e":null }"#;
    assert_eq!(member(json, "a"), Some(r#"{"x":[1,"\""]}"#));
    assert_eq!(member(json, "b"), Some(r#""s\"t""#));
    assert_eq!(member(json, "cd"), Some("7"));
    assert_eq!(member(json, "e"), Some("null"));
    assert_eq!(member(json, "x"), None);
    assert_eq!(member("{}", "a"), None);
}
