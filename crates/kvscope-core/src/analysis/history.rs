//! Figures over time, for sparklines: one value per pair of consecutive scrapes, over the
//! newest `intervals` of them (a sparkline never shows more than its width).

use std::collections::VecDeque;

use crate::catalog::MetricRef;
use crate::metric;
use crate::store::TargetStore;

/// A counter's increase between each pair of consecutive scrapes, summed over its series
/// (series absent at an interval's end add nothing, as in the windowed figures); `None` for
/// an interval resting on a value that is not a usable count.
fn increases(t: &TargetStore, m: MetricRef, intervals: usize) -> Vec<Option<f64>> {
    let restarts = t.restarts();
    let skip = t.scrapes().len().saturating_sub(intervals + 1);
    let seqs: Vec<u64> = t.scrapes().iter().skip(skip).map(|s| s.seq).collect();
    let mut total = vec![Some(0.0); seqs.len().saturating_sub(1)];
    for s in t.series_of(m) {
        for (sum, inc) in total.iter_mut().zip(s.increases(&seqs, restarts)) {
            *sum = match inc {
                Ok(inc) => sum.map(|x| x + inc.unwrap_or(0.0)),
                Err(_) => None,
            };
        }
    }
    total
}

/// LMCache lookup hit rate between each pair of consecutive scrapes of `t`, oldest first;
/// `None` where no tokens were looked up in that interval.
pub fn lookup_hit_rate(t: &TargetStore, intervals: usize) -> Vec<Option<f64>> {
    let req = increases(
        t,
        metric!("lmcache_mp.lookup", "requested_tokens"),
        intervals,
    );
    let hit = increases(t, metric!("lmcache_mp.lookup", "hit_tokens"), intervals);
    // Hits above requests in an interval: the counters disagree, so that rate is unknown.
    req.iter()
        .zip(&hit)
        .map(|(&r, &h)| match (r, h) {
            (Some(r), Some(h)) if r > 0.0 && h <= r => Some(h / r),
            _ => None,
        })
        .collect()
}

/// L1 evictions per second between consecutive scrapes (needs capture times).
pub fn l1_evictions_per_s(t: &TargetStore, intervals: usize) -> Vec<Option<f64>> {
    let n = increases(t, metric!("lmcache_mp.l1_counters", "evicted"), intervals);
    let skip = t.scrapes().len().saturating_sub(intervals + 1);
    let times: Vec<Option<f64>> = t.scrapes().iter().skip(skip).map(|s| s.time).collect();
    times
        .windows(2)
        .zip(n)
        .map(|(w, n)| {
            let secs = w[1]? - w[0]?;
            (secs > 0.0).then(|| n.map(|n| n / secs)).flatten()
        })
        .collect()
}

/// L1 usage (a fraction) at each of the newest `points` scrapes, oldest first, as the L1 figure
/// reads it at that moment (`figures::l1_memory`); `None` where it was unknown.
pub fn l1_usage(t: &TargetStore, points: usize) -> Vec<Option<f64>> {
    let skip = t.scrapes().len().saturating_sub(points);
    t.scrapes()
        .iter()
        .skip(skip)
        .map(|s| {
            super::figures::l1_memory(&[super::aggregate::View::at(t, s.seq)])
                .usage_ratio
                .value()
        })
        .collect()
}

/// The mean L1 usage (a fraction) over the newest `points` scrapes that follow the first
/// interval in which L1 evicted: what L1 held while it was full enough to evict (before that
/// it had dropped nothing, so its size did not matter). `None` before any eviction or without
/// the usage figure.
pub fn l1_occupancy(t: &TargetStore, points: usize) -> Option<f64> {
    let evicted = increases(t, metric!("lmcache_mp.l1_counters", "evicted"), points);
    let first = evicted.iter().position(|n| n.is_some_and(|n| n > 0.0))?;
    // Interval i ends at scrape i + 1 of the same newest points + 1 scrapes.
    let usage = l1_usage(t, points + 1);
    let held: Vec<f64> = usage[first + 1..].iter().flatten().copied().collect();
    (!held.is_empty()).then(|| held.iter().sum::<f64>() / held.len() as f64)
}

/// One target's sparkline series kept from one picture to the next: each picture computes the
/// points of the scrapes that came since the last, not all of them again. A point never
/// changes once its scrape is in (its values, times and restarts are those of scrapes already
/// taken), so the series equal those computed afresh; a store that no longer holds the newest
/// scrape taken in (a model rebuilt) starts them over.
#[derive(Debug, Clone, Default)]
pub struct Trail {
    /// The newest scrape taken in: its number and capture time.
    last: Option<(u64, Option<u64>)>,
    /// [`lookup_hit_rate`], [`l1_evictions_per_s`] and [`l1_usage`] over the newest
    /// `points`.
    pub hit_rate: VecDeque<Option<f64>>,
    pub evictions_per_s: VecDeque<Option<f64>>,
    pub l1_usage: VecDeque<Option<f64>>,
}

impl Trail {
    /// Brings the series up to `t`'s newest scrape, keeping the newest `points`.
    pub fn follow(&mut self, t: &TargetStore, points: usize) {
        let key = |s: &crate::store::ScrapeMeta| (s.seq, s.time.map(f64::to_bits));
        let scrapes = t.scrapes();
        let new = match self.last {
            Some(last) => scrapes.iter().rev().position(|s| key(s) == last),
            None => None,
        };
        let n = new.unwrap_or(points).min(points);
        if new.is_none() {
            *self = Trail::default();
        }
        if n > 0 {
            self.hit_rate.extend(lookup_hit_rate(t, n));
            self.evictions_per_s.extend(l1_evictions_per_s(t, n));
            self.l1_usage.extend(l1_usage(t, n));
        }
        for series in [
            &mut self.hit_rate,
            &mut self.evictions_per_s,
            &mut self.l1_usage,
        ] {
            series.drain(..series.len().saturating_sub(points));
        }
        self.last = scrapes.back().map(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expo::parse;

    #[test]
    fn per_interval_hit_rate_on_the_real_timeline() {
        let mut t = TargetStore::new("run1", 64);
        for i in [18, 20, 22] {
            let path = format!(
                "{}/../../fixtures/lmcache-0.5.6-cpu-run1/metrics_t{i}.prom",
                env!("CARGO_MANIFEST_DIR")
            );
            let body = std::fs::read(path).unwrap();
            t.ingest(&parse(&body).unwrap(), Some(i as f64));
        }
        let h = lookup_hit_rate(&t, 512);
        assert_eq!(h.len(), 2);
        assert_eq!(lookup_hit_rate(&t, 1), h[1..], "the newest interval only");
        assert!(h.iter().all(|x| x.is_none_or(|v| (0.0..=1.0).contains(&v))));
        // The one-pass sum agrees with the windowed figure on each interval.
        let req = metric!("lmcache_mp.lookup", "requested_tokens");
        let hit = metric!("lmcache_mp.lookup", "hit_tokens");
        let seqs: Vec<u64> = t.scrapes().iter().map(|s| s.seq).collect();
        for (k, w) in seqs.windows(2).enumerate() {
            let sum = |m| {
                t.series_of(m)
                    .filter_map(|s| s.increase(w[0], w[1], &[]).unwrap())
                    .sum::<f64>()
            };
            let want = (sum(req) > 0.0).then(|| sum(hit) / sum(req));
            assert_eq!(h[k], want);
        }
    }

    /// The real run's 32 scrapes taken in one, two or five at a time: the kept series equal
    /// those computed afresh at every step, hold at most the points asked, and start over
    /// for a store rebuilt from its start.
    #[test]
    fn a_trail_equals_the_series_computed_afresh() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lmcache-0.5.6-cpu-run1/"
        );
        let bodies: Vec<Vec<u8>> = (0..32)
            .map(|i| std::fs::read(format!("{dir}metrics_t{i}.prom")).unwrap())
            .collect();
        for (step, points) in [(1, 512), (2, 7), (5, 3)] {
            let mut t = TargetStore::new("run1", 64);
            let mut trail = Trail::default();
            for (k, body) in bodies.iter().enumerate() {
                t.ingest(&parse(body).unwrap(), Some(1000.0 + k as f64));
                if k % step != step - 1 {
                    continue;
                }
                trail.follow(&t, points);
                assert_eq!(
                    Vec::from(trail.hit_rate.clone()),
                    lookup_hit_rate(&t, points)
                );
                assert_eq!(
                    Vec::from(trail.evictions_per_s.clone()),
                    l1_evictions_per_s(&t, points)
                );
                assert_eq!(Vec::from(trail.l1_usage.clone()), l1_usage(&t, points));
                assert!(trail.l1_usage.len() <= points);
            }
            assert!(trail.hit_rate.iter().any(Option::is_some), "real hit rates");
            // The same store rebuilt, three scrapes in: the trail follows it, not the old one.
            let mut again = TargetStore::new("run1", 64);
            for (k, body) in bodies.iter().take(3).enumerate() {
                again.ingest(&parse(body).unwrap(), Some(1000.0 + k as f64));
            }
            trail.follow(&again, points);
            assert_eq!(Vec::from(trail.l1_usage.clone()), l1_usage(&again, points));
            assert_eq!(
                Vec::from(trail.hit_rate.clone()),
                lookup_hit_rate(&again, points)
            );
        }
    }
}
