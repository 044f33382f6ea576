//! The report's capacity lines: today's L1 and what it serves against what `/metrics`
//! counted, the next sizes up, the ceiling, the sizes that reach a hit rate, what misses cost.

use super::{Lines, push};
use crate::report::Report;
use crate::units::{bytes, percent};

const S: &str = "Capacity";

/// The capacity section, when a lookup-hash log was read.
pub(super) fn capacity_lines(r: &Report, out: &mut Lines) {
    let Some(c) = &r.analysis.capacity else {
        return;
    };
    push(out, S, "hit rate by L1 size", c.headline());
    push(out, S, "to reach", c.reach_line());
    if let Some(today) = c.today() {
        push(out, S, "today's L1", today);
    }
    push(
        out,
        S,
        "model",
        format!(
            "LRU, one tier; {} lookups, {} distinct chunks of {}; L1 holds {} of its size before evicting ({}){}",
            c.lookups,
            c.distinct_chunks,
            bytes(c.chunk_bytes.map(|b| b as f64)),
            percent(Some(c.watermark)),
            c.eviction_settings_from,
            if c.sampled {
                format!(
                    "; sampled at {:.4} past {} distinct chunks, error ±{}",
                    c.sampling_rate,
                    c.exact_up_to,
                    percent(Some(c.error_bound))
                )
            } else {
                String::new()
            }
        ),
    );
    if let Some(m) = &c.miss_cost {
        push(
            out,
            S,
            "misses, tokens/s (evicted, cold, L2 failed)",
            format!(
                "{} ({}, {}, {}); {} prefill tokens an hour, {} GPU-s an hour",
                whole(&m.missed_tokens_per_s),
                whole(&m.evicted_tokens_per_s),
                whole(&m.cold_tokens_per_s),
                whole(&m.l2_failed_tokens_per_s),
                whole(&m.missed_tokens_per_hour),
                whole(&m.gpu_seconds_per_hour),
            ),
        );
    }
    for note in &c.notes {
        push(out, S, "note", note.clone());
    }
}

fn whole(f: &crate::analysis::Fig) -> String {
    f.value()
        .map_or_else(|| crate::units::UNKNOWN.to_string(), |v| format!("{v:.0}"))
}
