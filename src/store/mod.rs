//! `store`: per-target time series, bounded, and the arithmetic over them (counter increases
//! with reset handling, histogram windows).
//!
//! Series are kept as change points: a value is written only when it differs from the one
//! before, so an idle hour of a mostly constant scrape costs almost nothing. Scrape times are
//! kept once per target, not per series.

mod histogram;
mod points;
mod quality;
mod routes;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::fmt::Write;

use crate::catalog::{self, MetricKind, MetricRef};
use crate::expo::{Kind, LineError, Part, Scrape};

pub use histogram::{HistogramWindow, quantile};
use points::Points;
pub use quality::{Notes, QualityNote};
pub use routes::RouteAnswer;

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
    /// Data samples in the newest scrape (`_created` excluded).
    pub samples: u32,
}

/// One series: a sample name and its label set.
#[derive(Debug)]
pub struct Series {
    /// The exposition family (the `# TYPE` name, or the sample name when untyped).
    /// The exposition family (the `# TYPE` name, or the sample name when untyped), shared by
    /// every series of the family.
    pub family: std::sync::Arc<str>,
    pub part: Part,
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// Upper bound of a histogram bucket.
    pub le: Option<f64>,
    pub metric: Option<MetricRef>,
    points: Points,
    last_seen: u64,
}

/// Marks "absent from this scrape"; a NaN payload the parser never produces.
const ABSENT_BITS: u64 = 0x7ff8_0000_dead_beef;
/// Marks "two samples of this series in one scrape disagreed"; another NaN payload.
const CONFLICT_BITS: u64 = 0x7ff8_0000_0bad_0bad;

fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT_BITS
}

/// Why a stored value cannot be used as a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Problem {
    /// Two samples of the series in one scrape had different values.
    Conflict,
    /// `NaN`, `+Inf` or `-Inf` where a number is needed.
    NotFinite(f64),
    /// A counter (or a histogram's count or bucket) below zero.
    Negative(f64),
}

impl Problem {
    /// A stable name for the kind of problem.
    pub fn kind(self) -> &'static str {
        match self {
            Problem::Conflict => "conflict",
            Problem::NotFinite(_) => "not_finite",
            Problem::Negative(_) => "negative",
        }
    }
}

/// Series one scrape may carry per instance by default (like Prometheus' `sample_limit`): real
/// LMCache and vLLM scrapes carry a few hundred, so this leaves room for large deployments
/// while a runaway exporter is refused instead of filling memory. A store keeps at most twice
/// as many.
pub const DEFAULT_SERIES_LIMIT: usize = 100_000;

/// How far sample timestamps may run ahead of the scrape time (clock skew between hosts).
pub const FUTURE_SLACK: f64 = 300.0;

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Conflict => {
                f.write_str("appears more than once in one scrape with different values")
            }
            Problem::NotFinite(v) if v.is_nan() => f.write_str("is NaN, not a number"),
            Problem::NotFinite(v) if *v > 0.0 => f.write_str("is +Inf, not a number"),
            Problem::NotFinite(_) => f.write_str("is -Inf, not a number"),
            Problem::Negative(v) => write!(f, "is negative ({v}), which a counter cannot be"),
        }
    }
}

/// What a stored value must be to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Finite and not negative: counters, histogram counts and buckets.
    Counter,
    /// Finite: gauges, histogram sums.
    Finite,
}

/// `v` if it is usable as `check` says.
pub fn check(v: f64, check: Check) -> Result<f64, Problem> {
    if v.to_bits() == CONFLICT_BITS {
        Err(Problem::Conflict)
    } else if !v.is_finite() {
        Err(Problem::NotFinite(v))
    } else if check == Check::Counter && v < 0.0 {
        Err(Problem::Negative(v))
    } else {
        Ok(v)
    }
}

impl Series {
    /// Value in the scrape with this sequence number; `None` when absent then. The raw value:
    /// a conflicting duplicate reads as NaN. Figures use [`Series::checked_at`].
    pub fn value_at(&self, seq: u64) -> Option<f64> {
        let v = self.points.value_at(seq)?;
        (!is_absent(v)).then_some(v)
    }

    /// What this series' values must be: counters (and histogram counts and buckets) finite and
    /// not negative, everything else finite.
    pub fn check(&self) -> Check {
        let counter = match self.part {
            Part::Bucket | Part::Count | Part::GCount => true,
            Part::Value => self
                .metric
                .is_some_and(|m| m.metric_def().kind == MetricKind::Counter),
            _ => false,
        };
        if counter {
            Check::Counter
        } else {
            Check::Finite
        }
    }

    /// The value in scrape `seq`, checked as [`Series::check`] says; `Ok(None)` when absent.
    pub fn checked_at(&self, seq: u64) -> Result<Option<f64>, Problem> {
        self.value_at(seq)
            .map(|v| check(v, self.check()))
            .transpose()
    }

    /// The series as written in a scrape: `name_part{k="v", …}`, for messages (clean it
    /// before it reaches a terminal).
    pub fn describe(&self) -> String {
        let suffix = match self.part {
            Part::Count => "_count",
            Part::Sum => "_sum",
            Part::Bucket => "_bucket",
            _ => "",
        };
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        if labels.is_empty() {
            format!("{}{suffix}", self.family)
        } else {
            format!("{}{suffix}{{{}}}", self.family, labels.join(", "))
        }
    }

    /// The label's value, if the series has the label.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }

    /// How much a counter grew from scrape `from` to scrape `to`, counting a drop in value or a
    /// target restart as a reset to zero. A series absent at `from` started from zero (LMCache
    /// and prometheus_client create counters lazily). `Ok(None)` when absent at `to`; an error
    /// when a value it rests on is not a usable counter value.
    pub fn increase(&self, from: u64, to: u64, restarts: &[u64]) -> Result<Option<f64>, Problem> {
        let mut points = self.points.after(from).peekable();
        let check = self.check();
        grow(
            &mut points,
            self.points.value_at(from),
            from,
            to,
            restarts,
            check,
        )
        .0
    }

    /// [`Series::increase`] over each pair of consecutive `seqs` (ascending), in one pass over
    /// the points: what per-interval sparklines need.
    pub fn increases(&self, seqs: &[u64], restarts: &[u64]) -> Vec<Result<Option<f64>, Problem>> {
        let Some(&first) = seqs.first() else {
            return Vec::new();
        };
        let mut points = self.points.after(first).peekable();
        let mut at = self.points.value_at(first);
        let check = self.check();
        seqs.windows(2)
            .map(|w| {
                let (inc, end) = grow(&mut points, at, w[0], w[1], restarts, check);
                at = end;
                inc
            })
            .collect()
    }

    /// Whether the series was present in any scrape from `oldest` on.
    pub fn present_since(&self, oldest: u64) -> bool {
        self.value_at(oldest).is_some() || self.points.after(oldest).any(|(_, v)| !is_absent(v))
    }
}

/// Whether a restart happened after scrape `after` and at or before `upto` (`restarts`
/// ascending): a binary search, so a target that restarts at every scrape costs no more.
fn restarted_between(restarts: &[u64], after: u64, upto: u64) -> bool {
    let i = restarts.partition_point(|&r| r <= after);
    restarts.get(i).is_some_and(|&r| r <= upto)
}

/// A counter's growth from `from` to `to`: `at` is its raw value at `from` and `points` yields
/// the points after `from`; consumes those up to `to`. Returns the increase (`Ok(None)` when
/// absent at `to`, an error when a value in the span fails `check`) and the raw value at `to`.
fn grow(
    points: &mut std::iter::Peekable<impl Iterator<Item = (u64, f64)>>,
    mut at: Option<f64>,
    from: u64,
    to: u64,
    restarts: &[u64],
    check_as: Check,
) -> (Result<Option<f64>, Problem>, Option<f64>) {
    let mut bad = None;
    let mut prev = match at.filter(|v| !is_absent(*v)).map(|v| check(v, check_as)) {
        Some(Ok(v)) => v,
        Some(Err(p)) => {
            bad = Some(p);
            0.0
        }
        None => 0.0,
    };
    let mut prev_seq = from;
    let mut total = 0.0;
    while let Some((seq, raw)) = points.next_if(|p| p.0 <= to) {
        at = Some(raw);
        if is_absent(raw) {
            continue;
        }
        let v = match check(raw, check_as) {
            Ok(v) => v,
            Err(p) => {
                bad.get_or_insert(p);
                continue;
            }
        };
        let reset = v < prev || restarted_between(restarts, prev_seq, seq);
        total += if reset { v } else { v - prev };
        prev = v;
        prev_seq = seq;
    }
    let result = match bad {
        Some(p) => Err(p),
        None => Ok(at.filter(|v| !is_absent(*v)).map(|_| total)),
    };
    (result, at)
}

/// Which part of the history a figure covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// The cumulative value in scrape `at` (since the process started).
    SinceStart { at: u64 },
    /// The increase from scrape `from` to scrape `to`.
    Window { from: u64, to: u64 },
}

impl Span {
    /// A counter's figure over this span; an error names what is wrong with a value it rests on.
    pub fn counter(self, s: &Series, restarts: &[u64]) -> Result<Option<f64>, Problem> {
        match self {
            Span::SinceStart { at } => s.checked_at(at),
            Span::Window { from, to } => s.increase(from, to, restarts),
        }
    }

    /// The scrape the span ends at.
    pub fn end(self) -> u64 {
        match self {
            Span::SinceStart { at } => at,
            Span::Window { to, .. } => to,
        }
    }
}

/// Everything kept about one target.
#[derive(Debug)]
pub struct TargetStore {
    pub name: String,
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
    /// Newest answer per LMCache HTTP route.
    pub routes: std::collections::BTreeMap<crate::vocab::Route, RouteAnswer>,
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
        let newest = self.newest().ok_or("no samples")?;
        let t_new = newest
            .time
            .ok_or("the input carries no capture times (give files as FILE@TIME)")?;
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
        let t = |seq: u64| self.scrapes.iter().find(|s| s.seq == seq)?.time;
        Some(t(to)? - t(from)?)
    }

    /// Sequence numbers of scrapes that followed a restart.
    pub fn restarts(&self) -> Vec<u64> {
        self.scrapes
            .iter()
            .filter(|s| s.restarted)
            .map(|s| s.seq)
            .collect()
    }

    /// Adds one parsed scrape taken at `time`.
    ///
    /// When every sample carries a timestamp, that is the observation time; a scrape repeating
    /// the newest observation (same timestamps) is counted in [`TargetStore::repeats`] and not
    /// stored again, so a frozen exporter shows no invented motion. Sample timestamps later
    /// than the scrape time (or, for a file without one, than the clock) by more than
    /// [`FUTURE_SLACK`] are not believed: the scrape time is used and a note says so.
    pub fn ingest(&mut self, scrape: &Scrape<'_>, time: Option<f64>) -> &ScrapeMeta {
        let seq = self.next_seq;
        let mut observed = observation_time(scrape);
        let mut future = None;
        if let Some(o) = observed {
            let reference = time.unwrap_or_else(crate::timefmt::now);
            if o > reference + FUTURE_SLACK {
                future = Some(o - reference);
                observed = None;
            }
        }
        if let (Some(o), Some(newest)) = (observed, self.scrapes.back())
            && newest.observed == Some(o)
        {
            self.repeats += 1;
            return self.scrapes.back().expect("checked");
        }
        let mut time = observed.or(time);
        self.next_seq += 1;
        if let Some(ahead) = future {
            self.quality.add(
                "sample timestamps",
                "future_timestamps",
                format!(
                    "lie {ahead:.0} s after the scrape time; kvscope used the scrape time instead"
                ),
                seq,
                time,
            );
        }
        // Time never runs backwards in a store: windows and rates rest on that.
        if let (Some(t), Some(prev)) = (time, self.scrapes.back().and_then(|s| s.time))
            && t < prev
        {
            self.quality.add(
                "scrape times",
                "time_backwards",
                format!(
                    "a scrape is {:.3} s older than the one before; kvscope gave it the earlier scrape's time",
                    prev - t
                ),
                seq,
                Some(prev),
            );
            time = Some(prev);
        }
        let process_start = scrape
            .data_samples()
            .find(|s| s.name == "process_start_time_seconds")
            .map(|s| s.value)
            .filter(|v| v.is_finite());
        let restarted = match (
            self.scrapes.back().and_then(|p| p.process_start),
            process_start,
        ) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        };
        let mut duplicates = 0;
        let mut samples = 0;
        for s in scrape.data_samples() {
            samples += 1;
            let id = self.series_id(scrape, s, seq, time);
            let series = &mut self.series[id as usize];
            if series.last_seen == seq {
                // The same series twice in one scrape: which value is right cannot be known.
                duplicates += 1;
                let Some((at, before)) = series.points.back() else {
                    continue;
                };
                if before.to_bits() == s.value.to_bits() || before.to_bits() == CONFLICT_BITS {
                    continue;
                }
                let conflict = f64::from_bits(CONFLICT_BITS);
                if at == seq {
                    series.points.set_last_value(conflict);
                } else {
                    series.points.push_back((seq, conflict));
                }
                if series.metric.is_some() {
                    let subject = series.describe();
                    self.quality.add(
                        subject,
                        "conflict",
                        Problem::Conflict.to_string(),
                        seq,
                        time,
                    );
                }
                continue;
            }
            series.last_seen = seq;
            if series.metric.is_some()
                && let Err(p) = check(s.value, series.check())
            {
                let subject = series.describe();
                self.quality
                    .add(subject, p.kind(), p.to_string(), seq, time);
            }
            let series = &mut self.series[id as usize];
            let last = series.points.back().map(|p| p.1);
            // Record on change; after a restart, record every series so an unchanged counter
            // value is not mistaken for no activity.
            if restarted || last.is_none_or(|l| l.to_bits() != s.value.to_bits()) {
                series.points.push_back((seq, s.value));
            }
        }
        for series in &mut self.series {
            if series.last_seen != seq && series.points.back().is_some_and(|p| !is_absent(p.1)) {
                series.points.push_back((seq, f64::from_bits(ABSENT_BITS)));
            }
        }
        self.declared = scrape
            .families
            .iter()
            .map(|f| DeclaredFamily {
                name: f.name.into(),
                kind: f.kind,
                samples: 0,
            })
            .collect();
        for s in scrape.data_samples() {
            self.declared[s.family as usize].samples += 1;
        }
        self.scrapes.push_back(ScrapeMeta {
            seq,
            time,
            process_start,
            restarted,
            samples,
            parse_errors: scrape.error_count,
            first_errors: scrape.errors.clone(),
            duplicate_series: duplicates,
            observed,
        });
        self.trim();
        self.scrapes.back().expect("just pushed")
    }

    fn trim(&mut self) {
        while self.scrapes.len() > self.capacity {
            self.scrapes.pop_front();
        }
        let Some(oldest) = self.scrapes.front().map(|s| s.seq) else {
            return;
        };
        for series in &mut self.series {
            series.points.trim(oldest);
        }
        self.quality.trim(oldest);
        // Series absent from every retained scrape (label churn: a tenant, model or adapter
        // gone) change no figure; dropping them keeps memory bounded by the history.
        let dead = self.series.iter().filter(|s| s.last_seen < oldest).count();
        if dead >= 64 || (dead > 0 && dead * 4 >= self.series.len()) {
            self.prune(oldest);
        }
        // Label churn within the history: series no longer exported add nothing to any
        // figure now (only to past sparkline intervals), so past the cap they go early.
        if self.series.len() > self.max_series
            && let Some(newest) = self.scrapes.back().map(|s| s.seq)
        {
            let before = self.pruned;
            self.prune(newest);
            self.quality.add(
                "label churn",
                "churn",
                format!(
                    "more than {} series retained: {} no longer exported were dropped before their history ended",
                    self.max_series,
                    self.pruned - before
                ),
                newest,
                self.scrapes.back().and_then(|s| s.time),
            );
        }
    }

    /// Removes series last seen before `oldest` and renumbers the indexes.
    fn prune(&mut self, oldest: u64) {
        let mut remap = Vec::with_capacity(self.series.len());
        let mut next = 0u32;
        for s in &self.series {
            if s.last_seen < oldest {
                remap.push(None);
            } else {
                remap.push(Some(next));
                next += 1;
            }
        }
        self.series.retain(|s| s.last_seen >= oldest);
        self.by_key.retain(|_, id| match remap[*id as usize] {
            Some(n) => {
                *id = n;
                true
            }
            None => false,
        });
        for ids in self.by_metric.values_mut() {
            ids.retain_mut(|id| match remap[*id as usize] {
                Some(n) => {
                    *id = n;
                    true
                }
                None => false,
            });
        }
        self.by_metric.retain(|_, ids| !ids.is_empty());
        // A family name nobody holds any more (its last series pruned).
        self.families
            .retain(|f| std::sync::Arc::strong_count(f) > 1);
        self.pruned += remap.iter().filter(|r| r.is_none()).count() as u64;
    }

    /// The series a sample belongs to, created on first sight (scrape `seq` at `time`, for
    /// a note when a bucket's bound is not a number).
    fn series_id(
        &mut self,
        scrape: &Scrape<'_>,
        s: &crate::expo::Sample<'_>,
        seq: u64,
        time: Option<f64>,
    ) -> u32 {
        let fam = scrape.family(s);
        let labels = scrape.labels(s);
        self.order_buf.clear();
        self.order_buf.extend(0..labels.len() as u32);
        self.order_buf
            .sort_unstable_by_key(|&i| labels[i as usize].name);
        let key = &mut self.key_buf;
        key.clear();
        key.push_str(s.name);
        // Each value is preceded by its length, so no value (a hostile one holding NUL or
        // `=` included) can make two label sets read as one.
        for &i in &self.order_buf {
            let l = &labels[i as usize];
            key.push('\u{0}');
            key.push_str(l.name);
            key.push('=');
            let value = l.value();
            let _ = write!(key, "{}:", value.len());
            key.push_str(&value);
        }
        if let Some(&id) = self.by_key.get(key.as_str()) {
            return id;
        }
        let (metric, part) = resolve_metric(fam.name, fam.kind, s.name, s.part);
        let owned: Box<[(Box<str>, Box<str>)]> = self
            .order_buf
            .iter()
            .map(|&i| {
                let l = &labels[i as usize];
                (Box::from(l.name), Box::from(l.value().as_ref()))
            })
            .collect();
        let le = (part == Part::Bucket)
            .then(|| owned.iter().find(|(k, _)| &**k == "le"))
            .flatten()
            .and_then(|(_, v)| crate::expo::parse_number(v));
        if part == Part::Bucket && le.is_none() && metric.is_some() {
            let (k, v) = owned
                .iter()
                .find(|(k, _)| &**k == "le")
                .map_or(("le", "(no le label)"), |(k, v)| (&**k, &**v));
            self.quality.add(
                format!("{}_bucket{{{k}=\"{v}\"}}", strip_part(s.name)),
                "bad_le",
                "its bucket bound (le) is not a number; the histogram cannot be read".into(),
                seq,
                time,
            );
        }
        let id = self.series.len() as u32;
        let family_name = match (metric, fam.kind) {
            (Some(_), Kind::Unknown) if part != s.part => strip_part(s.name),
            _ => fam.name,
        };
        let family = match self.families.get(family_name) {
            Some(f) => f.clone(),
            None => {
                let f: std::sync::Arc<str> = family_name.into();
                self.families.insert(f.clone());
                f
            }
        };
        self.series.push(Series {
            family,
            part,
            labels: owned,
            le,
            metric,
            points: Points::default(),
            last_seen: u64::MAX,
        });
        self.by_key.insert(key.as_str().into(), id);
        if let Some(m) = metric {
            self.by_metric.entry(m).or_default().push(id);
        }
        id
    }
}

/// The newest sample timestamp, when every data sample has one.
fn observation_time(scrape: &Scrape<'_>) -> Option<f64> {
    let mut newest: Option<f64> = None;
    for s in scrape.data_samples() {
        let t = s.timestamp?;
        newest = Some(newest.map_or(t, |n: f64| n.max(t)));
    }
    newest
}

fn strip_part(name: &str) -> &str {
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suf| name.strip_suffix(suf))
        .unwrap_or(name)
}

/// The catalog metric of a sample. Untyped histogram parts (`x_bucket` with no `# TYPE`) are
/// recognised by their suffix when the catalog says the stem is a histogram.
fn resolve_metric(family: &str, kind: Kind, name: &str, part: Part) -> (Option<MetricRef>, Part) {
    if let Some(m) = catalog::lookup(family) {
        return (Some(m), part);
    }
    if kind == Kind::Unknown {
        for (suf, p) in [
            ("_bucket", Part::Bucket),
            ("_sum", Part::Sum),
            ("_count", Part::Count),
        ] {
            if let Some(stem) = name.strip_suffix(suf)
                && let Some(m) =
                    catalog::lookup(stem).filter(|m| m.metric_def().kind == MetricKind::Histogram)
            {
                return (Some(m), p);
            }
        }
    }
    (None, part)
}
