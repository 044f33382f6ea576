//! Mode detection and matrix policy on hand-made scrapes (edge cases; the real captures are
//! covered in `tests/report_real.rs`).

use super::*;
use crate::expo::parse;

fn stores(bodies: &[&str]) -> Vec<TargetStore> {
    bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut t = TargetStore::new(format!("t{i}"), 4);
            t.ingest(&parse(b.as_bytes()).unwrap(), None);
            t
        })
        .collect()
}

fn arch(lmcache: &[&str], engine: &[&str]) -> (String, Strength, Analysis) {
    let (lm, en) = (stores(lmcache), stores(engine));
    let a = analyze(&Inputs {
        lmcache: &lm,
        engine: &en,
        health: &[],
        lines_skipped: 0,
        thresholds: &Default::default(),
        window: 60.0,
        clock: None,
        history: None,
        l1_size: None,
    });
    (a.mode.architecture.to_string(), a.mode.strength, a)
}

const VLLM: &str = "vllm:prefix_cache_queries_total{engine=\"0\"} 10\nvllm:prefix_cache_hits_total{engine=\"0\"} 5\n";
const MP: &str = "lmcache_mp_lookup_requested_tokens_total{cache_salt=\"\"} 10\n";

#[test]
fn vllm_with_the_mp_connector_metric_is_measured() {
    let engine = format!("{VLLM}vllm:lmcache_mp_lookup_duration_seconds_count{{engine=\"0\"}} 3\n");
    let (a, s, _) = arch(&[], &[&engine]);
    assert_eq!((a.as_str(), s), ("vllm_mp_lmcache", Strength::Measured));
}

#[test]
fn vllm_and_mp_server_together_is_inferred() {
    let (a, s, _) = arch(&[MP], &[VLLM]);
    assert_eq!((a.as_str(), s), ("vllm_mp_lmcache", Strength::Inferred));
}

#[test]
fn embedded_lmcache_on_vllm() {
    let engine = format!("{VLLM}lmcache:num_hit_tokens_total{{worker_id=\"0\"}} 4\n");
    let (a, s, an) = arch(&[], &[&engine]);
    assert_eq!(
        (a.as_str(), s),
        ("vllm_embedded_lmcache", Strength::Measured)
    );
    let row = an
        .families
        .iter()
        .find(|f| f.id == "lmcache.embedded_token_counters")
        .unwrap();
    assert_eq!(row.status, matrix::Status::Populated);
    assert_eq!(row.need, matrix::Need::Required);
    // No MP server here: its families are not applicable.
    let mp = an
        .families
        .iter()
        .find(|f| f.id == "lmcache_mp.lookup")
        .unwrap();
    assert_eq!(mp.status, matrix::Status::NotApplicable);
}

#[test]
fn sglang_cache_type_decides_embedded_or_mp() {
    let old =
        "sglang:num_running_reqs 1\nsglang:evicted_tokens_total{cache_type=\"LMCRadixCache\"} 3\n";
    assert_eq!(arch(&[], &[old]).0, "sglang_embedded_lmcache");
    let new = "sglang:num_running_reqs 1\nsglang:evicted_tokens_total{cache_type=\"LMCacheUnifiedRadixCache\"} 3\n";
    assert_eq!(arch(&[], &[new]).0, "sglang_mp_lmcache_candidate");
    assert_eq!(
        arch(&[MP], &["sglang:num_running_reqs 1\n"]).0,
        "sglang_mp_lmcache_candidate"
    );
}

#[test]
fn disaggregated_prefill_and_p2p_candidates() {
    let nixl = format!("{VLLM}vllm:nixl_num_failed_transfers_total{{engine=\"0\"}} 0\n");
    assert_eq!(arch(&[], &[&nixl]).0, "pd_candidate");
    let pd = "sglang:num_running_reqs{engine_type=\"prefill\"} 1\n";
    assert_eq!(arch(&[], &[pd]).0, "pd_candidate");
    let p2p = format!("{MP}lmcache_mp_active_p2p_lookup_jobs 2\n");
    assert_eq!(arch(&[&p2p], &[]).0, "p2p_candidate");
}

#[test]
fn engine_alone_coordinator_alone_and_nothing() {
    assert_eq!(arch(&[], &[VLLM]).0, "engine_only");
    assert_eq!(
        arch(&["lmcache_coordinator_controller_up 1\n"], &[]).0,
        "controller_only"
    );
    assert_eq!(arch(&["python_info 1\n"], &[]).0, "unknown");
}

#[test]
fn deprecated_connector_label_is_stale_evidence() {
    // Hand-written shape (real vLLM exports no connector label): a `kv_connector` label.
    let engine = format!(
        "{VLLM}lmcache:num_hit_tokens_total 1\nvllm:cache_config_info{{kv_connector=\"LMCacheConnector\"}} 1\n"
    );
    let (_, _, an) = arch(&[], &[&engine]);
    assert_eq!(an.mode.stale_connector.len(), 1);
    assert!(
        an.mode.stale_connector[0]
            .detail
            .contains("LMCacheConnector")
    );
}

#[test]
fn declared_family_without_samples_and_unrecognised_names() {
    let body = "# HELP lmcache_mp_l1_usage_ratio r\n# TYPE lmcache_mp_l1_usage_ratio gauge\n\
                lmcache_mp_l1_memory_usage_bytes 5\nlmcache_mp_brand_new_thing_total 1\n";
    let (_, _, an) = arch(&[body], &[]);
    let mem = an
        .families
        .iter()
        .find(|f| f.id == "lmcache_mp.l1_memory")
        .unwrap();
    assert_eq!(mem.metrics[1].status, matrix::Status::DeclaredNoSamples);
    assert_eq!(mem.status, matrix::Status::Populated);
    assert_eq!(an.unrecognised.len(), 1);
    assert_eq!(an.unrecognised[0].name, "lmcache_mp_brand_new_thing_total");
}

#[test]
fn l2_needs_an_adapter_and_data_always_wins() {
    let no_l2 = format!("{MP}lmcache_mp_l2_store_adapters{{state=\"active\"}} 0\n");
    let (_, _, an) = arch(&[&no_l2], &[]);
    let l2 = an
        .families
        .iter()
        .find(|f| f.id == "lmcache_mp.l2_counters")
        .unwrap();
    assert_eq!(l2.status, matrix::Status::NotApplicable);
    assert!(
        l2.why_not_applicable
            .as_deref()
            .unwrap()
            .contains("L2 adapter")
    );
    let with_data = format!("{no_l2}lmcache_mp_l2_store_submitted_requests_total 3\n");
    let (_, _, an) = arch(&[&with_data], &[]);
    let l2 = an
        .families
        .iter()
        .find(|f| f.id == "lmcache_mp.l2_counters")
        .unwrap();
    assert_eq!(l2.status, matrix::Status::Populated);
}

#[test]
fn figures_without_inputs_are_unknown_not_zero() {
    let (_, _, an) = arch(&[], &[]);
    assert!(an.lmcache.lookup.hit_rate.since_start.value().is_none());
    assert!(
        an.engine
            .prefix_cache
            .hit_rate
            .since_start
            .value()
            .is_none()
    );
    assert!(an.lmcache.l1.memory.used_bytes.value().is_none());
}

#[test]
fn unhealthy_periodic_threads_are_a_finding_hand_written() {
    // Hand-written /periodic-threads-health answer (the shape documented in lmcache.md).
    let mut lm = stores(&[MP]);
    let en = stores(&[]);
    let analyze_now = |lm: &[TargetStore]| {
        analyze(&Inputs {
            lmcache: lm,
            engine: &en,
            health: &[],
            lines_skipped: 0,
            thresholds: &Default::default(),
            window: 60.0,
            clock: None,
            history: None,
            l1_size: None,
        })
    };
    let has = |a: &Analysis| {
        a.findings
            .iter()
            .any(|f| f.code == "periodic_threads_unhealthy")
    };
    assert!(!has(&analyze_now(&lm)));
    lm[0].routes.insert(
        crate::vocab::Route::PeriodicThreadsHealth,
        crate::store::RouteAnswer {
            status: Some(200),
            json: Some(serde_json::json!({"healthy": false, "unhealthy_count": 1,
                "unhealthy_threads": [{"name": "store-loop", "last_run_ago": 40.0}]})),
            ..Default::default()
        },
    );
    let a = analyze_now(&lm);
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "periodic_threads_unhealthy")
        .expect("finding");
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("store-loop (last ran 40s ago)"))
    );
}
