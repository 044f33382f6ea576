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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
];

/// Modules that import nothing of either crate.
const LEAVES: &[&str] = &["vocab", "units", "testgen"];

/// The two crates' source folders.
fn roots() -> [PathBuf; 2] {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    [top.join("crates/kvscope-core/src"), top.join("src")]
}

/// `text` with comments blanked and the contents of string and character literals blanked,
/// newlines kept: what is left is code whose braces balance.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, c: u8| out.push(if c == b'\n' { b'\n' } else { b' ' });
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                blank(&mut out, b[i]);
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    out.extend(b"  ");
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    out.extend(b"  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            // A raw string: r"…", r#"…"#.
            let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            out.push(b'"');
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, b[i]);
                i += 1;
            }
            out.push(b'"');
            i += close.len();
        } else if c == b'"' {
            out.push(b'"');
            i += 1;
            while i < b.len() && b[i] != b'"' {
                let step = if b[i] == b'\\' { 2 } else { 1 };
                for k in 0..step {
                    if let Some(&x) = b.get(i + k) {
                        blank(&mut out, x);
                    }
                }
                i += step;
            }
            out.push(b'"');
            i += 1;
        } else if c == b'\'' {
            // A character literal ('x', '\n', '\u{7b}', '{'), else a lifetime or label.
            let end = if b.get(i + 1) == Some(&b'\\') {
                b[i + 2..]
                    .iter()
                    .position(|&x| x == b'\'')
                    .map(|p| i + 2 + p)
            } else {
                let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 1 + ch)
            };
            match end {
                Some(e) => {
                    out.push(b'\'');
                    out.extend(std::iter::repeat_n(b' ', e - i - 1));
                    out.push(b'\'');
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    // Multi-byte characters were blanked byte by byte or copied whole.
    String::from_utf8_lossy(&out).into_owned()
}

/// The production part of code (from [`code_only`]): every item carrying `#[cfg(test)]` is cut,
/// whether it is a `mod tests;` declaration, a `mod tests { … }` block or any other item.
fn production(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let b = item.as_bytes();
        // The item ends at its first `;` outside braces, or at the brace closing its first `{`.
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, &c) in b.iter().enumerate().skip("#[cfg(test)]".len()) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Every path written in `code` that starts with `crate::`, `super::` or `kvscope_core::`, as
/// its segments (`{…}` groups expanded; `self` and `*` dropped). The first segment is `crate`
/// or `super` (`kvscope_core` counts as `crate`: the root re-exports the core's modules).
fn paths(code: &str) -> Vec<Vec<String>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts_word = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let rest = &code[i..];
        let head = ["crate::", "super::", "kvscope_core::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        match head {
            Some(h) if starts_word && !(i >= 2 && &code[i - 2..i] == "::") => {
                let root = if h == "super::" { "super" } else { "crate" };
                let mut end = 0;
                tree(&rest[h.len()..], vec![root.to_string()], &mut out, &mut end);
                i += h.len() + end.max(1);
            }
            _ => i += 1,
        }
    }
    out
}

/// Parses one use-tree (`a::b::{c, d::e}`) at the start of `s` after `prefix`, pushing every
/// path it names; `end` is how far it read.
fn tree(s: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>, end: &mut usize) {
    let mut path = prefix;
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) == Some(&b'{') {
            i += 1;
            loop {
                let mut used = 0;
                tree(&s[i..], path.clone(), out, &mut used);
                i += used;
                while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b',') {
                    i += 1;
                }
                if i >= b.len() || b[i] == b'}' {
                    i += 1;
                    break;
                }
            }
            *end = i.min(b.len());
            return;
        }
        let word: usize = s[i..]
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        if word > 0 {
            let w = &s[i..i + word];
            if w != "self" {
                path.push(w.to_string());
            }
            i += word;
        } else if b.get(i) == Some(&b'*') {
            i += 1;
        }
        if s[i..].starts_with("::") && !s[i..].starts_with("::<") {
            i += 2;
            continue;
        }
        out.push(path);
        *end = i;
        return;
    }
}

/// A module's path (its segments from the crate root) for a file at `rel` in a source folder.
fn module_of(rel: &Path) -> Vec<String> {
    let mut segs: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = segs.pop().unwrap_or_default();
    if last != "mod.rs" {
        segs.push(last.trim_end_matches(".rs").to_string());
    }
    segs
}

/// The production files of both crates: module path → (file name shown, production code).
fn files() -> BTreeMap<Vec<String>, (String, String)> {
    let mut out = BTreeMap::new();
    for src in roots() {
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let rel = path.strip_prefix(&src).unwrap().to_path_buf();
                let name = rel.to_string_lossy().into_owned();
                let test_file = name.ends_with("tests.rs") || name.contains("/tests/");
                if !name.ends_with(".rs") || test_file || name == "lib.rs" || name == "main.rs" {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                out.insert(module_of(&rel), (name, production(&code_only(&text))));
            }
        }
    }
    out
}

/// Each file's module and the modules it refers to (resolved to the longest module path that
/// is a file; edges to itself or to an ancestor module dropped).
fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files = files();
    let mut out = BTreeMap::new();
    for (module, (_, code)) in &files {
        let mut to = BTreeSet::new();
        for p in paths(code) {
            let mut segs = if p[0] == "super" {
                let ups = p.iter().take_while(|s| *s == "super").count();
                let mut base = module.clone();
                base.truncate(base.len().saturating_sub(ups));
                base.extend(p[ups..].iter().cloned());
                base
            } else {
                p[1..].to_vec()
            };
            while !segs.is_empty() && !files.contains_key(&segs) {
                segs.pop();
            }
            if !segs.is_empty() && !module.starts_with(&segs) {
                to.insert(segs);
            }
        }
        out.insert(module.clone(), to);
    }
    out
}

/// The strongly connected parts of more than one node (Tarjan), each sorted.
fn circles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct S<'a, N> {
        edges: &'a BTreeMap<N, BTreeSet<N>>,
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on: BTreeSet<N>,
        out: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(s: &mut S<'_, N>, v: &N) {
        let i = s.index.len();
        s.index.insert(v.clone(), i);
        s.low.insert(v.clone(), i);
        s.stack.push(v.clone());
        s.on.insert(v.clone());
        for w in s.edges.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut part = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(&w);
                let done = &w == v;
                part.push(w);
                if done {
                    break;
                }
            }
            if part.len() > 1 {
                part.sort();
                s.out.push(part);
            }
        }
    }
    let mut s = S {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

/// Every circle in the house, as names: between files (`analysis/matrix`), and between the
/// children of every module folder (`tui/*: a, b` for sibling modules a and b of `tui`).
fn all_circles() -> Vec<String> {
    let g = graph();
    let name = |m: &Vec<String>| m.join("/");
    let mut found: Vec<String> = circles(&g)
        .iter()
        .map(|c| c.iter().map(name).collect::<Vec<_>>().join(", "))
        .collect();
    // Every folder's children: the module paths that are a proper prefix of some file's.
    let folders: BTreeSet<Vec<String>> = g
        .keys()
        .flat_map(|m| (0..m.len()).map(|k| m[..k].to_vec()))
        .collect();
    for folder in folders {
        let child = |m: &Vec<String>| {
            (m.len() > folder.len() && m.starts_with(&folder)).then(|| m[folder.len()].clone())
        };
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, tos) in &g {
            let Some(a) = child(from) else { continue };
            for to in tos {
                if let Some(b) = child(to).filter(|b| *b != a) {
                    edges.entry(a.clone()).or_default().insert(b);
                }
            }
        }
        for c in circles(&edges) {
            // A circle of single files is already listed between files.
            let path = |x: &String| {
                let mut p = folder.clone();
                p.push(x.clone());
                p
            };
            if c.iter()
                .all(|x| g.contains_key(&path(x)) && !folders_has(&g, &path(x)))
            {
                continue;
            }
            found.push(format!("{}/*: {}", folder.join("/"), c.join(", ")));
        }
    }
    found
}

/// Whether `m` is a folder (some file's module lies below it).
fn folders_has(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, m: &[String]) -> bool {
    g.keys().any(|k| k.len() > m.len() && k.starts_with(m))
}

/// Top-level modules each top-level module refers to.
fn top_edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in graph() {
        let set = out.entry(from[0].clone()).or_default();
        set.extend(tos.iter().map(|t| t[0].clone()).filter(|t| *t != from[0]));
    }
    out
}

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
