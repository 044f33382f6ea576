//! The fleet table computed by Prometheus: every target it scrapes in the selection is part of
//! a row, each row's figures and rule states come from a fixed number of instant queries
//! (kvscope's recording rules and `ALERTS` when `kvscope rules` is loaded, else the same
//! expressions sent by kvscope), and the verdict is decided from them by the single-box
//! ladder ([`verdict::decide`]). No raw series is read: that path is kept for the one instance
//! drilled into.

mod group;
pub mod query;

use std::collections::HashMap as StdHashMap;

/// The table's maps, hashed with foldhash (fast, seeded per process).
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;

use kvscope_core::promql::figures::{FIGURES, Over};

use super::{Counts, Row};
use crate::analysis::Fig;
use crate::analysis::findings::{Severity, State, Thresholds};
use crate::analysis::verdict::{self, Glance};
use crate::sources::promapi::{PromHealth, Reading, ScrapeHealth, TargetKey};
use crate::vocab::{Role, TargetState};
pub use query::Queries;

/// A target as the table knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub key: TargetKey,
    pub role: Role,
    /// What discovery saw it export: `lmcache`, `vllm`, `sglang`, `lmcache_embedded`.
    pub kinds: Vec<&'static str>,
    /// The `--group-by` label's value.
    pub group: Option<String>,
    /// Prometheus's `up` now; `None` when it holds none (the target left its configuration).
    pub up: Option<bool>,
    /// Prometheus's last scrape error, when it offers `/api/v1/targets`.
    pub last_error: Option<String>,
    pub last_scrape: Option<f64>,
    /// When a refresh last saw it.
    pub seen: f64,
}

/// Where a table's figures and rule states came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// kvscope's recording rules, and `ALERTS` for the rules' states (with their `for`).
    #[default]
    Recorded,
    /// The same expressions, sent by kvscope: a condition that holds now fires at once when
    /// its rule has no `for`, and is pending otherwise (Prometheus holds no alert state).
    Expressions,
    /// Raw samples (a `/federate` endpoint), analysed per instance as one box.
    Raw,
}

/// One row: its targets, its figures and rule states, and what the table shows.
#[derive(Debug, Clone)]
pub struct TableRow {
    pub name: String,
    pub targets: Vec<Target>,
    /// Each of [`FIGURES`], in order: the row's value, `None` where Prometheus has none.
    pub figures: Vec<Option<f64>>,
    /// The rules firing or pending on its targets, most severe first.
    pub rules: Vec<(&'static str, Severity, State)>,
    pub row: Row,
    /// LMCache's hit rate between consecutive scrapes over the window, oldest first (the raw
    /// path's; the table computed by Prometheus has none).
    pub spark: Vec<Option<f64>>,
}

impl TableRow {
    /// The job of its first target (an LMCache server's before an engine's).
    pub fn job(&self) -> &str {
        self.targets.first().map_or("", |t| t.key.job.as_str())
    }
}

/// The table, and the targets it remembers between refreshes.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub rows: Vec<TableRow>,
    /// The evaluation time of the newest refresh.
    pub time: Option<f64>,
    pub window: f64,
    pub thresholds: Thresholds,
    pub group_by: Option<String>,
    pub source: Source,
    /// The most targets the table holds ([`MAX_TARGETS`], or `KVSCOPE_MAX_INSTANCES`).
    pub max_targets: usize,
    known: HashMap<TargetKey, Target>,
}

/// The most targets a table holds by default: 10,000 boxes of a server and an engine, about
/// 25 MB of rows.
pub const MAX_TARGETS: usize = 20_000;

/// What one refresh read.
#[derive(Debug, Default)]
pub struct Answers {
    pub time: f64,
    /// Discovery's groups: `job`, `instance`, `kvscope_kind`, the group label.
    pub discovered: Vec<Reading>,
    /// `up` of every target in the selection.
    pub up: Vec<Reading>,
    pub health: Option<StdHashMap<TargetKey, ScrapeHealth>>,
    /// Recorded series (named `kvscope:…`) or expressions' (labelled `kvscope_figure`).
    pub figures: Vec<Reading>,
    /// `ALERTS` (with `alertname`, `alertstate`) or conditions (labelled `kvscope_rule`).
    pub rules: Vec<Reading>,
    pub source: Source,
    /// The recorded figures' own times (`timestamp()` of each): when Prometheus evaluated the
    /// recording rules, which is the time their values are of.
    pub stamps: Vec<Reading>,
}

/// A reading's target, borrowed: for lookups, without copying its labels.
type Key<'a> = (&'a str, &'a str);

fn borrowed(r: &Reading) -> Key<'_> {
    (r.label("job"), r.label("instance"))
}

fn key_of(r: &Reading) -> TargetKey {
    TargetKey {
        job: r.label("job").to_string(),
        instance: r.label("instance").to_string(),
    }
}

impl Table {
    pub fn new(window: f64, thresholds: Thresholds, group_by: Option<String>) -> Table {
        Table {
            window,
            thresholds,
            group_by,
            max_targets: MAX_TARGETS,
            ..Table::default()
        }
    }

    /// Takes in one refresh: the targets (those discovered, those of their jobs that
    /// Prometheus scrapes, and those seen within the window), their health, and the rows.
    /// Returns what it has to say (targets past the cap left out).
    pub fn apply(&mut self, a: Answers) -> Vec<String> {
        self.time = Some(a.time);
        self.source = a.source;
        let said = self.learn_targets(&a);
        let figures = figures_by_target(&a.figures);
        let rules = rules_by_target(&a.rules, a.source, &self.thresholds);
        let mut stamps: HashMap<Key, f64> = HashMap::default();
        for r in a.stamps.iter().filter(|r| r.value.is_finite()) {
            let t = stamps.entry(borrowed(r)).or_insert(r.value);
            *t = t.max(r.value);
        }
        let groups = group::rows(self.known.values().cloned().collect(), &self.group_by);
        self.rows = groups
            .into_iter()
            .map(|(name, targets)| {
                let mut row = self.row(name, targets, &figures, &rules);
                // Recorded figures are of the time their rules were evaluated.
                if let Some(t) = row
                    .targets
                    .iter()
                    .filter_map(|t| stamps.get(&(t.key.job.as_str(), t.key.instance.as_str())))
                    .copied()
                    .reduce(f64::max)
                {
                    row.row.as_of = Some(t);
                }
                row
            })
            .collect();
        said
    }

    fn learn_targets(&mut self, a: &Answers) -> Vec<String> {
        let mut left_out = 0usize;
        for r in &a.discovered {
            let key = key_of(r);
            if self.known.len() >= self.max_targets && !self.known.contains_key(&key) {
                left_out += 1;
                continue;
            }
            let kind = match query::KINDS.iter().find(|k| k.0 == r.label("kvscope_kind")) {
                Some(k) => k.0,
                None => continue,
            };
            let group = self
                .group_by
                .as_ref()
                .map(|g| r.label(g).to_string())
                .filter(|g| !g.is_empty());
            let t = self.known.entry(key.clone()).or_insert_with(|| Target {
                key,
                role: Role::Engine,
                kinds: Vec::new(),
                group: None,
                up: None,
                last_error: None,
                last_scrape: None,
                seen: a.time,
            });
            if !t.kinds.contains(&kind) {
                t.kinds.push(kind);
            }
            if kind == "lmcache" {
                t.role = Role::Lmcache;
            }
            t.group = group.or(t.group.take());
            t.seen = a.time;
        }
        let up_of = self.learn_scraped(a);
        for t in self.known.values_mut() {
            t.up = up_of
                .get(&(t.key.job.as_str(), t.key.instance.as_str()))
                .copied();
            if t.up.is_some() {
                t.seen = a.time;
            }
            let h = a.health.as_ref().and_then(|h| h.get(&t.key));
            t.last_error = h
                .map(|h| crate::sanitize::clean(&h.last_error))
                .filter(|e| !e.is_empty() && t.up == Some(false));
            t.last_scrape = h.and_then(|h| h.last_scrape);
            if let Some(h) = h
                && h.health == PromHealth::Down
            {
                t.up = Some(false);
            }
        }
        // A target gone from Prometheus (no `up`) for a window has left the fleet.
        let window = self.window;
        self.known.retain(|_, t| a.time - t.seen <= window);
        if left_out == 0 {
            return Vec::new();
        }
        vec![format!(
            "discovery found {left_out} targets past the {} the table holds; they are left out (raise it with KVSCOPE_MAX_INSTANCES, or narrow the fleet with --match)",
            self.max_targets
        )]
    }

    /// Every target of a job that has LMCache or engine targets is one of the fleet's, the
    /// dead among them too: it takes the job's role. Returns `up` by target.
    fn learn_scraped<'a>(&mut self, a: &'a Answers) -> HashMap<Key<'a>, bool> {
        let mut up_of: HashMap<Key, bool> =
            HashMap::with_capacity_and_hasher(a.up.len(), Default::default());
        for r in &a.up {
            up_of.insert(borrowed(r), r.value == 1.0);
        }
        let mut jobs: HashMap<String, Role> = HashMap::default();
        for t in self.known.values() {
            if !jobs.contains_key(&t.key.job) {
                jobs.insert(t.key.job.clone(), t.role);
            }
        }
        for r in &a.up {
            let Some(role) = jobs.get(r.label("job")) else {
                continue;
            };
            let key = key_of(r);
            if !self.known.contains_key(&key) && self.known.len() < self.max_targets {
                let group = self
                    .group_by
                    .as_ref()
                    .map(|g| r.label(g).to_string())
                    .filter(|v| !v.is_empty());
                self.known.insert(
                    key.clone(),
                    Target {
                        key,
                        role: *role,
                        kinds: Vec::new(),
                        group,
                        up: None,
                        last_error: None,
                        last_scrape: None,
                        seen: a.time,
                    },
                );
            }
        }
        up_of
    }

    fn row(
        &self,
        name: String,
        targets: Vec<Target>,
        figures: &HashMap<Key, Vec<Option<f64>>>,
        rules: &HashMap<Key, Vec<(&'static str, Severity, State)>>,
    ) -> TableRow {
        let values = row_figures(&targets, figures);
        let mut fired: Vec<(&'static str, Severity, State)> = Vec::new();
        for t in &targets {
            let mut own = rules
                .get(&(t.key.job.as_str(), t.key.instance.as_str()))
                .cloned()
                .unwrap_or_default();
            if t.up == Some(false) {
                own.push(("target_down", Severity::Critical, State::Firing));
            }
            for r in own {
                match fired.iter_mut().find(|f| f.0 == r.0) {
                    Some(f) if r.2 == State::Firing => f.2 = State::Firing,
                    Some(_) => {}
                    None => fired.push(r),
                }
            }
        }
        fired.sort_by_key(|f| std::cmp::Reverse(f.1));
        let row = self.shown(&targets, &values, &fired);
        TableRow {
            name,
            targets,
            figures: values,
            rules: fired,
            row,
            spark: Vec::new(),
        }
    }

    /// What the table shows of a row: state, verdict, the columns' figures, the counts.
    fn shown(
        &self,
        targets: &[Target],
        values: &[Option<f64>],
        fired: &[(&'static str, Severity, State)],
    ) -> Row {
        let value = |record: &str, over: Over| {
            FIGURES
                .iter()
                .position(|f| f.over == over && f.name == record)
                .and_then(|i| values[i])
        };
        let fig = |record: &str, over: Over| match value(record, over) {
            Some(v) => Fig::known(v),
            None => Fig::unknown(ABSENT),
        };
        let lmcache: Vec<&Target> = targets.iter().filter(|t| t.role == Role::Lmcache).collect();
        let judged: Vec<&Target> = if lmcache.is_empty() {
            targets.iter().collect()
        } else {
            lmcache.clone()
        };
        let firing = |s: Severity| {
            fired
                .iter()
                .filter(|f| f.1 == s && f.2 == State::Firing)
                .count()
        };
        let glance = Glance {
            down: !judged.is_empty() && judged.iter().all(|t| t.up == Some(false)),
            answered: !lmcache.is_empty() && value("l1_usage_ratio", Over::Now).is_some(),
            critical: firing(Severity::Critical) > 0,
            requested: (
                value("lookup_requested_tokens", Over::Window),
                value("lookup_requested_tokens", Over::SinceStart),
            ),
            hits: (
                value("lookup_hit_tokens", Over::Window),
                value("lookup_hit_tokens", Over::SinceStart),
            ),
        };
        let state = targets
            .iter()
            .map(|t| match t.up {
                Some(true) => TargetState::Up,
                Some(false) => TargetState::Down,
                None => TargetState::Stale,
            })
            .max_by_key(|s| s.badness())
            .unwrap_or(TargetState::Waiting);
        Row {
            verdict: verdict::decide(&glance, &self.thresholds),
            state,
            architecture: group::architecture(targets).to_string(),
            hit_rate: fig("lookup_hit_rate", Over::Window),
            l1_usage_ratio: fig("l1_usage_ratio", Over::Now),
            l1_evicted_per_s: fig("l1_evicted_per_second", Over::Window),
            l2_store_backlog: fig("l2_store_backlog", Over::Window),
            eventbus_dropped_per_s: fig("eventbus_dropped_per_second", Over::Window),
            engine_waiting: fig("engine_waiting_requests", Over::Now),
            findings: Counts {
                critical: firing(Severity::Critical),
                warning: firing(Severity::Warning),
                info: firing(Severity::Info),
            },
            last_error: targets.iter().find_map(|t| t.last_error.clone()),
            as_of: self.time,
        }
    }

    /// Whether a rule at or above `bar` fires on any row.
    pub fn fires(&self, bar: Severity) -> bool {
        self.rows
            .iter()
            .any(|r| r.rules.iter().any(|f| f.1 >= bar && f.2 == State::Firing))
    }

    pub fn row_named(&self, name: &str) -> Option<&TableRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

impl Table {
    /// The table of a fleet read as raw samples (a `/federate` endpoint): each instance's
    /// single-box analysis, its figures by their report paths, its rules as judged.
    pub fn of_fleet(fleet: &super::Fleet) -> Table {
        let rows = fleet
            .analyse()
            .into_iter()
            .map(|(i, a)| {
                // Every path is the report's (the unit tests read them all).
                let figures = kvscope_core::rulefile::unit::figure_values(&a)
                    .unwrap_or_else(|_| vec![None; FIGURES.len()]);
                let spark = i
                    .members
                    .iter()
                    .find(|m| m.target.role == Role::Lmcache)
                    .map(|m| {
                        let t = i.model.target(m.target);
                        crate::analysis::history::lookup_hit_rate(
                            t,
                            t.scrapes().len().saturating_sub(1),
                        )
                    })
                    .unwrap_or_default();
                let targets = i
                    .members
                    .iter()
                    .map(|m| Target {
                        key: m.key.clone(),
                        role: m.target.role,
                        kinds: Vec::new(),
                        group: Some(i.name.clone()),
                        up: i
                            .model
                            .health(m.target)
                            .down()
                            .map(|_| false)
                            .or(Some(true)),
                        last_error: m
                            .scrape
                            .as_ref()
                            .map(|s| crate::sanitize::clean(&s.last_error))
                            .filter(|e| !e.is_empty()),
                        last_scrape: m.scrape.as_ref().and_then(|s| s.last_scrape),
                        seen: m.seen,
                    })
                    .collect();
                TableRow {
                    name: i.name.clone(),
                    targets,
                    figures,
                    rules: a
                        .rules
                        .iter()
                        .filter(|f| matches!(f.state, State::Firing | State::Pending))
                        .map(|f| (f.code, f.severity, f.state))
                        .collect(),
                    row: Row::of(i, &a),
                    spark,
                }
            })
            .collect();
        Table {
            rows,
            time: fleet.time,
            window: fleet.window,
            thresholds: fleet.thresholds.clone(),
            group_by: Some(fleet.group_by.clone()),
            source: Source::Raw,
            max_targets: MAX_TARGETS,
            known: HashMap::default(),
        }
    }
}

/// Why a figure of the table is unknown.
const ABSENT: &str = "Prometheus has no value (no traffic in the window, a target younger than the window, or not exported)";

/// Each target's figures, in [`FIGURES`]' order.
fn figures_by_target(readings: &[Reading]) -> HashMap<Key<'_>, Vec<Option<f64>>> {
    let mut out: HashMap<Key, Vec<Option<f64>>> = HashMap::default();
    let mut known: HashMap<&str, Option<usize>> = HashMap::default();
    for r in readings {
        let record = match r.labels.get("kvscope_figure") {
            Some(f) => f,
            None => r.label("__name__"),
        };
        let Some(i) = *known.entry(record).or_insert_with(|| figure_of(record)) else {
            continue;
        };
        if !r.value.is_finite() {
            continue;
        }
        out.entry(borrowed(r))
            .or_insert_with(|| vec![None; FIGURES.len()])[i] = Some(r.value);
    }
    out
}

/// Which of [`FIGURES`] a recording's name is (`kvscope:lookup_hit_rate:60s`).
fn figure_of(record: &str) -> Option<usize> {
    let (name, over) = record.strip_prefix("kvscope:")?.rsplit_once(':')?;
    FIGURES.iter().position(|f| {
        name == f.name
            && match f.over {
                Over::Window => !matches!(over, "since_start" | "now"),
                Over::SinceStart => over == "since_start",
                Over::Now => over == "now",
            }
    })
}

/// Each target's rules firing or pending.
fn rules_by_target<'a>(
    readings: &'a [Reading],
    source: Source,
    thresholds: &Thresholds,
) -> HashMap<Key<'a>, Vec<(&'static str, Severity, State)>> {
    let mut out: HashMap<Key, Vec<(&'static str, Severity, State)>> = HashMap::default();
    for r in readings {
        let found = match source {
            Source::Recorded => query::rule_of_alert(r.label("alertname")).map(|(c, s)| {
                let state = if r.label("alertstate") == "firing" {
                    State::Firing
                } else {
                    State::Pending
                };
                (c, s, state)
            }),
            Source::Raw => None,
            Source::Expressions => crate::analysis::findings::RULES
                .iter()
                .find(|x| x.code == r.label("kvscope_rule"))
                .map(|x| {
                    let held = thresholds.hold(x) <= 0.0;
                    (
                        x.code,
                        x.severity,
                        if held { State::Firing } else { State::Pending },
                    )
                }),
        };
        if let Some(f) = found {
            let own = out.entry(borrowed(r)).or_default();
            if !own.iter().any(|o| o.0 == f.0) {
                own.push(f);
            }
        }
    }
    out
}

/// A row's figures from its targets': an LMCache server's figures from its LMCache target (the
/// first, when a label grouped several), the engine's summed over its engines.
fn row_figures<'k>(
    targets: &'k [Target],
    figures: &HashMap<Key<'k>, Vec<Option<f64>>>,
) -> Vec<Option<f64>> {
    let of = |t: &'k Target| figures.get(&(t.key.job.as_str(), t.key.instance.as_str()));
    let mut out = vec![None; FIGURES.len()];
    let lm = targets
        .iter()
        .find(|t| t.role == Role::Lmcache)
        .and_then(of);
    for (i, f) in FIGURES.iter().enumerate() {
        out[i] = if f.name.starts_with("engine_") {
            targets
                .iter()
                .filter(|t| t.role == Role::Engine)
                .filter_map(|t| of(t)?[i])
                .reduce(|a, b| a + b)
        } else {
            lm.and_then(|v| v[i])
        };
    }
    out
}

#[cfg(test)]
mod tests;
