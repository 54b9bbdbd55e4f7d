//! What a load run measured (latencies, statuses, errors) and the figures drawn from it:
//! throughput, nearest-rank percentiles, the text and JSON reports, the comparison of two runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

/// Distinct error messages kept per run; the rest are counted under one name.
const ERROR_KINDS: usize = 16;

/// The issue #19 goal for the gateway against its upstream reached directly.
const GOAL_RATIO: f64 = 0.7;
const GOAL_P99_ADDED_MS: f64 = 1.0;

/// What one connection's task saw inside the measured window (connections: the whole run).
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Each response's latency, from sending the request to the body's end, in µs.
    pub(super) latencies_us: Vec<u32>,
    pub(super) statuses: BTreeMap<u16, u64>,
    pub(super) errors: BTreeMap<String, u64>,
    pub(super) connects: u64,
    pub(super) body_bytes: u64,
}

impl Tally {
    pub(super) fn response(&mut self, status: u16, latency: Duration, bytes: u64) {
        let us = u32::try_from(latency.as_micros()).unwrap_or(u32::MAX);
        self.latencies_us.push(us);
        *self.statuses.entry(status).or_default() += 1;
        self.body_bytes += bytes;
    }

    pub(super) fn error(&mut self, what: String) {
        self.errors_of(what, 1);
    }

    fn errors_of(&mut self, what: String, n: u64) {
        let key = if self.errors.len() < ERROR_KINDS || self.errors.contains_key(&what) {
            what
        } else {
            "other errors".to_owned()
        };
        *self.errors.entry(key).or_default() += n;
    }

    pub(super) fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        for (what, n) in other.errors {
            self.errors_of(what, n);
        }
        self.connects += other.connects;
        self.body_bytes += other.body_bytes;
    }
}

/// Latency percentiles of one run, in µs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Latency {
    pub(crate) p50: u32,
    pub(crate) p90: u32,
    pub(crate) p99: u32,
    pub(crate) p99_9: u32,
    pub(crate) max: u32,
    pub(crate) mean: f64,
}

impl Latency {
    /// Sorts `samples`; `None` when there are none.
    pub(super) fn of(samples: &mut [u32]) -> Option<Self> {
        samples.sort_unstable();
        let at = |basis_points| percentile(samples, basis_points);
        let sum: u64 = samples.iter().map(|&s| u64::from(s)).sum();
        Some(Self {
            p50: at(5_000)?,
            p90: at(9_000)?,
            p99: at(9_900)?,
            p99_9: at(9_990)?,
            max: *samples.last()?,
            mean: sum as f64 / samples.len() as f64,
        })
    }
}

/// Nearest rank: the smallest sample with at least `basis_points` / 10,000 of the samples at
/// or below it. Integer arithmetic, so p99.9 of 1,000 samples is the 999th, not the 1,000th.
pub(super) fn percentile(sorted: &[u32], basis_points: u64) -> Option<u32> {
    let n = sorted.len() as u64;
    let rank = (n * basis_points).div_ceil(10_000).max(1);
    sorted.get(usize::try_from(rank - 1).ok()?).copied()
}

/// One run's summary.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) url: String,
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
    /// Responses read to their end inside the measured window.
    pub(crate) requests: u64,
    pub(crate) requests_per_s: f64,
    pub(crate) latency: Option<Latency>,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) errors: u64,
    pub(crate) error_kinds: BTreeMap<String, u64>,
    pub(crate) connects: u64,
    pub(crate) body_bytes: u64,
}

impl Report {
    pub(super) fn new(
        url: &str,
        connections: usize,
        warmup: Duration,
        duration: Duration,
        mut tally: Tally,
    ) -> Self {
        let requests = tally.latencies_us.len() as u64;
        Self {
            url: url.to_owned(),
            connections,
            warmup,
            duration,
            requests,
            requests_per_s: requests as f64 / duration.as_secs_f64(),
            latency: Latency::of(&mut tally.latencies_us),
            statuses: tally.statuses,
            errors: tally.errors.values().sum(),
            error_kinds: tally.errors,
            connects: tally.connects,
            body_bytes: tally.body_bytes,
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "url": self.url,
            "connections": self.connections,
            "warmup_s": self.warmup.as_secs_f64(),
            "duration_s": self.duration.as_secs_f64(),
            "requests": self.requests,
            "requests_per_s": round(self.requests_per_s, 1),
            "latency_us": self.latency.map(|l| json!({
                "p50": l.p50,
                "p90": l.p90,
                "p99": l.p99,
                "p99_9": l.p99_9,
                "max": l.max,
                "mean": round(l.mean, 1),
            })),
            "statuses": self.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "connects": self.connects,
            "body_bytes": self.body_bytes,
        })
    }

    /// Several lines, each indented, headed by `label`.
    pub(crate) fn text(&self, label: &str) -> String {
        let plural = |n: u64, one: &str| {
            if n == 1 {
                one.to_owned()
            } else {
                format!("{one}s")
            }
        };
        let mut out = format!(
            "{label}GET {}: {} {}, {} s after {} s of warmup\n",
            self.url,
            self.connections,
            plural(self.connections as u64, "connection"),
            secs(self.duration),
            secs(self.warmup),
        );
        let _ = writeln!(
            out,
            "  throughput  {:.1} requests/s ({} {}, {} {} opened)",
            self.requests_per_s,
            self.requests,
            plural(self.requests, "response"),
            self.connects,
            plural(self.connects, "connection"),
        );
        let _ = match self.latency {
            Some(l) => writeln!(
                out,
                "  latency     p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {:.3} ms)",
                ms(l.p50),
                ms(l.p90),
                ms(l.p99),
                ms(l.p99_9),
                ms(l.max),
                l.mean / 1000.0,
            ),
            None => writeln!(out, "  latency     - (no response)"),
        };
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        let _ = writeln!(
            out,
            "  statuses    {}",
            if statuses.is_empty() {
                "-".to_owned()
            } else {
                statuses.join(", ")
            }
        );
        let _ = writeln!(out, "  errors      {}", self.errors);
        for (what, n) in &self.error_kinds {
            let _ = writeln!(out, "    {n} x {what}");
        }
        out
    }
}

/// The gateway's run against the upstream's: throughput ratio and the p99 it adds.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    pub(crate) direct: Report,
    pub(crate) proxied: Report,
}

impl Comparison {
    /// Proxied requests/s over direct requests/s.
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.direct.requests_per_s > 0.0)
            .then(|| self.proxied.requests_per_s / self.direct.requests_per_s)
    }

    /// Proxied p99 minus direct p99, in ms.
    pub(crate) fn p99_added_ms(&self) -> Option<f64> {
        let (d, p) = (self.direct.latency?, self.proxied.latency?);
        Some((f64::from(p.p99) - f64::from(d.p99)) / 1000.0)
    }

    /// Whether the issue #19 goal is met: at least 0.7x the throughput, under 1 ms at p99.
    pub(crate) fn meets_goal(&self) -> Option<bool> {
        Some(self.ratio()? >= GOAL_RATIO && self.p99_added_ms()? < GOAL_P99_ADDED_MS)
    }

    /// "proxied keeps 0.83x of direct throughput, adds 0.210 ms at p99 ..."
    pub(crate) fn summary(&self) -> String {
        let (Some(ratio), Some(added)) = (self.ratio(), self.p99_added_ms()) else {
            return "no comparison: a run had no response".to_owned();
        };
        let met = if self.meets_goal() == Some(true) {
            "met"
        } else {
            "not met"
        };
        let p99 = if added < 0.0 {
            format!("is {:.3} ms faster at p99", -added)
        } else {
            format!("adds {added:.3} ms at p99")
        };
        format!(
            "proxied keeps {ratio:.2}x of direct throughput, {p99} \
             (goal: at least {GOAL_RATIO}x and under {GOAL_P99_ADDED_MS} ms: {met})"
        )
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "direct": self.direct.json(),
            "proxied": self.proxied.json(),
            "throughput_ratio": self.ratio().map(|r| round(r, 3)),
            "p99_added_ms": self.p99_added_ms().map(|a| round(a, 3)),
            "goal": {
                "min_throughput_ratio": GOAL_RATIO,
                "max_p99_added_ms": GOAL_P99_ADDED_MS,
                "met": self.meets_goal(),
            },
        })
    }
}

fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

fn ms(us: u32) -> String {
    format!("{:.3} ms", f64::from(us) / 1000.0)
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&sorted, 5_000), Some(500));
        assert_eq!(percentile(&sorted, 9_000), Some(900));
        assert_eq!(percentile(&sorted, 9_900), Some(990));
        assert_eq!(percentile(&sorted, 9_990), Some(999));
        assert_eq!(percentile(&sorted, 10_000), Some(1000));
        assert_eq!(percentile(&sorted, 0), Some(1));
        // Few samples: the rank rounds up, never past the last.
        assert_eq!(percentile(&[7], 9_990), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 5_000), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 5_000), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 9_900), Some(4));
        assert_eq!(percentile(&[], 5_000), None);
    }

    #[test]
    fn latency_sorts_the_merged_samples() {
        let mut a = Tally::default();
        let mut b = Tally::default();
        for us in [30, 10, 20] {
            a.response(200, Duration::from_micros(us), 5);
        }
        for us in [50, 40] {
            b.response(503, Duration::from_micros(us), 0);
        }
        b.error("connect: refused".to_owned());
        a.merge(b);
        let report = Report::new("u", 2, Duration::ZERO, Duration::from_secs(2), a);
        assert_eq!(report.requests, 5);
        assert!((report.requests_per_s - 2.5).abs() < 1e-9);
        assert_eq!(report.statuses, BTreeMap::from([(200, 3), (503, 2)]));
        assert_eq!((report.errors, report.body_bytes), (1, 15));
        let l = report.latency.expect("samples");
        assert_eq!((l.p50, l.p90, l.max), (30, 50, 50));
        assert!((l.mean - 30.0).abs() < 1e-9);
        assert_eq!(report.json()["statuses"]["503"], 2);
        assert!(report.text("").contains("200: 3, 503: 2"));
    }

    #[test]
    fn error_kinds_are_capped() {
        let mut t = Tally::default();
        for i in 0..40 {
            t.error(format!("error {}", i % 20));
        }
        assert_eq!(t.errors.len(), ERROR_KINDS + 1);
        assert_eq!(t.errors.values().sum::<u64>(), 40);
        assert_eq!(t.errors["other errors"], 8);
    }

    #[test]
    fn comparison_reports_ratio_and_p99() {
        let run = |rps_requests: u64, p99_us: u64| {
            let mut t = Tally::default();
            for _ in 0..rps_requests {
                t.response(200, Duration::from_micros(p99_us), 0);
            }
            Report::new("u", 1, Duration::ZERO, Duration::from_secs(1), t)
        };
        let c = Comparison {
            direct: run(1000, 400),
            proxied: run(830, 610),
        };
        assert_eq!(
            c.summary(),
            "proxied keeps 0.83x of direct throughput, adds 0.210 ms at p99 \
             (goal: at least 0.7x and under 1 ms: met)"
        );
        assert_eq!(c.json()["throughput_ratio"], 0.83);
        let slow = Comparison {
            direct: run(1000, 400),
            proxied: run(600, 610),
        };
        assert_eq!(slow.meets_goal(), Some(false));
        let faster = Comparison {
            direct: run(1000, 400),
            proxied: run(900, 350),
        };
        assert!(
            faster
                .summary()
                .contains("0.90x of direct throughput, is 0.050 ms faster at p99")
        );
        let none = Comparison {
            direct: run(0, 0),
            proxied: run(10, 10),
        };
        assert_eq!(none.meets_goal(), None);
    }
}
