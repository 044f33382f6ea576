//! Headline figures: LMCache lookups, L1, L2, L0↔L1, EventBus; engine prefix caches.
//!
//! Every figure is summed over all label sets (and targets) unless it is a breakdown; counters
//! come both since process start and over the window.

use super::{Features, Fig, Inputs, Over, has};
use crate::catalog::{Feature, MetricRef, metric_ref};
use crate::store::{HistogramWindow, Problem, Series, TargetStore};

/// A counter-derived figure since process start and over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    pub since_start: Fig,
    pub window: Fig,
}

/// Histogram summary: mean and quantiles since start, and over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Distribution {
    pub mean: Fig,
    pub p50: Fig,
    pub p90: Fig,
    pub p99: Fig,
    pub count: Fig,
    pub window: DistributionWindow,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DistributionWindow {
    pub mean: Fig,
    pub p50: Fig,
    pub p90: Fig,
    pub p99: Fig,
    pub count: Fig,
}

/// One `cache_salt` (or `model_name`) breakdown row; serialised with the label name as key.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupBreakdown {
    pub label: &'static str,
    /// The label value as exported; `None` when the series has no such label.
    pub value: Option<String>,
    pub requested_tokens: f64,
    pub hit_tokens: f64,
    pub hit_rate: Fig,
    pub window_hit_rate: Fig,
    pub note: Option<String>,
}

impl serde::Serialize for LookupBreakdown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(self.label, &self.value)?;
        m.serialize_entry("requested_tokens", &self.requested_tokens)?;
        m.serialize_entry("hit_tokens", &self.hit_tokens)?;
        m.serialize_entry("hit_rate", &self.hit_rate)?;
        m.serialize_entry("window_hit_rate", &self.window_hit_rate)?;
        if let Some(n) = &self.note {
            m.serialize_entry("note", n)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lookup {
    pub requested_tokens: Pair,
    pub hit_tokens: Pair,
    pub hit_rate: Pair,
    /// Share of hit tokens L1 already held.
    pub l1_share: Pair,
    /// Share of hit tokens L2 added beyond the L1 prefix.
    pub l2_share: Pair,
    pub lookups: Pair,
    pub by_cache_salt: Vec<LookupBreakdown>,
    pub by_model_name: Vec<LookupBreakdown>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L1 {
    pub used_bytes: Fig,
    pub total_bytes: Fig,
    pub usage_ratio: Fig,
    pub evicted: Pair,
    pub evicted_per_s: Fig,
    pub eviction_triggers: Pair,
    pub reads: Pair,
    pub writes: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L2 {
    pub adapters_active: Fig,
    pub used_bytes: Fig,
    pub store_requests: Pair,
    pub store_requests_per_s: Fig,
    pub store_chunks_per_s: Fig,
    pub load_requests: Pair,
    pub load_requests_per_s: Fig,
    pub inflight_stores: Fig,
    pub inflight_loads: Fig,
    pub store_throughput_gbs: Distribution,
    pub load_throughput_gbs: Distribution,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L0L1 {
    pub store_throughput_gbs: Distribution,
    pub load_throughput_gbs: Distribution,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventBus {
    pub queue_depth: Fig,
    pub drain_lag_seconds: Fig,
    /// Whether the depth/lag gauges can be believed.
    pub gauges_trust: &'static str,
    pub gauges_note: &'static str,
    pub dropped_total: Fig,
    pub dropped_per_s: Fig,
    pub subscriber_exceptions_total: Fig,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LmcacheFigures {
    /// Seconds the window actually covers (first LMCache target).
    pub window_seconds: Fig,
    pub lookup: Lookup,
    pub l1: L1,
    pub l2: L2,
    pub l0_l1: L0L1,
    pub eventbus: EventBus,
    pub breakdowns: super::breakdowns::Breakdowns,
    /// What the LMCache HTTP routes said.
    pub http: super::http_facts::HttpFacts,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PrefixCache {
    pub queries_total: Fig,
    pub hits_total: Fig,
    pub hit_rate: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EngineFigures {
    pub kind: Option<&'static str>,
    pub window_seconds: Fig,
    /// The engine's own (GPU) prefix cache.
    pub prefix_cache: PrefixCache,
    /// What the KV connector (LMCache) supplied, as the engine counts it.
    pub external_prefix_cache: PrefixCache,
    pub kv_usage_ratio: Fig,
}

pub(super) fn all(_: &Series) -> bool {
    true
}

/// Targets that have the metric at all, in `targets`.
fn with_metric<'a>(targets: &[&'a TargetStore], m: MetricRef) -> Vec<&'a TargetStore> {
    targets
        .iter()
        .copied()
        .filter(|t| t.series_of(m).next().is_some())
        .collect()
}

/// A figure resting on a value that cannot be used: unknown, naming the series.
pub(super) fn bad_value(s: &Series, p: Problem) -> Fig {
    Fig::unknown(format!("{} {p}", s.describe()))
}

/// A counter summed over series and targets, over `over`.
pub(super) fn counter(
    targets: &[&TargetStore],
    window: f64,
    m: MetricRef,
    over: Over,
    keep: impl Fn(&Series) -> bool,
    what: &str,
) -> Fig {
    let ts = with_metric(targets, m);
    if ts.is_empty() {
        return Fig::unknown(format!("no {what} in the input"));
    }
    let mut total = 0.0;
    for t in ts {
        let span = match over.span(t, window) {
            Ok(s) => s,
            Err(e) => return Fig::unknown(e),
        };
        let restarts = t.restarts();
        for s in t.series_of(m).filter(|s| keep(s)) {
            match span.counter(s, &restarts) {
                Ok(v) => total += v.unwrap_or(0.0),
                Err(p) => return bad_value(s, p),
            }
        }
    }
    Fig::known(total)
}

pub(super) fn pair(
    targets: &[&TargetStore],
    window: f64,
    m: MetricRef,
    keep: impl Fn(&Series) -> bool + Copy,
    what: &str,
) -> Pair {
    Pair {
        since_start: counter(targets, window, m, Over::SinceStart, keep, what),
        window: counter(targets, window, m, Over::Window, keep, what),
    }
}

/// A counter's increase per second over the window.
fn rate(targets: &[&TargetStore], window: f64, m: MetricRef, what: &str) -> Fig {
    let ts = with_metric(targets, m);
    if ts.is_empty() {
        return Fig::unknown(format!("no {what} in the input"));
    }
    let mut total = 0.0;
    for t in ts {
        let span = match t.window(window) {
            Ok(s) => s,
            Err(e) => return Fig::unknown(e),
        };
        let secs = t.span_seconds(span).unwrap_or(0.0);
        if secs <= 0.0 {
            return Fig::unknown("the window covers no time");
        }
        let restarts = t.restarts();
        let mut grew = 0.0;
        for s in t.series_of(m) {
            match span.counter(s, &restarts) {
                Ok(v) => grew += v.unwrap_or(0.0),
                Err(p) => return bad_value(s, p),
            }
        }
        total += grew / secs;
    }
    Fig::known(total)
}

/// A gauge of a quantity (bytes, a depth, a lag, a count of adapters), summed over the series
/// present in the newest scrapes; such a gauge cannot be negative.
pub(super) fn gauge(
    targets: &[&TargetStore],
    m: MetricRef,
    keep: impl Fn(&Series) -> bool,
    what: &str,
) -> Fig {
    let mut total = None;
    for t in targets {
        let Some(at) = t.newest().map(|s| s.seq) else {
            continue;
        };
        for s in t.series_of(m).filter(|s| keep(s)) {
            match s.checked_at(at) {
                Ok(Some(v)) if v < 0.0 => {
                    return Fig::unknown(format!(
                        "{} is negative ({v}), which this gauge cannot be",
                        s.describe()
                    ));
                }
                Ok(Some(v)) => *total.get_or_insert(0.0) += v,
                Ok(None) => {}
                Err(p) => return bad_value(s, p),
            }
        }
    }
    total.map_or_else(
        || Fig::unknown(format!("no {what} in the newest scrape")),
        Fig::known,
    )
}

/// `a` as a share of `b` (hit rates, tier shares), since start and over the window.
fn pair_share(a: &Pair, b: &Pair, zero: &str, a_name: &str, b_name: &str) -> Pair {
    Pair {
        since_start: a.since_start.share_of(&b.since_start, zero, a_name, b_name),
        window: a.window.share_of(&b.window, zero, a_name, b_name),
    }
}

pub(super) fn merged_histogram(
    targets: &[&TargetStore],
    window: f64,
    m: MetricRef,
    over: Over,
    keep: &dyn Fn(&Series) -> bool,
) -> Result<Option<HistogramWindow>, String> {
    let mut out: Option<HistogramWindow> = None;
    for t in with_metric(targets, m) {
        let span = over.span(t, window)?;
        if let Some(h) = t.histogram(m, span, keep)? {
            match &mut out {
                Some(o) => o.merge(&h),
                None => out = Some(h),
            }
        }
    }
    Ok(out)
}

fn distribution(targets: &[&TargetStore], window: f64, m: MetricRef, what: &str) -> Distribution {
    let summarise = |over: Over| -> [Fig; 5] {
        match merged_histogram(targets, window, m, over, &all) {
            Err(e) => std::array::from_fn(|_| Fig::unknown(e.clone())),
            Ok(None) => {
                std::array::from_fn(|_| Fig::unknown(format!("no {what} histogram in the input")))
            }
            Ok(Some(h)) => {
                let none = "no observations in this span";
                let q = |q: f64| h.quantile(q).map_or_else(|| Fig::unknown(none), Fig::known);
                [
                    h.mean().map_or_else(|| Fig::unknown(none), Fig::known),
                    q(0.5),
                    q(0.9),
                    q(0.99),
                    Fig::known(h.count),
                ]
            }
        }
    };
    let [mean, p50, p90, p99, count] = summarise(Over::SinceStart);
    let [wm, w50, w90, w99, wc] = summarise(Over::Window);
    Distribution {
        mean,
        p50,
        p90,
        p99,
        count,
        window: DistributionWindow {
            mean: wm,
            p50: w50,
            p90: w90,
            p99: w99,
            count: wc,
        },
    }
}

fn window_seconds(targets: &[&TargetStore], window: f64) -> Fig {
    let Some(t) = targets.first() else {
        return Fig::unknown("no target");
    };
    match t.window(window) {
        Ok(span) => t
            .span_seconds(span)
            .map_or_else(|| Fig::unknown("no capture times"), Fig::known),
        Err(e) => Fig::unknown(e),
    }
}

fn breakdown(targets: &[&TargetStore], window: f64, label: &'static str) -> Vec<LookupBreakdown> {
    let req = metric_ref("lmcache_mp.lookup", "requested_tokens");
    let hit = metric_ref("lmcache_mp.lookup", "hit_tokens");
    let mut values: Vec<Option<String>> = Vec::new();
    for t in targets {
        for s in t.series_of(req) {
            let v = s.label(label).map(str::to_string);
            if !values.contains(&v) {
                values.push(v);
            }
        }
    }
    values
        .into_iter()
        .map(|value| {
            let keep = |s: &Series| s.label(label) == value.as_deref();
            let r = pair(targets, window, req, keep, "lookup requested tokens");
            let h = pair(targets, window, hit, keep, "lookup hit tokens");
            let zero = "no tokens were looked up";
            let note = value.is_none().then(|| match label {
                "cache_salt" => {
                    "the series has no cache_salt label (LMCache omits it for unsalted keys)"
                        .to_string()
                }
                _ => format!("the series has no {label} label"),
            });
            LookupBreakdown {
                label,
                requested_tokens: r.since_start.value().unwrap_or(0.0),
                hit_tokens: h.since_start.value().unwrap_or(0.0),
                hit_rate: h.since_start.share_of(
                    &r.since_start,
                    zero,
                    "hit tokens",
                    "requested tokens",
                ),
                window_hit_rate: h.window.share_of(
                    &r.window,
                    zero,
                    "hit tokens",
                    "requested tokens",
                ),
                value,
                note,
            }
        })
        .collect()
}

/// LMCache figures over every target (MP metrics are only found where the MP server is).
pub fn lmcache(inputs: &Inputs<'_>, features: &Features) -> LmcacheFigures {
    let ts: Vec<&TargetStore> = inputs.all().collect();
    let w = inputs.window;
    let lk = |k| metric_ref("lmcache_mp.lookup", k);
    let tiers = |k| metric_ref("lmcache_mp.lookup_tiers", k);
    let requested = pair(
        &ts,
        w,
        lk("requested_tokens"),
        all,
        "lookup requested-token counter",
    );
    let hits = pair(&ts, w, lk("hit_tokens"), all, "lookup hit-token counter");
    let l1_hits = pair(
        &ts,
        w,
        tiers("hit_l1_tokens"),
        all,
        "L1 lookup hit-token counter",
    );
    let l2_hits = pair(
        &ts,
        w,
        tiers("hit_l2_tokens"),
        all,
        "L2 lookup hit-token counter",
    );
    let no_hits = "no lookup hits to split";
    let lookup = Lookup {
        hit_rate: pair_share(
            &hits,
            &requested,
            "no tokens were looked up",
            "hit tokens",
            "requested tokens",
        ),
        l1_share: pair_share(&l1_hits, &hits, no_hits, "L1 hit tokens", "hit tokens"),
        l2_share: pair_share(&l2_hits, &hits, no_hits, "L2 hit tokens", "hit tokens"),
        lookups: pair(&ts, w, lk("lookups"), all, "lookup request counter"),
        by_cache_salt: breakdown(&ts, w, "cache_salt"),
        by_model_name: breakdown(&ts, w, "model_name"),
        requested_tokens: requested,
        hit_tokens: hits,
    };

    let mem = |k| metric_ref("lmcache_mp.l1_memory", k);
    let used = gauge(&ts, mem("used_bytes"), all, "L1 memory gauge");
    let ratio = gauge(&ts, mem("usage_ratio"), all, "L1 usage-ratio gauge");
    let total = match (&used.0, &ratio.0) {
        (Ok(u), Ok(r)) if *r > 0.0 => Fig::known((u / r).round()),
        (Ok(_), Ok(_)) => Fig::unknown("L1 is empty, so used / ratio cannot give its size"),
        (Err(_), _) => Fig::unknown("no L1 memory gauge in the newest scrape"),
        (_, Err(_)) => Fig::unknown(
            "no L1 usage-ratio gauge to derive the total from (this build exports used bytes only; /status has l1_usage)",
        ),
    };
    let l1c = |k| metric_ref("lmcache_mp.l1_counters", k);
    let l1 = L1 {
        used_bytes: used,
        total_bytes: total,
        usage_ratio: ratio,
        evicted: pair(&ts, w, l1c("evicted"), all, "L1 eviction counter"),
        evicted_per_s: rate(&ts, w, l1c("evicted"), "L1 eviction counter"),
        eviction_triggers: pair(
            &ts,
            w,
            metric_ref("lmcache_mp.l1_eviction_loop", "triggered"),
            all,
            "eviction-trigger counter",
        ),
        reads: pair(&ts, w, l1c("read"), all, "L1 read counter"),
        writes: pair(&ts, w, l1c("write"), all, "L1 write counter"),
    };

    let l2c = |k| metric_ref("lmcache_mp.l2_counters", k);
    let l2u = |k| metric_ref("lmcache_mp.l2_usage", k);
    let l2_evident = has(features, Feature::L2);
    // In-flight gauges only report adapters with work: with an L2 adapter evident, absence is 0.
    let inflight = |k, what: &str| match gauge(&ts, l2u(k), all, what) {
        Fig(Err(_)) if l2_evident => Fig::known(0.0),
        Fig(Err(_)) => Fig::unknown("no L2 adapter evident"),
        f => f,
    };
    let l2 = L2 {
        adapters_active: gauge(
            &ts,
            metric_ref("lmcache_mp.l2_adapters", "store_adapters"),
            |s| s.label("state") == Some("active"),
            "L2 store-adapter gauge",
        ),
        used_bytes: gauge(&ts, l2u("used_bytes"), all, "L2 usage gauge"),
        store_requests: pair(
            &ts,
            w,
            l2c("store_completed"),
            all,
            "L2 store-completed counter",
        ),
        store_requests_per_s: rate(&ts, w, l2c("store_completed"), "L2 store-completed counter"),
        store_chunks_per_s: rate(
            &ts,
            w,
            l2c("store_completed_objects"),
            "L2 stored-chunks counter",
        ),
        load_requests: pair(
            &ts,
            w,
            l2c("load_completed"),
            all,
            "L2 load-completed counter",
        ),
        load_requests_per_s: rate(&ts, w, l2c("load_completed"), "L2 load-completed counter"),
        inflight_stores: inflight("inflight_stores", "L2 in-flight store gauge"),
        inflight_loads: inflight("inflight_loads", "L2 in-flight load gauge"),
        store_throughput_gbs: distribution(
            &ts,
            w,
            metric_ref("lmcache_mp.l1_l2_throughput", "store"),
            "L1→L2 store throughput",
        ),
        load_throughput_gbs: distribution(
            &ts,
            w,
            metric_ref("lmcache_mp.l1_l2_throughput", "load"),
            "L2→L1 load throughput",
        ),
    };

    let l0_l1 = L0L1 {
        store_throughput_gbs: distribution(
            &ts,
            w,
            metric_ref("lmcache_mp.l0_l1_throughput", "store"),
            "L0→L1 store throughput",
        ),
        load_throughput_gbs: distribution(
            &ts,
            w,
            metric_ref("lmcache_mp.l0_l1_throughput", "load"),
            "L1→L0 load throughput",
        ),
    };

    let eb = |k| metric_ref("lmcache_mp.eventbus", k);
    let depth = gauge(&ts, eb("queue_depth"), all, "EventBus depth gauge");
    let lag = gauge(&ts, eb("drain_lag"), all, "EventBus drain-lag gauge");
    let live = depth.value().is_some_and(|v| v > 0.0) || lag.value().is_some_and(|v| v > 0.0);
    let eventbus = EventBus {
        gauges_trust: if live { "live" } else { "unverified" },
        gauges_note: if live {
            "the depth or lag gauge is non-zero, so this build reports the live bus"
        } else {
            "LMCache 0.5.6 registers these gauges on a disabled bus, so they read 0 whatever the live queue holds; judge the bus by dropped_total and subscriber exceptions"
        },
        queue_depth: depth,
        drain_lag_seconds: lag,
        dropped_total: counter(
            &ts,
            w,
            eb("dropped"),
            Over::SinceStart,
            all,
            "EventBus drop counter",
        ),
        dropped_per_s: rate(&ts, w, eb("dropped"), "EventBus drop counter"),
        subscriber_exceptions_total: match counter(
            &ts,
            w,
            eb("subscriber_exceptions"),
            Over::SinceStart,
            all,
            "x",
        ) {
            // The counter is created on the first exception: with the bus's other metrics present, absence is 0.
            Fig(Err(_)) if !with_metric(&ts, eb("dropped")).is_empty() => Fig::known(0.0),
            Fig(Err(_)) => Fig::unknown("no EventBus metrics in the input"),
            f => f,
        },
    };
    let mp_targets: Vec<&TargetStore> = ts
        .iter()
        .copied()
        .filter(|t| {
            t.series()
                .iter()
                .any(|s| s.family.starts_with("lmcache_mp"))
        })
        .collect();
    LmcacheFigures {
        window_seconds: window_seconds(&mp_targets, w),
        lookup,
        l1,
        l2,
        l0_l1,
        eventbus,
        breakdowns: super::breakdowns::breakdowns(&ts, w),
        http: super::http_facts::facts(inputs.lmcache),
    }
}

fn prefix_cache(
    ts: &[&TargetStore],
    w: f64,
    queries: MetricRef,
    hits: MetricRef,
    what: &str,
) -> PrefixCache {
    let q = pair(ts, w, queries, all, &format!("{what} query counter"));
    let h = pair(ts, w, hits, all, &format!("{what} hit counter"));
    PrefixCache {
        hit_rate: pair_share(&h, &q, "no queries", "hits", "queries"),
        queries_total: q.since_start,
        hits_total: h.since_start,
    }
}

/// Engine figures (vLLM, or SGLang from its token counters).
pub fn engine(inputs: &Inputs<'_>) -> EngineFigures {
    let ts: Vec<&TargetStore> = inputs.engine.iter().collect();
    let w = inputs.window;
    let vllm = ts
        .iter()
        .any(|t| t.series().iter().any(|s| s.family.starts_with("vllm:")));
    let sglang = !vllm
        && ts
            .iter()
            .any(|t| t.series().iter().any(|s| s.family.starts_with("sglang")));
    // A usage fraction per engine (0 to 1); the mean over engines and ranks.
    let mean_gauge = |m: MetricRef, what: &str| {
        let mut vals = Vec::new();
        for t in &ts {
            let Some(at) = t.newest().map(|s| s.seq) else {
                continue;
            };
            for s in t.series_of(m) {
                match s.checked_at(at) {
                    Ok(Some(v)) if (0.0..=1.0).contains(&v) => vals.push(v),
                    Ok(Some(v)) => {
                        return Fig::unknown(format!(
                            "{} is {v}, outside 0 to 1 for a usage fraction",
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
    };
    if sglang {
        let cc = |k| metric_ref("sglang.cache_counters", k);
        let prefix = prefix_cache(
            &ts,
            w,
            cc("prompt_tokens"),
            cc("cached_tokens"),
            "SGLang prompt/cached token",
        );
        let none = || PrefixCache {
            queries_total: Fig::unknown("SGLang has no external prefix cache counter"),
            hits_total: Fig::unknown("SGLang has no external prefix cache counter"),
            hit_rate: Pair {
                since_start: Fig::unknown("SGLang has no external prefix cache counter"),
                window: Fig::unknown("SGLang has no external prefix cache counter"),
            },
        };
        return EngineFigures {
            kind: Some("sglang"),
            window_seconds: window_seconds(&ts, w),
            prefix_cache: prefix,
            external_prefix_cache: none(),
            kv_usage_ratio: mean_gauge(
                metric_ref("sglang.token_usage", "token_usage"),
                "SGLang token usage gauge",
            ),
        };
    }
    let pc = |k| metric_ref("vllm.prefix_cache", k);
    let ext = |k| metric_ref("vllm.external_prefix_cache", k);
    EngineFigures {
        kind: vllm.then_some("vllm"),
        window_seconds: window_seconds(&ts, w),
        prefix_cache: prefix_cache(&ts, w, pc("queries"), pc("hits"), "prefix-cache"),
        external_prefix_cache: prefix_cache(
            &ts,
            w,
            ext("queries"),
            ext("hits"),
            "external prefix-cache",
        ),
        kv_usage_ratio: mean_gauge(metric_ref("vllm.kv_usage", "usage_perc"), "KV usage gauge"),
    }
}
