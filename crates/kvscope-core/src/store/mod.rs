//! `store`: per-target time series, bounded, and the arithmetic over them (counter increases
//! with reset handling, histogram windows).
//!
//! Series are kept as change points: a value is written only when it differs from the one
//! before, so an idle hour of a mostly constant scrape costs almost nothing. Scrape times are
//! kept once per target, not per series.

mod histogram;
mod ingest;
mod points;
mod quality;
mod routes;
mod series;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use crate::catalog::MetricRef;
use crate::expo::{Kind, LineError};

pub use histogram::{HistogramWindow, quantile, quantile_bucket};
pub use quality::{Notes, QualityNote};
pub use routes::RouteAnswer;
pub use series::{Check, Problem, Series, Span, check};

/// One ingested scrape of a target.
#[derive(Debug, Clone)]
pub struct ScrapeMeta {
    pub seq: u64,
    /// Capture time, seconds since the epoch; `None` for files given without a time.
    pub time: Option<f64>,
    /// `process_start_time_seconds`, when the target exports it.
    pub process_start: Option<f64>,
    /// The target restarted between the previous scrape and this one.
    pub restarted: bool,
    pub samples: u32,
    pub parse_errors: u32,
    pub first_errors: Vec<LineError>,
    pub duplicate_series: u32,
    /// The newest sample timestamp, when every sample carried one.
    pub observed: Option<f64>,
}

/// A family as declared in the newest scrape.
#[derive(Debug, Clone)]
pub struct DeclaredFamily {
    pub name: Box<str>,
    pub kind: Kind,
    /// The catalog metric the name declares ([`crate::catalog::declared_metric`]), resolved
    /// once at ingest.
    pub metric: Option<crate::catalog::MetricRef>,
    /// Data samples in the newest scrape (`_created` excluded).
    pub samples: u32,
}

/// Series one scrape may carry per instance by default (like Prometheus' `sample_limit`): real
/// LMCache and vLLM scrapes carry a few hundred, so this leaves room for large deployments
/// while a runaway exporter is refused instead of filling memory. A store keeps at most twice
/// as many.
pub const DEFAULT_SERIES_LIMIT: usize = 100_000;

/// How far sample timestamps may run ahead of the scrape time (clock skew between hosts).
pub const FUTURE_SLACK: f64 = 300.0;

/// Everything kept about one target.
#[derive(Debug)]
pub struct TargetStore {
    pub name: String,
    /// Where this target's evidence comes from (the report's `inputs[].kind`).
    pub kind: crate::vocab::InputKind,
    scrapes: VecDeque<ScrapeMeta>,
    series: Vec<Series>,
    by_key: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    by_metric: HashMap<MetricRef, Vec<u32>, foldhash::fast::RandomState>,
    /// Families declared in the newest scrape.
    pub declared: Vec<DeclaredFamily>,
    capacity: usize,
    next_seq: u64,
    /// Scrapes that repeated the newest observation and were not stored.
    pub repeats: u64,
    /// Series dropped because no retained scrape has them.
    pub pruned: u64,
    /// Data-quality problems in the retained scrapes.
    pub quality: Notes,
    /// Series kept at most: beyond it, series absent from the newest scrape are dropped before
    /// their history ends (label churn).
    pub max_series: usize,
    /// Sequence numbers of retained scrapes that followed a restart, ascending.
    restarts: Vec<u64>,
    /// Newest answer per LMCache HTTP route.
    pub routes: std::collections::BTreeMap<crate::vocab::Route, RouteAnswer>,
    /// The target's trace and logs, as read so far.
    pub evidence: crate::evidence::Streams,
    /// The spellings the newest scrape's names are read in ([`crate::catalog::Spelling`]).
    spelling: crate::catalog::Spelling,
    /// Family names, one copy each, shared by their series.
    families: std::collections::HashSet<std::sync::Arc<str>, foldhash::fast::RandomState>,
    key_buf: String,
    order_buf: Vec<u32>,
}

impl TargetStore {
    /// A store keeping at most `capacity` scrapes.
    pub fn new(name: impl Into<String>, capacity: usize) -> Self {
        TargetStore {
            name: name.into(),
            kind: crate::vocab::InputKind::Files,
            scrapes: VecDeque::new(),
            series: Vec::new(),
            by_key: HashMap::default(),
            by_metric: HashMap::default(),
            declared: Vec::new(),
            capacity: capacity.max(2),
            next_seq: 0,
            repeats: 0,
            pruned: 0,
            quality: Notes::default(),
            max_series: 2 * DEFAULT_SERIES_LIMIT,
            routes: Default::default(),
            evidence: Default::default(),
            spelling: crate::catalog::Spelling::ANY,
            restarts: Vec::new(),
            families: Default::default(),
            key_buf: String::new(),
            order_buf: Vec::new(),
        }
    }

    /// Retained scrapes, oldest first.
    pub fn scrapes(&self) -> &VecDeque<ScrapeMeta> {
        &self.scrapes
    }

    pub fn newest(&self) -> Option<&ScrapeMeta> {
        self.scrapes.back()
    }

    /// The spellings the newest scrape's names are read in.
    pub fn spelling(&self) -> crate::catalog::Spelling {
        self.spelling
    }

    pub fn series(&self) -> &[Series] {
        &self.series
    }

    /// Series of one catalog metric (all label sets and histogram parts).
    pub fn series_of(&self, m: MetricRef) -> impl Iterator<Item = &Series> {
        self.by_metric
            .get(&m)
            .into_iter()
            .flatten()
            .map(|&i| &self.series[i as usize])
    }

    /// The span of the last `window` seconds: from the newest scrape at or before
    /// (newest − window), or from the oldest when none is that old, to the newest.
    pub fn window(&self, window: f64) -> Result<Span, String> {
        self.window_ending(window, None)
    }

    /// [`TargetStore::window`] whose start is `window` before `end` instead of before the
    /// newest scrape: a Prometheus-compatible store evaluates `x offset W` at its query time,
    /// and a fleet's raw path reads at that time (`docs/promql.md`).
    pub fn window_ending(&self, window: f64, end: Option<f64>) -> Result<Span, String> {
        let newest = self.newest().ok_or("no samples")?;
        let t_new = newest
            .time
            .ok_or("the input carries no capture times (give files as FILE@TIME)")?;
        let t_new = end.map_or(t_new, |e| e.max(t_new));
        if self.scrapes.len() < 2 {
            return Err(if self.repeats > 0 {
                "the target keeps serving one observation (its sample timestamps do not change): no motion to measure".into()
            } else {
                "only one sample; a window needs two".into()
            });
        }
        let cutoff = t_new - window;
        let base = self
            .scrapes
            .iter()
            .rev()
            .find(|s| s.time.is_some_and(|t| t <= cutoff))
            .unwrap_or(&self.scrapes[0]);
        Ok(Span::Window {
            from: base.seq,
            to: newest.seq,
        })
    }

    /// Seconds a span covers, when the scrapes have times.
    pub fn span_seconds(&self, span: Span) -> Option<f64> {
        let Span::Window { from, to } = span else {
            return None;
        };
        // Windows end at the newest scrape: look from there.
        let time_of = |seq: u64| self.scrapes.iter().rev().find(|s| s.seq == seq)?.time;
        Some(time_of(to)? - time_of(from)?)
    }

    /// Sequence numbers of scrapes that followed a restart, ascending.
    pub fn restarts(&self) -> &[u64] {
        &self.restarts
    }

    /// When each restart kept was seen (the time of the scrape that followed it), ascending.
    pub fn restart_times(&self) -> Vec<f64> {
        self.restarts
            .iter()
            .filter_map(|s| self.time_of(*s))
            .collect()
    }

    /// When the last restart kept was seen (what each picture shows).
    pub fn last_restart_time(&self) -> Option<f64> {
        self.time_of(*self.restarts.last()?)
    }

    /// The time of the scrape numbered `seq`, if it is kept (scrapes are in `seq` order).
    fn time_of(&self, seq: u64) -> Option<f64> {
        let i = self.scrapes.partition_point(|s| s.seq < seq);
        self.scrapes.get(i).filter(|s| s.seq == seq)?.time
    }
}
