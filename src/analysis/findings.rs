//! Findings: what the figures and the matrix mean, ranked, each with its evidence and a next
//! action. A first set of rules; the full rule pack comes later.

use super::engine::EngineFigures;
use super::figures::{GaugeTrust, LmcacheFigures};
use super::matrix::{FamilyRow, Need, Status, Unrecognised};
use super::mode::Mode;

crate::named! {
    /// How much a finding matters, least first.
    #[derive(PartialOrd, Ord)]
    pub enum Severity {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub title: String,
    pub evidence: Vec<String>,
    pub next_action: String,
}

fn finding(
    code: &'static str,
    severity: Severity,
    title: String,
    evidence: Vec<String>,
    next: &str,
) -> Finding {
    Finding {
        code,
        severity,
        title,
        evidence,
        next_action: next.to_string(),
    }
}

/// Default L1 eviction trigger (`--eviction-trigger-watermark`).
pub const L1_WATERMARK: f64 = 0.8;

/// What the rules read: the analysis made so far.
pub struct Facts<'a> {
    pub mode: &'a Mode,
    pub families: &'a [FamilyRow],
    pub unrecognised: &'a [Unrecognised],
    pub lm: &'a LmcacheFigures,
    pub en: &'a EngineFigures,
    pub quality: &'a super::DataQuality,
}

/// A rule adds the findings it sees to the list.
type Rule = fn(&Facts<'_>, &mut Vec<Finding>);

/// Every rule, in the order findings of one severity are listed.
const RULES: &[Rule] = &[
    bad_data,
    eventbus_dropping,
    periodic_threads_unhealthy,
    stale_connector,
    external_prefix_no_hits,
    required_family_missing,
    l1_at_watermark,
    low_lookup_hit_rate,
    eventbus_gauges_unverified,
    unrecognised_names,
];

/// Evaluates every rule; most severe first.
pub fn evaluate(facts: &Facts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in RULES {
        rule(facts, &mut out);
    }
    // Stable: within a severity, the order of RULES.
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn bad_data(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let quality = c.quality;
    if quality.notes.is_empty() {
        return;
    }
    let n = quality.notes.len() as u64 + quality.not_kept;
    let mut evidence: Vec<String> = quality
        .notes
        .iter()
        .take(5)
        .map(|n| format!("{}: {} {}", n.target, n.note.subject, n.note.problem))
        .collect();
    if n > 5 {
        evidence.push(format!("+{} more (the report lists them)", n - 5));
    }
    out.push(finding(
        "bad_data",
        Severity::Warning,
        format!("{n} problems in the data itself; figures resting on them are unknown"),
        evidence,
        "Check the exporter: a counter must be a finite, non-negative number that only grows, each series must appear once per scrape, and bucket bounds must be numbers.",
    ));
}

fn eventbus_dropping(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let bus = &c.lm.eventbus;
    let Some(d) = bus.dropped_total.value().filter(|d| *d > 0.0) else {
        return;
    };
    let rate = bus
        .dropped_per_s
        .value()
        .map_or("unknown".into(), |r| format!("{r:.2}/s"));
    out.push(finding(
        "eventbus_dropping",
        Severity::Critical,
        format!("LMCache's EventBus dropped {d:.0} events"),
        vec![format!("lmcache_mp_event_bus_dropped_events_total = {d:.0} (window rate {rate})")],
        "Metrics, traces and KV events lose data while the bus is full: raise --event-bus-queue-size or reduce --metrics-sample-rate.",
    ));
}

fn periodic_threads_unhealthy(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let http = &c.lm.http;
    if http.periodic_healthy != Some(false) {
        return;
    }
    let mut evidence = vec!["GET /periodic-threads-health: healthy = false".to_string()];
    evidence.extend(http.periodic_unhealthy.iter().cloned());
    out.push(finding(
        "periodic_threads_unhealthy",
        Severity::Warning,
        "LMCache says some of its background threads are not running on time".into(),
        evidence,
        "Open GET /periodic-threads/<name> on the server for the last run's message, and read the server log around that time.",
    ));
}

fn stale_connector(c: &Facts<'_>, out: &mut Vec<Finding>) {
    for e in &c.mode.stale_connector {
        out.push(finding(
            "stale_connector",
            Severity::Warning,
            "A deprecated LMCache connector name is configured".into(),
            vec![e.detail.clone()],
            "Configure LMCacheConnectorV1 (embedded) or LMCacheMPConnector (MP server).",
        ));
    }
}

fn external_prefix_no_hits(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let lm_hits = c.lm.lookup.hit_tokens.since_start.value();
    let ext = &c.en.external_prefix_cache;
    let (Some(h), Some(q), Some(0.0)) =
        (lm_hits, ext.queries_total.value(), ext.hits_total.value())
    else {
        return;
    };
    if h > 0.0 && q > 0.0 {
        out.push(finding(
            "external_prefix_no_hits",
            Severity::Warning,
            "vLLM counts no external prefix hits although LMCache reports hits".into(),
            vec![
                format!("LMCache lookup hit tokens since start: {h:.0}"),
                format!("vllm:external_prefix_cache_hits_total = 0 of {q:.0} queried tokens"),
            ],
            "Check that the engine and the LMCache server belong to one deployment, and whether this vLLM build reports MP-connector hits (compare prompt_tokens_by_source{source=\"external_kv_transfer\"}).",
        ));
    }
}

fn required_family_missing(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let missing = c.families.iter().filter(|r| {
        r.need == Need::Required && matches!(r.status, Status::Missing | Status::DeclaredNoSamples)
    });
    for fam in missing {
        out.push(finding(
            "required_family_missing",
            Severity::Warning,
            format!("{} has no samples", fam.id),
            vec![format!("{}: {:?} in a {} deployment", fam.title, fam.status, c.mode.architecture)],
            "Many LMCache series appear only after their first event: send traffic, then check the exporter (--disable-metrics, OTLP push) and the name variants this build uses.",
        ));
    }
}

fn l1_at_watermark(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let l1 = &c.lm.l1;
    let Some(r) = l1.memory.usage_ratio.value().filter(|r| *r >= L1_WATERMARK) else {
        return;
    };
    let ev = l1
        .evicted_per_s
        .value()
        .map_or("unknown".into(), |e| format!("{e:.2} chunks/s"));
    out.push(finding(
        "l1_at_watermark",
        Severity::Info,
        format!("L1 is {:.0}% full, at or above the default eviction watermark", r * 100.0),
        vec![format!("lmcache_mp_l1_usage_ratio = {r:.3}; evictions in the window: {ev}")],
        "Expected under steady load; if the hit rate falls as evictions rise, give L1 more memory or add an L2 adapter.",
    ));
}

fn low_lookup_hit_rate(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let lookup = &c.lm.lookup;
    let (Some(rate), Some(req)) = (
        lookup.hit_rate.window.value(),
        lookup.requested_tokens.window.value(),
    ) else {
        return;
    };
    if rate < 0.2 && req > 0.0 {
        out.push(finding(
            "low_lookup_hit_rate",
            Severity::Info,
            format!("LMCache hit rate in the window is {:.0}%", rate * 100.0),
            vec![format!("{req:.0} tokens looked up in the window")],
            "Normal for new prompts; for repeated prefixes check cache_salt, model_name and chunk alignment.",
        ));
    }
}

fn eventbus_gauges_unverified(c: &Facts<'_>, out: &mut Vec<Finding>) {
    let bus = &c.lm.eventbus;
    if bus.gauges_trust == GaugeTrust::Unverified && bus.queue_depth.value().is_some() {
        out.push(finding(
            "eventbus_gauges_unverified",
            Severity::Info,
            "EventBus depth and drain lag cannot be trusted on this build".into(),
            vec![bus.gauges_note.to_string()],
            "Watch dropped events instead of depth.",
        ));
    }
}

fn unrecognised_names(c: &Facts<'_>, out: &mut Vec<Finding>) {
    if c.unrecognised.is_empty() {
        return;
    }
    let names: Vec<String> = c
        .unrecognised
        .iter()
        .take(5)
        .map(|u| u.name.clone())
        .collect();
    out.push(finding(
        "unrecognised_names",
        Severity::Info,
        format!(
            "{} metric names with known prefixes are not in kvscope's catalog",
            c.unrecognised.len()
        ),
        names,
        "A newer or older build may have renamed them: report them so the catalog learns the variant.",
    ));
}
