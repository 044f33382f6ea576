use super::*;
use crate::metric;

#[test]
fn names_cover_every_variant_prometheus_can_store() {
    // Hand-made expectations from the catalog's entries.
    let evicted = names(metric!("lmcache_mp.l1_counters", "evicted"));
    assert_eq!(
        evicted,
        [
            "lmcache_mp_l1_evicted_chunks_total",
            "lmcache_mp_l1_evicted_keys_total",
            // LMCache 0.3.15 to 0.4.2 (prometheus_client, with a colon).
            "lmcache_mp:l1_evicted_keys_total",
            "lmcache_mp_l1_evicted_total",
        ]
    );
    let ratio = names(metric!("lmcache_mp.l1_memory", "usage_ratio"));
    assert_eq!(ratio, ["lmcache_mp_l1_usage_ratio"]);
}

#[test]
fn durations_are_written_as_promql_reads_them() {
    assert_eq!(duration(60.0), "60s");
    assert_eq!(duration(1.5), "1500ms");
    assert_eq!(duration(3600.0), "3600s");
}

#[test]
fn selectors_carry_the_selection() {
    let mut c = Ctx::new(60.0);
    assert_eq!(c.selector("up"), "up");
    c.matchers = "namespace=\"llm\"".into();
    assert_eq!(c.selector("up"), "up{namespace=\"llm\"}");
    assert_eq!(
        c.selector_with("x", "cache_salt=\"\""),
        "x{namespace=\"llm\", cache_salt=\"\"}"
    );
}
