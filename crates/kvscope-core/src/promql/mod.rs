//! PromQL for kvscope's figures and rules: the same metrics (every name the catalog knows them
//! by), thresholds and window as the Rust analysis, written as expressions a Prometheus-
//! compatible store evaluates itself. `docs/promql.md` says how each expression matches the
//! store's definition and where it cannot.
//!
//! Every expression is per target: it keeps the `job` and `instance` labels (`sum by (job,
//! instance)`), so a recording is one series per target and an alert names the target. Only
//! syntax that Prometheus 2.x and 3.x read alike is written: classic metric names (a dotted
//! OTel name is written as Prometheus's translation, dots as underscores), no UTF-8 quoting,
//! no experimental functions.

pub mod figures;

use crate::catalog::{MetricKind, MetricRef};

/// What every expression is written for: the window and the selection.
#[derive(Debug, Clone, PartialEq)]
pub struct Ctx {
    /// The window of windowed figures, in seconds.
    pub window: f64,
    /// Label matchers every selector carries (`namespace="llm"`), without braces; empty for
    /// none.
    pub matchers: String,
}

/// The labels every expression keeps: one series per target.
pub const BY: &str = "job, instance";

impl Ctx {
    pub fn new(window: f64) -> Ctx {
        Ctx {
            window,
            matchers: String::new(),
        }
    }

    /// The window as PromQL writes a duration (`60s`, `1500ms`).
    pub fn range(&self) -> String {
        duration(self.window)
    }

    /// `name{matchers}`.
    pub fn selector(&self, name: &str) -> String {
        self.selector_with(name, "")
    }

    /// `name{matchers, extra}`: the selection and one matcher more.
    pub fn selector_with(&self, name: &str, extra: &str) -> String {
        let all: Vec<&str> = [self.matchers.as_str(), extra]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect();
        if all.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{}}}", all.join(", "))
        }
    }
}

/// A duration as PromQL writes it: whole seconds as `Ns`, else milliseconds.
pub fn duration(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A name Prometheus's classic syntax reads.
fn classic(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Every name a metric can have in a Prometheus store, in the catalog's order: each name the
/// catalog lists (a dotted OTel name as Prometheus's translation, dots as underscores), a
/// counter's with `_total`, as every exporter of these stacks writes counters (Python's
/// prometheus_client, OTel's Prometheus exporter and OTLP translation).
pub fn names(m: MetricRef) -> Vec<String> {
    let def = m.metric_def();
    let mut out: Vec<String> = Vec::new();
    for n in def.names {
        let n = n.replace('.', "_");
        let n = n.strip_suffix("_total").unwrap_or(&n).to_string();
        if !classic(&n) {
            continue;
        }
        let f = match def.kind {
            MetricKind::Counter => format!("{n}_total"),
            _ => n,
        };
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// `f` of each of the metric's names, joined by `or`: the first name a target exports wins,
/// series by series (`or` matches label sets without the metric name), so a target that
/// exports two names of one metric is not counted twice.
pub fn any(m: MetricRef, f: impl Fn(&str) -> String) -> String {
    let parts: Vec<String> = names(m).iter().map(|n| f(n)).collect();
    match parts.len() {
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("({})", parts.join(" or ")),
    }
}

/// A gauge or a counter's value now, summed per target.
pub fn now(ctx: &Ctx, m: MetricRef) -> String {
    format!("sum by ({BY}) ({})", any(m, |n| ctx.selector(n)))
}

/// A counter's increase over the window, per series, as kvscope's store computes it when the
/// target has a scrape at or before the window's start: the difference of the series' values
/// at the window's ends where no reset lies between them; its value now where the series was
/// created within the window (counted from zero). Across a reset, Prometheus's `increase()`,
/// which extrapolates (`docs/promql.md`). Nothing for a target younger than the window.
pub fn delta_series(ctx: &Ctx, name: &str) -> String {
    let (s, w) = (ctx.selector(name), ctx.range());
    let up = ctx.selector("up");
    format!(
        "(((({s} - {s} offset {w}) >= 0) unless (resets({s}[{w}]) > 0)) or (increase({s}[{w}]) and {s} offset {w} and {s}) or (({s} unless {s} offset {w}) and on ({BY}) ({up} offset {w} == 1)))"
    )
}

/// A counter's increase over the window, summed per target.
pub fn delta(ctx: &Ctx, m: MetricRef) -> String {
    format!("sum by ({BY}) ({})", any(m, |n| delta_series(ctx, n)))
}

/// The seconds the window covers for a target: from the newest sample at or before the
/// window's start to the newest, by the metric's own sample times (which a target may stamp
/// itself), else by its scrapes' (`up`) when the one at the window's start succeeded.
pub fn span(ctx: &Ctx, m: MetricRef) -> String {
    let w = ctx.range();
    let gap = |s: &str| format!("(timestamp({s}) - timestamp({s} offset {w}))");
    let up = ctx.selector("up");
    format!(
        "(max by ({BY}) ({}) or max by ({BY}) ({} and ({up} offset {w} == 1)))",
        any(m, |n| gap(&ctx.selector(n))),
        gap(&up)
    )
}

/// A counter's increase per second over the window, per target: its increase divided by the
/// seconds the window covers (nothing when it covers none).
pub fn rate(ctx: &Ctx, m: MetricRef) -> String {
    format!("({} / ({} > 0))", delta(ctx, m), span(ctx, m))
}

/// `part / whole`, nothing where the whole is 0 (0/0 is unknown, as in kvscope).
pub fn ratio(part: &str, whole: &str) -> String {
    format!("({part} / ({whole} > 0))")
}

/// A gauge's mean per target (a fraction several workers report).
pub fn mean(ctx: &Ctx, m: MetricRef) -> String {
    format!("avg by ({BY}) ({})", any(m, |n| ctx.selector(n)))
}

/// A gauge's lowest value over the window, summed per target.
pub fn lowest(ctx: &Ctx, m: MetricRef) -> String {
    let w = ctx.range();
    format!(
        "sum by ({BY}) ({})",
        any(m, |n| format!("min_over_time({}[{w}])", ctx.selector(n)))
    )
}

/// A histogram's `q` quantile over the window, per target: Prometheus's interpolation within
/// the bucket, as kvscope's.
pub fn quantile(ctx: &Ctx, q: f64, m: MetricRef) -> String {
    format!(
        "histogram_quantile({q}, sum by ({BY}, le) ({}))",
        any(m, |n| delta_series(ctx, &format!("{n}_bucket")))
    )
}

/// Any of these counters moved in the window: a series per target where one did.
pub fn moved(ctx: &Ctx, ms: &[MetricRef]) -> String {
    let parts: Vec<String> = ms
        .iter()
        .map(|m| format!("({} > 0)", delta(ctx, *m)))
        .collect();
    parts.join(" or ")
}

/// Targets that export `present` but not `absent`.
pub fn absent_from(ctx: &Ctx, present: MetricRef, absent: MetricRef) -> String {
    format!(
        "group by ({BY}) ({}) unless on ({BY}) group by ({BY}) ({})",
        any(present, |n| ctx.selector(n)),
        any(absent, |n| ctx.selector(n))
    )
}

/// `eventbus_dropping` → `KvscopeEventbusDropping`.
pub fn alert_name(code: &str) -> String {
    let mut out = String::from("Kvscope");
    for part in code.split('_').filter(|p| !p.is_empty()) {
        let mut c = part.chars();
        if let Some(first) = c.next() {
            out.extend(first.to_uppercase());
            out.push_str(c.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests;
