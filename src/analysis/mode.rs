//! Which cache architecture is running, from metric names and labels across all targets.

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

/// Name prefixes the detection looks for, in groups.
const PREFIXES: &[&[&str]] = &[
    &["vllm:"],
    &["sglang:", "sglang_"],
    &["lmcache_mp_", "lmcache_mp."],
    &["lmcache:"],
    &["lmcache_coordinator_"],
];

/// Labels whose values the detection reads.
const LABELS: &[&str] = &[
    "device",
    "engine_type",
    "cache_type",
    "connector",
    "kv_connector",
    "cache_connector",
    "lmcache_connector",
    "kv_connector_class",
];

/// Distinct values kept per label: evidence lists a few, not every tenant's.
const VALUES_KEPT: usize = 16;

/// What one pass over every newest-scrape series finds: per prefix group the first (target,
/// family) and how many series; per label its first values (with the family that carries each)
/// and how many more there were.
#[derive(Debug, Default)]
pub struct Scan {
    prefixes: Vec<Option<(String, String, usize)>>,
    labels: Vec<Vec<(String, String)>>,
    more: Vec<usize>,
}

impl Scan {
    pub fn of(inputs: &Inputs<'_>) -> Scan {
        let mut scan = Scan {
            prefixes: vec![None; PREFIXES.len()],
            labels: vec![Vec::new(); LABELS.len()],
            more: vec![0; LABELS.len()],
        };
        let mut seen: Vec<std::collections::HashSet<&str>> = vec![Default::default(); LABELS.len()];
        for t in inputs.all() {
            let Some(at) = t.newest().map(|s| s.seq) else {
                continue;
            };
            for s in t.series() {
                if s.value_at(at).is_none() {
                    continue;
                }
                for (g, group) in PREFIXES.iter().enumerate() {
                    if group.iter().any(|p| s.family.starts_with(p)) {
                        match &mut scan.prefixes[g] {
                            Some(f) => f.2 += 1,
                            None => {
                                scan.prefixes[g] = Some((t.name.clone(), s.family.to_string(), 1))
                            }
                        }
                    }
                }
                for (k, v) in s.labels.iter() {
                    let Some(l) = LABELS.iter().position(|l| **l == **k) else {
                        continue;
                    };
                    if seen[l].insert(v) {
                        if scan.labels[l].len() < VALUES_KEPT {
                            scan.labels[l].push((v.to_string(), s.family.to_string()));
                        } else {
                            scan.more[l] += 1;
                        }
                    }
                }
            }
        }
        scan
    }

    /// Newest-scrape series whose family starts with a prefix of group `g`: (target, an
    /// example family, count).
    fn prefixed(&self, g: usize) -> Option<(String, String, usize)> {
        self.prefixes[g].clone()
    }

    /// Values of `label` (one of [`LABELS`]) on newest-scrape series: (value, family).
    fn label_values(&self, label: &str) -> &[(String, String)] {
        LABELS
            .iter()
            .position(|l| *l == label)
            .map_or(&[], |l| &self.labels[l])
    }

    /// Distinct values of `label` beyond those kept.
    fn more_values(&self, label: &str) -> usize {
        LABELS
            .iter()
            .position(|l| *l == label)
            .map_or(0, |l| self.more[l])
    }
}

/// The first family of `id` with a series in a newest scrape: (target, family name, value).
fn family_present<'a>(inputs: &Inputs<'a>, id: &str) -> Option<(&'a TargetStore, String, f64)> {
    catalog::family_metrics(id).find_map(|m| {
        inputs
            .newest_series(m)
            .next()
            .map(|(t, s, v)| (t, s.family.to_string(), v))
    })
}

/// Features evident in the inputs.
pub fn features(inputs: &Inputs<'_>, scan: &Scan) -> Features {
    use Feature::*;
    use Strength::Measured;
    let mut out: Features = Vec::new();
    let active_l2 = inputs
        .newest_series(metric!("lmcache_mp.l2_adapters", "store_adapters"))
        .find(|(_, s, v)| s.label("state") == Some("active") && v.is_finite() && *v > 0.0);
    if let Some((t, _, v)) = active_l2 {
        out.push((
            L2,
            ev(
                Signal::L2Adapter,
                format!(
                    "{}: lmcache_mp_l2_store_adapters{{state=\"active\"}} = {v}",
                    t.name
                ),
                Measured,
            ),
        ));
    } else if let Some((t, s, _)) = inputs
        .newest_series(metric!("lmcache_mp.l2_usage", "used_bytes"))
        .next()
    {
        let name = s.label("l2_name").unwrap_or("?");
        out.push((
            L2,
            ev(
                Signal::L2Adapter,
                format!("{}: L2 usage reported for l2_name=\"{name}\"", t.name),
                Measured,
            ),
        ));
    } else if let Some((t, fam, _)) = family_present(inputs, "lmcache_mp.l2_counters") {
        out.push((
            L2,
            ev(
                Signal::L2Adapter,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    }
    if let Some((dev, fam)) = scan
        .label_values("device")
        .iter()
        .find(|(v, _)| v.starts_with("cuda"))
    {
        out.push((
            Cuda,
            ev(
                Signal::CudaDevice,
                format!("device=\"{dev}\" on {fam}"),
                Measured,
            ),
        ));
    }
    let p2p_jobs = inputs
        .newest_series(metric!("lmcache_mp.jobs", "p2p_lookup"))
        .find(|(_, _, v)| v.is_finite() && *v > 0.0);
    if let Some((t, _, v)) = p2p_jobs {
        out.push((
            P2p,
            ev(
                Signal::P2pLookups,
                format!("{}: lmcache_mp_active_p2p_lookup_jobs = {v}", t.name),
                Measured,
            ),
        ));
    } else if let Some((t, fam, _)) = family_present(inputs, "lmcache.embedded_p2p") {
        out.push((
            P2p,
            ev(
                Signal::P2pTransfers,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    }
    for id in ["vllm.nixl", "vllm.mooncake"] {
        if let Some((t, fam, _)) = family_present(inputs, id) {
            out.push((
                Pd,
                ev(
                    Signal::KvTransferConnector,
                    format!("{}: {fam} present", t.name),
                    Measured,
                ),
            ));
        }
    }
    if let Some((t, s, _)) = inputs
        .newest_series(metric!("vllm.queues", "kv_fetch_by_stage"))
        .next()
    {
        out.push((
            Pd,
            ev(
                Signal::KvConsumerRole,
                format!(
                    "{}: {} present (registered only for a KV consumer)",
                    t.name, s.family
                ),
                Measured,
            ),
        ));
    }
    if let Some((role, fam)) = scan
        .label_values("engine_type")
        .iter()
        .find(|(v, _)| v == "prefill" || v == "decode")
    {
        out.push((
            Pd,
            ev(
                Signal::SglangPdRole,
                format!("engine_type=\"{role}\" on {fam}"),
                Measured,
            ),
        ));
    }
    if let Some((t, fam, _)) = family_present(inputs, "sglang.hicache") {
        out.push((
            HiCache,
            ev(
                Signal::Hicache,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    } else if let Some((v, fam)) = scan
        .label_values("cache_type")
        .iter()
        .find(|(v, _)| v.contains("HiRadix"))
    {
        out.push((
            HiCache,
            ev(
                Signal::Hicache,
                format!("cache_type=\"{v}\" on {fam}"),
                Measured,
            ),
        ));
    }
    if let Some((t, fam, _)) = family_present(inputs, "sglang.hicache_storage") {
        out.push((
            HiCacheStorage,
            ev(
                Signal::HicacheStorage,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    }
    if let Some((t, fam, _)) = family_present(inputs, "vllm.kv_offload") {
        out.push((
            NativeOffload,
            ev(
                Signal::NativeOffload,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    } else if let Some((t, s, _)) = inputs
        .newest_series(metric!("vllm.cache_config", "info"))
        .find(|(_, s, _)| {
            s.label("kv_offloading_backend") == Some("native")
                && s.label("kv_offloading_size").is_some_and(|v| v != "None")
        })
    {
        let size = s.label("kv_offloading_size").unwrap_or("?");
        out.push((
            NativeOffload,
            ev(
                Signal::NativeOffload,
                format!(
                    "{}: cache_config_info kv_offloading_size=\"{size}\" backend native",
                    t.name
                ),
                Measured,
            ),
        ));
    }
    if let Some((t, fam, _)) = family_present(inputs, "vllm.simple_cpu_offload") {
        out.push((
            SimpleOffload,
            ev(
                Signal::SimpleOffload,
                format!("{}: {fam} present", t.name),
                Measured,
            ),
        ));
    }
    for id in [
        "lmcache_blend.lookup",
        "lmcache_blend.retrieve",
        "lmcache_blend.fingerprints",
        "lmcache_blend.durations",
    ] {
        if let Some((t, fam, _)) = family_present(inputs, id) {
            out.push((
                CacheBlend,
                ev(
                    Signal::Cacheblend,
                    format!("{}: {fam} present", t.name),
                    Measured,
                ),
            ));
            break;
        }
    }
    out
}

const CONNECTOR_LABELS: &[&str] = &[
    "connector",
    "kv_connector",
    "cache_connector",
    "lmcache_connector",
    "kv_connector_class",
];

/// Decides the architecture.
pub fn detect(inputs: &Inputs<'_>, features: &Features, scan: &Scan) -> Mode {
    use Strength::{Inferred, Measured};
    let mut evidence = Vec::new();
    let mut stale = Vec::new();
    let scope_present = |scope: Scope| {
        FAMILIES
            .iter()
            .filter(|f| f.scope == scope)
            .find_map(|f| family_present(inputs, f.id))
    };
    let vllm = scan.prefixed(0);
    let sglang = scan.prefixed(1);
    let mp = scope_present(Scope::MpServer)
        .map(|(t, fam, _)| (t.name.clone(), fam))
        .or_else(|| scan.prefixed(2).map(|(t, f, _)| (t, f)));
    let embedded = scope_present(Scope::Embedded)
        .map(|(t, fam, _)| (t.name.clone(), fam))
        .or_else(|| scan.prefixed(3).map(|(t, f, _)| (t, f)));
    let connector_metric = scope_present(Scope::VllmMpConnector);
    let coordinator = scan.prefixed(4);
    if let Some((t, f, n)) = &vllm {
        evidence.push(ev(
            Signal::VllmMetrics,
            format!("{t}: {n} vllm: series (e.g. {f})"),
            Measured,
        ));
    }
    if let Some((t, f, n)) = &sglang {
        evidence.push(ev(
            Signal::SglangMetrics,
            format!("{t}: {n} sglang series (e.g. {f})"),
            Measured,
        ));
    }
    if let Some((t, f)) = &mp {
        evidence.push(ev(
            Signal::LmcacheMpMetrics,
            format!("{t}: LMCache MP server metrics (e.g. {f})"),
            Measured,
        ));
    }
    if let Some((t, f)) = &embedded {
        evidence.push(ev(
            Signal::LmcacheEmbeddedMetrics,
            format!("{t}: embedded LMCache metrics (e.g. {f})"),
            Measured,
        ));
    }
    if let Some((t, f, _)) = &connector_metric {
        evidence.push(ev(
            Signal::LmcacheMpConnectorMetrics,
            format!("{}: vLLM's LMCache MP connector exports {f}", t.name),
            Measured,
        ));
    }
    if let Some((t, f, _)) = &coordinator {
        evidence.push(ev(
            Signal::LmcacheCoordinatorMetrics,
            format!("{t}: {f}"),
            Measured,
        ));
    }
    let mut connector_says: Option<String> = None;
    for key in CONNECTOR_LABELS {
        for (v, fam) in scan.label_values(key) {
            evidence.push(ev(
                Signal::ConnectorLabel,
                format!("{key}=\"{v}\" on {fam}"),
                Measured,
            ));
            if v == "LMCacheConnector" {
                stale.push(ev(
                    Signal::StaleConnector,
                    format!("{key}=\"LMCacheConnector\" on {fam}: the deprecated v0 connector name; use LMCacheConnectorV1 or LMCacheMPConnector"),
                    Measured,
                ));
            }
            connector_says.get_or_insert(v.clone());
        }
        if scan.more_values(key) > 0 {
            evidence.push(ev(
                Signal::ConnectorLabel,
                format!("… and {} more {key} values", scan.more_values(key)),
                Measured,
            ));
        }
    }
    let offload_lmcache = inputs
        .newest_series(metric!("vllm.cache_config", "info"))
        .find(|(_, s, _)| {
            s.label("kv_offloading_backend") == Some("lmcache")
                && s.label("kv_offloading_size").is_some_and(|v| v != "None")
        });
    if let Some((t, s, _)) = offload_lmcache {
        let size = s.label("kv_offloading_size").unwrap_or("?");
        evidence.push(ev(
            Signal::LmcacheOffloadShortcut,
            format!(
                "{}: cache_config_info kv_offloading_backend=\"lmcache\" size {size}",
                t.name
            ),
            Measured,
        ));
    }
    let mut sglang_cache = None;
    for (v, fam) in scan.label_values("cache_type") {
        evidence.push(ev(
            Signal::SglangCacheType,
            format!("cache_type=\"{v}\" on {fam}"),
            Measured,
        ));
        if v.contains("LMC") {
            sglang_cache = Some(v.clone());
        }
    }
    if scan.more_values("cache_type") > 0 {
        evidence.push(ev(
            Signal::SglangCacheType,
            format!(
                "… and {} more cache_type values",
                scan.more_values("cache_type")
            ),
            Measured,
        ));
    }
    for (f, e) in features {
        if matches!(f, Feature::Pd | Feature::P2p) {
            evidence.push(e.clone());
        }
    }
    let connector_is = |names: &[&str]| {
        connector_says
            .as_deref()
            .is_some_and(|c| names.contains(&c))
    };
    let engine = if vllm.is_some() {
        Some(EngineKind::Vllm)
    } else if sglang.is_some() {
        Some(EngineKind::Sglang)
    } else {
        None
    };
    let (architecture, strength, why) = if has(features, Feature::Pd) {
        (
            Architecture::PdCandidate,
            Inferred,
            "signals of disaggregated prefill (KV transfer between engines)",
        )
    } else if has(features, Feature::P2p) {
        (
            Architecture::P2pCandidate,
            Inferred,
            "P2P lookups or transfers between LMCache instances",
        )
    } else if vllm.is_some()
        && (connector_metric.is_some() || connector_is(&["LMCacheMPConnector"]))
    {
        (
            Architecture::VllmMpLmcache,
            Measured,
            "vLLM exports the LMCache MP connector's own metrics",
        )
    } else if vllm.is_some() && mp.is_some() {
        (
            Architecture::VllmMpLmcache,
            Inferred,
            "an engine and an MP server seen together; this vLLM build exports no vllm:lmcache_mp_* connector metric",
        )
    } else if vllm.is_some() && embedded.is_some() {
        (
            Architecture::VllmEmbeddedLmcache,
            Measured,
            "embedded lmcache: metrics on the engine",
        )
    } else if vllm.is_some()
        && (connector_is(&[
            "LMCacheConnectorV1",
            "LMCacheConnectorV1Dynamic",
            "LMCacheConnector",
        ]) || offload_lmcache.is_some())
    {
        (
            Architecture::VllmEmbeddedLmcache,
            Inferred,
            "LMCache configured as vLLM's connector, but no lmcache: metrics (PROMETHEUS_MULTIPROC_DIR shared?)",
        )
    } else if sglang.is_some()
        && (mp.is_some() || sglang_cache.as_deref() == Some("LMCacheUnifiedRadixCache"))
    {
        (
            Architecture::SglangMpLmcacheCandidate,
            Inferred,
            "SGLang with an LMCache MP server or LMCacheUnifiedRadixCache",
        )
    } else if sglang.is_some() && (embedded.is_some() || sglang_cache.is_some()) {
        (
            Architecture::SglangEmbeddedLmcache,
            if embedded.is_some() {
                Measured
            } else {
                Inferred
            },
            "SGLang with embedded LMCache",
        )
    } else if mp.is_some() {
        (
            Architecture::LmcacheMpServer,
            Measured,
            "LMCache MP server metrics and no engine input",
        )
    } else if engine.is_some() {
        (
            Architecture::EngineOnly,
            if embedded.is_none() {
                Measured
            } else {
                Inferred
            },
            "an engine with no LMCache signal",
        )
    } else if coordinator.is_some() {
        (
            Architecture::ControllerOnly,
            Measured,
            "only LMCache coordinator metrics",
        )
    } else if embedded.is_some() {
        (
            Architecture::Unknown,
            Inferred,
            "embedded LMCache metrics without engine metrics: the engine cannot be identified",
        )
    } else {
        (
            Architecture::Unknown,
            Inferred,
            "no LMCache or engine metric in the input",
        )
    };
    evidence.insert(0, ev(Signal::Decision, why, strength));
    Mode {
        architecture,
        strength,
        engine,
        evidence,
        features: features.iter().map(|(f, _)| *f).collect(),
        stale_connector: stale,
    }
}
