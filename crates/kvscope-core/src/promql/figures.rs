//! The figures a fleet table shows, each as PromQL per target and as the path of the same
//! figure in the single-box report (`kvscope-report/1`), where kvscope's own arithmetic puts
//! it. A test evaluates both on real captures.

use super::{Ctx, delta, now, rate, ratio};
use crate::metric;

/// Over what a figure is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The window (`ctx.window`).
    Window,
    /// Since the process started: a counter's value now.
    SinceStart,
    /// A gauge's value now.
    Now,
}

impl Over {
    /// The recording rule name's last part.
    fn suffix(self, ctx: &Ctx) -> String {
        match self {
            Over::Window => ctx.range(),
            Over::SinceStart => "since_start".into(),
            Over::Now => "now".into(),
        }
    }
}

/// One figure of the table.
pub struct Figure {
    /// The middle of its recording rule's name, `kvscope:<name>:<window>`.
    pub name: &'static str,
    pub over: Over,
    /// Where kvscope's own value of it sits in the single-box report's JSON.
    pub path: &'static str,
    /// What it is, for the rule file's comments and the docs.
    pub what: &'static str,
    expr: fn(&Ctx) -> String,
}

impl Figure {
    /// The recording rule's name: `kvscope:lookup_hit_rate:60s`.
    pub fn record(&self, ctx: &Ctx) -> String {
        format!("kvscope:{}:{}", self.name, self.over.suffix(ctx))
    }

    pub fn expr(&self, ctx: &Ctx) -> String {
        (self.expr)(ctx)
    }
}

const REQUESTED: crate::catalog::MetricRef = metric!("lmcache_mp.lookup", "requested_tokens");
const HIT: crate::catalog::MetricRef = metric!("lmcache_mp.lookup", "hit_tokens");

/// Every figure, in the table's order.
pub const FIGURES: &[Figure] = &[
    Figure {
        name: "lookup_hit_rate",
        over: Over::Window,
        path: "lmcache.lookup.hit_rate.window",
        what: "share of the tokens looked up in the window that hit (L1 or L2)",
        expr: |c| ratio(&delta(c, HIT), &delta(c, REQUESTED)),
    },
    Figure {
        name: "lookup_hit_rate",
        over: Over::SinceStart,
        path: "lmcache.lookup.hit_rate.since_start",
        what: "share of the tokens looked up since the server started that hit",
        expr: |c| ratio(&now(c, HIT), &now(c, REQUESTED)),
    },
    Figure {
        name: "lookup_requested_tokens",
        over: Over::Window,
        path: "lmcache.lookup.requested_tokens.window",
        what: "tokens looked up in the window",
        expr: |c| delta(c, REQUESTED),
    },
    Figure {
        name: "lookup_requested_tokens",
        over: Over::SinceStart,
        path: "lmcache.lookup.requested_tokens.since_start",
        what: "tokens looked up since the server started",
        expr: |c| now(c, REQUESTED),
    },
    Figure {
        name: "lookup_hit_tokens",
        over: Over::SinceStart,
        path: "lmcache.lookup.hit_tokens.since_start",
        what: "tokens looked up since the server started that hit",
        expr: |c| now(c, HIT),
    },
    Figure {
        name: "lookup_hit_tokens",
        over: Over::Window,
        path: "lmcache.lookup.hit_tokens.window",
        what: "tokens looked up in the window that hit",
        expr: |c| delta(c, HIT),
    },
    Figure {
        name: "l1_evicted_per_second",
        over: Over::Window,
        path: "lmcache.l1.evicted_per_s",
        what: "L1 chunks evicted per second over the window",
        expr: |c| rate(c, metric!("lmcache_mp.l1_counters", "evicted")),
    },
    Figure {
        name: "eventbus_dropped_per_second",
        over: Over::Window,
        path: "lmcache.eventbus.dropped_per_s",
        what: "EventBus events dropped per second over the window",
        expr: |c| rate(c, metric!("lmcache_mp.eventbus", "dropped")),
    },
    Figure {
        name: "l2_store_backlog",
        over: Over::Window,
        path: "lmcache.l2.store_backlog.window",
        what: "L2 store requests submitted minus completed in the window",
        expr: |c| {
            format!(
                "({} - {})",
                delta(c, metric!("lmcache_mp.l2_counters", "store_submitted")),
                delta(c, metric!("lmcache_mp.l2_counters", "store_completed"))
            )
        },
    },
    Figure {
        name: "l1_usage_ratio",
        over: Over::Now,
        path: "lmcache.l1.usage_ratio",
        what: "L1 memory in use over its size (pools added up: used bytes over used bytes / ratio)",
        expr: l1_usage,
    },
    Figure {
        name: "engine_waiting_requests",
        over: Over::Now,
        path: "engine.queues.waiting",
        what: "requests waiting to be scheduled by the engine now",
        expr: |c| {
            format!(
                "({} or {})",
                now(c, metric!("vllm.queues", "waiting")),
                now(c, metric!("sglang.queues", "queued"))
            )
        },
    },
];

/// L1's fill per target, as kvscope computes it: one pool's own gauge, exactly as exported;
/// for several pools, their used bytes over their sizes, a pool's size its used bytes over
/// its ratio, rounded.
pub fn l1_usage(c: &Ctx) -> String {
    let by = super::BY;
    let used = metric!("lmcache_mp.l1_memory", "used_bytes");
    let ratio_m = metric!("lmcache_mp.l1_memory", "usage_ratio");
    let ratios = super::any(ratio_m, |n| c.selector(n));
    let size = format!(
        "sum by ({by}) (round({} / ({ratios} > 0)))",
        super::any(used, |n| c.selector(n)),
    );
    format!(
        "((sum by ({by}) ({ratios}) and on ({by}) (count by ({by}) ({ratios}) == 1)) or {})",
        ratio(&now(c, used), &size)
    )
}
