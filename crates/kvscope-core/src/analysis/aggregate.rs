//! The arithmetic every figure shares — counters since start and over the window, rates,
//! gauges, histograms — over all series of a metric or a chosen part of them (one row of a
//! breakdown). Spans, window lengths and restarts are worked out once per target per
//! analysis, and a breakdown groups series in one pass, so an analysis costs time in
//! proportion to the series it reads, however many label values there are.

use std::collections::HashMap;

use super::{Fig, Over};
use crate::catalog::MetricRef;
use crate::store::{HistogramWindow, Problem, Series, Span, TargetStore};

/// One target as an analysis reads it: its spans, worked out once.
#[derive(Debug)]
pub struct View<'a> {
    pub t: &'a TargetStore,
    /// The newest scrape's sequence number.
    pub newest: Option<u64>,
    since: Result<Span, String>,
    window: Result<Span, String>,
    window_secs: Option<f64>,
    pub restarts: &'a [u64],
}

impl<'a> View<'a> {
    /// `t`'s spans for a window of `window` seconds; one read from a Prometheus-compatible
    /// store ends at `now` (its query time), others at their newest scrape.
    pub fn new(t: &'a TargetStore, window: f64, now: Option<f64>) -> View<'a> {
        let end = now.filter(|_| t.kind == crate::vocab::InputKind::Prometheus);
        let window = t.window_ending(window, end);
        View {
            t,
            newest: t.newest().map(|s| s.seq),
            since: Over::SinceStart.span(t, 0.0),
            window_secs: window.as_ref().ok().and_then(|s| t.span_seconds(*s)),
            window,
            restarts: t.restarts(),
        }
    }

    /// `t` as it stood at the scrape `seq`, for figures read at one moment (gauges; a picture
    /// over time): it covers no span, so a figure over one is unknown from it.
    pub fn at(t: &'a TargetStore, seq: u64) -> View<'a> {
        let none = || Err("a view of one moment covers no span".to_string());
        View {
            t,
            newest: Some(seq),
            since: none(),
            window: none(),
            window_secs: None,
            restarts: t.restarts(),
        }
    }

    /// The span `over` covers, or why there is none.
    pub fn span(&self, over: Over) -> Result<Span, &str> {
        match over {
            Over::SinceStart => self.since.as_ref().copied().map_err(String::as_str),
            Over::Window => self.window.as_ref().copied().map_err(String::as_str),
        }
    }

    /// Seconds the window covers.
    pub fn window_seconds(&self) -> Fig {
        match (&self.window, self.window_secs) {
            (Err(e), _) => Fig::unknown(e.clone()),
            (Ok(_), Some(s)) => Fig::known(s),
            (Ok(_), None) => Fig::unknown("no capture times"),
        }
    }

    /// Seconds the window covers, when it covers any.
    fn positive_window_secs(&self) -> Result<f64, String> {
        self.span(Over::Window).map_err(str::to_string)?;
        match self.window_secs {
            Some(s) if s > 0.0 => Ok(s),
            _ => Err("the window covers no time".into()),
        }
    }
}

/// Views of `targets` for a window of `window` seconds, at `now` when the clock says it.
pub fn views<'a>(
    targets: impl Iterator<Item = &'a TargetStore>,
    window: f64,
    now: Option<f64>,
) -> Vec<View<'a>> {
    targets.map(|t| View::new(t, window, now)).collect()
}

/// Some series of one metric, per target. Every target that exports the metric has a part,
/// even when none of its series were chosen: "the metric is absent" (unknown) differs from
/// "no series of this label value" (zero).
#[derive(Debug)]
pub struct Sel<'v, 'a> {
    parts: Vec<(&'v View<'a>, Vec<&'a Series>)>,
}

impl<'v, 'a> Sel<'v, 'a> {
    /// Every series of `m`.
    pub fn all(views: &'v [View<'a>], m: MetricRef) -> Self {
        Sel::filtered(views, m, |_| true)
    }

    /// The series of `m` that `keep` accepts.
    pub fn filtered(views: &'v [View<'a>], m: MetricRef, keep: impl Fn(&Series) -> bool) -> Self {
        let parts = views
            .iter()
            .filter_map(|v| {
                let mut all = v.t.series_of(m).peekable();
                all.peek()?;
                Some((v, all.filter(|s| keep(s)).collect()))
            })
            .collect();
        Sel { parts }
    }

    /// Whether any target exports the metric.
    pub fn exported(&self) -> bool {
        !self.parts.is_empty()
    }

    /// Whether any series was chosen.
    pub fn chosen(&self) -> bool {
        self.parts.iter().any(|(_, ss)| !ss.is_empty())
    }

    fn series(&self) -> impl Iterator<Item = (&'v View<'a>, &'a Series)> + '_ {
        self.parts
            .iter()
            .flat_map(|(v, ss)| ss.iter().map(move |s| (*v, *s)))
    }
}

/// Series grouped by the value of one label, in one pass: the groups' label values in
/// first-seen order (over `metrics` in order), and per metric one [`Sel`] per group.
pub struct Groups<'v, 'a> {
    pub values: Vec<Option<&'a str>>,
    /// `sels[metric][group]`.
    sels: Vec<Vec<Sel<'v, 'a>>>,
}

impl<'v, 'a> Groups<'v, 'a> {
    /// Groups the series of `metrics` over `views` by `label` (`None`: the series has no such
    /// label, or an empty value: the same thing in Prometheus's data model, which drops empty
    /// labels, so a box read directly and through Prometheus group alike).
    pub fn by(views: &'v [View<'a>], metrics: &[MetricRef], label: &str) -> Self {
        let mut index: HashMap<Option<&'a str>, usize, foldhash::fast::RandomState> =
            HashMap::default();
        let mut values = Vec::new();
        // Per metric, per target exporting it: the group of each series.
        type InTarget<'v, 'a> = (&'v View<'a>, Vec<(usize, &'a Series)>);
        let mut assigned: Vec<Vec<InTarget>> = Vec::new();
        for &m in metrics {
            let mut per_target = Vec::new();
            for v in views {
                let mut in_target = Vec::new();
                for s in v.t.series_of(m) {
                    let key = s.label(label).filter(|v| !v.is_empty());
                    let g = *index.entry(key).or_insert_with(|| {
                        values.push(key);
                        values.len() - 1
                    });
                    in_target.push((g, s));
                }
                if !in_target.is_empty() {
                    per_target.push((v, in_target));
                }
            }
            assigned.push(per_target);
        }
        let groups = values.len();
        let sels = assigned
            .into_iter()
            .map(|per_target| {
                let mut sels: Vec<Sel> = (0..groups)
                    .map(|_| Sel {
                        parts: per_target.iter().map(|(v, _)| (*v, Vec::new())).collect(),
                    })
                    .collect();
                for (ti, (_, series)) in per_target.iter().enumerate() {
                    for &(g, s) in series {
                        sels[g].parts[ti].1.push(s);
                    }
                }
                sels
            })
            .collect();
        Groups { values, sels }
    }

    /// The selection of `metrics[metric]` in group `group`.
    pub fn sel(&self, metric: usize, group: usize) -> &Sel<'v, 'a> {
        &self.sels[metric][group]
    }
}

/// A figure resting on a value that cannot be used: unknown, naming the series.
pub fn bad_value(s: &Series, p: Problem) -> Fig {
    Fig::unknown(format!("{} {p}", s.describe()))
}

/// A counter-derived figure since process start and over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pair {
    pub since_start: Fig,
    pub window: Fig,
}

impl Pair {
    /// `self` as a share of `whole` (hit rates, tier shares), since start and over the window.
    pub fn share_of(&self, whole: &Pair, zero: &str, part_name: &str, whole_name: &str) -> Pair {
        Pair {
            since_start: self
                .since_start
                .share_of(&whole.since_start, zero, part_name, whole_name),
            window: self
                .window
                .share_of(&whole.window, zero, part_name, whole_name),
        }
    }
}

/// A counter summed over the selection, over `over`.
pub fn counter(sel: &Sel, over: Over, what: &str) -> Fig {
    if !sel.exported() {
        return Fig::unknown(format!("no {what} in the input"));
    }
    let mut total = 0.0;
    for (v, series) in &sel.parts {
        let span = match v.span(over) {
            Ok(s) => s,
            Err(e) => return Fig::unknown(e),
        };
        for s in series {
            match span.counter(s, v.restarts) {
                Ok(x) => total += x.unwrap_or(0.0),
                Err(p) => return bad_value(s, p),
            }
        }
    }
    Fig::known(total)
}

/// A counter since start and over the window.
pub fn pair(sel: &Sel, what: &str) -> Pair {
    Pair {
        since_start: counter(sel, Over::SinceStart, what),
        window: counter(sel, Over::Window, what),
    }
}

/// A counter that its exporter creates on its first event (prometheus_client's labelled
/// counters): absent while its siblings are exported (`siblings: Ok(())`), it is 0; absent
/// without them, it is unknown for the siblings' reason.
pub fn counter_from_first_event(
    sel: &Sel,
    over: Over,
    siblings: Result<(), &str>,
    what: &str,
) -> Fig {
    match (sel.exported(), siblings) {
        (true, _) => counter(sel, over, what),
        (false, Ok(())) => Fig::known(0.0),
        (false, Err(why)) => Fig::unknown(why),
    }
}

/// [`counter_from_first_event`] since start and over the window.
pub fn pair_from_first_event(sel: &Sel, siblings: Result<(), &str>, what: &str) -> Pair {
    Pair {
        since_start: counter_from_first_event(sel, Over::SinceStart, siblings, what),
        window: counter_from_first_event(sel, Over::Window, siblings, what),
    }
}

/// A counter's increase per second over the window, summed over targets.
pub fn rate(sel: &Sel, what: &str) -> Fig {
    if !sel.exported() {
        return Fig::unknown(format!("no {what} in the input"));
    }
    let mut total = 0.0;
    for (v, series) in &sel.parts {
        let (span, secs) = match (v.span(Over::Window), v.positive_window_secs()) {
            (Ok(span), Ok(secs)) => (span, secs),
            (Err(e), _) => return Fig::unknown(e),
            (_, Err(e)) => return Fig::unknown(e),
        };
        let mut grew = 0.0;
        for s in series {
            match span.counter(s, v.restarts) {
                Ok(x) => grew += x.unwrap_or(0.0),
                Err(p) => return bad_value(s, p),
            }
        }
        total += grew / secs;
    }
    Fig::known(total)
}

/// A gauge of a quantity (bytes, a depth, a lag, a count of adapters), summed over the
/// selection's series present in the newest scrapes; such a gauge cannot be negative.
pub fn gauge(sel: &Sel, what: &str) -> Fig {
    let mut total = None;
    for (v, s) in sel.series() {
        let Some(at) = v.newest else { continue };
        match s.checked_at(at) {
            Ok(Some(x)) if x < 0.0 => {
                return Fig::unknown(format!(
                    "{} is negative ({x}), which this gauge cannot be",
                    s.describe()
                ));
            }
            Ok(Some(x)) => *total.get_or_insert(0.0) += x,
            Ok(None) => {}
            Err(p) => return bad_value(s, p),
        }
    }
    total.map_or_else(
        || Fig::unknown(format!("no {what} in the newest scrape")),
        Fig::known,
    )
}

/// A gauge over the window, summed over the selection per scrape of each target and then over
/// targets: its value at the window's start, now, its least value, and whether it rose at
/// every scrape of the window.
#[derive(Debug, Clone, Copy, PartialEq)]
struct GaugeWindow {
    first: f64,
    last: f64,
    min: f64,
    /// Scrapes in the window (of the target with the most).
    scrapes: usize,
    /// Every step of the window went up (on every target).
    rose_every_scrape: bool,
}

/// [`GaugeWindow`] of the selection, or why there is none.
fn gauge_window(sel: &Sel, what: &str) -> Result<GaugeWindow, String> {
    if !sel.chosen() {
        return Err(format!("no {what} in the input"));
    }
    let mut out = GaugeWindow {
        first: 0.0,
        last: 0.0,
        min: 0.0,
        scrapes: 0,
        rose_every_scrape: true,
    };
    for (v, series) in &sel.parts {
        if series.is_empty() {
            continue;
        }
        let Span::Window { from, to } = v.span(Over::Window)? else {
            continue;
        };
        // The window's scrapes, newest last (scrapes are kept in order: look from the end).
        let mut seqs: Vec<u64> = (v.t.scrapes().iter().rev())
            .map(|m| m.seq)
            .skip_while(|s| *s > to)
            .take_while(|s| *s >= from)
            .collect();
        seqs.reverse();
        // Per scrape, the sum over the series present in it.
        let mut sums: Vec<Option<f64>> = vec![None; seqs.len()];
        for s in series {
            for (i, x) in s.checked_at_each(&seqs).into_iter().enumerate() {
                match x {
                    Ok(Some(x)) => *sums[i].get_or_insert(0.0) += x,
                    Ok(None) => {}
                    Err(p) => return Err(format!("{} {p}", s.describe())),
                }
            }
        }
        let values: Vec<f64> = sums.into_iter().flatten().collect();
        let (Some(first), Some(last)) = (values.first(), values.last()) else {
            return Err(format!("no {what} in the window"));
        };
        out.first += first;
        out.last += last;
        out.min += values.iter().copied().fold(f64::INFINITY, f64::min);
        out.scrapes = out.scrapes.max(values.len());
        out.rose_every_scrape &= values.windows(2).all(|w| w[1] > w[0]);
    }
    if out.scrapes < 2 {
        return Err(format!("{what}: the window holds fewer than two scrapes"));
    }
    Ok(out)
}

/// A gauge's movement over the window, as figures: how much it changed, its least value, and
/// whether it rose at every scrape (`null` when unknown; each `null` figure says why).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Trend {
    pub change: Fig,
    pub min: Fig,
    pub rose_every_scrape: Option<bool>,
    pub scrapes: usize,
}

/// [`Trend`] of a gauge selection.
pub fn trend(sel: &Sel, what: &str) -> Trend {
    match gauge_window(sel, what) {
        Ok(g) => Trend {
            change: Fig::known(g.last - g.first),
            min: Fig::known(g.min),
            rose_every_scrape: Some(g.rose_every_scrape),
            scrapes: g.scrapes,
        },
        Err(e) => Trend {
            change: Fig::unknown(e.clone()),
            min: Fig::unknown(e),
            rose_every_scrape: None,
            scrapes: 0,
        },
    }
}

/// Whether any series of the selection has a value in its target's newest scrape.
pub fn present(sel: &Sel) -> bool {
    sel.series()
        .any(|(v, s)| v.newest.is_some_and(|at| s.value_at(at).is_some()))
}

/// The selection's histogram over `over`, merged over targets; `Ok(None)` when nothing of it
/// is in the span.
pub fn histogram(sel: &Sel, over: Over) -> Result<Option<HistogramWindow>, String> {
    let mut out: Option<HistogramWindow> = None;
    for (v, series) in &sel.parts {
        let span = v.span(over).map_err(str::to_string)?;
        if let Some(h) = v.t.histogram_of(series.iter().copied(), span, v.restarts)? {
            match &mut out {
                Some(o) => o.merge(&h),
                None => out = Some(h),
            }
        }
    }
    Ok(out)
}

/// The selection's mean observation since start.
pub fn mean(sel: &Sel) -> Fig {
    match histogram(sel, Over::SinceStart) {
        Err(e) => Fig::unknown(e),
        Ok(Some(h)) => h
            .mean()
            .map_or_else(|| Fig::unknown("no observations"), Fig::known),
        Ok(None) => Fig::unknown("no throughput histogram for this label value"),
    }
}

/// Histogram summary: mean and quantiles since start, and over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Distribution {
    #[serde(flatten)]
    pub since_start: Summary,
    pub window: Summary,
}

/// Mean, quantiles and count of one span of a histogram. Each quantile is interpolated inside
/// its bucket; `pNN_bucket` gives that bucket's bounds (`[lower, upper]`, `null` for `+Inf`),
/// all the histogram knows of it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub mean: Fig,
    pub p50: Fig,
    pub p50_bucket: Option<Bucket>,
    pub p90: Fig,
    pub p90_bucket: Option<Bucket>,
    pub p99: Fig,
    pub p99_bucket: Option<Bucket>,
    pub count: Fig,
}

/// A histogram bucket's bounds: `[lower, upper]`, upper `null` for `+Inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket(pub f64, pub f64);

impl serde::Serialize for Bucket {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hi = self.1.is_finite().then_some(self.1);
        (self.0, hi).serialize(s)
    }
}

impl Summary {
    /// A quantile as people should read it: the value where its bucket is narrow (upper at
    /// most twice lower), else the bucket as a range (`0–5`, `> 5` past the last bound), since
    /// a value interpolated inside a wide bucket is an artifact, not a measurement.
    pub fn shown(value: &Fig, bucket: Option<Bucket>) -> String {
        match (value.value(), bucket) {
            (Some(_), Some(Bucket(lo, hi))) if hi.is_infinite() => {
                format!("> {}", crate::units::count(Some(lo)))
            }
            (Some(_), Some(Bucket(lo, hi))) if hi > 2.0 * lo => format!(
                "{}–{}",
                crate::units::count(Some(lo)),
                crate::units::count(Some(hi))
            ),
            _ => value.count(),
        }
    }
}

impl Summary {
    fn unknown(why: &str) -> Summary {
        let f = || Fig::unknown(why);
        Summary {
            mean: f(),
            p50: f(),
            p50_bucket: None,
            p90: f(),
            p90_bucket: None,
            p99: f(),
            p99_bucket: None,
            count: f(),
        }
    }

    fn of(sel: &Sel, over: Over, what: &str) -> Summary {
        let all = |f: Fig| Summary {
            mean: f.clone(),
            p50: f.clone(),
            p50_bucket: None,
            p90: f.clone(),
            p90_bucket: None,
            p99: f.clone(),
            p99_bucket: None,
            count: f,
        };
        match histogram(sel, over) {
            Err(e) => all(Fig::unknown(e)),
            Ok(None) => all(Fig::unknown(format!("no {what} histogram in the input"))),
            Ok(Some(h)) => {
                let none = || Fig::unknown("no observations in this span");
                let q = |q: f64| h.quantile(q).map_or_else(none, Fig::known);
                let b = |q: f64| h.quantile_bucket(q).map(|(lo, hi)| Bucket(lo, hi));
                Summary {
                    mean: h.mean().map_or_else(none, Fig::known),
                    p50: q(0.5),
                    p50_bucket: b(0.5),
                    p90: q(0.9),
                    p90_bucket: b(0.9),
                    p99: q(0.99),
                    p99_bucket: b(0.99),
                    count: Fig::known(h.count),
                }
            }
        }
    }
}

/// A histogram metric's distribution over the selection; without `since_start`, only over
/// the window (judging reads no more), the rest unknown.
pub fn distribution(sel: &Sel, what: &str, since_start: bool) -> Distribution {
    Distribution {
        since_start: if since_start {
            Summary::of(sel, Over::SinceStart, what)
        } else {
            Summary::unknown("left out while judging")
        },
        window: Summary::of(sel, Over::Window, what),
    }
}
