//! Findings: a table of rules over one view of the analysis ([`Facts`]). Every rule gives a
//! verdict each time it is evaluated — `firing`, `clear`, or `not_evaluable` with the inputs
//! it lacks named — so a rule whose input is unknown says so instead of staying silent. A
//! verdict carries its evidence as readable lines and as data, the rule's explanation and the
//! next action. `docs/findings.md` is generated from the table ([`document`]) and a test keeps
//! the two in step.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::Fig;
use super::engine::EngineFigures;
use super::figures::LmcacheFigures;
use super::matrix::{FamilyRow, Unrecognised};
use super::mode::Mode;

mod capacity;
mod data;
mod embedded;
mod engine;
mod eventbus;
mod history;
mod lookup;
mod memory;
mod reach;
mod server;
mod thresholds;
mod transfers;
pub mod verdict;

pub use history::{VERDICT_CHANGES, Verdicts};
pub use thresholds::{L1_EVICTION_RATIO, L1_WATERMARK, Range, THRESHOLDS, Threshold, Thresholds};

crate::named! {
    /// How much a finding matters, least first.
    #[derive(PartialOrd, Ord)]
    pub enum Severity {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
}

crate::named! {
    /// A rule's verdict.
    pub enum State {
        Firing = "firing",
        /// The condition holds, but not yet for the rule's `for` (its hold-down).
        Pending = "pending",
        Clear = "clear",
        NotEvaluable = "not_evaluable",
    }
}

/// One rule's verdict, as the report and the TUI show it. `findings` are the firing ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub state: State,
    /// The rule's title, or the firing verdict's own (borrowed when fixed: judging every
    /// capture builds one per rule).
    pub title: Cow<'static, str>,
    /// For `not_evaluable`: what the rule needs and does not have (and why).
    pub missing_inputs: Vec<String>,
    /// The window its rates cover; `null` for rules that read totals or state.
    pub window_seconds: Option<f64>,
    /// How long the condition must hold before the rule fires (its `for`; `pending` until then).
    pub for_seconds: f64,
    pub evidence: Vec<String>,
    /// The evidence as data: the values the verdict rests on.
    pub evidence_data: Map<String, Value>,
    pub explanation: &'static str,
    pub next_action: &'static str,
}

/// What the rules read: the analysis made so far.
pub struct Facts<'a> {
    pub mode: &'a Mode,
    pub families: &'a [FamilyRow],
    pub unrecognised: &'a [Unrecognised],
    pub lm: &'a LmcacheFigures,
    pub en: &'a EngineFigures,
    pub emb: &'a super::embedded::EmbeddedFigures,
    pub quality: &'a super::DataQuality,
    /// LMCache targets given.
    pub lmcache_given: usize,
    /// LMCache and engine targets with at least one scrape.
    pub lmcache_targets: usize,
    pub engine_targets: usize,
    /// Every engine target that answered serves one observation over and over (its sample
    /// timestamps never move: a recorded snapshot, as the demo pairs with a live recording).
    pub engine_frozen: bool,
    pub thresholds: &'a Thresholds,
    /// The lookup-hash log's capacity curve, when one was read.
    pub capacity: Option<&'a super::capacity::Capacity>,
    /// Exposition lines skipped while parsing.
    pub lines_skipped: u64,
    /// Whether any LMCache target exports lookup token counters (present, whatever their values).
    pub lookup_tokens_exported: bool,
    /// Every target's name, how reaching it went (`None`: not known, e.g. a test's store) and
    /// how many scrapes of it are kept.
    pub targets: Vec<(&'a str, Option<&'a crate::vocab::Health>, usize)>,
    pub clock: Option<super::Clock>,
    pub window: f64,
    /// LMCache's spans in the span export given beside a target (`None`: no export given).
    pub lmcache_spans: Option<u64>,
    /// The LMCache server log's lines that findings read (`None`: no log given).
    pub server_log: Option<LogFacts>,
    /// Each rule's state changes judged before this moment: a rule's hold-down reads when its
    /// condition began (`None`: nothing judged over time, as for one snapshot).
    pub history: Option<&'a Verdicts>,
}

/// What a check concluded.
enum Verdict {
    Firing {
        title: Cow<'static, str>,
        evidence: Vec<String>,
        data: Map<String, Value>,
    },
    Clear {
        evidence: Vec<String>,
        data: Map<String, Value>,
    },
    Missing(Vec<String>),
}

/// Lines of the LMCache server log that rules read, counted over the window when the lines'
/// read times allow (a file read at once counts whole).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogFacts {
    pub l1_alloc_failed: u64,
    pub eventbus_queue_full: u64,
    /// `in the window` or `in the log read`.
    pub over: &'static str,
}

/// A metrics verdict with what the server log says of the same thing: lines of `what` fire
/// the rule (or add to its evidence when it fires already); none add a line to a clear one,
/// and judge where the metrics could not.
fn corroborate(v: Verdict, log: Option<(u64, &'static str, &'static str)>, title: &str) -> Verdict {
    let Some((n, what, over)) = log else {
        return v;
    };
    let line = format!("server log: {n} \"{what}\" lines {over}");
    match v {
        Verdict::Firing {
            title,
            mut evidence,
            mut data,
        } => {
            evidence.push(line);
            data.insert("log_lines".into(), json!(n));
            Verdict::Firing {
                title,
                evidence,
                data,
            }
        }
        _ if n > 0 => Verdict::Firing {
            title: format!("{title}: {n} \"{what}\" lines in the server log {over}").into(),
            evidence: vec![line],
            data: data(&[("log_lines", json!(n)), ("over", json!(over))]),
        },
        Verdict::Clear {
            mut evidence,
            mut data,
        } => {
            evidence.push(line);
            data.insert("log_lines".into(), json!(n));
            Verdict::Clear { evidence, data }
        }
        Verdict::Missing(_) => clear(
            vec![line],
            &[("log_lines", json!(n)), ("over", json!(over))],
        ),
    }
}

/// One rule: what it is, once, as data; `check` decides.
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    /// What the rule detects (the title while it is not firing).
    pub title: &'static str,
    /// Where it applies, in words (for the document).
    pub applies: &'static str,
    /// The inputs it reads, in words (for the document).
    pub needs: &'static str,
    /// Whether its verdict rests on rates over the window.
    pub windowed: bool,
    /// Its `for`, in seconds: how long the condition must hold before it fires; `pending`
    /// until then. `[findings.for]` in the config overrides it.
    pub hold: f64,
    pub explanation: &'static str,
    pub next_action: &'static str,
    /// The rule as a Prometheus alert, or why it is kvscope's only.
    pub prom: Prom,
    check: fn(&Facts<'_>) -> Verdict,
}

/// A rule as Prometheus evaluates it (`kvscope rules`).
#[derive(Clone, Copy)]
pub enum Prom {
    /// Its condition in PromQL, from the same metrics, thresholds and window: a series per
    /// target while the condition holds.
    Alert(fn(&crate::promql::Ctx, &Thresholds) -> String),
    /// It reads what Prometheus does not hold; why, for `docs/findings.md`.
    Only(&'static str),
}

const ONLY_ROUTES: &str =
    "it reads the LMCache server's HTTP routes (or files), which Prometheus does not scrape";
const ONLY_TEXT: &str = "it judges the exposition text as written (lines, names, values), which Prometheus has parsed away";
const ONLY_MATRIX: &str =
    "it reads the family matrix: which families a deployment of this architecture should export";
const ONLY_JOIN: &str = "it joins an LMCache server with its engine, two targets Prometheus keeps apart; kvscope's fleet pairs them by host";
const ONLY_STALE: &str = "Prometheus keeps a target's health itself; a target that stops answering is KvscopeTargetDown, and one whose LMCache series vanish is KvscopeSeriesVanished";
const ONLY_SCRAPE: &str = "it times kvscope's own scrapes against its poll interval; Prometheus fails a scrape past its scrape_timeout (KvscopeTargetDown)";
const ONLY_HASHES: &str = "it reads LMCache's lookup-hash log (the chunk hashes of every lookup), which Prometheus does not hold";
const ONLY_BUILD: &str = "it knows which LMCache builds register these gauges on a disabled bus";

/// Every rule, in the order verdicts of one severity are listed.
pub const RULES: &[Rule] = &[
    reach::TARGET_DOWN,
    reach::TARGET_STALE,
    reach::SCRAPE_TOO_SLOW,
    data::BAD_DATA,
    eventbus::EVENTBUS_DROPPING,
    server::PERIODIC_THREADS_UNHEALTHY,
    server::STALE_CONNECTOR,
    lookup::EXTERNAL_PREFIX_NO_HITS,
    data::REQUIRED_FAMILY_MISSING,
    memory::L1_AT_WATERMARK,
    lookup::LOW_LOOKUP_HIT_RATE,
    eventbus::EVENTBUS_GAUGES_UNVERIFIED,
    server::LMCACHE_UNHEALTHY,
    eventbus::EVENTBUS_THREAD_MISSING,
    eventbus::EVENTBUS_SUBSCRIBER_EXCEPTIONS,
    eventbus::EVENTBUS_UNOBSERVABLE,
    memory::L1_EVICTING,
    capacity::CAPACITY_BOUND,
    memory::PREFETCH_QUEUE_SATURATED,
    lookup::CACHE_SALT_EMPTY,
    lookup::CACHE_SALT_CARDINALITY_HIGH,
    lookup::LOOKUP_COUNTERS_MISSING,
    engine::ENGINE_KV_CACHE_FULL,
    engine::CONNECTOR_WITHOUT_LMCACHE_METRICS,
    engine::ENGINE_QUEUE_PRESSURE,
    engine::ENGINE_OLD_METRIC_NAMES,
    embedded::LOOKUP_HITS_WITHOUT_LOADED_TOKENS,
    embedded::EMBEDDED_UNHEALTHY,
    embedded::REMOTE_BACKEND_ERRORS,
    embedded::EMBEDDED_ZERO_HITS,
    embedded::EMBEDDED_SLOW_RETRIEVALS,
    embedded::P2P_TRANSFER_SLOW,
    reach::PARSE_ERRORS,
    transfers::L2_PREFETCH_FAILURES,
    transfers::L2_STORE_BACKLOG,
    lookup::LOOKUP_ZERO_HITS_AFTER_RESTART,
    memory::L1_MEMORY_NO_PLATEAU,
    memory::L1_FAILURES,
    transfers::L2_LOAD_BACKLOG,
    transfers::L2_THROUGHPUT_LOW,
    transfers::L0_L1_THROUGHPUT_LOW,
    data::SAMPLED_HISTOGRAMS_EMPTY,
    server::TRACE_RECORDING_WITHOUT_FILE,
    server::TRACING_WITHOUT_ENDPOINT,
    server::TRACING_WITHOUT_SPANS,
    engine::SGLANG_HICACHE_NOT_LMCACHE,
    data::UNRECOGNISED_NAMES,
];

/// Evaluates every rule: all verdicts in table order, and the firing ones most severe first.
pub fn evaluate(facts: &Facts<'_>) -> Vec<Finding> {
    let stale = rates_gone_stale(facts);
    RULES
        .iter()
        .map(|r| held(verdict(r, facts, stale.as_deref()), facts))
        .collect()
}

/// A firing verdict of a rule with a `for` stays `pending` until its condition has held that
/// long: since the pending state the history last noted, judged on the clock of this moment.
/// Without a clock (a snapshot with no time or interval) nothing can be held over time, and
/// the rule judges what it sees.
fn held(mut f: Finding, facts: &Facts<'_>) -> Finding {
    let Some(clock) = facts.clock else {
        return f;
    };
    if f.state != State::Firing || f.for_seconds <= 0.0 {
        return f;
    }
    let last = facts
        .history
        .and_then(|h| h.get(f.code))
        .and_then(|c| c.last().copied());
    match last {
        Some((_, State::Firing)) => return f,
        Some((t, State::Pending)) if clock.now - t >= f.for_seconds => return f,
        _ => {}
    }
    f.state = State::Pending;
    f
}

/// The firing verdicts among `rules`, most severe first.
pub fn firing(rules: &[Finding]) -> Vec<Finding> {
    let mut firing: Vec<Finding> = rules
        .iter()
        .filter(|f| f.state == State::Firing)
        .cloned()
        .collect();
    // Stable: within a severity, the order of RULES.
    firing.sort_by_key(|f| std::cmp::Reverse(f.severity));
    firing
}

/// Rules on rates cannot judge while a target that answered before is down: its rates over
/// the window would be as old as its last answer.
fn rates_gone_stale(c: &Facts<'_>) -> Option<String> {
    let down: Vec<String> = c
        .targets
        .iter()
        .filter_map(|(name, h, _)| {
            let h = (*h)?;
            h.down()?;
            let last = h.last_ok?;
            let since = h.down_since.unwrap_or(last);
            Some(format!(
                "{name} down since {} (its rates would be as of its last answer, {})",
                crate::timefmt::clock_time(since),
                crate::timefmt::clock_time(last)
            ))
        })
        .collect();
    (!down.is_empty()).then(|| format!("target down: {}", down.join("; ")))
}

/// A rule's verdict; `stale` says why rules on rates cannot judge now, if they cannot.
fn verdict(rule: &Rule, facts: &Facts<'_>, stale: Option<&str>) -> Finding {
    let judged = match stale.filter(|_| rule.windowed) {
        Some(why) => Verdict::Missing(vec![why.to_string()]),
        None => (rule.check)(facts),
    };
    let (state, title, missing, evidence, data) = match judged {
        Verdict::Firing {
            title,
            evidence,
            data,
        } => (State::Firing, title, Vec::new(), evidence, data),
        Verdict::Clear { evidence, data } => {
            (State::Clear, rule.title.into(), Vec::new(), evidence, data)
        }
        Verdict::Missing(missing) => (
            State::NotEvaluable,
            rule.title.into(),
            missing,
            Vec::new(),
            Map::new(),
        ),
    };
    Finding {
        code: rule.code,
        severity: rule.severity,
        state,
        title,
        missing_inputs: missing,
        window_seconds: rule.windowed.then_some(facts.window),
        for_seconds: facts.thresholds.hold(rule),
        evidence,
        evidence_data: data,
        explanation: rule.explanation,
        next_action: rule.next_action,
    }
}

/// `docs/findings.md`: every rule of the table.
pub fn document() -> String {
    let mut out = String::from(
        "# kvscope findings\n\nGenerated from the rule table (`crates/kvscope-core/src/analysis/findings/`); a test keeps this file in step.\n\nEvery rule gives a verdict whenever the analysis runs: `firing`, `clear`, or `not_evaluable`\nwith the inputs it lacks named. `kvscope report` lists every verdict in `rules[]` and the firing\nones in `findings[]`.\n",
    );
    out.push_str("\n## Thresholds\n\nSet in the config file's `[findings]` table (read by `watch`, `demo`, `replay`, and by\n`report --config FILE`), e.g. `low_hit_rate = 0.3`:\n\n| key | what | default |\n|---|---|---|\n");
    for t in THRESHOLDS {
        let (key, what, note, default) = (t.key, t.meaning, t.range.note(), t.default);
        out.push_str(&format!("| `{key}` | {what}{note} | {default} |\n"));
    }
    out.push_str("\n## Hold-down (`for`)\n\nA rule whose condition holds is `pending` until it has held for the rule's `for`, then\n`firing`, as a Prometheus alert waits. `pending` shows in `rules[]` and the verdict history\nand never counts for `--fail-on`. Holding needs a clock: a snapshot with no time or interval\n(a `.prom` file alone) is judged as seen; a report of URLs is timed, so give it `--samples`\nspanning the `for` when a gate should count such a rule. The config file's `[findings.for]` table sets them\nper rule, e.g. `eventbus_dropping = \"30s\"` (`0s` fires at once; at most a day).\n");
    out.push_str("\n## In Prometheus\n\n`kvscope rules` writes every rule whose inputs are metrics as a Prometheus alert named\n`Kvscope` and its code in CamelCase, with the rule's severity, `for` and this section as its\nrunbook (`docs/promql.md` says how each expression matches kvscope's arithmetic). The rules\nmarked \"kvscope only\" read what Prometheus does not hold.\n\n<a id=\"meta-alerts\"></a>\nTwo meta-alerts watch the series themselves: `KvscopeSeriesVanished` (a target that answers its\nscrapes but no longer exports LMCache's series it exported within the hour) and\n`KvscopeNoLmcacheSeries` (no target in the selection exports LMCache at all), each after 5m.\n");
    for r in RULES {
        let prom = match r.prom {
            Prom::Alert(_) => format!("alert `{}`", crate::promql::alert_name(r.code)),
            Prom::Only(why) => format!("kvscope only: {why}"),
        };
        out.push_str(&format!(
            "\n<a id=\"{}\"></a>\n\n## `{}` ({})\n\n{}.\n\n- Applies to: {}.\n- Reads: {}{}.\n- For: {}.\n- Prometheus: {prom}.\n- Why it matters: {}\n- Next action: {}\n",
            r.code,
            r.code,
            r.severity,
            r.title,
            r.applies,
            r.needs,
            if r.windowed {
                " (rates over the window)"
            } else {
                ""
            },
            if r.hold > 0.0 {
                crate::timefmt::format_duration(r.hold)
            } else {
                "0s (fires at once)".into()
            },
            r.explanation,
            r.next_action
        ));
    }
    out
}

fn data(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn clear(evidence: Vec<String>, pairs: &[(&str, Value)]) -> Verdict {
    Verdict::Clear {
        evidence,
        data: data(pairs),
    }
}

/// A figure's value, or what is missing: `name: why`.
fn need(name: &str, fig: &Fig) -> Result<f64, String> {
    fig.0.clone().map_err(|why| format!("{name}: {why}"))
}

/// The values of several figures, or every one that is missing.
fn needs<const N: usize>(figs: [(&str, &Fig); N]) -> Result<[f64; N], Verdict> {
    let mut out = [0.0; N];
    let mut missing = Vec::new();
    for (i, (name, fig)) in figs.iter().enumerate() {
        match need(name, fig) {
            Ok(v) => out[i] = v,
            Err(m) => missing.push(m),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(Verdict::Missing(missing))
    }
}

/// Rules that read the LMCache routes need an LMCache target, answered or not (the routes
/// are read apart from /metrics).
fn lmcache_given(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.lmcache_given == 0 {
        return Err(Verdict::Missing(vec![
            "an LMCache MP server (give --lmcache)".into(),
        ]));
    }
    Ok(())
}

/// Rules about what scrapes carry need one: before any target answered they would judge
/// "clear" from nothing.
fn scraped(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.lmcache_targets + c.engine_targets == 0 {
        return Err(Verdict::Missing(vec!["a scrape of some target".into()]));
    }
    Ok(())
}

/// Rules about the LMCache MP server's metrics need one that has answered.
fn lmcache_present(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.lmcache_targets == 0 {
        return Err(Verdict::Missing(vec![
            "an LMCache MP server's /metrics (give --lmcache; or it has not answered yet)".into(),
        ]));
    }
    Ok(())
}

/// The window figure when there is one, else the one since start, and which it was.
fn windowed_or_total(p: &super::aggregate::Pair) -> Result<(f64, &'static str), String> {
    match (&p.window.0, &p.since_start.0) {
        (Ok(w), _) => Ok((*w, "in the window")),
        (Err(_), Ok(t)) => Ok((*t, "since start (no window yet)")),
        (Err(e), Err(_)) => Err(e.clone()),
    }
}

/// A failure counter that fires when it moved: over the window when there is one, else since
/// start.
fn failures(pairs_of: &[(&str, &super::aggregate::Pair)], title: &str) -> Verdict {
    let mut total = 0.0;
    let mut over = "in the window";
    let mut lines = Vec::new();
    let mut values = Map::new();
    for (name, p) in pairs_of {
        match windowed_or_total(p) {
            Ok((n, o)) => {
                total += n;
                over = o;
                lines.push(format!("{name}: {n:.0} {o}"));
                values.insert(name.to_string(), json!(n));
            }
            Err(e) => return Verdict::Missing(vec![format!("{name}: {e}")]),
        }
    }
    values.insert("over".into(), json!(over));
    if total > 0.0 {
        Verdict::Firing {
            title: format!("{title}: {total:.0} {over}").into(),
            evidence: lines,
            data: values,
        }
    } else {
        Verdict::Clear {
            evidence: lines,
            data: values,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The table names each rule once: a family file's rule listed twice, or two rules sharing
    /// a code, would judge one thing twice.
    #[test]
    fn every_rule_is_listed_once() {
        let mut codes: Vec<&str> = super::RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), before);
    }
}
