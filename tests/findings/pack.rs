//! The rules added to the pack after the first ones, each with a firing and a clear case, and
//! the check that every rule of the pack has both. Real scrapes (the LMCache 0.5.6 capture, packet_a, the extra 0.5.6 runs), and
//! timelines derived from them by changing values — every derived case says what it changed.

use super::{SEEN, common, rule, same_verdicts, seen, state};
use kvscope::model::Model;
use kvscope::vocab::{Event, Flavor, Role, Route, TargetRef};
use serde_json::Value;

/// A scrape body and its capture time.
type Scrape = (String, f64);

/// The real capture t0..=last.
fn run1(last: usize) -> Vec<Scrape> {
    common::run1_timeline(last)
        .into_iter()
        .map(|(p, t)| (std::fs::read_to_string(p).unwrap(), t.unwrap()))
        .collect()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(common::fixture(rel)).unwrap()
}

/// A model of an LMCache and an engine target (either may be empty), fed in time order.
fn model(lm: &[Scrape], en: &[Scrape]) -> Model {
    let names = |s: &[Scrape], n: &str| -> Vec<String> {
        if s.is_empty() { vec![] } else { vec![n.into()] }
    };
    let mut m = Model::new(&names(lm, "lmcache"), &names(en, "engine"), 64);
    // The conditions alone: hold-downs are tested apart.
    m.thresholds = kvscope::analysis::findings::Thresholds::at_once();
    feed(&mut m, lm, en, false);
    m
}

/// The scrapes applied to `m` in time order; with `judge`, every rule judged as of each
/// capture moment, as a replay and `report --packet` do.
fn feed(m: &mut Model, lm: &[Scrape], en: &[Scrape], judge: bool) {
    let mut all: Vec<(Role, &Scrape)> = lm
        .iter()
        .map(|s| (Role::Lmcache, s))
        .chain(en.iter().map(|s| (Role::Engine, s)))
        .collect();
    all.sort_by(|a, b| a.1.1.total_cmp(&b.1.1));
    for (role, (body, time)) in all {
        let e = Event::Scrape {
            target: TargetRef { role, index: 0 },
            time: Some(*time),
            body: body.clone().into_bytes(),
            format: None,
            origin: "test".into(),
        };
        match judge {
            true => m.apply_judged(e, 60.0),
            false => m.apply(e),
        }
        .unwrap();
    }
    if judge {
        m.judge_pending(60.0);
    }
}

/// The states a report's `verdict_history` gives a rule, oldest first.
fn history<'a>(r: &'a Value, code: &str) -> Vec<&'a str> {
    r["verdict_history"][code]
        .as_array()
        .map(|changes| {
            changes
                .iter()
                .map(|c| c["state"].as_str().unwrap())
                .collect()
        })
        .unwrap_or_default()
}

fn report(m: &Model) -> Value {
    let r = kvscope::report::build(m, 60.0);
    seen(&r);
    same_verdicts(m);
    r
}

/// `text` with the value of every sample of `name` (any labels) replaced by `f(old)`.
fn set(text: &str, name: &str, f: impl Fn(f64) -> f64) -> String {
    let mut found = false;
    let out = text
        .lines()
        .map(|l| {
            let is = l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} "));
            match (is, l.rsplit_once(' ')) {
                (true, Some((head, v))) => {
                    found = true;
                    format!("{head} {}\n", f(v.parse().unwrap()))
                }
                _ => format!("{l}\n"),
            }
        })
        .collect();
    assert!(found, "{name} is in the scrape");
    out
}

/// The capture's last scrape repeated `n` times, 5 s apart, each changed by `f(k, body)`.
fn extend(mut scrapes: Vec<Scrape>, n: usize, f: impl Fn(usize, &str) -> String) -> Vec<Scrape> {
    let (last, t) = scrapes.last().unwrap().clone();
    for k in 1..=n {
        scrapes.push((f(k, &last), t + 5.0 * k as f64));
    }
    scrapes
}

#[path = "cases.rs"]
mod cases;
use cases::*;

/// A vLLM that still exports gpu_prefix_cache_* predates external_prefix_cache_*: the rule
/// says so, and the matrix does not require the newer family beside an LMCache server.
#[test]
pub fn an_old_vllm_is_named_and_not_expected_to_export_newer_families() {
    // Real excerpt of vLLM 0.10.0 (fixtures/engine-samples).
    let old = read("engine-samples/vllm_0.10.0_prodstack617_excerpt.prom");
    let r = report(&model(&[], &[(old, 1.0)]));
    assert_eq!(state(&r, "engine_old_metric_names"), "firing");
    // packet_a's vLLM is current.
    let vllm = read("packet_a/vllm_metrics_loaded.prom");
    let r = report(&model(&[], &[(vllm.clone(), 1.0)]));
    assert_eq!(state(&r, "engine_old_metric_names"), "clear");
    // Derived: packet_a's vLLM with its prefix-cache counters under the old names and no
    // external_prefix_cache_*, beside the real LMCache capture.
    let aged: String = vllm
        .lines()
        .filter(|l| !l.contains("external_prefix_cache"))
        .map(|l| {
            format!(
                "{}\n",
                l.replace("vllm:prefix_cache_", "vllm:gpu_prefix_cache_")
            )
        })
        .collect();
    let lm = run1(31);
    let t = lm.last().unwrap().1;
    let r = report(&model(&lm, &[(aged, t)]));
    let fam = common::family(&r, "vllm.external_prefix_cache");
    assert_eq!(fam["need"], "optional", "{fam}");
    assert!(fam["why_not_required"].as_str().unwrap().contains("0.12"));
    assert!(
        !rule(&r, "required_family_missing")["evidence_data"]["families"]
            .to_string()
            .contains("vllm.external_prefix_cache")
    );
}

/// Embedded LMCache, from the multiprocess exporter file (synthetic values from LMCache's real
/// exporter, fixtures/README.md), derived into timelines.
#[test]
pub fn embedded_zero_hits_slow_retrievals_and_p2p() {
    let base = read("lmcache-0.5.6-extra/embedded_prometheus_logger_multiproc.prom");
    // Two scrapes 10 s apart, 5000 more tokens looked up; hits moved by `more_hits`.
    let looked = |more_hits: f64| -> Vec<Scrape> {
        let later = set(&base, "lmcache:num_lookup_tokens_total", |v| v + 5000.0);
        let later = set(&later, "lmcache:num_lookup_hits_total", |v| v + more_hits);
        vec![(base.clone(), 0.0), (later, 10.0)]
    };
    let r = report(&model(&[], &looked(0.0)));
    assert_eq!(state(&r, "embedded_zero_hits"), "firing");
    let r = report(&model(&[], &looked(1200.0)));
    assert_eq!(state(&r, "embedded_zero_hits"), "clear");
    // The file counts 3 slow retrievals of each kind: since start, as one scrape.
    let r = report(&model(&[], &[(base.clone(), 0.0)]));
    assert_eq!(state(&r, "embedded_slow_retrievals"), "firing");
    // None more in the window: clear.
    let r = report(&model(&[], &looked(1200.0)));
    assert_eq!(state(&r, "embedded_slow_retrievals"), "clear");
    // P2P: the file's transfer-time histogram with 10 more transfers in the window, each
    // taking 2.5 s or 0.02 s (derived).
    let p2p = |took: f64| -> Vec<Scrape> {
        let prefix = "lmcache:p2p_time_to_transfer_bucket{le=\"";
        let later: String = base
            .lines()
            .map(|l| {
                let (head, v) = l.rsplit_once(' ').unwrap_or((l, ""));
                let v: f64 = v.parse().unwrap_or(0.0);
                let le = l.strip_prefix(prefix).and_then(|r| r.split('"').next());
                let more = match le {
                    Some(le) if le == "+Inf" || le.parse::<f64>().unwrap() >= took => 10.0,
                    Some(_) => 0.0,
                    None if l.starts_with("lmcache:p2p_time_to_transfer_count") => 10.0,
                    None if l.starts_with("lmcache:p2p_time_to_transfer_sum") => 10.0 * took,
                    None => return format!("{l}\n"),
                };
                format!("{head} {}\n", v + more)
            })
            .collect();
        vec![(base.clone(), 0.0), (later, 10.0)]
    };
    let r = report(&model(&[], &p2p(2.5)));
    assert_eq!(
        state(&r, "p2p_transfer_slow"),
        "firing",
        "{}",
        rule(&r, "p2p_transfer_slow")
    );
    let r = report(&model(&[], &p2p(0.02)));
    assert_eq!(
        state(&r, "p2p_transfer_slow"),
        "clear",
        "{}",
        rule(&r, "p2p_transfer_slow")
    );
}

/// `report --packet` judges every rule as of each capture: on the demo's real recording L1
/// reached its watermark while phase A filled it and left it after, and `verdict_history`
/// says when. `--at` before that moment has no firing in its history.
#[test]
pub fn a_packet_report_carries_each_rules_state_changes() {
    let demo = common::fixture("demo.kvpacket");
    let run = |extra: &[&str]| -> Value {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args(["report", "--format", "json", "--packet"])
            .arg(&demo)
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let r = run(&[]);
    // Its condition held from the pending change for its `for` (10 s) before it fired.
    assert_eq!(
        history(&r, "l1_at_watermark"),
        ["clear", "pending", "firing", "clear"]
    );
    let at = |i: usize| {
        let t = r["verdict_history"]["l1_at_watermark"][i]["at"]
            .as_str()
            .unwrap();
        kvscope::timefmt::parse_rfc3339(t).unwrap()
    };
    assert!(at(2) - at(1) >= 10.0, "{} then {}", at(1), at(2));
    let first = r["verdict_history"]["l1_at_watermark"][1]["at"]
        .as_str()
        .unwrap();
    assert!(first.starts_with("2026-11-22T07:2"), "{first}");
    let early = run(&["--at", "+30s"]);
    assert_eq!(history(&early, "l1_at_watermark"), ["clear"]);
}

/// Seen on the real server: its routes answered a moment before its first /metrics scrape,
/// and a rule about its metrics fired for that instant. Before the first scrape, rules on the
/// metrics wait; rules on the routes judge.
#[test]
pub fn rules_on_metrics_wait_for_the_first_scrape_routes_do_not() {
    let mut m = Model::new(&["lmcache".into()], &[], 8);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let health = read("lmcache-0.5.6-cpu-run1/http/periodic-threads-health.json");
    m.apply(Event::Route {
        target,
        route: Route::PeriodicThreadsHealth,
        flavor: Flavor::Current,
        time: 1.0,
        result: Ok((200, health.into_bytes())),
    })
    .unwrap();
    let r = report(&m);
    assert_eq!(state(&r, "eventbus_unobservable"), "not_evaluable");
    assert_eq!(state(&r, "periodic_threads_unhealthy"), "clear");
    let (body, t) = run1(0).remove(0);
    m.apply(Event::Scrape {
        target,
        time: Some(t),
        body: body.into_bytes(),
        format: None,
        origin: "test".into(),
    })
    .unwrap();
    assert_ne!(state(&report(&m), "eventbus_unobservable"), "not_evaluable");
}

/// The first rules' other halves, on derived scrapes (each says what it changed), and a URL
/// that cannot be reached.
#[test]
pub fn first_rules_other_cases() {
    let lm = run1(31);
    let t = lm.last().unwrap().1;
    // t31 with a counter at +Inf: a value that cannot be right.
    let bad = extend(lm.clone(), 1, |_, b| {
        set(b, "lmcache_mp_l1_read_chunks_total", |_| f64::INFINITY)
    });
    assert_eq!(state(&report(&model(&bad, &[])), "bad_data"), "firing");
    // t31 with an EventBus depth of 3: the gauges are live, so they can be trusted.
    let live = extend(lm.clone(), 1, |_, b| {
        set(b, "lmcache_mp_event_bus_queue_depth", |_| 3.0)
    });
    assert_eq!(
        state(&report(&model(&live, &[])), "eventbus_gauges_unverified"),
        "clear"
    );
    // packet_a's vLLM counting 1024 external hits beside the LMCache capture.
    let vllm = set(
        &read("packet_a/vllm_metrics_loaded.prom"),
        "vllm:external_prefix_cache_hits_total",
        |_| 1024.0,
    );
    let r = report(&model(&lm, &[(vllm, t)]));
    assert_eq!(state(&r, "external_prefix_no_hits"), "clear");
    // The embedded exporter's file with a worker that says it is unhealthy.
    let emb = read("lmcache-0.5.6-extra/embedded_prometheus_logger_multiproc.prom")
        + "lmcache:lmcache_is_healthy{worker_id=\"0\"} 0.0\n";
    let r = report(&model(&[], &[(emb, 1.0)]));
    assert_eq!(
        state(&r, "embedded_unhealthy"),
        "firing",
        "{}",
        rule(&r, "embedded_unhealthy")
    );
    // Nothing listens on port 1 of loopback.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args([
            "report",
            "--format",
            "json",
            "--lmcache",
            "http://127.0.0.1:1/metrics",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    seen(&r);
    assert_eq!(state(&r, "target_down"), "firing");
}

/// Seen on the real server with L1 at 0.5 GB: usage saws between the watermark and one
/// eviction's share below it. Derived: after t31, usage alternating 0.81 and 0.65 while
/// evictions go on, then the same usage with no evictions for longer than the window.
#[test]
pub fn l1_at_its_watermark_does_not_flap_while_evicting() {
    let sawing = extend(run1(31), 12, |k, body| {
        let ratio = if k % 2 == 0 { 0.65 } else { 0.81 };
        let b = set(body, "lmcache_mp_l1_usage_ratio", |_| ratio);
        let evicted = if k <= 6 { 4.0 * k as f64 } else { 24.0 };
        set(&b, "lmcache_mp_l1_evicted_chunks_total", |v| v + evicted)
    });
    let mut m = Model::new(&["lmcache".into()], &[], 64);
    feed(&mut m, &sawing, &[], true);
    let r = report(&m);
    let changes = history(&r, "l1_at_watermark");
    // Clear through the real capture's end, firing while sawing; no flapping.
    assert_eq!(
        changes.iter().filter(|s| **s == "firing").count(),
        2,
        "{changes:?}"
    );
}

/// A moment is judged on its own time, whatever "now" the caller holds (a replay's picture
/// clock lags its events at speed): the engine read twice at the start goes stale in the
/// verdict history at the moment it did, though "now" stays at the start.
#[test]
pub fn each_moment_is_judged_on_its_own_time() {
    let lm = run1(31);
    let vllm = read("packet_a/vllm_metrics_loaded.prom");
    let t0 = lm[0].1;
    let early = [(vllm.clone(), t0), (vllm, t0 + 5.0)];
    let mut m = Model::new(&["lmcache".into()], &["engine".into()], 64);
    m.now = Some(t0);
    m.interval = Some(5.0);
    feed(&mut m, &lm, &early, true);
    let r = report(&m);
    let states = history(&r, "target_stale");
    assert!(states.contains(&"firing"), "{states:?}");
}

// ---- Route answers: the real capture's, and changed where a case needs it ----------------

#[path = "routes.rs"]
mod routes;
use routes::*;

/// The real 1 GiB and 2 GiB runs of one workload (`fixtures/lmcache-0.5.6-capacity/`): twice
/// 1 GiB serves ten points more (what the 2 GiB run counted); 2 GiB is at the ceiling.
#[test]
fn capacity_bound_fires_where_doubling_l1_serves_ten_points_more() {
    for (run, state) in [("l1-1gib", "firing"), ("l1-2gib", "clear")] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["report", "--format", "json", "--packet"])
            .arg(format!("fixtures/lmcache-0.5.6-capacity/{run}"))
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rule = r["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == "capacity_bound")
            .unwrap();
        assert_eq!(rule["state"], state, "{run}: {rule}");
        seen(&r);
    }
}

/// Every rule of the pack fires and clears in some case: the cases here and in
/// `tests/findings.rs` (each also runs as a test of its own), and the golden
/// reports (real captures, packet_a, real engine excerpts and the peer's hand-written scrapes,
/// kept equal to the code by `tests/golden.rs`). A rule added without a way to see it fire and
/// clear fails here.
#[test]
fn every_rule_fires_and_clears_in_some_case() {
    a_target_that_stops_while_others_go_on_is_stale();
    a_scrape_taking_half_the_interval_is_too_slow();
    no_hits_after_a_restart_fires_and_hits_clear_it();
    l1_growing_past_its_watermark_at_every_scrape_has_no_plateau();
    l1_allocation_failures_fire_once_counted();
    l2_loads_submitted_faster_than_completed_are_a_backlog();
    transfer_throughput_is_judged_against_the_threshold();
    sampled_histograms_empty_depends_on_the_sample_rate();
    an_engine_set_up_for_lmcache_without_its_metrics();
    requests_waiting_at_every_scrape_are_queue_pressure();
    an_old_vllm_is_named_and_not_expected_to_export_newer_families();
    embedded_zero_hits_slow_retrievals_and_p2p();
    a_packet_report_carries_each_rules_state_changes();
    rules_on_metrics_wait_for_the_first_scrape_routes_do_not();
    route_rules_fire_and_clear();
    tracing_without_spans_reads_the_span_export();
    server_log_lines_fire_eventbus_and_l1_rules();
    first_rules_other_cases();
    l1_at_its_watermark_does_not_flap_while_evicting();
    super::eventbus_dropping_fires_on_drops_in_the_window_only();
    super::real_data_fires_eviction_unobservable_bus_and_missing_external_hits();
    super::derived_scrapes_fire_what_the_originals_do_not();
    super::embedded_figures_and_rules();
    super::parse_l2_trace_and_engine_rules();
    super::l1_at_its_watermark_fires_at_t10_and_clears_by_t31();
    super::config_thresholds_change_verdicts();
    capacity_bound_fires_where_doubling_l1_serves_ten_points_more();
    for f in std::fs::read_dir(common::fixture("golden")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().is_some_and(|e| e == "json") {
            seen(&serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap());
        }
    }
    let seen = SEEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let all = kvscope::analysis::findings::RULES;
    let mut lacking = Vec::new();
    for r in all {
        let s = seen.get(r.code).cloned().unwrap_or_default();
        if !(s.contains("firing") && s.contains("clear")) {
            lacking.push(format!("{}: {s:?}", r.code));
        }
    }
    assert!(
        lacking.is_empty(),
        "rules without both cases:\n{}",
        lacking.join("\n")
    );
}
