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

impl TargetStore {
    /// A histogram metric over `span`, summed over the series `keep` accepts. `None` when no
    /// series of the metric has a `_count` in the span.
    pub fn histogram(
        &self,
        m: MetricRef,
        span: Span,
        keep: impl Fn(&Series) -> bool,
    ) -> Option<HistogramWindow> {
        let restarts = self.restarts();
        let mut out = HistogramWindow::default();
        let mut any = false;
        for s in self.series_of(m).filter(|s| keep(s)) {
            let Some(v) = span.counter(s, &restarts) else {
                continue;
            };
            match s.part {
                Part::Count => {
                    any = true;
                    out.count += v;
                }
                Part::Sum => out.sum += v,
                Part::Bucket => {
                    let Some(le) = s.le else { continue };
                    match out.buckets.iter_mut().find(|b| b.0 == le) {
                        Some(b) => b.1 += v,
                        None => out.buckets.push((le, v)),
                    }
                }
                _ => {}
            }
        }
        out.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        any.then_some(out)
    }
}
