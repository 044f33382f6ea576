//! Lookups: hit rates over the window, restarts, cache salts, and whether the lookup counters are there at all.

use super::{Facts, Rule, Severity, Verdict, clear, data, lmcache_present, needs};
use super::{ONLY_JOIN, Prom};
use crate::metric;
use crate::promql;
use serde_json::json;

pub(super) const EXTERNAL_PREFIX_NO_HITS: Rule = Rule {
    code: "external_prefix_no_hits",
    severity: Severity::Warning,
    title: "vLLM counting no external prefix hits while LMCache hits",
    applies: "vLLM with an LMCache MP server",
    needs: "LMCache lookup hit tokens, vllm:external_prefix_cache_queries/hits",
    windowed: false,
    hold: 30.0,
    prom: Prom::Only(ONLY_JOIN),
    explanation: "LMCache served hits, but the engine counts none from an external cache: either the two do not belong to one deployment, or this vLLM build does not report MP-connector hits there.",
    next_action: "Check that the engine and the LMCache server belong to one deployment, and whether this vLLM build reports MP-connector hits (compare prompt_tokens_by_source{source=\"external_kv_transfer\"}).",
    check: external_prefix_no_hits,
};

fn external_prefix_no_hits(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    if c.engine_frozen {
        return Verdict::Missing(vec![
            "an engine that moves: its /metrics serve one observation over and over (a recorded snapshot), so its counters say nothing of this LMCache server's traffic".into(),
        ]);
    }
    let ext = &c.en.external_prefix_cache;
    let [h, q, e] = match needs([
        (
            "LMCache lookup hit tokens since start",
            &c.lm.lookup.hit_tokens.since_start,
        ),
        (
            "vllm:external_prefix_cache_queries_total",
            &ext.queries_total,
        ),
        ("vllm:external_prefix_cache_hits_total", &ext.hits_total),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("lmcache_hit_tokens", json!(h)),
        ("external_queries", json!(q)),
        ("external_hits", json!(e)),
    ];
    let lines = vec![
        format!("LMCache lookup hit tokens since start: {h:.0}"),
        format!("vllm:external_prefix_cache_hits_total = {e:.0} of {q:.0} queried tokens"),
    ];
    if e == 0.0 && h > 0.0 && q > 0.0 {
        Verdict::Firing {
            title: "vLLM counts no external prefix hits although LMCache reports hits".into(),
            evidence: lines,
            data: data(&pairs),
        }
    } else {
        clear(lines, &pairs)
    }
}

pub(super) const LOW_LOOKUP_HIT_RATE: Rule = Rule {
    code: "low_lookup_hit_rate",
    severity: Severity::Info,
    title: "Low LMCache hit rate in the window",
    applies: "LMCache MP server",
    needs: "lookup requested and hit tokens over the window, after warm-up (4096 tokens)",
    windowed: true,
    hold: 30.0,
    prom: Prom::Alert(low_lookup_hit_rate_promql),
    explanation: "Few of the tokens looked up in the window were found. New prompts miss by nature; repeated prefixes should hit.",
    next_action: "For repeated prefixes, check cache_salt, model_name and chunk alignment, and whether evictions precede the misses.",
    check: low_lookup_hit_rate,
};

fn low_lookup_hit_rate(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let lookup = &c.lm.lookup;
    let [rate, req] = match needs([
        ("the lookup hit rate in the window", &lookup.hit_rate.window),
        (
            "tokens looked up in the window",
            &lookup.requested_tokens.window,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => {
            // No lookups in the window gives no rate: warm-up, said as such.
            return match lookup.requested_tokens.window.value() {
                Some(r) if r < c.thresholds.warm_up_tokens => Verdict::Missing(vec![format!(
                    "warm-up: {:.0} tokens looked up in the window ({r:.0} so far)",
                    c.thresholds.warm_up_tokens
                )]),
                _ => v,
            };
        }
    };
    if req < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up in the window ({req:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("hit_rate", json!(rate)),
        ("requested_tokens", json!(req)),
        ("threshold", json!(c.thresholds.low_hit_rate)),
    ];
    let line = format!(
        "{:.1}% of {req:.0} tokens looked up in the window were hits",
        rate * 100.0
    );
    if rate < c.thresholds.low_hit_rate {
        Verdict::Firing {
            title: format!("LMCache hit rate in the window is {:.0}%", rate * 100.0).into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const CACHE_SALT_EMPTY: Rule = Rule {
    code: "cache_salt_empty",
    severity: Severity::Info,
    title: "Every lookup has an empty cache_salt",
    applies: "LMCache MP server",
    needs: "lmcache_mp_lookup_* by cache_salt",
    windowed: false,
    hold: 0.0,
    prom: Prom::Alert(cache_salt_empty_promql),
    explanation: "Without a cache_salt all requests share one cache namespace: fine for one tenant, a leak between tenants otherwise.",
    next_action: "If several tenants share this server, have the engine pass a per-tenant cache_salt.",
    check: cache_salt_empty,
};

fn cache_salt_empty(c: &Facts<'_>) -> Verdict {
    let values = match salts(c) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let empty = values.iter().all(|v| v.is_none_or(str::is_empty));
    let pairs = [("distinct_values", json!(values.len()))];
    if empty {
        Verdict::Firing {
            title: "Every lookup has an empty cache_salt".into(),
            evidence: vec!["lmcache_mp_lookup_* carry cache_salt=\"\" (or none) only".into()],
            data: data(&pairs),
        }
    } else {
        clear(
            vec![format!("{} distinct cache_salt values", values.len())],
            &pairs,
        )
    }
}

pub(super) const CACHE_SALT_CARDINALITY_HIGH: Rule = Rule {
    code: "cache_salt_cardinality_high",
    severity: Severity::Warning,
    title: "Many distinct cache_salt values",
    applies: "LMCache MP server",
    needs: "lmcache_mp_lookup_* by cache_salt",
    windowed: false,
    hold: 0.0,
    prom: Prom::Alert(|c, t| {
        format!(
            "count by ({}) (count by ({}, cache_salt) ({})) > {}",
            promql::BY,
            promql::BY,
            promql::any(REQUESTED, |n| c.selector(n)),
            t.cache_salts_high
        )
    }),
    explanation: "Each salt value is its own series and its own cache namespace: thousands of them grow the metrics and split the cache so little is shared.",
    next_action: "Salt per tenant, not per request or user; check what the engine puts in cache_salt.",
    check: cache_salt_cardinality_high,
};

fn cache_salt_cardinality_high(c: &Facts<'_>) -> Verdict {
    let values = match salts(c) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let n = values.len();
    let high = c.thresholds.cache_salts_high;
    let pairs = [("distinct_values", json!(n)), ("threshold", json!(high))];
    let line = format!("{n} distinct cache_salt values (more than {high} is high)");
    if n as f64 > high {
        Verdict::Firing {
            title: format!("{n} distinct cache_salt values").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const LOOKUP_COUNTERS_MISSING: Rule = Rule {
    code: "lookup_counters_missing",
    severity: Severity::Warning,
    title: "L1 moves but LMCache's lookup counters are missing",
    applies: "LMCache MP server",
    needs: "lmcache_mp_lookup_* and lmcache_mp_l1 read/write counters",
    windowed: false,
    hold: 15.0,
    prom: Prom::Alert(lookup_counters_missing_promql),
    explanation: "L1 reads or writes show traffic, but no lookup counters exist: hit rates cannot be computed.",
    next_action: "Check the LMCache version and --disable-metrics; the lookup family appears after the first lookup on 0.5.6.",
    check: lookup_counters_missing,
};

fn lookup_counters_missing(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let traffic = [&l1.reads.since_start, &l1.writes.since_start]
        .iter()
        .filter_map(|f| f.value())
        .sum::<f64>();
    // Absent, not merely unusable: a bad value is bad_data's to report.
    let absent = !c.lookup_tokens_exported;
    let pairs = [
        ("l1_reads_and_writes", json!(traffic)),
        ("lookup_tokens_exported", json!(!absent)),
    ];
    if absent && traffic > 0.0 {
        Verdict::Firing {
            title: "L1 moves but LMCache's lookup counters are missing".into(),
            evidence: vec![
                format!("{traffic:.0} L1 chunk reads and writes since start"),
                "no lmcache_mp_lookup_requested_tokens_total series".into(),
            ],
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}

pub(super) const LOOKUP_ZERO_HITS_AFTER_RESTART: Rule = Rule {
    code: "lookup_zero_hits_after_restart",
    severity: Severity::Warning,
    title: "No lookup hits since LMCache restarted",
    applies: "an LMCache MP server that restarted within the kept history",
    needs: "restarts seen in process_start_time_seconds, lookup requested and hit tokens since the restart",
    windowed: false,
    hold: 15.0,
    prom: Prom::Alert(lookup_zero_hits_after_restart_promql),
    explanation: "After a restart L1 is empty, but the same prompts should hit again once they are stored. Zero hits past warm-up after a restart usually means the keys changed: a different PYTHONHASHSEED, model name or chunk size between the engine and the restarted server, or an L2 that did not survive.",
    next_action: "Compare PYTHONHASHSEED and the LMCache config before and after the restart; check that the engine reconnected to the new server.",
    check: lookup_zero_hits_after_restart,
};

fn lookup_zero_hits_after_restart(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let restarts = c.lm.restarts;
    if restarts == 0 {
        return clear(
            vec!["no restart in the kept history".into()],
            &[("restarts", json!(0))],
        );
    }
    let [req, hits] = match needs([
        (
            "tokens looked up since the restart",
            &c.lm.lookup.requested_tokens.since_start,
        ),
        (
            "lookup hit tokens since the restart",
            &c.lm.lookup.hit_tokens.since_start,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    if req < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up since the restart ({req:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("restarts", json!(restarts)),
        ("requested_tokens", json!(req)),
        ("hit_tokens", json!(hits)),
    ];
    let line = format!("{hits:.0} of {req:.0} tokens looked up since the restart were hits");
    if hits == 0.0 {
        Verdict::Firing {
            title: format!("No lookup hits in {req:.0} tokens since LMCache restarted").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// The cache_salt values of the lookup counters, or what is missing.
fn salts<'a>(c: &'a Facts<'_>) -> Result<Vec<Option<&'a str>>, Verdict> {
    lmcache_present(c)?;
    let rows = &c.lm.lookup.by_cache_salt;
    if rows.is_empty() {
        return Err(Verdict::Missing(vec![
            "lmcache_mp_lookup_requested_tokens_total by cache_salt: no series yet".into(),
        ]));
    }
    Ok(rows.iter().map(|r| r.value.as_deref()).collect())
}

const REQUESTED: crate::catalog::MetricRef = metric!("lmcache_mp.lookup", "requested_tokens");
const HIT: crate::catalog::MetricRef = metric!("lmcache_mp.lookup", "hit_tokens");

/// Past warm-up, the window's hit rate below the threshold.
fn low_lookup_hit_rate_promql(c: &promql::Ctx, t: &super::Thresholds) -> String {
    let by = promql::BY;
    format!(
        "({} < {}) and on ({by}) ({} >= {})",
        promql::ratio(&promql::delta(c, HIT), &promql::delta(c, REQUESTED)),
        t.low_hit_rate,
        promql::delta(c, REQUESTED),
        t.warm_up_tokens
    )
}

/// Lookups counted, none of them under a cache_salt that is not empty.
fn cache_salt_empty_promql(c: &promql::Ctx, _: &super::Thresholds) -> String {
    let by = promql::BY;
    let with = |m: &str| promql::any(REQUESTED, |n| c.selector_with(n, m));
    format!(
        "group by ({by}) ({}) unless on ({by}) group by ({by}) ({})",
        with("cache_salt=\"\""),
        with("cache_salt!=\"\"")
    )
}

/// L1 reads or writes counted, and no lookup counter.
fn lookup_counters_missing_promql(c: &promql::Ctx, _: &super::Thresholds) -> String {
    let by = promql::BY;
    format!(
        "(({} > 0) or ({} > 0)) unless on ({by}) group by ({by}) ({})",
        promql::now(c, metric!("lmcache_mp.l1_counters", "read")),
        promql::now(c, metric!("lmcache_mp.l1_counters", "write")),
        promql::any(REQUESTED, |n| c.selector(n))
    )
}

/// A restart within the hour (kvscope keeps an hour), past warm-up since, and no hit since.
fn lookup_zero_hits_after_restart_promql(c: &promql::Ctx, t: &super::Thresholds) -> String {
    let by = promql::BY;
    format!(
        "(max by ({by}) (changes({}[1h])) > 0) and on ({by}) ({} >= {}) and on ({by}) ({} == 0)",
        c.selector("process_start_time_seconds"),
        promql::now(c, REQUESTED),
        t.warm_up_tokens,
        promql::now(c, HIT)
    )
}
