//! The queries a table refresh sends: a fixed number, whatever the fleet's size. Each answers
//! with at most a few series per target (a group, a figure, a rule's condition).

use kvscope_core::catalog::MetricRef;
use kvscope_core::promql::{self, Ctx, figures::FIGURES};
use kvscope_core::rulefile;

use crate::analysis::findings::{Prom, RULES, Thresholds};

/// How long a target stays in discovery after its last LMCache or engine series (by one gauge
/// each exports from its start): a box that died within it is still a row, down.
pub const DISCOVERY_LOOKBACK: &str = "1h";

/// The PromQL one expression batch may hold: with URL encoding a request stays near 10 KB.
const BATCH: usize = 6000;

/// The kinds of target discovery tells apart, by name prefix, with the gauge each exports from
/// its start (read over [`DISCOVERY_LOOKBACK`]): an LMCache MP server, then the engines.
pub const KINDS: [(&str, &str, Option<MetricRef>); 4] = [
    (
        "lmcache",
        "lmcache_mp_",
        Some(crate::metric!("lmcache_mp.l1_memory", "used_bytes")),
    ),
    (
        "vllm",
        "vllm:",
        Some(crate::metric!("vllm.queues", "waiting")),
    ),
    (
        "sglang",
        "sglang:",
        Some(crate::metric!("sglang.queues", "queued")),
    ),
    ("lmcache_embedded", "lmcache:", None),
];

/// Every query of a refresh, written once for the fleet's settings.
#[derive(Debug, Clone)]
pub struct Queries {
    pub ctx: Ctx,
    pub thresholds: Thresholds,
    /// The `--group-by` label, when given.
    pub group_by: Option<String>,
}

impl Queries {
    /// Targets with LMCache or engine series now, or with the kind's gauge within the
    /// lookback (a box that died a while ago), one series per target and kind, with the group
    /// label.
    pub fn discovery(&self) -> String {
        let by = match self.group_by.as_deref() {
            None | Some("job" | "instance") => "job, instance".to_string(),
            Some(g) => format!("job, instance, {g}"),
        };
        let mut parts: Vec<String> = Vec::new();
        for (kind, prefix, marker) in KINDS {
            let now = self
                .ctx
                .selector_with("", &format!("__name__=~\"{prefix}.+\""));
            let mut sources = vec![format!("group by ({by}) ({now})")];
            if let Some(m) = marker {
                let last = promql::any(m, |n| {
                    format!(
                        "last_over_time({}[{DISCOVERY_LOOKBACK}])",
                        self.ctx.selector(n)
                    )
                });
                sources.push(format!("group by ({by}) ({last})"));
            }
            for source in sources {
                parts.push(format!(
                    "label_replace({source}, \"kvscope_kind\", \"{kind}\", \"\", \"\")"
                ));
            }
        }
        format!("group by ({by}, kvscope_kind) ({})", parts.join(" or "))
    }

    /// Every target Prometheus scrapes in the selection, with its health.
    pub fn up(&self) -> String {
        self.ctx.selector("up")
    }

    /// The recording rules `kvscope rules` writes, for this window.
    pub fn recorded(&self) -> String {
        let names: Vec<String> = FIGURES.iter().map(|f| f.record(&self.ctx)).collect();
        format!("{{__name__=~\"{}\"}}", names.join("|"))
    }

    /// When Prometheus last evaluated the recording rules, per target (one group evaluates all
    /// at once: the first figure's time is every figure's).
    pub fn stamps(&self) -> String {
        // Gauges: every LMCache server and engine has one from its start.
        let parts: Vec<String> = FIGURES
            .iter()
            .filter(|f| f.over == kvscope_core::promql::figures::Over::Now)
            .map(|f| format!("timestamp({})", f.record(&self.ctx)))
            .collect();
        parts.join(" or ")
    }

    /// The figures as expressions, each labelled with its recording rule's name, in batches.
    pub fn figures(&self) -> Vec<String> {
        batches(FIGURES.iter().map(|f| {
            format!(
                "label_replace(({}), \"kvscope_figure\", \"{}\", \"\", \"\")",
                f.expr(&self.ctx),
                f.record(&self.ctx)
            )
        }))
    }

    /// The alerts Prometheus holds for kvscope's rules, pending or firing.
    pub fn alerts(&self) -> String {
        "ALERTS{alertname=~\"Kvscope.+\"}".into()
    }

    /// Each metric rule's condition as an expression, labelled with the rule's code, in
    /// batches: where a series answers, the condition holds now.
    pub fn conditions(&self) -> Vec<String> {
        batches(RULES.iter().filter_map(|r| match r.prom {
            Prom::Alert(f) => Some(format!(
                "label_replace(({}), \"kvscope_rule\", \"{}\", \"\", \"\")",
                f(&self.ctx, &self.thresholds),
                r.code
            )),
            Prom::Only(_) => None,
        }))
    }
}

/// Expressions joined by `or` into queries of at most [`BATCH`] characters (one longer alone).
fn batches(parts: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        match out.last_mut() {
            Some(last) if last.len() + p.len() + 4 <= BATCH => {
                last.push_str(" or ");
                last.push_str(&p);
            }
            _ => out.push(p),
        }
    }
    out
}

/// The rule code and severity of an alert `kvscope rules` writes, by its name.
pub fn rule_of_alert(name: &str) -> Option<(&'static str, crate::analysis::findings::Severity)> {
    use crate::analysis::findings::Severity;
    if let Some(r) = RULES.iter().find(|r| rulefile::alert_name(r.code) == name) {
        return Some((r.code, r.severity));
    }
    match name {
        "KvscopeSeriesVanished" => Some(("series_vanished", Severity::Warning)),
        "KvscopeNoLmcacheSeries" => Some(("no_lmcache_series", Severity::Warning)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_sends_a_fixed_number_of_short_queries() {
        let q = Queries {
            ctx: Ctx::new(60.0),
            thresholds: Thresholds::default(),
            group_by: None,
        };
        let all: Vec<String> = [q.discovery(), q.up(), q.recorded(), q.alerts()]
            .into_iter()
            .chain(q.figures())
            .chain(q.conditions())
            .collect();
        // With /api/v1/targets: the refresh's whole count, whatever the fleet's size.
        assert!(all.len() < 25, "{} queries", all.len() + 1);
        for query in &all {
            assert!(
                query.len() <= 8000,
                "{} characters: {}",
                query.len(),
                &query[..80]
            );
        }
        assert_eq!(
            rule_of_alert("KvscopeEventbusDropping").map(|r| r.0),
            Some("eventbus_dropping")
        );
    }
}
