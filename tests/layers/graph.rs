//! The house as a graph: every production file of both crates as a module, the modules each
//! one names, and the circles among them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::source::{code_only, paths, production};

/// The two crates' source folders.
pub fn roots() -> [PathBuf; 2] {
    let top = Path::new(env!("CARGO_MANIFEST_DIR"));
    [top.join("crates/kvscope-core/src"), top.join("src")]
}

/// A module's path (its segments from the crate root) for a file at `rel` in a source folder.
pub fn module_of(rel: &Path) -> Vec<String> {
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
pub fn files() -> BTreeMap<Vec<String>, (String, String)> {
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
pub fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
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
pub fn circles<N: Ord + Clone>(edges: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
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
pub fn all_circles() -> Vec<String> {
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
pub fn folders_has(g: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>, m: &[String]) -> bool {
    g.keys().any(|k| k.len() > m.len() && k.starts_with(m))
}

/// Top-level modules each top-level module refers to.
pub fn top_edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in graph() {
        let set = out.entry(from[0].clone()).or_default();
        set.extend(tos.iter().map(|t| t[0].clone()).filter(|t| *t != from[0]));
    }
    out
}
