//! `kvscope rules`: the rule pack as a Prometheus rule file. Recording rules for the figures
//! a fleet table shows (`kvscope:<figure>:<window>`, one series per target) and alerting
//! rules for every rule whose inputs are metrics (`Kvscope` and the rule's code in CamelCase),
//! each with the rule's severity, its `for` and its documentation. The same definitions the
//! Rust analysis judges by ([`crate::analysis::findings::RULES`], [`crate::promql`]); the
//! output is deterministic, so a GitOps diff shows only what changed.
//!
//! Every string is written as a JSON string, which YAML reads as a double-quoted scalar.

pub mod unit;

use crate::analysis::findings::{Prom, RULES, Rule, Thresholds};
use crate::promql::{self, Ctx, figures::FIGURES};
use crate::timefmt::format_duration;

/// The file's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A Prometheus rule file (`rule_files:`).
    Prometheus,
    /// The same groups in a prometheus-operator `PrometheusRule` resource.
    Operator,
}

/// What a rule file is made from.
#[derive(Debug, Clone)]
pub struct Spec {
    pub ctx: Ctx,
    pub thresholds: Thresholds,
    /// Where `runbook_url` points: `<base>#<code>` (`docs/findings.md` without one).
    pub runbook_base: String,
    /// Who wrote it (`kvscope 0.1.0`), for the header.
    pub generator: String,
}

/// The default runbook: the rule's section of the findings document.
pub const RUNBOOK: &str = "docs/findings.md";

/// How long a target's LMCache series may be gone while it answers before
/// `KvscopeSeriesVanished` fires, and how long nothing in the selection exports LMCache
/// before `KvscopeNoLmcacheSeries` does.
const VANISHED_FOR: f64 = 300.0;

pub use crate::promql::alert_name;

fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// One alerting rule as written.
pub struct Alert {
    pub name: String,
    pub expr: String,
    pub hold: f64,
    pub severity: &'static str,
    pub summary: String,
    pub description: String,
    pub runbook: String,
}

impl Spec {
    /// The alerting rules, in the rule table's order, then the meta-alerts.
    pub fn alerts(&self) -> Vec<Alert> {
        let mut out: Vec<Alert> = RULES
            .iter()
            .filter_map(|r| match r.prom {
                Prom::Alert(f) => Some(self.alert(r, f(&self.ctx, &self.thresholds))),
                Prom::Only(_) => None,
            })
            .collect();
        out.extend(self.meta_alerts());
        out
    }

    fn alert(&self, r: &Rule, expr: String) -> Alert {
        Alert {
            name: alert_name(r.code),
            expr,
            hold: self.thresholds.hold(r),
            severity: r.severity.as_str(),
            summary: format!(
                "{} ({{{{ $labels.job }}}}/{{{{ $labels.instance }}}})",
                r.title
            ),
            description: format!("{} Next: {}", r.explanation, r.next_action),
            runbook: format!("{}#{}", self.runbook_base, r.code),
        }
    }

    /// Alerts on the series themselves: a target whose LMCache series vanished while it
    /// answers, and a selection with no LMCache server at all.
    fn meta_alerts(&self) -> Vec<Alert> {
        let marker = crate::metric!("lmcache_mp.l1_memory", "used_bytes");
        let by = promql::BY;
        let sel = promql::any(marker, |n| self.ctx.selector(n));
        let last = promql::any(marker, |n| {
            format!("last_over_time({}[1h])", self.ctx.selector(n))
        });
        vec![
            Alert {
                name: "KvscopeSeriesVanished".into(),
                expr: format!(
                    "(group by ({by}) ({last}) unless on ({by}) group by ({by}) ({sel})) and on ({by}) ({} == 1)",
                    self.ctx.selector("up")
                ),
                hold: VANISHED_FOR,
                severity: "warning",
                summary: "LMCache series vanished from a target that answers ({{ $labels.job }}/{{ $labels.instance }})".into(),
                description: "The target exported LMCache's series within the hour and answers its scrapes, but exports none now: every kvscope alert on it is silent for want of data. A restart with metrics disabled, or a relabelling that drops them, does this. Next: read the target's /metrics and the scrape config's metric_relabel_configs.".into(),
                runbook: format!("{}#meta-alerts", self.runbook_base),
            },
            Alert {
                name: "KvscopeNoLmcacheSeries".into(),
                expr: format!("absent({})", self.ctx.selector(&promql::names(marker)[0])),
                hold: VANISHED_FOR,
                severity: "warning",
                summary: "No LMCache server exports metrics in this selection".into(),
                description: "None of the targets these rules select exports LMCache's L1 memory gauge, which every LMCache MP server exports from its start: the rules have nothing to judge. Next: check the scrape config and the rules' --match selection.".into(),
                runbook: format!("{}#meta-alerts", self.runbook_base),
            },
        ]
    }

    /// The recording rules: (name, expression, what).
    pub fn records(&self) -> Vec<(String, String, &'static str)> {
        FIGURES
            .iter()
            .map(|f| (f.record(&self.ctx), f.expr(&self.ctx), f.what))
            .collect()
    }

    /// The rule file.
    pub fn write(&self, format: Format) -> String {
        let mut out = self.header();
        let indent = match format {
            Format::Prometheus => {
                out.push_str("groups:\n");
                ""
            }
            Format::Operator => {
                out.push_str("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: kvscope\n  labels:\n    app.kubernetes.io/name: kvscope\nspec:\n  groups:\n");
                "  "
            }
        };
        out.push_str(&format!(
            "{indent}  - name: kvscope-recording\n{indent}    rules:\n"
        ));
        for (name, expr, what) in self.records() {
            out.push_str(&format!(
                "{indent}      # {what}\n{indent}      - record: {name}\n{indent}        expr: {}\n",
                q(&expr)
            ));
        }
        out.push_str(&format!(
            "{indent}  - name: kvscope-alerts\n{indent}    rules:\n"
        ));
        for a in self.alerts() {
            let i = format!("{indent}        ");
            out.push_str(&format!(
                "{indent}      - alert: {}\n{i}expr: {}\n{i}for: {}\n{i}labels:\n{i}  severity: {}\n{i}annotations:\n{i}  summary: {}\n{i}  description: {}\n{i}  runbook_url: {}\n",
                a.name,
                q(&a.expr),
                promql::duration(a.hold),
                a.severity,
                q(&a.summary),
                q(&a.description),
                q(&a.runbook)
            ));
        }
        out
    }

    fn header(&self) -> String {
        let mut h = format!(
            "# Generated by {} (`kvscope rules`): do not edit; regenerate it.\n# LMCache and engine rules for Prometheus, from the rule pack kvscope judges by\n# (docs/findings.md; how each expression matches kvscope's arithmetic: docs/promql.md).\n# Window: {}. Selection: {}.\n",
            self.generator,
            format_duration(self.ctx.window),
            if self.ctx.matchers.is_empty() {
                "every target (give --match to narrow KvscopeTargetDown and the meta-alerts)"
                    .to_string()
            } else {
                format!("{{{}}}", self.ctx.matchers)
            }
        );
        h.push_str("# Rules kvscope alone judges (they read what Prometheus does not hold):\n");
        for r in RULES {
            if let Prom::Only(why) = r.prom {
                h.push_str(&format!("#   {}: {why}\n", r.code));
            }
        }
        h
    }
}

#[cfg(test)]
mod tests;
