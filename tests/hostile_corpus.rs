//! Every reader over the hostile corpus (`tests/hostile/corpus.rs`), each run as a child
//! process: no panic and an exit code of 0-3, under 256 MiB peak memory (the child's own
//! rusage from `wait4`) and a 10 s watchdog, no planted secret in standard output or error,
//! the log or any file written, no raw control character on the terminal, and what each case
//! says on top. All failures are gathered and printed as a table by class before the test
//! fails. `KVSCOPE_HOSTILE_BIN` runs another kvscope binary over the corpus (to measure an
//! older build); `KVSCOPE_HOSTILE_ONLY` runs the cases whose name holds its value.

#[path = "hostile/corpus.rs"]
mod corpus;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corpus::{Answer, Mode, Run};

const PEAK_BYTES: u64 = 256 << 20;
const WATCHDOG: Duration = Duration::from_secs(10);

/// A fake Prometheus-compatible API (or target) answering canned bodies by path prefix; a
/// body's `{headers}` is replaced by the request's headers, as some proxies echo them.
fn fake_api(answers: Vec<Answer>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let answers = answers.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 1 << 20 {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let target = text.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (path, query) = target.split_once('?').unwrap_or((&target, ""));
                let headers = text.lines().skip(1).collect::<Vec<_>>().join("; ");
                let found = answers
                    .iter()
                    .filter(|a| path.starts_with(&a.path))
                    .filter(|a| {
                        a.query_holds
                            .as_ref()
                            .is_none_or(|q| query.contains(q.as_str()))
                    })
                    .max_by_key(|a| (a.query_holds.is_some(), a.path.len()));
                let (status, body) = match found {
                    Some(a) => {
                        let body = String::from_utf8_lossy(&a.body).replace("{headers}", &headers);
                        (a.status, body.into_bytes())
                    }
                    None => (404, b"not found".to_vec()),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            });
        }
    });
    format!("http://{addr}")
}

/// What one run did.
struct Ran {
    code: Option<i32>,
    signal: Option<i32>,
    peak: u64,
    took: Duration,
    timed_out: bool,
    out: Vec<u8>,
    err: Vec<u8>,
}

fn reader(r: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    let h = std::thread::spawn(move || {
        let mut r = r;
        let mut chunk = [0u8; 8192];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (buf, h)
}

fn wait4(pid: i32, block: bool) -> Option<(i32, libc::rusage)> {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let flags = if block { 0 } else { libc::WNOHANG };
    let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
    (r == pid).then_some((status, usage))
}

fn spawn(bin: &Path, r: &Run, args: &[String], out: &Path, state: &Path) -> Ran {
    let mode = r.mode;
    // A child's peak memory (`ru_maxrss`) starts at this process's resident size when it is
    // spawned: free what this process holds and reset its peak (Linux: `5` resets it to the
    // resident size), so the figure is the child's own unless it stays below that.
    unsafe { libc::malloc_trim(0) };
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(out)
        .env("XDG_CONFIG_HOME", state.join("config"))
        .env("XDG_STATE_HOME", state.join("state"))
        .env("HOME", state)
        .env_remove("NO_COLOR")
        .envs(r.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let (out_buf, out_h) = reader(child.stdout.take().unwrap());
    let (err_buf, err_h) = reader(child.stderr.take().unwrap());
    let start = Instant::now();
    let mut timed_out = false;
    let mut poked = false;
    let (status, usage) = loop {
        if let Some(done) = wait4(pid, false) {
            break done;
        }
        if mode == Mode::Serve && !poked {
            let said = String::from_utf8_lossy(&out_buf.lock().unwrap()).into_owned();
            if let Some(url) = said.split_whitespace().find(|w| w.starts_with("http://")) {
                let _ = get(url, "/metrics");
                poked = true;
                unsafe { libc::kill(pid, libc::SIGTERM) };
            } else if start.elapsed() > Duration::from_secs(5) {
                poked = true;
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        if start.elapsed() > WATCHDOG {
            timed_out = true;
            unsafe { libc::kill(pid, libc::SIGKILL) };
            break wait4(pid, true).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    let _ = out_h.join();
    let _ = err_h.join();
    let (code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    std::mem::forget(child);
    Ran {
        code,
        signal,
        peak: usage.ru_maxrss as u64 * 1024,
        took,
        timed_out,
        out: out_buf.lock().unwrap().clone(),
        err: err_buf.lock().unwrap().clone(),
    }
}

/// This process's resident size.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn get(url: &str, path: &str) -> Option<Vec<u8>> {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Some(out)
}

/// Every file under `dir`, with tar members and zstd streams opened up.
fn written(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            written(&p, out);
        } else if meta.is_file() {
            let bytes = std::fs::read(&p).unwrap_or_default();
            opened_up(&p.display().to_string(), bytes, out);
        }
    }
}

fn opened_up(name: &str, bytes: Vec<u8>, out: &mut Vec<(String, Vec<u8>)>) {
    // At most 64 MiB of each stream: a bomb copied into a packet must not blow up the test
    // (a child's peak memory starts at its parent's).
    if let Ok(dec) = zstd::Decoder::new(&bytes[..]) {
        let mut text = Vec::new();
        if dec.take(64 << 20).read_to_end(&mut text).is_ok() {
            out.push((format!("{name} (decompressed)"), text));
        }
    }
    let mut archive = tar::Archive::new(&bytes[..]);
    if let Ok(entries) = archive.entries() {
        for e in entries.flatten() {
            let mut e = e;
            let member = e
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let mut data = Vec::new();
            if e.read_to_end(&mut data).is_ok() {
                opened_up(&format!("{name}:{member}"), data, out);
            }
        }
    }
    out.push((name.to_string(), bytes));
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    !n.is_empty() && hay.windows(n.len()).any(|w| w == n)
}

/// A raw control character (C0 but tab and newline, DEL, C1) in terminal output.
fn raw_control(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    text.chars().position(|c| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
    })
}

/// What is wrong with one run, in words (nothing: it held).
fn check(r: &Run, ran: &Ran, out_dir: &Path, state: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    let both = [ran.out.as_slice(), ran.err.as_slice()].concat();
    let said = String::from_utf8_lossy(&both);
    let brief: String = said.chars().take(600).collect();
    let serve_stopped = r.mode == Mode::Serve && ran.code == Some(128 + libc::SIGTERM);
    if ran.timed_out {
        wrong.push(format!("still ran after {} s", WATCHDOG.as_secs()));
    } else if said.contains("panicked") || ran.code == Some(101) {
        wrong.push(format!("panicked: {brief}"));
    } else if let Some(sig) = ran.signal {
        wrong.push(format!("killed by signal {sig}: {brief}"));
    } else if let Some(code) = ran.code {
        if !(0..=3).contains(&code) && !serve_stopped {
            wrong.push(format!("exit {code}: {brief}"));
        }
        if let Some(allowed) = &r.exit
            && !allowed.contains(&code)
            && !serve_stopped
        {
            wrong.push(format!("exit {code}, wanted one of {allowed:?}: {brief}"));
        }
    }
    if ran.peak > PEAK_BYTES {
        wrong.push(format!("peak memory {} MiB", ran.peak >> 20));
    }
    if let Some(at) = raw_control(&both) {
        wrong.push(format!("a raw control character at character {at}"));
    }
    for s in &r.says {
        if !said.contains(s.as_str()) {
            wrong.push(format!("does not say {s:?}: {brief}"));
        }
    }
    for s in &r.never {
        if said.contains(s.as_str()) {
            wrong.push(format!("says {s:?}"));
        }
    }
    let mut files = Vec::new();
    written(out_dir, &mut files);
    let wrote: Vec<&String> = files
        .iter()
        .map(|f| &f.0)
        .filter(|n| !n.contains(':') && !n.ends_with("(decompressed)"))
        .collect();
    if r.writes_nothing && !wrote.is_empty() {
        wrong.push(format!("wrote {wrote:?}"));
    }
    written(state, &mut files);
    for secret in corpus::secrets() {
        if contains(&both, &secret) {
            wrong.push(format!("printed the secret {secret}"));
        }
        for (name, bytes) in &files {
            if contains(bytes, &secret) {
                wrong.push(format!("wrote the secret {secret} into {name}"));
            }
        }
    }
    wrong
}

#[test]
fn every_reader_holds_over_the_hostile_corpus() {
    let root = std::env::temp_dir().join(format!("kvscope-hostile-{}", std::process::id()));
    let cases = corpus::build(&root.join("corpus"));
    let bin = std::env::var_os("KVSCOPE_HOSTILE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kvscope")));
    let only = std::env::var("KVSCOPE_HOSTILE_ONLY").unwrap_or_default();
    let mut table: BTreeMap<char, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut n = 0;
    for case in cases.iter().filter(|c| c.name.contains(&only)) {
        let api = if case.answers.is_empty() {
            "http://127.0.0.1:9".to_string()
        } else {
            fake_api(case.answers.clone())
        };
        let mut failed = false;
        for r in &case.runs {
            n += 1;
            let out = root.join("runs").join(format!("{n}-out"));
            let state = root.join("runs").join(format!("{n}-state"));
            std::fs::create_dir_all(&out).unwrap();
            std::fs::create_dir_all(&state).unwrap();
            let args: Vec<String> = r
                .args
                .iter()
                .map(|a| {
                    a.replace("{api}", &api)
                        .replace("{out}", &out.display().to_string())
                })
                .collect();
            let ran = spawn(&bin, r, &args, &out, &state);
            let wrong = check(r, &ran, &out, &state);
            eprintln!(
                "{} {:<32} {:>6} ms {:>5} MiB exit {:?} {} (this test: {} MiB)",
                case.class,
                case.name,
                ran.took.as_millis(),
                ran.peak >> 20,
                ran.code.or(ran.signal.map(|s| -s)),
                args.first().map_or("", String::as_str),
                resident() >> 20
            );
            if !wrong.is_empty() {
                failed = true;
                let shown: Vec<String> =
                    args.iter().map(|a| a.chars().take(80).collect()).collect();
                failures.push(format!(
                    "{} {} ({}) {:?}:\n    {}",
                    case.class,
                    case.name,
                    case.what,
                    shown,
                    wrong.join("\n    ")
                ));
            }
        }
        let row = table.entry(case.class).or_default();
        row.0 += 1;
        row.1 += usize::from(failed);
    }
    let mut summary = String::from("class  cases  failing\n");
    for (class, (cases, failing)) in &table {
        summary.push_str(&format!("{class}      {cases:>5}  {failing:>7}\n"));
    }
    eprintln!("{summary}");
    let _ = std::fs::remove_dir_all(&root);
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n"));
}
