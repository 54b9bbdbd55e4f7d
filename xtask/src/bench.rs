//! `cargo xtask bench`: runs the criterion suite and reports each hot path beside its peer and
//! its floor, as ratios.
//!
//! Convention in `benches/benches/*.rs`: one criterion group per operation; in a group, a
//! function id starting with `peer` is the peer a user would pick instead, one starting with
//! `floor` is the raw primitive that bounds both from below, and every other id is an auth-rs
//! row. The report is printed, and written as `target/bench/report.{json,md}` and a bar chart
//! `target/bench/ratios.svg`; `--record` also copies table and chart into `benches/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::{cargo, run};

/// One auth-rs row with its group's peer and floor.
#[derive(Debug, Clone)]
struct Row {
    operation: String,
    name: String,
    ns: f64,
    peer: Option<(String, f64)>,
    floor: Option<(String, f64)>,
}

impl Row {
    fn vs_peer(&self) -> Option<f64> {
        self.peer.as_ref().map(|(_, p)| self.ns / p)
    }

    fn vs_floor(&self) -> Option<f64> {
        self.floor.as_ref().map(|(_, f)| self.ns / f)
    }
}

pub(crate) fn bench(root: &Path, args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let record = args.iter().any(|a| a == "--record");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();

    let out = root.join("target").join("bench");
    let home = out.join("criterion");
    // A clean slate, so the report holds exactly this run.
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).map_err(|e| format!("create {}: {e}", home.display()))?;

    let mut cmd = cargo();
    cmd.args(["bench", "--locked", "--package", "benches", "--"])
        .env("CRITERION_HOME", &home);
    if quick {
        cmd.args([
            "--warm-up-time",
            "0.3",
            "--measurement-time",
            "1",
            "--sample-size",
            "20",
        ]);
    }
    for f in &filters {
        cmd.arg(f);
    }
    run(root, "cargo bench", &mut cmd)?;

    let rows = collect(&home)?;
    if rows.is_empty() {
        return Err("no benchmark results found".to_owned());
    }
    let machine = machine();
    let command = format!(
        "cargo xtask bench{}{}",
        if quick { " --quick" } else { "" },
        filters.iter().fold(String::new(), |s, f| s + " " + f)
    );
    let table = markdown_table(&rows);
    #[allow(clippy::print_stdout)]
    {
        println!("\n{}", text_table(&rows));
    }
    let report = json!({
        "machine": machine,
        "command": command,
        "rows": rows.iter().map(|r| json!({
            "operation": r.operation,
            "auth_rs": r.name,
            "auth_rs_ns": r.ns,
            "peer": r.peer.as_ref().map(|p| &p.0),
            "peer_ns": r.peer.as_ref().map(|p| p.1),
            "floor": r.floor.as_ref().map(|f| &f.0),
            "floor_ns": r.floor.as_ref().map(|f| f.1),
            "ratio_to_peer": r.vs_peer(),
            "ratio_to_floor": r.vs_floor(),
        })).collect::<Vec<_>>(),
    });
    let write = |name: &str, contents: &str| {
        std::fs::write(out.join(name), contents).map_err(|e| format!("write {name}: {e}"))
    };
    write(
        "report.json",
        &serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?,
    )?;
    let md = format!(
        "Measured on {machine}, with `{command}`. Times are criterion medians; ratios below 1 \
         mean auth-rs is faster.\n\n{table}\n![ratios](ratios.svg)\n"
    );
    write("report.md", &md)?;
    write("ratios.svg", &svg(&rows))?;
    eprintln!(
        "report written to {}/report.{{json,md}} and ratios.svg",
        out.display()
    );

    if record {
        let readme = root.join("benches").join("README.md");
        let text = std::fs::read_to_string(&readme).map_err(|e| format!("read README: {e}"))?;
        let (start, end) = ("<!-- bench:start -->", "<!-- bench:end -->");
        let (Some(i), Some(j)) = (text.find(start), text.find(end)) else {
            return Err(format!(
                "{} lacks the {start} / {end} markers",
                readme.display()
            ));
        };
        let updated = format!("{}{start}\n{md}{}", &text[..i], &text[j..]);
        std::fs::write(&readme, updated).map_err(|e| format!("write README: {e}"))?;
        std::fs::write(root.join("benches").join("ratios.svg"), svg(&rows))
            .map_err(|e| format!("write svg: {e}"))?;
        eprintln!("recorded in benches/README.md and benches/ratios.svg");
    }
    Ok(())
}

/// Reads every `*/new/benchmark.json` + `estimates.json` under criterion's home.
fn collect(home: &Path) -> Result<Vec<Row>, String> {
    let mut found: Vec<(String, String, f64)> = Vec::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "benchmark.json")
                && path
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n == "new")
            {
                let meta = read_json(&path)?;
                let est = read_json(&path.with_file_name("estimates.json"))?;
                let group = meta["group_id"].as_str().unwrap_or_default().to_owned();
                let mut function = meta["function_id"].as_str().unwrap_or_default().to_owned();
                if let Some(v) = meta["value_str"].as_str() {
                    function = format!("{function}/{v}");
                }
                if let Some(ns) = est["median"]["point_estimate"].as_f64() {
                    found.push((group, function, ns));
                }
            }
        }
    }
    found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut rows = Vec::new();
    let mut groups: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    groups.dedup();
    for group in groups {
        let members: Vec<_> = found.iter().filter(|f| f.0 == group).collect();
        let pick = |prefix: &str| {
            members
                .iter()
                .find(|f| f.1.starts_with(prefix))
                .map(|f| (f.1.clone(), f.2))
        };
        let (peer, floor) = (pick("peer"), pick("floor"));
        for m in &members {
            if !m.1.starts_with("peer") && !m.1.starts_with("floor") {
                rows.push(Row {
                    operation: group.to_owned(),
                    name: m.1.clone(),
                    ns: m.2,
                    peer: peer.clone(),
                    floor: floor.clone(),
                });
            }
        }
    }
    Ok(rows)
}

fn read_json(path: &PathBuf) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("parse {}: {e}", path.display()))
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1_000_000.0)
    } else if ns >= 1_000.0 {
        format!("{:.2} µs", ns / 1_000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}×"))
}

fn cells(r: &Row) -> [String; 6] {
    [
        format!("{}: {}", r.operation, r.name),
        fmt_ns(r.ns),
        r.peer.as_ref().map_or_else(
            || "–".to_owned(),
            |(n, ns)| format!("{} ({n})", fmt_ns(*ns)),
        ),
        r.floor.as_ref().map_or_else(
            || "–".to_owned(),
            |(n, ns)| format!("{} ({n})", fmt_ns(*ns)),
        ),
        fmt_ratio(r.vs_peer()),
        fmt_ratio(r.vs_floor()),
    ]
}

const HEADERS: [&str; 6] = [
    "operation",
    "auth-rs",
    "peer",
    "floor",
    "vs peer",
    "vs floor",
];

fn markdown_table(rows: &[Row]) -> String {
    let mut out = format!("| {} |\n|{}\n", HEADERS.join(" | "), "---|".repeat(6));
    for r in rows {
        let _ = writeln!(out, "| {} |", cells(r).join(" | "));
    }
    out
}

fn text_table(rows: &[Row]) -> String {
    let all: Vec<[String; 6]> = rows.iter().map(cells).collect();
    let width = |i: usize| {
        all.iter()
            .map(|c| c[i].chars().count())
            .chain([HEADERS[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..6).map(width).collect();
    let line = |c: &[String]| {
        c.iter()
            .zip(&widths)
            .map(|(s, w)| format!("{s:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(&HEADERS.map(str::to_owned));
    out.push('\n');
    for c in &all {
        out.push_str(&line(c));
        out.push('\n');
    }
    out
}

/// A horizontal bar chart of each row's ratio to its peer and to its floor, with the 1× line.
fn svg(rows: &[Row]) -> String {
    let label_w = 360.0;
    let chart_w = 420.0;
    let row_h = 34.0;
    let top = 40.0;
    let max = rows
        .iter()
        .flat_map(|r| [r.vs_peer(), r.vs_floor()])
        .flatten()
        .fold(1.5_f64, f64::max)
        .min(20.0);
    let x = |ratio: f64| label_w + chart_w * (ratio.min(max) / max);
    let height = top + row_h * rows.len() as f64 + 30.0;
    let width = label_w + chart_w + 80.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">auth-rs time ÷ peer (blue) and ÷ floor (grey); \
         left of the 1× line is faster</text>\n"
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + row_h * i as f64;
        let label = xml_escape(&format!("{}: {}", r.operation, r.name));
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
            label_w - 8.0,
            y + 16.0
        );
        for (k, (ratio, color)) in [(r.vs_peer(), "#3b6fb6"), (r.vs_floor(), "#9a9a9a")]
            .into_iter()
            .enumerate()
        {
            if let Some(ratio) = ratio {
                let by = y + 4.0 + 13.0 * k as f64;
                let _ = writeln!(
                    s,
                    "<rect x=\"{label_w}\" y=\"{by}\" width=\"{:.1}\" height=\"11\" fill=\"{color}\"/>\
                     <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{ratio:.2}×</text>",
                    x(ratio) - label_w,
                    x(ratio) + 4.0,
                    by + 9.5
                );
            }
        }
    }
    let one = x(1.0);
    let _ = writeln!(
        s,
        "<line x1=\"{one:.1}\" y1=\"{}\" x2=\"{one:.1}\" y2=\"{}\" stroke=\"#c0392b\" \
         stroke-dasharray=\"4 3\"/><text x=\"{one:.1}\" y=\"{}\" text-anchor=\"middle\" \
         fill=\"#c0392b\">1×</text>\n</svg>",
        top - 6.0,
        height - 22.0,
        height - 8.0
    );
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {rustc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ns: f64, peer: Option<f64>, floor: Option<f64>) -> Row {
        Row {
            operation: "op".into(),
            name: "auth-rs".into(),
            ns,
            peer: peer.map(|p| ("peer: x".into(), p)),
            floor: floor.map(|f| ("floor: y".into(), f)),
        }
    }

    #[test]
    fn ratios_and_tables() {
        let r = row(50.0, Some(100.0), Some(25.0));
        assert_eq!(r.vs_peer(), Some(0.5));
        assert_eq!(r.vs_floor(), Some(2.0));
        let md = markdown_table(&[r.clone(), row(2_500.0, None, None)]);
        assert!(md.contains("| op: auth-rs | 50.0 ns | 100.0 ns (peer: x) | 25.0 ns (floor: y) | 0.50× | 2.00× |"), "{md}");
        assert!(
            md.contains("| op: auth-rs | 2.50 µs | – | – | – | – |"),
            "{md}"
        );
        let svg = svg(&[r]);
        assert!(
            svg.starts_with("<svg") && svg.contains("0.50×") && svg.trim_end().ends_with("</svg>")
        );
    }

    #[test]
    fn collects_criterion_output() {
        let home = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let write = |dir: &str, func: &str, ns: f64| {
            let d = home.join(dir).join("new");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(
                d.join("benchmark.json"),
                json!({"group_id": "g", "function_id": func, "value_str": null}).to_string(),
            )
            .unwrap();
            std::fs::write(
                d.join("estimates.json"),
                json!({"median": {"point_estimate": ns}}).to_string(),
            )
            .unwrap();
        };
        write("g/a", "auth-rs thing", 10.0);
        write("g/p", "peer: other", 20.0);
        write("g/f", "floor: raw", 5.0);
        let rows = collect(&home).unwrap();
        std::fs::remove_dir_all(&home).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].vs_peer(), Some(0.5));
        assert_eq!(rows[0].vs_floor(), Some(2.0));
    }
}
