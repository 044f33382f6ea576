//! Which cache architecture is running, from metric names and labels across all targets:
//! [`Scan`] gathers names and labels in one pass, [`features`] finds deployment features from a
//! table of probes, and [`detect`] weighs the sightings on a ladder of decisions.

mod features;
mod scan;

pub use features::features;
use scan::Prefix;
pub use scan::Scan;

use super::{Evidence, Features, Inputs, Signal, Strength, has};
use crate::catalog::{self, Architecture, FAMILIES, Feature, Scope};
use crate::metric;
use crate::store::TargetStore;
use crate::vocab::EngineKind;

/// The detected architecture and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mode {
    pub architecture: Architecture,
    pub strength: Strength,
    /// `vllm`, `sglang`, or none seen.
    pub engine: Option<EngineKind>,
    pub evidence: Vec<Evidence>,
    /// Deployment features evident in the inputs.
    pub features: Vec<Feature>,
    /// Signs of a deprecated or mismatched connector.
    pub stale_connector: Vec<Evidence>,
}

fn ev(signal: Signal, detail: impl Into<String>, strength: Strength) -> Evidence {
    Evidence {
        signal,
        detail: detail.into(),
        strength,
    }
}

/// The first family of `id` with a series in a newest scrape: (target, family name, value).
fn family_present<'a>(inputs: &Inputs<'a>, id: &str) -> Option<(&'a TargetStore, String, f64)> {
    metrics_present(inputs, catalog::family_metrics(id))
}

/// The first of `metrics` with a series in a newest scrape: (target, family name, value).
fn metrics_present<'a>(
    inputs: &Inputs<'a>,
    mut metrics: impl Iterator<Item = catalog::MetricRef>,
) -> Option<(&'a TargetStore, String, f64)> {
    metrics.find_map(|m| {
        inputs
            .newest_series(m)
            .next()
            .map(|(t, s, v)| (t, s.family.to_string(), v))
    })
}

/// Labels naming the KV connector.
const CONNECTOR_LABELS: &[&str] = &[
    "connector",
    "kv_connector",
    "cache_connector",
    "lmcache_connector",
    "kv_connector_class",
];

/// vLLM's `cache_config_info` with `kv_offloading_backend` = `backend` and a size set:
/// (target, size).
fn offload_size(inputs: &Inputs<'_>, backend: &str) -> Option<(String, String)> {
    let (t, s, _) = inputs
        .newest_series(metric!("vllm.cache_config", "info"))
        .find(|(_, s, _)| {
            s.label("kv_offloading_backend") == Some(backend)
                && s.label("kv_offloading_size").is_some_and(|v| v != "None")
        })?;
    let size = s.label("kv_offloading_size").unwrap_or("?");
    Some((t.name.clone(), size.to_string()))
}

/// What the detection saw, before deciding: (target, example family[, series count]) per kind
/// of metrics, and the values that name a connector or a cache.
struct Sightings {
    vllm: Option<(String, String, usize)>,
    sglang: Option<(String, String, usize)>,
    mp: Option<(String, String)>,
    embedded: Option<(String, String)>,
    /// A metric of vLLM's own LMCache MP connector.
    connector_metric: Option<(String, String)>,
    coordinator: Option<(String, String, usize)>,
    /// The first value of a connector label.
    connector: Option<String>,
    /// vLLM configured with `kv_offloading_backend="lmcache"`: (target, size).
    lmcache_offload: Option<(String, String)>,
    /// The last SGLang `cache_type` naming LMCache.
    sglang_cache: Option<String>,
}

impl Sightings {
    fn of(inputs: &Inputs<'_>, scan: &Scan) -> Sightings {
        let in_scope = |scope: Scope| {
            (0..FAMILIES.len())
                .filter(|fi| FAMILIES[*fi].scope == scope)
                .find_map(|fi| metrics_present(inputs, catalog::refs_of(fi)))
                .map(|(t, fam, _)| (t.name.clone(), fam))
        };
        let prefixed = |group| scan.prefixed(group).map(|(t, f, _)| (t, f));
        // A label names the connector; without one, the engine log's start-up line.
        let connector = CONNECTOR_LABELS
            .iter()
            .find_map(|key| scan.label_values(key).first())
            .map(|(v, _)| v.clone())
            .or_else(|| logged_connector(inputs).map(|(_, c)| c.to_string()));
        let sglang_cache = scan
            .label_values("cache_type")
            .iter()
            .rfind(|(v, _)| v.contains("LMC"))
            .map(|(v, _)| v.clone());
        Sightings {
            vllm: scan.prefixed(Prefix::Vllm),
            sglang: scan.prefixed(Prefix::Sglang),
            mp: in_scope(Scope::MpServer).or_else(|| prefixed(Prefix::LmcacheMp)),
            embedded: in_scope(Scope::Embedded).or_else(|| prefixed(Prefix::LmcacheEmbedded)),
            connector_metric: in_scope(Scope::VllmMpConnector),
            coordinator: scan.prefixed(Prefix::Coordinator),
            connector,
            lmcache_offload: offload_size(inputs, "lmcache"),
            sglang_cache,
        }
    }

    fn engine(&self) -> Option<EngineKind> {
        match (&self.vllm, &self.sglang) {
            (Some(_), _) => Some(EngineKind::Vllm),
            (None, Some(_)) => Some(EngineKind::Sglang),
            (None, None) => None,
        }
    }

    /// Evidence for each kind of metrics seen.
    fn evidence(&self) -> Vec<Evidence> {
        let measured = |signal, detail: String| ev(signal, detail, Strength::Measured);
        let mut out = Vec::new();
        if let Some((t, f, n)) = &self.vllm {
            let detail = format!("{t}: {n} vllm: series (e.g. {f})");
            out.push(measured(Signal::VllmMetrics, detail));
        }
        if let Some((t, f, n)) = &self.sglang {
            let detail = format!("{t}: {n} sglang series (e.g. {f})");
            out.push(measured(Signal::SglangMetrics, detail));
        }
        if let Some((t, f)) = &self.mp {
            let detail = format!("{t}: LMCache MP server metrics (e.g. {f})");
            out.push(measured(Signal::LmcacheMpMetrics, detail));
        }
        if let Some((t, f)) = &self.embedded {
            let detail = format!("{t}: embedded LMCache metrics (e.g. {f})");
            out.push(measured(Signal::LmcacheEmbeddedMetrics, detail));
        }
        if let Some((t, f)) = &self.connector_metric {
            let detail = format!("{t}: vLLM's LMCache MP connector exports {f}");
            out.push(measured(Signal::LmcacheMpConnectorMetrics, detail));
        }
        if let Some((t, f, _)) = &self.coordinator {
            out.push(measured(
                Signal::LmcacheCoordinatorMetrics,
                format!("{t}: {f}"),
            ));
        }
        out
    }
}

/// The values `scan` kept for `label` as evidence, then how many more there were.
fn label_evidence(scan: &Scan, label: &str, signal: Signal, out: &mut Vec<Evidence>) {
    for (v, fam) in scan.label_values(label) {
        let detail = format!("{label}=\"{v}\" on {fam}");
        out.push(ev(signal, detail, Strength::Measured));
    }
    let more = scan.more_values(label);
    if more > 0 {
        let detail = format!("… and {more} more {label} values");
        out.push(ev(signal, detail, Strength::Measured));
    }
}

/// The connector the engine log's start-up lines name (`Creating v1 connector with name: …`,
/// `Using external … from …`): the log's file and the name.
fn logged_connector<'a>(inputs: &Inputs<'a>) -> Option<(&'a str, &'a str)> {
    inputs.all().find_map(|t| {
        let l = t.evidence.engine_log.as_ref()?;
        Some((l.origin.as_str(), l.facts.get("connector")?.as_str()))
    })
}

/// Connector labels, or the engine log's connector line, naming the deprecated v0 connector.
fn stale_connectors(inputs: &Inputs<'_>, scan: &Scan) -> Vec<Evidence> {
    let mut out = Vec::new();
    if let Some((file, "LMCacheConnector")) = logged_connector(inputs) {
        out.push(ev(
            Signal::StaleConnector,
            format!("{file}: the engine log names the deprecated v0 connector LMCacheConnector; use LMCacheConnectorV1 or LMCacheMPConnector"),
            Strength::Measured,
        ));
    }
    for key in CONNECTOR_LABELS {
        for (_, fam) in scan
            .label_values(key)
            .iter()
            .filter(|(v, _)| v == "LMCacheConnector")
        {
            out.push(ev(
                Signal::StaleConnector,
                format!("{key}=\"LMCacheConnector\" on {fam}: the deprecated v0 connector name; use LMCacheConnectorV1 or LMCacheMPConnector"),
                Strength::Measured,
            ));
        }
    }
    out
}

/// Decides the architecture: the sightings, then every feature's evidence that bears on it.
pub fn detect(inputs: &Inputs<'_>, features: &Features, scan: &Scan) -> Mode {
    let seen = Sightings::of(inputs, scan);
    let (architecture, strength, why) = decide(&seen, features);
    let mut evidence = vec![ev(Signal::Decision, why, strength)];
    evidence.extend(seen.evidence());
    for key in CONNECTOR_LABELS {
        label_evidence(scan, key, Signal::ConnectorLabel, &mut evidence);
    }
    if let Some((file, name)) = logged_connector(inputs) {
        evidence.push(ev(
            Signal::ConnectorLog,
            format!("{file}: the engine log names the connector {name}"),
            Strength::Measured,
        ));
    }
    if let Some((t, size)) = &seen.lmcache_offload {
        evidence.push(ev(
            Signal::LmcacheOffloadShortcut,
            format!("{t}: cache_config_info kv_offloading_backend=\"lmcache\" size {size}"),
            Strength::Measured,
        ));
    }
    label_evidence(scan, "cache_type", Signal::SglangCacheType, &mut evidence);
    let bearing = features
        .iter()
        .filter(|(f, _)| matches!(f, Feature::Pd | Feature::P2p));
    evidence.extend(bearing.map(|(_, e)| e.clone()));
    Mode {
        architecture,
        strength,
        engine: seen.engine(),
        evidence,
        features: features.iter().map(|(f, _)| *f).collect(),
        stale_connector: stale_connectors(inputs, scan),
    }
}

/// The ladder: the first rung whose condition holds decides. A table of rungs (each condition
/// computed up front; they are cheap) keeps the order of precedence in one readable place.
fn decide(seen: &Sightings, features: &Features) -> (Architecture, Strength, &'static str) {
    use Architecture::*;
    use Strength::{Inferred, Measured};
    let (vllm, sglang) = (seen.vllm.is_some(), seen.sglang.is_some());
    let (mp, embedded) = (seen.mp.is_some(), seen.embedded.is_some());
    let connector_is = |names: &[&str]| {
        seen.connector
            .as_deref()
            .is_some_and(|c| names.contains(&c))
    };
    let v1_connector = connector_is(&[
        "LMCacheConnectorV1",
        "LMCacheConnectorV1Dynamic",
        "LMCacheConnector",
    ]);
    let mp_connector = seen.connector_metric.is_some() || connector_is(&["LMCacheMPConnector"]);
    let sglang_cache = seen.sglang_cache.as_deref();
    // With embedded LMCache metrics SGLang's use of it is measured, and "engine only" is not.
    let (embedded_measured, embedded_inferred) = match embedded {
        true => (Measured, Inferred),
        false => (Inferred, Measured),
    };
    #[rustfmt::skip]
    let rungs = [
        (has(features, Feature::Pd), PdCandidate, Inferred,
            "signals of disaggregated prefill (KV transfer between engines)"),
        (has(features, Feature::P2p), P2pCandidate, Inferred,
            "P2P lookups or transfers between LMCache instances"),
        (vllm && mp_connector, VllmMpLmcache, Measured,
            "vLLM exports the LMCache MP connector's own metrics"),
        (vllm && mp, VllmMpLmcache, Inferred,
            "an engine and an MP server seen together; this vLLM build exports no vllm:lmcache_mp_* connector metric"),
        (vllm && embedded, VllmEmbeddedLmcache, Measured,
            "embedded lmcache: metrics on the engine"),
        (vllm && (v1_connector || seen.lmcache_offload.is_some()), VllmEmbeddedLmcache, Inferred,
            "LMCache configured as vLLM's connector, but no lmcache: metrics (PROMETHEUS_MULTIPROC_DIR shared?)"),
        (sglang && (mp || sglang_cache == Some("LMCacheUnifiedRadixCache")), SglangMpLmcacheCandidate, Inferred,
            "SGLang with an LMCache MP server or LMCacheUnifiedRadixCache"),
        (sglang && (embedded || sglang_cache.is_some()), SglangEmbeddedLmcache, embedded_measured,
            "SGLang with embedded LMCache"),
        (mp, LmcacheMpServer, Measured,
            "LMCache MP server metrics and no engine input"),
        (vllm || sglang, EngineOnly, embedded_inferred,
            "an engine with no LMCache signal"),
        (seen.coordinator.is_some(), ControllerOnly, Measured,
            "only LMCache coordinator metrics"),
        (embedded, Unknown, Inferred,
            "embedded LMCache metrics without engine metrics: the engine cannot be identified"),
        (true, Unknown, Inferred,
            "no LMCache or engine metric in the input"),
    ];
    // The last rung always holds.
    let last = rungs[rungs.len() - 1];
    let (_, architecture, strength, why) = rungs.into_iter().find(|r| r.0).unwrap_or(last);
    (architecture, strength, why)
}
