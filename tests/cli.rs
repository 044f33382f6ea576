//! The `kvscope` binary end to end: exit codes, named errors, URLs against a loopback server.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;

use common::fixture;

fn kvscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Serves `responses` in turn (status, content type, body), then closes; records request lines.
fn serve(responses: Vec<(u16, &'static str, Vec<u8>)>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for (status, ct, body) in responses {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            log.lock()
                .unwrap()
                .push(req.lines().next().unwrap_or("").to_string());
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    (format!("http://{addr}"), seen)
}

#[test]
fn no_input_is_bad_input() {
    let o = kvscope(&["report"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--lmcache or --engine"));
}

#[test]
fn missing_file_is_named() {
    let o = kvscope(&["report", "--lmcache", "no/such/file.prom"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.prom"), "{}", stderr(&o));
}

#[test]
fn html_or_json_file_is_named() {
    let dir = std::env::temp_dir().join(format!("kvscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("page.prom");
    std::fs::write(&html, "<!doctype html><html><body>login</body></html>").unwrap();
    let o = kvscope(&["report", "--engine", html.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("page.prom") && stderr(&o).contains("HTML"),
        "{}",
        stderr(&o)
    );
    let json = dir.join("status.prom");
    std::fs::write(&json, "{\"status\": \"ok\"}").unwrap();
    let o = kvscope(&["report", "--lmcache", json.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("JSON"), "{}", stderr(&o));
}

#[test]
fn empty_input_says_no_samples() {
    let o = kvscope(&[
        "report",
        "--lmcache",
        fixture("inferguard-handwritten/empty.txt")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("no samples"));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"]["architecture"], "unknown");
    assert!(v["lmcache"]["lookup"]["hit_rate"]["since_start"].is_null());
}

#[test]
fn times_must_be_given_for_all_files_and_in_order() {
    let a = fixture("lmcache-0.5.6-cpu-run1/metrics_t1.prom");
    let b = fixture("lmcache-0.5.6-cpu-run1/metrics_t2.prom");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let o = kvscope(&[
        "report",
        "--lmcache",
        &format!("{a}@2026-11-22T07:22:13Z"),
        "--lmcache",
        b,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = kvscope(&[
        "report",
        "--lmcache",
        &format!("{a}@2026-11-22T07:22:13Z"),
        "--lmcache",
        &format!("{b}@2026-11-22T07:20:00Z"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("before the previous"));
    let o = kvscope(&[
        "report",
        "--lmcache",
        &format!("{a}@2026-11-22T07:22:13Z"),
        "--lmcache",
        &format!("{b}@2026-11-22T07:22:47Z"),
    ]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn text_and_markdown_formats() {
    let lm = fixture("packet_a/lmcache_metrics_loaded.prom");
    let en = fixture("packet_a/vllm_metrics_loaded.prom");
    for (fmt, needle) in [
        ("text", "architecture: vllm_mp_lmcache (inferred)"),
        ("markdown", "**Architecture:** `vllm_mp_lmcache`"),
    ] {
        let o = kvscope(&[
            "report",
            "--lmcache",
            lm.to_str().unwrap(),
            "--engine",
            en.to_str().unwrap(),
            "--format",
            fmt,
        ]);
        assert_eq!(o.status.code(), Some(0));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(out.contains(needle), "{out}");
        assert!(out.contains("90.0%"), "{out}");
    }
}

/// A `/metrics` URL nothing listens on (a port bound and dropped).
fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/metrics")
}

#[test]
fn unreachable_url_exits_3_and_names_it() {
    let url = dead_url();
    let o = kvscope(&["report", "--lmcache", &url, "--timeout", "2s"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains(&url));
}

/// One URL that never answers no longer stops the report: the file target is reported, the
/// URL target is down (`target_down` fires, critical), and the exit code is 3.
#[test]
fn an_unreachable_url_is_a_down_target_in_a_printed_report() {
    let url = dead_url();
    let t31 = common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom");
    let o = kvscope(&[
        "report",
        "--lmcache",
        t31.to_str().unwrap(),
        "--engine",
        &url,
        "--timeout",
        "2s",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["lmcache"]["lookup"]["hit_tokens"]["since_start"], 27136.0);
    let down = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "target_down")
        .expect("target_down fires");
    assert_eq!(down["severity"], "critical");
    assert!(
        down["evidence"][0]
            .as_str()
            .unwrap()
            .contains("never answered")
    );
}

/// `--fail-on`: exit 1 when a rule at or above the severity fires, 0 below it; a wrong
/// severity is bad input. At t10 of the real capture L1 is at its watermark (an info finding).
#[test]
fn fail_on_gates_on_the_severity_of_firing_rules() {
    let t10 = common::fixture("lmcache-0.5.6-cpu-run1/metrics_t10.prom");
    let at = |sev: &str| {
        kvscope(&[
            "report",
            "--lmcache",
            t10.to_str().unwrap(),
            "--fail-on",
            sev,
        ])
        .status
        .code()
    };
    assert_eq!(at("info"), Some(1));
    assert_eq!(at("warning"), Some(0));
    assert_eq!(at("critical"), Some(0));
    assert_eq!(at("loud"), Some(2));
    let plain = kvscope(&["report", "--lmcache", t10.to_str().unwrap()]);
    assert_eq!(
        plain.status.code(),
        Some(0),
        "findings alone never change the exit code"
    );
}

#[test]
fn error_status_exits_3() {
    let (url, _) = serve(vec![(500, "text/plain", b"boom".to_vec())]);
    let o = kvscope(&["report", "--engine", &url]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("HTTP 500"), "{}", stderr(&o));
}

#[test]
fn html_from_a_url_is_bad_input_naming_the_target() {
    let (url, _) = serve(vec![(200, "text/html", b"<html>sign in</html>".to_vec())]);
    let o = kvscope(&["report", "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&url) && stderr(&o).contains("HTML"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn url_samples_give_windowed_figures_and_only_get_metrics() {
    let body = |n: usize| {
        std::fs::read(fixture(&format!(
            "lmcache-0.5.6-cpu-run1/metrics_t{n}.prom"
        )))
        .unwrap()
    };
    let (url, seen) = serve(vec![
        (200, "text/plain; version=0.0.4; charset=utf-8", body(18)),
        (200, "text/plain; version=0.0.4; charset=utf-8", body(20)),
        (200, "text/plain; version=0.0.4; charset=utf-8", body(22)),
    ]);
    let o = kvscope(&[
        "report",
        "--lmcache",
        &url,
        "--samples",
        "3",
        "--interval",
        "100ms",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // lmcache_mp_lookup_requested_tokens_total is 32256 in t18 and 34304 in t22.
    assert_eq!(
        v["lmcache"]["lookup"]["requested_tokens"]["since_start"],
        34304.0
    );
    // Under a minute of samples: the window reaches back to the first scrape.
    assert_eq!(
        v["lmcache"]["lookup"]["requested_tokens"]["window"],
        34304.0 - 32256.0
    );
    assert_eq!(v["inputs"][0]["kind"], "url");
    assert_eq!(v["inputs"][0]["scrapes"], 3);
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter().all(|r| r.starts_with("GET /metrics ")),
        "{reqs:?}"
    );
}

#[test]
fn screenshot_command_writes_svg_and_text() {
    let dir = std::env::temp_dir().join(format!("kvscope-shot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lm = fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let en = fixture("packet_a/vllm_metrics_loaded.prom");
    for (fmt, file) in [("svg", "s.svg"), ("text", "s.txt")] {
        let out = dir.join(file);
        let o = kvscope(&[
            "screenshot",
            "--lmcache",
            lm.to_str().unwrap(),
            "--engine",
            en.to_str().unwrap(),
            "--size",
            "120x40",
            "--format",
            fmt,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let s = std::fs::read_to_string(&out).unwrap();
        assert!(
            s.contains("Families") && s.contains("vllm_mp_lmcache"),
            "{s}"
        );
        if fmt == "svg" {
            assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        } else {
            assert_eq!(s.lines().count(), 40);
        }
    }
    let o = kvscope(&[
        "screenshot",
        "--lmcache",
        lm.to_str().unwrap(),
        "--size",
        "big",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// Answers 200 with a real scrape only when the bearer token is sent (LMCache 0.5.7 style).
fn serve_with_key(key: &'static str, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for _ in 0..requests {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let body = std::fs::read(fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom")).unwrap();
            let ok = req.contains(&format!("authorization: bearer {key}"));
            let (status, body) = if ok {
                ("200 OK", body)
            } else {
                (
                    "401 Unauthorized",
                    b"{\"detail\":\"unauthorized\"}".to_vec(),
                )
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    format!("http://{addr}")
}

#[test]
fn bearer_token_file_is_sent_and_never_printed() {
    let dir = std::env::temp_dir().join(format!("kvscope-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_file = dir.join("key");
    std::fs::write(&key_file, "s3cret-token\n").unwrap();
    let url = serve_with_key("s3cret-token", 2);
    let o = kvscope(&["report", "--lmcache", &url]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("HTTP 401"));
    let o = kvscope(&[
        "report",
        "--lmcache",
        &url,
        "--bearer-token-file",
        key_file.to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(all.contains("64.6%"));
    assert!(!all.contains("s3cret"));
    let o = kvscope(&["report", "--lmcache", &url, "--header", "no-colon"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn headers_after_a_target_flag_go_to_that_target_only() {
    let dir = std::env::temp_dir().join(format!("kvscope-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (k1, k2) = (dir.join("k1"), dir.join("k2"));
    std::fs::write(&k1, "key-one\n").unwrap();
    std::fs::write(&k2, "key-two\n").unwrap();
    let a = serve_with_key("key-one", 4);
    let b = serve_with_key("key-two", 4);
    // Each target with its own key: both answer.
    let o = kvscope(&[
        "report",
        "--lmcache",
        &a,
        "--bearer-token-file",
        k1.to_str().unwrap(),
        "--lmcache",
        &b,
        "--bearer-token-file",
        k2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // One key before both flags goes to both: the second target refuses it and is named.
    let o = kvscope(&[
        "report",
        "--bearer-token-file",
        k1.to_str().unwrap(),
        "--lmcache",
        &a,
        "--lmcache",
        &b,
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains(&b) && stderr(&o).contains("HTTP 401"),
        "{}",
        stderr(&o)
    );
    // Two key files for one target is a mistake, said before anything is sent.
    let o = kvscope(&[
        "report",
        "--lmcache",
        &a,
        "--bearer-token-file",
        k1.to_str().unwrap(),
        "--bearer-token-file",
        k2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("one per target"), "{}", stderr(&o));
}

/// `kvscope report … | head` where the reader is gone before the report is written: no panic,
/// exit 0 (what was not read was not wanted). Both the report and the screenshot command.
#[test]
fn a_reader_that_went_away_is_not_a_panic() {
    let index = fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let index = index.to_str().unwrap();
    for args in [
        vec!["report", "--lmcache", index],
        vec!["screenshot", "--lmcache", index, "--format", "text"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before kvscope has read its 32 input files and written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// Hand-made: a server that says its body is 100 MB. A body over the cap is bad input
/// (exit 2) naming the URL, said once, and no sample is taken after it.
#[test]
fn a_body_over_the_cap_is_bad_input_naming_the_url() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let asked = Arc::new(Mutex::new(0usize));
    let count = asked.clone();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            *count.lock().unwrap() += 1;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000000\r\nconnection: close\r\n\r\n";
            let _ = s.write_all(head.as_bytes());
        }
    });
    let o = kvscope(&[
        "report",
        "--lmcache",
        &url,
        "--samples",
        "3",
        "--interval",
        "100ms",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&url) && err.contains("larger than"), "{err}");
    assert_eq!(err.matches("larger than").count(), 1, "{err}");
    assert_eq!(*asked.lock().unwrap(), 1);
}

/// `host:port` is that host's HTTP endpoint: `export` records the demo served on loopback
/// from `127.0.0.1:PORT`, and the packet names the URL it meant.
#[test]
fn host_port_targets_are_http_endpoints() {
    let demo = fixture("demo.kvpacket");
    let s = common::Served::start(&["serve", demo.to_str().unwrap()]);
    let host_port = s.url(0).trim_start_matches("http://").to_string();
    let out =
        std::env::temp_dir().join(format!("kvscope-hostport-{}.kvpacket", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let o = kvscope(&[
        "export",
        "--lmcache",
        &host_port,
        "--duration",
        "1s",
        "--interval",
        "300ms",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = kvscope::packet::open(&out).unwrap();
    assert_eq!(
        p.manifest.targets[0].url,
        format!("http://{host_port}/metrics")
    );
    std::fs::remove_file(&out).unwrap();
}

/// A text report on a target that never answers is a short error naming it, not a page of
/// unknown figures; the exit is 3 and the JSON is still the full report.
#[test]
fn an_unreachable_target_gets_a_short_text() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let target = format!("127.0.0.1:{port}");
    let o = kvscope(&["report", "--lmcache", &target, "--format", "text"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("KV cache: DOWN — never answered\nno target answered"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "lmcache http://{target}/metrics: 1 attempt(s) failed"
        )),
        "{text}"
    );
    assert!(text.lines().count() < 6, "{text}");
    let o = kvscope(&["report", "--lmcache", &target, "--format", "json"]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["verdict"]["state"], "down", "{}", v["verdict"]);
    // A gate on the verdict keeps the unreachable code: the target is the news.
    let o = kvscope(&["report", "--lmcache", &target, "--fail-unless", "working"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        v["unknowns"].as_object().is_some_and(|u| u.len() > 50),
        "the full report"
    );
}
