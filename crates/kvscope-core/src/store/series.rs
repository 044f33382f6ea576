//! One series and the arithmetic over its values: the checks a value must pass (finite, not
//! negative for counters, no disagreeing duplicate), counter increases across resets and
//! restarts, and the span of history a figure covers.

use super::points::Points;
use crate::catalog::{MetricKind, MetricRef};
use crate::expo::Part;

/// One series: a sample name and its label set.
#[derive(Debug)]
pub struct Series {
    /// The exposition family (the `# TYPE` name, or the sample name when untyped), shared by
    /// every series of the family.
    pub family: std::sync::Arc<str>,
    pub part: Part,
    pub labels: Box<[(Box<str>, Box<str>)]>,
    /// Upper bound of a histogram bucket.
    pub le: Option<f64>,
    pub metric: Option<MetricRef>,
    pub(super) points: Points,
    /// The newest scrape the series was in (`u64::MAX` until its first).
    pub(super) last_seen: u64,
    /// The newest scrape whose value breaks plain subtraction (`u64::MAX`: none): a drop, a
    /// value that is not a usable number, a conflict, a return after absence. Up to it,
    /// [`Series::increase`] walks the points; past it, it subtracts.
    irregular: u64,
}

/// Marks "absent from this scrape"; a NaN payload the parser never produces.
pub(super) const ABSENT_BITS: u64 = 0x7ff8_0000_dead_beef;
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

    /// [`Series::checked_at`] at each of `seqs` (ascending), in one pass over the points: what
    /// a gauge over a window needs.
    pub fn checked_at_each(&self, seqs: &[u64]) -> Vec<Result<Option<f64>, Problem>> {
        let Some(&first) = seqs.first() else {
            return Vec::new();
        };
        let mut points = self.points.after(first).peekable();
        let mut at = self.points.value_at(first);
        let check_as = self.check();
        seqs.iter()
            .map(|&seq| {
                while let Some((_, v)) = points.next_if(|p| p.0 <= seq) {
                    at = Some(v);
                }
                at.filter(|v| !is_absent(*v))
                    .map(|v| check(v, check_as))
                    .transpose()
            })
            .collect()
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
        // Nothing irregular after `from` and no restart: the increase is a subtraction.
        if (self.irregular == u64::MAX || self.irregular <= from)
            && !restarted_between(restarts, from, to)
        {
            let check_as = self.check();
            let at = |seq: u64| self.points.value_at(seq).filter(|v| !is_absent(*v));
            // A bad value at either end: the walk below says which.
            match (
                at(from).map(|v| check(v, check_as)),
                at(to).map(|v| check(v, check_as)),
            ) {
                (Some(Err(_)), _) | (_, Some(Err(_))) => {}
                (_, None) => return Ok(None),
                (f, Some(Ok(t))) => return Ok(Some(t - f.and_then(Result::ok).unwrap_or(0.0))),
            }
        }
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

impl Series {
    /// A series first seen now, not yet in any scrape.
    pub(super) fn new(
        family: std::sync::Arc<str>,
        part: Part,
        labels: Box<[(Box<str>, Box<str>)]>,
        le: Option<f64>,
        metric: Option<MetricRef>,
    ) -> Series {
        Series {
            family,
            part,
            labels,
            le,
            metric,
            points: Points::default(),
            last_seen: u64::MAX,
            irregular: u64::MAX,
        }
    }

    /// Stores the value of scrape `seq` when it differs from the last one kept, or always when
    /// `every` (after a restart an unchanged counter is not "no activity").
    pub(super) fn record(&mut self, seq: u64, value: f64, every: bool) {
        self.last_seen = seq;
        let last = self.points.back().map(|p| p.1);
        let regular = match last {
            None => true,
            Some(l) if is_absent(l) => false,
            Some(l) => check(value, self.check()).is_ok() && value >= l,
        };
        if !regular || check(value, self.check()).is_err() {
            self.irregular = seq;
        }
        if every || last.is_none_or(|l| l.to_bits() != value.to_bits()) {
            self.points.push_back((seq, value));
        }
    }

    /// A second sample of the series in scrape `seq` (its value already recorded): when it
    /// disagrees, the scrape's value becomes a conflict. Whether it newly did.
    pub(super) fn record_duplicate(&mut self, seq: u64, value: f64) -> bool {
        let Some((at, before)) = self.points.back() else {
            return false;
        };
        if before.to_bits() == value.to_bits() || before.to_bits() == CONFLICT_BITS {
            return false;
        }
        let conflict = f64::from_bits(CONFLICT_BITS);
        self.irregular = seq;
        if at == seq {
            self.points.set_last_value(conflict);
        } else {
            self.points.push_back((seq, conflict));
        }
        true
    }

    /// Marks the series absent from scrape `seq` if it was not in it.
    pub(super) fn mark_absent_unless_seen(&mut self, seq: u64) {
        if self.last_seen != seq && self.points.back().is_some_and(|p| !is_absent(p.1)) {
            self.points.push_back((seq, f64::from_bits(ABSENT_BITS)));
        }
    }

    /// Forgets points older than scrape `oldest` (keeping the value in force then).
    pub(super) fn trim(&mut self, oldest: u64) {
        self.points.trim(oldest);
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
