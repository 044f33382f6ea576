//! Embedded LMCache figures: `lmcache:*` on an engine's `/metrics` (LMCache inside vLLM or
//! SGLang), the headline numbers the MP side has, since start and over the window: the lookup
//! hit rate (lookup hit tokens / lookup tokens), the retrieve hit rate (hit tokens / requested
//! tokens), stored and engine-hit tokens, local CPU cache usage and evictions, remote traffic
//! and ping errors, health, slow retrievals, retrieve and store time and speed; per
//! `model_name` and `worker_id`.

use super::Fig;
use super::aggregate::{Distribution, Groups, Pair, Sel, View, distribution, gauge, pair, present};
use crate::catalog::MetricRef;
use crate::metric;

/// Retrieve hit rate of one `worker_id` or `model_name`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EmbeddedRow {
    /// The label value (`None`: the series has no such label).
    pub value: Option<String>,
    pub requested_tokens: Fig,
    pub hit_tokens: Fig,
    pub retrieve_hit_rate: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EmbeddedFigures {
    /// Whether any target exports `lmcache:*` counters.
    pub present: bool,
    pub lookup_tokens: Pair,
    pub lookup_hit_tokens: Pair,
    /// Lookup hit tokens / lookup tokens.
    pub lookup_hit_rate: Pair,
    pub requested_tokens: Pair,
    pub hit_tokens: Pair,
    /// Hit tokens / requested tokens: what was retrieved of what was asked for.
    pub retrieve_hit_rate: Pair,
    pub stored_tokens: Pair,
    /// Tokens the engine's own prefix cache already held (`num_vllm_hit_tokens`).
    pub engine_hit_tokens: Pair,
    pub local_cache_usage_bytes: Fig,
    pub local_cpu_evictions: Pair,
    pub remote_read_bytes: Pair,
    pub remote_write_bytes: Pair,
    pub remote_read_requests: Pair,
    pub remote_write_requests: Pair,
    pub remote_ping_errors: Pair,
    /// `lmcache:lmcache_is_healthy` (1 healthy, 0 not): the lowest over workers.
    pub healthy: Fig,
    pub slow_retrievals_by_time: Pair,
    pub slow_retrievals_by_speed: Pair,
    /// Seconds.
    pub retrieve_time: Distribution,
    pub store_time: Distribution,
    /// Tokens per second.
    pub retrieve_speed: Distribution,
    pub store_speed: Distribution,
    /// Seconds per P2P transfer between LMCache instances.
    pub p2p_transfer_time: Distribution,
    pub by_worker: Vec<EmbeddedRow>,
    pub by_model_name: Vec<EmbeddedRow>,
}

/// The lowest health gauge over the newest scrapes (one unhealthy worker makes it 0).
fn healthy(views: &[View]) -> Fig {
    let m = metric!("lmcache.embedded_health", "is_healthy");
    let mut lowest: Option<f64> = None;
    for v in views {
        let Some(at) = v.newest else { continue };
        for s in v.t.series_of(m) {
            match s.checked_at(at) {
                Ok(Some(x)) => lowest = Some(lowest.map_or(x, |l: f64| l.min(x))),
                Ok(None) => {}
                Err(p) => return super::aggregate::bad_value(s, p),
            }
        }
    }
    lowest.map_or_else(
        || Fig::unknown("no lmcache:lmcache_is_healthy in the newest scrape"),
        Fig::known,
    )
}

fn rows(views: &[View], label: &str) -> Vec<EmbeddedRow> {
    let groups = Groups::by(
        views,
        &[
            metric!("lmcache.embedded_token_counters", "requested_tokens"),
            metric!("lmcache.embedded_token_counters", "hit_tokens"),
        ],
        label,
    );
    groups
        .values
        .iter()
        .enumerate()
        .map(|(g, value)| {
            let r = pair(groups.sel(0, g), "embedded requested-token counter");
            let h = pair(groups.sel(1, g), "embedded hit-token counter");
            EmbeddedRow {
                value: value.map(str::to_string),
                retrieve_hit_rate: h.share_of(
                    &r,
                    "no tokens requested",
                    "hit tokens",
                    "requested tokens",
                ),
                requested_tokens: r.since_start,
                hit_tokens: h.since_start,
            }
        })
        .collect()
}

/// Whether any target exports the embedded request or token counters.
fn exported(views: &[View]) -> bool {
    [
        metric!("lmcache.embedded_requests", "lookup"),
        metric!("lmcache.embedded_token_counters", "requested_tokens"),
    ]
    .into_iter()
    .any(|m| present(&Sel::all(views, m)))
}

/// Each counter of `table` (metric, what it counts) over every target.
fn counters<const N: usize>(views: &[View], table: [(MetricRef, &str); N]) -> [Pair; N] {
    table.map(|(m, what)| pair(&Sel::all(views, m), what))
}

/// The token counters: looked up, lookup hits, requested, hit, stored, and the engine's own
/// prefix-cache hits.
const TOKENS: [(MetricRef, &str); 6] = [
    (
        metric!("lmcache.embedded_token_counters", "lookup_tokens"),
        "embedded lookup-token counter",
    ),
    (
        metric!("lmcache.embedded_token_counters", "lookup_hits"),
        "embedded lookup-hit counter",
    ),
    (
        metric!("lmcache.embedded_token_counters", "requested_tokens"),
        "embedded requested-token counter",
    ),
    (
        metric!("lmcache.embedded_token_counters", "hit_tokens"),
        "embedded hit-token counter",
    ),
    (
        metric!("lmcache.embedded_token_counters", "stored_tokens"),
        "embedded stored-token counter",
    ),
    (
        metric!("lmcache.embedded_token_counters", "vllm_hit_tokens"),
        "embedded engine-hit counter",
    ),
];

/// The remote backend's counters: read and written bytes, read and write requests, ping
/// errors.
const REMOTE: [(MetricRef, &str); 5] = [
    (
        metric!("lmcache.embedded_remote_backend", "read_bytes"),
        "remote read-byte counter",
    ),
    (
        metric!("lmcache.embedded_remote_backend", "write_bytes"),
        "remote write-byte counter",
    ),
    (
        metric!("lmcache.embedded_remote_backend", "read_requests"),
        "remote read-request counter",
    ),
    (
        metric!("lmcache.embedded_remote_backend", "write_requests"),
        "remote write-request counter",
    ),
    (
        metric!("lmcache.embedded_remote_backend", "ping_errors"),
        "remote ping-error counter",
    ),
];

/// The latency distributions: retrieve and store time (seconds), retrieve and store speed
/// (tokens per second), P2P transfer time (seconds).
fn latencies(views: &[View], detail: bool) -> [Distribution; 5] {
    const LATENCIES: [(MetricRef, &str); 5] = [
        (
            metric!("lmcache.embedded_latency", "time_to_retrieve"),
            "retrieve time",
        ),
        (
            metric!("lmcache.embedded_latency", "time_to_store"),
            "store time",
        ),
        (
            metric!("lmcache.embedded_latency", "retrieve_speed"),
            "retrieve speed",
        ),
        (
            metric!("lmcache.embedded_latency", "store_speed"),
            "store speed",
        ),
        (
            metric!("lmcache.embedded_p2p", "time_to_transfer"),
            "P2P transfer time",
        ),
    ];
    LATENCIES.map(|(m, what)| distribution(&Sel::all(views, m), what, detail))
}

/// The embedded figures over every target (they live on engines' `/metrics`).
/// Without `detail` (judging only), distributions are read over the window alone.
pub fn embedded(views: &[View], detail: bool) -> EmbeddedFigures {
    let counter = |m: MetricRef, what: &str| pair(&Sel::all(views, m), what);
    let [
        lookup_tokens,
        lookup_hit_tokens,
        requested_tokens,
        hit_tokens,
        stored_tokens,
        engine_hit_tokens,
    ] = counters(views, TOKENS);
    let [
        remote_read_bytes,
        remote_write_bytes,
        remote_read_requests,
        remote_write_requests,
        remote_ping_errors,
    ] = counters(views, REMOTE);
    let [
        retrieve_time,
        store_time,
        retrieve_speed,
        store_speed,
        p2p_transfer_time,
    ] = latencies(views, detail);
    EmbeddedFigures {
        present: exported(views),
        lookup_hit_rate: lookup_hit_tokens.share_of(
            &lookup_tokens,
            "no tokens looked up",
            "lookup hit tokens",
            "lookup tokens",
        ),
        retrieve_hit_rate: hit_tokens.share_of(
            &requested_tokens,
            "no tokens requested",
            "hit tokens",
            "requested tokens",
        ),
        lookup_tokens,
        lookup_hit_tokens,
        requested_tokens,
        hit_tokens,
        stored_tokens,
        engine_hit_tokens,
        local_cache_usage_bytes: gauge(
            &Sel::all(
                views,
                metric!("lmcache.embedded_cache_usage", "local_cache_usage"),
            ),
            "lmcache:local_cache_usage gauge",
        ),
        local_cpu_evictions: counter(
            metric!("lmcache.embedded_local_cpu_backend", "evict_count"),
            "embedded eviction counter",
        ),
        remote_read_bytes,
        remote_write_bytes,
        remote_read_requests,
        remote_write_requests,
        remote_ping_errors,
        healthy: healthy(views),
        slow_retrievals_by_time: counter(
            metric!("lmcache.embedded_latency", "slow_retrieval_by_time"),
            "slow-retrieval counter",
        ),
        slow_retrievals_by_speed: counter(
            metric!("lmcache.embedded_latency", "slow_retrieval_by_speed"),
            "slow-retrieval counter",
        ),
        retrieve_time,
        store_time,
        retrieve_speed,
        store_speed,
        p2p_transfer_time,
        by_worker: rows(views, "worker_id"),
        by_model_name: rows(views, "model_name"),
    }
}
