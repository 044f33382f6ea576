//! The fleet report (`kvscope-fleet-report/1`): one entry per instance holding the same
//! objects as the single-box report (`architecture` is its `mode`), the row the fleet table
//! shows (picked from those objects, not computed again), and how the refresh went.

use serde::{Deserialize, Serialize};

use super::{Fleet, Instance};
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::verdict::CacheState;
use crate::analysis::{Analysis, Fig};
use crate::timefmt::{format_duration, serialize_time};
use crate::vocab::{Role, TargetState};

pub const SCHEMA: &str = "kvscope-fleet-report/1";

/// How a refresh went.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Refresh {
    /// HTTP requests made to the API.
    pub queries: usize,
    /// Wall time the refresh took.
    pub seconds: f64,
    /// Bytes of answers read.
    pub bytes: usize,
    /// The API's warnings (partial results and the like), cleaned.
    pub warnings: Vec<String>,
    /// Why the newest refresh failed, when it did (the table is then the last good one).
    pub error: Option<String>,
}

/// What the fleet table shows of one instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    /// The cache verdict's state (the single-box verdict of this instance's analysis).
    #[serde(default = "unknown_state")]
    pub verdict: CacheState,
    pub state: TargetState,
    pub architecture: String,
    /// LMCache's lookup hit rate over the window (an MP server's, else an engine's embedded
    /// LMCache's).
    pub hit_rate: Fig,
    pub l1_usage_ratio: Fig,
    pub l1_evicted_per_s: Fig,
    /// How much the L2 store backlog grew over the window.
    pub l2_store_backlog: Fig,
    pub eventbus_dropped_per_s: Fig,
    pub engine_waiting: Fig,
    pub findings: Counts,
}

/// A row read from a report written before rows carried the verdict.
fn unknown_state() -> CacheState {
    CacheState::Unknown
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub critical: usize,
    pub warning: usize,
    pub info: usize,
}

impl Counts {
    fn of(findings: &[Finding]) -> Counts {
        let n = |s| findings.iter().filter(|f| f.severity == s).count();
        Counts {
            critical: n(Severity::Critical),
            warning: n(Severity::Warning),
            info: n(Severity::Info),
        }
    }

    fn add(&mut self, o: Counts) {
        self.critical += o.critical;
        self.warning += o.warning;
        self.info += o.info;
    }
}

impl Row {
    pub fn of(i: &Instance, a: &Analysis) -> Row {
        let hit_rate = match (
            &a.lmcache.lookup.hit_rate.window,
            a.lmcache_embedded.present,
        ) {
            (Fig(Err(_)), true) => a.lmcache_embedded.lookup_hit_rate.window.clone(),
            (f, _) => f.clone(),
        };
        Row {
            verdict: a.verdict.state,
            state: i.state(),
            architecture: a.mode.architecture.to_string(),
            hit_rate,
            l1_usage_ratio: a.lmcache.l1.memory.usage_ratio.clone(),
            l1_evicted_per_s: a.lmcache.l1.evicted_per_s.clone(),
            l2_store_backlog: a.lmcache.l2.store_backlog.window.clone(),
            eventbus_dropped_per_s: a.lmcache.eventbus.dropped_per_s.clone(),
            engine_waiting: a.engine.queues.waiting.clone(),
            findings: Counts::of(&a.findings),
        }
    }
}

#[derive(Debug, Serialize)]
struct TargetRow<'a> {
    role: Role,
    job: &'a str,
    instance: &'a str,
    /// Prometheus's own health of its scrapes (`up`, `down`, `unknown`), when the API says.
    prometheus_health: Option<&'a str>,
    #[serde(serialize_with = "serialize_time")]
    last_scrape: Option<f64>,
    last_error: Option<&'a str>,
    scrapes_held: usize,
}

#[derive(Debug, Serialize)]
struct InstanceReport<'a> {
    instance: &'a str,
    job: &'a str,
    targets: Vec<TargetRow<'a>>,
    row: Row,
    architecture: &'a crate::analysis::mode::Mode,
    lmcache: &'a crate::analysis::figures::LmcacheFigures,
    lmcache_embedded: &'a crate::analysis::embedded::EmbeddedFigures,
    engine: &'a crate::analysis::engine::EngineFigures,
    findings: &'a [Finding],
    rules: &'a [Finding],
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub instances: usize,
    pub up: usize,
    pub stale: usize,
    pub down: usize,
    pub waiting: usize,
    pub findings: Counts,
}

impl Summary {
    /// The fleet's totals over its rows: the report's `summary` and the view's header.
    pub fn of<'r>(rows: impl IntoIterator<Item = &'r Row>) -> Summary {
        let mut s = Summary {
            instances: 0,
            up: 0,
            stale: 0,
            down: 0,
            waiting: 0,
            findings: Counts::default(),
        };
        for row in rows {
            s.instances += 1;
            *match row.state {
                TargetState::Up => &mut s.up,
                TargetState::Stale => &mut s.stale,
                TargetState::Down => &mut s.down,
                TargetState::Waiting => &mut s.waiting,
            } += 1;
            s.findings.add(row.findings);
        }
        s
    }
}

#[derive(Debug, Serialize)]
struct Window {
    requested: String,
    requested_seconds: f64,
}

#[derive(Debug, Serialize)]
struct FleetReport<'a> {
    schema: &'static str,
    generator: &'static str,
    /// The API (or `/federate` endpoint) read, credentials removed.
    source: &'a str,
    #[serde(serialize_with = "serialize_time")]
    time: Option<f64>,
    window: Window,
    group_by: &'a str,
    refresh: &'a Refresh,
    summary: Summary,
    instances: Vec<InstanceReport<'a>>,
}

/// A fleet report read back (a packet's `fleet.json`): what the fleet table needs of it, typed,
/// so a field missing or of the wrong kind is an error naming it.
#[derive(Debug, Deserialize)]
pub struct Read {
    pub schema: String,
    #[serde(deserialize_with = "crate::timefmt::deserialize_time")]
    pub time: Option<f64>,
    pub refresh: Refresh,
    pub instances: Vec<ReadInstance>,
}

/// One instance of a fleet report read back.
#[derive(Debug, Deserialize)]
pub struct ReadInstance {
    pub instance: String,
    pub job: String,
    pub targets: Vec<ReadTarget>,
    pub row: Row,
}

/// One target of an instance read back.
#[derive(Debug, Deserialize)]
pub struct ReadTarget {
    pub role: Role,
    pub job: String,
    pub instance: String,
}

/// Reads a fleet report (`kvscope-fleet-report/1`); an error says what is wrong with it.
pub fn read(bytes: &[u8]) -> Result<Read, String> {
    let r: Read = serde_json::from_slice(bytes).map_err(|e| format!("not a fleet report: {e}"))?;
    if r.schema != SCHEMA {
        return Err(format!(
            "not a fleet report (schema {})",
            crate::sanitize::clean(&r.schema)
        ));
    }
    Ok(r)
}

/// The fleet's analyses, made once for the output and the exit code.
pub struct Analysed<'a> {
    pub fleet: &'a Fleet,
    pub rows: Vec<(&'a Instance, Analysis)>,
}

impl<'a> Analysed<'a> {
    pub fn of(fleet: &'a Fleet) -> Analysed<'a> {
        Analysed {
            fleet,
            rows: fleet.analyse(),
        }
    }

    /// Whether a rule at or above `bar` fires on any instance.
    pub fn fires(&self, bar: Severity) -> bool {
        self.rows
            .iter()
            .any(|(_, a)| a.findings.iter().any(|f| f.severity >= bar))
    }

    fn report(&'a self, source: &'a str, refresh: &'a Refresh) -> FleetReport<'a> {
        let instances: Vec<InstanceReport> = self
            .rows
            .iter()
            .map(|(i, a)| {
                let row = Row::of(i, a);
                InstanceReport {
                    instance: &i.name,
                    job: i.job(),
                    targets: i
                        .members
                        .iter()
                        .map(|m| TargetRow {
                            role: m.target.role,
                            job: &m.key.job,
                            instance: &m.key.instance,
                            prometheus_health: m.scrape.as_ref().map(|s| s.health.as_str()),
                            last_scrape: m.scrape.as_ref().and_then(|s| s.last_scrape),
                            last_error: m
                                .scrape
                                .as_ref()
                                .map(|s| s.last_error.as_str())
                                .filter(|e| !e.is_empty()),
                            scrapes_held: i.model.target(m.target).scrapes().len(),
                        })
                        .collect(),
                    row,
                    architecture: &a.mode,
                    lmcache: &a.lmcache,
                    lmcache_embedded: &a.lmcache_embedded,
                    engine: &a.engine,
                    findings: &a.findings,
                    rules: &a.rules,
                }
            })
            .collect();
        FleetReport {
            schema: SCHEMA,
            generator: concat!("kvscope ", env!("CARGO_PKG_VERSION")),
            source,
            time: self.fleet.time,
            window: Window {
                requested: format_duration(self.fleet.window),
                requested_seconds: self.fleet.window,
            },
            group_by: &self.fleet.group_by,
            refresh,
            summary: Summary::of(instances.iter().map(|i| &i.row)),
            instances,
        }
    }

    /// The JSON report, pretty-printed.
    pub fn json(&self, source: &str, refresh: &Refresh) -> String {
        let mut out = serde_json::to_string_pretty(&self.report(source, refresh))
            .expect("a fleet report always serialises");
        out.push('\n');
        out
    }

    /// The report as a table for people (the JSON has every figure).
    pub fn text(&self, source: &str, refresh: &Refresh) -> String {
        use crate::units::{count, cut, percent};
        use std::fmt::Write;
        let r = self.report(source, refresh);
        let clean = crate::sanitize::clean;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "kvscope fleet report — {} — window {} — {} instances ({} up, {} stale, {} down)",
            clean(source),
            r.window.requested,
            r.summary.instances,
            r.summary.up,
            r.summary.stale,
            r.summary.down
        );
        let _ = writeln!(
            out,
            "refresh: {} queries in {:.2} s{}",
            refresh.queries,
            refresh.seconds,
            refresh
                .error
                .as_ref()
                .map(|e| format!(" — failed: {}", clean(e)))
                .unwrap_or_default()
        );
        for w in &refresh.warnings {
            let _ = writeln!(out, "warning from the API: {}", clean(w));
        }
        let _ = writeln!(
            out,
            "\n{:<28} {:<11} {:<8} {:<22} {:>7} {:>7} {:>9} {:>8} {:>8} {:>6}  firing rules",
            "instance",
            "verdict",
            "state",
            "architecture",
            "hit",
            "L1",
            "evict/s",
            "backlog",
            "drop/s",
            "queue"
        );
        for i in &r.instances {
            let row = &i.row;
            let _ = writeln!(
                out,
                "{:<28} {:<11} {:<8} {:<22} {:>7} {:>7} {:>9} {:>8} {:>8} {:>6}  {}",
                cut(&clean(i.instance), 28),
                row.verdict.as_str(),
                row.state.as_str(),
                cut(&row.architecture, 22),
                percent(row.hit_rate.value()),
                percent(row.l1_usage_ratio.value()),
                count(row.l1_evicted_per_s.value()),
                count(row.l2_store_backlog.value()),
                count(row.eventbus_dropped_per_s.value()),
                count(row.engine_waiting.value()),
                firing_text(i.findings)
            );
        }
        out
    }
}

/// The firing rules, most severe first, as `code (severity)`.
fn firing_text(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "none".into();
    }
    findings
        .iter()
        .map(|f| format!("{} ({})", f.code, f.severity))
        .collect::<Vec<_>>()
        .join(", ")
}
