//! Engine figures: vLLM's prefix caches (its own and the KV connector's), SGLang's from its
//! token counters, and KV usage.

use super::Fig;
use super::aggregate::{Pair, Sel, Trend, View, bad_value, gauge, pair, trend};
use crate::catalog::MetricRef;
use crate::metric;
use crate::vocab::EngineKind;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PrefixCache {
    pub queries_total: Fig,
    pub hits_total: Fig,
    pub hit_rate: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EngineFigures {
    pub kind: Option<EngineKind>,
    pub window_seconds: Fig,
    /// The engine's own (GPU) prefix cache.
    pub prefix_cache: PrefixCache,
    /// What the KV connector (LMCache) supplied, as the engine counts it.
    pub external_prefix_cache: PrefixCache,
    pub kv_usage_ratio: Fig,
    pub queues: Queues,
}

/// The engines' request queues.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Queues {
    /// Requests waiting to be scheduled now, summed over engines.
    pub waiting: Fig,
    /// Requests running now, summed over engines.
    pub running: Fig,
    /// How the waiting requests moved over the window (its `min` says whether the queue
    /// ever emptied).
    pub waiting_trend: Trend,
}

fn prefix_cache(views: &[View], queries: MetricRef, hits: MetricRef, what: &str) -> PrefixCache {
    let q = pair(&Sel::all(views, queries), &format!("{what} query counter"));
    let h = pair(&Sel::all(views, hits), &format!("{what} hit counter"));
    PrefixCache {
        hit_rate: h.share_of(&q, "no queries", "hits", "queries"),
        queries_total: q.since_start,
        hits_total: h.since_start,
    }
}

/// A usage fraction per engine (0 to 1): the mean over engines and ranks.
fn mean_fraction(views: &[View], m: MetricRef, what: &str) -> Fig {
    let mut vals = Vec::new();
    for v in views {
        let Some(at) = v.newest else { continue };
        for s in v.t.series_of(m) {
            match s.checked_at(at) {
                Ok(Some(x)) if (0.0..=1.0).contains(&x) => vals.push(x),
                Ok(Some(x)) => {
                    return Fig::unknown(format!(
                        "{} is {x}, outside 0 to 1 for a usage fraction",
                        s.describe()
                    ));
                }
                Ok(None) => {}
                Err(p) => return bad_value(s, p),
            }
        }
    }
    if vals.is_empty() {
        Fig::unknown(format!("no {what} in the newest scrape"))
    } else {
        Fig::known(vals.iter().sum::<f64>() / vals.len() as f64)
    }
}

fn window_seconds(views: &[View]) -> Fig {
    views
        .first()
        .map_or_else(|| Fig::unknown("no target"), View::window_seconds)
}

/// Engine figures (vLLM, or SGLang from its token counters) over the engine targets.
pub fn engine(views: &[View]) -> EngineFigures {
    // By the catalog's reading of each series, so an exporter's spelling (`vllm_X`) counts.
    let exports = |prefix: &str, id: &str| {
        views.iter().any(|v| {
            v.t.series().iter().any(|s| {
                s.family.starts_with(prefix)
                    || s.metric.is_some_and(|m| m.family_def().id.starts_with(id))
            })
        })
    };
    let vllm = exports("vllm:", "vllm.");
    if !vllm && exports("sglang", "sglang.") {
        let none = || Fig::unknown("SGLang has no external prefix cache counter");
        return EngineFigures {
            kind: Some(EngineKind::Sglang),
            window_seconds: window_seconds(views),
            prefix_cache: prefix_cache(
                views,
                metric!("sglang.cache_counters", "prompt_tokens"),
                metric!("sglang.cache_counters", "cached_tokens"),
                "SGLang prompt/cached token",
            ),
            external_prefix_cache: PrefixCache {
                queries_total: none(),
                hits_total: none(),
                hit_rate: Pair {
                    since_start: none(),
                    window: none(),
                },
            },
            kv_usage_ratio: mean_fraction(
                views,
                metric!("sglang.token_usage", "token_usage"),
                "SGLang token usage gauge",
            ),
            queues: queues(
                views,
                metric!("sglang.queues", "queued"),
                metric!("sglang.queues", "running"),
            ),
        };
    }
    EngineFigures {
        kind: vllm.then_some(EngineKind::Vllm),
        window_seconds: window_seconds(views),
        prefix_cache: prefix_cache(
            views,
            metric!("vllm.prefix_cache", "queries"),
            metric!("vllm.prefix_cache", "hits"),
            "prefix-cache",
        ),
        external_prefix_cache: prefix_cache(
            views,
            metric!("vllm.external_prefix_cache", "queries"),
            metric!("vllm.external_prefix_cache", "hits"),
            "external prefix-cache",
        ),
        kv_usage_ratio: mean_fraction(
            views,
            metric!("vllm.kv_usage", "usage_perc"),
            "KV usage gauge",
        ),
        queues: queues(
            views,
            metric!("vllm.queues", "waiting"),
            metric!("vllm.queues", "running"),
        ),
    }
}

/// Waiting and running requests.
fn queues(views: &[View], waiting: MetricRef, running: MetricRef) -> Queues {
    let waiting_sel = Sel::all(views, waiting);
    Queues {
        waiting: gauge(&waiting_sel, "waiting-requests gauge"),
        running: gauge(&Sel::all(views, running), "running-requests gauge"),
        waiting_trend: trend(&waiting_sel, "waiting-requests gauge"),
    }
}
