//! Rule cases on timelines derived from the real capture: staleness, slow scrapes, restarts,
//! L1 growth and failures, L2 backlogs and throughput, sampled histograms, the engine.

use super::*;

#[test]
pub fn a_target_that_stops_while_others_go_on_is_stale() {
    let lm = run1(31);
    let vllm = read("packet_a/vllm_metrics_loaded.prom");
    let t0 = lm[0].1;
    // packet_a's vLLM scrape captured twice at the start, then never again: stale by the end.
    let early = [(vllm.clone(), t0), (vllm.clone(), t0 + 5.0)];
    let r = report(&model(&lm, &early));
    assert_eq!(
        state(&r, "target_stale"),
        "firing",
        "{}",
        rule(&r, "target_stale")
    );
    assert!(
        rule(&r, "target_stale")["evidence"][0]
            .as_str()
            .unwrap()
            .starts_with("engine:")
    );
    // Captured alongside until the end: clear.
    let along: Vec<Scrape> = lm.iter().map(|(_, t)| (vllm.clone(), *t)).collect();
    assert_eq!(state(&report(&model(&lm, &along)), "target_stale"), "clear");
    // Captured once: a snapshot, not a feed that stopped, and not judged.
    let once = [(vllm, t0)];
    let r = report(&model(&lm, &once));
    assert_eq!(state(&r, "target_stale"), "clear");
    assert_eq!(rule(&r, "target_stale")["evidence_data"]["snapshots"], 1);
}

#[test]
pub fn a_scrape_taking_half_the_interval_is_too_slow() {
    let lm = run1(31);
    let latency = |seconds: f64| {
        let mut m = model(&lm, &[]);
        m.apply(Event::Latency {
            target: TargetRef {
                role: Role::Lmcache,
                index: 0,
            },
            time: lm.last().unwrap().1,
            seconds,
        })
        .unwrap();
        m.now = Some(lm.last().unwrap().1);
        m.interval = Some(2.0);
        report(&m)
    };
    assert_eq!(state(&latency(1.5), "scrape_too_slow"), "firing");
    assert_eq!(state(&latency(0.05), "scrape_too_slow"), "clear");
    // Files carry no latency.
    let r = report(&model(&lm, &[]));
    assert_eq!(state(&r, "scrape_too_slow"), "not_evaluable");
}

#[test]
pub fn no_hits_after_a_restart_fires_and_hits_clear_it() {
    // Derived: t31 served again by a process started 100 s later, its counters since that
    // start (t31's lookups, with and without their hits).
    let restarted = |hits: bool| {
        extend(run1(31), 2, |k, body| {
            let b = set(body, "process_start_time_seconds", |v| v + 100.0);
            let b = set(&b, "lmcache_mp_lookup_requested_tokens_total", |v| {
                v / 4.0 * k as f64
            });
            set(&b, "lmcache_mp_lookup_hit_tokens_total", |v| {
                if hits { v / 8.0 * k as f64 } else { 0.0 }
            })
        })
    };
    let r = report(&model(&restarted(false), &[]));
    assert_eq!(
        state(&r, "lookup_zero_hits_after_restart"),
        "firing",
        "{}",
        rule(&r, "lookup_zero_hits_after_restart")
    );
    assert_eq!(
        rule(&r, "lookup_zero_hits_after_restart")["evidence_data"]["restarts"],
        1
    );
    let r = report(&model(&restarted(true), &[]));
    assert_eq!(state(&r, "lookup_zero_hits_after_restart"), "clear");
    // The real capture never restarted.
    let r = report(&model(&run1(31), &[]));
    assert_eq!(state(&r, "lookup_zero_hits_after_restart"), "clear");
}

#[test]
pub fn l1_growing_past_its_watermark_at_every_scrape_has_no_plateau() {
    // Derived: after t31, L1 from 81 % up by a point every 5 s for 75 s (longer than the
    // window), its used bytes rising with it.
    let growing = extend(run1(31), 15, |k, body| {
        let ratio = 0.80 + 0.01 * k as f64;
        let b = set(body, "lmcache_mp_l1_usage_ratio", |_| ratio);
        set(&b, "lmcache_mp_l1_memory_usage_bytes", |v| {
            v / 0.71875 * ratio
        })
    });
    let r = report(&model(&growing, &[]));
    assert_eq!(
        state(&r, "l1_memory_no_plateau"),
        "firing",
        "{}",
        rule(&r, "l1_memory_no_plateau")
    );
    // The same fill held steady: a plateau.
    let steady = extend(run1(31), 15, |_, body| {
        let b = set(body, "lmcache_mp_l1_usage_ratio", |_| 0.85);
        set(&b, "lmcache_mp_l1_memory_usage_bytes", |v| {
            v / 0.71875 * 0.85
        })
    });
    assert_eq!(
        state(&report(&model(&steady, &[])), "l1_memory_no_plateau"),
        "clear"
    );
}

#[test]
pub fn l1_allocation_failures_fire_once_counted() {
    // Derived: the failure counter LMCache creates on its first failure, added after t31.
    let failing = extend(run1(31), 1, |_, body| {
        format!("{body}lmcache_mp_l1_allocation_failure_chunks_total 3.0\n")
    });
    let r = report(&model(&failing, &[]));
    assert_eq!(state(&r, "l1_failures"), "firing");
    assert_eq!(
        rule(&r, "l1_failures")["evidence_data"]["allocation_failures"],
        3.0
    );
    let r = report(&model(&run1(31), &[]));
    assert_eq!(state(&r, "l1_failures"), "clear");
}

#[test]
pub fn l2_loads_submitted_faster_than_completed_are_a_backlog() {
    // Derived: after t31, load requests submitted and not completed, 2 more at each scrape
    // for 75 s (longer than the window), with loads in flight.
    let behind = extend(run1(31), 15, |k, body| {
        let b = set(
            body,
            "lmcache_mp_l2_prefetch_load_submitted_requests_total",
            |v| v + 2.0 * k as f64,
        );
        format!("{b}lmcache_mp_num_inflight_l2_loads{{l2_name=\"fs\"}} 4.0\n")
    });
    let r = report(&model(&behind, &[]));
    assert_eq!(
        state(&r, "l2_load_backlog"),
        "firing",
        "{}",
        rule(&r, "l2_load_backlog")
    );
    let r = report(&model(&run1(31), &[]));
    assert_eq!(state(&r, "l2_load_backlog"), "clear");
}

/// In the real capture's busy phases, L2 (phase A, t12) and L0↔L1 (phase D, t27) transfers
/// run at their real speeds: clear by default, firing when the config asks for more than any
/// of them reached.
#[test]
pub fn transfer_throughput_is_judged_against_the_threshold() {
    for (at, code) in [(12, "l2_throughput_low"), (27, "l0_l1_throughput_low")] {
        let busy = run1(at);
        let r = report(&model(&busy, &[]));
        assert_eq!(state(&r, code), "clear", "{}", rule(&r, code));
        let mut m = model(&busy, &[]);
        m.thresholds.low_throughput_gbs = 1000.0;
        let r = report(&m);
        assert_eq!(state(&r, code), "firing", "{}", rule(&r, code));
    }
}

#[test]
pub fn sampled_histograms_empty_depends_on_the_sample_rate() {
    // Files carry no /config: the rate is unknown, and the real capture's GPU-block lifecycle
    // histograms (it ran on a CPU) have no observations.
    let r = report(&model(&run1(31), &[]));
    assert_eq!(state(&r, "sampled_histograms_empty"), "firing");
    let evidence = rule(&r, "sampled_histograms_empty")["evidence"].to_string();
    assert!(evidence.contains("lmcache_mp.l0_lifecycle"), "{evidence}");
    assert!(evidence.contains("default 0.01"), "{evidence}");
    // The demo packet recorded /config: rate 1, so an empty family is one whose events did
    // not happen, and the rule is clear.
    let demo = common::fixture("demo.kvpacket");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--format", "json", "--packet"])
        .arg(&demo)
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(state(&r, "sampled_histograms_empty"), "clear");
    assert_eq!(
        rule(&r, "sampled_histograms_empty")["evidence_data"]["sample_rate"],
        1.0
    );
}

#[test]
pub fn an_engine_set_up_for_lmcache_without_its_metrics() {
    // Derived: packet_a's vLLM configured with kv_offloading_backend="lmcache", alone.
    let vllm = read("packet_a/vllm_metrics_loaded.prom").replace(
        "kv_offloading_backend=\"native\",kv_offloading_size=\"None\"",
        "kv_offloading_backend=\"lmcache\",kv_offloading_size=\"16\"",
    );
    let r = report(&model(&[], &[(vllm.clone(), 1.0)]));
    assert_eq!(state(&r, "connector_without_lmcache_metrics"), "firing");
    // With the LMCache server's metrics beside it: clear.
    let lm = run1(31);
    let t = lm.last().unwrap().1;
    let r = report(&model(&lm, &[(vllm, t)]));
    assert_eq!(state(&r, "connector_without_lmcache_metrics"), "clear");
    // The real packet_a vLLM (native offload) names no LMCache.
    let real = read("packet_a/vllm_metrics_loaded.prom");
    let r = report(&model(&[], &[(real, 1.0)]));
    assert_eq!(state(&r, "connector_without_lmcache_metrics"), "clear");
}

#[test]
pub fn requests_waiting_at_every_scrape_are_queue_pressure() {
    // Derived: packet_a's vLLM three times, 5 s apart, with 3, 2, 4 requests waiting.
    let vllm = read("packet_a/vllm_metrics_loaded.prom");
    let with = |waiting: &[f64]| -> Vec<Scrape> {
        waiting
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    set(&vllm, "vllm:num_requests_waiting", |_| *w),
                    5.0 * i as f64,
                )
            })
            .collect()
    };
    let r = report(&model(&[], &with(&[3.0, 2.0, 4.0])));
    assert_eq!(state(&r, "engine_queue_pressure"), "firing");
    assert_eq!(
        rule(&r, "engine_queue_pressure")["evidence_data"]["waiting_min_in_window"],
        2.0
    );
    // The queue emptied once: clear.
    let r = report(&model(&[], &with(&[3.0, 0.0, 4.0])));
    assert_eq!(state(&r, "engine_queue_pressure"), "clear");
}
