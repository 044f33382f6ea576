//! The one owner of state: targets by role, each with its retained history and health.
//! Sources send [`Event`]s; [`Model::apply`] is the reducer. Live, replay and `report` all go
//! through it.

use std::fmt;

use crate::analysis::{Clock, Inputs};
use crate::expo::{self, Limits};
use crate::store::{DEFAULT_SERIES_LIMIT, RouteAnswer, TargetStore};

mod settings;
use crate::vocab::{Event, Flavor, Format, Role, Route, TargetRef, base_url};
pub use settings::ModelSettings;

/// A scrape the model could not take.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyError {
    pub origin: String,
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

/// Lines skipped while parsing one scrape.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParseErrors {
    pub origin: String,
    pub lines_skipped: u32,
    pub first: Vec<expo::LineError>,
}

pub use crate::vocab::{Health, TargetState};

/// All targets and what was learnt from them.
#[derive(Debug)]
pub struct Model {
    /// What the findings judge by (`[findings]` in the config file).
    pub thresholds: crate::analysis::findings::Thresholds,
    /// `--l1-size` (bytes), for the capacity curve.
    pub l1_size: Option<f64>,
    pub lmcache: Vec<TargetStore>,
    pub engine: Vec<TargetStore>,
    pub parse_errors: Vec<ParseErrors>,
    pub limits: Limits,
    /// Series one scrape may carry per instance ([`DEFAULT_SERIES_LIMIT`]).
    series_limit: usize,
    /// Per target: `lmcache` ones first, then `engine`.
    health: Vec<Health>,
    /// The poll interval, when the caller knows it (the configured one live, a recording's);
    /// otherwise [`Model::clock`] infers it from the latest gaps between scrapes.
    pub interval: Option<f64>,
    /// "Now", when the caller knows it (the live view's wall clock, a replay's packet time);
    /// otherwise the newest time in the data.
    pub now: Option<f64>,
    /// When each rule changed state, as judged over time ([`Model::note_verdicts`]).
    pub verdicts: std::sync::Arc<crate::analysis::findings::Verdicts>,
    /// The capture moment [`Model::apply_judged`] is gathering.
    moment: Option<f64>,
    /// Events were applied to `moment` since it was last judged.
    pending: bool,
}

/// Parse-error records kept at most (the oldest are dropped first).
const MAX_PARSE_ERROR_RECORDS: usize = 256;

/// Counts data samples per `instance` label (a `/federate` body carries many instances; a
/// plain scrape counts as one) and names the first instance over `limit`.
fn over_series_limit(scrape: &expo::Scrape<'_>, limit: usize) -> Option<(String, usize)> {
    if scrape.samples.len() <= limit {
        return None;
    }
    let mut per: std::collections::HashMap<&str, usize, foldhash::fast::RandomState> =
        Default::default();
    for s in scrape.data_samples() {
        let instance = scrape
            .labels(s)
            .iter()
            .find(|l| l.name == "instance")
            .map_or("", |l| l.raw());
        *per.entry(instance).or_default() += 1;
    }
    per.into_iter()
        .filter(|(_, n)| *n > limit)
        .max_by_key(|(_, n)| *n)
        .map(|(i, n)| (i.to_string(), n))
}

impl Model {
    /// A model with these targets (names) keeping `history` scrapes each, and every other
    /// setting at its default ([`ModelSettings::build`] sets them all).
    pub fn new(lmcache: &[String], engine: &[String], history: usize) -> Self {
        Model {
            lmcache: lmcache
                .iter()
                .map(|n| TargetStore::new(n.clone(), history))
                .collect(),
            engine: engine
                .iter()
                .map(|n| TargetStore::new(n.clone(), history))
                .collect(),
            parse_errors: Vec::new(),
            limits: Limits::default(),
            series_limit: DEFAULT_SERIES_LIMIT,
            thresholds: Default::default(),
            l1_size: None,
            health: vec![Health::default(); lmcache.len() + engine.len()],
            interval: None,
            now: None,
            verdicts: Default::default(),
            moment: None,
            pending: false,
        }
    }

    /// Applies `e`, judging first as [`Model::begin_moment`] says. Recording, export, a
    /// packet's report and the live view feed events this way, so their verdict histories
    /// agree.
    pub fn apply_judged(&mut self, e: Event, window: f64) -> Result<(), ApplyError> {
        self.begin_moment(&e, window);
        self.apply(e)
    }

    /// `e` is about to be applied. A capture moment is a scrape attempt and its latency (events
    /// at one time together): a capture at a new time first judges the moment that ended. Any
    /// other event (a route's answer, a skipped route, trace or log bytes) opens no moment:
    /// the open moment is judged as it stood before it, if it was not yet, and what the event
    /// brings is judged with the next capture. So however many lines a log writes, a moment is
    /// judged once, and a live session, which judges a moment when its picture is made, and a
    /// replay, which judges it when the next event comes, judge the same state.
    pub fn begin_moment(&mut self, e: &Event, window: f64) {
        if !e.is_capture() {
            self.judge_pending(window);
            return;
        }
        let t = e.time();
        if t.is_some() && t != self.moment {
            self.judge_pending(window);
            self.moment = t;
        }
        self.pending = true;
    }

    /// Takes up judging again after events were applied without it: `verdicts` are the changes
    /// up to the pending `moment` (the time of the last event applied), judged when the next
    /// moment begins or [`Model::judge_pending`] is called.
    pub fn resume_judging(
        &mut self,
        verdicts: crate::analysis::findings::Verdicts,
        moment: Option<f64>,
    ) {
        self.verdicts = std::sync::Arc::new(verdicts);
        self.moment = moment;
        self.pending = moment.is_some();
    }

    /// Judges the moment being gathered, when events were applied to it since it was last
    /// judged: at the end of a recording, and before a picture (so what is shown is noted).
    /// Events of the same moment that arrive later make it pending again.
    pub fn judge_pending(&mut self, window: f64) {
        if let (Some(m), true) = (self.moment, self.pending) {
            self.note_verdicts(m, window);
        }
        self.pending = false;
    }

    /// Whether the moment being gathered has events not yet judged.
    pub fn is_pending(&self) -> bool {
        self.moment.is_some() && self.pending
    }

    /// [`Model::judge_pending`] with the whole analysis: the moment being gathered, judged on
    /// its own time, noted, and its analysis returned for a picture to show, so a moment a
    /// picture shows is analysed once. `None` when nothing is pending.
    pub fn judge_pending_analysed(&mut self, window: f64) -> Option<crate::analysis::Analysis> {
        let (Some(m), true) = (self.moment, self.pending) else {
            return None;
        };
        self.pending = false;
        let a = crate::analysis::analyze(&self.inputs_at(m, window));
        std::sync::Arc::make_mut(&mut self.verdicts).note(m, &a.rules, a.verdict.state);
        Some(a)
    }

    /// Judges every rule as of the moment `now` ([`crate::analysis::verdicts`], with `now` as
    /// the clock's) and records there the rules whose state changed. A moment is judged on its
    /// own time, whoever judges it and whenever.
    pub fn note_verdicts(&mut self, now: f64, window: f64) {
        let j = crate::analysis::verdicts(&self.inputs_at(now, window));
        std::sync::Arc::make_mut(&mut self.verdicts).note(now, &j.rules, j.verdict.state);
    }

    /// [`Model::inputs`] as of the moment `now`: a moment is judged on its own time.
    pub fn inputs_at(&self, now: f64, window: f64) -> Inputs<'_> {
        let mut inputs = self.inputs(window);
        inputs.clock = inputs.clock.map(|c| Clock { now, ..c });
        inputs
    }

    /// Adds a target found later (a fleet's instance gaining an engine) keeping `history`
    /// scrapes; the targets already there keep their addresses.
    pub fn add_target(
        &mut self,
        role: Role,
        name: String,
        history: usize,
        kind: crate::vocab::InputKind,
    ) -> TargetRef {
        let mut store = TargetStore::new(name, history);
        store.kind = kind;
        store.max_series = self.series_limit.saturating_mul(2);
        let list = match role {
            Role::Lmcache => &mut self.lmcache,
            Role::Engine => &mut self.engine,
        };
        list.push(store);
        let t = TargetRef {
            role,
            index: list.len() - 1,
        };
        self.health.insert(self.slot(t), Health::default());
        t
    }

    /// Sets the series limit (per scrape, per instance); stores keep at most twice as many
    /// series, so label churn cannot grow them without bound either.
    pub fn set_series_limit(&mut self, limit: usize) {
        self.series_limit = limit.max(1);
        for t in self.lmcache.iter_mut().chain(self.engine.iter_mut()) {
            t.max_series = self.series_limit.saturating_mul(2);
        }
    }

    /// The series limit per scrape and instance.
    pub fn series_limit(&self) -> usize {
        self.series_limit
    }

    fn slot(&self, t: TargetRef) -> usize {
        match t.role {
            Role::Lmcache => t.index,
            Role::Engine => self.lmcache.len() + t.index,
        }
    }

    pub fn target(&self, t: TargetRef) -> &TargetStore {
        match t.role {
            Role::Lmcache => &self.lmcache[t.index],
            Role::Engine => &self.engine[t.index],
        }
    }

    pub fn target_mut(&mut self, t: TargetRef) -> &mut TargetStore {
        match t.role {
            Role::Lmcache => &mut self.lmcache[t.index],
            Role::Engine => &mut self.engine[t.index],
        }
    }

    /// Applies `event` and says what it changed that is worth a line in the log, judged from
    /// the state before and after, as the screen shows it: a target going down (or failing in
    /// a new way) or coming back, a route starting or stopping to answer, a route skipped.
    /// Steady state says nothing, so the log stays small.
    pub fn apply_logged(&mut self, event: Event) -> (Result<(), ApplyError>, Option<String>) {
        let target = event.target();
        let route = match &event {
            Event::Route { route, .. } | Event::RouteSkipped { route, .. } => Some(*route),
            _ => None,
        };
        let summary = |m: &Model| {
            route.and_then(|r| {
                let a = m.target(target).routes.get(&r)?;
                Some((a.path, a.status, a.error.clone(), a.skipped))
            })
        };
        let down_before = self.health(target).down().map(str::to_string);
        let route_before = summary(self);
        let restarts_before = self.target(target).restarts().len();
        let result = self.apply(event);
        let name = crate::sanitize::clean(&self.target(target).name);
        // A restart is said beside whatever else the event changed (coming back up, say).
        let restarted = (self.target(target).restarts().len() > restarts_before).then(|| {
            let at = self.target(target).newest().and_then(|s| s.time);
            format!(
                "{} {name}: {} restarted{}; since-start figures reset",
                target.role.flag(),
                target.role.process(),
                at.map(|t| format!(" at {}", crate::timefmt::format_rfc3339(t)))
                    .unwrap_or_default()
            )
        });
        let line = match route {
            None => match (down_before.as_deref(), self.health(target).down()) {
                (before, Some(now)) if before != Some(now) => {
                    Some(format!("{} {name}: down: {now}", target.role.flag()))
                }
                (Some(_), None) => Some(format!("{} {name}: up again", target.role.flag())),
                _ => None,
            },
            Some(_) => {
                let base = base_url(&name);
                let before = route_before.as_ref();
                match summary(self) {
                    Some((path, _, _, Some(why))) => (before.map(|b| b.3) != Some(Some(why)))
                        .then(|| format!("{base}{path}: skipped: {}", why.as_str())),
                    Some((path, Some(200), None, None)) => before
                        .is_some_and(|b| b.1 != Some(200))
                        .then(|| format!("{base}{path}: answering again")),
                    Some((path, Some(status), None, None)) => (before.and_then(|b| b.1)
                        != Some(status))
                    .then(|| format!("{base}{path}: HTTP {status}")),
                    Some((path, _, Some(e), None)) => (before.and_then(|b| b.2.as_deref())
                        != Some(e.as_str()))
                    .then(|| format!("{base}{path}: {e}")),
                    _ => None,
                }
            }
        };
        let line = match (restarted, line) {
            (Some(r), Some(l)) => Some(format!("{r}; {l}")),
            (r, l) => r.or(l),
        };
        (result, line)
    }

    /// Health of a target.
    pub fn health(&self, t: TargetRef) -> &Health {
        &self.health[self.slot(t)]
    }

    fn health_mut(&mut self, t: TargetRef) -> &mut Health {
        let i = self.slot(t);
        &mut self.health[i]
    }

    /// Every target with its address, LMCache ones first.
    pub fn targets(&self) -> impl Iterator<Item = (TargetRef, &TargetStore)> {
        let lm = self.lmcache.iter().enumerate().map(|(index, t)| {
            (
                TargetRef {
                    role: Role::Lmcache,
                    index,
                },
                t,
            )
        });
        let en = self.engine.iter().enumerate().map(|(index, t)| {
            (
                TargetRef {
                    role: Role::Engine,
                    index,
                },
                t,
            )
        });
        lm.chain(en)
    }

    /// The reducer. A body that cannot be parsed is recorded as a failed scrape of its target
    /// and returned as an error naming where it came from.
    pub fn apply(&mut self, event: Event) -> Result<(), ApplyError> {
        match event {
            Event::ScrapeFailed {
                target,
                time,
                error,
            } => {
                self.health_mut(target).failed(time, error);
            }
            Event::Latency {
                target, seconds, ..
            } => self.health_mut(target).last_latency = Some(seconds),
            Event::Route {
                target,
                route,
                flavor,
                time,
                result,
            } => self.route_answered(target, route, flavor, time, result),
            Event::RouteSkipped {
                target,
                route,
                flavor,
                time,
                reason,
            } => {
                let skipped = RouteAnswer {
                    path: route.path(flavor),
                    time,
                    skipped: Some(reason),
                    ..RouteAnswer::default()
                };
                self.target_mut(target).routes.insert(route, skipped);
            }
            Event::Scrape {
                target,
                time,
                body,
                format,
                origin,
            } => return self.scraped(target, time, &body, format, origin),
            Event::Evidence {
                target,
                time,
                stream,
                fresh,
                body,
                origin,
            } => self
                .target_mut(target)
                .evidence
                .apply(stream, time, fresh, &body, &origin),
        }
        Ok(())
    }

    /// Keeps a route's newest answer, and when a tracked route's body last changed.
    fn route_answered(
        &mut self,
        target: TargetRef,
        route: Route,
        flavor: Flavor,
        time: f64,
        result: Result<(u16, Vec<u8>), String>,
    ) {
        let mut answer = RouteAnswer {
            path: route.path(flavor),
            time,
            ..RouteAnswer::default()
        };
        match result {
            Ok((status, body)) => {
                answer.status = Some(status);
                answer.json = serde_json::from_slice(&body).ok();
                if answer.json.is_none() {
                    answer.text = Some(String::from_utf8_lossy(&body).into_owned());
                }
            }
            Err(e) => answer.error = Some(e),
        }
        let routes = &mut self.target_mut(target).routes;
        // Settings and versions read before still stand when a later read fails: the failure
        // is shown, the last answer stays the one facts are read from.
        if let (Some(e), Some(before)) = (&answer.error, routes.get(&route))
            && route.tracks_changes()
            && before.status == Some(200)
        {
            answer.error = Some(format!("{e}; the answer read before still stands"));
            answer.status = before.status;
            answer.json = before.json.clone();
            answer.text = before.text.clone();
            answer.kept = true;
        }
        if let Some(before) = routes.get(&route).filter(|_| route.tracks_changes()) {
            answer.changed = if before.skipped.is_none() && !before.same_body(&answer) {
                Some(time)
            } else {
                before.changed
            };
        }
        routes.insert(route, answer);
    }

    /// Parses a scrape and stores it, or refuses it (unparseable, or over the series limit) as
    /// a failed scrape of its target.
    fn scraped(
        &mut self,
        target: TargetRef,
        time: Option<f64>,
        body: &[u8],
        format: Option<Format>,
        origin: String,
    ) -> Result<(), ApplyError> {
        let scrape = match expo::parse_with(body, format, &self.limits) {
            Ok(s) => s,
            Err(e) => return self.refuse(target, time, origin, e.to_string()),
        };
        if let Some((instance, n)) = over_series_limit(&scrape, self.series_limit) {
            let whose = if instance.is_empty() {
                "the scrape".to_string()
            } else {
                format!("instance \"{}\"", crate::sanitize::clean(&instance))
            };
            let message = format!(
                "{whose} carries {n} series, more than the limit of {} (--series-limit raises it): refused, nothing of it kept",
                self.series_limit
            );
            return self.refuse(target, time, origin, message);
        }
        if scrape.error_count > 0 {
            if self.parse_errors.len() >= MAX_PARSE_ERROR_RECORDS {
                self.parse_errors.remove(0);
            }
            self.parse_errors.push(ParseErrors {
                origin,
                lines_skipped: scrape.error_count,
                first: scrape.errors.clone(),
            });
        }
        self.target_mut(target).ingest(&scrape, time);
        if let Some(t) = time {
            self.health_mut(target).answered(t);
        }
        Ok(())
    }

    /// Counts a refused scrape as a failure of its target, and says why.
    fn refuse(
        &mut self,
        target: TargetRef,
        time: Option<f64>,
        origin: String,
        message: String,
    ) -> Result<(), ApplyError> {
        self.health_mut(target)
            .failed(time.unwrap_or(0.0), message.clone());
        Err(ApplyError { origin, message })
    }

    /// What analysis reads.
    pub fn inputs(&self, window: f64) -> Inputs<'_> {
        Inputs {
            lmcache: &self.lmcache,
            engine: &self.engine,
            health: &self.health,
            thresholds: &self.thresholds,
            lines_skipped: self
                .parse_errors
                .iter()
                .map(|p| u64::from(p.lines_skipped))
                .sum(),
            window,
            clock: self.clock(),
            history: Some(&self.verdicts),
            l1_size: self.l1_size,
        }
    }

    /// The clock the analysis judges by: [`Model::now`] or else the newest time any target was
    /// scraped or failed; [`Model::interval`] or else the median gap between two of the latest
    /// scrapes of one target. `None` without an interval.
    pub fn clock(&self) -> Option<Clock> {
        let interval = self.interval.or_else(|| self.recent_interval())?;
        let now = self.now.unwrap_or_else(|| {
            self.health
                .iter()
                .flat_map(|h| [h.last_ok, h.last_failure.as_ref().map(|f| f.0)])
                .flatten()
                .chain(
                    self.lmcache
                        .iter()
                        .chain(&self.engine)
                        .filter_map(|t| t.newest()?.time),
                )
                .fold(f64::MIN, f64::max)
        });
        Some(Clock { now, interval })
    }

    /// The median gap between two of the latest scrapes of one target, when there are two.
    fn recent_interval(&self) -> Option<f64> {
        // The latest gaps say the interval now; the whole history would cost time per analysis.
        const RECENT: usize = 16;
        let mut gaps = Vec::new();
        for t in self.lmcache.iter().chain(&self.engine) {
            let times: Vec<f64> = t
                .scrapes()
                .iter()
                .rev()
                .filter_map(|s| s.time)
                .take(RECENT + 1)
                .collect();
            gaps.extend(times.windows(2).map(|w| w[0] - w[1]).filter(|g| *g > 0.0));
        }
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_by(f64::total_cmp);
        Some(gaps[gaps.len() / 2])
    }
}

#[cfg(test)]
mod tests;
