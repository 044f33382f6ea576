//! The LMCache figures, as the report and the TUI read them.

use crate::analysis::Fig;
use crate::analysis::aggregate::{Distribution, Pair, Trend};
use crate::analysis::http_facts::HttpFacts;

/// One `cache_salt` (or `model_name`) breakdown row; serialised with the label name as key.
#[derive(Debug, Clone, PartialEq)]
pub struct LookupBreakdown {
    pub label: &'static str,
    /// The label value as exported; `None` when the series has no such label or an empty one.
    pub value: Option<String>,
    pub requested_tokens: Fig,
    pub hit_tokens: Fig,
    pub hit_rate: Fig,
    pub window_hit_rate: Fig,
    pub note: Option<String>,
}

impl serde::Serialize for LookupBreakdown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(self.label, &self.value)?;
        m.serialize_entry("requested_tokens", &self.requested_tokens)?;
        m.serialize_entry("hit_tokens", &self.hit_tokens)?;
        m.serialize_entry("hit_rate", &self.hit_rate)?;
        m.serialize_entry("window_hit_rate", &self.window_hit_rate)?;
        if let Some(n) = &self.note {
            m.serialize_entry("note", n)?;
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lookup {
    pub requested_tokens: Pair,
    pub hit_tokens: Pair,
    pub hit_rate: Pair,
    /// Share of hit tokens L1 already held.
    pub l1_share: Pair,
    /// Share of hit tokens L2 added beyond the L1 prefix.
    pub l2_share: Pair,
    pub lookups: Pair,
    pub by_cache_salt: Vec<LookupBreakdown>,
    pub by_model_name: Vec<LookupBreakdown>,
}

/// L1 memory: bytes used, the pool's size and how full it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L1Memory {
    pub used_bytes: Fig,
    pub total_bytes: Fig,
    pub usage_ratio: Fig,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L1 {
    #[serde(flatten)]
    pub memory: L1Memory,
    pub evicted: Pair,
    pub evicted_per_s: Fig,
    pub eviction_triggers: Pair,
    pub reads: Pair,
    pub writes: Pair,
    /// How L1 used bytes moved over the window.
    pub used_bytes_trend: Trend,
    /// Chunks L1 could not allocate (counted from the first failure; 0 before it while the
    /// L1 counters are exported).
    pub allocation_failures: Pair,
    /// Chunk reads L1 failed.
    pub read_failures: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L2 {
    pub adapters_active: Fig,
    pub used_bytes: Fig,
    pub store_requests: Pair,
    pub store_requests_per_s: Fig,
    pub store_chunks_per_s: Fig,
    pub load_requests: Pair,
    pub load_requests_per_s: Fig,
    pub inflight_stores: Fig,
    pub inflight_loads: Fig,
    /// L2 prefetch chunks that failed (counted from the first failure; 0 before it when L2 is
    /// evident).
    pub prefetch_failures: Pair,
    /// Store requests submitted and not (yet) completed: since start, and how much that grew
    /// over the window.
    pub store_backlog: Pair,
    /// Prefetch load requests submitted and not (yet) completed, as `store_backlog`.
    pub load_backlog: Pair,
    pub store_throughput_gbs: Distribution,
    pub load_throughput_gbs: Distribution,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L0L1 {
    pub store_throughput_gbs: Distribution,
    pub load_throughput_gbs: Distribution,
}

crate::named! {
    /// Whether EventBus depth and lag gauges can be believed.
    pub enum GaugeTrust {
        /// A gauge is non-zero, so this build reports the live bus.
        Live = "live",
        /// Both read 0, which LMCache 0.5.6 reports whatever the bus holds.
        Unverified = "unverified",
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventBus {
    pub queue_depth: Fig,
    pub drain_lag_seconds: Fig,
    /// Whether the depth/lag gauges can be believed.
    pub gauges_trust: GaugeTrust,
    pub gauges_note: &'static str,
    pub dropped_total: Fig,
    pub dropped_per_s: Fig,
    pub subscriber_exceptions_total: Fig,
}

/// What belongs to one LMCache target and is never summed over targets.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetFigures {
    pub target: String,
    /// Seconds this target's window covers.
    pub window_seconds: Fig,
    pub hit_rate: Pair,
    pub l1: L1Memory,
    pub evicted_per_s: Fig,
    /// What this target's HTTP routes said.
    pub http: HttpFacts,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LmcacheFigures {
    /// The targets the figures below sum over (those exporting LMCache MP metrics).
    pub summed_over: Vec<String>,
    /// Seconds the window covers on the first of them.
    pub window_seconds: Fig,
    pub lookup: Lookup,
    pub l1: L1,
    pub l2: L2,
    pub l0_l1: L0L1,
    pub eventbus: EventBus,
    pub breakdowns: crate::analysis::breakdowns::Breakdowns,
    /// Restarts seen in the kept history of the MP servers.
    pub restarts: usize,
    /// What the HTTP routes of the first LMCache target whose routes were read said (its name
    /// is in `http.target`); every target's are in `by_target`.
    pub http: HttpFacts,
    /// Per LMCache target: what belongs to it alone.
    pub by_target: Vec<TargetFigures>,
}
