//! The report's `capacity`: how much L1 is enough. The hit-rate-versus-capacity curve of the
//! lookup-hash log ([`crate::capacity`]) placed against today's L1 (its size from `/status`,
//! the L1 gauges or `--l1-size`; its eviction watermark and ratio from `/status`, or
//! LMCache's defaults), the hit rate `/metrics` counted beside the one the curve predicts,
//! the sizes that reach 50, 80 and 90 % and the ceiling, and what the misses cost.

use super::Over;
use super::aggregate::{Sel, View, counter, histogram};
use super::{Fig, figures::LmcacheFigures, misses::MissAttribution};
use crate::capacity::{Curves, ModelCurve};
use crate::metric;
use crate::units::{bytes, percent};

/// Curve points are at most this far apart in size.
const STEP: f64 = 1.05;
/// Scrapes the L1 occupancy is averaged over, newest first.
pub const OCCUPANCY_SCRAPES: usize = 120;
/// Hit rates `to_reach` gives a size for, before the ceiling.
const TARGETS: [f64; 3] = [0.5, 0.8, 0.9];

/// The report's `capacity` section.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Capacity {
    /// What the curve models (`docs/capacity.md`).
    pub model: &'static str,
    pub lookups: u64,
    pub distinct_chunks: u64,
    pub chunk_bytes: Option<u64>,
    pub chunk_tokens: Option<u64>,
    /// Looked-up tokens the curve counts (chunks × chunk size), every lookup the log holds.
    pub looked_up_tokens: u64,
    /// The eviction settings sizes assume: LMCache evicts once L1 is `watermark` full, so an
    /// L1 of `bytes` holds `bytes × watermark`.
    pub watermark: f64,
    pub eviction_ratio: f64,
    /// `/status`, or `default` (LMCache's `--eviction-trigger-watermark` and `--eviction-ratio`).
    pub eviction_settings_from: &'static str,
    pub curve: Vec<Point>,
    /// Today's L1 and the hit rates there; `null` when its size is not known
    /// (`current_unknown` says why).
    pub current: Option<Current>,
    pub current_unknown: Option<String>,
    pub to_reach: Vec<Reach>,
    /// The hit rate of an unbounded cache.
    pub ceiling: Option<f64>,
    /// Looked-up tokens never seen before (or after a chunk never seen before): no size serves
    /// them.
    pub cold_share: Option<f64>,
    /// Past `exact_up_to` distinct chunks the curve is estimated from a sample of the hashes.
    pub sampled: bool,
    pub sampling_rate: f64,
    pub exact_up_to: usize,
    /// The hit rates' error: 0 exact; sampled, the standard error of a share estimated from
    /// the keys kept (`1/√keys`; `docs/capacity.md`).
    pub error_bound: f64,
    /// One curve per model, when several share one L1 (the top-level curve is their total).
    pub by_model: Vec<ModelPart>,
    /// What misses cost, per class (`null` only inside the verdict pass, which reads none).
    pub miss_cost: Option<MissCost>,
    pub notes: Vec<String>,
}

/// One size: the L1 to configure (`--l1-size-gb`, with today's eviction settings), the
/// chunks it holds and the share of looked-up tokens it would have served.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Point {
    pub bytes: Option<f64>,
    pub chunks: f64,
    pub hit_rate: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Current {
    pub bytes: f64,
    /// `/status`, `metrics` (the L1 usage gauges) or `--l1-size`.
    pub bytes_from: &'static str,
    /// At the watermark: what the curve says this L1 serves.
    pub predicted_hit_rate: f64,
    /// Just after an eviction (the watermark less the ratio).
    pub predicted_low: f64,
    /// With the whole L1 held: LMCache checks the watermark once a second, so stores can fill
    /// L1 past it between two checks. The observed rate is expected between `predicted_low`
    /// and this.
    pub predicted_high: f64,
    /// The mean share of L1 held since it first evicted (its usage gauge over the newest
    /// [`OCCUPANCY_SCRAPES`] scrapes); unknown before any eviction. Context, not a prediction:
    /// what matters is what L1 held when each lookup came, which a mean over scrapes does not
    /// give (see docs/capacity.md).
    pub occupancy: Fig,
    /// `/metrics`' since-start hit rate.
    pub observed_hit_rate: Fig,
    /// The part of it L1 served (the hit rate times L1's share of the hits): what the curve,
    /// which models L1 alone, is checked against when an L2 tier serves hits too.
    pub observed_l1_hit_rate: Fig,
    /// Lookup tokens `/metrics` counted since start: equal to `looked_up_tokens` when the log
    /// and the counters cover the same lookups.
    pub observed_requested_tokens: Fig,
    /// What twice today's L1 would serve.
    pub doubled_hit_rate: f64,
    /// What twice today's L1 would recover: looked-up tokens an hour over the window times
    /// the gain in hit rate, and the GPU-seconds of prefill that is (see [`MissCost`]).
    pub doubling_recovers_tokens_per_hour: Fig,
    pub doubling_recovers_gpu_seconds_per_hour: Fig,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reach {
    pub hit_rate: f64,
    /// `null` above the ceiling.
    pub bytes: Option<f64>,
    pub chunks: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelPart {
    pub model: String,
    pub looked_up_tokens: u64,
    pub chunk_bytes: Option<u64>,
    pub ceiling: Option<f64>,
    pub predicted_hit_rate: Option<f64>,
    pub curve: Vec<Point>,
}

/// Prefill tokens recomputed because their lookup missed, over the window, per miss class.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MissCost {
    pub missed_tokens_per_s: Fig,
    pub evicted_tokens_per_s: Fig,
    pub cold_tokens_per_s: Fig,
    pub l2_failed_tokens_per_s: Fig,
    pub missed_tokens_per_hour: Fig,
    /// The engine's prefill seconds per prompt token (its prefill-time histogram over its
    /// prompt-token counter: cached prompt tokens included, so a low estimate).
    pub prefill_seconds_per_token: Fig,
    /// GPU-seconds of prefill an hour the misses cost at that rate.
    pub gpu_seconds_per_hour: Fig,
}

/// What the section is made from besides the log.
pub struct Today<'a> {
    pub lm: &'a LmcacheFigures,
    /// The miss attribution, for the cost of each class (`None`: judging only).
    pub misses: Option<&'a MissAttribution>,
    /// Engine targets' views (prefill time and prompt tokens).
    pub engines: &'a [View<'a>],
    /// `--l1-size`, in bytes.
    pub l1_size: Option<f64>,
    /// LMCache's default eviction watermark and ratio, for when `/status` does not say.
    pub default_eviction: (f64, f64),
    /// The mean share of L1 held since it first evicted ([`super::history::l1_occupancy`]).
    pub occupancy: Option<f64>,
}

impl Capacity {
    /// `L1 1.00 GiB → 55 % (observed 55 %) · 2.00 GiB → 65 % · ceiling 65 % (35 % of looked-up
    /// tokens were never seen before)`.
    pub fn headline(&self) -> String {
        let c = self;
        let mut parts = Vec::new();
        if let Some(now) = &c.current {
            parts.push(format!(
                "L1 {} → {} (observed {})",
                bytes(Some(now.bytes)),
                percent(Some(now.predicted_hit_rate)),
                percent(now.observed_hit_rate.value())
            ));
            // Twice today's L1: the step `capacity_bound` weighs.
            parts.push(format!(
                "{} → {}",
                bytes(Some(2.0 * now.bytes)),
                percent(Some(now.doubled_hit_rate))
            ));
        }
        parts.push(format!(
            "ceiling {} ({} of looked-up tokens were never seen before)",
            percent(c.ceiling),
            percent(c.cold_share)
        ));
        parts.join(" · ")
    }

    /// Today's L1 on the curve, said whole: at the watermark, just after an eviction, full, at
    /// the share it held on average; twice its size.
    pub fn today(&self) -> Option<String> {
        let now = self.current.as_ref()?;
        let held = held_on_average(now);
        Some(format!(
            "{} (from {}): {} at the watermark, {} just after an eviction, {} full{held}; twice it: {}",
            bytes(Some(now.bytes)),
            now.bytes_from,
            percent(Some(now.predicted_hit_rate)),
            percent(Some(now.predicted_low)),
            percent(Some(now.predicted_high)),
            percent(Some(now.doubled_hit_rate))
        ))
    }

    /// The sizes that reach each hit rate of `to_reach`: `50.0% at 455.0 MiB · 90.0% never
    /// (above the ceiling) · …`.
    pub fn reach_line(&self) -> String {
        let reach: Vec<String> = self
            .to_reach
            .iter()
            .map(|t| match t.bytes.or(t.chunks) {
                Some(_) => format!(
                    "{} at {}",
                    percent(Some(t.hit_rate)),
                    self.size(t.bytes, t.chunks)
                ),
                None => format!("{} never (above the ceiling)", percent(Some(t.hit_rate))),
            })
            .collect();
        reach.join(" · ")
    }

    /// A size on the curve: bytes when the log gives one chunk size, chunks otherwise.
    pub fn size(&self, b: Option<f64>, chunks: Option<f64>) -> String {
        match (b, self.chunk_bytes) {
            (Some(b), Some(_)) => bytes(Some(b)),
            _ => format!("{:.0} chunks", chunks.unwrap_or(0.0).ceil()),
        }
    }
}

/// The section, when a lookup-hash log was read.
pub fn capacity(curves: &Curves, lookups: u64, today: &Today<'_>) -> Capacity {
    let total = curves.total();
    let http = &today.lm.http;
    let (watermark, ratio, from) = match (
        http.eviction_watermark.value().filter(|w| *w > 0.0),
        http.eviction_ratio.value(),
    ) {
        (Some(w), Some(r)) => (w, r, "/status"),
        _ => (
            today.default_eviction.0,
            today.default_eviction.1,
            "default",
        ),
    };
    let l1 = l1_bytes(today);
    let range = range(&total, l1.as_ref().ok().map(|l| l.0), watermark);
    let point = |m: &ModelCurve, bytes: f64| point(m, bytes, watermark);
    let curve: Vec<Point> = sizes(range).map(|b| point(&total, b)).collect();
    let spt = prefill_seconds_per_token(today.engines);
    let current = l1.map(|l1| current(&total, l1, (watermark, ratio), today, &spt));
    let ceiling = total.ceiling();
    let to_reach = to_reach(&total, watermark);
    let by_model = by_model(curves, range, watermark, current.as_ref().ok());
    let sampled = curves.rate() < 1.0;
    let mut notes = notes(curves, &total);
    if let Ok(c) = &current {
        notes.extend(spans_differ(c, total.tokens()));
        notes.extend(held_otherwise(c, watermark, ratio));
    }
    notes.extend(
        current
            .as_ref()
            .ok()
            .and_then(|c| spans_differ(c, total.tokens())),
    );
    let miss_cost = today.misses.map(|m| miss_cost(m, today, spt));
    Capacity {
        model: "lru_one_tier",
        lookups,
        distinct_chunks: curves.distinct(),
        chunk_bytes: total.chunk_bytes,
        chunk_tokens: total.chunk_tokens,
        looked_up_tokens: total.tokens(),
        watermark,
        eviction_ratio: ratio,
        eviction_settings_from: from,
        curve,
        current_unknown: current.as_ref().err().cloned(),
        current: current.ok(),
        to_reach,
        ceiling,
        cold_share: ceiling.map(|c| 1.0 - c),
        sampled,
        sampling_rate: curves.rate(),
        exact_up_to: curves.limit(),
        error_bound: if sampled {
            1.0 / (curves.held().max(1) as f64).sqrt()
        } else {
            0.0
        },
        by_model,
        miss_cost,
        notes,
    }
}

/// Today's L1 on the curve: at the watermark, just after an eviction and twice as large.
fn current(
    total: &ModelCurve,
    (bytes, bytes_from): (f64, &'static str),
    (watermark, ratio): (f64, f64),
    today: &Today<'_>,
    spt: &Fig,
) -> Current {
    let at = |b: f64| total.hit_rate(b * watermark).unwrap_or(0.0);
    let (predicted_hit_rate, doubled_hit_rate) = (at(bytes), at(2.0 * bytes));
    let recovers = per_hour(&today.lm.lookup.requested_tokens.window, today).with(
        &Fig::known(doubled_hit_rate - predicted_hit_rate),
        |a, b| a * b.max(0.0),
    );
    Current {
        bytes,
        bytes_from,
        predicted_hit_rate,
        predicted_low: at(bytes * (1.0 - ratio)),
        predicted_high: total.hit_rate(bytes).unwrap_or(0.0),
        occupancy: today.occupancy.map_or_else(
            || Fig::unknown("L1 has not evicted yet, or its usage is unknown"),
            Fig::known,
        ),
        observed_hit_rate: today.lm.lookup.hit_rate.since_start.clone(),
        observed_l1_hit_rate: today
            .lm
            .lookup
            .hit_rate
            .since_start
            .with(&today.lm.lookup.l1_share.since_start, |h, s| h * s),
        observed_requested_tokens: today.lm.lookup.requested_tokens.since_start.clone(),
        doubled_hit_rate,
        doubling_recovers_gpu_seconds_per_hour: recovers.with(spt, |a, b| a * b),
        doubling_recovers_tokens_per_hour: recovers,
    }
}

/// When the log and the counters cover different lookups (a log rotated away or followed from
/// part-way, a restart, several servers writing one directory), said: the predicted and the
/// counted hit rates are then over different traffic.
fn spans_differ(now: &Current, logged: u64) -> Option<String> {
    let counted = now.observed_requested_tokens.value()?;
    let logged = logged as f64;
    ((counted - logged).abs() > 0.02 * counted.max(logged)).then(|| {
        format!(
            "the log holds {logged:.0} looked-up tokens, /metrics counted {counted:.0} since start: \
             they cover different lookups (a log rotated away or read from part-way, a restart), \
             so the predicted and counted hit rates are over different traffic"
        )
    })
}

/// ` (it held 73.3% on average once it evicted)`, when known.
fn held_on_average(now: &Current) -> String {
    now.occupancy.value().map_or(String::new(), |o| {
        format!(" (it held {} on average once it evicted)", percent(Some(o)))
    })
}

/// When `/metrics` counted another hit rate than the curve gives at the watermark, said with
/// why and the band it is expected in.
fn held_otherwise(now: &Current, watermark: f64, ratio: f64) -> Option<String> {
    let counted = now.observed_hit_rate.value()?;
    let l1 = now.observed_l1_hit_rate.value().unwrap_or(counted);
    if l1 < counted - 1e-9 {
        // An L2 tier served hits: what reached L1 from L2 changed what L1 held, which the
        // one-tier curve does not model.
        return Some(format!(
            "an L2 tier served {} of the looked-up tokens and L1 {}: the curve models L1 alone, \
             without what L2 loads back into it, so it predicts neither (docs/capacity.md)",
            percent(Some(counted - l1)),
            percent(Some(l1))
        ));
    }
    let held = held_on_average(now);
    ((counted - now.predicted_hit_rate).abs() > 0.01).then(|| {
        format!(
            "/metrics counted {}, the curve gives {} at the watermark {}: LMCache checks the \
             watermark once a second and then evicts {} of its keys, so L1 holds less just after \
             an eviction and more, up to all of it, when stores outrun the check{held}; the \
             counted rate is expected between {} (just after an eviction) and {} (full)",
            percent(Some(counted)),
            percent(Some(now.predicted_hit_rate)),
            percent(Some(watermark)),
            percent(Some(ratio)),
            percent(Some(now.predicted_low)),
            percent(Some(now.predicted_high))
        )
    })
}

/// What weakens the curve, said.
fn notes(curves: &Curves, total: &ModelCurve) -> Vec<String> {
    let mut notes = Vec::new();
    if total.chunk_bytes.is_none() {
        notes.push(
            "the log's shapes and dtypes do not give one chunk size: sizes are in chunks only"
                .into(),
        );
    }
    if curves.classes_exhausted {
        notes.push(format!(
            "more than {} chunk sizes: the later ones are weighed as the first",
            crate::capacity::stack::MAX_CLASSES
        ));
    }
    if curves.out_of_order > 0 {
        notes.push(format!("{} chunks were held longer than an earlier chunk of their lookup (hashes not chained as LMCache chains them)", curves.out_of_order));
    }
    notes
}

/// The sizes that reach 50, 80, 90 % and the ceiling (`null` above it).
fn to_reach(total: &ModelCurve, watermark: f64) -> Vec<Reach> {
    let ceiling = total.ceiling();
    let mut targets: Vec<f64> = TARGETS.to_vec();
    targets.extend(ceiling);
    targets
        .into_iter()
        .map(|rate| {
            let at = total
                .capacity_for(rate)
                .filter(|_| ceiling.is_some_and(|c| rate <= c));
            Reach {
                hit_rate: rate,
                bytes: at.and_then(|h| total.chunk_bytes.map(|_| (h / watermark).round())),
                chunks: at.map(|h| h / total.chunk_bytes.unwrap_or(1) as f64),
            }
        })
        .collect()
}

/// One curve per model, when several share the L1.
fn by_model(
    curves: &Curves,
    range: (f64, f64),
    watermark: f64,
    current: Option<&Current>,
) -> Vec<ModelPart> {
    if curves.models.len() < 2 {
        return Vec::new();
    }
    curves
        .models
        .iter()
        .map(|(name, m)| ModelPart {
            model: name.clone(),
            looked_up_tokens: m.tokens(),
            chunk_bytes: m.chunk_bytes,
            ceiling: m.ceiling(),
            predicted_hit_rate: current.and_then(|c| m.hit_rate(c.bytes * watermark)),
            curve: sizes(range).map(|b| point(m, b, watermark)).collect(),
        })
        .collect()
}

/// Today's configured L1 bytes and where they come from.
fn l1_bytes(today: &Today<'_>) -> Result<(f64, &'static str), String> {
    if let Some(b) = today.l1_size {
        return Ok((b, "--l1-size"));
    }
    if let Some(b) = today
        .lm
        .http
        .server
        .l1_capacity_bytes
        .value()
        .filter(|b| *b > 0.0)
    {
        return Ok((b, "/status"));
    }
    match today.lm.l1.memory.total_bytes.value().filter(|b| *b > 0.0) {
        Some(b) => Ok((b, "metrics")),
        None => Err("L1's size is not known: give --l1-size, or read /status or a build with the L1 usage gauges".into()),
    }
}

/// The curve's span of configured sizes: from an eighth of today's L1 to the larger of twice
/// it and the size where the curve reaches its ceiling; without today's L1, from one chunk to
/// that size.
fn range(total: &ModelCurve, l1: Option<f64>, watermark: f64) -> (f64, f64) {
    let chunk = total.chunk_bytes.unwrap_or(1) as f64;
    let full = total.full().map(|f| f / watermark);
    let (lo, hi) = match l1 {
        Some(l1) => (l1 / 8.0, (2.0 * l1).max(full.unwrap_or(0.0))),
        None => (chunk / watermark, full.unwrap_or(chunk / watermark)),
    };
    (lo, hi.max(lo * STEP))
}

/// Sizes from `lo` to `hi`, each at most [`STEP`] above the one before (at most 1,000).
fn sizes((lo, hi): (f64, f64)) -> impl Iterator<Item = f64> {
    let n = ((hi / lo).ln() / STEP.ln()).ceil().clamp(1.0, 999.0) as i32;
    let step = (hi / lo).powf(1.0 / f64::from(n));
    (0..=n).map(move |i| if i == n { hi } else { lo * step.powi(i) })
}

fn point(m: &ModelCurve, bytes: f64, watermark: f64) -> Point {
    let held = bytes * watermark;
    Point {
        bytes: m.chunk_bytes.map(|_| bytes.round()),
        chunks: held / m.chunk_bytes.unwrap_or(1) as f64,
        hit_rate: m.hit_rate(held).unwrap_or(0.0),
    }
}

/// Window tokens an hour: over the window's length, times 3,600.
fn per_hour(tokens: &Fig, today: &Today<'_>) -> Fig {
    tokens
        .ratio(&today.lm.window_seconds, "a window of no length")
        .with(&Fig::known(3600.0), |a, b| a * b)
}

fn miss_cost(m: &MissAttribution, today: &Today<'_>, spt: Fig) -> MissCost {
    let per_s = |f: &Fig| f.ratio(&today.lm.window_seconds, "a window of no length");
    let missed_per_hour = per_hour(&m.window.missed_tokens, today);
    MissCost {
        missed_tokens_per_s: per_s(&m.window.missed_tokens),
        evicted_tokens_per_s: per_s(&m.window.evicted_tokens),
        cold_tokens_per_s: per_s(&m.window.cold_tokens),
        l2_failed_tokens_per_s: per_s(&m.window.l2_failed_tokens),
        gpu_seconds_per_hour: missed_per_hour.with(&spt, |a, b| a * b),
        missed_tokens_per_hour: missed_per_hour,
        prefill_seconds_per_token: spt,
    }
}

/// The engines' prefill seconds per prompt token over the window.
fn prefill_seconds_per_token(engines: &[View<'_>]) -> Fig {
    let time = match histogram(
        &Sel::all(engines, metric!("vllm.latency", "prefill_time")),
        Over::Window,
    ) {
        Ok(Some(h)) => Fig::known(h.sum),
        Ok(None) => {
            Fig::unknown("no engine prefill-time histogram (vllm:request_prefill_time_seconds)")
        }
        Err(e) => Fig::unknown(e),
    };
    let tokens = counter(
        &Sel::all(
            engines,
            metric!("vllm.prompt_tokens_by_source", "prompt_tokens"),
        ),
        Over::Window,
        "engine prompt-token counter",
    );
    time.ratio(&tokens, "no prompt tokens in the window")
}
