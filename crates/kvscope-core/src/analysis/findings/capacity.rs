//! Capacity: whether a larger L1 would serve much more, by the lookup-hash log's curve.

use super::{Facts, ONLY_HASHES, Prom, Rule, Severity, Verdict, clear, data};
use crate::units::{bytes, percent};
use serde_json::json;

pub(super) const CAPACITY_BOUND: Rule = Rule {
    code: "capacity_bound",
    severity: Severity::Warning,
    title: "L1 too small for the reuse in the workload",
    applies: "LMCache MP server with its lookup-hash log (--lookup-hashes)",
    needs: "the lookup-hash log and today's L1 size (/status, the L1 gauges or --l1-size)",
    windowed: false,
    // The curve is over every lookup the log holds: it moves slowly by nature.
    hold: 0.0,
    prom: Prom::Only(ONLY_HASHES),
    explanation: "Replaying every lookup the log holds through an LRU of twice today's L1 serves markedly more of the looked-up tokens: the misses are capacity misses, recomputed prefill a larger cache would have saved.",
    next_action: "Raise --l1-size-gb toward the size the capacity section gives for the hit rate wanted (or add an L2 tier); see what the gain recovers there.",
    check: capacity_bound,
};

fn capacity_bound(c: &Facts<'_>) -> Verdict {
    let Some(cap) = c.capacity else {
        return Verdict::Missing(vec!["a lookup-hash log (--lookup-hashes DIR)".into()]);
    };
    let Some(now) = &cap.current else {
        return Verdict::Missing(vec![cap.current_unknown.clone().unwrap_or_default()]);
    };
    let gain = now.doubled_hit_rate - now.predicted_hit_rate;
    let recovers = &now.doubling_recovers_tokens_per_hour;
    let pairs = [
        ("l1_bytes", json!(now.bytes)),
        ("predicted_hit_rate", json!(now.predicted_hit_rate)),
        ("doubled_hit_rate", json!(now.doubled_hit_rate)),
        ("gain", json!(gain)),
        ("recovers_tokens_per_hour", json!(recovers.value())),
    ];
    let mut lines = vec![
        format!(
            "L1 {} serves {} of the looked-up tokens in the log (observed {}); {} would serve {}",
            bytes(Some(now.bytes)),
            percent(Some(now.predicted_hit_rate)),
            percent(now.observed_hit_rate.value()),
            bytes(Some(2.0 * now.bytes)),
            percent(Some(now.doubled_hit_rate)),
        ),
        format!("ceiling {} (an unbounded cache)", percent(cap.ceiling)),
    ];
    if let Some(t) = recovers.value() {
        let gpu = now.doubling_recovers_gpu_seconds_per_hour.value();
        lines.push(format!(
            "that gain recovers {t:.0} prefill tokens an hour at the window's lookup rate{}",
            gpu.map_or(String::new(), |g| format!(" (≈{g:.0} GPU-s an hour)"))
        ));
    }
    // Hit rates are ratios of token counts: ten points is ten points.
    if gain >= c.thresholds.capacity_gain - 1e-9 {
        Verdict::Firing {
            title: format!(
                "Twice today's L1 would raise the hit rate {:.0} points ({} → {})",
                gain * 100.0,
                percent(Some(now.predicted_hit_rate)),
                percent(Some(now.doubled_hit_rate))
            )
            .into(),
            evidence: lines,
            data: data(&pairs),
        }
    } else {
        clear(lines, &pairs)
    }
}
