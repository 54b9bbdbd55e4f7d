//! The fields written on the stack are byte for byte what the earlier `String` and
//! `format!` code wrote (kept here as the reference): for names that need escapes, sub-second
//! periods, several quotas, the legacy fields, each outcome, the largest numbers, values too
//! long for the stack, and quotas other than the ones the [`Headers`] were built for.

use std::fmt::Write as _;
use std::time::Duration;

use http::header::{HeaderMap, HeaderValue, RETRY_AFTER};

use super::{
    Headers, RATELIMIT, RATELIMIT_POLICY, STACK_FIELD, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING,
    X_RATELIMIT_RESET, ceil_secs, delay_seconds, push_sf_string,
};
use crate::{LimitDecision, Outcome, PolicyState, Quota};

/// The earlier `Headers::write`, verbatim but for taking the policy and `legacy` as
/// arguments.
fn reference(
    policy: &HeaderValue,
    legacy: bool,
    quotas: &[Quota],
    d: &LimitDecision,
    retry_after: bool,
) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(6);
    map.insert(RATELIMIT_POLICY, policy.clone());
    let mut value = String::with_capacity(32 * quotas.len());
    let mut binding: Option<(usize, u64)> = None;
    for (i, (q, p)) in quotas.iter().zip(d.policies()).enumerate() {
        if i > 0 {
            value.push_str(", ");
        }
        let mut t = ceil_secs(p.reset);
        if let Some(retry) = p.retry_after {
            t = t.max(ceil_secs(retry));
        }
        let r = p.remaining.min(u64::from(q.burst()));
        push_sf_string(&mut value, q.name());
        let _ = write!(value, ";r={r};t={t}");
        if binding.is_none_or(|(_, best)| r < best) {
            binding = Some((i, r));
        }
    }
    if value.is_empty() {
        return map;
    }
    if let Ok(v) = HeaderValue::from_str(&value) {
        map.insert(RATELIMIT, v);
    }
    if retry_after
        && d.outcome() == Outcome::Limited
        && let Some(retry) = d.retry_after()
    {
        map.insert(RETRY_AFTER, delay_seconds(retry));
    }
    if let (true, Some((i, r))) = (legacy, binding) {
        let state = d.policies().nth(i).unwrap_or_default();
        let quota = &quotas[i];
        map.insert(X_RATELIMIT_LIMIT, HeaderValue::from(quota.count()));
        map.insert(X_RATELIMIT_REMAINING, HeaderValue::from(r));
        map.insert(X_RATELIMIT_RESET, HeaderValue::from(ceil_secs(state.reset)));
    }
    map
}

/// The fields as (name, value) pairs in the map's order: equal maps of equal content.
fn fields(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
    map.iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect()
}

fn named(q: Quota, name: &str) -> Quota {
    q.named(name.to_owned()).unwrap()
}

/// Sets of quotas: escapes, sub-second periods, one to four quotas, a burst above the
/// count, names long enough that the value does not fit on the stack.
fn quota_sets() -> Vec<Vec<Quota>> {
    let second = || Quota::per_second(10).unwrap();
    vec![
        vec![second()],
        vec![Quota::new(5, Duration::from_millis(500)).unwrap()],
        vec![
            named(second(), r#"a"b"#),
            Quota::new(3, Duration::from_millis(1500)).unwrap(),
        ],
        vec![
            named(second(), r"back\slash"),
            named(Quota::per_minute(100).unwrap(), r#""\"#),
            Quota::per_hour(u32::MAX)
                .unwrap()
                .with_burst(u32::MAX)
                .unwrap(),
            named(
                Quota::per_day(7).unwrap().with_burst(9).unwrap(),
                " spaced ; out, ",
            ),
        ],
        vec![named(second(), &"n".repeat(STACK_FIELD))],
        vec![
            named(second(), &"\"".repeat(STACK_FIELD / 2)),
            named(Quota::per_minute(1).unwrap(), &"\\".repeat(STACK_FIELD / 3)),
        ],
        // Just below and at the stack's size.
        vec![named(second(), &"x".repeat(STACK_FIELD - 16))],
        vec![named(second(), &"x".repeat(STACK_FIELD - 14))],
    ]
}

/// Decisions for `n` quotas: each outcome, nothing left and the most left, resets of zero,
/// sub-second and the largest a decision holds, a refusal by one quota or by all.
fn decisions(n: usize) -> Vec<LimitDecision> {
    let state = |remaining, reset_nanos, retry_nanos: Option<u64>| {
        PolicyState::new(
            remaining,
            Duration::from_nanos(reset_nanos),
            retry_nanos.map(Duration::from_nanos),
        )
    };
    let all = |s: PolicyState| vec![s; n];
    let mut out = Vec::new();
    for outcome in [Outcome::Allowed, Outcome::Limited, Outcome::DryRunLimited] {
        for states in [
            all(state(0, 0, None)),
            all(state(u64::MAX, u64::MAX, None)),
            all(state(7, 1, Some(1))),
            all(state(0, 999_999_999, Some(1_000_000_001))),
            (0..n)
                .map(|i| {
                    state(
                        i as u64 * 3,
                        i as u64 * 700_000_000,
                        (i == 1).then_some(1_500_000_000),
                    )
                })
                .collect(),
        ] {
            out.push(LimitDecision::new(outcome, &states));
        }
    }
    // No state (a store that failed open): the policy alone.
    out.push(LimitDecision::new(Outcome::Allowed, &[]));
    out
}

#[test]
fn fields_are_byte_for_byte_the_earlier_formatting() {
    let mut compared = 0;
    for quotas in quota_sets() {
        for legacy in [false, true] {
            let headers = Headers::new(&quotas, legacy);
            for d in decisions(quotas.len()) {
                for retry_after in [true, false] {
                    let mut map = HeaderMap::new();
                    headers.write(&quotas, &d, &mut map, retry_after);
                    let expected = reference(&headers.policy, legacy, &quotas, &d, retry_after);
                    assert_eq!(fields(&map), fields(&expected), "{quotas:?} {d:?}");
                    assert!(map.len() <= headers.capacity(&d, retry_after));
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 8 * 2 * 16 * 2);
}

#[test]
fn quotas_other_than_the_headers_own_are_written_as_given() {
    // `for_decision` takes the quotas each time: the legacy limit cached per quota is used
    // only for a quota of the same count.
    let own = [Quota::per_second(10).unwrap()];
    let other = [
        named(Quota::per_minute(60).unwrap(), "m"),
        Quota::per_hour(5).unwrap(),
    ];
    let headers = Headers::new(&own, true);
    for d in decisions(other.len()) {
        let map = headers.for_decision(&other, &d);
        let expected = reference(&headers.policy, true, &other, &d, true);
        assert_eq!(fields(&map), fields(&expected), "{d:?}");
    }
}

#[test]
fn admitted_fields_fit_the_map_without_growing() {
    for legacy in [false, true] {
        let quotas = [Quota::per_second(10).unwrap()];
        let headers = Headers::new(&quotas, legacy);
        let d = LimitDecision::new(
            Outcome::Allowed,
            &[PolicyState::new(3, Duration::from_millis(700), None)],
        );
        let map = headers.for_decision(&quotas, &d);
        assert_eq!(map.len(), if legacy { 5 } else { 2 });
        assert!(map.capacity() >= map.len());
        assert_eq!(map[RATELIMIT], r#""10-per-1s";r=3;t=1"#);
    }
}
