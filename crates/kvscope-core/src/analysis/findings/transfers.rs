//! Moving KV data: L2 prefetch failures, store and load backlogs, and L2 and L0↔L1 throughput.

use super::Prom;
use super::{
    Facts, Rule, Severity, Verdict, clear, data, lmcache_present, needs, windowed_or_total,
};
use crate::analysis::Fig;
use crate::metric;
use crate::promql;
use serde_json::{Map, json};

pub(super) const L2_PREFETCH_FAILURES: Rule = Rule {
    code: "l2_prefetch_failures",
    severity: Severity::Warning,
    title: "L2 prefetches failing",
    applies: "LMCache MP server with an L2 adapter",
    needs: "lmcache_mp_l2_prefetch_failure_chunks (over the window when there is one)",
    windowed: true,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        promql::moved(c, &[metric!("lmcache_mp.l2_failures", "prefetch_failure")])
    }),
    explanation: "Chunks LMCache tried to load from L2 did not arrive: those lookups miss although the data was stored.",
    next_action: "Check the L2 adapter's backend (disk space, network, credentials) and the server log for the adapter's errors.",
    check: l2_prefetch_failures,
};

fn l2_prefetch_failures(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let (n, over) = match windowed_or_total(&c.lm.l2.prefetch_failures) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("L2 prefetch failures: {e}")]),
    };
    let pairs = [("failed_chunks", json!(n)), ("over", json!(over))];
    let line = format!("{n:.0} L2 prefetch chunks failed {over}");
    if n > 0.0 {
        Verdict::Firing {
            title: format!("{n:.0} L2 prefetch chunks failed {over}").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

pub(super) const L2_STORE_BACKLOG: Rule = Rule {
    code: "l2_store_backlog",
    severity: Severity::Warning,
    title: "L2 stores falling behind",
    applies: "LMCache MP server with an L2 adapter",
    needs: "L2 store requests submitted and completed, over the window; stores in flight",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        backlog_promql(
            c,
            metric!("lmcache_mp.l2_counters", "store_submitted"),
            metric!("lmcache_mp.l2_counters", "store_completed"),
            metric!("lmcache_mp.l2_usage", "inflight_stores"),
        )
    }),
    explanation: "More store requests were submitted than completed and some are still in flight: the L2 adapter does not keep up, and chunks evicted from L1 before they land in L2 are lost.",
    next_action: "Look at the L1→L2 store throughput; a slow backend needs more bandwidth or fewer stores (store policy).",
    check: l2_store_backlog,
};

fn l2_store_backlog(c: &Facts<'_>) -> Verdict {
    backlog(c, "store", &c.lm.l2.store_backlog, &c.lm.l2.inflight_stores)
}

pub(super) const L2_LOAD_BACKLOG: Rule = Rule {
    code: "l2_load_backlog",
    severity: Severity::Warning,
    title: "L2 loads falling behind",
    applies: "an LMCache MP server with an L2 adapter",
    needs: "lmcache_mp_l2_prefetch_load_submitted_requests and lmcache_mp_l2_load_completed_requests",
    windowed: true,
    hold: 10.0,
    prom: Prom::Alert(|c, _| {
        backlog_promql(
            c,
            metric!("lmcache_mp.l2_counters", "prefetch_load_submitted"),
            metric!("lmcache_mp.l2_counters", "load_completed"),
            metric!("lmcache_mp.l2_usage", "inflight_loads"),
        )
    }),
    explanation: "Loads submitted and not completed, growing over the window, mean prefetches wait on L2: requests that should hit wait or miss instead.",
    next_action: "Check the L2 backend's latency and bandwidth (lmcache_mp_l2_load_throughput_GB_per_second) and its worker count.",
    check: l2_load_backlog,
};

fn l2_load_backlog(c: &Facts<'_>) -> Verdict {
    backlog(c, "load", &c.lm.l2.load_backlog, &c.lm.l2.inflight_loads)
}

pub(super) const L2_THROUGHPUT_LOW: Rule = Rule {
    code: "l2_throughput_low",
    severity: Severity::Info,
    title: "L2 transfer throughput low",
    applies: "an LMCache MP server with an L2 adapter",
    needs: "lmcache_mp_l2_store_throughput_GB_per_second and lmcache_mp_l2_load_throughput_GB_per_second in the window",
    windowed: true,
    hold: 30.0,
    prom: Prom::Alert(|c, t| {
        throughput_low_promql(
            c,
            t,
            [
                metric!("lmcache_mp.l1_l2_throughput", "store"),
                metric!("lmcache_mp.l1_l2_throughput", "load"),
            ],
        )
    }),
    explanation: "Throughput here is bytes over the time from submission to completion, queueing included; a low median means L2 transfers wait or the backend is slow, which bounds how fast L2 can refill L1.",
    next_action: "Compare with the backend's own figures; a queue (in-flight stores or loads) points at too few workers, a slow single transfer at the backend.",
    check: l2_throughput_low,
};

fn l2_throughput_low(c: &Facts<'_>) -> Verdict {
    let l2 = &c.lm.l2;
    throughput_low(
        c,
        [
            ("store", &l2.store_throughput_gbs),
            ("load", &l2.load_throughput_gbs),
        ],
        "L2",
    )
}

pub(super) const L0_L1_THROUGHPUT_LOW: Rule = Rule {
    code: "l0_l1_throughput_low",
    severity: Severity::Info,
    title: "L0↔L1 transfer throughput low",
    applies: "an LMCache MP server",
    needs: "lmcache_mp_l0_l1_store_throughput_GB_per_second and lmcache_mp_l0_l1_load_throughput_GB_per_second in the window",
    windowed: true,
    hold: 30.0,
    prom: Prom::Alert(|c, t| {
        throughput_low_promql(
            c,
            t,
            [
                metric!("lmcache_mp.l0_l1_throughput", "store"),
                metric!("lmcache_mp.l0_l1_throughput", "load"),
            ],
        )
    }),
    explanation: "Moving KV between the GPU (L0) and CPU memory (L1) should run at PCIe speeds; a low median makes loading a hit slower than recomputing it.",
    next_action: "Check pinned memory, PCIe placement (NUMA) and contention on the GPU's copy engines.",
    check: l0_l1_throughput_low,
};

fn l0_l1_throughput_low(c: &Facts<'_>) -> Verdict {
    let t = &c.lm.l0_l1;
    throughput_low(
        c,
        [
            ("store", &t.store_throughput_gbs),
            ("load", &t.load_throughput_gbs),
        ],
        "L0↔L1",
    )
}

/// L2 requests of one kind (`what`: store, load) falling behind: sustained, i.e. behind
/// already at the window's start, further behind now, and still in flight.
fn backlog(
    c: &Facts<'_>,
    what: &str,
    pending: &crate::analysis::aggregate::Pair,
    inflight: &Fig,
) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let submitted = format!("L2 {what}s submitted − completed");
    let in_flight = format!("L2 {what}s in flight");
    let [backlog, grew, inflight] = match needs([
        (submitted.as_str(), &pending.since_start),
        (
            "the growth of that backlog over the window (two scrapes at least)",
            &pending.window,
        ),
        (in_flight.as_str(), inflight),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("not_completed", json!(backlog)),
        ("grew_in_window", json!(grew)),
        ("in_flight", json!(inflight)),
    ];
    let line = format!(
        "{backlog:.0} {what} requests not completed ({grew:+.0} over the window); {inflight:.0} in flight now"
    );
    if backlog - grew > 0.0 && grew > 0.0 && inflight > 0.0 {
        Verdict::Firing {
            title: format!("L2 {what}s falling behind: {backlog:.0} not completed").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// Fires when a transfer direction's median throughput in the window is below the threshold.
fn throughput_low(
    c: &Facts<'_>,
    dirs: [(&str, &crate::analysis::aggregate::Distribution); 2],
    what: &str,
) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let limit = c.thresholds.low_throughput_gbs;
    let mut lines = Vec::new();
    let mut slow = Vec::new();
    let mut values = Map::new();
    let mut missing = Vec::new();
    for (name, d) in dirs {
        match (&d.window.p50.0, &d.window.count.0) {
            (Ok(p50), Ok(n)) => {
                lines.push(format!(
                    "{name}: median {p50:.3} GB/s over {n:.0} transfers in the window"
                ));
                values.insert(format!("{name}_p50_gbs"), json!(p50));
                if *p50 < limit {
                    slow.push(name);
                }
            }
            (Err(e), _) | (_, Err(e)) => missing.push(format!("{name} throughput: {e}")),
        }
    }
    if lines.is_empty() {
        return Verdict::Missing(missing);
    }
    values.insert("threshold_gbs".into(), json!(limit));
    if slow.is_empty() {
        Verdict::Clear {
            evidence: lines,
            data: values,
        }
    } else {
        Verdict::Firing {
            title: format!("{what} {} median below {limit} GB/s", slow.join(" and ")).into(),
            evidence: lines,
            data: values,
        }
    }
}

/// A backlog that was there before the window, grew in it, and is in flight now.
fn backlog_promql(
    c: &promql::Ctx,
    submitted: crate::catalog::MetricRef,
    completed: crate::catalog::MetricRef,
    inflight: crate::catalog::MetricRef,
) -> String {
    let by = promql::BY;
    let now = format!(
        "({} - {})",
        promql::now(c, submitted),
        promql::now(c, completed)
    );
    let grew = format!(
        "({} - {})",
        promql::delta(c, submitted),
        promql::delta(c, completed)
    );
    format!(
        "(({now} - {grew}) > 0) and on ({by}) ({grew} > 0) and on ({by}) ({} > 0)",
        promql::now(c, inflight)
    )
}

/// Either direction's median throughput in the window below the threshold.
fn throughput_low_promql(
    c: &promql::Ctx,
    t: &super::Thresholds,
    dirs: [crate::catalog::MetricRef; 2],
) -> String {
    let [store, load] = dirs.map(|m| promql::quantile(c, 0.5, m));
    let limit = t.low_throughput_gbs;
    format!("({store} < {limit}) or ({load} < {limit})")
}
