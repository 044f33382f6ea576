//! `report --prometheus` against a hand-made fake API on loopback (answers shaped after
//! Prometheus 2.42's; `tests/fleet.rs` and `tests/fleet_rules.rs` read a real one): Prometheus down, an error status, a
//! query that never answers, a proxy's HTML, a 401, an answer of 200 MB, a partial answer with
//! warnings, hostile label values. Each gives a clear message and its exit code.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

#[derive(Clone, Copy)]
enum Fault {
    Status503,
    Silent,
    Html,
    Unauthorised,
    /// 200 MB announced in the header.
    HugeDeclared,
    /// 200 MB sent without a length.
    HugeStreamed,
    /// A working API whose query answers carry a partial-response warning and whose labels
    /// carry escape sequences.
    PartialHostile,
}

/// Serves `fault` on a free loopback port until the process ends; its base URL.
fn fake_api(fault: Fault) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut b).is_ok_and(|n| n == 1) {
                    head.push(b[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let reply = |status: &str, ct: &str, body: &[u8]| {
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: {ct}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(body);
                    out
                };
                let out = match fault {
                    Fault::Status503 => {
                        reply("503 Service Unavailable", "text/plain", b"overloaded")
                    }
                    Fault::Silent => {
                        std::thread::sleep(Duration::from_secs(30));
                        return;
                    }
                    Fault::Html => reply(
                        "200 OK",
                        "text/html",
                        b"<!DOCTYPE html><html><body>Corporate SSO: sign in</body></html>",
                    ),
                    Fault::Unauthorised => reply("401 Unauthorized", "text/plain", b"Unauthorized"),
                    Fault::HugeDeclared => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200000000\r\n\r\n{");
                        return;
                    }
                    Fault::HugeStreamed => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n");
                        let chunk = vec![b' '; 1 << 20];
                        for _ in 0..200 {
                            if s.write_all(&chunk).is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    Fault::PartialHostile => {
                        reply("200 OK", "application/json", &api_answer(&path))
                    }
                };
                let _ = s.write_all(&out);
            });
        }
    });
    url
}

/// The hand-made working API: one vLLM target whose instance label carries an escape
/// sequence, answering the table's queries (no kvscope rules loaded: the figures come from the
/// expressions) with a partial-response warning.
fn api_answer(path: &str) -> Vec<u8> {
    let instance = r#"evil\u001b[2J:8000"#;
    let vector = |rows: &str, warn: bool| {
        format!(
            r#"{{"status":"success",{}"data":{{"resultType":"vector","result":[{rows}]}}}}"#,
            if warn {
                r#""warnings":["partial response: store-2 unavailable"],"#
            } else {
                ""
            }
        )
    };
    // Names and labels travel unescaped in the query string (letters and `_`).
    let query = path;
    let body = if path.starts_with("/api/v1/targets") {
        r#"{"status":"success","data":{"activeTargets":[]}}"#.to_string()
    } else if query.contains("kvscope_kind") {
        vector(
            &format!(
                r#"{{"metric":{{"job":"vllm","instance":"{instance}","kvscope_kind":"vllm"}},"value":[1700000000,"1"]}}"#
            ),
            false,
        )
    } else if query.contains("kvscope_figure") {
        vector(
            &format!(
                r#"{{"metric":{{"job":"vllm","instance":"{instance}","kvscope_figure":"kvscope:engine_waiting_requests:now"}},"value":[1700000000,"4"]}}"#
            ),
            true,
        )
    } else if query.starts_with("/api/v1/query?query=up") {
        vector(
            &format!(
                r#"{{"metric":{{"__name__":"up","job":"vllm","instance":"{instance}"}},"value":[1700000000,"1"]}}"#
            ),
            false,
        )
    } else {
        // The recorded series (none: the rules are not loaded) and the rules' conditions.
        vector("", false)
    };
    body.into_bytes()
}

fn report(url: &str, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--prometheus", url, "--timeout", "1s"])
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn prometheus_down_slow_or_failing_is_exit_3_with_the_reason() {
    let refused = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    for (url, says) in [
        (refused, "unreachable"),
        (fake_api(Fault::Status503), "HTTP 503"),
        (fake_api(Fault::Silent), "timed out"),
    ] {
        let o = report(&url, &[]);
        assert_eq!(o.status.code(), Some(3), "{url}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{url}: {}", stderr(&o));
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn answers_that_are_not_the_api_are_exit_2_and_say_what_to_do() {
    let o = report(&fake_api(Fault::Html), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did not answer as a Prometheus API"),
        "{}",
        stderr(&o)
    );
    let o = report(&fake_api(Fault::Unauthorised), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--bearer-token-file"), "{}", stderr(&o));
    for fault in [Fault::HugeDeclared, Fault::HugeStreamed] {
        let o = report(&fake_api(fault), &["--max-answer-mib", "8"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("larger than 8 MiB"), "{}", stderr(&o));
    }
}

#[test]
fn a_partial_answer_is_reported_with_its_warning_and_labels_are_cleaned() {
    let url = fake_api(Fault::PartialHostile);
    let o = report(&url, &["--format", "text"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("partial response: store-2 unavailable"),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "an escape sequence reached the output: {text:?}"
    );
    assert!(text.contains("evil"), "{text}");
    let o = report(&url, &[]);
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        r["refresh"]["warnings"][0],
        "partial response: store-2 unavailable"
    );
    assert_eq!(r["figures_from"], "expressions");
    assert_eq!(r["instances"][0]["figures"]["engine.queues.waiting"], 4.0);
    assert_eq!(r["instances"][0]["row"]["architecture"], "engine_only");
}

#[test]
fn bad_fleet_arguments_name_themselves() {
    for (args, says) in [
        (vec!["--match", "job=\"x\""], "--match"),
        (vec!["--group-by", "a-b"], "--group-by"),
        (
            vec!["--lmcache", "x.prom"],
            "cannot be used with '--lmcache",
        ),
    ] {
        let o = report("http://127.0.0.1:9", &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
    let o = report("http://127.0.0.1:9/federate", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("match[]"), "{}", stderr(&o));
}

#[test]
fn the_fleet_view_names_what_it_needs() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .arg("fleet")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("required arguments were not provided")
            && stderr(&o).contains("--prometheus <URL>"),
        "{}",
        stderr(&o)
    );
    // Not on a terminal (as here): it says so, and points at the headless report.
    let o = run(&["--prometheus", "http://127.0.0.1:9"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("report --prometheus"), "{}", stderr(&o));
    let o = run(&["--prometheus", "http://127.0.0.1:9", "--allow-env"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot be used with '--allow-env'"),
        "{}",
        stderr(&o)
    );
}
