//! Text and markdown views of the report: the same typed fields the JSON serialises, so the
//! three formats cannot disagree and a renamed field fails to compile.

use std::fmt::Write;

use super::Report;
use crate::analysis::Fig;
use crate::analysis::aggregate::{Distribution, Pair, Summary};
use crate::analysis::matrix::Status;
use crate::sanitize::clean;
use crate::timefmt::{format_duration, format_rfc3339};

mod capacity;
mod evidence;
mod routes;
use capacity::capacity_lines;
use evidence::evidence_lines;
use routes::server_lines;

/// What a person reads beside the report: breakdown rows left out, unknown figures (path and
/// reason, at most [`UNKNOWNS_SHOWN`]) and how many of those were left out.
pub(super) struct Extras {
    pub salts_more: usize,
    pub unknowns: Vec<(String, String)>,
    pub unknowns_more: usize,
    /// Unknown figures of parts the input does not have, left out of the list.
    pub not_applying: usize,
    /// Window figures are unknown for want of a second sample.
    pub want_samples: bool,
    /// Some target's metrics were read (else only files' summaries are shown).
    pub metrics: bool,
}

/// Unknown figures text and markdown list.
pub(super) const UNKNOWNS_SHOWN: usize = 200;

/// The lines shared by text and markdown: (section, label, value).
type Lines = Vec<(&'static str, String, String)>;

/// Adds one line.
fn push(out: &mut Lines, section: &'static str, label: &str, value: String) {
    out.push((section, label.to_string(), value));
}

/// Every figure line, section by section.
fn figures(r: &Report, x: &Extras) -> Lines {
    let mut out = Vec::new();
    server_lines(r, &mut out);
    lookup_lines(r, x, &mut out);
    miss_lines(r, &mut out);
    memory_lines(r, &mut out);
    eventbus_lines(r, &mut out);
    engine_lines(r, &mut out);
    capacity_lines(r, &mut out);
    evidence_lines(r, &mut out);
    out
}

fn lookup_lines(r: &Report, x: &Extras, out: &mut Lines) {
    let lk = &r.analysis.lmcache.lookup;
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    let tokens = |rate: &Fig, hits: &Fig, requested: &Fig| {
        format!(
            "{} ({} / {} tokens)",
            rate.percent(),
            hits.count(),
            requested.count()
        )
    };
    push(
        "LMCache lookups",
        "hit rate since start",
        tokens(
            &lk.hit_rate.since_start,
            &lk.hit_tokens.since_start,
            &lk.requested_tokens.since_start,
        ),
    );
    push(
        "LMCache lookups",
        "hit rate in window",
        tokens(
            &lk.hit_rate.window,
            &lk.hit_tokens.window,
            &lk.requested_tokens.window,
        ),
    );
    push(
        "LMCache lookups",
        "L1 / L2 share of hits",
        format!(
            "{} / {}",
            lk.l1_share.since_start.percent(),
            lk.l2_share.since_start.percent()
        ),
    );
    for row in &lk.by_cache_salt {
        let salt = match &row.value {
            Some(s) => format!("cache_salt \"{}\"", clean(s)),
            None => "cache_salt (label absent)".into(),
        };
        push(
            "LMCache lookups",
            &salt,
            format!(
                "{} ({} / {})",
                row.hit_rate.percent(),
                row.hit_tokens.count(),
                row.requested_tokens.count()
            ),
        );
    }
    if x.salts_more > 0 {
        push(
            "LMCache lookups",
            &format!("+{} more cache_salt values", x.salts_more),
            "the JSON report lists every one".into(),
        );
    }
}

fn memory_lines(r: &Report, out: &mut Lines) {
    let lm = &r.analysis.lmcache;
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    let (l1, l2) = (&lm.l1, &lm.l2);
    push(
        "L1",
        "used / total",
        format!(
            "{} / {} ({})",
            l1.memory.used_bytes.bytes(),
            l1.memory.total_bytes.bytes(),
            l1.memory.usage_ratio.percent()
        ),
    );
    let both = |p: &Pair| format!("{}, {}", p.since_start.count(), p.window.count());
    push(
        "L1",
        "evicted (since start, window)",
        format!(
            "{} ({}/s over the window)",
            both(&l1.evicted),
            l1.evicted_per_s.count()
        ),
    );
    push(
        "L2",
        "adapters active, used",
        format!("{}, {}", l2.adapters_active.count(), l2.used_bytes.bytes()),
    );
    push(
        "L2",
        "stores, loads (per s in window)",
        format!(
            "{}/s, {}/s",
            l2.store_requests_per_s.count(),
            l2.load_requests_per_s.count()
        ),
    );
    push(
        "L2",
        "in flight (stores, loads)",
        format!(
            "{}, {}",
            l2.inflight_stores.count(),
            l2.inflight_loads.count()
        ),
    );
    let distributions: [(&str, &Distribution, &str); 4] = [
        ("L2", &l2.store_throughput_gbs, "L1→L2 store GB/s"),
        ("L2", &l2.load_throughput_gbs, "L2→L1 load GB/s"),
        ("L0↔L1", &lm.l0_l1.store_throughput_gbs, "L0→L1 store GB/s"),
        ("L0↔L1", &lm.l0_l1.load_throughput_gbs, "L1→L0 load GB/s"),
    ];
    for (sec, d, name) in distributions {
        let s = &d.since_start;
        push(
            sec,
            name,
            format!(
                "mean {} p50 {} p99 {} (n={}); window mean {}",
                s.mean.count(),
                Summary::shown(&s.p50, s.p50_bucket),
                Summary::shown(&s.p99, s.p99_bucket),
                s.count.count(),
                d.window.mean.count()
            ),
        );
    }
}

fn eventbus_lines(r: &Report, out: &mut Lines) {
    let lm = &r.analysis.lmcache;
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    let eb = &lm.eventbus;
    push(
        "EventBus",
        "depth, drain lag",
        format!(
            "{}, {} s ({})",
            eb.queue_depth.count(),
            eb.drain_lag_seconds.count(),
            eb.gauges_trust
        ),
    );
    push(
        "EventBus",
        "dropped (total, per s)",
        format!("{}, {}", eb.dropped_total.count(), eb.dropped_per_s.count()),
    );
}

fn miss_lines(r: &Report, out: &mut Lines) {
    let m = &r.analysis.miss_attribution;
    let mut push = |l: &str, a: &crate::analysis::misses::Attribution| {
        push(
            out,
            "Why lookups missed",
            l,
            format!(
                "{} missed: {} evicted, {} L2 failed, {} cold; {} early-exit lookups",
                a.missed_tokens.count(),
                a.evicted_tokens.count(),
                a.l2_failed_tokens.count(),
                a.cold_tokens.count(),
                a.early_exit_lookups.count()
            ),
        )
    };
    push("tokens since start", &m.since_start);
    push("tokens in window", &m.window);
}

fn engine_lines(r: &Report, out: &mut Lines) {
    let mut push = |s: &'static str, l: &str, v: String| push(out, s, l, v);
    let en = &r.analysis.engine;
    push(
        "Engine",
        "kind",
        en.kind.map_or("none", |k| k.as_str()).to_string(),
    );
    push(
        "Engine",
        "prefix cache hit rate",
        format!(
            "{} since start ({} / {}), {} in window",
            en.prefix_cache.hit_rate.since_start.percent(),
            en.prefix_cache.hits_total.count(),
            en.prefix_cache.queries_total.count(),
            en.prefix_cache.hit_rate.window.percent()
        ),
    );
    push(
        "Engine",
        "external prefix hit rate",
        format!(
            "{} since start ({} / {} queries)",
            en.external_prefix_cache.hit_rate.since_start.percent(),
            en.external_prefix_cache.hits_total.count(),
            en.external_prefix_cache.queries_total.count()
        ),
    );
}

/// `N status, …` over the family rows, in order of first appearance.
fn family_counts(r: &Report) -> String {
    let mut counts: Vec<(Status, usize)> = Vec::new();
    for f in &r.analysis.families {
        match counts.iter_mut().find(|c| c.0 == f.status) {
            Some(c) => c.1 += 1,
            None => counts.push((f.status, 1)),
        }
    }
    counts
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per data-quality note: target, what, what is wrong, in how many scrapes.
fn quality_lines(r: &Report) -> Vec<String> {
    let dq = &r.analysis.data_quality;
    let mut out: Vec<String> = dq
        .notes
        .iter()
        .map(|n| {
            format!(
                "{}: {} {} ({} scrapes, last {})",
                clean(&n.target),
                clean(&n.note.subject),
                clean(&n.note.problem),
                n.note.scrapes,
                n.note
                    .last_time
                    .map_or("at an unknown time".to_string(), format_rfc3339)
            )
        })
        .collect();
    if dq.not_kept > 0 {
        out.push(format!("+{} more problems not kept", dq.not_kept));
    }
    out
}

/// The verdict, the architecture with its evidence, the inputs and the window.
fn text_head(r: &Report, o: &mut String) {
    let v = &r.analysis.verdict;
    let _ = writeln!(o, "{}", clean(&v.line()));
    for why in &v.reasons {
        let _ = writeln!(o, "  because: {}", clean(why));
    }
    let _ = writeln!(o);
    let m = &r.analysis.mode;
    let _ = writeln!(o, "architecture: {} ({})", m.architecture, m.strength);
    for e in &m.evidence {
        let _ = writeln!(
            o,
            "  {:<28} {} [{}]",
            e.signal.as_str(),
            clean(&e.detail),
            e.strength
        );
    }
    let rel = &r.analysis.lmcache_release;
    if let Some(line) = rel.line() {
        let _ = writeln!(o, "release: {}", clean(&line));
        for e in rel.evidence.iter().chain(&rel.notes) {
            let _ = writeln!(o, "  {}", clean(e));
        }
    }
    for i in &r.inputs {
        let _ = writeln!(
            o,
            "input: {} {} ({} scrapes{})",
            i.role.as_str(),
            clean(i.name),
            i.scrapes,
            i.last_time
                .map(|t| format!(", newest {}", format_rfc3339(t)))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(
        o,
        "window: {} requested, LMCache covers {} s, engine {} s",
        r.window.requested,
        r.analysis.lmcache.window_seconds.count(),
        r.analysis.engine.window_seconds.count()
    );
}

/// Plain text for a terminal.
pub(super) fn text(r: &Report, x: &Extras) -> String {
    let mut o = String::new();
    text_head(r, &mut o);
    if x.want_samples {
        let _ = writeln!(
            o,
            "(window figures need two scrapes: report --samples N --interval 2s reads N)"
        );
    }
    if x.metrics {
        text_figures(r, x, &mut o);
        text_findings(r, &mut o);
        text_families(r, &mut o);
    } else {
        let _ = writeln!(o, "\nno metrics given: what the files say");
        let mut lines = Vec::new();
        capacity_lines(r, &mut lines);
        evidence_lines(r, &mut lines);
        text_sections(lines, &mut o);
    }
    if r.parse_errors.lines_skipped > 0 {
        let _ = writeln!(
            o,
            "\nparse errors: {} lines skipped",
            r.parse_errors.lines_skipped
        );
    }
    let notes = quality_lines(r);
    if !notes.is_empty() {
        let _ = writeln!(o, "\ndata quality:");
        for n in notes {
            let _ = writeln!(o, "  {n}");
        }
    }
    if !x.unknowns.is_empty() && x.metrics {
        let _ = writeln!(o, "\nunknown figures:");
        for (k, v) in &x.unknowns {
            let _ = writeln!(o, "  {k}: {v}");
        }
        if x.unknowns_more > 0 {
            let _ = writeln!(
                o,
                "  +{} more (the JSON report lists every one)",
                x.unknowns_more
            );
        }
    }
    if x.not_applying > 0 && x.metrics {
        let _ = writeln!(
            o,
            "({} unknown figures of parts this input does not have are left out; the JSON lists them)",
            x.not_applying
        );
    }
    o
}

fn text_figures(r: &Report, x: &Extras, o: &mut String) {
    text_sections(figures(r, x), o);
}

/// Lines under their section's heading.
fn text_sections(lines: Lines, o: &mut String) {
    let mut section = "";
    for (sec, label, value) in lines {
        if sec != section {
            let _ = writeln!(o, "\n{sec}");
            section = sec;
        }
        let _ = writeln!(o, "  {label:<34} {value}");
    }
}

fn text_findings(r: &Report, o: &mut String) {
    let findings = &r.analysis.findings;
    if !findings.is_empty() {
        let _ = writeln!(o, "\nfindings");
        for f in findings {
            let _ = writeln!(o, "  [{}] {}: {}", f.severity, f.code, clean(&f.title));
            for e in &f.evidence {
                let _ = writeln!(o, "      {}", clean(e));
            }
            let _ = writeln!(o, "      next: {}", f.next_action);
        }
    }
    let pending: Vec<_> = r
        .analysis
        .rules
        .iter()
        .filter(|f| f.state == crate::analysis::findings::State::Pending)
        .collect();
    if !pending.is_empty() {
        let _ = writeln!(
            o,
            "\npending (they fire if their condition holds for their `for`)"
        );
        for f in pending {
            let _ = writeln!(
                o,
                "  [{}] {}: {} (for {})",
                f.severity,
                f.code,
                clean(&f.title),
                format_duration(f.for_seconds)
            );
        }
    }
}

fn text_families(r: &Report, o: &mut String) {
    let _ = writeln!(o, "\nfamilies: {}", family_counts(r));
    for f in r
        .analysis
        .families
        .iter()
        .filter(|f| f.status != Status::NotApplicable)
    {
        let _ = writeln!(
            o,
            "  {:<40} {:<20} {:<9} series {}{}",
            f.id,
            f.status.as_str(),
            f.need.as_str(),
            f.series,
            if f.sampled { "  (sampled)" } else { "" }
        );
    }
    for u in &r.analysis.unrecognised {
        let _ = writeln!(
            o,
            "  unrecognised: {} ({} samples) in {}",
            clean(&u.name),
            u.samples,
            clean(&u.target)
        );
    }
}

fn md_cell(s: &str) -> String {
    clean(s).replace('|', "\\|")
}

/// GitHub-flavoured markdown.
/// The LMCache release line with its evidence and notes, in markdown.
fn md_release(rel: &crate::analysis::release::LmcacheRelease, o: &mut String) {
    if let Some(line) = rel.line() {
        let why: Vec<&str> = rel
            .evidence
            .iter()
            .chain(&rel.notes)
            .map(String::as_str)
            .collect();
        let _ = writeln!(
            o,
            "**Release:** {} — {}\n",
            md_cell(&line),
            md_cell(&why.join("; "))
        );
    }
}

pub(super) fn markdown(r: &Report, x: &Extras) -> String {
    let mut o = String::new();
    let m = &r.analysis.mode;
    let v = &r.analysis.verdict;
    let _ = writeln!(o, "# kvscope report\n\n**{}**\n", md_cell(&v.line()));
    for why in &v.reasons {
        let _ = writeln!(o, "- {}", md_cell(why));
    }
    let _ = writeln!(
        o,
        "\n**Architecture:** `{}` ({})\n",
        m.architecture, m.strength
    );
    md_release(&r.analysis.lmcache_release, &mut o);
    let _ = writeln!(o, "| signal | detail | strength |\n|---|---|---|");
    for e in &m.evidence {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            md_cell(e.signal.as_str()),
            md_cell(&e.detail),
            e.strength
        );
    }
    let _ = writeln!(
        o,
        "\n## Figures\n\nWindow: {} requested.\n\n| section | figure | value |\n|---|---|---|",
        r.window.requested
    );
    for (sec, label, value) in figures(r, x) {
        let _ = writeln!(o, "| {sec} | {} | {} |", md_cell(&label), md_cell(&value));
    }
    let _ = writeln!(
        o,
        "\n## Families\n\n{}\n\n| family | status | need | series | sampled |\n|---|---|---|---|---|",
        family_counts(r)
    );
    for f in &r.analysis.families {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            f.id,
            f.status.as_str(),
            f.need.as_str(),
            f.series,
            if f.sampled { "yes" } else { "" }
        );
    }
    let notes = quality_lines(r);
    if !notes.is_empty() {
        let _ = writeln!(o, "\n## Data quality\n");
        for n in notes {
            let _ = writeln!(o, "- {}", md_cell(&n));
        }
    }
    if !x.unknowns.is_empty() {
        let _ = writeln!(o, "\n## Unknown figures\n\n| figure | reason |\n|---|---|");
        for (k, v) in &x.unknowns {
            let _ = writeln!(o, "| `{k}` | {} |", md_cell(v));
        }
        if x.unknowns_more > 0 {
            let _ = writeln!(
                o,
                "\n+{} more (the JSON report lists every one).",
                x.unknowns_more
            );
        }
    }
    o
}
