//! The hostile corpus: packets, folders, traces, logs, spans and API answers built to break
//! kvscope's readers, one class per way a reader can fail (see issue "packets that travel"):
//!
//! - A: a panic (an event for a target the manifest lacks, targets numbered oddly);
//! - B: a small input that costs huge memory or time (zstd bombs, repeated listings, span
//!   cycles, FIFOs and devices in a folder, floods of warnings or instances);
//! - C: silent loss or a misleading figure (unknown event kinds, negative counts, forged spans);
//! - D: a secret in the output (API errors that echo headers, TOML errors, mistyped URLs,
//!   query parameters);
//! - E: raw terminal escapes and mangled errors;
//! - F: `serve` under load (thousands of targets);
//! - G: a symlink that leads out of a folder.
//!
//! Everything is built from real recordings (the bundled demo packet, the real LMCache 0.5.6
//! capture) changed by hand in the way each case says: these inputs are hand-made on purpose.
//! `cargo run --example hostile_corpus -- DIR` writes the corpus out; `tests/hostile_corpus.rs`
//! builds it afresh and runs every reader over it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::Digest;

/// Planted secrets: none may appear in any output, log or packet written.
pub const SECRET_FILE_TEXT: &str = "kvs_planted_secret_file_7d41";
pub const SECRET_TOKEN: &str = "kvsPlantedBearer0b9c";
pub const SECRET_PASSWORD: &str = "kvsPlantedPassw0rd5e";
pub const SECRET_TENANT: &str = "kvsPlantedTenant77aa";
pub const SECRET_QUERY: &str = "kvsPlantedQuery31f0";

/// Every secret and the forms it may leak in (base64 of basic-auth credentials).
pub fn secrets() -> Vec<String> {
    let mut out: Vec<String> = [
        SECRET_FILE_TEXT,
        SECRET_TOKEN,
        SECRET_PASSWORD,
        SECRET_TENANT,
        SECRET_QUERY,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    out.push(base64(format!("ops:{SECRET_PASSWORD}").as_bytes()));
    out
}

/// A canned answer of the fake Prometheus-compatible API: a path prefix, a status, a body.
/// The body may hold `{headers}`: the request's headers, echoed as some proxies do.
#[derive(Clone, Debug)]
pub struct Answer {
    pub path: String,
    /// When set, the answer is only for requests whose query string holds this text.
    pub query_holds: Option<String>,
    pub status: u16,
    pub body: Vec<u8>,
}

/// How a run ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// Runs to its end.
    Finish,
    /// Serves until stopped: given a few seconds, asked for `/metrics`, then sent SIGTERM.
    Serve,
}

/// One command over one input, and what must hold beyond the common checks.
#[derive(Clone, Debug)]
pub struct Run {
    /// Arguments; `{dir}` is the case's folder, `{api}` the fake API's base URL, `{out}` a
    /// fresh folder for what the run writes.
    pub args: Vec<String>,
    pub mode: Mode,
    /// Exit codes allowed (the common check allows 0-3).
    pub exit: Option<Vec<i32>>,
    /// Texts the combined output must hold.
    pub says: Vec<String>,
    /// Texts it must not hold.
    pub never: Vec<String>,
    /// The run must write no file into `{out}`.
    pub writes_nothing: bool,
    /// Environment variables set for the run (caps raised, the watchdog shortened).
    pub env: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub class: char,
    pub what: String,
    pub runs: Vec<Run>,
    pub answers: Vec<Answer>,
}

fn run(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(|s| s.to_string()).collect(),
        mode: Mode::Finish,
        exit: None,
        says: Vec::new(),
        never: Vec::new(),
        writes_nothing: false,
        env: Vec::new(),
    }
}

impl Run {
    fn exit(mut self, codes: &[i32]) -> Run {
        self.exit = Some(codes.to_vec());
        self
    }
    fn says(mut self, text: &str) -> Run {
        self.says.push(text.to_string());
        self
    }
    fn never(mut self, text: &str) -> Run {
        self.never.push(text.to_string());
        self
    }
    fn serve(mut self) -> Run {
        self.mode = Mode::Serve;
        self
    }
    fn writes_nothing(mut self) -> Run {
        self.writes_nothing = true;
        self
    }
    fn env(mut self, name: &str, value: &str) -> Run {
        self.env.push((name.into(), value.into()));
        self
    }
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sha256(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

/// A zstd frame of `n` copies of `byte`, made of RLE blocks (4 bytes per 128 KiB): how a
/// 131 KB file decompresses to gigabytes.
pub fn zstd_rle(byte: u8, n: u64) -> Vec<u8> {
    const BLOCK: u64 = 128 << 10;
    let mut out = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38];
    let mut left = n;
    loop {
        let size = left.min(BLOCK);
        left -= size;
        let last = u32::from(left == 0);
        let header = last | (1 << 1) | ((size as u32) << 3);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.push(byte);
        if left == 0 {
            return out;
        }
    }
}

/// A packet's pieces, to change before writing: the manifest as JSON, and members in order.
pub struct Pkt {
    pub manifest: serde_json::Value,
    pub members: Vec<(String, Vec<u8>)>,
}

impl Pkt {
    /// The bundled demo packet: a real LMCache 0.5.6 run and a real vLLM scrape.
    pub fn demo() -> Pkt {
        let bytes = kvscope::demo::PACKET;
        let mut archive = tar::Archive::new(bytes);
        let mut members = Vec::new();
        let mut manifest = serde_json::Value::Null;
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            if path == "manifest.json" {
                manifest = serde_json::from_slice(&data).unwrap();
            } else {
                members.push((path, data));
            }
        }
        Pkt { manifest, members }
    }

    pub fn member(&mut self, path: &str) -> &mut Vec<u8> {
        &mut self.members.iter_mut().find(|m| m.0 == path).unwrap().1
    }

    /// The timeline's lines, decompressed.
    pub fn lines(&mut self) -> Vec<String> {
        let text = zstd::decode_all(&self.member("timeline.jsonl.zst")[..]).unwrap();
        String::from_utf8(text)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn set_lines(&mut self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        *self.member("timeline.jsonl.zst") = zstd(text.as_bytes());
    }

    /// Every listed member's size and hash made to match what it holds (a packet a careful
    /// adversary made, not a damaged one).
    pub fn rehash(&mut self) {
        let listed = self.manifest["members"].as_array_mut().unwrap();
        for m in listed.iter_mut() {
            let path = m["path"].as_str().unwrap_or("").to_string();
            if let Some((_, data)) = self.members.iter().find(|x| x.0 == path) {
                m["bytes"] = data.len().into();
                m["sha256"] = sha256(data).into();
            }
        }
    }

    pub fn list(&mut self, path: &str, kind: &str, data: &[u8]) {
        self.manifest["members"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "path": path, "kind": kind, "bytes": data.len(), "sha256": sha256(data)
            }));
    }

    pub fn tar_bytes(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let manifest = serde_json::to_vec_pretty(&self.manifest).unwrap();
        let mut all = vec![("manifest.json".to_string(), manifest)];
        all.extend(self.members.iter().cloned());
        for (path, data) in &all {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(0);
            // Names a real tar tool would refuse are written raw.
            let name = h.as_old_mut();
            let n = path.len().min(99);
            name.name[..n].copy_from_slice(&path.as_bytes()[..n]);
            h.set_cksum();
            b.append(&h, &data[..]).unwrap();
        }
        b.into_inner().unwrap()
    }

    pub fn write_tar(&self, path: &Path) {
        std::fs::write(path, self.tar_bytes()).unwrap();
    }

    /// Unpacked into `dir` (members with unsafe names are not written).
    pub fn write_dir(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let manifest = serde_json::to_vec_pretty(&self.manifest).unwrap();
        std::fs::write(dir.join("manifest.json"), manifest).unwrap();
        for (path, data) in &self.members {
            if path.starts_with('/') || path.contains("..") {
                continue;
            }
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
    }
}

fn symlink(target: &Path, link: &Path) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).unwrap();
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo").arg(path).status();
    assert!(ok.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

/// A copy of the real capture with only its first `n` scrapes, route answers and log.
fn capture(dir: &Path, n: usize) {
    let src = repo("fixtures/lmcache-0.5.6-cpu-run1");
    std::fs::create_dir_all(dir.join("http")).unwrap();
    std::fs::create_dir_all(dir.join("http_idle")).unwrap();
    let index = std::fs::read_to_string(src.join("metrics_index.tsv")).unwrap();
    let kept: Vec<&str> = index.lines().take(n + 1).collect();
    std::fs::write(dir.join("metrics_index.tsv"), kept.join("\n") + "\n").unwrap();
    for i in 0..n {
        let f = format!("metrics_t{i}.prom");
        std::fs::copy(src.join(&f), dir.join(&f)).unwrap();
    }
    for sub in ["http", "http_idle"] {
        for e in std::fs::read_dir(src.join(sub)).unwrap().flatten() {
            std::fs::copy(e.path(), dir.join(sub).join(e.file_name())).unwrap();
        }
    }
}

/// The planted secret file, outside every case folder.
pub fn secret_file(root: &Path) -> PathBuf {
    let p = root.join("outside").join("id_rsa");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, format!("{SECRET_FILE_TEXT} 1\n")).unwrap();
    p
}

/// The three packet readers over one input; `import` must refuse a damaged one.
fn packet_runs(input: &str) -> Vec<Run> {
    vec![
        run(&["verify", input]),
        run(&["report", "--packet", input, "--format", "text"]),
        run(&["import", input, "--out", "{out}/copy.kvpacket"]),
    ]
}

/// Damaged: verify exits 1 naming `needle`, import refuses and writes nothing, report still
/// reports what is intact.
fn damaged_runs(input: &str, needle: &str) -> Vec<Run> {
    vec![
        run(&["verify", input]).exit(&[1]).says(needle),
        run(&["report", "--packet", input, "--format", "json"]).exit(&[0]),
        run(&["import", input, "--out", "{out}/copy.kvpacket"])
            .exit(&[1, 2])
            .says(needle)
            .writes_nothing(),
    ]
}

fn case(name: &str, class: char, what: &str, runs: Vec<Run>) -> Case {
    Case {
        name: name.into(),
        class,
        what: what.into(),
        runs,
        answers: Vec::new(),
    }
}

/// A timeline line of the demo for `role`/`index`, otherwise as `line`.
fn retarget(line: &str, role: &str, index: usize) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["event"]["target"] = serde_json::json!({"role": role, "index": index});
    v.to_string()
}

/// Builds every case under `root` and returns them.
pub fn build(root: &Path) -> Vec<Case> {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).unwrap();
    let secret = secret_file(root);
    let mut cases = Vec::new();
    let dir = |name: &str| {
        let d = root.join(name);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let s = |p: &Path| p.display().to_string();
    class_a(&dir, &mut cases);
    class_b(&dir, &mut cases);
    class_c(&dir, &mut cases);
    class_d(&dir, &mut cases, &secret);
    class_e(&dir, &mut cases);
    class_f(&dir, &mut cases);
    class_g(&dir, &mut cases, &secret);
    let _ = s;
    cases
}

type Dir<'a> = &'a dyn Fn(&str) -> PathBuf;

fn class_a(dir: Dir, cases: &mut Vec<Case>) {
    // An event naming engine-7 in a packet of lmcache-0 and engine-0, in the middle.
    for (name, with_body) in [
        ("event-unknown-target", true),
        ("event-unknown-target-no-body", false),
    ] {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        let line = if with_body {
            retarget(&lines[1], "engine", 7)
        } else {
            r#"{"event":{"event":"latency","target":{"role":"engine","index":7},"time":1795332107.5,"seconds":0.01}}"#.to_string()
        };
        lines.insert(3, line);
        p.set_lines(&lines);
        p.rehash();
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            name,
            'A',
            "an event for engine-7, which the manifest lacks",
            damaged_runs(&f, "engine-7"),
        ));
    }
    // The same, unpacked.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        lines.insert(5, retarget(&lines[0], "lmcache", 3));
        p.set_lines(&lines);
        p.rehash();
        let d = dir("event-unknown-target-unpacked").join("p");
        p.write_dir(&d);
        let d = d.display().to_string();
        cases.push(case(
            "event-unknown-target-unpacked",
            'A',
            "an unpacked packet with an event for lmcache-3",
            damaged_runs(&d, "lmcache-3"),
        ));
    }
    // The manifest's only target is lmcache-5, and so are the events.
    {
        let mut p = Pkt::demo();
        let lines: Vec<String> = p
            .lines()
            .iter()
            .filter(|l| l.contains("\"lmcache\""))
            .map(|l| retarget(l, "lmcache", 5))
            .collect();
        p.set_lines(&lines);
        p.manifest["targets"] = serde_json::json!([{"key": "lmcache-5", "target": {"role": "lmcache", "index": 5}, "url": "x"}]);
        for m in p.manifest["members"].as_array_mut().unwrap() {
            if m["target"] == "lmcache-0" {
                m["target"] = "lmcache-5".into();
                m["path"] = "targets/lmcache-5/bodies.zst".into();
            }
        }
        for m in &mut p.members {
            if m.0 == "targets/lmcache-0/bodies.zst" {
                m.0 = "targets/lmcache-5/bodies.zst".into();
            }
        }
        p.manifest["members"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["target"] != "engine-0");
        p.members.retain(|m| !m.0.contains("engine-0"));
        p.rehash();
        let f = dir("only-target-lmcache-5").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]).says("lmcache-5"),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
            run(&["serve", &f]).serve().exit(&[2]),
        ];
        cases.push(case(
            "only-target-lmcache-5",
            'A',
            "a manifest whose only target is lmcache-5",
            runs,
        ));
    }
    // Two entries for one target; a key that does not match its target.
    for (name, targets) in [
        (
            "duplicate-targets",
            serde_json::json!([
            {"key": "lmcache-0", "target": {"role": "lmcache", "index": 0}, "url": "a"},
            {"key": "lmcache-0", "target": {"role": "lmcache", "index": 0}, "url": "b"},
            {"key": "engine-0", "target": {"role": "engine", "index": 0}, "url": "c"}]),
        ),
        (
            "key-not-its-target",
            serde_json::json!([
            {"key": "lmcache-0", "target": {"role": "engine", "index": 0}, "url": "a"},
            {"key": "engine-0", "target": {"role": "lmcache", "index": 0}, "url": "c"}]),
        ),
    ] {
        let mut p = Pkt::demo();
        p.manifest["targets"] = targets;
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
            run(&["serve", &f]).serve(),
        ];
        cases.push(case(
            name,
            'A',
            "targets listed twice, or keyed as another target",
            runs,
        ));
    }
}

/// The fake API's answers for a query of any kind: `result` as a vector, with `warnings`.
fn api_vector(result: serde_json::Value, warnings: Vec<String>) -> Vec<u8> {
    let mut v = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}});
    if !warnings.is_empty() {
        v["warnings"] = warnings.into();
    }
    serde_json::to_vec(&v).unwrap()
}

fn answer(path: &str, status: u16, body: Vec<u8>) -> Answer {
    Answer {
        path: path.into(),
        query_holds: None,
        status,
        body,
    }
}

fn t0() -> String {
    repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t0.prom")
        .display()
        .to_string()
}

fn class_b(dir: Dir, cases: &mut Vec<Case>) {
    // A 128 KB timeline that decompresses to 4 GiB of newlines.
    {
        let mut p = Pkt::demo();
        *p.member("timeline.jsonl.zst") = zstd_rle(b'\n', (4 << 30) + 1);
        p.rehash();
        let f = dir("timeline-newline-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "timeline-newline-bomb",
            'B',
            "a 128 KB timeline of 4 GiB of newlines",
            damaged_runs(&f, "timeline.jsonl.zst"),
        ));
        // The same, its manifest claiming the 4 GiB as its raw size: the line cap stops it;
        // with that cap raised past it, the watchdog does, naming the input.
        for m in p.manifest["members"].as_array_mut().unwrap() {
            if m["path"] == "timeline.jsonl.zst" {
                m["raw_bytes"] = ((4u64 << 30) + 1).into();
            }
        }
        let f = dir("timeline-newline-bomb-raw").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let mut runs = damaged_runs(&f, "KVSCOPE_MAX_EVENTS");
        runs.push(
            run(&["verify", &f])
                .env("KVSCOPE_MAX_EVENTS", "100000000000")
                .env("KVSCOPE_WATCHDOG_SECONDS", "1")
                .exit(&[2])
                .says("KVSCOPE_WATCHDOG_SECONDS"),
        );
        cases.push(case(
            "timeline-newline-bomb-raw",
            'B',
            "4 GiB of newlines that the manifest says are expected",
            runs,
        ));
    }
    // A timeline of one real line repeated past any budget (about 1.5 GB of text).
    {
        let mut p = Pkt::demo();
        let line = r#"{"event":{"event":"latency","target":{"role":"lmcache","index":0},"time":1795332107.289,"seconds":0.0123}}"#;
        let mut enc = zstd::Encoder::new(Vec::new(), 19).unwrap();
        let block = format!("{line}\n").repeat(1 << 14);
        for _ in 0..800 {
            enc.write_all(block.as_bytes()).unwrap();
        }
        *p.member("timeline.jsonl.zst") = enc.finish().unwrap();
        p.rehash();
        let f = dir("timeline-lines-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "timeline-lines-bomb",
            'B',
            "13 million valid timeline lines in a small file",
            damaged_runs(&f, "timeline.jsonl.zst"),
        ));
    }
    // A body stream of 4 GiB of zeros, a scrape referring to its end.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        let mut v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        v["stored"] = serde_json::json!({"offset": (4u64 << 30) - 100, "len": 50});
        lines.insert(0, v.to_string());
        p.set_lines(&lines);
        *p.member("targets/lmcache-0/bodies.zst") = zstd_rle(0, 4 << 30);
        p.rehash();
        let f = dir("bodies-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "bodies-bomb",
            'B',
            "a body stream of 4 GiB of zeros",
            damaged_runs(&f, "lmcache-0"),
        ));
    }
    // report.json listed 3,000 times.
    {
        let mut p = Pkt::demo();
        let listed = p.manifest["members"].as_array().unwrap().clone();
        let report = listed
            .iter()
            .find(|m| m["kind"] == "report")
            .unwrap()
            .clone();
        let many = p.manifest["members"].as_array_mut().unwrap();
        many.extend(std::iter::repeat_n(report, 3000));
        let f = dir("member-listed-3000-times").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]).says("report.json"),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
        ];
        cases.push(case(
            "member-listed-3000-times",
            'B',
            "one member listed 3,000 times",
            runs,
        ));
    }
    // 30,000 members, each present and listed.
    {
        let mut p = Pkt::demo();
        for i in 0..30_000 {
            let path = format!("x/{i}");
            p.list(&path, "extra", b"");
            p.members.push((path, Vec::new()));
        }
        let f = dir("thirty-thousand-members").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
        ];
        cases.push(case(
            "thirty-thousand-members",
            'B',
            "30,000 listed members",
            runs,
        ));
    }
    // Span trees: eight spans sharing one id, each its own parent; a cycle; a long chain.
    {
        let d = dir("spans-self-parent");
        let span = |id: &str, parent: &str, name: &str, n: usize| {
            format!(
                r#"{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{id}","parentSpanId":"{parent}","name":"{name}","startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[]}}"#,
                1_795_332_107_000_000_000u64 + n as u64,
                1_795_332_107_100_000_000u64 + n as u64
            )
        };
        let doc = |spans: Vec<String>| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
                spans.join(",")
            )
        };
        let selfish: Vec<String> = (0..8)
            .map(|n| span("b7ad6b7169203331", "b7ad6b7169203331", "request", n))
            .collect();
        std::fs::write(d.join("self.json"), doc(selfish)).unwrap();
        let cycle = vec![
            span("00000000000000a1", "00000000000000a2", "request", 0),
            span("00000000000000a2", "00000000000000a1", "request", 1),
        ];
        std::fs::write(d.join("cycle.json"), doc(cycle)).unwrap();
        let chain: Vec<String> = (0..5000)
            .map(|n| {
                span(
                    &format!("{:016x}", n + 1),
                    &format!("{n:016x}"),
                    if n == 0 { "request" } else { "mp.step" },
                    n,
                )
            })
            .collect();
        std::fs::write(d.join("chain.json"), doc(chain)).unwrap();
        let fan: Vec<String> = std::iter::once(span("00000000000000f0", "", "request", 0))
            .chain((0..5000).map(|n| {
                span(
                    &format!("{:016x}", n + 0x1000),
                    "00000000000000f0",
                    "mp.step",
                    n,
                )
            }))
            .collect();
        std::fs::write(d.join("fan.json"), doc(fan)).unwrap();
        let runs = ["self", "cycle", "chain", "fan"]
            .iter()
            .map(|f| {
                let p = d.join(format!("{f}.json")).display().to_string();
                run(&[
                    "report",
                    "--lmcache",
                    &t0(),
                    "--otel",
                    &p,
                    "--format",
                    "text",
                ])
                .exit(&[0])
            })
            .collect();
        cases.push(case(
            "spans-self-parent",
            'B',
            "span trees: self-parents, a cycle, a 5,000-deep chain, a 5,000-wide fan",
            runs,
        ));
    }
    // A capture folder whose route status is a FIFO, or a link to /dev/zero.
    for (name, fifo) in [
        ("capture-status-fifo", true),
        ("capture-status-dev-zero", false),
    ] {
        let d = dir(name).join("capture");
        capture(&d, 2);
        let status = d.join("http").join("healthcheck.status");
        if fifo {
            mkfifo(&status);
        } else {
            symlink(Path::new("/dev/zero"), &status);
        }
        let d = d.display().to_string();
        let runs = vec![
            run(&["report", "--packet", &d, "--format", "json"]),
            run(&["import", &d, "--out", "{out}/copy.kvpacket"]),
            run(&["serve", &d]).serve(),
        ];
        cases.push(case(
            name,
            'B',
            "a capture folder's route status is a FIFO or /dev/zero",
            runs,
        ));
    }
    // Fleet answers: 100,000 warnings; 100,000 instances.
    {
        let warnings = (0..100_000).map(|i| format!("w{i}")).collect();
        let mut c = case(
            "api-warnings-flood",
            'B',
            "a query answer carrying 100,000 warnings",
            vec![
                run(&["report", "--prometheus", "{api}", "--format", "text"])
                    .says("more distinct warnings"),
            ],
        );
        c.answers = vec![answer(
            "/api/v1/query",
            200,
            api_vector(serde_json::json!([]), warnings),
        )];
        cases.push(c);
        let rows: Vec<serde_json::Value> = (0..100_000)
            .map(|i| serde_json::json!({"metric": {"job": "lmcache", "instance": format!("10.0.{}.{}:8080", i / 256, i % 256)}, "value": [1795332107.0, "1"]}))
            .collect();
        let mut c = case(
            "api-instances-flood",
            'B',
            "discovery finding 100,000 instances",
            vec![
                run(&["report", "--prometheus", "{api}", "--format", "text"])
                    .says("KVSCOPE_MAX_INSTANCES"),
            ],
        );
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.to_vec();
        let discovery = Answer {
            query_holds: Some("group".into()),
            ..answer("/api/v1/query", 200, api_vector(rows.into(), Vec::new()))
        };
        c.answers = vec![discovery, answer("/api/v1/query", 200, matrix)];
        cases.push(c);
    }
}

fn class_c(dir: Dir, cases: &mut Vec<Case>) {
    // An event kind from a newer kvscope, in the middle of the timeline.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        lines.insert(4, r#"{"event":{"event":"gpu_sample","target":{"role":"lmcache","index":0},"time":1795332107.3,"watts":300}}"#.into());
        p.set_lines(&lines);
        p.rehash();
        let f = dir("unknown-event-kind").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f])
                .exit(&[0])
                .says("intact")
                .says("1 event of a kind"),
            run(&["report", "--packet", &f, "--format", "json"])
                .exit(&[0])
                .says("\"scrapes\": 32"),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"]).exit(&[0]),
        ];
        cases.push(case(
            "unknown-event-kind",
            'C',
            "an unknown event kind mid-timeline",
            runs,
        ));
    }
    // A forged span: escapes, a screen clear, 100 KB.
    {
        let mut p = Pkt::demo();
        let forged = format!("\u{1b}]0;kvs-title\u{7}\u{1b}[2J{}", "x".repeat(100_000));
        p.manifest["span"] = serde_json::json!([forged, "2020-01-01T00:00:00Z"]);
        let f = dir("forged-span").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f])
                .exit(&[0])
                .says("2026-11-22T07:21:47")
                .never("2020-01-01")
                .never("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ];
        cases.push(case(
            "forged-span",
            'C',
            "a manifest span holding escapes and 100 KB",
            runs,
        ));
    }
    // Member names that leave the packet.
    for (name, member) in [
        ("member-dotdot", "../escape.txt"),
        ("member-absolute", "/tmp/kvscope-abs.txt"),
    ] {
        let mut p = Pkt::demo();
        p.list(member, "log", b"hello\n");
        p.members.push((member.to_string(), b"hello\n".to_vec()));
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            name,
            'C',
            "a member named outside the packet",
            damaged_runs(&f, member),
        ));
    }
    // Negative counts in a log and in spans.
    {
        let d = dir("negative-counts");
        let log = "[2026-11-22 07:22:09,053] LMCache INFO: Prefetch request completed (L1+L2): -50505/-70707 retained keys (-2 L1, 0 L2) in 51.6 ms (external_request_id=req-0-warm, prefetch_request_id=1) (storage_manager.py:651:lmcache.v1.distributed.storage_manager)\n\
[2026-11-22 07:22:09,060] LMCache INFO: Stored -90909 tokens in 0.5 seconds (x.py:1:m)\n\
[2026-11-22 07:22:09,061] LMCache INFO: Stored 1e400 tokens in 0.5 seconds (x.py:1:m)\n\
[2026-11-22 07:22:09,062] LMCache INFO: Retrieved 18014398509481985 tokens in NaN seconds (x.py:1:m)\n";
        std::fs::write(d.join("server.log"), log).unwrap();
        let spans = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"request","startTimeUnixNano":"1795332107000000000","endTimeUnixNano":"1795332107100000000","attributes":[{"key":"hit_tokens","value":{"intValue":"-50505"}},{"key":"requested_tokens","value":{"intValue":"-70707"}}]}]}]}]}"#;
        std::fs::write(d.join("spans.json"), spans).unwrap();
        let l = d.join("server.log").display().to_string();
        let s = d.join("spans.json").display().to_string();
        let runs = ["text", "json"]
            .iter()
            .flat_map(|fmt| {
                [
                    run(&[
                        "report",
                        "--lmcache",
                        &t0(),
                        "--server-log",
                        &l,
                        "--format",
                        fmt,
                    ])
                    .exit(&[0])
                    .never("-50505")
                    .never("-70707")
                    .never("-90909")
                    .never("18014398509481985"),
                    run(&["report", "--lmcache", &t0(), "--otel", &s, "--format", fmt])
                        .exit(&[0])
                        .never("-50505")
                        .never("-70707"),
                ]
            })
            .collect();
        cases.push(case(
            "negative-counts",
            'C',
            "negative, infinite and too-large counts in a log and in spans",
            runs,
        ));
    }
}

fn class_d(dir: Dir, cases: &mut Vec<Case>, secret: &Path) {
    let d = dir("secrets");
    let basic = d.join("basic");
    std::fs::write(&basic, format!("ops:{SECRET_PASSWORD}\n")).unwrap();
    let basic = basic.display().to_string();
    let tenant = format!("X-Scope-OrgID: {SECRET_TENANT}");
    // An API whose errors echo the request's headers.
    let echo =
        br#"{"status":"error","errorType":"bad_data","error":"refused; request was {headers}"}"#
            .to_vec();
    let mut c = case(
        "api-echoes-headers",
        'D',
        "an API error body echoing Authorization and X-Scope-OrgID",
        vec![
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--header",
                &tenant,
                "--basic-auth-file",
                &basic,
                "--format",
                "text",
            ]),
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--header",
                &format!("Authorization: Bearer {SECRET_TOKEN}"),
                "--format",
                "json",
            ]),
            run(&[
                "report",
                "--lmcache",
                "{api}/metrics",
                "--header",
                &format!("Authorization: Bearer {SECRET_TOKEN}"),
                "--format",
                "json",
            ]),
        ],
    );
    c.answers = vec![answer("/", 400, echo)];
    cases.push(c);
    // TOML errors on the line of a secret, or next to one.
    let configs = [
        format!(
            "[[target]]\nlmcache = \"http://127.0.0.1:9/metrics\"\nheader = [\"Authorization: Bearer {SECRET_TOKEN}\"] oops\n"
        ),
        format!("lmcache = [\"http://ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics\", 5s]\n"),
        format!(
            "window = \"60s\"\nlmcache = [\"http://ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics?jwt={SECRET_QUERY}\"]\ninterval = 5s\n"
        ),
    ];
    let runs = configs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let f = d.join(format!("config{i}.toml"));
            std::fs::write(&f, text).unwrap();
            run(&[
                "report",
                "--config",
                &f.display().to_string(),
                "--lmcache",
                &t0(),
            ])
            .exit(&[2])
        })
        .collect();
    cases.push(case(
        "toml-errors",
        'D',
        "TOML errors on a bearer header line and beside a password URL",
        runs,
    ));
    // A theme that is a secret file; a mistyped URL with a password; a token file of two lines.
    let token = d.join("token");
    std::fs::write(&token, format!("{SECRET_TOKEN}\nsecond line\n")).unwrap();
    let runs = vec![
        run(&[
            "screenshot",
            "--lmcache",
            &t0(),
            "--format",
            "text",
            "--theme",
            &secret.display().to_string(),
        ])
        .exit(&[2]),
        run(&[
            "report",
            "--lmcache",
            &format!("http:/ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics"),
        ])
        .exit(&[2]),
        run(&[
            "report",
            "--lmcache",
            &format!("ops:{SECRET_PASSWORD}@127.0.0.1:9/metrics"),
        ])
        .exit(&[2, 3]),
        run(&[
            "report",
            "--lmcache",
            "http://127.0.0.1:9/metrics",
            "--bearer-token-file",
            &token.display().to_string(),
        ])
        .exit(&[2, 3]),
    ];
    cases.push(case(
        "secrets-in-arguments",
        'D',
        "a secret file as a theme, a password in a mistyped URL, a token file of two lines",
        runs,
    ));
    // Query parameters with secret-looking names recorded into a packet.
    let body = std::fs::read(repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t0.prom")).unwrap();
    let q = SECRET_QUERY;
    let url = format!(
        "{{api}}/metrics?jwt={q}&access={q}&auth={q}&signature={q}&sig={q}&key={q}&password={q}&secret={q}&session={q}&code={q}&view=ok"
    );
    let mut c = case(
        "query-parameters",
        'D',
        "secret-looking query parameters in a target URL",
        vec![
            run(&[
                "export",
                "--lmcache",
                &url,
                "--duration",
                "1500ms",
                "--interval",
                "500ms",
                "--out",
                "{out}/e.kvpacket",
            ])
            .exit(&[0])
            .says("e.kvpacket"),
            run(&["report", "--lmcache", &url, "--format", "json"]).exit(&[0]),
        ],
    );
    c.answers = vec![answer("/metrics", 200, body)];
    cases.push(c);
}

fn class_e(dir: Dir, cases: &mut Vec<Case>) {
    // Twenty missing members: every one named.
    {
        let mut p = Pkt::demo();
        for i in 0..20 {
            p.list(&format!("missing/member-{i:02}"), "log", b"x");
        }
        let f = dir("twenty-missing").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let mut v = run(&["verify", &f]).exit(&[1]).never("\\u{a}");
        for i in 0..20 {
            v = v.says(&format!("missing/member-{i:02}"));
        }
        cases.push(case(
            "twenty-missing",
            'E',
            "twenty missing members",
            vec![v],
        ));
    }
    // An answer over the cap names the flag that raises it.
    let big = api_vector(
        serde_json::json!([{"metric": {"job": "lmcache", "instance": "a:1"}, "value": [1795332107.0, "x".repeat(2 << 20)]}]),
        Vec::new(),
    );
    let mut c = case(
        "answer-over-cap",
        'E',
        "an API answer over --max-answer-mib",
        vec![
            run(&[
                "report",
                "--prometheus",
                "{api}",
                "--max-answer-mib",
                "1",
                "--format",
                "text",
            ])
            .says("--max-answer-mib"),
        ],
    );
    c.answers = vec![answer("/api/v1/query", 200, big)];
    cases.push(c);
    // A 3 MB instance label.
    let rows = serde_json::json!([{"metric": {"job": "lmcache", "instance": "h".repeat(3 << 20)}, "value": [1795332107.0, "1"]}]);
    let mut c = case(
        "huge-label",
        'E',
        "a discovered instance label of 3 MB",
        vec![run(&["report", "--prometheus", "{api}", "--format", "text"]).never("valid Uri")],
    );
    c.answers = vec![answer("/api/v1/query", 200, api_vector(rows, Vec::new()))];
    cases.push(c);
    // Escapes in a server's answer and in file names reach the terminal escaped.
    let d = dir("escapes");
    let name = d.join("m\u{1b}[2J\u{1b}]0;t\u{7}.prom");
    std::fs::copy(
        repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t0.prom"),
        &name,
    )
    .unwrap();
    let mut c = case(
        "escapes",
        'E',
        "escapes in a file name and in an API error",
        vec![
            run(&[
                "report",
                "--lmcache",
                &name.display().to_string(),
                "--format",
                "text",
            ])
            .exit(&[0]),
            run(&["report", "--prometheus", "{api}", "--format", "text"]),
        ],
    );
    c.answers = vec![answer(
        "/",
        400,
        b"{\"status\":\"error\",\"error\":\"bad\\u001b]0;pwn\\u0007\\nkvscope: forged line\"}"
            .to_vec(),
    )];
    cases.push(c);
}

fn class_f(dir: Dir, cases: &mut Vec<Case>) {
    let mut p = Pkt::demo();
    let targets: Vec<serde_json::Value> = (0..10_000)
        .map(|i| serde_json::json!({"key": format!("engine-{i}"), "target": {"role": "engine", "index": i}, "url": "x"}))
        .collect();
    p.manifest["targets"] = targets.into();
    p.manifest["members"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["kind"] != "bodies");
    p.members.retain(|m| !m.0.ends_with("bodies.zst"));
    p.set_lines(&[]);
    p.rehash();
    let f = dir("ten-thousand-targets").join("p.kvpacket");
    p.write_tar(&f);
    let f = f.display().to_string();
    let runs = vec![
        run(&["serve", &f]).serve().exit(&[2]).says("targets"),
        run(&["verify", &f]),
        run(&["report", "--packet", &f, "--format", "json"]),
    ];
    cases.push(case(
        "ten-thousand-targets",
        'F',
        "a packet of 10,000 targets",
        runs,
    ));
}

fn class_g(dir: Dir, cases: &mut Vec<Case>, secret: &Path) {
    // An unpacked packet whose report.json is a link to a secret.
    {
        let p = Pkt::demo();
        let d = dir("unpacked-link-out").join("p");
        p.write_dir(&d);
        symlink(secret, &d.join("report.json"));
        let d = d.display().to_string();
        cases.push(case(
            "unpacked-link-out",
            'G',
            "an unpacked packet's report.json links to a secret",
            damaged_runs(&d, "report.json"),
        ));
    }
    // An unpacked packet whose targets folder links out.
    {
        let p = Pkt::demo();
        let d = dir("unpacked-folder-link-out");
        p.write_dir(&d.join("p"));
        let elsewhere = d.join("elsewhere");
        std::fs::rename(d.join("p/targets"), &elsewhere).unwrap();
        symlink(&elsewhere, &d.join("p/targets"));
        let d = d.join("p").display().to_string();
        cases.push(case(
            "unpacked-folder-link-out",
            'G',
            "an unpacked packet's targets/ links out of it",
            damaged_runs(&d, "targets/"),
        ));
    }
    // A capture folder's server.log and run.lct, and a peer folder's scrape, linking out.
    for (name, file) in [
        ("capture-log-link-out", "server.log"),
        ("capture-trace-link-out", "run.lct"),
    ] {
        let d = dir(name).join("capture");
        capture(&d, 2);
        symlink(secret, &d.join(file));
        let d = d.display().to_string();
        let runs = vec![
            run(&["import", &d, "--out", "{out}/copy.kvpacket"]).says(file),
            run(&["report", "--packet", &d, "--format", "json"]),
        ];
        cases.push(case(
            name,
            'G',
            "a capture folder's file links to a secret",
            runs,
        ));
    }
    {
        let d = dir("peer-link-out").join("peer");
        std::fs::create_dir_all(&d).unwrap();
        let src = repo("fixtures/packet_a");
        std::fs::copy(
            src.join("vllm_metrics_loaded.prom"),
            d.join("vllm_metrics_loaded.prom"),
        )
        .unwrap();
        symlink(secret, &d.join("lmcache_metrics_loaded.prom"));
        let d = d.display().to_string();
        let runs = vec![
            run(&["import", &d, "--out", "{out}/copy.kvpacket"])
                .exit(&[2])
                .says("lmcache_metrics_loaded.prom")
                .writes_nothing(),
            run(&["report", "--packet", &d, "--format", "json"]).exit(&[2]),
        ];
        cases.push(case(
            "peer-link-out",
            'G',
            "a peer folder's scrape links to a secret",
            runs,
        ));
    }
    // A capture index row that links out (already refused: kept as a regression).
    {
        let d = dir("index-link-out").join("capture");
        capture(&d, 2);
        symlink(secret, &d.join("metrics_t1.prom"));
        let d = d.display().to_string();
        cases.push(case(
            "index-link-out",
            'G',
            "a capture index row linking to a secret",
            vec![
                run(&["import", &d, "--out", "{out}/copy.kvpacket"])
                    .exit(&[2])
                    .writes_nothing(),
            ],
        ));
    }
}
