//! Shared helpers: load real fixtures into a model the way `kvscope report` does.
#![allow(dead_code)]

pub mod prometheus;

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
    kvscope::report::build(&m, window)
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

/// A `kvscope` process that announces URLs on its first line (`demo --serve-only`, `serve`):
/// that line and the URLs in it. Stopped when dropped, however the test ends.
pub struct Served {
    child: std::process::Child,
    pub first_line: String,
    pub urls: Vec<String>,
}

impl Served {
    pub fn start(args: &[&str]) -> Served {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"));
        c.args(args);
        Served::with(c)
    }

    /// Serves as `command` starts it (a shell that sets limits first, say).
    pub fn with(mut command: std::process::Command) -> Served {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let urls = first_line
            .split_whitespace()
            .filter(|w| w.starts_with("http://"))
            .map(String::from)
            .collect();
        Served {
            child,
            first_line,
            urls,
        }
    }

    pub fn url(&self, i: usize) -> String {
        self.urls.get(i).cloned().unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server now (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kvscope demo --serve-only --speed 20` (the bundled real recording served on loopback): its
/// first line and the two URLs it names.
pub struct DemoServers {
    pub served: Served,
    pub first_line: String,
    pub lmcache: String,
    pub engine: String,
}

impl DemoServers {
    pub fn start() -> DemoServers {
        let served = Served::start(&["demo", "--serve-only", "--speed", "20"]);
        DemoServers {
            lmcache: served.url(0),
            engine: served.url(1),
            first_line: served.first_line.clone(),
            served,
        }
    }
}

/// Sends `request` (a raw HTTP/1.1 request) to `base` (`http://host:port`) and returns the
/// status and the body.
pub fn request(base: &str, request: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&out[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    (status, out[split + 4..].to_vec())
}

/// `GET path` on `base`: status and body.
pub fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    request(base, &format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"))
}

/// `kvscope report --format FORMAT ARGS…` run from the repository's root (fixture paths are
/// relative to it); a failed run fails the test with its standard error.
fn report_as(format: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["report", "--format", format])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kvscope report {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`report_as`] JSON.
pub fn report_json(args: &[&str]) -> Value {
    serde_json::from_slice(&report_as("json", args)).unwrap()
}

/// [`report_as`] text.
pub fn report_text(args: &[&str]) -> String {
    String::from_utf8(report_as("text", args)).unwrap()
}

/// The LMCache releases run for real with LMCache's own bench client (L1 1 GB, fs L2; their
/// provenance in fixtures/README.md): each release and its capture folder.
pub const RELEASE_RUNS: [(&str, &str); 5] = [
    ("0.4.7", "fixtures/lmcache-0.4.7-cpu-run1"),
    ("0.5.0", "fixtures/lmcache-0.5.0-cpu-run1"),
    ("0.5.3", "fixtures/lmcache-0.5.3-cpu-run1"),
    ("0.5.6", "fixtures/lmcache-0.5.6-cpu-run1"),
    ("0.5.7rc2", "fixtures/lmcache-0.5.7rc2-cpu-run1"),
];

/// A capture folder's last scrape (the last row of its `metrics_index.tsv`), as a path from
/// the repository's root.
pub fn last_scrape(dir: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let index = std::fs::read_to_string(format!("{root}/{dir}/metrics_index.tsv")).unwrap();
    let last = index.lines().last().unwrap().split('\t').next().unwrap();
    format!("{dir}/{last}")
}

/// A rule's verdict in a JSON report's `rules`, by code.
pub fn rule<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == code)
        .unwrap_or_else(|| panic!("no rule {code}"))
}

/// A scratch file of `text` in the temporary directory, named for this process and `name`.
pub fn scratch(name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = std::env::temp_dir().join(format!("kvscope-test-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p
}
