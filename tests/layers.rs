//! The layering cannot rot silently: this reads every `crate::…` path in the production code
//! of `src/` (test modules left out) and fails on an import the design forbids, or on a circle
//! between top-level modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `(from, to, why)`: top-level modules that must never import each other.
const NEVER: &[(&str, &str, &str)] = &[
    (
        "analysis",
        "sources",
        "analysis does no I/O and does not know where data came from",
    ),
    ("analysis", "tui", "numbers never depend on the screen"),
    (
        "analysis",
        "report",
        "the report presents numbers, it does not make them",
    ),
    (
        "analysis",
        "model",
        "analysis reads stores, not the reducer",
    ),
    ("expo", "store", "the parser knows nothing of time"),
    ("expo", "model", "the parser knows nothing of targets"),
    ("store", "sources", "the store is fed, it fetches nothing"),
    ("store", "model", "the store is below the reducer"),
    (
        "model",
        "sources",
        "the reducer hears events, it does not know who sent them",
    ),
    ("model", "tui", "the reducer never draws"),
    ("model", "report", "the reducer never renders"),
    (
        "sources",
        "model",
        "sources say what they saw; the model is not theirs to touch",
    ),
    (
        "sources",
        "analysis",
        "sources say what they saw, they do not judge it",
    ),
    (
        "sources",
        "store",
        "sources say what they saw; storing it is the model's",
    ),
    ("sources", "tui", "sources never draw"),
    ("report", "tui", "headless never pulls in the terminal"),
    ("catalog", "analysis", "the catalog is data"),
    (
        "packet",
        "model",
        "a packet holds what came off the wire, not what was made of it",
    ),
    (
        "packet",
        "analysis",
        "a packet holds what came off the wire, not what was made of it",
    ),
    ("packet", "tui", "packets are read and written headless"),
    (
        "packet",
        "sources",
        "a packet is written from events, it fetches nothing",
    ),
    ("catalog", "store", "the catalog is data"),
    (
        "serve",
        "model",
        "serving answers what was recorded, it computes nothing",
    ),
    (
        "serve",
        "analysis",
        "serving answers what was recorded, it computes nothing",
    ),
    ("serve", "tui", "serving is headless"),
    ("serve", "sources", "serving answers, it fetches nothing"),
];

/// Modules that import nothing of the crate.
const LEAVES: &[&str] = &["vocab", "units", "testgen"];

/// The production part of a file: everything before its first `#[cfg(test)]`.
fn production(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

/// Top-level modules `text` refers to (`crate::x…`, `crate::{x, y…}`), other than `module`.
fn referenced(text: &str, module: &str) -> BTreeSet<String> {
    let mut to = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|n| n.trim().split("::").next().unwrap_or(""))
                .collect(),
            None => {
                let name = rest
                    .split(|c: char| !c.is_alphanumeric() && c != '_')
                    .next()
                    .unwrap_or("");
                // `crate::metric!` is a macro at the crate's root, not a module.
                if rest[name.len()..].starts_with('!') {
                    continue;
                }
                vec![name]
            }
        };
        to.extend(
            names
                .into_iter()
                .filter(|n| !n.is_empty() && *n != module)
                .map(str::to_string),
        );
    }
    to
}

/// Top-level modules each top-level module refers to.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !rel.ends_with(".rs") || rel.ends_with("tests.rs") {
                continue;
            }
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            if module == "lib" || module == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let found = referenced(production(&text), &module);
            out.entry(module).or_default().extend(found);
        }
    }
    out
}

#[test]
fn no_forbidden_import() {
    let edges = edges();
    assert!(edges.contains_key("analysis") && edges.contains_key("vocab"));
    let mut broken = Vec::new();
    for (from, to, why) in NEVER {
        if edges.get(*from).is_some_and(|t| t.contains(*to)) {
            broken.push(format!("{from} → {to}: {why}"));
        }
    }
    for leaf in LEAVES {
        if let Some(t) = edges.get(*leaf).filter(|t| !t.is_empty()) {
            broken.push(format!("{leaf} is a leaf but imports {t:?}"));
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}

#[test]
fn no_circle_between_modules() {
    let edges = edges();
    // Depth-first search for a back edge, reporting the circle it closes.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(circle) = visit(m, &edges, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", circle.join(" → "));
        }
    }
}

/// The checker sees an edge where there is one, and none in test code (hand-written source).
#[test]
fn the_checker_finds_grouped_and_plain_paths() {
    let text = "use crate::{model::Model, store};\nfn f() { crate::sources::http::get(); crate::tui::x(); crate::named!(x); }\n#[cfg(test)]\nuse crate::report;";
    let found = referenced(production(text), "tui");
    assert_eq!(
        found,
        BTreeSet::from(["model", "store", "sources"].map(String::from))
    );
}
