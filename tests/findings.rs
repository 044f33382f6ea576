//! The rule pack on real data: every rule gives a verdict (`firing`, `clear` or
//! `not_evaluable` with what it lacks), on the real LMCache 0.5.6 capture, packet_a and
//! timelines derived from the capture by changing values (said where they are).

mod common;
#[path = "findings/pack.rs"]
mod pack;

use std::path::PathBuf;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Every (rule, state) the cases saw: `pack::every_rule_fires_and_clears_in_some_case` checks
/// that each rule has both.
static SEEN: std::sync::Mutex<BTreeMap<String, BTreeSet<String>>> =
    std::sync::Mutex::new(BTreeMap::new());

/// Notes the verdicts of a report among those seen.
fn seen(r: &Value) {
    let mut seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for x in r["rules"].as_array().unwrap() {
        seen.entry(x["code"].as_str().unwrap().to_string())
            .or_default()
            .insert(x["state"].as_str().unwrap().to_string());
    }
}

/// The report of a model fed these LMCache bodies at these times (no engine).
fn report_of(scrapes: &[(Vec<u8>, f64)]) -> Value {
    let mut m = kvscope::model::Model::new(&["lmcache".into()], &[], 64);
    // The conditions alone: hold-downs are tested apart.
    m.thresholds = kvscope::analysis::findings::Thresholds::at_once();
    let target = kvscope::vocab::TargetRef {
        role: kvscope::vocab::Role::Lmcache,
        index: 0,
    };
    for (body, t) in scrapes {
        m.apply(kvscope::vocab::Event::Scrape {
            target,
            time: Some(*t),
            body: body.clone(),
            format: None,
            origin: "test".into(),
        })
        .unwrap();
    }
    let r = kvscope::report::build(&m, 60.0);
    seen(&r);
    same_verdicts(&m);
    r
}

/// The verdicts judging uses (`analysis::verdicts`, which leaves out what no rule reads) are
/// the full analysis's, on every case.
fn same_verdicts(m: &kvscope::model::Model) {
    let inputs = m.inputs(60.0);
    let (judged, full) = (
        kvscope::analysis::verdicts(&inputs),
        kvscope::analysis::analyze(&inputs),
    );
    assert_eq!(judged.rules, full.rules);
    assert_eq!(judged.verdict, full.verdict);
}

/// The real capture t0..=last as (body, time).
fn run1(last: usize) -> Vec<(Vec<u8>, f64)> {
    common::run1_timeline(last)
        .into_iter()
        .map(|(p, t): (PathBuf, Option<f64>)| (std::fs::read(p).unwrap(), t.unwrap()))
        .collect()
}

fn rule<'a>(r: &'a Value, code: &str) -> &'a Value {
    r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == code)
        .unwrap_or_else(|| panic!("no rule {code}"))
}

fn state(r: &Value, code: &str) -> String {
    rule(r, code)["state"].as_str().unwrap().to_string()
}

/// The capture's counter named `name` (no labels) moved by `by` in the last scrape: a derived
/// timeline, not a real one.
fn bumped(mut scrapes: Vec<(Vec<u8>, f64)>, name: &str, by: f64) -> Vec<(Vec<u8>, f64)> {
    let last = scrapes.last_mut().unwrap();
    let text = String::from_utf8(last.0.clone()).unwrap();
    let mut found = false;
    let out: String = text
        .lines()
        .map(|l| match l.strip_prefix(&format!("{name} ")) {
            Some(v) => {
                found = true;
                format!("{name} {}\n", v.trim().parse::<f64>().unwrap() + by)
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert!(found, "{name} is in the capture");
    last.0 = out.into_bytes();
    scrapes
}

#[test]
fn every_rule_gives_a_verdict_with_the_contract_fields() {
    let r = report_of(&run1(31));
    let rules = r["rules"].as_array().unwrap();
    assert!(rules.len() >= 30, "{} rules", rules.len());
    for x in rules {
        for field in [
            "code",
            "severity",
            "state",
            "title",
            "missing_inputs",
            "window_seconds",
            "evidence",
            "evidence_data",
            "explanation",
            "next_action",
        ] {
            assert!(x.get(field).is_some(), "{} has no {field}", x["code"]);
        }
        let s = x["state"].as_str().unwrap();
        assert!(["firing", "pending", "clear", "not_evaluable"].contains(&s));
        assert!(x["for_seconds"].as_f64().is_some_and(|f| f >= 0.0), "{x}");
        assert_eq!(
            s == "not_evaluable",
            !x["missing_inputs"].as_array().unwrap().is_empty(),
            "{x}"
        );
    }
    // findings[] is the firing verdicts, the same objects.
    let firing: Vec<&Value> = rules.iter().filter(|x| x["state"] == "firing").collect();
    let findings: Vec<&Value> = r["findings"].as_array().unwrap().iter().collect();
    assert_eq!(firing.len(), findings.len());
    for f in findings {
        assert!(firing.contains(&f));
    }
}

/// The capture's healthy end raises no warning; its EventBus never dropped.
#[test]
fn the_real_capture_at_rest_raises_no_warning() {
    let r = report_of(&run1(31));
    for f in r["findings"].as_array().unwrap() {
        assert_eq!(f["severity"], "info", "{f}");
    }
    assert_eq!(state(&r, "eventbus_dropping"), "clear");
    assert_eq!(state(&r, "bad_data"), "clear");
    assert_eq!(state(&r, "l1_at_watermark"), "clear");
    // Files carry no route answers: a rule that needs one says so.
    assert_eq!(state(&r, "periodic_threads_unhealthy"), "not_evaluable");
    assert!(
        rule(&r, "periodic_threads_unhealthy")["missing_inputs"][0]
            .as_str()
            .unwrap()
            .contains("/periodic-threads-health")
    );
    // No engine was given.
    assert_eq!(state(&r, "stale_connector"), "not_evaluable");
}

#[test]
fn l1_at_its_watermark_fires_at_t10_and_clears_by_t31() {
    let r = report_of(&run1(10));
    assert_eq!(state(&r, "l1_at_watermark"), "firing");
    let x = rule(&r, "l1_at_watermark");
    assert_eq!(x["evidence_data"]["watermark"], 0.8);
    assert_eq!(x["window_seconds"], 60.0);
    assert_eq!(state(&report_of(&run1(31)), "l1_at_watermark"), "clear");
}

/// Derived from the capture: the drop counter moves in the last scrape, so the bus dropped in
/// the window; the same total with no move in the window is clear (an old burst does not fire
/// forever).
#[test]
fn eventbus_dropping_fires_on_drops_in_the_window_only() {
    let name = "lmcache_mp_event_bus_dropped_events_total";
    let dropping = report_of(&bumped(run1(31), name, 5.0));
    assert_eq!(state(&dropping, "eventbus_dropping"), "firing");
    assert_eq!(rule(&dropping, "eventbus_dropping")["severity"], "critical");
    // Derived: the drops happened at t1, long before the window of t31.
    let mut old = run1(31);
    for s in old.iter_mut().skip(1) {
        let text = String::from_utf8(s.0.clone()).unwrap();
        s.0 = text
            .replace(&format!("{name} 0.0"), &format!("{name} 5.0"))
            .into_bytes();
    }
    let r = report_of(&old);
    assert_eq!(
        state(&r, "eventbus_dropping"),
        "clear",
        "{}",
        rule(&r, "eventbus_dropping")
    );
    assert_eq!(
        rule(&r, "eventbus_dropping")["evidence_data"]["dropped_total"],
        5.0
    );
}

#[test]
fn a_hit_rate_is_not_judged_before_warm_up() {
    // t1: the first lookups, fewer than the warm-up's tokens.
    let r = report_of(&run1(1));
    let x = rule(&r, "low_lookup_hit_rate");
    assert_eq!(x["state"], "not_evaluable", "{x}");
    assert!(x["missing_inputs"][0].as_str().unwrap().contains("warm-up"));
}

#[test]
fn the_findings_document_is_the_rule_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
    let generated = kvscope::analysis::findings::document();
    if std::env::var_os("KVSCOPE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let written = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "docs/findings.md differs from the rule table: KVSCOPE_BLESS=1 cargo test --test findings"
    );
}

/// `report` run as a command: its JSON.
fn report_cmd(args: &[&str]) -> Value {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .arg("report")
        .args(args)
        .output()
        .unwrap();
    let r = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&o.stderr));
    });
    seen(&r);
    r
}

/// The real capture folder, with its route answers: the route rules can judge, and on this
/// healthy server they are clear; its lookups carry only the empty cache_salt (real).
#[test]
fn route_rules_judge_the_real_capture_with_its_answers() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let r = report_cmd(&["--packet", capture.to_str().unwrap()]);
    for code in [
        "lmcache_unhealthy",
        "eventbus_thread_missing",
        "periodic_threads_unhealthy",
        "prefetch_queue_saturated",
        "eventbus_unobservable",
        "eventbus_subscriber_exceptions",
        "lookup_counters_missing",
        "cache_salt_cardinality_high",
    ] {
        assert_eq!(state(&r, code), "clear", "{}", rule(&r, code));
    }
    assert_eq!(state(&r, "cache_salt_empty"), "firing");
    assert_eq!(
        rule(&r, "prefetch_queue_saturated")["evidence_data"]["max_in_flight"],
        8.0
    );
}

/// Real data where a rule fires: evictions at t10 (phase A fills L1 past its watermark); no
/// EventBus self-metrics in a real MP slice (hand-trimmed); vLLM counting no external hits in
/// packet_a while LMCache hit.
#[test]
fn real_data_fires_eviction_unobservable_bus_and_missing_external_hits() {
    let r = report_of(&run1(10));
    assert_eq!(state(&r, "l1_evicting"), "firing");
    assert_eq!(state(&report_of(&run1(31)), "l1_evicting"), "clear");
    let slice = common::fixture("lmcache-0.5.6-extra/inferguard_mp_modal_real_slice.prom");
    let r = report_cmd(&["--lmcache", slice.to_str().unwrap()]);
    assert_eq!(state(&r, "eventbus_unobservable"), "firing");
    let a = common::fixture("packet_a");
    let r = report_cmd(&[
        "--lmcache",
        a.join("lmcache_metrics_loaded.prom").to_str().unwrap(),
        "--engine",
        a.join("vllm_metrics_loaded.prom").to_str().unwrap(),
    ]);
    assert_eq!(state(&r, "external_prefix_no_hits"), "firing");
    assert_eq!(state(&r, "engine_kv_cache_full"), "clear");
}

/// Derived from real scrapes by changing values (said per case): each rule fires on the
/// change and is clear on the original.
#[test]
fn derived_scrapes_fire_what_the_originals_do_not() {
    let dir = std::env::temp_dir().join(format!("kvscope-findings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    // packet_a's vLLM scrape with its KV cache usage set to 0.97.
    let a = common::fixture("packet_a/vllm_metrics_loaded.prom");
    let vllm = std::fs::read_to_string(&a).unwrap();
    let full: String = vllm
        .lines()
        .map(|l| {
            if l.starts_with("vllm:kv_cache_usage_perc") {
                format!("{} 0.97\n", l.rsplit_once(' ').unwrap().0)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let r = report_cmd(&["--engine", write("full.prom", full).to_str().unwrap()]);
    assert_eq!(state(&r, "engine_kv_cache_full"), "firing");
    // t31 without its lookup counters (L1 still moves).
    let t31 = std::fs::read_to_string(common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom"))
        .unwrap();
    let no_lookup: String = t31
        .lines()
        .filter(|l| !l.contains("lmcache_mp_lookup_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = report_cmd(&[
        "--lmcache",
        write("nolookup.prom", no_lookup).to_str().unwrap(),
    ]);
    assert_eq!(state(&r, "lookup_counters_missing"), "firing");
    // t31's lookup counters copied under 1001 cache_salt values.
    let mut salted = String::new();
    for l in t31.lines() {
        if l.starts_with("lmcache_mp_lookup_requested_tokens_total{cache_salt=\"\"") {
            for i in 0..1001 {
                salted.push_str(&l.replace("cache_salt=\"\"", &format!("cache_salt=\"t{i}\"")));
                salted.push('\n');
            }
        } else if !l.starts_with("lmcache_mp_lookup_requested_tokens_total") {
            salted.push_str(l);
            salted.push('\n');
        }
    }
    let r = report_cmd(&["--lmcache", write("salted.prom", salted).to_str().unwrap()]);
    assert_eq!(state(&r, "cache_salt_cardinality_high"), "firing");
    assert_eq!(state(&r, "cache_salt_empty"), "clear");
    // Synthetic values from LMCache's real exporters (fixtures/README.md): subscribers raised.
    let synthetic = common::fixture("lmcache-0.5.6-extra/mp_subscribers_synthetic_events.prom");
    let r = report_cmd(&["--lmcache", synthetic.to_str().unwrap()]);
    assert_eq!(state(&r, "eventbus_subscriber_exceptions"), "firing");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `report --routes` reads the LMCache routes once, so the route rules judge headless; without
/// it they say what they need. Against the demo's servers (the real recording served).
#[test]
fn report_with_routes_lets_route_rules_judge() {
    let demo = common::DemoServers::start();
    let with = report_cmd(&["--lmcache", &demo.lmcache, "--routes"]);
    for code in [
        "lmcache_unhealthy",
        "eventbus_thread_missing",
        "periodic_threads_unhealthy",
        "prefetch_queue_saturated",
    ] {
        assert_eq!(state(&with, code), "clear", "{}", rule(&with, code));
    }
    assert_eq!(with["lmcache"]["http"]["version"], "0.5.6-g3e11e108");
    let without = report_cmd(&["--lmcache", &demo.lmcache]);
    assert_eq!(state(&without, "lmcache_unhealthy"), "not_evaluable");
}

/// Embedded LMCache (`lmcache:*` on the engine's /metrics). The multiprocess file holds
/// synthetic values from LMCache's real exporter (fixtures/README.md): the figures are its
/// counters; its 3 remote ping errors fire `remote_backend_errors`. A derived copy whose
/// retrieved tokens are 0 fires `lookup_hits_without_loaded_tokens`. The real vLLM excerpt
/// carries only lookup requests: the rules say what they lack.
#[test]
fn embedded_figures_and_rules() {
    let multiproc =
        common::fixture("lmcache-0.5.6-extra/embedded_prometheus_logger_multiproc.prom");
    let r = report_cmd(&["--engine", multiproc.to_str().unwrap()]);
    let e = &r["lmcache_embedded"];
    assert_eq!(e["present"], true);
    assert_eq!(
        common::f(&r, "lmcache_embedded.lookup_hit_tokens.since_start"),
        3.0
    );
    assert_eq!(
        common::f(&r, "lmcache_embedded.retrieve_hit_rate.since_start"),
        1.0
    );
    assert_eq!(e["by_worker"][0]["worker_id"], Value::Null);
    assert_eq!(e["by_worker"][0]["value"], "0");
    assert!(r["unknowns"]["lmcache_embedded.healthy"].as_str().is_some());
    assert_eq!(state(&r, "remote_backend_errors"), "firing");
    assert_eq!(state(&r, "lookup_hits_without_loaded_tokens"), "clear");
    assert_eq!(state(&r, "embedded_unhealthy"), "not_evaluable");

    let text = std::fs::read_to_string(&multiproc).unwrap();
    let derived: String = text
        .lines()
        .map(|l| {
            if l.starts_with("lmcache:num_hit_tokens_total") {
                format!("{} 0.0\n", l.rsplit_once(' ').unwrap().0)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = std::env::temp_dir().join(format!("kvscope-emb-{}.prom", std::process::id()));
    std::fs::write(&path, derived).unwrap();
    let r = report_cmd(&["--engine", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(state(&r, "lookup_hits_without_loaded_tokens"), "firing");

    let excerpt =
        common::fixture("engine-samples/vllm_lmcache-embedded_tp4_lmcache1300_excerpt.prom");
    let r = report_cmd(&["--engine", excerpt.to_str().unwrap()]);
    assert_eq!(r["lmcache_embedded"]["present"], true);
    assert_eq!(
        state(&r, "lookup_hits_without_loaded_tokens"),
        "not_evaluable"
    );
    // An MP-only input has no embedded LMCache at all.
    let r = report_of(&run1(31));
    assert_eq!(r["lmcache_embedded"]["present"], false);
    assert!(
        rule(&r, "remote_backend_errors")["missing_inputs"][0]
            .as_str()
            .unwrap()
            .contains("embedded")
    );
}

/// The second batch of rules, each firing on a change to real data (said per case) and clear
/// on the original.
#[test]
fn parse_l2_trace_and_engine_rules() {
    let dir = std::env::temp_dir().join(format!("kvscope-batch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let t31_path = common::fixture("lmcache-0.5.6-cpu-run1/metrics_t31.prom");
    let t31 = std::fs::read_to_string(&t31_path).unwrap();
    let one = |name: &str, text: String| -> Value {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        report_cmd(&["--lmcache", p.to_str().unwrap()])
    };
    let original = report_cmd(&["--lmcache", t31_path.to_str().unwrap()]);
    for code in ["parse_errors", "l2_prefetch_failures"] {
        assert_eq!(state(&original, code), "clear", "{}", rule(&original, code));
    }
    // t31 with a line that is not exposition text.
    let r = one(
        "garbled.prom",
        format!("{t31}this is not a sample line at all {{\n"),
    );
    assert_eq!(state(&r, "parse_errors"), "firing");
    // t31 with 4 failed L2 prefetch chunks.
    let r = one(
        "failed.prom",
        format!("{t31}lmcache_mp_l2_prefetch_failure_chunks_total 4.0\n"),
    );
    assert_eq!(state(&r, "l2_prefetch_failures"), "firing");
    // t30 with 2 L2 stores submitted and not completed, t31 with 4 (derived): behind at the
    // window's start and further behind, still in flight. One scrape alone cannot say.
    let behind = |text: &str, submitted: u32| {
        let out = text.replace(
            "lmcache_mp_l2_store_submitted_requests_total 29.0",
            &format!("lmcache_mp_l2_store_submitted_requests_total {submitted}.0"),
        ) + "lmcache_mp_num_inflight_l2_stores{l2_name=\"fs\"} 2.0\n";
        assert!(
            out.contains(&format!("total {submitted}.0")),
            "the capture has the counter"
        );
        out
    };
    let alone = one("backlog.prom", behind(&t31, 33));
    assert_eq!(state(&alone, "l2_store_backlog"), "not_evaluable");
    let mut timeline = run1(31);
    let t30 = String::from_utf8(timeline[30].0.clone()).unwrap();
    timeline[30].0 = behind(&t30, 31).into_bytes();
    timeline[31].0 = behind(&t31, 33).into_bytes();
    let r = report_of(&timeline[30..]);
    assert_eq!(
        state(&r, "l2_store_backlog"),
        "firing",
        "{}",
        rule(&r, "l2_store_backlog")
    );
    assert_eq!(
        state(&report_of(&run1(31)[29..]), "l2_store_backlog"),
        "clear"
    );

    // The capture folder with its /config changed: tracing on without an endpoint, recording
    // without a file. The original says neither.
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let r = report_cmd(&["--packet", capture.to_str().unwrap()]);
    assert_eq!(state(&r, "trace_recording_without_file"), "clear");
    assert_eq!(state(&r, "tracing_without_endpoint"), "clear");
    assert_eq!(state(&r, "tracing_without_spans"), "clear");
    let copy = dir.join("capture");
    copy_dir(&capture, &copy);
    let config = copy.join("http/config.json");
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    c["observability"]["tracing_enabled"] = Value::Bool(true);
    c["observability"]["trace_output"] = Value::Null;
    std::fs::write(&config, serde_json::to_vec(&c).unwrap()).unwrap();
    let r = report_cmd(&["--packet", copy.to_str().unwrap()]);
    assert_eq!(state(&r, "trace_recording_without_file"), "firing");
    assert_eq!(state(&r, "tracing_without_endpoint"), "firing");

    // A real SGLang excerpt, and the same with one HiCache gauge added by hand.
    let sglang = common::fixture("engine-samples/sglang_0.5.1_issue13485_excerpt.prom");
    let r = report_cmd(&["--engine", sglang.to_str().unwrap()]);
    assert_eq!(state(&r, "sglang_hicache_not_lmcache"), "clear");
    let text = std::fs::read_to_string(&sglang).unwrap();
    let p = dir.join("hicache.prom");
    std::fs::write(
        &p,
        format!("{text}sglang:hicache_host_used_tokens 1024.0\n"),
    )
    .unwrap();
    let r = report_cmd(&["--engine", p.to_str().unwrap()]);
    assert_eq!(state(&r, "sglang_hicache_not_lmcache"), "firing");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// `[findings]` thresholds in a config file: `report --config` reads them (so CI and the live
/// view agree); without `--config` a report uses the defaults; an unknown key is bad input.
#[test]
fn config_thresholds_change_verdicts() {
    let dir = std::env::temp_dir().join(format!("kvscope-thr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "[findings]\nkv_cache_full = 0.0\n").unwrap();
    let vllm = common::fixture("packet_a/vllm_metrics_loaded.prom");
    let default = report_cmd(&["--engine", vllm.to_str().unwrap()]);
    assert_eq!(state(&default, "engine_kv_cache_full"), "clear");
    let strict = report_cmd(&[
        "--engine",
        vllm.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(state(&strict, "engine_kv_cache_full"), "firing");
    assert_eq!(
        rule(&strict, "engine_kv_cache_full")["evidence_data"]["threshold"],
        0.0
    );
    std::fs::write(&cfg, "[findings]\nloudness = 3\n").unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--engine", vllm.to_str().unwrap(), "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("loudness"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[path = "findings/more.rs"]
mod more;
