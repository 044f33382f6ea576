//! `store`: per-target time series, bounded, and the arithmetic over them (counter increases
//! with reset handling, histogram windows).
//!
//! Series are kept as change points: a value is written only when it differs from the one
//! before, so an idle hour of a mostly constant scrape costs almost nothing. Scrape times are
//! kept once per target, not per series.

mod histogram;
mod points;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};

use crate::catalog::{self, MetricKind, MetricRef};
use crate::expo::{Kind, LineError, Part, Scrape};

pub use histogram::{HistogramWindow, quantile};
use points::Points;

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
    pub family: Box<str>,
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

fn is_absent(v: f64) -> bool {
    v.to_bits() == ABSENT_BITS
}

impl Series {
    /// Value in the scrape with this sequence number; `None` when absent then.
    pub fn value_at(&self, seq: u64) -> Option<f64> {
        let v = self.points.value_at(seq)?;
        (!is_absent(v)).then_some(v)
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
    /// and prometheus_client create counters lazily). `None` when absent at `to`.
    pub fn increase(&self, from: u64, to: u64, restarts: &[u64]) -> Option<f64> {
        let mut points = self.points.after(from).peekable();
        grow(&mut points, self.points.value_at(from), from, to, restarts).0
    }

    /// [`Series::increase`] over each pair of consecutive `seqs` (ascending), in one pass over
    /// the points: what per-interval sparklines need.
    pub fn increases(&self, seqs: &[u64], restarts: &[u64]) -> Vec<Option<f64>> {
        let Some(&first) = seqs.first() else {
            return Vec::new();
        };
        let mut points = self.points.after(first).peekable();
        let mut at = self.points.value_at(first);
        seqs.windows(2)
            .map(|w| {
                let (inc, end) = grow(&mut points, at, w[0], w[1], restarts);
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

/// A counter's growth from `from` to `to`: `at` is its raw value at `from` and `points` yields
/// the points after `from`; consumes those up to `to`. Returns the increase (`None` when absent
/// at `to`) and the raw value at `to`.
fn grow(
    points: &mut std::iter::Peekable<impl Iterator<Item = (u64, f64)>>,
    mut at: Option<f64>,
    from: u64,
    to: u64,
    restarts: &[u64],
) -> (Option<f64>, Option<f64>) {
    let mut prev = at.filter(|v| !is_absent(*v)).unwrap_or(0.0);
    let mut prev_seq = from;
    let mut total = 0.0;
    while let Some((seq, v)) = points.next_if(|p| p.0 <= to) {
        at = Some(v);
        if is_absent(v) {
            continue;
        }
        let reset = v < prev || restarts.iter().any(|&r| r > prev_seq && r <= seq);
        total += if reset { v } else { v - prev };
        prev = v;
        prev_seq = seq;
    }
    (at.filter(|v| !is_absent(*v)).map(|_| total), at)
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
    /// A counter's figure over this span.
    pub fn counter(self, s: &Series, restarts: &[u64]) -> Option<f64> {
        match self {
            Span::SinceStart { at } => s.value_at(at),
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

/// The newest answer of one LMCache HTTP route, or why it is not read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RouteAnswer {
    /// The path asked for (its spelling depends on the server's version).
    pub path: &'static str,
    pub time: f64,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The body as JSON, when it was JSON.
    pub json: Option<serde_json::Value>,
    /// The body as text when it was not JSON (`/threads`).
    pub text: Option<String>,
    /// Why there is no answer (unreachable, too large ...).
    pub error: Option<String>,
    /// When an answer last differed from the one before it (`None`: never seen to change).
    pub changed: Option<f64>,
    /// Why kvscope does not read this route (not offered, needs `--allow-env`).
    pub skipped: Option<&'static str>,
}

impl RouteAnswer {
    /// The same answer as `other`, ignoring when each was read.
    pub fn same_body(&self, other: &RouteAnswer) -> bool {
        self.status == other.status
            && self.json == other.json
            && self.text == other.text
            && self.error == other.error
    }
}

/// Everything kept about one target.
#[derive(Debug)]
pub struct TargetStore {
    pub name: String,
    scrapes: VecDeque<ScrapeMeta>,
    series: Vec<Series>,
    by_key: HashMap<Box<str>, u32>,
    by_metric: HashMap<MetricRef, Vec<u32>>,
    /// Families declared in the newest scrape.
    pub declared: Vec<DeclaredFamily>,
    capacity: usize,
    next_seq: u64,
    /// Scrapes that repeated the newest observation and were not stored.
    pub repeats: u64,
    /// Series dropped because no retained scrape has them.
    pub pruned: u64,
    /// Newest answer per LMCache HTTP route (`status`, `config`, `version`, `healthcheck` ...).
    pub routes: std::collections::BTreeMap<&'static str, RouteAnswer>,
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
            by_key: HashMap::new(),
            by_metric: HashMap::new(),
            declared: Vec::new(),
            capacity: capacity.max(2),
            next_seq: 0,
            repeats: 0,
            pruned: 0,
            routes: Default::default(),
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
    /// stored again, so a frozen exporter shows no invented motion.
    pub fn ingest(&mut self, scrape: &Scrape<'_>, time: Option<f64>) -> &ScrapeMeta {
        let observed = observation_time(scrape);
        if let (Some(o), Some(newest)) = (observed, self.scrapes.back())
            && newest.observed == Some(o)
        {
            self.repeats += 1;
            return self.scrapes.back().expect("checked");
        }
        let time = observed.or(time);
        let seq = self.next_seq;
        self.next_seq += 1;
        let process_start = scrape
            .data_samples()
            .find(|s| s.name == "process_start_time_seconds")
            .map(|s| s.value);
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
            let id = self.series_id(scrape, s);
            let series = &mut self.series[id as usize];
            if series.last_seen == seq && series.points.back().is_some_and(|p| p.0 == seq) {
                duplicates += 1;
                series.points.set_last_value(s.value);
                continue;
            }
            series.last_seen = seq;
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
        // Series absent from every retained scrape (label churn: a tenant, model or adapter
        // gone) change no figure; dropping them keeps memory bounded by the history.
        let dead = self.series.iter().filter(|s| s.last_seen < oldest).count();
        if dead >= 64 || (dead > 0 && dead * 4 >= self.series.len()) {
            self.prune(oldest);
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
        self.pruned += remap.iter().filter(|r| r.is_none()).count() as u64;
    }

    fn series_id(&mut self, scrape: &Scrape<'_>, s: &crate::expo::Sample<'_>) -> u32 {
        let fam = scrape.family(s);
        let labels = scrape.labels(s);
        self.order_buf.clear();
        self.order_buf.extend(0..labels.len() as u32);
        self.order_buf
            .sort_unstable_by_key(|&i| labels[i as usize].name);
        let key = &mut self.key_buf;
        key.clear();
        key.push_str(s.name);
        for &i in &self.order_buf {
            let l = &labels[i as usize];
            key.push('\u{0}');
            key.push_str(l.name);
            key.push('=');
            l.push_value(key);
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
        let id = self.series.len() as u32;
        let family: Box<str> = match (metric, fam.kind) {
            (Some(_), Kind::Unknown) if part != s.part => strip_part(s.name).into(),
            _ => fam.name.into(),
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
