//! The one owner of state: targets by role, each with its retained history and health.
//! Sources send [`Event`]s; [`Model::apply`] is the reducer. Live, replay and `report` all go
//! through it.

use std::fmt;

use crate::analysis::Inputs;
use crate::expo::{self, Format, Limits};
use crate::sources::lmcache_http::Route;
use crate::store::{RouteAnswer, TargetStore};

/// Which part of the stack a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Lmcache,
    Engine,
}

impl Role {
    /// The command-line flag that names targets of this role.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Lmcache => "--lmcache",
            Role::Engine => "--engine",
        }
    }
}

/// Addresses one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub role: Role,
    pub index: usize,
}

/// Something a source saw.
#[derive(Debug, Clone)]
pub enum Event {
    /// A `/metrics` body (or a file holding one) and when it was taken.
    Scrape {
        target: TargetRef,
        time: Option<f64>,
        body: Vec<u8>,
        /// From the Content-Type header, when there was one.
        format: Option<Format>,
        /// Where the body came from (file path or URL), for error messages.
        origin: String,
    },
    /// A scrape attempt failed (connection refused, timeout, error status, body too large).
    ScrapeFailed {
        target: TargetRef,
        time: f64,
        error: String,
    },
    /// How long the last successful scrape took, reported by live collectors.
    Latency { target: TargetRef, seconds: f64 },
    /// An LMCache HTTP route answered (status and body) or could not be read.
    Route {
        target: TargetRef,
        route: Route,
        path: &'static str,
        time: f64,
        result: Result<(u16, Vec<u8>), String>,
    },
    /// An LMCache HTTP route kvscope does not read, and why.
    RouteSkipped {
        target: TargetRef,
        route: Route,
        path: &'static str,
        reason: &'static str,
    },
}

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

/// What is known about reaching a target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// When the last scrape succeeded (seconds since the epoch, scrape clock).
    pub last_ok: Option<f64>,
    /// When the last attempt failed, and why.
    pub last_failure: Option<(f64, String)>,
    pub last_latency: Option<f64>,
    pub failures: u64,
}

/// Reachability of a target now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetState {
    /// Not answered yet.
    Waiting,
    Up,
    /// Answered before, but nothing new for three intervals.
    Stale,
    /// The last attempt failed.
    Down,
}

impl Health {
    /// The state at `now` for a target polled every `interval` seconds.
    pub fn state(&self, now: f64, interval: f64) -> TargetState {
        match (self.last_ok, &self.last_failure) {
            (ok, Some((failed, _))) if ok.is_none_or(|ok| *failed >= ok) => TargetState::Down,
            (Some(ok), _) if now - ok > 3.0 * interval => TargetState::Stale,
            (Some(_), _) => TargetState::Up,
            (None, _) => TargetState::Waiting,
        }
    }
}

/// All targets and what was learnt from them.
#[derive(Debug)]
pub struct Model {
    pub lmcache: Vec<TargetStore>,
    pub engine: Vec<TargetStore>,
    pub parse_errors: Vec<ParseErrors>,
    pub limits: Limits,
    /// Per target: `lmcache` ones first, then `engine`.
    health: Vec<Health>,
}

/// Parse-error records kept at most (the oldest are dropped first).
const MAX_PARSE_ERROR_RECORDS: usize = 256;

impl Model {
    /// A model with these targets (names) keeping `history` scrapes each.
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
            health: vec![Health::default(); lmcache.len() + engine.len()],
        }
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

    /// What `event` changes that is worth a line in the log, judged against the state before
    /// it is applied: a target going down or coming back, a route starting or stopping to
    /// answer, a route skipped. Steady state says nothing, so the log stays small.
    pub fn transition(&self, event: &Event) -> Option<String> {
        let failing = |t: TargetRef| {
            let h = self.health(t);
            h.last_failure
                .as_ref()
                .is_some_and(|(f, _)| h.last_ok.is_none_or(|ok| *f >= ok))
        };
        let name = |t: TargetRef| crate::sanitize::clean(&self.target(t).name);
        let base = |t: TargetRef| crate::sources::lmcache_http::base_url(&name(t));
        match event {
            Event::ScrapeFailed { target, error, .. } => {
                let same = self
                    .health(*target)
                    .last_failure
                    .as_ref()
                    .is_some_and(|(_, e)| e == error);
                (!failing(*target) || !same)
                    .then(|| format!("{} {}: down: {}", target.role.flag(), name(*target), error))
            }
            Event::Scrape { target, .. } if failing(*target) => Some(format!(
                "{} {}: up again",
                target.role.flag(),
                name(*target)
            )),
            Event::Route {
                target,
                route,
                path,
                result,
                ..
            } => {
                let before = self.target(*target).routes.get(route.name());
                let was_ok = before.is_some_and(|b| b.status == Some(200));
                let before_err = before.and_then(|b| b.error.as_deref());
                match result {
                    Ok((200, _)) if !was_ok && before.is_some() => {
                        Some(format!("{}{path}: answering again", base(*target)))
                    }
                    Ok((200, _)) => None,
                    Ok((status, _)) => (before.and_then(|b| b.status) != Some(*status))
                        .then(|| format!("{}{path}: HTTP {status}", base(*target))),
                    Err(e) => (before_err != Some(e.as_str()))
                        .then(|| format!("{}{path}: {e}", base(*target))),
                }
            }
            Event::RouteSkipped {
                target,
                path,
                reason,
                ..
            } => Some(format!("{}{path}: skipped: {reason}", base(*target))),
            _ => None,
        }
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
                let h = self.health_mut(target);
                h.failures += 1;
                h.last_failure = Some((time, error));
                Ok(())
            }
            Event::Latency { target, seconds } => {
                self.health_mut(target).last_latency = Some(seconds);
                Ok(())
            }
            Event::Route {
                target,
                route,
                path,
                time,
                result,
            } => {
                let mut answer = RouteAnswer {
                    path,
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
                if let Some(before) = routes.get(route.name()).filter(|_| route.tracks_changes()) {
                    answer.changed = if before.skipped.is_none() && !before.same_body(&answer) {
                        Some(time)
                    } else {
                        before.changed
                    };
                }
                routes.insert(route.name(), answer);
                Ok(())
            }
            Event::RouteSkipped {
                target,
                route,
                path,
                reason,
            } => {
                let skipped = RouteAnswer {
                    path,
                    skipped: Some(reason),
                    ..RouteAnswer::default()
                };
                self.target_mut(target).routes.insert(route.name(), skipped);
                Ok(())
            }
            Event::Scrape {
                target,
                time,
                body,
                format,
                origin,
            } => {
                let scrape = match expo::parse_with(&body, format, &self.limits) {
                    Ok(s) => s,
                    Err(e) => {
                        let h = self.health_mut(target);
                        h.failures += 1;
                        h.last_failure = Some((time.unwrap_or(0.0), e.to_string()));
                        return Err(ApplyError {
                            origin,
                            message: e.to_string(),
                        });
                    }
                };
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
                    self.health_mut(target).last_ok = Some(t);
                }
                Ok(())
            }
        }
    }

    /// What analysis reads.
    pub fn inputs(&self, window: f64) -> Inputs<'_> {
        Inputs {
            lmcache: &self.lmcache,
            engine: &self.engine,
            window,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_hears_about_changes_not_steady_state() {
        use crate::sources::lmcache_http::Route;
        let mut m = Model::new(&["http://h:1/metrics".into()], &[], 8);
        let t = TargetRef {
            role: Role::Lmcache,
            index: 0,
        };
        let mut step = |e: Event| {
            let line = m.transition(&e);
            let _ = m.apply(e);
            line
        };
        let failed = |time: f64, error: &str| Event::ScrapeFailed {
            target: t,
            time,
            error: error.into(),
        };
        assert_eq!(
            step(failed(1.0, "refused")).as_deref(),
            Some("--lmcache http://h:1/metrics: down: refused")
        );
        assert_eq!(step(failed(2.0, "refused")), None);
        assert!(step(failed(3.0, "timed out")).is_some());
        let scrape = |time: f64| Event::Scrape {
            target: t,
            time: Some(time),
            body: b"x 1\n".to_vec(),
            format: None,
            origin: "o".into(),
        };
        assert!(step(scrape(4.0)).unwrap().ends_with("up again"));
        assert_eq!(step(scrape(5.0)), None);
        let route = |time: f64, result| Event::Route {
            target: t,
            route: Route::Status,
            path: "/status",
            time,
            result,
        };
        assert_eq!(step(route(6.0, Ok((200, b"{}".to_vec())))), None);
        assert_eq!(
            step(route(7.0, Err("timed out".into()))).as_deref(),
            Some("http://h:1/status: timed out")
        );
        assert_eq!(step(route(8.0, Err("timed out".into()))), None);
        assert!(
            step(route(9.0, Ok((200, b"{}".to_vec()))))
                .unwrap()
                .ends_with("answering again")
        );
    }

    #[test]
    fn health_states() {
        let mut h = Health::default();
        assert_eq!(h.state(0.0, 1.0), TargetState::Waiting);
        h.last_ok = Some(10.0);
        assert_eq!(h.state(11.0, 1.0), TargetState::Up);
        assert_eq!(h.state(14.0, 1.0), TargetState::Stale);
        h.last_failure = Some((12.0, "refused".into()));
        assert_eq!(h.state(12.5, 1.0), TargetState::Down);
        h.last_ok = Some(13.0);
        assert_eq!(h.state(13.5, 1.0), TargetState::Up);
    }

    #[test]
    fn an_unparseable_body_marks_the_target_down() {
        let mut m = Model::new(&["a".into()], &[], 8);
        let t = TargetRef {
            role: Role::Lmcache,
            index: 0,
        };
        let event = Event::Scrape {
            target: t,
            time: Some(5.0),
            body: b"<html>".to_vec(),
            format: None,
            origin: "u".into(),
        };
        assert!(m.apply(event).is_err());
        assert_eq!(m.health(t).state(5.5, 1.0), TargetState::Down);
    }
}
