//! Architecture invariant: within a crate, no modules import each other in a circle. A circle
//! means two files cannot be read, changed or tested one without the other; what they share
//! belongs in a third module both import.
//!
//! Read from the source text, as `crate::`, `super::` and `self::` paths outside comments,
//! each resolved to the file of the longest module path it names. A module and the modules
//! inside it (`verifier.rs` and `verifier/builder.rs`) are one unit and may name each other;
//! names taken from the crate root (`crate::Error`) are not followed, since the root only
//! re-exports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::tidy::{root, walk};

/// A module path (`["serve", "app"]`), with the crate root as the empty path.
type ModPath = Vec<String>;

/// The module path of `file` under a crate's `src` directory.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: ModPath = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The paths a source text names, as segment lists starting at `crate`, `super` or `self`:
/// those of its `use` trees, braces expanded, and those written inline in code.
fn named_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let after = &rest[at + 4..];
        let starts_a_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || c == ')' || c == ';' || c == '{');
        let Some(end) = after.find(';') else { break };
        if starts_a_word {
            use_tree(&after[..end], "", &mut paths);
        }
        rest = &after[end..];
    }
    paths.extend(
        code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map(str::to_owned),
    );
    paths
        .iter()
        .map(|p| {
            p.split("::")
                .map(str::trim)
                .take_while(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|segments| {
            segments.len() > 1 && matches!(segments[0].as_str(), "crate" | "super" | "self")
        })
        .collect()
}

/// The paths of a `use` tree (`a::{b, c::{d as e, f}}`) under `prefix`.
fn use_tree(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let mut depth = 0usize;
    let mut start = 0;
    let mut items = Vec::new();
    for (i, c) in tree.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&tree[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tree[start..]);
    for item in items.into_iter().map(str::trim).filter(|i| !i.is_empty()) {
        let joined = |tail: &str| match prefix {
            "" => tail.trim().to_owned(),
            _ => format!("{prefix}::{}", tail.trim()),
        };
        match (item.find('{'), item.rfind('}')) {
            (Some(open), Some(close)) if open < close => {
                let head = item[..open].trim().trim_end_matches("::");
                use_tree(&item[open + 1..close], &joined(head), out);
            }
            _ => out.push(joined(item.split(" as ").next().unwrap_or_default())),
        }
    }
}

/// The file-level import graph of one crate: file module path -> module paths it names.
fn graph(src: &Path) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut files = Vec::new();
    walk(src, &mut |p| {
        if p.extension().is_some_and(|e| e == "rs") {
            files.push(p.to_path_buf());
        }
    });
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let text = std::fs::read_to_string(file).unwrap();
        let mut to = BTreeSet::new();
        for path in named_paths(&text) {
            let mut base = from.clone();
            let mut rest = &path[..];
            match path[0].as_str() {
                "crate" => {
                    base.clear();
                    rest = &path[1..];
                }
                "self" => rest = &path[1..],
                _ => {
                    while rest.first().is_some_and(|s| s == "super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                }
            }
            let full: ModPath = base.iter().chain(rest).cloned().collect();
            let target = (0..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|m| modules.contains(m));
            if let Some(target) = target
                && !target.is_empty()
                && !target.starts_with(&from)
                && !from.starts_with(&target)
            {
                to.insert(target);
            }
        }
        edges.insert(from, to);
    }
    edges
}

/// The circles of a graph (Tarjan's strongly connected components of more than one node).
fn circles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'g> {
        edges: &'g BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g ModPath) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = s.edges.get_key_value(w) else {
                continue;
            };
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn crate_sources() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let mut found = Vec::new();
    let mut edges = 0;
    for src in crate_sources() {
        let g = graph(&src);
        edges += g.values().map(BTreeSet::len).sum::<usize>();
        for circle in circles(&g) {
            found.push(format!("{}: {circle:?}", src.display()));
        }
    }
    assert!(found.is_empty(), "module circles: {found:#?}");
    // The twin: the graph is real (the crates' modules do import each other).
    assert!(edges > 100, "only {edges} imports read");
}

/// The reader and the search on a made-up crate with one circle and one parent-child pair.
#[test]
fn a_circle_is_found_and_a_module_with_its_children_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("v")).unwrap();
    for (file, text) in [
        ("lib.rs", "mod a; mod b; mod c; mod v;\npub use a::A;"),
        (
            "a.rs",
            "use crate::b::B;\n/// [`crate::c::C`] in a comment is no import\n",
        ),
        ("b.rs", "use crate::{\n    c::{C, D as E},\n    x,\n};\n"),
        ("c.rs", "pub(crate) fn f() { super::a::g(); }\n"),
        ("v.rs", "mod inner;\nuse inner::X;\n"),
        ("v/inner.rs", "use super::Y;\nuse crate::c;\n"),
    ] {
        std::fs::write(src.join(file), text).unwrap();
    }
    let g = graph(src);
    let m = |s: &str| s.split('/').map(str::to_owned).collect::<ModPath>();
    assert_eq!(g[&m("a")], BTreeSet::from([m("b")]));
    assert_eq!(g[&m("b")], BTreeSet::from([m("c")]));
    assert_eq!(g[&m("c")], BTreeSet::from([m("a")]));
    assert_eq!(g[&m("v/inner")], BTreeSet::from([m("c")]));
    assert_eq!(circles(&g), vec![vec![m("c"), m("b"), m("a")]]);
    // Break the circle: none left.
    std::fs::write(src.join("c.rs"), "pub(crate) fn f() {}\n").unwrap();
    assert!(circles(&graph(src)).is_empty());
}
