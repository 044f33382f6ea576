//! Names by version: LMCache 0.4.7, 0.5.0, 0.5.3, 0.5.6 and the 0.5.7 pre-release, run for
//! real, are read whole; every metric name vLLM 0.34.0 declares (read from its wheel's source,
//! fixtures/vllm-0.34.0-metric-names.txt, provenance in fixtures/README.md) is one the
//! catalog knows, in the colon and the exporter spellings.

use std::process::Command;

use serde_json::Value;

mod common;

fn report_engine(text: &str, name: &str) -> Value {
    let p = common::scratch(name, text);
    let r = common::report_json(&["--engine", p.to_str().unwrap()]);
    let _ = std::fs::remove_file(&p);
    r
}

/// Hand-made scrape: each of vLLM 0.34's names once, as a gauge (the kind does not decide
/// whether a name is known).
#[test]
fn every_vllm_0_34_name_is_known_in_either_spelling() {
    let names = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/vllm-0.34.0-metric-names.txt"
    ))
    .unwrap();
    let names: Vec<&str> = names.lines().filter(|l| !l.is_empty()).collect();
    assert!(names.len() > 90, "the list is whole: {}", names.len());
    for spelling in ["vllm:", "vllm_"] {
        let text: String = names
            .iter()
            .map(|n| {
                let n = n.replacen("vllm:", spelling, 1);
                format!("# TYPE {n} gauge\n{n} 1\n")
            })
            .collect();
        let r = report_engine(&text, "names.prom");
        assert_eq!(r["unrecognised"], serde_json::json!([]), "{spelling}");
        // Both offloading generations: the per-direction names and the older total.
        let populated: Vec<&str> = r["families"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "populated")
            .filter_map(|f| f["id"].as_str())
            .collect();
        for id in [
            "vllm.kv_offload",
            "vllm.hf3fs",
            "vllm.hisparse",
            "vllm.umbp",
        ] {
            assert!(populated.contains(&id), "{spelling}: {id} in {populated:?}");
        }
    }
}

const RC: &str = "fixtures/lmcache-0.5.7rc2-cpu-run1";

fn report_packet(dir: &str) -> Value {
    common::report_json(&["--packet", dir])
}

/// What `lmcache trace info` printed for a release run's storage trace.
fn trace_info(dir: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    ["trace_info.txt", "ground-truth/trace_info.txt"]
        .iter()
        .find_map(|f| std::fs::read_to_string(format!("{root}/{dir}/{f}")).ok())
        .unwrap_or_else(|| panic!("{dir}: no trace_info.txt"))
}

/// Every release: every LMCache family it exports is known (0 unrecognised), the
/// architecture is the MP server, no required family is missing, and its trace (schema 1 or
/// 2) decodes as `lmcache trace info` read it: schema, record count and every op's count.
#[test]
fn every_release_run_for_real_is_read_whole() {
    for (version, dir) in common::RELEASE_RUNS {
        let r = report_packet(dir);
        assert_eq!(r["unrecognised"], serde_json::json!([]), "{version}");
        assert_eq!(r["mode"]["architecture"], "lmcache_mp_server", "{version}");
        let missing: Vec<&Value> = r["families"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "missing" && f["need"] == "required")
            .collect();
        assert!(missing.is_empty(), "{version}: {missing:?}");
        let info = trace_info(dir);
        let field = |k: &str| {
            info.lines()
                .find_map(|l| l.trim().strip_prefix(k))
                .map(|v| v.trim().to_string())
                .unwrap()
        };
        let t = &r["trace"];
        assert_eq!(t["error"], Value::Null, "{version}");
        assert_eq!(
            t["trace_schema_version"].to_string(),
            field("trace_schema_version:"),
            "{version}"
        );
        assert_eq!(
            t["total_records"].to_string(),
            field("total_records:"),
            "{version}"
        );
        let ops: Vec<(String, u64)> = info
            .lines()
            .filter_map(|l| {
                let (op, n) = l.trim().rsplit_once(": ")?;
                if !op.starts_with("lmcache.") {
                    return None;
                }
                Some((op.to_string(), n.parse::<u64>().ok()?))
            })
            .collect();
        assert!(!ops.is_empty(), "{version}");
        for (op, n) in ops {
            assert_eq!(t["ops"][&op], n, "{version}: {op}");
        }
    }
}

/// What only 0.5.7 exports: its two new lookup counters, populated.
#[test]
fn lmcache_0_5_7rc2_s_new_lookup_counters_are_read() {
    let r = report_packet(RC);
    let lookup = common::family(&r, "lmcache_mp.lookup");
    for key in ["prompt_tokens", "request_hit_tokens"] {
        let m = lookup["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["key"] == key)
            .unwrap();
        assert_eq!(m["status"], "populated", "{m}");
    }
}

/// 0.5.7's /status bounds prefetches by `inflight_watermark`, a share of L1, where 0.5.6 gave
/// a count (`max_in_flight`): it is not read as a count (one prefetch in flight would have
/// been "1 of 0.5", saturated), and the rule that needs the count says it cannot judge.
#[test]
fn inflight_watermark_is_a_share_not_a_count() {
    let r = report_packet(RC);
    let http = &r["lmcache"]["http"];
    assert_eq!(http["prefetch_inflight_watermark"], 0.5);
    assert_eq!(http["prefetch_max_in_flight"], Value::Null);
    let why = r["unknowns"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.ends_with("prefetch_max_in_flight"))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    assert!(why.contains("inflight_watermark"), "{why}");
    let rule = common::rule(&r, "prefetch_queue_saturated");
    assert_eq!(rule["state"], "not_evaluable", "{rule}");
    // 0.5.6 gives the count.
    let old = report_packet("fixtures/lmcache-0.5.6-cpu-run1");
    assert_eq!(old["lmcache"]["http"]["prefetch_max_in_flight"], 8.0);
    // The text says each limit as what it is.
    let text = common::report_text(&["--packet", RC]);
    assert!(text.contains("0, staging up to 50.0% of L1;"), "{text}");
    let text = common::report_text(&["--packet", "fixtures/lmcache-0.5.6-cpu-run1"]);
    assert!(text.contains(" 0 of 8;"), "{text}");
}

/// The Python the reference parser runs on: Debian's, where `python3-prometheus-client`
/// installs (`.ci/run` installs it), else the one on the path.
fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Every release's last scrape, read by kvscope and by prometheus_client (tests/
/// prom_reference.py): the lookup tokens, L1 reads, writes and evictions and L1 memory
/// kvscope reports since start equal the independent parse's sums, under whichever name
/// that release exports. Without prometheus_client the test says so and passes, except in CI
/// (`KVSCOPE_REQUIRE_PROM_CLIENT=1`), where it fails.
#[test]
fn every_release_s_figures_equal_prometheus_client_s_parse() {
    let probe = Command::new(python())
        .args(["-c", "import prometheus_client.parser"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("KVSCOPE_REQUIRE_PROM_CLIENT").is_none(),
            "prometheus_client is required here: install python3-prometheus-client"
        );
        eprintln!("skipped: no prometheus_client for {}", python());
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    for (version, dir) in common::RELEASE_RUNS {
        let file = format!("{root}/{}", common::last_scrape(dir));
        let out = Command::new(python())
            .arg(format!("{root}/tests/prom_reference.py"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sums: Value = serde_json::from_slice(&out.stdout).unwrap();
        let sums = &sums[&file];
        let sum = |names: &[&str]| names.iter().find_map(|n| sums[*n].as_f64());
        let r = common::report_json(&["--lmcache", &file]);
        let lm = &r["lmcache"];
        let checks: [(&Value, &[&str]); 7] = [
            (
                &lm["lookup"]["requested_tokens"]["since_start"],
                &["lmcache_mp_lookup_requested_tokens_total"],
            ),
            (
                &lm["lookup"]["hit_tokens"]["since_start"],
                &["lmcache_mp_lookup_hit_tokens_total"],
            ),
            (
                &lm["l1"]["reads"]["since_start"],
                &[
                    "lmcache_mp_l1_read_chunks_total",
                    "lmcache_mp_l1_read_keys_total",
                ],
            ),
            (
                &lm["l1"]["writes"]["since_start"],
                &[
                    "lmcache_mp_l1_write_chunks_total",
                    "lmcache_mp_l1_write_keys_total",
                ],
            ),
            (
                &lm["l1"]["evicted"]["since_start"],
                &[
                    "lmcache_mp_l1_evicted_chunks_total",
                    "lmcache_mp_l1_evicted_keys_total",
                ],
            ),
            (
                &lm["l1"]["used_bytes"],
                &["lmcache_mp_l1_memory_usage_bytes"],
            ),
            (&lm["l1"]["usage_ratio"], &["lmcache_mp_l1_usage_ratio"]),
        ];
        for (got, names) in checks {
            let want = sum(names).unwrap_or_else(|| panic!("{version}: none of {names:?}"));
            assert_eq!(got.as_f64(), Some(want), "{version} {names:?}");
        }
    }
}
