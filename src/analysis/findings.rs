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

fn f(
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

/// Evaluates every rule; most severe first.
pub fn evaluate(
    mode: &Mode,
    families: &[FamilyRow],
    unrecognised: &[Unrecognised],
    lm: &LmcacheFigures,
    en: &EngineFigures,
    quality: &super::DataQuality,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !quality.notes.is_empty() {
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
        out.push(f(
            "bad_data",
            Severity::Warning,
            format!("{n} problems in the data itself; figures resting on them are unknown"),
            evidence,
            "Check the exporter: a counter must be a finite, non-negative number that only grows, each series must appear once per scrape, and bucket bounds must be numbers.",
        ));
    }
    if let Some(d) = lm.eventbus.dropped_total.value().filter(|d| *d > 0.0) {
        let rate = lm
            .eventbus
            .dropped_per_s
            .value()
            .map_or("unknown".into(), |r| format!("{r:.2}/s"));
        out.push(f(
            "eventbus_dropping",
            Severity::Critical,
            format!("LMCache's EventBus dropped {d:.0} events"),
            vec![format!("lmcache_mp_event_bus_dropped_events_total = {d:.0} (window rate {rate})")],
            "Metrics, traces and KV events lose data while the bus is full: raise --event-bus-queue-size or reduce --metrics-sample-rate.",
        ));
    }
    if lm.http.periodic_healthy == Some(false) {
        let mut evidence = vec!["GET /periodic-threads-health: healthy = false".to_string()];
        evidence.extend(lm.http.periodic_unhealthy.iter().cloned());
        out.push(f(
            "periodic_threads_unhealthy",
            Severity::Warning,
            "LMCache says some of its background threads are not running on time".into(),
            evidence,
            "Open GET /periodic-threads/<name> on the server for the last run's message, and read the server log around that time.",
        ));
    }
    for e in &mode.stale_connector {
        out.push(f(
            "stale_connector",
            Severity::Warning,
            "A deprecated LMCache connector name is configured".into(),
            vec![e.detail.clone()],
            "Configure LMCacheConnectorV1 (embedded) or LMCacheMPConnector (MP server).",
        ));
    }
    let lm_hits = lm.lookup.hit_tokens.since_start.value();
    let ext_q = en.external_prefix_cache.queries_total.value();
    let ext_h = en.external_prefix_cache.hits_total.value();
    if let (Some(h), Some(q), Some(0.0)) = (lm_hits, ext_q, ext_h)
        && h > 0.0
        && q > 0.0
    {
        out.push(f(
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
    for fam in families.iter().filter(|r| {
        r.need == Need::Required && matches!(r.status, Status::Missing | Status::DeclaredNoSamples)
    }) {
        out.push(f(
            "required_family_missing",
            Severity::Warning,
            format!("{} has no samples", fam.id),
            vec![format!("{}: {:?} in a {} deployment", fam.title, fam.status, mode.architecture)],
            "Many LMCache series appear only after their first event: send traffic, then check the exporter (--disable-metrics, OTLP push) and the name variants this build uses.",
        ));
    }
    if let Some(r) = lm
        .l1
        .memory
        .usage_ratio
        .value()
        .filter(|r| *r >= L1_WATERMARK)
    {
        let ev = lm
            .l1
            .evicted_per_s
            .value()
            .map_or("unknown".into(), |e| format!("{e:.2} chunks/s"));
        out.push(f(
            "l1_at_watermark",
            Severity::Info,
            format!("L1 is {:.0}% full, at or above the default eviction watermark", r * 100.0),
            vec![format!("lmcache_mp_l1_usage_ratio = {r:.3}; evictions in the window: {ev}")],
            "Expected under steady load; if the hit rate falls as evictions rise, give L1 more memory or add an L2 adapter.",
        ));
    }
    if let (Some(rate), Some(req)) = (
        lm.lookup.hit_rate.window.value(),
        lm.lookup.requested_tokens.window.value(),
    ) && rate < 0.2
        && req > 0.0
    {
        out.push(f(
                "low_lookup_hit_rate",
                Severity::Info,
                format!("LMCache hit rate in the window is {:.0}%", rate * 100.0),
                vec![format!("{req:.0} tokens looked up in the window")],
                "Normal for new prompts; for repeated prefixes check cache_salt, model_name and chunk alignment.",
            ));
    }
    if lm.eventbus.gauges_trust == GaugeTrust::Unverified
        && lm.eventbus.queue_depth.value().is_some()
    {
        out.push(f(
            "eventbus_gauges_unverified",
            Severity::Info,
            "EventBus depth and drain lag cannot be trusted on this build".into(),
            vec![lm.eventbus.gauges_note.to_string()],
            "Watch dropped events instead of depth.",
        ));
    }
    if !unrecognised.is_empty() {
        let names: Vec<String> = unrecognised
            .iter()
            .take(5)
            .map(|u| u.name.clone())
            .collect();
        out.push(f(
            "unrecognised_names",
            Severity::Info,
            format!("{} metric names with known prefixes are not in kvscope's catalog", unrecognised.len()),
            names,
            "A newer or older build may have renamed them: report them so the catalog learns the variant.",
        ));
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}
