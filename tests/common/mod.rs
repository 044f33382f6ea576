//! Shared helpers: load real fixtures into a model the way `kvscope report` does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use kvscope::model::Model;
use kvscope::sources;
use kvscope::vocab::{Event, Role, TargetRef};
use serde_json::Value;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// The real LMCache 0.5.6 timeline, t0..=last, with capture times from its index.
pub fn run1_timeline(last: usize) -> Vec<(PathBuf, Option<f64>)> {
    let all = sources::read_index(&fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv")).unwrap();
    all.into_iter().take(last + 1).collect()
}

/// A model with one LMCache target (a file timeline) and optionally one engine target.
pub fn model(lmcache: &[(PathBuf, Option<f64>)], engine: &[(PathBuf, Option<f64>)]) -> Model {
    let lm: Vec<String> = if lmcache.is_empty() {
        vec![]
    } else {
        vec!["lmcache".into()]
    };
    let en: Vec<String> = if engine.is_empty() {
        vec![]
    } else {
        vec!["engine".into()]
    };
    let mut m = Model::new(&lm, &en, 64);
    for (role, files) in [(Role::Lmcache, lmcache), (Role::Engine, engine)] {
        for (path, time) in files {
            let body = std::fs::read(path).unwrap();
            m.apply(Event::Scrape {
                target: TargetRef { role, index: 0 },
                time: *time,
                body,
                format: None,
                origin: path.display().to_string(),
            })
            .unwrap();
        }
    }
    m
}

pub fn report(
    lmcache: &[(PathBuf, Option<f64>)],
    engine: &[(PathBuf, Option<f64>)],
    window: f64,
) -> Value {
    let m = model(lmcache, engine);
    kvscope::report::build(&m, window, &["files", "files"])
}

pub fn packet_a(name: &str) -> Vec<(PathBuf, Option<f64>)> {
    vec![(fixture(&format!("packet_a/{name}")), None)]
}

/// A JSON value by dotted path.
pub fn at<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

pub fn f(v: &Value, path: &str) -> f64 {
    at(v, path)
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is {:?}, not a number", at(v, path)))
}

pub fn family<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no family {id}"))
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// The codes of a JSON report's findings, in order.
pub fn finding_codes(report: &Value) -> Vec<&str> {
    let findings = report["findings"]
        .as_array()
        .expect("the report lists findings");
    findings
        .iter()
        .map(|f| f["code"].as_str().expect("a code"))
        .collect()
}

/// `kvscope demo --serve-only --speed 20` (the real recording replayed on loopback): its first
/// line and the two URLs it names. Stopped when dropped, however the test ends.
pub struct DemoServers {
    child: std::process::Child,
    pub first_line: String,
    pub lmcache: String,
    pub engine: String,
}

impl DemoServers {
    pub fn start() -> DemoServers {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args(["demo", "--serve-only", "--speed", "20"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let urls: Vec<String> = first_line
            .split_whitespace()
            .filter(|w| w.starts_with("http://"))
            .map(String::from)
            .collect();
        let url = |i: usize| urls.get(i).cloned().unwrap_or_default();
        DemoServers {
            lmcache: url(0),
            engine: url(1),
            first_line,
            child,
        }
    }
}

impl Drop for DemoServers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
