//! The fleet report (`kvscope-fleet-report/1`): one entry per row of the table — its targets
//! with Prometheus's health, the row the table shows, every figure the table computes by its
//! path in the single-box report, the rules firing or pending — and how the refresh went.

use serde::{Deserialize, Serialize};

use super::table::Table;
use crate::analysis::findings::Severity;
use crate::timefmt::{format_duration, serialize_time};
use crate::vocab::{Role, TargetState};
use kvscope_core::promql::figures::FIGURES;

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

pub use super::{Counts, Row};

#[derive(Debug, Serialize)]
struct TargetRow<'a> {
    role: Role,
    job: &'a str,
    instance: &'a str,
    /// Prometheus's `up` for it now (`up`, `down`; `null` when it holds none).
    prometheus_health: Option<&'static str>,
    #[serde(serialize_with = "serialize_time")]
    last_scrape: Option<f64>,
    last_error: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct RuleRow {
    code: &'static str,
    severity: Severity,
    state: crate::analysis::findings::State,
}

#[derive(Debug, Serialize)]
struct InstanceReport<'a> {
    instance: &'a str,
    job: &'a str,
    targets: Vec<TargetRow<'a>>,
    row: &'a Row,
    /// Every figure the table computes, by its path in the single-box report
    /// (`kvscope-report/1`), as of the table's time (`null`: no value).
    figures: std::collections::BTreeMap<&'static str, Option<f64>>,
    /// The rules firing or pending on it.
    rules: Vec<RuleRow>,
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
    /// The label that grouped targets into rows (`null`: an LMCache target with the engines
    /// on its host).
    group_by: Option<&'a str>,
    /// Where the figures came from: `recorded` (kvscope's recording rules and ALERTS),
    /// `expressions` (sent by kvscope), `raw` (samples, analysed per instance).
    figures_from: super::table::Source,
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

fn report<'a>(table: &'a Table, source: &'a str, refresh: &'a Refresh) -> FleetReport<'a> {
    let instances: Vec<InstanceReport> = table
        .rows
        .iter()
        .map(|r| InstanceReport {
            instance: &r.name,
            job: r.job(),
            targets: r
                .targets
                .iter()
                .map(|t| TargetRow {
                    role: t.role,
                    job: &t.key.job,
                    instance: &t.key.instance,
                    prometheus_health: t.up.map(|u| if u { "up" } else { "down" }),
                    last_scrape: t.last_scrape,
                    last_error: t.last_error.as_deref(),
                })
                .collect(),
            row: &r.row,
            figures: FIGURES
                .iter()
                .zip(&r.figures)
                .map(|(f, v)| (f.path, *v))
                .collect(),
            rules: r
                .rules
                .iter()
                .map(|(code, severity, state)| RuleRow {
                    code,
                    severity: *severity,
                    state: *state,
                })
                .collect(),
        })
        .collect();
    FleetReport {
        schema: SCHEMA,
        generator: concat!("kvscope ", env!("CARGO_PKG_VERSION")),
        source,
        time: table.time,
        window: Window {
            requested: format_duration(table.window),
            requested_seconds: table.window,
        },
        group_by: table.group_by.as_deref(),
        figures_from: table.source,
        refresh,
        summary: Summary::of(instances.iter().map(|i| i.row)),
        instances,
    }
}

/// The JSON report, pretty-printed.
pub fn json(table: &Table, source: &str, refresh: &Refresh) -> String {
    let mut out = crate::units::pretty_json(&report(table, source, refresh))
        .expect("a fleet report always serialises");
    out.push('\n');
    out
}

/// The report as a table for people (the JSON has every figure).
pub fn text(table: &Table, source: &str, refresh: &Refresh) -> String {
    use crate::units::{count, cut, percent};
    use std::fmt::Write;
    let r = report(table, source, refresh);
    let clean = crate::sanitize::clean;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kvscope fleet report — {} — window {} — {} instances ({} up, {} stale, {} down) — as of {}",
        clean(source),
        r.window.requested,
        r.summary.instances,
        r.summary.up,
        r.summary.stale,
        r.summary.down,
        table.time.map_or("—".into(), crate::timefmt::clock_time)
    );
    let _ = writeln!(
        out,
        "refresh: {} queries in {:.2} s, figures {}{}",
        refresh.queries,
        refresh.seconds,
        match table.source {
            super::table::Source::Recorded => "from kvscope's recording rules and ALERTS",
            super::table::Source::Expressions =>
                "sent as expressions (kvscope rules not loaded: rules with a `for` show as pending)",
            super::table::Source::Raw => "from raw samples",
        },
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
    for (i, t) in r.instances.iter().zip(&table.rows) {
        let row = i.row;
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
            firing_text(&t.rules)
        );
        if let Some(e) = &row.last_error {
            let _ = writeln!(out, "{:<28} last error: {}", "", clean(e));
        }
    }
    out
}

/// The firing rules, most severe first, as `code (severity)`; pending ones after them.
fn firing_text(rules: &[(&'static str, Severity, crate::analysis::findings::State)]) -> String {
    use crate::analysis::findings::State;
    let firing: Vec<String> = rules
        .iter()
        .filter(|r| r.2 == State::Firing)
        .map(|(code, severity, _)| format!("{code} ({severity})"))
        .collect();
    let pending = rules.iter().filter(|r| r.2 == State::Pending).count();
    let mut out = if firing.is_empty() {
        "none".to_string()
    } else {
        firing.join(", ")
    };
    if pending > 0 {
        out.push_str(&format!(" · {pending} pending"));
    }
    out
}
