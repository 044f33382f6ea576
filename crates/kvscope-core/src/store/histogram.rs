//! Histogram windows: bucket increases → mean and quantiles.

use super::{Series, Span, TargetStore};
use crate::catalog::MetricRef;
use crate::expo::Part;

/// A histogram over a span, summed across the selected label sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramWindow {
    pub count: f64,
    pub sum: f64,
    /// (upper bound, cumulative count), sorted by bound; `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
}

impl HistogramWindow {
    /// Mean observation, when anything was observed.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }

    /// Quantile by linear interpolation within the bucket (Prometheus' `histogram_quantile`).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        quantile(q, &self.buckets)
    }

    /// The bounds of the bucket the `q` quantile falls in: all a histogram knows of it.
    pub fn quantile_bucket(&self, q: f64) -> Option<(f64, f64)> {
        quantile_bucket(q, &self.buckets)
    }
}

/// The `(lower, upper)` bounds of the bucket holding the `q` quantile (the upper `+Inf` for an
/// observation past the last finite bound; the lower 0 for the first bucket).
pub fn quantile_bucket(q: f64, buckets: &[(f64, f64)]) -> Option<(f64, f64)> {
    let total = buckets.last()?.1;
    if !(0.0..=1.0).contains(&q) || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower = (0.0f64, 0.0);
    for &(le, count) in buckets {
        if count >= rank && count > lower.1 {
            return Some((lower.0.min(le), le));
        }
        lower = (le, count);
    }
    None
}

/// `q` in 0..=1 over cumulative `(le, count)` buckets sorted by `le`. An observation in the
/// `+Inf` bucket is reported as the highest finite bound (the true value is unknowable).
pub fn quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let total = buckets.last()?.1;
    if !(0.0..=1.0).contains(&q) || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower_bound = 0.0;
    let mut lower_count = 0.0;
    for (i, &(le, count)) in buckets.iter().enumerate() {
        if count >= rank && count > lower_count {
            if le.is_infinite() {
                return buckets[..i]
                    .iter()
                    .rev()
                    .map(|b| b.0)
                    .find(|b| b.is_finite())
                    .or(Some(lower_bound));
            }
            // A first bucket with a negative bound has no lower edge to interpolate from.
            if i == 0 && le <= 0.0 {
                return Some(le);
            }
            return Some(
                lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count),
            );
        }
        lower_bound = le;
        lower_count = count;
    }
    None
}

impl HistogramWindow {
    /// Adds another histogram over the same quantity (another target, another label set).
    /// Where their bucket bounds differ, each side's cumulative count at a bound is its count
    /// at its own largest bound at or below it, so the sum stays cumulative.
    pub fn merge(&mut self, other: &HistogramWindow) {
        self.count += other.count;
        self.sum += other.sum;
        let at = |buckets: &[(f64, f64)], le: f64| {
            let i = buckets.partition_point(|b| b.0 <= le);
            i.checked_sub(1).map_or(0.0, |i| buckets[i].1)
        };
        let mut bounds: Vec<f64> = self
            .buckets
            .iter()
            .chain(&other.buckets)
            .map(|b| b.0)
            .collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        self.buckets = bounds
            .into_iter()
            .map(|le| (le, at(&self.buckets, le) + at(&other.buckets, le)))
            .collect();
    }
}

/// Whether two counts agree, allowing for floating-point sums.
fn same_count(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl TargetStore {
    /// A histogram metric over `span`, summed over the series `keep` accepts. `Ok(None)` when
    /// no series of the metric has a `_count` in the span. An error names what makes the
    /// histogram unreadable: a value that is not a usable count, a bucket bound that is not a
    /// number, buckets that are not cumulative, no `+Inf` bucket, a `_count` that differs from
    /// the `+Inf` bucket, or a negative sum (every catalog histogram measures a quantity that
    /// cannot be negative: durations, sizes, throughputs).
    pub fn histogram(
        &self,
        m: MetricRef,
        span: Span,
        keep: impl Fn(&Series) -> bool,
    ) -> Result<Option<HistogramWindow>, String> {
        self.histogram_of(self.series_of(m).filter(|s| keep(s)), span, self.restarts())
    }

    /// [`TargetStore::histogram`] over given series of one histogram metric of this target,
    /// with its restarts.
    pub fn histogram_of<'s>(
        &self,
        series: impl Iterator<Item = &'s Series>,
        span: Span,
        restarts: &[u64],
    ) -> Result<Option<HistogramWindow>, String> {
        let mut out = HistogramWindow::default();
        let mut any = false;
        let mut name: Option<&str> = None;
        for s in series {
            let v = match span.counter(s, restarts) {
                Ok(Some(v)) => v,
                Ok(None) => continue,
                Err(p) => return Err(format!("{} {p}", s.describe())),
            };
            name.get_or_insert(&s.family);
            match s.part {
                Part::Count => {
                    any = true;
                    out.count += v;
                }
                Part::Sum => out.sum += v,
                Part::Bucket => {
                    let Some(le) = s.le else {
                        return Err(format!(
                            "{} has a bucket bound (le) that is not a number",
                            s.describe()
                        ));
                    };
                    out.buckets.push((le, v));
                }
                _ => {}
            }
        }
        if !any {
            return Ok(None);
        }
        // Label sets of one metric share bounds: sort once, then add up equal bounds.
        out.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.buckets.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                first.1 += later.1;
            }
            same
        });
        let name = name.unwrap_or("?");
        if let Some(&(le, inf)) = out.buckets.last() {
            if le != f64::INFINITY {
                return Err(format!(
                    "{name} has no +Inf bucket; its quantiles cannot be read"
                ));
            }
            if let Some(w) = out
                .buckets
                .windows(2)
                .find(|w| w[1].1 < w[0].1 && !same_count(w[1].1, w[0].1))
            {
                return Err(format!(
                    "{name}'s buckets are not cumulative: le={} holds {} but le={} holds {}",
                    w[0].0, w[0].1, w[1].0, w[1].1
                ));
            }
            if !same_count(inf, out.count) {
                return Err(format!(
                    "{name}: _count ({}) differs from the +Inf bucket ({inf})",
                    out.count
                ));
            }
        }
        if out.sum < 0.0 {
            return Err(format!(
                "{name}_sum is negative ({}) for a quantity that cannot be",
                out.sum
            ));
        }
        Ok(Some(out))
    }
}
