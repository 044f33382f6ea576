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

/// A loopback server answering each request with `answer(request head)`; records every head.
fn server(
    answer: impl Fn(&str) -> (String, Vec<u8>) + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            log.lock().unwrap().push(head.clone());
            let (status_and_headers, body) = answer(&head);
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 {status_and_headers}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            );
            let _ = s.write_all(&body);
        }
    });
    (url, seen)
}

#[test]
fn redirects_never_carry_credentials_to_another_origin() {
    let (other, other_seen) = server(|_| ("200 OK".into(), std::fs::read(t31()).unwrap()));
    let to = format!("{other}/metrics");
    let (first, first_seen) = server(move |head| {
        if head.starts_with("GET /metrics ") {
            (format!("302 Found\r\nlocation: {to}"), Vec::new())
        } else {
            ("404 Not Found".into(), Vec::new())
        }
    });
    let d = scratch("redirect");
    let key = d.join("key");
    std::fs::write(&key, "tok-9c1e\n").unwrap();
    let o = run(
        &[
            "report",
            "--lmcache",
            &first,
            "--header",
            "X-Api-Key: sk-live-77aa",
            "--bearer-token-file",
            s(&key),
        ],
        None,
        20,
    );
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{e}");
    assert!(e.contains("redirected to another origin"), "{e}");
    assert!(first_seen.lock().unwrap()[0].contains("sk-live-77aa"));
    for head in other_seen.lock().unwrap().iter() {
        let lower = head.to_lowercase();
        assert!(
            !lower.contains("sk-live-77aa") && !lower.contains("tok-9c1e"),
            "credentials reached the other origin: {head}"
        );
    }
    // On the same origin a redirect is followed, headers and all.
    let (same, same_seen) = server(|head| {
        if head.starts_with("GET /metrics ") {
            ("301 Moved\r\nlocation: /real/metrics".into(), Vec::new())
        } else {
            ("200 OK".into(), std::fs::read(t31()).unwrap())
        }
    });
    let o = run(
        &[
            "report",
            "--lmcache",
            &same,
            "--header",
            "X-Api-Key: sk-live-77aa",
        ],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let heads = same_seen.lock().unwrap();
    assert!(heads[1].starts_with("GET /real/metrics") && heads[1].contains("sk-live-77aa"));
}

/// Passwords and tokens in target URLs, and malformed headers: nothing kvscope writes repeats
/// them, whatever goes wrong.
#[test]
fn no_credential_appears_in_anything_kvscope_writes() {
    let secret = "pw-5e2b";
    let check = |o: &Output, what: &str| {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!all.contains(secret), "{what} leaked it: {all}");
        assert!(
            !all.contains("tok-31d0"),
            "{what} leaked the query token: {all}"
        );
    };
    // A body with one bad line: the parse error names its origin.
    let mut body = std::fs::read(t31()).unwrap();
    body.extend_from_slice(b"this line is not metrics\n");
    let (good, _) = server(move |_| ("200 OK".into(), body.clone()));
    let host = good.trim_start_matches("http://");
    let with_creds = format!("http://user:{secret}@{host}/metrics?token=tok-31d0");
    let o = run(&["report", "--lmcache", &with_creds], None, 20);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    check(&o, "the JSON report");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let origin = v["parse_errors"]["scrapes"][0]["origin"].as_str().unwrap();
    assert!(origin.contains("***@"), "{origin}");
    for fmt in ["text", "markdown"] {
        check(
            &run(
                &["report", "--lmcache", &with_creds, "--format", fmt],
                None,
                20,
            ),
            fmt,
        );
    }
    // Failures: refused, an error status, HTML.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused_url = format!("http://user:{secret}@127.0.0.1:{port}/metrics?token=tok-31d0");
    let o = run(
        &["report", "--lmcache", &refused_url, "--timeout", "2s"],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(3));
    check(&o, "an unreachable target's error");
    let (html, _) = server(|_| {
        (
            "200 OK\r\ncontent-type: text/html".into(),
            b"<html>x</html>".to_vec(),
        )
    });
    let host = html.trim_start_matches("http://");
    let o = run(
        &["report", "--engine", &format!("http://u:{secret}@{host}/")],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(2));
    check(&o, "an HTML answer's error");
    let o = run(
        &["report", "--engine", &format!("http://u:{secret}@[::1")],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(2));
    check(&o, "a malformed URL's error");
    let o = run(
        &["watch", "--engine", &format!("u:{secret}@h:8080")],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(2));
    check(&o, "watch's not-a-URL error");
    // A secret pasted in the wrong shape.
    let o = run(
        &[
            "report",
            "--lmcache",
            &good,
            "--header",
            &format!("X-Api-Key={secret}"),
        ],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(2));
    check(&o, "a malformed --header");
}

/// The live path: collectors' events, the screen and the log lines for a target whose URL
/// carries credentials and that fails in several ways.
#[tokio::test]
async fn the_screen_and_the_log_never_show_url_credentials() {
    use kvscope::model::Model;
    use kvscope::sources::{collector, http};
    use kvscope::tui::{App, screenshot, theme::Theme};
    use kvscope::vocab::{Role, TargetRef};
    let secret = "pw-81fd";
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (redirecting, _) = server(|_| {
        (
            "302 Found\r\nlocation: http://example.invalid/m".into(),
            vec![],
        )
    });
    let host = redirecting.trim_start_matches("http://");
    let urls = [
        format!("http://u:{secret}@127.0.0.1:{port}/metrics?token={secret}"),
        format!("http://u:{secret}@{host}/metrics"),
    ];
    let targets: Vec<http::TargetUrl> = urls
        .iter()
        .map(|u| http::TargetUrl::metrics(u).unwrap())
        .collect();
    let names: Vec<String> = targets.iter().map(|t| t.to_string()).collect();
    let mut app = App::new(Model::new(&names, &[], 8), 0.5, 60.0, Theme::mono(), None);
    let client = http::client(Duration::from_secs(2), &Default::default()).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    for (index, url) in targets.into_iter().enumerate() {
        let poll = collector::Poll {
            target: TargetRef {
                role: Role::Lmcache,
                index,
            },
            url,
            interval: Duration::from_millis(100),
            limit: 1 << 20,
        };
        tokio::spawn(collector::run(poll, client.clone(), tx.clone()));
    }
    drop(tx);
    let mut log = Vec::new();
    let mut failures = 0;
    while failures < 4 {
        let ev = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        failures += usize::from(matches!(ev, kvscope::vocab::Event::ScrapeFailed { .. }));
        log.extend(app.on_event(ev));
    }
    app.on_tick(kvscope::timefmt::now());
    let screen = screenshot::text(&screenshot::render(&app, 200, 50));
    assert!(screen.contains("***@"), "{screen}");
    assert!(screen.contains("redirected to another origin"), "{screen}");
    let all = format!("{screen}\n{}", log.join("\n"));
    assert!(!log.is_empty());
    assert!(!all.contains(secret), "{all}");
}

#[path = "hostile/values.rs"]
mod values;
