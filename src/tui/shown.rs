//! What the screen shows, and the core that computes it. The [`Core`] owns the model: it
//! hears every event (the reducer), says what is worth a log line, and makes a [`Shown`] — an
//! immutable picture of the analysis, the sparklines, the targets and the open family's
//! series. Live, the core runs on a worker thread of its own, so no amount of data a target
//! sends can hold up a key press; tests and screenshots run it in place.

use std::sync::Arc;

use crate::analysis::{self, Analysis};
use crate::model::{Health, Model};
use crate::vocab::{Event, Role, TargetRef};

/// Sparklines never show more intervals than this (a 300-column terminal's widest pane).
pub const HISTORY_POINTS: usize = 512;

/// One LMCache target's per-interval series, for sparklines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetHistory {
    pub target: String,
    pub hit_rate: Vec<Option<f64>>,
    pub evictions_per_s: Vec<Option<f64>>,
}

/// Per-interval series of every LMCache target (each its own: intervals of different targets
/// do not line up, so they are never added together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub targets: Vec<TargetHistory>,
}

impl History {
    fn of(model: &Model) -> History {
        History {
            targets: model
                .lmcache
                .iter()
                .map(|t| TargetHistory {
                    target: t.name.clone(),
                    hit_rate: analysis::history::lookup_hit_rate(t, HISTORY_POINTS),
                    evictions_per_s: analysis::history::l1_evictions_per_s(t, HISTORY_POINTS),
                })
                .collect(),
        }
    }
}

/// A target as the header and the target list show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub target: TargetRef,
    pub name: String,
    pub health: Health,
    /// Holds data read from files without capture times: it has no liveness to show.
    pub recorded: bool,
}

/// Everything drawn, computed together.
#[derive(Debug, Clone)]
pub struct Shown {
    pub analysis: Arc<Analysis>,
    pub history: Arc<History>,
    /// The family whose series the drill-down shows: its id, the first series, how many
    /// there are in all.
    pub detail: Option<Detail>,
    pub targets: Vec<TargetRow>,
    /// When each rule started firing, cleared or could not judge, as this session saw it.
    pub verdicts: Arc<analysis::findings::Verdicts>,
    /// Where a replay stands (its clock is the one views use); `None` live.
    pub replay: Option<super::playback::Status>,
}

/// The series of the family open in the drill-down.
#[derive(Debug, Clone)]
pub struct Detail {
    pub family: &'static str,
    /// The first [`DETAIL_ROWS`].
    pub rows: Arc<Vec<analysis::matrix::SeriesRow>>,
    pub total: usize,
}

/// Series a drill-down lists at most.
const DETAIL_ROWS: usize = 200;

/// The model and what was last computed from it.
pub struct Core {
    pub model: Model,
    window: f64,
    computed: Option<(Arc<Analysis>, Arc<History>)>,
    /// Whether each capture moment is judged as events arrive (off while a replay rebuilds
    /// what it judged before).
    pub judging: bool,
}

impl Core {
    pub fn new(model: Model, window: f64) -> Core {
        Core {
            model,
            window,
            computed: None,
            judging: true,
        }
    }

    /// Sets "now" (the wall clock live, the packet's in a replay) for the verdicts that depend
    /// on it; the analysis is redone only when some target's state differs under the new
    /// clock. Says whether it will be.
    pub fn set_now(&mut self, now: f64) -> bool {
        let states = |m: &Model| -> Vec<_> {
            let clock = m.clock();
            m.targets()
                .map(|(t, _)| clock.map(|c| m.health(t).state(c.now, c.interval)))
                .collect()
        };
        let before = states(&self.model);
        self.model.now = Some(now);
        let changed = states(&self.model) != before;
        if changed {
            self.computed = None;
        }
        changed
    }

    /// The window figures are computed over.
    pub fn window(&self) -> f64 {
        self.window
    }

    /// The reducer: applies `event` and returns the log line it deserves, if any. Events
    /// that change numbers (scrapes, route answers) make the next picture re-analyse.
    pub fn apply(&mut self, event: Event) -> Option<String> {
        if matches!(
            event,
            Event::Scrape { .. } | Event::Route { .. } | Event::RouteSkipped { .. }
        ) {
            self.computed = None;
        }
        if self.judging {
            self.model.begin_moment(event.time(), self.window);
        }
        // A body that cannot be parsed is already recorded as a failed scrape of its target.
        self.model.apply_logged(event).1
    }

    /// The analysis of the model now (made once per change).
    pub fn analysis(&mut self) -> Arc<Analysis> {
        self.computed().0
    }

    fn computed(&mut self) -> (Arc<Analysis>, Arc<History>) {
        match &self.computed {
            Some(c) => c.clone(),
            None => {
                // Verdicts are noted on each capture moment's own time: as it closes
                // (Core::apply), or here when a picture shows it first.
                if self.judging {
                    self.model.judge_pending(self.window);
                }
                let mut a = analysis::analyze(&self.model.inputs(self.window));
                // Most severe first, then the longest firing first; a rule whose firing is
                // not yet noted began last.
                let verdicts = &self.model.verdicts;
                let since = |f: &analysis::findings::Finding| {
                    verdicts
                        .get(f.code)
                        .and_then(<[_]>::last)
                        .filter(|c| c.1 == f.state)
                        .map_or(f64::MAX, |c| c.0)
                };
                a.findings.sort_by(|x, y| {
                    y.severity
                        .cmp(&x.severity)
                        .then(since(x).total_cmp(&since(y)))
                });
                let a = Arc::new(a);
                let h = Arc::new(History::of(&self.model));
                self.computed = Some((a.clone(), h.clone()));
                (a, h)
            }
        }
    }

    /// A picture of the model now, with the series of family `detail` for the drill-down.
    pub fn shown(&mut self, detail: Option<&'static str>) -> Shown {
        let (analysis, history) = self.computed();
        let detail = detail.map(|family| {
            let inputs = self.model.inputs(self.window);
            Detail {
                family,
                rows: Arc::new(analysis::matrix::series_of_family(
                    &inputs,
                    family,
                    DETAIL_ROWS,
                )),
                total: analysis::matrix::count_series_of_family(&inputs, family),
            }
        });
        let targets = self
            .model
            .targets()
            .map(|(target, t)| {
                let health = self.model.health(target).clone();
                TargetRow {
                    recorded: health.last_ok.is_none()
                        && health.last_failure.is_none()
                        && t.newest().is_some(),
                    target,
                    name: t.name.clone(),
                    health,
                }
            })
            .collect();
        Shown {
            analysis,
            history,
            detail,
            targets,
            verdicts: self.model.verdicts.clone(),
            replay: None,
        }
    }
}

impl TargetRow {
    /// `lmcache` or `engine`.
    pub fn role(&self) -> &'static str {
        match self.target.role {
            Role::Lmcache => "lmcache",
            Role::Engine => "engine",
        }
    }
}
