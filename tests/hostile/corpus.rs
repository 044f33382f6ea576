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
                // A packet written since raw sizes are recorded says how far each member
                // decompresses: kept true for the timeline `set_lines` rewrites (other members
                // are left as the case made them: a bomb's manifest must still understate).
                if path == "timeline.jsonl.zst"
                    && m.get("raw_bytes").is_some()
                    && let Ok(raw) = zstd::decode_all(&data[..])
                {
                    m["raw_bytes"] = raw.len().into();
                }
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
    for c in &mut cases {
        every_reader(c);
    }
    let _ = s;
    cases
}

type Dir<'a> = &'a dyn Fn(&str) -> PathBuf;

/// Every packet or folder a case reads is also served and replayed: `serve` reads it and
/// serves (or refuses it), `replay` reads it before it finds no terminal (exit 2 either way).
fn every_reader(c: &mut Case) {
    let mut inputs: Vec<String> = Vec::new();
    for r in &c.runs {
        let a = &r.args;
        let input = match a.first().map(String::as_str) {
            Some("verify") => a.get(1),
            _ => a
                .iter()
                .position(|x| x == "--packet")
                .and_then(|i| a.get(i + 1)),
        };
        if let Some(i) = input.filter(|i| !inputs.contains(i)) {
            inputs.push(i.clone());
        }
    }
    for input in inputs {
        let served = c
            .runs
            .iter()
            .any(|r| r.args.first().is_some_and(|a| a == "serve") && r.args.get(1) == Some(&input));
        if !served {
            c.runs.push(run(&["serve", &input]).serve());
        }
        c.runs.push(run(&["replay", &input]).exit(&[2]));
    }
}

#[path = "bombs.rs"]
mod bombs;
#[path = "leaks.rs"]
mod leaks;
#[path = "packets.rs"]
mod packets;
use bombs::class_b;
use leaks::{class_d, class_e, class_g};
use packets::{class_a, class_c, class_f};

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
