//! Acceptance figures on real captures: packet_a (real H100 vLLM + LMCache MP, May 2026
//! build) and the real LMCache 0.5.6 CPU run (32 timed scrapes).

mod common;
use common::*;

#[test]
fn packet_a_both_scrapes() {
    let r = report(
        &packet_a("lmcache_metrics_loaded.prom"),
        &packet_a("vllm_metrics_loaded.prom"),
        60.0,
    );
    assert_eq!(r["schema"], "kvscope-report/1");
    // Hit rate since start: 18432 / 20480.
    assert!(close(
        f(&r, "lmcache.lookup.hit_rate.since_start"),
        18432.0 / 20480.0
    ));
    assert_eq!(f(&r, "lmcache.lookup.hit_tokens.since_start"), 18432.0);
    // L0→L1 store throughput from the unit-suffixed histogram: 130.79 / 6.
    assert!(close(
        f(&r, "lmcache.l0_l1.store_throughput_gbs.mean"),
        130.7901426487392 / 6.0
    ));
    // No load histogram: null, with the reason.
    assert!(at(&r, "lmcache.l0_l1.load_throughput_gbs.mean").is_null());
    assert!(
        r["unknowns"]["lmcache.l0_l1.load_throughput_gbs.mean"]
            .as_str()
            .unwrap()
            .contains("no L1→L0 load throughput histogram")
    );
    // External prefix cache: 0 hits of 2306 queried tokens; `_created` series are not data.
    assert_eq!(
        f(&r, "engine.external_prefix_cache.hit_rate.since_start"),
        0.0
    );
    assert_eq!(f(&r, "engine.external_prefix_cache.queries_total"), 2306.0);
    assert_eq!(f(&r, "engine.external_prefix_cache.hits_total"), 0.0);
    assert!(close(
        f(&r, "engine.prefix_cache.hit_rate.since_start"),
        19824.0 / 22130.0
    ));
    // No L2 adapter: every L2 family not applicable.
    for id in [
        "lmcache_mp.l2_counters",
        "lmcache_mp.l2_failures",
        "lmcache_mp.l2_usage",
        "lmcache_mp.l1_l2_throughput",
    ] {
        assert_eq!(family(&r, id)["status"], "not_applicable", "{id}");
    }
    assert_eq!(r["mode"]["architecture"], "vllm_mp_lmcache");
    assert_eq!(r["mode"]["strength"], "inferred");
    let decision = &r["mode"]["evidence"][0];
    assert!(
        decision["detail"]
            .as_str()
            .unwrap()
            .contains("no vllm:lmcache_mp_")
    );
    // Every name in both real scrapes is known to the catalog.
    assert_eq!(r["unrecognised"], serde_json::json!([]));
    assert_eq!(r["parse_errors"]["lines_skipped"], 0);
    // Without times no window: null with a reason, never 0.
    assert!(at(&r, "lmcache.lookup.hit_rate.window").is_null());
    assert!(
        r["unknowns"]["lmcache.lookup.hit_rate.window"]
            .as_str()
            .unwrap()
            .contains("FILE@TIME")
    );
}

#[test]
fn packet_a_lmcache_alone_is_an_mp_server() {
    let r = report(&packet_a("lmcache_metrics_loaded.prom"), &[], 60.0);
    assert_eq!(r["mode"]["architecture"], "lmcache_mp_server");
    assert_eq!(family(&r, "vllm.prefix_cache")["status"], "not_applicable");
    // The May 2026 build's `*_keys_total` L1 names map to the same family as 0.5.6's chunks.
    let l1 = family(&r, "lmcache_mp.l1_counters");
    assert_eq!(l1["status"], "populated");
    assert!(
        l1["metrics"][0]["names"][0]
            .as_str()
            .unwrap()
            .contains("_keys_total")
    );
    assert_eq!(
        family(&r, "lmcache_mp.storage_manager")["status"],
        "populated"
    );
    // Used bytes only in this build: total is unknown, with why.
    assert_eq!(f(&r, "lmcache.l1.used_bytes"), 490733568.0);
    assert!(at(&r, "lmcache.l1.total_bytes").is_null());
}

#[test]
fn packet_a_by_cache_salt_reads_an_empty_salt_as_no_salt() {
    // LMCache exports cache_salt="" for unsalted keys; Prometheus drops empty labels, so the
    // same box read through a fleet has no label. Both read as one group, with a note.
    let r = report(&packet_a("lmcache_metrics_loaded.prom"), &[], 60.0);
    let rows = at(&r, "lmcache.lookup.by_cache_salt").as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["cache_salt"].is_null());
    assert!(rows[0]["note"].as_str().unwrap().contains("empty"));
    assert_eq!(rows[0]["requested_tokens"], 20480.0);
    assert_eq!(rows[0]["hit_tokens"], 18432.0);
}

#[test]
fn run1_final_scrape_since_start_and_window() {
    let r = report(&run1_timeline(31), &[], 60.0);
    assert_eq!(f(&r, "lmcache.lookup.hit_tokens.since_start"), 27136.0);
    assert_eq!(
        f(&r, "lmcache.lookup.requested_tokens.since_start"),
        41984.0
    );
    // 60 s before t31 (07:25:31.286) the newest scrape is t25 (07:24:28.612): 4096/4096.
    assert_eq!(f(&r, "lmcache.lookup.hit_tokens.window"), 4096.0);
    assert_eq!(f(&r, "lmcache.lookup.requested_tokens.window"), 4096.0);
    assert_eq!(f(&r, "lmcache.lookup.hit_rate.window"), 1.0);
    // L1/L2 split of hits: 18944 + 8192 = 27136.
    assert!(close(
        f(&r, "lmcache.lookup.l1_share.since_start"),
        18944.0 / 27136.0
    ));
    assert!(close(
        f(&r, "lmcache.lookup.l2_share.since_start"),
        8192.0 / 27136.0
    ));
    // L1: 0.71875 of 1 GiB.
    assert_eq!(f(&r, "lmcache.l1.usage_ratio"), 0.71875);
    assert_eq!(f(&r, "lmcache.l1.total_bytes"), 1073741824.0);
    assert_eq!(f(&r, "lmcache.l1.evicted.since_start"), 67.0);
    assert_eq!(f(&r, "lmcache.l1.eviction_triggers.since_start"), 7.0);
    assert_eq!(f(&r, "lmcache.l2.store_requests.since_start"), 29.0);
    assert_eq!(f(&r, "lmcache.l2.load_requests.since_start"), 16.0);
    assert_eq!(f(&r, "lmcache.l2.adapters_active"), 1.0);
    assert!(close(
        f(&r, "lmcache.l2.store_throughput_gbs.mean"),
        19.73555791571605 / 29.0
    ));
    assert!(close(
        f(&r, "lmcache.l0_l1.load_throughput_gbs.mean"),
        25.051845578913607 / 12.0
    ));
    for id in [
        "lmcache_mp.l2_counters",
        "lmcache_mp.l2_usage",
        "lmcache_mp.l1_l2_throughput",
        "lmcache_mp.l2_adapters",
    ] {
        assert_eq!(family(&r, id)["status"], "populated", "{id}");
    }
    // CPU run: the CUDA-only transfer phases are not applicable.
    assert_eq!(
        family(&r, "lmcache_mp.transfer_phases")["status"],
        "not_applicable"
    );
    assert_eq!(r["mode"]["architecture"], "lmcache_mp_server");
    assert_eq!(r["unrecognised"], serde_json::json!([]));
    // EventBus gauges read 0 on 0.5.6 whatever the bus holds: never presented as trustworthy.
    assert_eq!(at(&r, "lmcache.eventbus.gauges_trust"), "unverified");
    assert_eq!(f(&r, "lmcache.eventbus.dropped_total"), 0.0);
}

#[test]
fn run1_window_at_t20() {
    let r = report(&run1_timeline(20), &[], 60.0);
    // Window base: t6 (07:23:07.762), the newest at or before 07:24:08.420 − 60 s.
    assert_eq!(f(&r, "lmcache.lookup.hit_tokens.window"), 18944.0);
    assert_eq!(f(&r, "lmcache.lookup.requested_tokens.window"), 29184.0);
    assert!((f(&r, "lmcache.lookup.hit_rate.window") - 0.6491).abs() < 5e-5);
    assert!((f(&r, "lmcache.lookup.hit_rate.since_start") - 0.6212).abs() < 5e-5);
    assert!((f(&r, "lmcache.window_seconds") - 60.658).abs() < 1e-3);
}

#[test]
fn run1_transient_inflight_gauge_in_one_scrape_only() {
    // `lmcache_mp_num_inflight_l2_stores` exists in t7 only.
    let at7 = report(&run1_timeline(7), &[], 60.0);
    assert!(f(&at7, "lmcache.l2.inflight_stores") > 0.0);
    assert_eq!(
        family(&at7, "lmcache_mp.l2_usage")["metrics"][1]["status"],
        "populated"
    );
    let at8 = report(&run1_timeline(8), &[], 60.0);
    // Gone again: the gauge only lists adapters with work, and an L2 adapter is active.
    assert_eq!(f(&at8, "lmcache.l2.inflight_stores"), 0.0);
    assert_eq!(
        family(&at8, "lmcache_mp.l2_usage")["metrics"][1]["status"],
        "missing"
    );
    assert!(f(&at8, "lmcache.l2.store_requests.window") >= 0.0);
}

#[test]
fn run1_idle_scrape_has_only_observable_gauges() {
    let r = report(&run1_timeline(0), &[], 60.0);
    assert_eq!(r["mode"]["architecture"], "lmcache_mp_server");
    assert_eq!(family(&r, "lmcache_mp.eventbus")["status"], "zero");
    // Required, created at the first lookup: waiting for traffic, not missing.
    assert_eq!(family(&r, "lmcache_mp.lookup")["status"], "waiting");
    assert!(at(&r, "lmcache.lookup.hit_rate.since_start").is_null());
    assert!(at(&r, "lmcache.lookup.hit_rate.window").is_null());
}

#[test]
fn report_counters_never_go_negative_across_the_whole_timeline() {
    // Every prefix of the real timeline: windowed counters are >= 0.
    for last in 1..32 {
        let r = report(&run1_timeline(last), &[], 30.0);
        for path in [
            "lmcache.lookup.requested_tokens.window",
            "lmcache.l1.evicted.window",
            "lmcache.l2.store_requests.window",
        ] {
            // A number, never negative; or unknown, and then with its reason.
            match at(&r, path) {
                serde_json::Value::Number(n) => {
                    let v = n.as_f64().unwrap();
                    assert!(v >= 0.0, "{path} at t{last} = {v}");
                }
                serde_json::Value::Null => assert!(
                    r["unknowns"][path].is_string(),
                    "{path} at t{last} is null without a reason"
                ),
                other => panic!("{path} at t{last} is {other}"),
            }
        }
    }
}

#[test]
fn run1_breakdowns_by_l2_name_device_worker_engine() {
    let r = report(&run1_timeline(31), &[], 60.0);
    let b = &r["lmcache"]["breakdowns"];
    let fs = &b["by_l2_name"][0];
    assert_eq!(fs["l2_name"], "fs");
    assert_eq!(fs["used_bytes"], 1946157056.0);
    assert_eq!(fs["store_requests"]["since_start"], 29.0);
    assert_eq!(fs["load_requests"]["since_start"], 16.0);
    assert!(close(
        fs["load_throughput_gbs_mean"].as_f64().unwrap(),
        80.73546273196487 / 16.0
    ));
    let cpu = &b["by_device"][0];
    assert_eq!(cpu["device"], "cpu");
    // 4 stores and 12 retrieves submitted, all finished.
    assert_eq!(cpu["stores_in_flight"], 0.0);
    assert_eq!(cpu["retrieves_in_flight"], 0.0);
    assert!(close(
        cpu["l0_l1_store_throughput_gbs_mean"].as_f64().unwrap(),
        3.5573966190640114 / 4.0
    ));
    assert_eq!(b["by_worker_id"][0]["worker_id"], "1000");
    assert_eq!(b["by_worker_id"][0]["chunks_loaded"]["since_start"], 24.0);
    assert_eq!(b["by_engine_id"][0]["engine_id"], "1000");
}

#[test]
fn packet_a_breakdown_by_device_names_the_gpu() {
    let r = report(&packet_a("lmcache_metrics_loaded.prom"), &[], 60.0);
    let dev = &r["lmcache"]["breakdowns"]["by_device"][0];
    assert_eq!(dev["device"], "cuda:0");
    assert!(close(
        dev["l0_l1_store_throughput_gbs_mean"].as_f64().unwrap(),
        130.7901426487392 / 6.0
    ));
    // This build exports no submitted/finished transfer counters: unknown, not 0.
    assert!(dev["stores_in_flight"].is_null());
    assert!(r["unknowns"]["lmcache.breakdowns.by_device[0].stores_in_flight"].is_string());
    assert_eq!(
        r["lmcache"]["breakdowns"]["by_l2_name"],
        serde_json::json!([])
    );
}

#[test]
fn packet_a_findings_name_the_missing_external_hits() {
    let r = report(
        &packet_a("lmcache_metrics_loaded.prom"),
        &packet_a("vllm_metrics_loaded.prom"),
        60.0,
    );
    let codes = common::finding_codes(&r);
    assert!(codes.contains(&"external_prefix_no_hits"), "{codes:?}");
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "external_prefix_no_hits")
        .unwrap();
    assert!(f["evidence"][0].as_str().unwrap().contains("18432"));
    // Ranked: nothing after a finding is more severe than it.
    let rank = |s: &str| {
        ["info", "warning", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let sev: Vec<usize> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| rank(f["severity"].as_str().unwrap()))
        .collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
}

#[test]
fn run1_findings_see_l1_below_watermark_and_no_drops() {
    let r = report(&run1_timeline(31), &[], 60.0);
    let codes = common::finding_codes(&r);
    assert!(!codes.contains(&"eventbus_dropping"));
    assert!(
        !codes.contains(&"l1_at_watermark"),
        "0.71875 < 0.8: {codes:?}"
    );
    assert!(codes.contains(&"eventbus_gauges_unverified"));
}

/// `lmcache trace info`'s answer in `ground-truth/trace_info.txt`, as a map of its rows and
/// the ops it lists (its log line before the answer is left out).
fn trace_info(
    path: &std::path::Path,
) -> (
    std::collections::BTreeMap<String, String>,
    std::collections::BTreeMap<String, u64>,
) {
    let text = std::fs::read_to_string(path).unwrap();
    let (mut rows, mut ops) = (
        std::collections::BTreeMap::new(),
        std::collections::BTreeMap::new(),
    );
    let mut in_ops = false;
    for line in text.lines().skip_while(|l| !l.starts_with("Trace file:")) {
        if let Some(file) = line.strip_prefix("Trace file: ") {
            if !rows.is_empty() {
                break; // the answer is printed twice; one is enough
            }
            rows.insert("file".to_string(), file.to_string());
            continue;
        }
        let trimmed = line.trim();
        if trimmed == "ops:" {
            in_ops = true;
            continue;
        }
        let (k, v) = trimmed.rsplit_once(':').unwrap();
        if in_ops && line.starts_with("    ") {
            ops.insert(k.to_string(), v.trim().parse().unwrap());
        } else {
            in_ops = false;
            rows.insert(k.to_string(), v.trim().to_string());
        }
    }
    (rows, ops)
}

/// `kvscope report ARGS` as JSON.
fn report_json(args: &[&str]) -> serde_json::Value {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The report's trace against `lmcache trace info`'s rows and ops.
fn assert_trace_is(
    t: &serde_json::Value,
    rows: &std::collections::BTreeMap<String, String>,
    ops: &std::collections::BTreeMap<String, u64>,
) {
    assert_eq!(t["level"], rows["level"]);
    assert_eq!(t["format_version"].to_string(), rows["format_version"]);
    assert_eq!(
        t["trace_schema_version"].to_string(),
        rows["trace_schema_version"]
    );
    assert_eq!(
        format!("{:.3}s", t["duration_s"].as_f64().unwrap()),
        rows["duration"]
    );
    assert_eq!(t["sm_config_digest"], rows["sm_config_digest"]);
    assert_eq!(t["total_records"].to_string(), rows["total_records"]);
    let got: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(t["ops"].clone()).unwrap();
    assert_eq!(&got, ops);
    assert_eq!(
        (t["complete"].as_bool(), t["error"].is_null()),
        (Some(true), true)
    );
}

#[test]
fn the_trace_summary_equals_lmcache_trace_info_on_the_real_capture() {
    let capture = fixture("lmcache-0.5.6-cpu-run1");
    let (rows, ops) = trace_info(&capture.join("ground-truth/trace_info.txt"));
    let r = report_json(&["--packet", capture.to_str().unwrap(), "--format", "json"]);
    let t = &r["trace"];
    assert_eq!(t["file"], rows["file"]);
    assert_trace_is(t, &rows, &ops);
    // The server log beside it: counted by kind, every line kept (grep -c on the file).
    let l = &r["server_log"];
    assert_eq!(l["lines"], 343);
    assert_eq!(l["by_kind"]["prefetch_completed"], 53);
    assert_eq!(l["by_kind"]["eviction_triggered"], 7);
    assert_eq!(
        l["prefetch"]["l1_keys"].as_f64().unwrap() + l["prefetch"]["l2_keys"].as_f64().unwrap(),
        l["prefetch"]["retained_keys"].as_f64().unwrap()
    );
    assert!(l["unknown_lines"].as_u64().unwrap() > 0);
}

#[test]
fn otel_spans_given_beside_a_target_reach_the_report() {
    // The span export is hand-made (fixtures/otel-handmade); the scrape is real.
    let r = report_json(&[
        "--lmcache",
        fixture("lmcache-0.5.6-cpu-run1/metrics_t5.prom")
            .to_str()
            .unwrap(),
        "--otel",
        fixture("otel-handmade/spans.otlp.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(r["spans"]["requests"], 4);
    assert_eq!(r["spans"]["timeouts"], 1);
    assert_eq!(r["spans"]["by_name"]["mp.lookup_prefetch"]["count"], 2);
    assert!(r["trace"].is_null() && r["server_log"].is_null());
}

/// An events-level trace of a real LMCache 0.5.6 server (`--trace-level events`): the summary
/// equals `lmcache trace info`, its `events:` block included (ground truth beside the file).
#[test]
fn an_events_level_trace_summary_equals_lmcache_trace_info() {
    let dir = fixture("lmcache-0.5.6-events-trace");
    let (rows, ops) = trace_info(&dir.join("trace_info.txt"));
    let r = report_json(&[
        "--lmcache",
        fixture("lmcache-0.5.6-cpu-run1/metrics_t5.prom")
            .to_str()
            .unwrap(),
        "--lct",
        dir.join("run.lct").to_str().unwrap(),
    ]);
    let t = &r["trace"];
    assert_trace_is(t, &rows, &ops);
    for k in [
        "instance_id",
        "lmcache_version",
        "cache_event_schema_version",
    ] {
        assert_eq!(t["level_meta"][k], rows[k], "{k}");
    }
    // The events block, read from the same file by its own rules.
    let text = std::fs::read_to_string(dir.join("trace_info.txt")).unwrap();
    let block: Vec<&str> = text
        .lines()
        .skip_while(|l| l.trim() != "events:")
        .skip(1)
        .collect();
    let e = &t["events"];
    let mut section = "";
    for line in block {
        let s = line.trim();
        if let Some((k, v)) = s.split_once(':') {
            let v = v.trim();
            match (section, k) {
                (_, "instances") => section = "instances",
                (_, "batches (type/tier/backend/shared)") => section = "batches",
                (_, "entries") if v.is_empty() => section = "entries",
                (_, "store_bytes") => assert_eq!(e["store_bytes"].to_string(), v),
                (_, "entries_with_tokens") => assert_eq!(e["entries_with_tokens"].to_string(), v),
                (_, "lifecycle") => {
                    for part in v.split(", ") {
                        let (phase, n) = part.split_once('=').unwrap();
                        assert_eq!(e["lifecycle"][phase].to_string(), n, "{phase}");
                    }
                }
                ("instances", id) => {
                    let incs = v.split('[').nth(1).unwrap().split(']').next().unwrap();
                    let want: Vec<i64> = incs.split(", ").map(|x| x.parse().unwrap()).collect();
                    let have: Vec<i64> =
                        serde_json::from_value(e["instances"][id].clone()).unwrap();
                    assert_eq!(have, want, "{id}");
                }
                ("batches", key) => assert_eq!(e["batches"][key].to_string(), v, "{key}"),
                ("entries", kind) => assert_eq!(e["entries"][kind].to_string(), v, "{kind}"),
                _ => panic!("unexpected line {line}"),
            }
        }
    }
    assert_eq!(e["batches"].as_object().unwrap().len(), 4);
}

/// The real run's L1→L2 store throughput falls in LMCache's first bucket (0–5 GB/s): its
/// p50 and p99 are interpolations inside it, so the text shows the bucket, and the JSON carries
/// the bounds beside each value.
#[test]
fn a_quantile_inside_a_wide_bucket_is_shown_as_its_range() {
    let index = common::fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let run = |format: &str| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args(["report", "--format", format, "--lmcache"])
            .arg(&index)
            .output()
            .unwrap();
        String::from_utf8(o.stdout).unwrap()
    };
    let text = run("text");
    let line = text
        .lines()
        .find(|l| l.contains("L1→L2 store GB/s"))
        .unwrap();
    assert!(line.contains("p50 0–5 p99 0–5"), "{line}");
    let v: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let d = &v["lmcache"]["l2"]["store_throughput_gbs"];
    assert_eq!(d["p50_bucket"], serde_json::json!([0.0, 5.0]), "{d}");
    let p99 = d["p99"].as_f64().unwrap();
    assert!((0.0..=5.0).contains(&p99), "{d}");
}
