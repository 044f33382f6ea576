//! Figures over time, for sparklines: one value per pair of consecutive scrapes.

use crate::catalog::metric_ref;
use crate::store::{Span, TargetStore};

/// LMCache lookup hit rate between each pair of consecutive scrapes of `t`, oldest first;
/// `None` where no tokens were looked up in that interval.
pub fn lookup_hit_rate(t: &TargetStore) -> Vec<Option<f64>> {
    let req = metric_ref("lmcache_mp.lookup", "requested_tokens");
    let hit = metric_ref("lmcache_mp.lookup", "hit_tokens");
    let restarts = t.restarts();
    let seqs: Vec<u64> = t.scrapes().iter().map(|s| s.seq).collect();
    seqs.windows(2)
        .map(|w| {
            let span = Span::Window {
                from: w[0],
                to: w[1],
            };
            let sum = |m| {
                t.series_of(m)
                    .filter_map(|s| span.counter(s, &restarts))
                    .sum::<f64>()
            };
            let (r, h) = (sum(req), sum(hit));
            (r > 0.0).then(|| h / r)
        })
        .collect()
}

/// L1 evictions per second between consecutive scrapes (needs capture times).
pub fn l1_evictions_per_s(t: &TargetStore) -> Vec<Option<f64>> {
    let ev = metric_ref("lmcache_mp.l1_counters", "evicted");
    let restarts = t.restarts();
    let s: Vec<(u64, Option<f64>)> = t.scrapes().iter().map(|s| (s.seq, s.time)).collect();
    s.windows(2)
        .map(|w| {
            let secs = w[1].1? - w[0].1?;
            let span = Span::Window {
                from: w[0].0,
                to: w[1].0,
            };
            let n: f64 = t
                .series_of(ev)
                .filter_map(|x| span.counter(x, &restarts))
                .sum();
            (secs > 0.0).then(|| n / secs)
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
                "{}/fixtures/lmcache-0.5.6-cpu-run1/metrics_t{i}.prom",
                env!("CARGO_MANIFEST_DIR")
            );
            let body = std::fs::read(path).unwrap();
            t.ingest(&parse(&body).unwrap(), Some(i as f64));
        }
        let h = lookup_hit_rate(&t);
        assert_eq!(h.len(), 2);
        assert!(h.iter().all(|x| x.is_none_or(|v| (0.0..=1.0).contains(&v))));
    }
}
