//! `catalog`: every metric family kvscope knows, as data (see `table.rs`), and name lookup.
//!
//! A family groups the metrics of one concern (L1 memory, EventBus, vLLM prefix cache ...).
//! Each metric lists every name it has been exported under: documented OTel names, exported
//! names with unit suffixes, older and newer builds' names. Policy (which deployment exposes a
//! family, and where it is required) is data too, so the matrix needs no special cases.

mod releases;
mod table;
pub mod version;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use table::FAMILIES;

/// The metric kind a catalog entry expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    /// A gauge fixed at 1 whose labels carry the data.
    Info,
}

crate::named! {
    /// The cache architecture a deployment runs, as far as its metrics show.
    pub enum Architecture {
        /// vLLM with the LMCache multiprocess server.
        VllmMpLmcache = "vllm_mp_lmcache",
        /// vLLM with LMCache inside its workers.
        VllmEmbeddedLmcache = "vllm_embedded_lmcache",
        SglangEmbeddedLmcache = "sglang_embedded_lmcache",
        SglangMpLmcacheCandidate = "sglang_mp_lmcache_candidate",
        /// An LMCache MP server seen without its engine.
        LmcacheMpServer = "lmcache_mp_server",
        EngineOnly = "engine_only",
        P2pCandidate = "p2p_candidate",
        PdCandidate = "pd_candidate",
        ControllerOnly = "controller_only",
        Unknown = "unknown",
    }
}

impl Architecture {
    /// LMCache runs inside the engine's workers.
    pub fn embedded(self) -> bool {
        matches!(
            self,
            Architecture::VllmEmbeddedLmcache | Architecture::SglangEmbeddedLmcache
        )
    }
}

/// Which process exposes a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The LMCache multiprocess server (`lmcache_mp_*`).
    MpServer,
    /// The MP server running the CacheBlend engine (`lmcache_blend_*`).
    Blend,
    /// The LMCache MP coordinator (`lmcache_coordinator_*`, key directory gauges).
    Coordinator,
    /// LMCache embedded in the engine's workers (`lmcache:*`).
    Embedded,
    Vllm,
    /// vLLM's side of the LMCache MP connector (`vllm:lmcache_mp_*`).
    VllmMpConnector,
    Sglang,
}

impl Scope {
    /// Exposed by LMCache's own code (its releases' names say which release has it).
    pub fn is_lmcache(self) -> bool {
        !matches!(self, Scope::Vllm | Scope::Sglang)
    }

    /// Exposed by the LMCache process whose release the inputs show, so a release that lacks
    /// the family rules it out. Not the vLLM side of the MP connector: it runs in vLLM's
    /// process, whose LMCache package may be another release than the server's.
    pub fn dated_by_release(self) -> bool {
        self.is_lmcache() && self != Scope::VllmMpConnector
    }
}

/// A deployment feature that some families need before they can exist at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// An L2 adapter behind the MP server.
    L2,
    /// A CUDA device (transfer-phase recorders are CUDA-only).
    Cuda,
    P2p,
    /// Disaggregated prefill (NIXL, Mooncake, SGLang prefill/decode roles).
    Pd,
    HiCache,
    HiCacheStorage,
    /// vLLM's native OffloadingConnector.
    NativeOffload,
    SimpleOffload,
    /// The CacheBlend engine.
    CacheBlend,
}

/// One metric and every name it is known by (counters without `_total`, histograms without
/// `_bucket`/`_sum`/`_count`).
#[derive(Debug)]
pub struct MetricDef {
    pub key: &'static str,
    pub kind: MetricKind,
    /// Recorded for a sample of events only (`--metrics-sample-rate`, vLLM's KV block sampling).
    pub sampled: bool,
    pub names: &'static [&'static str],
}

/// A family of metrics with its applicability policy.
#[derive(Debug)]
pub struct FamilyDef {
    /// `<source>.<family>`, e.g. `lmcache_mp.l1_memory`.
    pub id: &'static str,
    pub title: &'static str,
    pub scope: Scope,
    /// Not applicable unless this feature is evident.
    pub needs: Option<Feature>,
    /// Expected to have samples once the deployment has served traffic, in these architectures.
    pub required_in: &'static [Architecture],
    pub metrics: &'static [MetricDef],
}

impl FamilyDef {
    /// Any of this family's metrics is sampled.
    pub fn sampled(&self) -> bool {
        self.metrics.iter().any(|m| m.sampled)
    }

    /// The source part of the id (`lmcache_mp`, `vllm` ...).
    pub fn source(&self) -> &'static str {
        self.id.split_once('.').map_or(self.id, |(s, _)| s)
    }
}

/// Where a name sits in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetricRef {
    pub family: u16,
    pub metric: u16,
}

impl MetricRef {
    pub fn family_def(self) -> &'static FamilyDef {
        &FAMILIES[self.family as usize]
    }
    pub fn metric_def(self) -> &'static MetricDef {
        &FAMILIES[self.family as usize].metrics[self.metric as usize]
    }
    /// The metric's place in one numbering of every catalog metric (`0..metric_total()`), for
    /// tables indexed by metric.
    pub fn flat(self) -> usize {
        offsets()[self.family as usize] + self.metric as usize
    }
}

/// How many metrics the catalog lists.
pub fn metric_total() -> usize {
    offsets()[FAMILIES.len()]
}

/// Where each family's metrics start in [`MetricRef::flat`]'s numbering, then the total.
fn offsets() -> &'static [usize] {
    static OFFSETS: OnceLock<Vec<usize>> = OnceLock::new();
    OFFSETS.get_or_init(|| {
        let mut out = vec![0];
        for f in FAMILIES {
            out.push(out[out.len() - 1] + f.metrics.len());
        }
        out
    })
}

/// Name prefixes that belong to the stacks kvscope inspects; an unknown name with one of
/// them is reported as unrecognised.
pub const KNOWN_PREFIXES: &[&str] = &[
    "lmcache_mp_",
    "lmcache_mp.",
    "lmcache:",
    "lmcache_blend_",
    "lmcache_coordinator_",
    "lmcache_",
    "vllm:",
    "vllm_",
    "sglang:",
    "sglang_",
];

/// Which exporter-normalised spellings a scrape's names are read in: `vllm_X`, `sglang_X` and
/// `lmcache_X` for `vllm:X`, `sglang:X` and `lmcache:X` (what OpenTelemetry collectors,
/// Google Managed Prometheus and widely used dashboards write). Chosen per scrape: a scrape
/// that has any name with the colon keeps its underscored names as they are, so no counter
/// is read twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spelling {
    pub vllm: bool,
    pub sglang: bool,
    pub lmcache: bool,
}

impl Spelling {
    /// Every spelling read (a lone name, with no scrape to choose by).
    pub const ANY: Spelling = Spelling {
        vllm: true,
        sglang: true,
        lmcache: true,
    };

    /// The spellings a scrape whose family names are `names` is read in.
    pub fn of<'a>(names: impl IntoIterator<Item = &'a str>) -> Spelling {
        let mut s = Spelling::ANY;
        for n in names {
            s.vllm &= !n.starts_with("vllm:");
            s.sglang &= !n.starts_with("sglang:");
            s.lmcache &= !n.starts_with("lmcache:");
        }
        s
    }
}

fn index() -> &'static HashMap<&'static str, MetricRef> {
    static INDEX: OnceLock<HashMap<&'static str, MetricRef>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::new();
        for (fi, f) in FAMILIES.iter().enumerate() {
            for (mi, m) in f.metrics.iter().enumerate() {
                for name in m.names {
                    let r = MetricRef {
                        family: fi as u16,
                        metric: mi as u16,
                    };
                    if let Some(prev) = map.insert(*name, r) {
                        panic!("catalog lists {name} twice ({prev:?} and {r:?})");
                    }
                }
            }
        }
        map
    })
}

/// Required LMCache MP families whose series exist only after their first event
/// (prometheus_client creates labelled counters when first incremented): absent before the
/// first lookup, they are not yet expected.
pub const CREATED_ON_FIRST_EVENT: &[&str] = &[
    "lmcache_mp.lookup",
    "lmcache_mp.l1_counters",
    "lmcache_mp.l2_counters",
];

/// An exposed name only builds older than some family export: seeing it dates the build, so
/// that family's absence is expected there, not a fault.
pub struct Predates {
    /// The older exposed name (matched as a prefix: `_total` and histogram parts follow).
    pub old_name: &'static str,
    /// The family that came later.
    pub newer_family: &'static str,
    /// When, in words (shown in the matrix and in findings).
    pub why: &'static str,
}

/// Version landmarks (facts: the engines reference, "renames, removals and version
/// landmarks").
pub const PREDATES: &[Predates] = &[
    Predates {
        old_name: "vllm:gpu_prefix_cache_queries",
        newer_family: "vllm.external_prefix_cache",
        why: "this vLLM still exports gpu_prefix_cache_* (renamed prefix_cache_* from 0.9, gone by 0.12); external_prefix_cache_* arrived in 0.12",
    },
    Predates {
        old_name: "vllm:gpu_prefix_cache_hits",
        newer_family: "vllm.external_prefix_cache",
        why: "this vLLM still exports gpu_prefix_cache_* (renamed prefix_cache_* from 0.9, gone by 0.12); external_prefix_cache_* arrived in 0.12",
    },
    Predates {
        old_name: "vllm:gpu_cache_usage_perc",
        newer_family: "vllm.external_prefix_cache",
        why: "this vLLM still exports gpu_cache_usage_perc (renamed kv_cache_usage_perc from 0.9, gone by 0.12); external_prefix_cache_* arrived in 0.12",
    },
];

/// The catalog metric an exposition family name declares (as in `# TYPE`), for untyped
/// histogram parts (`_bucket`, `_sum`, `_count` declared without a type) too.
pub fn declared_metric(
    name: &str,
    kind: crate::expo::Kind,
    spelling: Spelling,
) -> Option<MetricRef> {
    lookup_spelled(name, spelling).or_else(|| {
        if kind != crate::expo::Kind::Unknown {
            return None;
        }
        ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|suf| name.strip_suffix(suf))
            .find_map(|n| lookup_spelled(n, spelling))
            .filter(|m| m.metric_def().kind == MetricKind::Histogram)
    })
}

/// Looks up an exposition family name (as in `# TYPE`, or a bare sample name).
///
/// Tries the name, the name without a counter's `_total`, and the exporter-normalised
/// spellings `vllm_X` → `vllm:X`, `sglang_X` → `sglang:X` and `lmcache_X` → `lmcache:X`.
pub fn lookup(name: &str) -> Option<MetricRef> {
    lookup_spelled(name, Spelling::ANY)
}

/// [`lookup`], reading the underscored spellings only where `spelling` says.
pub fn lookup_spelled(name: &str, spelling: Spelling) -> Option<MetricRef> {
    let idx = index();
    let direct = |n: &str| {
        idx.get(n)
            .or_else(|| idx.get(n.strip_suffix("_total")?))
            .copied()
    };
    if let Some(r) = direct(name) {
        return Some(r);
    }
    let (prefix, rest) = if let Some(rest) = name.strip_prefix("sglang_")
        && spelling.sglang
    {
        ("sglang:", rest)
    } else if let Some(rest) = name.strip_prefix("vllm_")
        && spelling.vllm
    {
        ("vllm:", rest)
    } else if let Some(rest) = name.strip_prefix("lmcache_")
        && spelling.lmcache
    {
        ("lmcache:", rest)
    } else {
        return None;
    };
    let mut buf = String::with_capacity(name.len() + 1);
    buf.push_str(prefix);
    buf.push_str(rest);
    direct(&buf)
}

/// True when the name carries one of [`KNOWN_PREFIXES`].
pub fn has_known_prefix(name: &str) -> bool {
    KNOWN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The catalog reference of metric `key` in family `id`, found while compiling: a typo in
/// kvscope's code is a compile error, never a panic at run time.
#[macro_export]
macro_rules! metric {
    ($id:literal, $key:literal) => {
        const { $crate::catalog::find($id, $key) }
    };
}

/// Whether two strings are equal, usable while compiling.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Where metric `key` of family `id` sits; for [`metric!`], which runs it while compiling.
pub const fn find(id: &str, key: &str) -> MetricRef {
    let mut fi = 0;
    while fi < FAMILIES.len() {
        let f = &FAMILIES[fi];
        if same(f.id, id) {
            let mut mi = 0;
            while mi < f.metrics.len() {
                if same(f.metrics[mi].key, key) {
                    return MetricRef {
                        family: fi as u16,
                        metric: mi as u16,
                    };
                }
                mi += 1;
            }
            panic!("the catalog family has no metric of that key");
        }
        fi += 1;
    }
    panic!("the catalog has no family of that id");
}

/// Every metric of the family at index `fi`, as references.
pub fn refs_of(fi: usize) -> impl Iterator<Item = MetricRef> {
    (0..FAMILIES[fi].metrics.len()).map(move |mi| MetricRef {
        family: fi as u16,
        metric: mi as u16,
    })
}

/// Every metric of family `id` (none when the catalog has no such family).
pub fn family_metrics(id: &str) -> impl Iterator<Item = MetricRef> {
    FAMILIES
        .iter()
        .position(|f| f.id == id)
        .into_iter()
        .flat_map(refs_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_landmarks_name_catalog_names_and_families() {
        for p in PREDATES {
            assert!(lookup(p.old_name).is_some(), "{}", p.old_name);
            assert!(
                FAMILIES.iter().any(|f| f.id == p.newer_family),
                "{}",
                p.newer_family
            );
        }
    }

    #[test]
    fn families_created_on_first_event_are_catalog_families() {
        for id in CREATED_ON_FIRST_EVENT {
            assert!(FAMILIES.iter().any(|f| f.id == *id), "{id}");
        }
    }

    #[test]
    fn index_builds_without_duplicate_names_and_ids_are_unique() {
        assert!(index().len() > 300);
        let mut ids: Vec<&str> = FAMILIES.iter().map(|f| f.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len());
    }

    #[test]
    fn ids_are_source_dot_snake_case() {
        for f in FAMILIES {
            let (src, fam) = f.id.split_once('.').expect(f.id);
            for part in [src, fam] {
                assert!(
                    part.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{}",
                    f.id
                );
            }
            assert!(!f.metrics.is_empty(), "{}", f.id);
        }
    }

    #[test]
    fn both_real_spellings_of_l1_counters_map_to_one_metric() {
        // 0.4.6 on export `_chunks_total`; 0.4.3 to 0.4.5 (packet_a's build) `_keys_total`.
        let a = lookup("lmcache_mp_l1_read_chunks_total").unwrap();
        let b = lookup("lmcache_mp_l1_read_keys_total").unwrap();
        let c = lookup("lmcache_mp.l1_read_keys").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.family_def().id, "lmcache_mp.l1_counters");
    }

    #[test]
    fn unit_suffixed_throughput_names_map() {
        let a = lookup("lmcache_mp_l0_l1_store_throughput_GB_per_second").unwrap();
        let b = lookup("lmcache_mp_l0_l1_store_throughput_gbs_GB_per_second").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.metric_def().key, "store");
    }

    #[test]
    fn exporter_normalised_prefixes_map() {
        assert_eq!(
            lookup("sglang_num_running_reqs"),
            lookup("sglang:num_running_reqs")
        );
        assert!(lookup("sglang:num_running_reqs").is_some());
        assert_eq!(
            lookup("lmcache_num_hit_tokens_total"),
            lookup("lmcache:num_hit_tokens_total")
        );
        assert!(lookup("lmcache:num_hit_tokens_total").is_some());
    }

    #[test]
    fn renamed_vllm_names_map_to_the_new_family() {
        assert_eq!(
            lookup("vllm:gpu_prefix_cache_hits_total"),
            lookup("vllm:prefix_cache_hits_total")
        );
        assert_eq!(
            lookup("vllm:gpu_cache_usage_perc"),
            lookup("vllm:kv_cache_usage_perc")
        );
    }

    #[test]
    fn no_release_exports_one_metric_under_two_names() {
        // Two names of one metric in one release would be counted twice.
        for f in FAMILIES {
            for m in f.metrics {
                let spans: Vec<_> = m
                    .names
                    .iter()
                    .filter_map(|n| version::span_of(n, false))
                    .collect();
                for (i, a) in spans.iter().enumerate() {
                    for b in &spans[i + 1..] {
                        assert!(a.1 < b.0 || b.1 < a.0, "{}.{}: {:?}", f.id, m.key, m.names);
                    }
                }
            }
        }
    }

    #[test]
    fn every_name_a_release_declares_is_known() {
        // Each LMCache release's wheel, read by scripts/lmcache-wheel-names.py: every name any
        // release declares maps to a catalog metric of the same kind of reading.
        for (name, first, last) in version::SPANS {
            let m = lookup(name).unwrap_or_else(|| panic!("{name} ({first} to {last})"));
            assert!(
                m.family_def().scope.is_lmcache(),
                "{name} is filed under {}",
                m.family_def().id
            );
        }
    }
}
