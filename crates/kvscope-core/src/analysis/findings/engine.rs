//! The engine's side: its KV cache, queues, metric names, the connector and SGLang's own cache.

use super::{Facts, Rule, Severity, Verdict, clear, data, need, needs};
use super::{ONLY_JOIN, ONLY_MATRIX, ONLY_TEXT, Prom};
use crate::metric;
use crate::promql;
use serde_json::json;

pub(super) const ENGINE_KV_CACHE_FULL: Rule = Rule {
    code: "engine_kv_cache_full",
    severity: Severity::Warning,
    title: "The engine's KV cache is nearly full",
    applies: "an engine",
    needs: "vllm:kv_cache_usage_perc or sglang:token_usage",
    windowed: false,
    hold: 10.0,
    prom: Prom::Alert(|c, t| {
        format!(
            "({} or {}) >= {}",
            promql::mean(c, metric!("vllm.kv_usage", "usage_perc")),
            promql::mean(c, metric!("sglang.token_usage", "token_usage")),
            t.kv_cache_full
        )
    }),
    explanation: "A full GPU KV cache makes the engine preempt or queue requests; offloading to LMCache helps only if its hits come back fast.",
    next_action: "Look at the engine's queue and preemptions; reduce max batch size or add GPU memory.",
    check: engine_kv_cache_full,
};

fn engine_kv_cache_full(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let usage = match need("the engine's KV cache usage", &c.en.kv_usage_ratio) {
        Ok(u) => u,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let pairs = [
        ("kv_usage_ratio", json!(usage)),
        ("threshold", json!(c.thresholds.kv_cache_full)),
    ];
    let line = format!("KV cache usage {:.1}%", usage * 100.0);
    if usage >= c.thresholds.kv_cache_full {
        Verdict::Firing {
            title: format!("The engine's KV cache is {:.0}% full", usage * 100.0).into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const CONNECTOR_WITHOUT_LMCACHE_METRICS: Rule = Rule {
    code: "connector_without_lmcache_metrics",
    severity: Severity::Warning,
    title: "LMCache connector configured, no LMCache metrics",
    applies: "an engine configured with an LMCache connector or offload backend",
    needs: "connector labels, vLLM's cache_config_info, SGLang's cache_type, and LMCache metrics from any target",
    windowed: false,
    hold: 15.0,
    prom: Prom::Only(ONLY_JOIN),
    explanation: "The engine names LMCache, yet no LMCache metrics were read: not an MP server's, not lmcache:* on the engine, not the connector's own. Nothing about the cache can be judged, and LMCache may not be running at all.",
    next_action: "Give --lmcache with the MP server's /metrics; for embedded LMCache check that the engine's /metrics carries lmcache:* (LMCache's stats logger must be on).",
    check: connector_without_lmcache_metrics,
};

fn connector_without_lmcache_metrics(c: &Facts<'_>) -> Verdict {
    use crate::analysis::Signal;
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let names_lmcache: Vec<&str> = c
        .mode
        .evidence
        .iter()
        .filter(|e| match e.signal {
            Signal::ConnectorLabel | Signal::SglangCacheType => e.detail.contains("LMC"),
            Signal::LmcacheOffloadShortcut => true,
            _ => false,
        })
        .map(|e| e.detail.as_str())
        .collect();
    let metrics = c.mode.evidence.iter().any(|e| {
        matches!(
            e.signal,
            Signal::LmcacheMpMetrics
                | Signal::LmcacheEmbeddedMetrics
                | Signal::LmcacheMpConnectorMetrics
        )
    });
    let pairs = [
        ("configured", json!(names_lmcache)),
        ("lmcache_metrics", json!(metrics)),
    ];
    if !names_lmcache.is_empty() && !metrics {
        let mut evidence: Vec<String> = names_lmcache.iter().map(|d| d.to_string()).collect();
        evidence.push("no lmcache_mp_*, lmcache:* or vllm:lmcache_mp_* series in any input".into());
        Verdict::Firing {
            title: "The engine is set up for LMCache, but no LMCache metrics were read".into(),
            evidence,
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}

pub(super) const ENGINE_QUEUE_PRESSURE: Rule = Rule {
    code: "engine_queue_pressure",
    severity: Severity::Warning,
    title: "Engine queue never empties",
    applies: "an engine",
    needs: "vllm:num_requests_waiting or sglang:num_queue_reqs over the window",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        format!(
            "({} or {}) > 0",
            promql::lowest(c, metric!("vllm.queues", "waiting")),
            promql::lowest(c, metric!("sglang.queues", "queued"))
        )
    }),
    explanation: "Requests waited at every scrape of the window: the engine is saturated, and a cache that saves prefill matters most here.",
    next_action: "Look at KV cache usage and preemptions; add capacity or raise the cache hit rate.",
    check: engine_queue_pressure,
};

fn engine_queue_pressure(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let q = &c.en.queues;
    let [min, now] = match needs([
        (
            "the fewest waiting requests in the window",
            &q.waiting_trend.min,
        ),
        ("waiting requests now", &q.waiting),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let running = q.running.value();
    let pairs = [
        ("waiting_now", json!(now)),
        ("waiting_min_in_window", json!(min)),
        ("running_now", json!(running)),
        ("scrapes", json!(q.waiting_trend.scrapes)),
    ];
    let line = format!(
        "{now:.0} requests waiting now ({} running); never fewer than {min:.0} over {} scrapes",
        running.map_or("unknown".into(), |r| format!("{r:.0}")),
        q.waiting_trend.scrapes
    );
    if min > 0.0 {
        Verdict::Firing {
            title: format!("Requests waited at every scrape of the window ({now:.0} now)").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const ENGINE_OLD_METRIC_NAMES: Rule = Rule {
    code: "engine_old_metric_names",
    severity: Severity::Info,
    title: "Engine exports metric names of an older release",
    applies: "an engine",
    needs: "the exposed names of the engine's metrics",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_TEXT),
    explanation: "Older vLLM builds export gpu_prefix_cache_* and gpu_cache_usage_perc; such a build predates external_prefix_cache_*, so kvscope does not expect the connector's hit counters there.",
    next_action: "Nothing to fix for kvscope; upgrading vLLM gives the external prefix-cache counters that show what LMCache supplied.",
    check: engine_old_metric_names,
};

fn engine_old_metric_names(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let seen: Vec<&str> = c
        .families
        .iter()
        .flat_map(|f| f.metrics.iter().flat_map(|m| m.names.iter()))
        .filter(|n| {
            crate::catalog::PREDATES
                .iter()
                .any(|p| n.starts_with(p.old_name))
        })
        .map(String::as_str)
        .collect();
    let pairs = [("old_names", json!(seen))];
    if seen.is_empty() {
        return clear(vec![], &pairs);
    }
    let mut evidence: Vec<String> = seen.iter().map(|n| format!("exports {n}")).collect();
    evidence.extend(c.families.iter().filter_map(|f| {
        f.why_not_required
            .as_ref()
            .map(|w| format!("{}: {w}", f.id))
    }));
    Verdict::Firing {
        title: "The engine exports metric names of an older release".into(),
        evidence,
        data: data(&pairs),
    }
}

pub(super) const SGLANG_HICACHE_NOT_LMCACHE: Rule = Rule {
    code: "sglang_hicache_not_lmcache",
    severity: Severity::Info,
    title: "SGLang's HiCache is in use, not LMCache",
    applies: "SGLang",
    needs: "the engine's /metrics (HiCache families)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_MATRIX),
    explanation: "HiCache is SGLang's own hierarchical KV cache; its hits are not LMCache's, and LMCache figures stay empty.",
    next_action: "If LMCache was meant, configure SGLang's LMCache connector; otherwise read HiCache's own metrics.",
    check: sglang_hicache_not_lmcache,
};

fn sglang_hicache_not_lmcache(c: &Facts<'_>) -> Verdict {
    use crate::catalog::Feature;
    if c.mode.engine != Some(crate::vocab::EngineKind::Sglang) {
        return Verdict::Missing(vec!["an SGLang engine's /metrics".into()]);
    }
    let hicache = c
        .mode
        .features
        .iter()
        .any(|f| matches!(f, Feature::HiCache | Feature::HiCacheStorage));
    let lmcache = c.lmcache_targets > 0 || c.emb.present;
    let pairs = [("hicache", json!(hicache)), ("lmcache", json!(lmcache))];
    if hicache && !lmcache {
        Verdict::Firing {
            title: "SGLang's HiCache is in use, not LMCache".into(),
            evidence: vec!["HiCache families in the engine's /metrics; no LMCache metrics".into()],
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}
