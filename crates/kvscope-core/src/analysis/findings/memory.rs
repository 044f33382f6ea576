//! L1 memory: the eviction watermark, evictions, growth without a plateau, allocation failures and the prefetch queue.

use super::{
    Facts, L1_EVICTION_RATIO, L1_WATERMARK, Rule, Severity, Verdict, clear, corroborate, data,
    failures, lmcache_given, lmcache_present, need, needs,
};
use super::{ONLY_ROUTES, Prom};
use crate::metric;
use crate::promql;
use serde_json::json;

pub(super) const L1_AT_WATERMARK: Rule = Rule {
    code: "l1_at_watermark",
    severity: Severity::Info,
    title: "L1 at its eviction watermark",
    applies: "LMCache MP server",
    needs: "lmcache_mp_l1_usage_ratio; the watermark and eviction ratio from /status (0.8 and 0.2 when not read); evictions in the window",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(l1_at_watermark_promql),
    explanation: "At the watermark LMCache evicts to make room; under steady load this is expected, but evictions of chunks asked for again cost hits. Each eviction frees a share of L1 (the eviction ratio, 0.2 unless /status says), so usage saws between the mark and the mark less that share: anywhere in that band while evicting in the window counts as at the mark, and the verdict does not flap with each scrape.",
    next_action: "If the hit rate falls as evictions rise, give L1 more memory, or add an L2 adapter where there is none (the L1 / L2 pane counts them).",
    check: l1_at_watermark,
};

fn l1_at_watermark(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let usage = match need("lmcache_mp_l1_usage_ratio", &l1.memory.usage_ratio) {
        Ok(u) => u,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let (mark, from) = match c.lm.http.eviction_watermark.value() {
        Some(w) => (w, "/status"),
        None => (L1_WATERMARK, "the default"),
    };
    let ev = l1.evicted_per_s.value();
    // Each eviction frees a share of L1: usage saws between the mark and the mark less that
    // share, and anywhere in that band while evicting is at the mark.
    let ratio =
        c.lm.http
            .eviction_ratio
            .value()
            .unwrap_or(L1_EVICTION_RATIO);
    let evicting_near = usage >= mark - ratio && ev.is_some_and(|e| e > 0.0);
    let pairs = [
        ("usage_ratio", json!(usage)),
        ("watermark", json!(mark)),
        ("watermark_from", json!(from)),
        ("eviction_ratio", json!(ratio)),
        ("evicted_per_s", json!(ev)),
    ];
    let ev_text = ev.map_or("unknown".into(), |e| {
        format!(
            "{e:.2} chunks/s over {}",
            crate::timefmt::format_duration(c.window)
        )
    });
    let line = format!(
        "lmcache_mp_l1_usage_ratio = {usage:.3}; watermark {mark} ({from}), each eviction frees {ratio}; evictions in the window: {ev_text}"
    );
    if usage >= mark || evicting_near {
        // Below the mark while evicting is the saw's low side: said as such, so the title
        // never calls 72 % "at" an 80 % mark.
        let title = if usage >= mark {
            format!(
                "L1 is {:.0}% full, at its eviction watermark ({:.0}%, {from})",
                usage * 100.0,
                mark * 100.0
            )
        } else {
            format!(
                "L1 is evicting at {:.0}% full, within one eviction ({:.0}%) of its watermark ({:.0}%, {from})",
                usage * 100.0,
                ratio * 100.0,
                mark * 100.0
            )
        };
        Verdict::Firing {
            title: title.into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const L1_EVICTING: Rule = Rule {
    code: "l1_evicting",
    severity: Severity::Info,
    title: "L1 evicting in the window",
    applies: "LMCache MP server",
    needs: "lmcache_mp_l1 eviction counters over the window",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| format!("{} > 0", promql::rate(c, EVICTED))),
    explanation: "L1 made room by evicting chunks in the window. Expected while it fills; costly when evicted chunks are asked for again (the hit rate falls).",
    next_action: "If the window hit rate falls while L1 evicts, give L1 more memory, or add an L2 adapter where there is none (the L1 / L2 pane counts them).",
    check: l1_evicting,
};

fn l1_evicting(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let rate = match need("L1 evictions in the window", &c.lm.l1.evicted_per_s) {
        Ok(r) => r,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let hit = c.lm.lookup.hit_rate.window.value();
    let pairs = [
        ("evicted_per_s", json!(rate)),
        ("window_hit_rate", json!(hit)),
    ];
    let hit_text = hit.map_or("unknown".into(), |h| format!("{:.1}%", h * 100.0));
    let line = format!("{rate:.2} chunks/s evicted in the window; window hit rate {hit_text}");
    if rate > 0.0 {
        Verdict::Firing {
            title: format!(
                "L1 is evicting {rate:.2} chunks/s over {}",
                crate::timefmt::format_duration(c.window)
            )
            .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const PREFETCH_QUEUE_SATURATED: Rule = Rule {
    code: "prefetch_queue_saturated",
    severity: Severity::Warning,
    title: "LMCache's prefetch queue is saturated",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /status (prefetch in flight and its maximum)",
    windowed: false,
    hold: 10.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "Every prefetch slot is taken: further L2 prefetches wait, and lookups that need L2 come back slower.",
    next_action: "Raise --prefetch-max-in-flight, or look for a slow L2 adapter.",
    check: prefetch_queue_saturated,
};

fn prefetch_queue_saturated(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_given(c) {
        return v;
    }
    let http = &c.lm.http;
    let [inflight, max] = match needs([
        ("/status prefetch in flight", &http.prefetch_in_flight),
        (
            "/status prefetch maximum in flight",
            &http.prefetch_max_in_flight,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("in_flight", json!(inflight)),
        ("max_in_flight", json!(max)),
    ];
    let line = format!("{inflight:.0} of {max:.0} prefetches in flight (/status)");
    if max > 0.0 && inflight >= max {
        Verdict::Firing {
            title: "LMCache's prefetch queue is saturated".into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const L1_MEMORY_NO_PLATEAU: Rule = Rule {
    code: "l1_memory_no_plateau",
    severity: Severity::Warning,
    title: "L1 memory keeps growing past its watermark",
    applies: "an LMCache MP server",
    needs: "lmcache_mp_l1_memory_usage_bytes over the window, lmcache_mp_l1_usage_ratio and the watermark (/status or the default)",
    windowed: true,
    hold: 0.0,
    prom: Prom::Alert(l1_memory_no_plateau_promql),
    explanation: "L1 should level off at the eviction watermark: eviction frees chunks as new ones arrive. Usage at or above the watermark that still rises at every scrape means eviction is not keeping up, and allocations will start to fail.",
    next_action: "Look at lmcache_mp_l1_eviction_loop_* and the server log for eviction errors; lower the watermark or give L1 more memory.",
    check: l1_memory_no_plateau,
};

fn l1_memory_no_plateau(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let [usage, change] = match needs([
        ("lmcache_mp_l1_usage_ratio", &l1.memory.usage_ratio),
        ("L1 used bytes over the window", &l1.used_bytes_trend.change),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let mark = c.lm.http.eviction_watermark.value().unwrap_or(L1_WATERMARK);
    let rising = l1.used_bytes_trend.rose_every_scrape == Some(true);
    let scrapes = l1.used_bytes_trend.scrapes;
    let pairs = [
        ("usage_ratio", json!(usage)),
        ("watermark", json!(mark)),
        ("change_bytes", json!(change)),
        ("rose_every_scrape", json!(rising)),
        ("scrapes", json!(scrapes)),
    ];
    let line = format!(
        "L1 {:.1}% full (watermark {:.0}%); {change:+.0} bytes over {scrapes} scrapes{}",
        usage * 100.0,
        mark * 100.0,
        if rising { ", up at every one" } else { "" }
    );
    if usage >= mark && rising && scrapes >= 3 {
        Verdict::Firing {
            title: format!(
                "L1 is {:.0}% full and still growing at every scrape",
                usage * 100.0
            )
            .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const L1_FAILURES: Rule = Rule {
    code: "l1_failures",
    severity: Severity::Warning,
    title: "L1 allocation or read failures",
    applies: "an LMCache MP server",
    needs: "lmcache_mp_l1_allocation_failure_chunks and lmcache_mp_l1_read_failure_chunks; the server log's allocation failure lines when given",
    windowed: true,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        promql::moved(
            c,
            &[
                metric!("lmcache_mp.l1_failures", "allocation_failure"),
                metric!("lmcache_mp.l1_failures", "read_failure"),
            ],
        )
    }),
    explanation: "An allocation failure drops a store (the chunk is never cached); a read failure turns a hit into a recompute. Either costs hit rate that the lookup counters do not show.",
    next_action: "Give L1 more memory (--l1-size-gb) or lower the eviction watermark; for read failures check the server log around the failures.",
    check: l1_failures,
};

fn l1_failures(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let metrics = failures(
        &[
            ("allocation_failures", &c.lm.l1.allocation_failures),
            ("read_failures", &c.lm.l1.read_failures),
        ],
        "L1 failed chunks",
    );
    let log = c.server_log.map(|l| {
        (
            l.l1_alloc_failed,
            "Failed to batched allocate … memory blocks",
            l.over,
        )
    });
    corroborate(metrics, log, "L1 cannot allocate")
}

const EVICTED: crate::catalog::MetricRef = metric!("lmcache_mp.l1_counters", "evicted");

/// L1's fill at the default watermark, or evicting within one eviction of it (Prometheus does
/// not read `/status`: the defaults stand for the server's own).
fn l1_at_watermark_promql(c: &promql::Ctx, _: &super::Thresholds) -> String {
    let by = promql::BY;
    let usage = crate::promql::figures::l1_usage(c);
    format!(
        "({usage} >= {L1_WATERMARK}) or (({usage} >= ({L1_WATERMARK} - {L1_EVICTION_RATIO})) and on ({by}) ({} > 0))",
        promql::rate(c, EVICTED)
    )
}

/// L1 at its watermark and its used bytes up at every scrape of the window (three at least).
fn l1_memory_no_plateau_promql(c: &promql::Ctx, _: &super::Thresholds) -> String {
    let by = promql::BY;
    let w = c.range();
    let used = metric!("lmcache_mp.l1_memory", "used_bytes");
    let each = |f: &str| {
        format!(
            "sum by ({by}) ({})",
            promql::any(used, |n| format!("{f}({}[{w}])", c.selector(n)))
        )
    };
    format!(
        "({} >= {L1_WATERMARK}) and on ({by}) ({} == 0) and on ({by}) ({} >= 3) and on ({by}) ({} == {} - 1)",
        crate::promql::figures::l1_usage(c),
        each("resets"),
        each("count_over_time"),
        each("changes"),
        each("count_over_time")
    )
}
