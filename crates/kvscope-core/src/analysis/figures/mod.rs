//! LMCache figures: lookups, L1, L2, L0↔L1, EventBus, summed over every target that exports
//! them; and what belongs to one target alone (its L1 size and fill, its hit rate, its HTTP
//! routes), per target, never summed.
//!
//! Every summed figure covers all label sets unless it is a breakdown; counters come both
//! since process start and over the window.

use super::aggregate::{
    Groups, Pair, Sel, View, counter, counter_from_first_event, distribution, gauge, pair,
    pair_from_first_event, present, rate, trend,
};
use super::http_facts;
use super::{Features, Fig, Over, has};
use crate::catalog::{Feature, MetricRef};
use crate::metric;
use crate::store::Series;

mod types;
pub use types::*;

/// Tokens looked up and hit, over `views`: (requested, hits, hit rate).
fn tokens(views: &[View]) -> (Pair, Pair, Pair) {
    let requested = pair(
        &Sel::all(views, metric!("lmcache_mp.lookup", "requested_tokens")),
        "lookup requested-token counter",
    );
    let hits = pair(
        &Sel::all(views, metric!("lmcache_mp.lookup", "hit_tokens")),
        "lookup hit-token counter",
    );
    let rate = hits.share_of(
        &requested,
        "no tokens were looked up",
        "hit tokens",
        "requested tokens",
    );
    (requested, hits, rate)
}

/// Lookup rows by `cache_salt` or `model_name`, grouped in one pass over the series.
fn breakdown(views: &[View], label: &'static str) -> Vec<LookupBreakdown> {
    let groups = Groups::by(
        views,
        &[
            metric!("lmcache_mp.lookup", "requested_tokens"),
            metric!("lmcache_mp.lookup", "hit_tokens"),
        ],
        label,
    );
    let zero = "no tokens were looked up";
    groups
        .values
        .iter()
        .enumerate()
        .map(|(g, value)| {
            let r = pair(groups.sel(0, g), "lookup requested tokens");
            let h = pair(groups.sel(1, g), "lookup hit tokens");
            let note = value.is_none().then(|| match label {
                "cache_salt" => {
                    "the series has no cache_salt label, or an empty one (unsalted keys)"
                        .to_string()
                }
                _ => format!("the series has no {label} label, or an empty one"),
            });
            let share = h.share_of(&r, zero, "hit tokens", "requested tokens");
            LookupBreakdown {
                label,
                value: value.map(str::to_string),
                requested_tokens: r.since_start,
                hit_tokens: h.since_start,
                hit_rate: share.since_start,
                window_hit_rate: share.window,
                note,
            }
        })
        .collect()
}

fn lookup(views: &[View], detail: bool) -> Lookup {
    let (requested, hits, hit_rate) = tokens(views);
    let l1_hits = pair(
        &Sel::all(views, metric!("lmcache_mp.lookup_tiers", "hit_l1_tokens")),
        "L1 lookup hit-token counter",
    );
    let l2_hits = pair(
        &Sel::all(views, metric!("lmcache_mp.lookup_tiers", "hit_l2_tokens")),
        "L2 lookup hit-token counter",
    );
    let no_hits = "no lookup hits to split";
    Lookup {
        hit_rate,
        l1_share: l1_hits.share_of(&hits, no_hits, "L1 hit tokens", "hit tokens"),
        l2_share: l2_hits.share_of(&hits, no_hits, "L2 hit tokens", "hit tokens"),
        lookups: pair(
            &Sel::all(views, metric!("lmcache_mp.lookup", "lookups")),
            "lookup request counter",
        ),
        by_cache_salt: breakdown(views, "cache_salt"),
        by_model_name: if detail {
            breakdown(views, "model_name")
        } else {
            Vec::new()
        },
        requested_tokens: requested,
        hit_tokens: hits,
    }
}

/// L1 memory over `views`. A pool's size is its used bytes / its usage ratio, pool by pool
/// (series with the same labels); sizes and used bytes add up over pools and targets, and the
/// combined ratio is their quotient: ratios are never added.
pub fn l1_memory(views: &[View]) -> L1Memory {
    let (used_m, ratio_m) = (
        metric!("lmcache_mp.l1_memory", "used_bytes"),
        metric!("lmcache_mp.l1_memory", "usage_ratio"),
    );
    let used = gauge(&Sel::all(views, used_m), "L1 memory gauge");
    let no_ratio = "no L1 usage-ratio gauge to derive the total from (this build exports used bytes only; /status has l1_usage)";
    // Every pool's ratio, checked: a fraction from 0 to 1.
    // (ratio series, its value, which target)
    let mut pools: Vec<(&Series, f64, usize)> = Vec::new();
    for (i, v) in views.iter().enumerate() {
        let Some(at) = v.newest else { continue };
        for s in v.t.series_of(ratio_m) {
            match s.checked_at(at) {
                Ok(Some(r)) if (0.0..=1.0).contains(&r) => pools.push((s, r, i)),
                Ok(Some(r)) => {
                    let why = format!("{} is {r}, outside 0 to 1 for a usage ratio", s.describe());
                    return L1Memory {
                        used_bytes: used,
                        total_bytes: Fig::unknown(why.clone()),
                        usage_ratio: Fig::unknown(why),
                    };
                }
                Ok(None) => {}
                Err(p) => {
                    let bad = super::aggregate::bad_value(s, p);
                    return L1Memory {
                        used_bytes: used,
                        total_bytes: bad.clone(),
                        usage_ratio: bad,
                    };
                }
            }
        }
    }
    // Each pool's used bytes, by target and labels (one pass, however many pools).
    let mut used_by_pool = std::collections::HashMap::new();
    for (i, v) in views.iter().enumerate() {
        let Some(at) = v.newest else { continue };
        for u in v.t.series_of(used_m) {
            if let Ok(Some(x)) = u.checked_at(at) {
                used_by_pool.insert((i, &*u.labels), x);
            }
        }
    }
    let mut total = Fig::known(0.0);
    for (ratio_series, r, i) in &pools {
        let pool_used = used_by_pool.get(&(*i, &*ratio_series.labels)).copied();
        let size = match pool_used {
            Some(u) if *r > 0.0 => Fig::known((u / r).round()),
            Some(_) => Fig::unknown("L1 is empty, so used / ratio cannot give its size"),
            None => Fig::unknown("no L1 memory gauge beside the usage ratio in the newest scrape"),
        };
        total = total.with(&size, |a, b| a + b);
    }
    if pools.is_empty() {
        total = Fig::unknown(if used.value().is_some() {
            no_ratio.to_string()
        } else {
            "no L1 memory gauge in the newest scrape".to_string()
        });
    }
    let usage_ratio = match pools.as_slice() {
        [] => Fig::unknown("no L1 usage-ratio gauge in the newest scrape"),
        // One pool: its own gauge, exactly as exported.
        [(_, r, _)] => Fig::known(*r),
        _ => used.ratio(&total, "L1 has no size to be a share of"),
    };
    L1Memory {
        used_bytes: used,
        total_bytes: total,
        usage_ratio,
    }
}

fn l1(views: &[View]) -> L1 {
    let counters = if Sel::all(views, metric!("lmcache_mp.l1_counters", "write")).exported() {
        Ok(())
    } else {
        Err("no L1 counters in the input")
    };
    let failures =
        |key: MetricRef, what: &str| pair_from_first_event(&Sel::all(views, key), counters, what);
    L1 {
        used_bytes_trend: trend(
            &Sel::all(views, metric!("lmcache_mp.l1_memory", "used_bytes")),
            "L1 memory gauge",
        ),
        allocation_failures: failures(
            metric!("lmcache_mp.l1_failures", "allocation_failure"),
            "L1 allocation-failure counter",
        ),
        read_failures: failures(
            metric!("lmcache_mp.l1_failures", "read_failure"),
            "L1 read-failure counter",
        ),
        memory: l1_memory(views),
        evicted: pair(
            &Sel::all(views, metric!("lmcache_mp.l1_counters", "evicted")),
            "L1 eviction counter",
        ),
        evicted_per_s: rate(
            &Sel::all(views, metric!("lmcache_mp.l1_counters", "evicted")),
            "L1 eviction counter",
        ),
        eviction_triggers: pair(
            &Sel::all(views, metric!("lmcache_mp.l1_eviction_loop", "triggered")),
            "eviction-trigger counter",
        ),
        reads: pair(
            &Sel::all(views, metric!("lmcache_mp.l1_counters", "read")),
            "L1 read counter",
        ),
        writes: pair(
            &Sel::all(views, metric!("lmcache_mp.l1_counters", "write")),
            "L1 write counter",
        ),
    }
}

/// Requests submitted and not completed: since start, and its growth over the window.
fn backlog(views: &[View], submitted: MetricRef, completed: MetricRef, what: &str) -> Pair {
    let over = |over: Over| {
        let c = |m: MetricRef, which: &str| {
            counter(
                &Sel::all(views, m),
                over,
                &format!("{what}-{which} counter"),
            )
        };
        c(submitted, "submitted").with(&c(completed, "completed"), |s, c| s - c)
    };
    Pair {
        since_start: over(Over::SinceStart),
        window: over(Over::Window),
    }
}

fn l2(views: &[View], features: &Features, detail: bool) -> L2 {
    let l2_evident = has(features, Feature::L2);
    // In-flight gauges only report adapters with work: with an L2 adapter evident, absence is 0.
    let inflight = |m: MetricRef, what: &str| {
        let sel = Sel::all(views, m);
        match (present(&sel), l2_evident) {
            (true, _) => gauge(&sel, what),
            (false, true) => Fig::known(0.0),
            (false, false) => Fig::unknown("no L2 adapter evident"),
        }
    };
    let store_backlog = backlog(
        views,
        metric!("lmcache_mp.l2_counters", "store_submitted"),
        metric!("lmcache_mp.l2_counters", "store_completed"),
        "L2 store",
    );
    let load_backlog = backlog(
        views,
        metric!("lmcache_mp.l2_counters", "prefetch_load_submitted"),
        metric!("lmcache_mp.l2_counters", "load_completed"),
        "L2 load",
    );
    let stores = Sel::all(views, metric!("lmcache_mp.l2_counters", "store_completed"));
    let loads = Sel::all(views, metric!("lmcache_mp.l2_counters", "load_completed"));
    L2 {
        prefetch_failures: pair_from_first_event(
            &Sel::all(views, metric!("lmcache_mp.l2_failures", "prefetch_failure")),
            l2_evident.then_some(()).ok_or("no L2 adapter evident"),
            "L2 prefetch-failure counter",
        ),
        store_backlog,
        load_backlog,
        adapters_active: gauge(
            &Sel::filtered(
                views,
                metric!("lmcache_mp.l2_adapters", "store_adapters"),
                |s| s.label("state") == Some("active"),
            ),
            "L2 store-adapter gauge",
        ),
        used_bytes: gauge(
            &Sel::all(views, metric!("lmcache_mp.l2_usage", "used_bytes")),
            "L2 usage gauge",
        ),
        store_requests: pair(&stores, "L2 store-completed counter"),
        store_requests_per_s: rate(&stores, "L2 store-completed counter"),
        store_chunks_per_s: rate(
            &Sel::all(
                views,
                metric!("lmcache_mp.l2_counters", "store_completed_objects"),
            ),
            "L2 stored-chunks counter",
        ),
        load_requests: pair(&loads, "L2 load-completed counter"),
        load_requests_per_s: rate(&loads, "L2 load-completed counter"),
        inflight_stores: inflight(
            metric!("lmcache_mp.l2_usage", "inflight_stores"),
            "L2 in-flight store gauge",
        ),
        inflight_loads: inflight(
            metric!("lmcache_mp.l2_usage", "inflight_loads"),
            "L2 in-flight load gauge",
        ),
        store_throughput_gbs: distribution(
            &Sel::all(views, metric!("lmcache_mp.l1_l2_throughput", "store")),
            "L1→L2 store throughput",
            detail,
        ),
        load_throughput_gbs: distribution(
            &Sel::all(views, metric!("lmcache_mp.l1_l2_throughput", "load")),
            "L2→L1 load throughput",
            detail,
        ),
    }
}

fn eventbus(views: &[View]) -> EventBus {
    let depth = gauge(
        &Sel::all(views, metric!("lmcache_mp.eventbus", "queue_depth")),
        "EventBus depth gauge",
    );
    let lag = gauge(
        &Sel::all(views, metric!("lmcache_mp.eventbus", "drain_lag")),
        "EventBus drain-lag gauge",
    );
    let live = depth.value().is_some_and(|v| v > 0.0) || lag.value().is_some_and(|v| v > 0.0);
    let dropped = Sel::all(views, metric!("lmcache_mp.eventbus", "dropped"));
    EventBus {
        gauges_trust: if live {
            GaugeTrust::Live
        } else {
            GaugeTrust::Unverified
        },
        gauges_note: if live {
            "the depth or lag gauge is non-zero, so this build reports the live bus"
        } else {
            "LMCache 0.4.6 to 0.5.7rc2 register these gauges on a disabled bus: they read 0 whatever the queue holds; judge the bus by dropped_total and subscriber exceptions"
        },
        queue_depth: depth,
        drain_lag_seconds: lag,
        dropped_total: counter(&dropped, Over::SinceStart, "EventBus drop counter"),
        dropped_per_s: rate(&dropped, "EventBus drop counter"),
        subscriber_exceptions_total: counter_from_first_event(
            &Sel::all(
                views,
                metric!("lmcache_mp.eventbus", "subscriber_exceptions"),
            ),
            Over::SinceStart,
            if dropped.exported() {
                Ok(())
            } else {
                Err("no EventBus metrics in the input")
            },
            "EventBus exception counter",
        ),
    }
}

/// What belongs to one target alone.
fn target_figures(v: &View) -> TargetFigures {
    let one = std::slice::from_ref(v);
    let evicted = Sel::all(one, metric!("lmcache_mp.l1_counters", "evicted"));
    TargetFigures {
        target: v.t.name.clone(),
        window_seconds: v.window_seconds(),
        hit_rate: tokens(one).2,
        l1: l1_memory(one),
        evicted_per_s: rate(&evicted, "L1 eviction counter"),
        http: http_facts::of(v.t),
    }
}

/// LMCache figures: summed over `views` (every target; MP metrics are only found where the MP
/// server is), and per target for the LMCache targets among them (`lmcache`, the first ones).
///
/// Without `detail` (judging only), what no rule reads is left out: the breakdowns, the lookups
/// by `model_name` and the per-target figures are empty, distributions cover the window only.
pub fn lmcache(
    views: &[View],
    lmcache: usize,
    features: &Features,
    detail: bool,
) -> LmcacheFigures {
    let mp: Vec<&View> = views
        .iter()
        .filter(|v| {
            v.t.series()
                .iter()
                .any(|s| s.family.starts_with("lmcache_mp"))
        })
        .collect();
    let targets = &views[..lmcache.min(views.len())];
    // Judging reads only the routes' facts of the targets.
    let by_target: Vec<TargetFigures> = if detail {
        targets.iter().map(|v| target_figures(v)).collect()
    } else {
        Vec::new()
    };
    let http = match detail {
        true => by_target
            .iter()
            .map(|t| &t.http)
            .find(|h| !h.routes.is_empty())
            .cloned(),
        false => targets
            .iter()
            .map(|v| http_facts::of(v.t))
            .find(|h| !h.routes.is_empty()),
    }
    .unwrap_or_else(http_facts::unread);
    LmcacheFigures {
        summed_over: mp.iter().map(|v| v.t.name.clone()).collect(),
        window_seconds: mp
            .first()
            .map_or_else(|| Fig::unknown("no target"), |v| v.window_seconds()),
        lookup: lookup(views, detail),
        l1: l1(views),
        l2: l2(views, features, detail),
        l0_l1: L0L1 {
            store_throughput_gbs: distribution(
                &Sel::all(views, metric!("lmcache_mp.l0_l1_throughput", "store")),
                "L0→L1 store throughput",
                detail,
            ),
            load_throughput_gbs: distribution(
                &Sel::all(views, metric!("lmcache_mp.l0_l1_throughput", "load")),
                "L1→L0 load throughput",
                detail,
            ),
        },
        eventbus: eventbus(views),
        breakdowns: if detail {
            super::breakdowns::breakdowns(views)
        } else {
            Default::default()
        },
        restarts: mp.iter().map(|v| v.restarts.len()).sum(),
        http,
        by_target,
    }
}
