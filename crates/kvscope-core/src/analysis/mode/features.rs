//! Deployment features (L2, CUDA, P2P, PD, HiCache, offloading, CacheBlend) as a table: each
//! feature lists the probes that show it, in order, with the evidence signal each gives.

use super::{Scan, ev, family_present};
use crate::analysis::{Features, Inputs, Signal, Strength};
use crate::catalog::Feature;
use crate::metric;

/// One way a feature shows itself; each found probe yields its evidence text.
enum Probe {
    /// A catalog family has a series in a newest scrape: "{target}: {family} present".
    Family(&'static str),
    /// A label the scan reads carries a matching value: "{label}=\"{value}\" on {family}".
    Label(&'static str, fn(&str) -> bool),
    /// Anything else, looked up by the function.
    Found(fn(&Inputs<'_>) -> Option<String>),
}

/// A feature, its probes in order, and whether every probe that matches adds evidence (PD is
/// shown by any of several independent signals) or the first one suffices.
struct Rule {
    feature: Feature,
    probes: &'static [(Signal, Probe)],
    every_match: bool,
}

const fn first(feature: Feature, probes: &'static [(Signal, Probe)]) -> Rule {
    Rule {
        feature,
        probes,
        every_match: false,
    }
}

/// The table. Order matters: it is the order of the report's features and of their evidence.
const RULES: &[Rule] = &[
    first(
        Feature::L2,
        &[
            (Signal::L2Adapter, Probe::Found(active_l2_adapter)),
            (Signal::L2Adapter, Probe::Found(l2_usage)),
            (Signal::L2Adapter, Probe::Family("lmcache_mp.l2_counters")),
        ],
    ),
    first(
        Feature::Cuda,
        &[(Signal::CudaDevice, Probe::Label("device", is_cuda))],
    ),
    first(
        Feature::P2p,
        &[
            (Signal::P2pLookups, Probe::Found(p2p_lookup_jobs)),
            (Signal::P2pTransfers, Probe::Family("lmcache.embedded_p2p")),
        ],
    ),
    Rule {
        feature: Feature::Pd,
        probes: &[
            (Signal::KvTransferConnector, Probe::Family("vllm.nixl")),
            (Signal::KvTransferConnector, Probe::Family("vllm.mooncake")),
            (Signal::KvConsumerRole, Probe::Found(kv_consumer_queue)),
            (
                Signal::SglangPdRole,
                Probe::Label("engine_type", is_pd_role),
            ),
        ],
        every_match: true,
    },
    first(
        Feature::HiCache,
        &[
            (Signal::Hicache, Probe::Family("sglang.hicache")),
            (Signal::Hicache, Probe::Label("cache_type", is_hiradix)),
        ],
    ),
    first(
        Feature::HiCacheStorage,
        &[(
            Signal::HicacheStorage,
            Probe::Family("sglang.hicache_storage"),
        )],
    ),
    first(
        Feature::NativeOffload,
        &[
            (Signal::NativeOffload, Probe::Family("vllm.kv_offload")),
            (Signal::NativeOffload, Probe::Found(native_offload_config)),
        ],
    ),
    first(
        Feature::SimpleOffload,
        &[(
            Signal::SimpleOffload,
            Probe::Family("vllm.simple_cpu_offload"),
        )],
    ),
    first(
        Feature::CacheBlend,
        &[
            (Signal::Cacheblend, Probe::Family("lmcache_blend.lookup")),
            (Signal::Cacheblend, Probe::Family("lmcache_blend.retrieve")),
            (
                Signal::Cacheblend,
                Probe::Family("lmcache_blend.fingerprints"),
            ),
            (Signal::Cacheblend, Probe::Family("lmcache_blend.durations")),
        ],
    ),
];

impl Probe {
    fn find(&self, inputs: &Inputs<'_>, scan: &Scan) -> Option<String> {
        match self {
            Probe::Family(id) => {
                family_present(inputs, id).map(|(t, fam, _)| format!("{}: {fam} present", t.name))
            }
            Probe::Label(label, matches) => scan
                .label_values(label)
                .iter()
                .find(|(v, _)| matches(v))
                .map(|(v, fam)| format!("{label}=\"{v}\" on {fam}")),
            Probe::Found(look) => look(inputs),
        }
    }
}

/// Features evident in the inputs, each with the evidence that shows it.
pub fn features(inputs: &Inputs<'_>, scan: &Scan) -> Features {
    let mut out: Features = Vec::new();
    for rule in RULES {
        for (signal, probe) in rule.probes {
            if let Some(detail) = probe.find(inputs, scan) {
                out.push((rule.feature, ev(*signal, detail, Strength::Measured)));
                if !rule.every_match {
                    break;
                }
            }
        }
    }
    out
}

fn positive(v: f64) -> bool {
    v.is_finite() && v > 0.0
}

fn is_cuda(device: &str) -> bool {
    device.starts_with("cuda")
}

fn is_pd_role(engine_type: &str) -> bool {
    engine_type == "prefill" || engine_type == "decode"
}

fn is_hiradix(cache_type: &str) -> bool {
    cache_type.contains("HiRadix")
}

fn active_l2_adapter(inputs: &Inputs<'_>) -> Option<String> {
    let m = metric!("lmcache_mp.l2_adapters", "store_adapters");
    let (t, _, v) = inputs
        .newest_series(m)
        .find(|(_, s, v)| s.label("state") == Some("active") && positive(*v))?;
    Some(format!(
        "{}: lmcache_mp_l2_store_adapters{{state=\"active\"}} = {v}",
        t.name
    ))
}

fn l2_usage(inputs: &Inputs<'_>) -> Option<String> {
    let m = metric!("lmcache_mp.l2_usage", "used_bytes");
    let (t, s, _) = inputs.newest_series(m).next()?;
    let name = s.label("l2_name").unwrap_or("?");
    Some(format!(
        "{}: L2 usage reported for l2_name=\"{name}\"",
        t.name
    ))
}

fn p2p_lookup_jobs(inputs: &Inputs<'_>) -> Option<String> {
    let m = metric!("lmcache_mp.jobs", "p2p_lookup");
    let (t, _, v) = inputs.newest_series(m).find(|(_, _, v)| positive(*v))?;
    Some(format!(
        "{}: lmcache_mp_active_p2p_lookup_jobs = {v}",
        t.name
    ))
}

fn kv_consumer_queue(inputs: &Inputs<'_>) -> Option<String> {
    let m = metric!("vllm.queues", "kv_fetch_by_stage");
    let (t, s, _) = inputs.newest_series(m).next()?;
    Some(format!(
        "{}: {} present (registered only for a KV consumer)",
        t.name, s.family
    ))
}

fn native_offload_config(inputs: &Inputs<'_>) -> Option<String> {
    let size = super::offload_size(inputs, "native")?;
    Some(format!(
        "{}: cache_config_info kv_offloading_size=\"{}\" backend native",
        size.0, size.1
    ))
}
