//! What the screen shows, and the core that computes it. The [`Core`] owns the model: it
//! hears every event (the reducer), says what is worth a log line, and makes a [`Shown`] — an
//! immutable picture of the analysis, the sparklines, the targets and the open family's
//! series. Live, the core runs on a worker thread of its own, so no amount of data a target
//! sends can hold up a key press; tests and screenshots run it in place.

use std::sync::Arc;

use crate::analysis::history::Trail;
use crate::analysis::{self, Analysis};
use crate::model::{Health, Model};
use crate::vocab::{Event, Role, Stream, TargetRef};

/// Sparklines never show more intervals than this (a 300-column terminal's widest pane).
pub const HISTORY_POINTS: usize = 512;

/// One LMCache target's per-interval series, for sparklines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetHistory {
    pub target: String,
    pub hit_rate: Vec<Option<f64>>,
    pub evictions_per_s: Vec<Option<f64>>,
    /// L1 usage (a fraction) at each scrape.
    pub l1_usage: Vec<Option<f64>>,
}

/// Per-interval series of every LMCache target (each its own: intervals of different targets
/// do not line up, so they are never added together), and each family of the analysis's
/// matrix at a glance (in its order), for wide screens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub targets: Vec<TargetHistory>,
    pub glances: Vec<Option<analysis::matrix::Glance>>,
}

impl History {
    /// The history of `model` now, bringing `trails` (each LMCache target's series as the
    /// last picture had them) up to date; empty trails compute it afresh.
    fn of(model: &Model, a: &Analysis, window: f64, trails: &mut Vec<Trail>) -> History {
        let inputs = model.inputs(window);
        trails.resize_with(model.lmcache.len(), Trail::default);
        History {
            glances: analysis::matrix::glances(&inputs, a.families.iter().map(|f| f.id)),
            targets: model
                .lmcache
                .iter()
                .zip(trails)
                .map(|(t, trail)| {
                    trail.follow(t, HISTORY_POINTS);
                    TargetHistory {
                        target: t.name.clone(),
                        hit_rate: trail.hit_rate.iter().copied().collect(),
                        evictions_per_s: trail.evictions_per_s.iter().copied().collect(),
                        l1_usage: trail.l1_usage.iter().copied().collect(),
                    }
                })
                .collect(),
        }
    }
}

/// What the Trace, Logs and Requests panes show beside the analysis's summaries: the latest
/// records, lines and requests of the trace, log and span export those summaries are of (the
/// first target's that has one).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub trace: Option<TraceView>,
    /// Traces of other targets, not shown.
    pub more_traces: usize,
    pub log: Option<LogView>,
    /// Logs of other targets (or the engine's beside a server's), not shown.
    pub more_logs: usize,
    /// The span export's latest requests (oldest first).
    pub requests: Vec<crate::evidence::spans::Request>,
}

/// Requests a picture carries.
const REQUEST_ROWS: usize = 500;

/// Seconds of records per second a picture carries.
pub const TRACE_SECONDS: usize = 300;
/// Trace records a picture carries, decoded.
const TRACE_ROWS: usize = 100;
/// Log lines a picture carries (the pane filters and searches among them).
const LOG_ROWS: usize = 1000;
/// Prefetch completions a picture carries.
const PREFETCH_ROWS: usize = 100;

/// A target's trace over time (its summary is the analysis's).
#[derive(Debug, Clone)]
pub struct TraceView {
    pub target: String,
    /// Records per second, the last [`TRACE_SECONDS`] up to the newest record.
    pub per_second: Vec<u64>,
    /// The same for the busiest operations: (short name, per second).
    pub per_op: Vec<(String, Vec<u64>)>,
    /// The longest second-long stretch without a record, between the first and the last.
    pub longest_gap: Option<i64>,
    /// The latest records, newest last.
    pub recent: Vec<TraceRow>,
}

/// One trace record as a line.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// The record's number in its trace.
    pub seq: u64,
    pub t_wall: f64,
    pub op: String,
    /// Its arguments, briefly (`name=value` …), or why they cannot be shown.
    pub args: String,
}

/// A target's log, the server's or the engine's (its summary is the analysis's).
#[derive(Debug, Clone)]
pub struct LogView {
    pub target: String,
    pub stream: crate::vocab::Stream,
    /// The latest lines, newest last.
    pub lines: Vec<crate::evidence::lines::Entry>,
    /// The latest prefetch completions, newest last.
    pub prefetches: Vec<crate::evidence::lines::Prefetch>,
}

/// The last `n` of `items`, in order.
fn latest<T: Clone>(items: &std::collections::VecDeque<T>, n: usize) -> Vec<T> {
    items
        .iter()
        .skip(items.len().saturating_sub(n))
        .cloned()
        .collect()
}

/// A record's arguments on one line: plain values (a request id, a flag) before nested ones,
/// so a narrow pane still shows them.
fn args_line(r: &crate::evidence::trace::Recent) -> String {
    use crate::evidence::msg::{Msg, brief};
    match r.args() {
        Ok(mut args) => {
            args.sort_by_key(|(_, v)| matches!(v, Msg::Array(_) | Msg::Map(_)));
            args.iter()
                .map(|(k, v)| format!("{k}={}", brief(v, 3, 120)))
                .collect::<Vec<_>>()
                .join(" ")
        }
        Err(e) => format!("(arguments not shown: {e})"),
    }
}

/// The trace's latest records as rows: those in `made` (the last picture's, by record number
/// and time) as they were, the others decoded.
fn trace_rows(tr: &crate::evidence::trace::Trace, made: &[TraceRow]) -> Vec<TraceRow> {
    let skip = tr.recent.len().saturating_sub(TRACE_ROWS);
    tr.recent
        .iter()
        .skip(skip)
        .map(|r| {
            let at = made.binary_search_by_key(&r.seq, |m| m.seq);
            match at.ok().map(|i| &made[i]) {
                Some(m) if m.t_wall.to_bits() == r.t_wall.to_bits() => m.clone(),
                _ => TraceRow {
                    seq: r.seq,
                    t_wall: r.t_wall,
                    op: crate::evidence::trace::short_op(&r.qualname).to_string(),
                    args: args_line(r),
                },
            }
        })
        .collect()
}

impl Evidence {
    /// Of the same target and stream the analysis summarises: the first that has one, the
    /// server's log before the engine's. Trace rows `before` made (the last picture's) are
    /// kept rather than decoded again: a record's arguments are decoded once, whatever the
    /// number of pictures that show it.
    fn of(model: &Model, before: &Evidence) -> Evidence {
        use crate::evidence::trace::short_op;
        use crate::vocab::Stream;
        let mut out = Evidence::default();
        let traces: Vec<_> = model
            .targets()
            .filter_map(|(_, t)| Some((t, t.evidence.trace.as_ref()?)))
            .collect();
        out.more_traces = traces.len().saturating_sub(1);
        out.trace = traces.first().map(|(t, tr)| TraceView {
            target: t.name.clone(),
            per_second: tr.per_second(TRACE_SECONDS, None),
            per_op: tr
                .busiest(3)
                .into_iter()
                .map(|(i, name)| {
                    (
                        short_op(name).to_string(),
                        tr.per_second(TRACE_SECONDS, Some(i)),
                    )
                })
                .collect(),
            longest_gap: tr.longest_gap(),
            recent: {
                let made = before.trace.as_ref().filter(|b| b.target == t.name);
                trace_rows(tr, made.map_or(&[], |b| &b.recent))
            },
        });
        let logs: Vec<_> = [Stream::ServerLog, Stream::EngineLog]
            .into_iter()
            .flat_map(|stream| {
                model.targets().filter_map(move |(_, t)| {
                    let l = match stream {
                        Stream::ServerLog => t.evidence.server_log.as_ref(),
                        _ => t.evidence.engine_log.as_ref(),
                    };
                    Some((t, stream, l?))
                })
            })
            .collect();
        out.more_logs = logs.len().saturating_sub(1);
        out.log = logs.first().map(|(t, stream, l)| LogView {
            target: t.name.clone(),
            stream: *stream,
            lines: latest(&l.recent, LOG_ROWS),
            prefetches: latest(&l.prefetches, PREFETCH_ROWS),
        });
        if let Some(sp) = model.targets().find_map(|(_, t)| t.evidence.spans.as_ref()) {
            let mut requests = sp.requests();
            requests.drain(..requests.len().saturating_sub(REQUEST_ROWS));
            out.requests = requests;
        }
        out
    }
}

/// A file an LMCache target's `/config` names — its storage trace, or its lookup-hash log's
/// directory — present on this machine and not yet read: the TUI asks whether to follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowOffer {
    pub target: TargetRef,
    /// [`Stream::Trace`] or [`Stream::LookupHashes`].
    pub stream: Stream,
    pub path: String,
}

impl FollowOffer {
    /// What the file is, as the question names it.
    pub fn what(&self) -> &'static str {
        match self.stream {
            Stream::LookupHashes => "lookup-hash log (capacity curve)",
            _ => "storage trace",
        }
    }
}

/// The files to offer: named by a loopback target's `/config`, here (a regular file, or the
/// log's directory), and not read yet.
fn offers(analysis: &Analysis, targets: &[TargetRow], model: &Model) -> Vec<FollowOffer> {
    let mut out = Vec::new();
    for t in &analysis.lmcache.by_target {
        let (Some(o), Some(row)) = (
            t.http.observability.as_ref(),
            targets.iter().find(|r| r.name == t.target),
        ) else {
            continue;
        };
        if !crate::url::split(&t.target).is_loopback() {
            continue;
        }
        let read = &model.target(row.target).evidence;
        let files = [
            (Stream::Trace, &o.trace_output, read.trace.is_some()),
            (
                Stream::LookupHashes,
                &o.lookup_hash_dir,
                read.hashes.is_some(),
            ),
        ];
        for (stream, path, followed) in files {
            let Some(path) = path.clone().filter(|_| !followed) else {
                continue;
            };
            let here = std::path::Path::new(&path);
            let present = match stream {
                Stream::LookupHashes => here.is_dir(),
                _ => here.is_file(),
            };
            if present {
                out.push(FollowOffer {
                    target: row.target,
                    stream,
                    path,
                });
            }
        }
    }
    out
}

/// A target as the header and the target list show it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    pub target: TargetRef,
    pub name: String,
    pub health: Health,
    /// Holds data read from files without capture times: it has no liveness to show.
    pub recorded: bool,
    /// When the target last restarted, as far as the history kept shows.
    pub restarted_at: Option<f64>,
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
    pub replay: Option<super::clock::Status>,
    /// The traces and logs read beside the targets.
    pub evidence: Arc<Evidence>,
    /// Trace files that could be followed (a live session asks).
    pub offers: Vec<FollowOffer>,
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
    /// Analyses made for pictures and judgements (the session's accounting; tests read it).
    pub analysed: usize,
    /// Route answers or evidence were applied live after `computed` was made
    /// ([`Core::apply_live`]); [`Core::catch_up`] lets the next picture see them.
    behind: bool,
    /// The evidence picture, and whether evidence arrived since it was made.
    evidence: Arc<Evidence>,
    evidence_stale: bool,
    /// Each LMCache target's sparkline series, kept between pictures.
    trails: Vec<Trail>,
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
            behind: false,
            analysed: 0,
            evidence: Arc::default(),
            evidence_stale: true,
            trails: Vec::new(),
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
            self.forget();
        }
        changed
    }

    /// The window figures are computed over.
    pub fn window(&self) -> f64 {
        self.window
    }

    /// The reducer: applies `event` and returns the log line it deserves, if any. Events
    /// that change numbers or the verdict (scrapes and failed scrapes, route answers, trace
    /// and log bytes) make the next picture re-analyse; a moment no picture showed is judged as the next event closes it
    /// (Model::begin_moment).
    pub fn apply(&mut self, event: Event) -> Option<String> {
        self.apply_as(event, false).1
    }

    /// [`Core::apply`], saying whether the event could be applied (a body that is no
    /// exposition cannot) rather than the log line.
    pub fn try_apply(&mut self, event: Event) -> Result<(), crate::model::ApplyError> {
        self.apply_as(event, false).0
    }

    /// [`Core::apply`] for a live session, where the picture of a capture is made once its
    /// burst settles. An event that is no capture (a route's answer, evidence) ends the
    /// moment being gathered: the moment's picture analysis is made now, before the event, and
    /// judges it, so a moment is analysed once. What the event brings waits for the next
    /// capture's picture, or for [`Core::catch_up`]: one analysis a scrape, however many
    /// routes answer and lines arrive.
    pub fn apply_live(&mut self, event: Event) -> Option<String> {
        self.apply_as(event, true).1
    }

    fn apply_as(
        &mut self,
        event: Event,
        live: bool,
    ) -> (Result<(), crate::model::ApplyError>, Option<String>) {
        let held = live && !event.is_capture();
        if held && self.judging && self.model.is_pending() {
            self.computed();
        }
        if matches!(
            event,
            Event::Scrape { .. }
                | Event::ScrapeFailed { .. }
                | Event::Route { .. }
                | Event::RouteSkipped { .. }
                | Event::Evidence { .. }
        ) {
            if held && self.computed.is_some() {
                self.behind = true;
            } else {
                self.forget();
            }
        }
        if matches!(event, Event::Evidence { .. }) {
            self.evidence_stale = true;
        }
        if self.judging {
            self.model.begin_moment(&event, self.window);
        }
        // A body that cannot be parsed is also recorded as a failed scrape of its target.
        self.model.apply_logged(event)
    }

    /// Lets the next picture see what [`Core::apply_live`] held back.
    pub fn catch_up(&mut self) {
        if std::mem::take(&mut self.behind) {
            self.computed = None;
        }
    }

    /// The next picture analyses afresh.
    fn forget(&mut self) {
        self.computed = None;
        self.behind = false;
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
                // (Core::apply), or here when a picture shows it first, from the analysis the
                // picture shows.
                let judged = self
                    .judging
                    .then(|| self.model.judge_pending_analysed(self.window))
                    .flatten();
                let mut a =
                    judged.unwrap_or_else(|| analysis::analyze(&self.model.inputs(self.window)));
                self.analysed += 1;
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
                let h = Arc::new(History::of(&self.model, &a, self.window, &mut self.trails));
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
        let targets: Vec<TargetRow> = self
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
                    restarted_at: t.last_restart_time(),
                }
            })
            .collect();
        if std::mem::take(&mut self.evidence_stale) {
            self.evidence = Arc::new(Evidence::of(&self.model, &self.evidence));
        }
        let evidence = self.evidence.clone();
        Shown {
            offers: offers(&analysis, &targets, &self.model),
            analysis,
            history,
            detail,
            targets,
            verdicts: self.model.verdicts.clone(),
            replay: None,
            evidence,
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

#[cfg(test)]
mod tests;
