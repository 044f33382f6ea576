//! Hostile and unlucky input at the binary's edge: bad arguments and files that are not
//! captures end with exit 2 and a message naming the input, never a panic, a hang or an
//! unbounded read. Every run has a deadline, so a regression fails instead of hanging CI.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fixture;

/// Runs kvscope with `args` (and `stdin`), killing it after `secs`.
fn run(args: &[&str], stdin: Option<&[u8]>, secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("XDG_CONFIG_HOME", "/nonexistent-kvscope-test")
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    // Drained while it runs, so a large report cannot block on a full pipe.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "kvscope {args:?} still ran after {secs} s; stderr: {}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2, no panic, and the message names `needle`.
fn refused(args: &[&str], needle: &str) {
    let o = run(args, None, 20);
    let e = stderr(&o);
    assert!(!e.contains("panicked"), "{args:?} panicked: {e}");
    assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
    assert!(e.contains(needle), "{args:?} should name {needle:?}: {e}");
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kvscope-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn t31() -> PathBuf {
    fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")
}

#[test]
fn bad_times_and_durations_exit_2_naming_the_input() {
    let f = t31();
    let f = s(&f);
    for (time, needle) in [
        ("2026-01-01T00:00:00+0é:0", "+0é:0"),
        ("2026-02-30T00:00:00Z", "day 30 does not exist"),
        ("2026-01-01T00:00:00+25:00", "+25:00"),
        ("2026-01-01T24:00:00Z", "not a time of day"),
    ] {
        refused(&["report", "--lmcache", &format!("{f}@{time}")], needle);
    }
    for (flag, value) in [
        ("--timeout", "99999999999999999999s"),
        ("--interval", "1e400s"),
        ("--window", "0s"),
        ("--interval", "1ms"),
        ("--timeout", "٣s"),
    ] {
        refused(&["report", "--lmcache", f, flag, value], value);
    }
    for speed in ["1e300", "0", "-1", "NaN", "inf"] {
        refused(
            &["demo", "--serve-only", &format!("--speed={speed}")],
            "--speed",
        );
    }
    // The same times inside a capture index.
    let d = scratch("times");
    std::fs::copy(t31(), d.join("a.prom")).unwrap();
    let index = d.join("metrics_index.tsv");
    std::fs::write(&index, "file\tutc_time\na.prom\t2026-01-01T00:00:00+0é:0\n").unwrap();
    refused(&["report", "--lmcache", s(&index)], "line 2");
    std::fs::write(&index, "file\tutc_time\na.prom\t2026-02-29T00:00:00Z\n").unwrap();
    refused(&["report", "--lmcache", s(&index)], "day 29 does not exist");
}

#[test]
fn what_is_not_a_capture_is_refused_at_once() {
    refused(
        &["report", "--lmcache", "/dev/zero"],
        "/dev/zero is a character device",
    );
    refused(&["report", "--engine", "/"], "is a directory");
    let d = scratch("kinds");
    let fifo = d.join("pipe.prom");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    refused(&["report", "--lmcache", s(&fifo)], "pipe (FIFO)");
    refused(
        &[
            "report",
            "--lmcache",
            &format!("{}@2026-11-22T07:23:02Z", s(&fifo)),
        ],
        "pipe",
    );
    // Files of other kinds for other flags: the key, the config and the theme.
    refused(
        &[
            "report",
            "--lmcache",
            "http://127.0.0.1:9/",
            "--bearer-token-file",
            "/dev/zero",
        ],
        "/dev/zero is a character device",
    );
    refused(&["watch", "--config", "/dev/zero"], "/dev/zero");
    refused(
        &[
            "watch",
            "--lmcache",
            "http://127.0.0.1:9",
            "--theme",
            "/dev/zero",
        ],
        "/dev/zero",
    );
}

#[test]
fn index_rows_stay_inside_the_index_folder() {
    let d = scratch("index");
    let inner = d.join("capture");
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::copy(t31(), inner.join("ok.prom")).unwrap();
    std::fs::copy(t31(), d.join("outside.prom")).unwrap();
    std::os::unix::fs::symlink(d.join("outside.prom"), inner.join("link.prom")).unwrap();
    let index = inner.join("metrics_index.tsv");
    for row in [
        "../outside.prom",
        "/etc/passwd",
        "/dev/zero",
        "link.prom",
        "sub/../../outside.prom",
        "",
    ] {
        std::fs::write(
            &index,
            format!("file\tutc_time\nok.prom\t2026-11-22T07:23:02Z\n{row}\t2026-11-22T07:24:02Z\n"),
        )
        .unwrap();
        refused(&["report", "--lmcache", s(&index)], "line 3");
    }
    // A row naming a device inside the folder is refused as a device.
    std::os::unix::fs::symlink("/dev/zero", inner.join("zero.prom")).unwrap();
    std::fs::write(&index, "file\tutc_time\nok.prom\t2026-11-22T07:23:02Z\n").unwrap();
    let o = run(&["report", "--lmcache", s(&index)], None, 20);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The index itself must be a regular file.
    refused(
        &["report", "--lmcache", "/dev/null/metrics_index.tsv"],
        "metrics_index.tsv",
    );
}

#[test]
fn standard_input_is_read_only_when_asked_for_and_once() {
    let body = std::fs::read(t31()).unwrap();
    let o = run(
        &["report", "--lmcache", "-", "--format", "text"],
        Some(&body),
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("64.6%"));
    refused(
        &["report", "--lmcache", "-", "--engine", "-"],
        "standard input",
    );
    let o = run(&["report", "--lmcache", "-"], None, 20);
    assert_eq!(
        o.status.code(),
        Some(0),
        "empty stdin is an empty scrape: {}",
        stderr(&o)
    );
    // Endless standard input stops at the cap.
    let o = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--lmcache", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("standard input is larger than"),
        "{}",
        stderr(&o)
    );
}
