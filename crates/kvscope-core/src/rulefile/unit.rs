//! `kvscope rules --tests`: promtool unit tests made from real captures. Each capture's
//! scrapes become input series at their recorded times (whole seconds from the first); at
//! every scrape the same scrapes go through kvscope's own model and analysis, and what it
//! found becomes the expectation: each recorded figure equals kvscope's value (absent where
//! kvscope's is unknown), and each alert fires exactly where kvscope's rule fires and is
//! silent where the rule is clear or still pending (rules kvscope cannot judge at a moment
//! are not asserted there, nor rules on rates while the window is younger than a whole
//! window: kvscope counts from the oldest scrape, PromQL has no value yet — docs/promql.md).

use std::collections::BTreeMap;

use super::{Spec, q};
use crate::analysis::findings::{RULES, State};
use crate::model::ModelSettings;
use crate::vocab::{Event, Role, TargetRef};

/// A real capture: one target's scrapes at their times.
pub struct Capture {
    /// What it is, for the test's name.
    pub name: String,
    pub job: String,
    pub instance: String,
    pub role: Role,
    /// Seconds from the first attempt (whole seconds: promtool's input is a grid), and the
    /// body (`None`: the attempt failed, `up` is 0).
    pub scrapes: Vec<(u64, Option<Vec<u8>>)>,
}

/// A real LMCache 0.5.6 run whose EventBus drops events (`fixtures/lmcache-0.5.6-eventbus-drops/`).
pub static EVENTBUS_DROPS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/lmcache-0.5.6-eventbus-drops/eventbus-drops.kvpacket"
));

/// A real LMCache 0.5.6 cold start: refused scrapes, then its first answers
/// (`fixtures/lmcache-0.5.6-cold-start/`).
pub static COLD_START: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../fixtures/lmcache-0.5.6-cold-start/cold-start.kvpacket"
));

impl Capture {
    /// Its attempts as the events a collector of `target` would have sent.
    pub fn events(&self, target: TargetRef) -> impl Iterator<Item = Event> + '_ {
        self.scrapes.iter().map(move |(t, body)| match body {
            Some(body) => Event::Scrape {
                target,
                time: Some(*t as f64),
                body: body.clone(),
                format: None,
                origin: self.name.clone(),
            },
            None => Event::ScrapeFailed {
                target,
                time: *t as f64,
                error: "refused".into(),
            },
        })
    }
}

/// The captures built into the binary: the demo's real LMCache 0.5.6 run, a real run whose
/// EventBus drops events, and a real cold start.
pub fn builtin() -> Result<Vec<Capture>, String> {
    let packet = |bytes: &[u8], what: &str| {
        crate::packet::from_tar(bytes)
            .map(|p| p.events().0)
            .map_err(|e| format!("the built-in {what} capture: {e}"))
    };
    Ok(vec![
        capture(
            "the real LMCache 0.5.6 CPU run (kvscope's demo recording)",
            "lmcache-run1:8080",
            crate::demo::packet().events().0,
        ),
        capture(
            "a real LMCache 0.5.6 run whose EventBus drops events",
            "lmcache-eventbus-drops:8080",
            packet(EVENTBUS_DROPS, "EventBus")?,
        ),
        capture(
            "a real LMCache 0.5.6 cold start",
            "lmcache-cold-start:8080",
            packet(COLD_START, "cold-start")?,
        ),
    ])
}

/// A recording's LMCache scrapes and failed attempts on the one-second grid from its first.
fn capture(name: &str, instance: &str, events: Vec<Event>) -> Capture {
    let mut scrapes: Vec<(u64, Option<Vec<u8>>)> = Vec::new();
    let mut first = None;
    for e in events {
        let (t, body) = match e {
            Event::Scrape {
                target,
                time: Some(t),
                body,
                ..
            } if target.role == Role::Lmcache => (t, Some(body)),
            Event::ScrapeFailed { target, time, .. } if target.role == Role::Lmcache => {
                (time, None)
            }
            _ => continue,
        };
        let t0 = *first.get_or_insert(t);
        let at = (t - t0).round() as u64;
        // Two attempts in one second of the grid: the later stands (as in Prometheus).
        if scrapes.last().is_some_and(|(last, _)| *last == at) {
            scrapes.pop();
        }
        scrapes.push((at, body));
    }
    Capture {
        name: name.into(),
        job: "lmcache".into(),
        instance: instance.into(),
        role: Role::Lmcache,
        scrapes,
    }
}

/// One series' values on the capture's one-second grid: promtool's notation, `_` where the
/// capture has no sample (runs folded as `_xN`).
fn values(points: &BTreeMap<u64, f64>, last: u64) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut gap = 0u64;
    let flush = |gap: &mut u64, out: &mut Vec<String>| {
        match *gap {
            0 => {}
            1 => out.push("_".into()),
            // `_xN` is N missing samples (unlike `axN`, which is N + 1 values).
            n => out.push(format!("_x{n}")),
        }
        *gap = 0;
    };
    for t in 0..=last {
        match points.get(&t) {
            Some(v) => {
                flush(&mut gap, &mut out);
                out.push(format!("{v}"));
            }
            None => gap += 1,
        }
    }
    flush(&mut gap, &mut out);
    out.join(" ")
}

/// The capture's samples as promtool input series: name and labels as exposed, with the
/// `job` and `instance` Prometheus would attach; `up` at 1 for every scrape.
fn input_series(c: &Capture) -> Result<BTreeMap<String, BTreeMap<u64, f64>>, String> {
    let mut series: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for (t, body) in &c.scrapes {
        let up = format!("up{{instance={}, job={}}}", q(&c.instance), q(&c.job));
        let Some(body) = body else {
            series.entry(up).or_default().insert(*t, 0.0);
            continue;
        };
        let scrape = crate::expo::parse(body).map_err(|e| format!("{}: {e}", c.name))?;
        for s in scrape.data_samples() {
            if !s.value.is_finite() {
                continue;
            }
            let mut labels = vec![
                format!("instance={}", q(&c.instance)),
                format!("job={}", q(&c.job)),
            ];
            for l in scrape.labels(s) {
                if l.name != "job" && l.name != "instance" {
                    labels.push(format!("{}={}", l.name, q(&l.value())));
                }
            }
            let key = format!("{}{{{}}}", s.name, labels.join(", "));
            series.entry(key).or_default().insert(*t, s.value);
        }
        series.entry(up).or_default().insert(*t, 1.0);
    }
    Ok(series)
}

/// The values of [`crate::promql::figures::FIGURES`] in an analysis, each read at its path in
/// the single-box report (`None` where unknown): the one way a figure of the fleet table is
/// taken from kvscope's own arithmetic.
pub fn figure_values(a: &crate::analysis::Analysis) -> Result<Vec<Option<f64>>, String> {
    let json = serde_json::json!({"lmcache": a.lmcache, "engine": a.engine});
    crate::promql::figures::FIGURES
        .iter()
        .map(|f| at_path(&json, f.path))
        .collect()
}

/// A JSON path's number in `v` (`lmcache.lookup.hit_rate.window`): `None` when unknown
/// (null); an error when the path names nothing (a figure table that lost its report).
pub fn at_path(v: &serde_json::Value, path: &str) -> Result<Option<f64>, String> {
    let found = path
        .split('.')
        .try_fold(v, |v, k| v.get(k))
        .ok_or_else(|| format!("the report has no {path}"))?;
    Ok(found.as_f64())
}

/// The test file: `rule_file` is the name the rules were written to.
pub fn write(spec: &Spec, captures: &[Capture], rule_file: &str) -> Result<String, String> {
    let mut out = format!(
        "# Generated by {} (`kvscope rules --tests`): promtool unit tests from real captures.\n# Each expectation is what kvscope's own analysis of the same scrapes says at that moment.\n# Run: promtool test rules THIS_FILE (beside {rule_file}).\nrule_files:\n  - {rule_file}\nevaluation_interval: 1s\ntests:\n",
        spec.generator
    );
    for c in captures {
        out.push_str(&capture_test(spec, c)?);
    }
    Ok(out)
}

fn capture_test(spec: &Spec, c: &Capture) -> Result<String, String> {
    let last = c.scrapes.last().map_or(0, |s| s.0);
    let mut out = format!(
        "  - name: {}\n    interval: 1s\n    input_series:\n",
        q(&c.name)
    );
    for (key, points) in input_series(c)? {
        out.push_str(&format!(
            "      - series: {}\n        values: {}\n",
            q(&key),
            q(&values(&points, last))
        ));
    }
    let (exprs, alerts) = expectations(spec, c)?;
    out.push_str("    promql_expr_test:\n");
    out.push_str(&exprs);
    out.push_str("    alert_rule_test:\n");
    out.push_str(&alerts);
    Ok(out)
}

/// What kvscope says at each scrape of the capture, as promtool's expectations: recorded
/// figures, then alerts.
fn expectations(spec: &Spec, c: &Capture) -> Result<(String, String), String> {
    let window = spec.ctx.window;
    let mut model = ModelSettings::hour_at(1.0)
        .thresholds(spec.thresholds.clone())
        .build(&[], &[]);
    model.interval = None;
    let name = format!("{}/{}", c.job, c.instance);
    let target: TargetRef = model.add_target(c.role, name, 4096, crate::vocab::InputKind::Files);
    let (mut exprs, mut alerts) = (String::new(), String::new());
    let at = Moment {
        spec,
        c,
        alerts: spec.alerts(),
        // Windows count successful scrapes: the first is where a target's history begins.
        first_ok: c
            .scrapes
            .iter()
            .find(|s| s.1.is_some())
            .map_or(f64::INFINITY, |s| s.0 as f64),
    };
    for e in c.events(target) {
        let t = e.time().unwrap_or_default() as u64;
        let _ = model.apply_judged(e, window);
        if let Some(a) = model.judge_pending_analysed(window) {
            exprs.push_str(&at.figures(t, &a)?);
            alerts.push_str(&at.alerts(t, &a));
        }
    }
    Ok((exprs, alerts))
}

/// What every moment of one capture's expectations shares.
struct Moment<'a> {
    spec: &'a Spec,
    c: &'a Capture,
    alerts: Vec<super::Alert>,
    first_ok: f64,
}

impl Moment<'_> {
    /// Each recorded figure at `t`: kvscope's value, or absent where it is unknown.
    fn figures(&self, t: u64, a: &crate::analysis::Analysis) -> Result<String, String> {
        let (spec, c) = (self.spec, self.c);
        let labels = format!("instance={}, job={}", q(&c.instance), q(&c.job));
        let values = figure_values(a)?;
        // A window with no scrape at or before its start: kvscope counts from the oldest
        // scrape, PromQL has no value there (docs/promql.md).
        let young = (t as f64) - spec.ctx.window < self.first_ok;
        let mut out = String::new();
        for (f, v) in crate::promql::figures::FIGURES.iter().zip(values) {
            let record = f.record(&spec.ctx);
            let value = match v {
                _ if young && f.over == crate::promql::figures::Over::Window => None,
                v => v,
            };
            let sample = match value {
                Some(v) => format!(
                    "\n          - labels: {}\n            value: {v:?}",
                    q(&format!("{record}{{{labels}}}"))
                ),
                None => " []".into(),
            };
            out.push_str(&format!(
                "      - expr: {record}\n        eval_time: {t}s\n        exp_samples:{sample}\n"
            ));
        }
        Ok(out)
    }

    /// Each alert at `t`: firing where kvscope's rule fires, silent where it is clear or
    /// pending; not asserted where kvscope cannot judge.
    fn alerts(&self, t: u64, a: &crate::analysis::Analysis) -> String {
        let c = self.c;
        let mut out = String::new();
        for (rule, finding) in RULES.iter().zip(&a.rules) {
            let name = super::alert_name(rule.code);
            let Some(alert) = self.alerts.iter().find(|x| x.name == name) else {
                continue;
            };
            // A young window: PromQL's windowed conditions have no value yet (above), and
            // begin their `for` only once the window is whole.
            let whole = self.first_ok + self.spec.ctx.window + finding.for_seconds;
            if rule.windowed && (t as f64) < whole {
                continue;
            }
            let fired = match finding.state {
                State::Firing => true,
                State::Clear | State::Pending => false,
                State::NotEvaluable => continue,
            };
            out.push_str(&format!(
                "      - eval_time: {t}s\n        alertname: {name}\n        exp_alerts:"
            ));
            if !fired {
                out.push_str(" []\n");
                continue;
            }
            let summary = alert
                .summary
                .replace("{{ $labels.job }}", &c.job)
                .replace("{{ $labels.instance }}", &c.instance);
            out.push_str(&format!(
                "\n          - exp_labels:\n              severity: {}\n              job: {}\n              instance: {}\n            exp_annotations:\n              summary: {}\n              description: {}\n              runbook_url: {}\n",
                alert.severity,
                q(&c.job),
                q(&c.instance),
                q(&summary),
                q(&alert.description),
                q(&alert.runbook)
            ));
        }
        out
    }
}
