//! "Why did we miss?": of the lookup tokens that missed, how many can be put down to L1
//! eviction (chunks asked for again after L1 evicted them, minus those L2 served), to L2 loads
//! that did not complete, and how many were never stored (cold). Early-exit lookups are counted
//! apart: they add no tokens. The basis of each number and what makes it weak are said.

use super::Fig;
use super::Over;
use super::aggregate::{Sel, View, counter, counter_from_first_event, histogram};
use crate::metric;

/// Missed tokens and where they went, over one span.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Attribution {
    pub missed_tokens: Fig,
    pub evicted_tokens: Fig,
    pub l2_failed_tokens: Fig,
    pub cold_tokens: Fig,
    pub early_exit_lookups: Fig,
}

/// The attribution since start (the top-level fields) and over the window.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MissAttribution {
    #[serde(flatten)]
    pub since_start: Attribution,
    pub window: Attribution,
    /// Tokens per chunk (hit tokens over hit keys), used to turn chunks into tokens.
    pub tokens_per_chunk: Fig,
    /// The sample rate the sampled histograms were scaled by.
    pub sample_rate: Fig,
    /// How each number was reached.
    pub basis: Vec<String>,
    /// What makes the estimate weak (empty when nothing does).
    pub weak_because: Vec<String>,
}

/// `a − b`, never below zero; unknown when either is.
fn minus(a: &Fig, b: &Fig) -> Fig {
    a.with(b, |x, y| (x - y).max(0.0))
}

fn over_span(views: &[View], over: Over, tpc: &Fig, rate: f64, l2_evident: bool) -> Attribution {
    let c = |m, what: &str| counter(&Sel::all(views, m), over, what);
    let requested = c(
        metric!("lmcache_mp.lookup", "requested_tokens"),
        "lookup requested-token counter",
    );
    let hits = c(
        metric!("lmcache_mp.lookup", "hit_tokens"),
        "lookup hit-token counter",
    );
    let missed = minus(&requested, &hits);
    // Chunks asked for again after L1 evicted them: the sampled reuse-gap histogram's count,
    // scaled by the sample rate.
    let reused = match histogram(
        &Sel::all(views, metric!("lmcache_mp.l1_lifecycle", "evict_reuse_gap")),
        over,
    ) {
        Ok(Some(h)) => Fig::known(h.count / rate),
        Ok(None) => Fig::unknown("no lmcache_mp_l1_chunk_evict_reuse_gap_seconds histogram"),
        Err(e) => Fig::unknown(e),
    };
    let from_l2 = c(
        metric!("lmcache_mp.lookup_tiers", "hit_l2_keys"),
        "lookup L2-hit key counter",
    );
    let evicted = minus(&reused, &from_l2).with(tpc, |x, y| x * y);
    // Without an L2 adapter nothing can fail to load from it; with one, its load counters
    // appear with the first load.
    let l2_counter = |m, what: &str| {
        if l2_evident {
            counter_from_first_event(&Sel::all(views, m), over, Ok(()), what)
        } else {
            Fig::known(0.0)
        }
    };
    let submitted = l2_counter(
        metric!("lmcache_mp.l2_counters", "prefetch_load_submitted_objects"),
        "L2 load-submitted chunk counter",
    );
    let completed = l2_counter(
        metric!("lmcache_mp.l2_counters", "prefetch_load_completed"),
        "L2 load-completed chunk counter",
    );
    let l2_failed = minus(&submitted, &completed).with(tpc, |x, y| x * y);
    let cold = minus(&minus(&missed, &evicted), &l2_failed);
    let early_exit_lookups = counter_from_first_event(
        &Sel::all(views, metric!("lmcache_mp.lookup", "early_exit")),
        over,
        requested.0.as_ref().map(|_| ()).map_err(String::as_str),
        "lookup early-exit counter",
    );
    Attribution {
        early_exit_lookups,
        missed_tokens: missed,
        evicted_tokens: evicted,
        l2_failed_tokens: l2_failed,
        cold_tokens: cold,
    }
}

/// The attribution over the LMCache MP targets; `sample_rate` from `/config` when read;
/// `l2_evident` when an L2 adapter is (without one, no load can fail there).
pub fn misses(views: &[View], sample_rate: &Fig, l2_evident: bool) -> MissAttribution {
    let mut basis = vec![
        "missed = lookup requested tokens − lookup hit tokens".to_string(),
        "evicted = chunks asked for again after L1 eviction (lmcache_mp_l1_chunk_evict_reuse_gap_seconds count ÷ sample rate) − chunks L2 served (lmcache_mp_lookup_hit_l2_keys), × tokens per chunk".into(),
        "l2_failed = L2 load chunks submitted − completed, × tokens per chunk (0 without an L2 adapter)".into(),
        "cold = missed − evicted − l2_failed: never stored, or stored and gone from every tier".into(),
    ];
    let mut weak = Vec::new();
    let rate = match sample_rate.value() {
        Some(r) if r > 0.0 && r <= 1.0 => {
            basis.push(format!("sample rate {r} from /config"));
            if r < 1.0 {
                weak.push(format!(
                    "the reuse-gap histogram is sampled at {r}: the evicted-chunk count is scaled up by {:.0}× and may be off by that much per sample",
                    1.0 / r
                ));
            }
            r
        }
        _ => {
            basis.push("sample rate assumed 1 (/config not read)".into());
            weak.push("the sample rate is unknown (only /config says it; LMCache's default is 0.01): if it is below 1, evicted tokens are undercounted".into());
            1.0
        }
    };
    let hit_tokens = counter(
        &Sel::all(views, metric!("lmcache_mp.lookup", "hit_tokens")),
        Over::SinceStart,
        "lookup hit-token counter",
    );
    let keys = |key| {
        counter(
            &Sel::all(views, key),
            Over::SinceStart,
            "lookup hit-key counter",
        )
    };
    let hit_keys = keys(metric!("lmcache_mp.lookup_tiers", "hit_l1_keys")).with(
        &keys(metric!("lmcache_mp.lookup_tiers", "hit_l2_keys")),
        |a, b| a + b,
    );
    let tokens_per_chunk = hit_tokens.ratio(&hit_keys, "no hit keys yet to size a chunk");
    if tokens_per_chunk.value().is_some() {
        basis.push(
            "tokens per chunk = lookup hit tokens ÷ hit keys (L1 + L2); evicted and L2 chunks are counted in the same keys"
                .into(),
        );
    }
    MissAttribution {
        since_start: over_span(views, Over::SinceStart, &tokens_per_chunk, rate, l2_evident),
        window: over_span(views, Over::Window, &tokens_per_chunk, rate, l2_evident),
        sample_rate: Fig::known(rate),
        tokens_per_chunk,
        basis,
        weak_because: weak,
    }
}
