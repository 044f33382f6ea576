//! The verdict ("is the KV cache working?") and the rules' hold-down, on real data: the real
//! LMCache 0.5.6 captures, and a real cold start recorded at 1 s
//! (`fixtures/lmcache-0.5.6-cold-start/`).

mod common;

use std::process::Command;

use serde_json::Value;

fn kvscope(args: &[&str]) -> (Value, i32) {
    let o = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&o.stderr)));
    (v, o.status.code().unwrap_or(-1))
}

fn fixture(rel: &str) -> String {
    common::fixture(rel).to_string_lossy().into_owned()
}

fn state(r: &Value) -> &str {
    r["verdict"]["state"].as_str().unwrap()
}

const COLD: &str = "lmcache-0.5.6-cold-start/cold-start.kvpacket";

/// Each state on real data, with the fields the contract names.
#[test]
fn each_state_on_real_data() {
    let report = |args: &[&str]| kvscope(args).0;
    // Working: the real run's last window, 100 % of 4,096 tokens, L1 and L2 split named.
    let run1 = fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let r = report(&["report", "--lmcache", &run1]);
    assert_eq!(state(&r), "working", "{}", r["verdict"]);
    let v = &r["verdict"];
    for field in [
        "state",
        "summary",
        "since",
        "window_seconds",
        "hit_rate_window",
        "reasons",
    ] {
        assert!(v.get(field).is_some(), "{field}: {v}");
    }
    assert_eq!(
        v["hit_rate_window"],
        r["lmcache"]["lookup"]["hit_rate"]["window"]
    );
    assert!(v["summary"].as_str().unwrap().contains("(L1 "), "{v}");
    // No traffic: the same server idle, its lookup counters not created yet; the families
    // LMCache creates at the first lookup wait for it, and the rule that needs them says so.
    let idle = fixture("lmcache-0.5.6-extra/run1_idle_metrics.prom");
    let r = report(&["report", "--lmcache", &idle]);
    assert_eq!(state(&r), "no_traffic", "{}", r["verdict"]);
    assert_eq!(common::family(&r, "lmcache_mp.lookup")["status"], "waiting");
    let rule = r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "required_family_missing")
        .unwrap();
    assert_eq!(rule["state"], "not_evaluable", "{rule}");
    // Not hitting: a real run whose small L1 ran out: 0.7 % of looked-up tokens hit.
    let oom = fixture("lmcache-0.5.6-extra/run1_l1_oom_after_bench_metrics.prom");
    let r = report(&["report", "--lmcache", &oom]);
    assert_eq!(state(&r), "not_hitting", "{}", r["verdict"]);
    assert!(
        r["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("one scrape: no window"),
        "{}",
        r["verdict"]
    );
    // Unknown: an engine alone counts no LMCache hits.
    let vllm = fixture("engine-samples/vllm_0.10.0_prodstack617_excerpt.prom");
    let r = report(&["report", "--engine", &vllm]);
    assert_eq!(state(&r), "unknown", "{}", r["verdict"]);
    assert!(
        r["verdict"]["summary"]
            .as_str()
            .unwrap()
            .contains("--lmcache")
    );
    // Degraded: the real run beside a second LMCache server that refuses: one of two down is
    // a critical finding, not "down".
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("127.0.0.1:{port}");
    let (r, code) = kvscope(&["report", "--lmcache", &run1, "--lmcache", &dead]);
    assert_eq!(code, 3, "a target never answered");
    assert_eq!(state(&r), "degraded", "{}", r["verdict"]);
    assert!(
        r["verdict"]["reasons"][0]
            .as_str()
            .unwrap()
            .contains("down")
    );
    // Down: every LMCache target failed its last attempt.
    let (r, code) = kvscope(&["report", "--lmcache", &dead]);
    assert_eq!((state(&r), code), ("down", 3), "{}", r["verdict"]);
}

/// `--fail-unless` gates on the verdict's state.
#[test]
fn fail_unless_gates_on_the_state() {
    let run1 = fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let code = |states: &str| kvscope(&["report", "--lmcache", &run1, "--fail-unless", states]).1;
    assert_eq!(code("working"), 0);
    assert_eq!(code("degraded,working"), 0);
    assert_eq!(code("no_traffic"), 1);
    assert_eq!(code("not-hitting,down"), 1);
}

/// The verdict through a real cold start: down before the server listens (never answered),
/// no traffic once it answers, working once lookups hit. `since` is when the state began.
#[test]
fn a_cold_start_goes_down_no_traffic_working() {
    let cold = fixture(COLD);
    let at = |offset: &str| kvscope(&["report", "--packet", &cold, "--at", offset]).0;
    let r = at("+5s");
    assert_eq!(state(&r), "down", "{}", r["verdict"]);
    assert_eq!(r["verdict"]["summary"], "never answered");
    let r = at("+12s");
    assert_eq!(state(&r), "no_traffic", "{}", r["verdict"]);
    let r = at("+40s");
    assert_eq!(state(&r), "working", "{}", r["verdict"]);
    let r = kvscope(&["report", "--packet", &cold]).0;
    assert_eq!(state(&r), "working", "{}", r["verdict"]);
    let since = r["verdict"]["since"].as_str().unwrap();
    let first = r["inputs"][0]["first_time"].as_str().unwrap();
    assert!(
        since > first,
        "working began after the first answer: {since}"
    );
}

fn time(v: &Value) -> f64 {
    kvscope::timefmt::parse_rfc3339(v["at"].as_str().unwrap()).unwrap()
}

/// Replayed, the real cold start's history holds no invented state and no warm-up alarm:
/// before the server first answered only `target_down` judged (firing), every other rule
/// waited; the lookup family's appearing a scrape before `l1_counters` left
/// `required_family_missing` pending, never firing; no warning fired in the 20 s after the
/// first answer; and every rule with a `for` was pending that long before it fired.
#[test]
fn a_cold_start_raises_no_false_alarm() {
    let r = kvscope(&["report", "--packet", &fixture(COLD)]).0;
    let first_ok =
        kvscope::timefmt::parse_rfc3339(r["inputs"][0]["first_time"].as_str().unwrap()).unwrap();
    let rules = r["rules"].as_array().unwrap();
    let history = r["verdict_history"].as_object().unwrap();
    assert_eq!(
        history["target_down"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["firing", "clear"]
    );
    let mut held = 0;
    for (code, changes) in history {
        let changes = changes.as_array().unwrap();
        let rule = rules.iter().find(|x| x["code"] == code.as_str()).unwrap();
        for c in changes.iter().filter(|c| time(c) < first_ok) {
            if code != "target_down" {
                assert_eq!(c["state"], "not_evaluable", "{code} before any answer: {c}");
            }
        }
        if rule["severity"] != "info" {
            for c in changes {
                let t = time(c) - first_ok;
                assert!(
                    c["state"] != "firing" || code == "target_down" || t > 20.0,
                    "{code} fired {t:.1} s after the first answer"
                );
            }
        }
        let hold = rule["for_seconds"].as_f64().unwrap();
        for w in changes.windows(2) {
            if w[1]["state"] == "firing" && hold > 0.0 {
                assert_eq!(w[0]["state"], "pending", "{code}: {changes:?}");
                assert!(time(&w[1]) - time(&w[0]) >= hold, "{code}: {changes:?}");
                held += 1;
            }
        }
    }
    assert!(held >= 2, "rules held before firing: {held}");
    let missing = &history["required_family_missing"];
    assert!(
        missing
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["state"] == "pending")
            && missing
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["state"] != "firing"),
        "{missing}"
    );
}

/// `[findings.for]` sets a rule's hold-down: at `0s` the demo's L1 watermark fires at the
/// moment it is reached, with no pending state.
#[test]
fn the_config_sets_a_rules_for() {
    let dir = std::env::temp_dir().join(format!("kvscope-verdict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, "[findings.for]\nl1_at_watermark = \"0s\"\n").unwrap();
    let demo = fixture("demo.kvpacket");
    let r = kvscope(&[
        "report",
        "--packet",
        &demo,
        "--config",
        config.to_str().unwrap(),
    ])
    .0;
    let states: Vec<&str> = r["verdict_history"]["l1_at_watermark"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["clear", "firing", "clear"]);
    std::fs::write(&config, "[findings.for]\nl1_at_watermark = \"soon\"\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--packet", &demo, "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("[findings.for] l1_at_watermark"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn text(args: &[&str]) -> (String, i32) {
    let o = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .args(["--format", "text"])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.code().unwrap_or(-1),
    )
}

/// A trace a customer sent is summarised on its own: no target needed, no page of dashes.
#[test]
fn a_trace_alone_is_reported() {
    let lct = fixture("lmcache-0.5.6-cpu-run1/run.lct");
    let (out, code) = text(&["report", "--lct", &lct]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("KV cache: UNKNOWN — no metrics read yet"),
        "{out}"
    );
    assert!(
        out.contains("no metrics given: what the files say"),
        "{out}"
    );
    // `lmcache trace info`'s record count for this trace.
    assert!(out.contains("275 over"), "{out}");
    assert!(!out.contains("hit rate since start"), "{out}");
    let (r, code) = kvscope(&["report", "--lct", &lct]);
    assert_eq!(code, 0);
    assert_eq!(r["trace"]["total_records"], 275, "{}", r["trace"]);
}

/// One timed scrape has no window: the text says how to get one, and leaves out the figures
/// of parts the input does not have (here the engine and embedded LMCache), saying how many.
#[test]
fn one_sample_points_at_samples_and_absent_parts_are_left_out() {
    let one = format!(
        "{}@2026-11-22T07:23:40Z",
        fixture("lmcache-0.5.6-cpu-run1/metrics_t20.prom")
    );
    let (out, _) = text(&["report", "--lmcache", &one]);
    assert!(out.contains("report --samples N"), "{out}");
    assert!(!out.contains("  engine."), "{out}");
    assert!(!out.contains("  lmcache_embedded."), "{out}");
    assert!(
        out.contains("of parts this input does not have are left out"),
        "{out}"
    );
}

/// The demo pairs the real LMCache run with a vLLM scrape of another run, served as one
/// observation over and over: read as a scraper reads it, the rule that compares the two
/// cannot judge (so the demo raises no warning about its own pairing).
#[test]
fn the_demo_pairing_fires_no_rule() {
    let demo = fixture("demo.kvpacket");
    let s = common::Served::start(&["serve", &demo]);
    let (r, code) = kvscope(&[
        "report",
        "--lmcache",
        &s.url(0),
        "--engine",
        &s.url(1),
        "--samples",
        "3",
        "--interval",
        "300ms",
    ]);
    assert_eq!(code, 0);
    let rule = r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "external_prefix_no_hits")
        .unwrap();
    assert_eq!(rule["state"], "not_evaluable", "{rule}");
    assert!(
        rule["missing_inputs"][0]
            .as_str()
            .unwrap()
            .contains("one observation over and over"),
        "{rule}"
    );
}

/// The real run's last seconds have no lookups: the hit rate since start is said as that, with
/// the window it lacked lookups in.
#[test]
fn a_window_without_lookups_says_since_start() {
    let run = fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let (r, _) = kvscope(&["report", "--lmcache", &run, "--window", "5s"]);
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("64.6% of looked-up tokens hit since start (no lookups in 5s)"),
        "{summary}"
    );
}
