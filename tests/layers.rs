//! The layering cannot rot silently. This reads the production code of both crates
//! (`crates/kvscope-core/src` and `src`; every item under `#[cfg(test)]` left out, comments and
//! string contents blanked) and resolves every path that starts with `crate::`, `super::` or
//! `kvscope_core::` to the file of the module it names. Then it fails on
//! - an import the design forbids between top-level modules ([`NEVER`]), or a leaf that imports;
//! - a circle at any level: between files, and between the modules of every folder (top-level
//!   modules of both crates included). A file using its own ancestor module (`super::`, or the
//!   ancestor by its full path) is not a circle; sibling files or modules that import each other
//!   in a loop are one. Between the crates the compiler already forbids any circle: the core
//!   does not depend on the `kvscope` package.
//!
//! The root crate re-exports the core's modules under their own names, so `crate::analysis` in
//! `src/` and `analysis` in the core are one module here.

#[path = "layers/graph.rs"]
mod graph;
#[path = "layers/source.rs"]
mod source;

use std::collections::{BTreeMap, BTreeSet};

use graph::{all_circles, circles, top_edges};
use source::{code_only, functions, paths, production};

/// `(from, to, why)`: top-level modules that must never import each other, in either crate.
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
    (
        "analysis",
        "packet",
        "numbers do not depend on how evidence travels",
    ),
    (
        "promql",
        "store",
        "PromQL is written from the catalog's names, not from what a store holds",
    ),
    (
        "promql",
        "model",
        "PromQL is written from the catalog's names, not from what a store holds",
    ),
    (
        "capacity",
        "store",
        "the curves are fed lookups, they read no store",
    ),
    (
        "capacity",
        "analysis",
        "the curves are a decoder's arithmetic: the report's section is made from them in analysis",
    ),
    (
        "rulefile",
        "sources",
        "a rule file is written from the rule pack, with no I/O",
    ),
    ("expo", "store", "the parser knows nothing of time"),
    ("expo", "model", "the parser knows nothing of targets"),
    ("store", "sources", "the store is fed, it fetches nothing"),
    ("store", "model", "the store is below the reducer"),
    (
        "evidence",
        "store",
        "decoders are leaves: bytes in, summaries out",
    ),
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
    ("catalog", "store", "the catalog is data"),
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
    (
        "fleet",
        "tui",
        "the fleet's numbers never depend on the screen",
    ),
    (
        "tui",
        "sources",
        "the screen draws pictures; the session fetches",
    ),
    (
        "tui",
        "packet",
        "recording and export belong to the session",
    ),
    ("tui", "report", "the screen does not write reports"),
    (
        "session",
        "tui",
        "the session is headless: it makes pictures, it does not draw them",
    ),
    ("session", "cli", "the session knows no command line"),
];

/// Lines a source file may have, tests included, and the files exempt by name.
const MAX_FILE_LINES: usize = 600;
const LONG_FILES: &[&str] = &[
    // The exposition parser, one pass over a body.
    "crates/kvscope-core/src/expo/mod.rs",
    // Every metric family as data.
    "crates/kvscope-core/src/catalog/table.rs",
];

/// Lines a production function may have, and the one exempt by name.
const MAX_FN_LINES: usize = 80;
const LONG_FNS: &[&str] = &["src/tui/keys.rs: default"];

/// Modules that import nothing of either crate.
const LEAVES: &[&str] = &["vocab", "units", "testgen"];

#[test]
fn no_forbidden_import() {
    let edges = top_edges();
    for m in ["analysis", "vocab", "tui", "sources", "model", "report"] {
        assert!(edges.contains_key(m), "{m} was not read");
    }
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
fn no_circle_at_any_level() {
    let found = all_circles();
    assert!(found.is_empty(), "import circles: {found:#?}");
}

/// Hand-written source: a `mod tests;` declaration at the top does not hide the production
/// code after it; a test block, its braces in strings and characters, comments and strings
/// are not read; grouped, nested and `super::` paths are.
#[test]
fn the_checker_reads_every_production_line_and_only_those() {
    let text = r#"//! Uses crate::report in a doc comment only.
#[cfg(test)]
mod tests;

use crate::{model::Model, store::{self, series::Series}};
use super::widgets::fit;
fn f() { let s = "crate::tui::x() {"; crate::sources::http::get(); crate::named!(x); }
#[cfg(test)]
mod more {
    const B: char = '{';
    use crate::fleet;
}
fn g<'a>(x: &'a str) -> kvscope_core::expo::Scrape<'a> { todo!() }
"#;
    let code = production(&code_only(text));
    let mut found: Vec<String> = paths(&code).iter().map(|p| p.join("::")).collect();
    found.sort();
    assert_eq!(
        found,
        [
            "crate::expo::Scrape",
            "crate::model::Model",
            "crate::named",
            "crate::sources::http::get",
            "crate::store",
            "crate::store::series::Series",
            "super::widgets::fit",
        ]
    );
}

/// The circle finder finds a loop of three and leaves a chain alone (hand-made graph).
#[test]
fn the_circle_finder_finds_loops_only() {
    let g: BTreeMap<&str, BTreeSet<&str>> = [
        ("a", BTreeSet::from(["b"])),
        ("b", BTreeSet::from(["c"])),
        ("c", BTreeSet::from(["a", "d"])),
        ("d", BTreeSet::from(["e"])),
        ("e", BTreeSet::new()),
    ]
    .into_iter()
    .collect();
    assert_eq!(circles(&g), vec![vec!["a", "b", "c"]]);
}

/// Every file over [`MAX_FILE_LINES`] and every production function over [`MAX_FN_LINES`],
/// as `path` and `path: name (N lines)`, but for those exempt by name.
fn oversized() -> Vec<(String, String)> {
    let top = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = [
        "src",
        "crates/kvscope-core/src",
        "tests",
        "benches",
        "examples",
    ]
    .iter()
    .map(|d| top.join(d))
    .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(top)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if !rel.ends_with(".rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES && !LONG_FILES.contains(&rel.as_str()) {
                out.push((rel.clone(), format!("{rel} ({lines} lines)")));
            }
            let production_file = (rel.starts_with("src/") || rel.starts_with("crates/"))
                && !rel.ends_with("tests.rs");
            if !production_file {
                continue;
            }
            for (name, _, n) in functions(&production(&code_only(&text))) {
                let key = format!("{rel}: {name}");
                if n > MAX_FN_LINES && !LONG_FNS.contains(&key.as_str()) {
                    out.push((key.clone(), format!("{key} ({n} lines)")));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn no_file_or_function_over_its_limit() {
    let over: Vec<String> = oversized().into_iter().map(|(_, shown)| shown).collect();
    assert!(over.is_empty(), "over the limit: {over:#?}");
}

/// Hand-written source: a function's length runs from `fn` to its closing brace, braces in
/// strings and test items left out; a declaration without a body is no function.
#[test]
fn functions_are_measured_whole() {
    let text = "fn a() {\n    let s = \"}}}\";\n    if x { y() }\n}\ntrait T { fn b(&self); }\n#[cfg(test)]\nmod tests {\n    fn c() {}\n}\n";
    let found = functions(&production(&code_only(text)));
    assert_eq!(found, vec![("a".to_string(), 1, 4)]);
}

/// ARCHITECTURE.md lists the forbidden edges as `NEVER` does, neither more nor fewer.
#[test]
fn the_architecture_lists_the_forbidden_edges() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ARCHITECTURE.md")).unwrap();
    let at = doc
        .find("\nForbidden (")
        .expect("ARCHITECTURE.md has the list");
    let mut listed = BTreeSet::new();
    for line in doc[at..]
        .lines()
        .skip(1)
        .skip_while(|l| !l.starts_with("- "))
    {
        let Some(edge) = line.strip_prefix("- ") else {
            break;
        };
        let (from, tos) = edge.split_once(" → ").expect("`from → to / to`");
        for to in tos.split(" / ") {
            listed.insert((from.to_string(), to.to_string()));
        }
    }
    let never: BTreeSet<(String, String)> = NEVER
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(listed, never);
}
