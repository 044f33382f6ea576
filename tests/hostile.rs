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

/// The real 0.5.6 scrape t31 with one line changed (hand-corrupted: `from` → `to`).
fn corrupt(from: &str, to: &str) -> String {
    let body = std::fs::read_to_string(t31()).unwrap();
    assert!(body.contains(from), "t31 has no {from:?}");
    body.replacen(from, to, 1)
}

/// A report over the real t30 and then `body` as t31, both with their real capture times.
fn report_of(body: &str) -> serde_json::Value {
    use kvscope::model::Model;
    use kvscope::vocab::{Event, Role, TargetRef};
    let index = common::run1_timeline(31);
    let mut m = Model::new(&["lm".into()], &[], 8);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let t30 = std::fs::read(&index[30].0).unwrap();
    for (b, time) in [(t30, index[30].1), (body.as_bytes().to_vec(), index[31].1)] {
        m.apply(Event::Scrape {
            target,
            time,
            body: b,
            format: None,
            origin: "hand-corrupted".into(),
        })
        .unwrap();
    }
    kvscope::report::build(&m, 60.0, &[kvscope::vocab::InputKind::Files])
}

/// Bad values in real data: each figure resting on one is unknown with a reason naming the
/// series, no finding is built on it, and no number that looks real comes out.
#[test]
fn bad_values_make_figures_unknown_never_wrong() {
    let hit =
        r#"lmcache_mp_lookup_hit_tokens_total{cache_salt="",model_name="test-model"} 27136.0"#;
    let req = r#"lmcache_mp_lookup_requested_tokens_total{cache_salt="",model_name="test-model"} 41984.0"#;
    let inf_bucket = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket{device="cpu",engine_id="1000",le="+Inf",model_name="test-model"} 4.0"#;
    let b5 = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_bucket{device="cpu",engine_id="1000",le="5.0",model_name="test-model"} 4.0"#;
    let sum = r#"lmcache_mp_l0_l1_store_throughput_GB_per_second_sum{device="cpu",engine_id="1000",model_name="test-model"} 3.5573966190640114"#;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            corrupt(
                "lmcache_mp_event_bus_dropped_events_total 0.0",
                "lmcache_mp_event_bus_dropped_events_total +Inf",
            ),
            "lmcache.eventbus.dropped_total",
            "lmcache_mp_event_bus_dropped_events_total is +Inf",
        ),
        (
            corrupt(
                r#"l1_tag="_default"} 0.71875"#,
                r#"l1_tag="_default"} +Inf"#,
            ),
            "lmcache.l1.usage_ratio",
            "lmcache_mp_l1_usage_ratio{backend=\"dram\", l1_tag=\"_default\"} is +Inf",
        ),
        (
            corrupt(req, &req.replace("41984.0", "-100")),
            "lmcache.lookup.hit_rate.since_start",
            "is negative (-100)",
        ),
        (
            corrupt(hit, &hit.replace("27136.0", "50000")),
            "lmcache.lookup.hit_rate.since_start",
            "hit tokens (50000) exceed requested tokens (41984)",
        ),
        (
            corrupt(req, &format!("{req}\n{}", req.replace("41984.0", "9"))),
            "lmcache.lookup.requested_tokens.since_start",
            "more than once in one scrape",
        ),
        (
            corrupt(b5, &b5.replace("} 4.0", "} 9")),
            "lmcache.l0_l1.store_throughput_gbs.mean",
            "not cumulative",
        ),
        (
            corrupt(inf_bucket, ""),
            "lmcache.l0_l1.store_throughput_gbs.p50",
            "no +Inf bucket",
        ),
        (
            corrupt(b5, &b5.replace("le=\"5.0\"", "le=\"five\"")),
            "lmcache.l0_l1.store_throughput_gbs.p99",
            "not a number",
        ),
        (
            corrupt(sum, &sum.replace("3.5573966190640114", "-2.5")),
            "lmcache.l0_l1.store_throughput_gbs.mean",
            "negative (-2.5)",
        ),
    ];
    for (body, path, why) in cases {
        let r = report_of(&body);
        assert!(
            common::at(&r, path).is_null(),
            "{path} should be unknown: {}",
            common::at(&r, path)
        );
        let reason = r["unknowns"][path]
            .as_str()
            .unwrap_or_else(|| panic!("no reason for {path}"));
        assert!(reason.contains(why), "{path}: {reason}");
        // The bad_data finding names the problem; no other finding may rest on it.
        let others: Vec<&serde_json::Value> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] != "bad_data")
            .collect();
        let findings = serde_json::to_string(&others).unwrap();
        let words: Vec<&str> = findings
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-'))
            .collect();
        for bad in ["inf", "NaN", "-100", "-2.5", "1190"] {
            assert!(
                !words.contains(&bad),
                "{path}: a finding carries {bad}: {findings}"
            );
        }
        let codes = common::finding_codes(&r);
        assert!(
            !codes.contains(&"eventbus_dropping") && !codes.contains(&"l1_at_watermark"),
            "{codes:?}"
        );
        for rate in [
            "lmcache.lookup.hit_rate.since_start",
            "lmcache.lookup.hit_rate.window",
        ] {
            if let Some(v) = common::at(&r, rate).as_f64() {
                assert!((0.0..=1.0).contains(&v), "{rate} = {v}");
            }
        }
    }
}

/// Problems in a value a counter keeps are also listed as data-quality notes naming the series,
/// and shown as a finding.
#[test]
fn bad_values_are_noted_by_series() {
    let r = report_of(&corrupt(
        "lmcache_mp_event_bus_dropped_events_total 0.0",
        "lmcache_mp_event_bus_dropped_events_total +Inf",
    ));
    let notes = r["data_quality"]["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0]["subject"],
        "lmcache_mp_event_bus_dropped_events_total"
    );
    assert_eq!(notes[0]["target"], "lm");
    assert!(notes[0]["last_time"].as_str().unwrap().starts_with("20"));
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "bad_data")
        .unwrap();
    assert!(
        f["evidence"][0]
            .as_str()
            .unwrap()
            .contains("dropped_events_total is +Inf")
    );
}

/// Sample timestamps far ahead of the scrape: not taken as the newest time.
#[test]
fn future_sample_timestamps_are_not_believed() {
    let body: String = std::fs::read_to_string(t31())
        .unwrap()
        .lines()
        .map(|l| {
            if l.starts_with('#') || l.is_empty() {
                format!("{l}\n")
            } else {
                format!("{l} 4102444800000\n")
            }
        })
        .collect();
    let r = report_of(&body);
    let last = r["inputs"][0]["last_time"].as_str().unwrap();
    assert!(last.starts_with("2026-"), "{last}");
    let notes = r["data_quality"]["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n["problem"]
            .as_str()
            .unwrap()
            .contains("after the scrape time")),
        "{notes:?}"
    );
    // The window runs between the two capture times.
    let index = common::run1_timeline(31);
    let secs = r["lmcache"]["window_seconds"].as_f64().unwrap();
    assert!(
        common::close(secs, index[31].1.unwrap() - index[30].1.unwrap()),
        "{secs}"
    );
}

#[test]
fn a_file_where_nothing_parses_is_bad_input() {
    let d = scratch("garbage");
    let f = d.join("garbage.prom");
    std::fs::write(&f, b"\x00\x01binary\xff\nnot metrics at all\n{{{\n").unwrap();
    refused(&["report", "--lmcache", s(&f)], "not one of its 3 lines");
    // A file with only declarations, or nothing, is an empty scrape: said, not refused.
    std::fs::write(&f, "# HELP x y\n# TYPE x counter\n").unwrap();
    let o = run(&["report", "--lmcache", s(&f)], None, 20);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no samples"));
}

/// Hand-written runaway scrapes: a scrape with more series per instance than the limit is
/// refused with a message naming the instance and the flag; under it, it is read.
#[test]
fn the_series_limit_refuses_a_runaway_target() {
    let d = scratch("limit");
    let body = |instances: &[(&str, usize)]| {
        let mut b = String::from("# TYPE lmcache_mp_lookup_requested_tokens_total counter\n");
        for (inst, n) in instances {
            for i in 0..*n {
                b.push_str(&format!(
                    "lmcache_mp_lookup_requested_tokens_total{{instance=\"{inst}\",cache_salt=\"s{i}\"}} {i}\n"
                ));
            }
        }
        b
    };
    let f = d.join("scrape.prom");
    std::fs::write(&f, body(&[("", 2001)])).unwrap();
    refused(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        "the scrape carries 2001 series, more than the limit of 2000 (--series-limit raises it)",
    );
    let o = run(
        &["report", "--lmcache", s(&f), "--series-limit", "2001"],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // A federated body: the limit holds per instance.
    std::fs::write(&f, body(&[("a:1", 1500), ("b:1", 1500)])).unwrap();
    let o = run(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        None,
        20,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(&f, body(&[("a:1", 100), ("b:1", 2500)])).unwrap();
    refused(
        &["report", "--lmcache", s(&f), "--series-limit", "2000"],
        "instance \"b:1\" carries 2500 series",
    );
    for bad in ["0", "-1", "1e9", "lots"] {
        refused(
            &[
                "report",
                "--lmcache",
                s(&f),
                &format!("--series-limit={bad}"),
            ],
            bad,
        );
    }
}
