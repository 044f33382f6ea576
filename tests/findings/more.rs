//! Misses explained, every moment of the healthy capture, and the engine log naming the
//! connector: real data through the binary and the library.

use super::*;

/// Why did we miss, on the real capture: phase A evicts 32 chunks that phase B asks for again,
/// and all 32 come back from L2, so no miss is from eviction; all 14,848 missed tokens are
/// cold. /config (read with the capture) says the sample rate is 1.
#[test]
fn the_real_capture_missed_only_cold_tokens() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let r = report_cmd(&["--packet", capture.to_str().unwrap()]);
    let m = &r["miss_attribution"];
    assert_eq!(m["missed_tokens"], 14848.0);
    assert_eq!(m["evicted_tokens"], 0.0);
    assert_eq!(m["l2_failed_tokens"], 0.0);
    assert_eq!(m["cold_tokens"], 14848.0);
    assert_eq!(m["early_exit_lookups"], 0.0);
    assert_eq!(m["tokens_per_chunk"], 256.0);
    assert!(m["weak_because"].as_array().unwrap().is_empty(), "{m}");
    // From files alone /config is not read: the rate is assumed, and that is said.
    let files = report_of(&run1(31));
    let weak = files["miss_attribution"]["weak_because"]
        .as_array()
        .unwrap();
    assert!(weak[0].as_str().unwrap().contains("sample rate is unknown"));
    assert_eq!(files["miss_attribution"]["cold_tokens"], 14848.0);
}

/// The positive case, a real run without L2 (fixtures/lmcache-0.5.6-cpu-nol2): chunks L1
/// evicted while filling are asked for again and, with no L2 to serve them, miss. 16 chunks of
/// 256 tokens: 4,096 of the 18,432 missed tokens are put down to eviction, none to L2.
#[test]
fn without_l2_evicted_chunks_explain_misses() {
    let capture = common::fixture("lmcache-0.5.6-cpu-nol2");
    let r = report_cmd(&["--packet", capture.to_str().unwrap()]);
    let m = &r["miss_attribution"];
    assert_eq!(m["missed_tokens"], 18432.0);
    assert_eq!(m["evicted_tokens"], 4096.0);
    assert_eq!(m["l2_failed_tokens"], 0.0);
    assert_eq!(m["cold_tokens"], 14336.0);
    // L1 is still evicting in the run's last minute (it has no L2 to spill to).
    assert_eq!(state(&r, "l1_evicting"), "firing");
}

/// Every moment of the real capture (each prefix of its timeline, t0 idle through the
/// workload): no warning and nothing critical fires. Idle, before the first lookup, the
/// families LMCache creates on first use are not expected yet.
#[test]
fn no_moment_of_the_healthy_real_capture_raises_a_warning() {
    let all = run1(31);
    for last in 0..all.len() {
        let r = report_of(&all[..=last]);
        for f in r["findings"].as_array().unwrap() {
            assert_eq!(f["severity"], "info", "t{last}: {f}");
        }
    }
    let idle = report_of(&all[..1]);
    assert_eq!(state(&idle, "required_family_missing"), "not_evaluable");
}

/// The engine log's connector line is mode evidence, and the deprecated v0 name there fires
/// stale_connector. The scrape is real (packet_a's vLLM); the log lines are hand-made from the
/// wording vLLM logs at start-up (engines.md §2).
#[test]
fn the_engine_log_names_the_connector() {
    let dir = std::env::temp_dir().join(format!("kvscope-englog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let vllm = common::fixture("packet_a/vllm_metrics_loaded.prom");
    let log = |name: &str| {
        let p = dir.join(format!("{name}.log"));
        std::fs::write(
            &p,
            format!("(EngineCore_DP0 pid=84) INFO 05-07 23:02:58 [factory.py:51] Creating v1 connector with name: {name} and engine_id: 3f1c\n"),
        )
        .unwrap();
        p
    };
    let v1 = log("LMCacheConnectorV1");
    let r = report_cmd(&[
        "--engine",
        vllm.to_str().unwrap(),
        "--engine-log",
        v1.to_str().unwrap(),
    ]);
    let ev = r["mode"]["evidence"].to_string();
    assert!(
        ev.contains("connector_log") && ev.contains("LMCacheConnectorV1"),
        "{ev}"
    );
    assert_eq!(state(&r, "stale_connector"), "clear");
    assert_eq!(r["engine_log"]["facts"]["connector"], "LMCacheConnectorV1");
    let v0 = log("LMCacheConnector");
    let r = report_cmd(&[
        "--engine",
        vllm.to_str().unwrap(),
        "--engine-log",
        v0.to_str().unwrap(),
    ]);
    assert_eq!(
        state(&r, "stale_connector"),
        "firing",
        "{}",
        rule(&r, "stale_connector")
    );
}
