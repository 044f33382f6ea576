//! The report's evidence lines: what the storage trace, the logs, the span export and the
//! lookup-hash log hold.

use super::{Lines, push};
use crate::report::Report;
use crate::sanitize::clean;
use crate::units;

/// The trace, logs, span export and lookup-hash log read beside the targets.
pub(super) fn evidence_lines(r: &Report, out: &mut Lines) {
    let e = &r.analysis.evidence;
    if let Some(t) = &e.trace {
        trace_lines(t, out);
    }
    for (section, log) in [("Server log", &e.server_log), ("Engine log", &e.engine_log)] {
        if let Some(l) = log {
            log_lines(section, l, out);
        }
    }
    if let Some(s) = &e.spans {
        span_lines(s, out);
    }
    if let Some(h) = &e.lookup_hashes {
        hash_lines(h, out);
    }
}

/// The storage trace's lines.
fn trace_lines(t: &crate::evidence::trace::TraceSummary, out: &mut Lines) {
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    push("Trace", "file", clean(&t.file));
    push(
        "Trace",
        "level, schema, records",
        format!(
            "{}, {}, {} over {:.3} s",
            t.level.as_deref().map_or(units::UNKNOWN.into(), clean),
            t.schema_words(),
            t.total_records,
            t.duration_s
        ),
    );
    for (op, n) in &t.ops {
        push(
            "Trace",
            crate::evidence::trace::short_op(&clean(op)),
            n.to_string(),
        );
    }
    if let Some(e) = &t.events {
        for (key, n) in &e.batches {
            push("Trace", &format!("batches {}", clean(key)), n.to_string());
        }
        push(
            "Trace",
            "store bytes",
            e.store_bytes
                .map_or("unknown: the sum passes 2^53".into(), |b| b.to_string()),
        );
        if e.sizes_not_believed > 0 {
            push(
                "Trace",
                "store sizes not believed",
                format!("{} (negative or past 2^53; left out)", e.sizes_not_believed),
            );
        }
    }
    push(
        "Trace",
        "whole",
        t.error
            .as_deref()
            .map_or("yes".into(), |e| format!("no: {}", clean(e))),
    );
}

/// A server or engine log's lines.
fn log_lines(section: &'static str, l: &crate::evidence::lines::LogSummary, out: &mut Lines) {
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    push(section, "file", clean(&l.file));
    push(
        section,
        "lines (unknown)",
        format!("{} ({})", l.lines, l.unknown_lines),
    );
    for (kind, n) in l
        .by_kind
        .iter()
        .filter(|(k, n)| **n > 0 && **k != "unknown")
    {
        push(section, kind, n.to_string());
    }
    if l.numbers_not_believed > 0 {
        push(
            section,
            "numbers not believed",
            format!(
                "{} (negative, not finite or past 2^53; left out of every sum)",
                l.numbers_not_believed
            ),
        );
    }
    // "Stored/Retrieved N tokens in S seconds": each transfer's mean time and the tokens per
    // second over the time spent transferring.
    for (what, t) in [("stored", &l.stored), ("retrieved", &l.retrieved)] {
        if let Some((each, per_s)) = t.rates() {
            push(
                section,
                &format!("{what} (transfers, tokens)"),
                format!(
                    "{}, {:.0} tokens; {each:.3} s each on average, {per_s:.0} tokens/s while transferring",
                    t.lines, t.tokens
                ),
            );
        }
    }
    let p = &l.prefetch;
    if p.requests > 0 {
        push(
            section,
            "prefetch keys retained (L1, L2)",
            format!(
                "{} of {} ({}, {})",
                p.retained_keys, p.requested_keys, p.l1_keys, p.l2_keys
            ),
        );
    }
}

/// The span export's lines.
fn span_lines(s: &crate::evidence::spans::SpanSummary, out: &mut Lines) {
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    push("Spans", "file", clean(&s.file));
    push(
        "Spans",
        "spans, requests, timeouts",
        format!("{}, {}, {}", s.spans, s.requests, s.timeouts),
    );
    push(
        "Spans",
        "hit rate (L1, L2 tokens)",
        format!(
            "{} ({}, {})",
            units::percent(s.hit_rate),
            s.l1_hit_tokens,
            s.l2_hit_tokens
        ),
    );
    if s.numbers_not_believed > 0 {
        push(
            "Spans",
            "counts not believed",
            format!(
                "{} (negative, not finite or past 2^53; left out)",
                s.numbers_not_believed
            ),
        );
    }
    for (name, st) in &s.by_name {
        push(
            "Spans",
            &clean(name),
            format!(
                "{} · p50 {} · p99 {} ms",
                st.count,
                units::count(st.p50_ms),
                units::count(st.p99_ms)
            ),
        );
    }
}

/// The lookup-hash log's lines.
fn hash_lines(h: &crate::evidence::hashes::HashlogSummary, out: &mut Lines) {
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    push("Lookup hashes", "file", clean(&h.file));
    push(
        "Lookup hashes",
        "lookups, requests, chunks",
        format!("{}, {}, {}", h.lookups, h.requests, h.chunks),
    );
    push(
        "Lookup hashes",
        "chunks repeating an earlier lookup",
        format!("{} ({})", h.repeated_chunks, units::percent(h.repeat_rate)),
    );
}
