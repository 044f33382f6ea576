//! One pass over every newest-scrape series, gathering what the detection reads: which name
//! prefixes occur and the values of a few labels.

use crate::analysis::Inputs;

/// Groups of metric-name prefixes the detection looks for.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {
    Vllm,
    Sglang,
    LmcacheMp,
    LmcacheEmbedded,
    Coordinator,
}

/// The prefixes of each [`Prefix`] group, in its order.
const PREFIXES: [&[&str]; 5] = [
    &["vllm:"],
    &["sglang:", "sglang_"],
    &["lmcache_mp_", "lmcache_mp."],
    &["lmcache:"],
    &["lmcache_coordinator_"],
];

/// The catalog family ids of each [`Prefix`] group, in its order: a series the catalog read in
/// an exporter's spelling (`vllm_X` for `vllm:X`) counts for its group as the colon name would.
const FAMILY_IDS: [&str; 5] = [
    "vllm.",
    "sglang.",
    "lmcache_mp.",
    "lmcache.",
    "lmcache_coordinator.",
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
            // Series of one family sit together and share its name: its prefix groups are
            // worked out once per run of them.
            let mut family: Option<&str> = None;
            let mut groups = [false; PREFIXES.len()];
            for s in t.series() {
                if s.value_at(at).is_none() {
                    continue;
                }
                if !family.is_some_and(|f| std::ptr::eq(f, &*s.family)) {
                    family = Some(&s.family);
                    let id = s.metric.map(|m| m.family_def().id);
                    for (g, group) in PREFIXES.iter().enumerate() {
                        groups[g] = group.iter().any(|p| s.family.starts_with(p))
                            || id.is_some_and(|id| id.starts_with(FAMILY_IDS[g]));
                    }
                }
                for g in (0..PREFIXES.len()).filter(|g| groups[*g]) {
                    match &mut scan.prefixes[g] {
                        Some(f) => f.2 += 1,
                        None => scan.prefixes[g] = Some((t.name.clone(), s.family.to_string(), 1)),
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

    /// Newest-scrape series whose family starts with a prefix of the group: (target, an
    /// example family, count).
    pub fn prefixed(&self, group: Prefix) -> Option<(String, String, usize)> {
        self.prefixes[group as usize].clone()
    }

    /// Values of `label` (one of [`LABELS`]) on newest-scrape series: (value, family).
    pub fn label_values(&self, label: &str) -> &[(String, String)] {
        LABELS
            .iter()
            .position(|l| *l == label)
            .map_or(&[], |l| &self.labels[l])
    }

    /// Distinct values of `label` beyond those kept.
    pub fn more_values(&self, label: &str) -> usize {
        LABELS
            .iter()
            .position(|l| *l == label)
            .map_or(0, |l| self.more[l])
    }
}
