//! The fleet: every LMCache server and engine a Prometheus-compatible store scrapes, grouped
//! into instances (by `instance`, or another label such as a pod or a host, so a server and
//! its engine form one row). Each instance has a [`Model`] of its own, fed with the `/metrics`
//! bodies rebuilt from Prometheus's raw samples ([`promapi::bodies`]) as ordinary scrape
//! events, and is analysed by the same [`analysis::analyze`] as one box: the fleet table's
//! numbers are the single-box numbers.
//!
//! A refresh reads only the samples newer than those already held (the first reads the whole
//! window), and each target keeps about one window of scrapes, so an instance costs a window's
//! history, not an hour's.

pub mod report;
pub mod table;

use std::collections::{BTreeMap, HashMap};

use crate::analysis::Fig;
use crate::analysis::findings::{Finding, Severity};
use crate::analysis::verdict::CacheState;
use crate::analysis::{self, Analysis};
use crate::model::{Model, ModelSettings};
use crate::sources::promapi::{self, Found, Read, ScrapeHealth, Series, TargetKey, Types};
use crate::timefmt::serialize_time;
use crate::vocab::{Event, InputKind, Role, TargetRef, TargetState};
use serde::{Deserialize, Serialize};

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
    /// Why a target of the row did not answer Prometheus's last scrape, when it says.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When these figures were read (the table's evaluation time).
    #[serde(
        default,
        serialize_with = "serialize_time",
        deserialize_with = "crate::timefmt::deserialize_time"
    )]
    pub as_of: Option<f64>,
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
            last_error: i
                .members
                .iter()
                .filter_map(|m| m.scrape.as_ref())
                .map(|s| crate::sanitize::clean(&s.last_error))
                .find(|e| !e.is_empty()),
            as_of: i.model.now,
        }
    }
}

/// One Prometheus target inside an instance.
#[derive(Debug, Clone)]
pub struct Member {
    pub key: TargetKey,
    pub target: TargetRef,
    /// The newest sample time taken in (milliseconds).
    newest_ms: i64,
    /// Prometheus's own view of its scrapes, when the API offers it.
    pub scrape: Option<ScrapeHealth>,
    /// The last failure already told to the model (its time), so it is told once.
    failure_told: Option<f64>,
    /// When discovery last listed it.
    pub seen: f64,
}

/// Series by the target (job, instance) Prometheus scraped them from.
fn by_target(series: &[Series]) -> HashMap<(&str, &str), Vec<&Series>> {
    let mut out: HashMap<_, Vec<_>> = HashMap::new();
    for s in series {
        let key = (
            s.label("job").unwrap_or(""),
            s.label("instance").unwrap_or(""),
        );
        out.entry(key).or_default().push(s);
    }
    out
}

impl Member {
    /// Its samples not yet applied, rebuilt as scrapes of its own.
    fn scrapes(&mut self, own: &[&Series], types: &Types, strip: &[String]) -> Vec<Event> {
        let origin = format!("prometheus {}/{}", self.key.job, self.key.instance);
        let mut out = Vec::new();
        for (ms, body) in promapi::bodies(own, types, strip, self.newest_ms) {
            self.newest_ms = self.newest_ms.max(ms);
            out.push(Event::Scrape {
                target: self.target,
                time: Some(ms as f64 / 1000.0),
                body: body.into_bytes(),
                format: None,
                origin: origin.clone(),
            });
        }
        out
    }

    /// Its failed scrapes not yet told: where the targets API is missing, the samples of
    /// Prometheus's `up` at 0; where it answers, a target it says is down.
    fn failures(&mut self, own: &[&Series], scrape: Option<&ScrapeHealth>) -> Vec<Event> {
        let mut out = Vec::new();
        if scrape.is_none() {
            let told = self.failure_told.unwrap_or(0.0);
            let failed: Vec<i64> = own
                .iter()
                .filter(|s| s.label("__name__") == Some("up"))
                .flat_map(|s| &s.points)
                .filter(|(t, v)| *v == 0.0 && *t as f64 / 1000.0 > told)
                .map(|p| p.0)
                .collect();
            for t in failed {
                let at = t as f64 / 1000.0;
                self.failure_told = Some(at);
                out.push(Event::ScrapeFailed {
                    target: self.target,
                    time: at,
                    error: "Prometheus could not scrape it (up = 0)".into(),
                });
            }
        }
        if let Some(h) = scrape
            && h.health == promapi::PromHealth::Down
            && let Some(at) = h.last_scrape
            && self.failure_told != Some(at)
        {
            self.failure_told = Some(at);
            out.push(Event::ScrapeFailed {
                target: self.target,
                time: at,
                error: format!(
                    "Prometheus could not scrape it: {}",
                    crate::sanitize::clean(&h.last_error)
                ),
            });
        }
        out
    }
}

/// A row of the fleet: the targets sharing one value of the group label, and their model.
#[derive(Debug)]
pub struct Instance {
    /// The group label's value (the `instance` label by default).
    pub name: String,
    pub members: Vec<Member>,
    pub model: Model,
}

impl Instance {
    /// Its model's clock: the fleet's, and the shortest scrape interval Prometheus reports
    /// for its members.
    fn set_clock(&mut self, time: f64) {
        self.model.now = Some(time);
        if let Some(interval) = self
            .members
            .iter()
            .filter_map(|m| m.scrape.as_ref()?.interval)
            .reduce(f64::min)
        {
            self.model.interval = Some(interval);
        }
    }

    /// The job of its first target (an LMCache server's before an engine's).
    pub fn job(&self) -> &str {
        self.members
            .iter()
            .find(|m| m.target.role == Role::Lmcache)
            .or(self.members.first())
            .map_or("", |m| m.key.job.as_str())
    }

    /// The worst state among its targets at the model's clock (down, then stale, then
    /// waiting, then up).
    pub fn state(&self) -> TargetState {
        let Some(clock) = self.model.clock() else {
            return if self
                .members
                .iter()
                .any(|m| self.model.health(m.target).down().is_some())
            {
                TargetState::Down
            } else {
                TargetState::Waiting
            };
        };
        self.members
            .iter()
            .map(|m| self.model.health(m.target).state(clock.now, clock.interval))
            .max_by_key(|s| s.badness())
            .unwrap_or(TargetState::Waiting)
    }

    /// Its analysis, as one box's.
    pub fn analyse(&self, window: f64) -> Analysis {
        analysis::analyze(&self.model.inputs(window))
    }
}

/// Every instance found, with what the refreshes read.
#[derive(Debug)]
pub struct Fleet {
    /// The label that groups targets into instances.
    pub group_by: String,
    pub window: f64,
    pub thresholds: analysis::findings::Thresholds,
    pub series_limit: usize,
    instances: BTreeMap<String, Instance>,
    pub types: Types,
    /// The evaluation time of the newest refresh.
    pub time: Option<f64>,
    /// [`Fleet::apply`] returns the events it applied (a drill-down, an export and tests
    /// need them; the table does not, and copying every body costs).
    pub keep_events: bool,
    /// Each scrape applied is a moment judged, so rules hold over the samples read as they
    /// would have live (one instance drilled into; a fleet of many skips the cost).
    pub judge_moments: bool,
}

/// Scrapes a target keeps when its interval is not known yet.
const DEFAULT_HISTORY: usize = 64;

impl Fleet {
    pub fn new(group_by: &str, window: f64) -> Fleet {
        Fleet {
            group_by: group_by.to_string(),
            window,
            thresholds: Default::default(),
            series_limit: crate::store::DEFAULT_SERIES_LIMIT,
            instances: BTreeMap::new(),
            types: Types::default(),
            time: None,
            keep_events: true,
            judge_moments: false,
        }
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.get(name)
    }

    /// Whether a target is held already (a new one is read over the whole window).
    pub fn holds(&self, key: &TargetKey) -> bool {
        self.instances
            .values()
            .any(|i| i.members.iter().any(|m| &m.key == key && m.newest_ms > 0))
    }

    /// How far back the next refresh must read: the whole window at first, then back to the
    /// oldest of the targets' newest samples, and two scrape intervals more (a scrape is
    /// stamped when it starts and written when it ends, so one can land behind a newer one).
    pub fn range_needed(&self, now: f64) -> f64 {
        let newest = self
            .instances
            .values()
            .flat_map(|i| &i.members)
            .map(|m| m.newest_ms)
            .filter(|t| *t > 0)
            .min();
        let interval = self
            .instances
            .values()
            .filter_map(|i| Some(i.model.clock()?.interval))
            .reduce(f64::max)
            .unwrap_or(15.0);
        match newest {
            Some(ms) => (now - ms as f64 / 1000.0 + 2.0 * interval).clamp(1.0, self.window),
            None => self.window,
        }
    }

    /// Takes in one refresh: new targets join (their instance made when new), each target's
    /// samples newer than those it holds become scrape events, Prometheus's failed scrapes
    /// become failed-scrape events, and targets discovery has not listed for a window leave.
    /// Returns the events applied, per instance, in the order applied (none without
    /// [`Fleet::keep_events`]).
    pub fn apply(&mut self, read: Read) -> Vec<(String, Event)> {
        let Read {
            found,
            health,
            series,
            time,
        } = read;
        self.time = Some(time);
        let mut by_target = by_target(&series);
        let mut applied = Vec::new();
        for Found { key, group, role } in &found {
            let (group, role) = (group.clone(), *role);
            let scrape = health.as_ref().and_then(|h| h.get(key)).cloned();
            let strip: Vec<String> = match &scrape {
                Some(h) if !h.target_labels.is_empty() => h.target_labels.clone(),
                _ => vec!["job".into(), "instance".into()],
            };
            let own = by_target
                .remove(&(key.job.as_str(), key.instance.as_str()))
                .unwrap_or_default();
            let instance = self
                .instances
                .entry(group.clone())
                .or_insert_with(|| Instance {
                    name: group.clone(),
                    members: Vec::new(),
                    model: ModelSettings::default()
                        .kind(InputKind::Prometheus)
                        .series_limit(self.series_limit)
                        .thresholds(self.thresholds.clone())
                        .build(&[], &[]),
                });
            let at = match instance.members.iter().position(|m| m.key == *key) {
                Some(i) => i,
                None => {
                    let history = history_for(self.window, &own, scrape.as_ref());
                    let name = format!("{}/{}", key.job, key.instance);
                    let target =
                        instance
                            .model
                            .add_target(role, name, history, InputKind::Prometheus);
                    instance.members.push(Member {
                        key: key.clone(),
                        target,
                        newest_ms: 0,
                        scrape: None,
                        failure_told: None,
                        seen: time,
                    });
                    instance.members.len() - 1
                }
            };
            let member = &mut instance.members[at];
            member.seen = time;
            member.scrape = scrape.clone();
            let mut events = member.scrapes(&own, &self.types, &strip);
            events.extend(member.failures(&own, scrape.as_ref()));
            for e in events {
                if self.keep_events {
                    applied.push((group.clone(), e.clone()));
                }
                let _ = if self.judge_moments {
                    instance.model.apply_judged(e, self.window)
                } else {
                    instance.model.apply(e)
                };
            }
        }
        for i in self.instances.values_mut() {
            i.set_clock(time);
        }
        // An instance none of whose targets discovery listed for a window has left. (A target
        // that left an instance still present stays in it, stale.)
        let window = self.window;
        self.instances
            .retain(|_, i| i.members.iter().any(|m| time - m.seen <= window));
        applied
    }

    /// Each instance with its analysis, in name order.
    pub fn analyse(&self) -> Vec<(&Instance, Analysis)> {
        self.instances
            .values()
            .map(|i| (i, i.analyse(self.window)))
            .collect()
    }
}

/// Scrapes to keep for a target: one window's worth at its scrape interval (from Prometheus,
/// else the gaps between its samples), and a few more.
fn history_for(window: f64, series: &[&Series], scrape: Option<&ScrapeHealth>) -> usize {
    let gap = scrape.and_then(|s| s.interval).or_else(|| {
        series
            .iter()
            .flat_map(|s| {
                s.points
                    .windows(2)
                    .map(|w| (w[1].0 - w[0].0) as f64 / 1000.0)
            })
            .filter(|g| *g > 0.0)
            .reduce(f64::min)
    });
    match gap {
        Some(g) => ((window / g).ceil() as usize + 3).clamp(4, 4096),
        None => DEFAULT_HISTORY,
    }
}

#[cfg(test)]
pub(crate) mod tests;
