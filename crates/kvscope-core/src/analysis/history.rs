//! Figures over time, for sparklines: one value per pair of consecutive scrapes, over the
//! newest `intervals` of them (a sparkline never shows more than its width).

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
}
