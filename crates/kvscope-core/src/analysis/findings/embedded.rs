//! LMCache embedded in the engine (`lmcache:*` metrics): hits, loads, health, remote backends, retrieval and P2P speed.

use super::Prom;
use super::{
    Facts, Rule, Severity, Verdict, clear, data, failures, need, needs, windowed_or_total,
};
use crate::metric;
use crate::promql;
use serde_json::json;

pub(super) const LOOKUP_HITS_WITHOUT_LOADED_TOKENS: Rule = Rule {
    code: "lookup_hits_without_loaded_tokens",
    severity: Severity::Warning,
    title: "Embedded LMCache finds hits but loads no tokens",
    applies: "LMCache embedded in an engine",
    needs: "lmcache:num_lookup_hits and lmcache:num_hit_tokens (over the window when there is one)",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        format!(
            "({} > 0) and on ({}) ({} == 0)",
            promql::delta(c, metric!("lmcache.embedded_token_counters", "lookup_hits")),
            promql::BY,
            promql::delta(c, metric!("lmcache.embedded_token_counters", "hit_tokens"))
        )
    }),
    explanation: "Lookups find cached tokens, yet none are retrieved into the engine. Likely causes: the engine's own prefix cache already held the prefix (lmcache:num_vllm_hit_tokens rises), a minimum retrieve size larger than the hits, or a connector that does not match the LMCache build.",
    next_action: "Compare lmcache:num_vllm_hit_tokens with the lookup hits; check the connector name and LMCache's retrieve settings in the engine's launch command.",
    check: lookup_hits_without_loaded_tokens,
};

fn lookup_hits_without_loaded_tokens(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let (hits, over) = match windowed_or_total(&c.emb.lookup_hit_tokens) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("lmcache:num_lookup_hits: {e}")]),
    };
    let loaded = match (&c.emb.hit_tokens.window.0, &c.emb.hit_tokens.since_start.0) {
        (Ok(w), _) if over == "in the window" => *w,
        (_, Ok(t)) => *t,
        (_, Err(e)) => return Verdict::Missing(vec![format!("lmcache:num_hit_tokens: {e}")]),
    };
    let engine_hits = c.emb.engine_hit_tokens.since_start.value();
    let pairs = [
        ("lookup_hit_tokens", json!(hits)),
        ("hit_tokens", json!(loaded)),
        ("engine_hit_tokens", json!(engine_hits)),
        ("over", json!(over)),
    ];
    let line = format!("{hits:.0} lookup hit tokens and {loaded:.0} tokens retrieved {over}");
    if hits > 0.0 && loaded == 0.0 {
        let mut evidence = vec![line];
        if let Some(e) = engine_hits {
            evidence.push(format!("lmcache:num_vllm_hit_tokens since start: {e:.0}"));
        }
        Verdict::Firing {
            title: "Embedded LMCache finds hits but loads no tokens".into(),
            evidence,
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const EMBEDDED_UNHEALTHY: Rule = Rule {
    code: "embedded_unhealthy",
    severity: Severity::Critical,
    title: "Embedded LMCache says it is unhealthy",
    applies: "LMCache embedded in an engine",
    needs: "lmcache:lmcache_is_healthy",
    windowed: false,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        format!(
            "min by ({}) ({}) < 1",
            promql::BY,
            promql::any(metric!("lmcache.embedded_health", "is_healthy"), |n| c
                .selector(n))
        )
    }),
    explanation: "LMCache's own health gauge reads 0 on a worker: it may have stopped storing or retrieving.",
    next_action: "Read the engine log for LMCache errors on that worker.",
    check: embedded_unhealthy,
};

fn embedded_unhealthy(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let h = match need("lmcache:lmcache_is_healthy", &c.emb.healthy) {
        Ok(h) => h,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let pairs = [("lowest_is_healthy", json!(h))];
    if h < 1.0 {
        Verdict::Firing {
            title: "Embedded LMCache says it is unhealthy".into(),
            evidence: vec![format!(
                "lmcache:lmcache_is_healthy = {h} on at least one worker"
            )],
            data: data(&pairs),
        }
    } else {
        clear(
            vec!["lmcache:lmcache_is_healthy = 1 on every worker".into()],
            &pairs,
        )
    }
}

pub(super) const REMOTE_BACKEND_ERRORS: Rule = Rule {
    code: "remote_backend_errors",
    severity: Severity::Warning,
    title: "Embedded LMCache's remote backend fails its pings",
    applies: "LMCache embedded in an engine, with a remote backend",
    needs: "lmcache:remote_ping_errors (over the window when there is one)",
    windowed: true,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        promql::moved(
            c,
            &[metric!("lmcache.embedded_remote_backend", "ping_errors")],
        )
    }),
    explanation: "The remote backend (Redis, LMCache server, …) does not answer LMCache's pings: reads and writes to it fail or wait.",
    next_action: "Check the remote backend's address and health; lmcache:remote_ping_error_code says how it failed.",
    check: remote_backend_errors,
};

fn remote_backend_errors(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let (errors, over) = match windowed_or_total(&c.emb.remote_ping_errors) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("lmcache:remote_ping_errors: {e}")]),
    };
    let pairs = [("ping_errors", json!(errors)), ("over", json!(over))];
    let line = format!("{errors:.0} remote ping errors {over}");
    if errors > 0.0 {
        Verdict::Firing {
            title: format!("Embedded LMCache's remote backend failed {errors:.0} pings").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const EMBEDDED_ZERO_HITS: Rule = Rule {
    code: "embedded_zero_hits",
    severity: Severity::Warning,
    title: "Embedded LMCache finds no hits",
    applies: "embedded LMCache (lmcache:* on an engine)",
    needs: "lmcache:num_lookup_tokens and lmcache:num_lookup_hits",
    windowed: true,
    hold: 30.0,
    prom: Prom::Alert(|c, t| {
        format!(
            "({} >= {}) and on ({}) ({} == 0)",
            promql::delta(
                c,
                metric!("lmcache.embedded_token_counters", "lookup_tokens")
            ),
            t.warm_up_tokens,
            promql::BY,
            promql::delta(c, metric!("lmcache.embedded_token_counters", "lookup_hits"))
        )
    }),
    explanation: "Past warm-up, lookups that never hit mean nothing stored is found again: the prompts do not repeat, the chunk size is larger than the shared prefixes, or the keys differ between store and lookup (PYTHONHASHSEED, model name).",
    next_action: "Send a prompt twice and watch lmcache:num_lookup_hits; check PYTHONHASHSEED and chunk_size.",
    check: embedded_zero_hits,
};

fn embedded_zero_hits(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let [looked, hits] = match needs([
        (
            "lmcache:num_lookup_tokens in the window",
            &c.emb.lookup_tokens.window,
        ),
        (
            "lmcache:num_lookup_hits in the window",
            &c.emb.lookup_hit_tokens.window,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    if looked < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up in the window ({looked:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("lookup_tokens", json!(looked)),
        ("lookup_hits", json!(hits)),
    ];
    let line = format!("{hits:.0} of {looked:.0} tokens looked up in the window were hits");
    if hits == 0.0 {
        Verdict::Firing {
            title: format!("Embedded LMCache found no hits in {looked:.0} tokens").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const EMBEDDED_SLOW_RETRIEVALS: Rule = Rule {
    code: "embedded_slow_retrievals",
    severity: Severity::Warning,
    title: "Embedded LMCache retrievals slow",
    applies: "embedded LMCache",
    needs: "lmcache:num_slow_retrieval_by_time and lmcache:num_slow_retrieval_by_speed",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        promql::moved(
            c,
            &[
                metric!("lmcache.embedded_latency", "slow_retrieval_by_time"),
                metric!("lmcache.embedded_latency", "slow_retrieval_by_speed"),
            ],
        )
    }),
    explanation: "LMCache counts a retrieval as slow when it takes longer, or runs slower, than its configured limits; slow retrievals can cost more than recomputing the prefix.",
    next_action: "Look at lmcache:time_to_retrieve and the remote backend's latency (lmcache:remote_time_to_get).",
    check: embedded_slow_retrievals,
};

fn embedded_slow_retrievals(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    failures(
        &[
            ("slow_by_time", &c.emb.slow_retrievals_by_time),
            ("slow_by_speed", &c.emb.slow_retrievals_by_speed),
        ],
        "Slow embedded retrievals",
    )
}

pub(super) const P2P_TRANSFER_SLOW: Rule = Rule {
    code: "p2p_transfer_slow",
    severity: Severity::Info,
    title: "P2P transfers slow",
    applies: "embedded LMCache sharing KV between instances (P2P)",
    needs: "lmcache:p2p_time_to_transfer in the window",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, t| {
        format!(
            "{} > {}",
            promql::quantile(c, 0.9, metric!("lmcache.embedded_p2p", "time_to_transfer")),
            t.slow_transfer_seconds
        )
    }),
    explanation: "A P2P transfer that takes longer than recomputing the prefix gives no benefit; the 90th percentile shows what most requests pay.",
    next_action: "Check the network path between instances and the transfer channel's configuration.",
    check: p2p_transfer_slow,
};

fn p2p_transfer_slow(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let w = &c.emb.p2p_transfer_time.window;
    let [p90, n] = match needs([
        ("lmcache:p2p_time_to_transfer p90 in the window", &w.p90),
        ("P2P transfers in the window", &w.count),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let limit = c.thresholds.slow_transfer_seconds;
    let pairs = [
        ("p90_seconds", json!(p90)),
        ("transfers", json!(n)),
        ("threshold_seconds", json!(limit)),
    ];
    let line = format!("90% of {n:.0} P2P transfers in the window took up to {p90:.3} s");
    if p90 > limit {
        Verdict::Firing {
            title: format!("P2P transfers slow: p90 {p90:.2} s").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// Embedded rules need `lmcache:*` on some engine.
fn embedded_present(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.emb.present {
        Ok(())
    } else {
        Err(Verdict::Missing(vec![
            "lmcache:* metrics on an engine's /metrics (embedded LMCache)".into(),
        ]))
    }
}
