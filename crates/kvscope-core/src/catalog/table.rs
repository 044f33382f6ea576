//! The family table. Facts come from `reference/lmcache.md` (MP table §1.2, embedded §2,
//! CacheBlend §3, coordinator §1.3) and `reference/engines.md` (vLLM §2.3–2.4, SGLang §3.3),
//! plus the real captures (packet_a's May 2026 LMCache build, LMCache 0.5.6).
//!
//! Policy, ours to decide:
//! - `scope` says which process exposes the family; a family whose scope is not part of the
//!   detected architecture is not applicable.
//! - `needs` names a feature without which the family cannot exist (L2 adapter, CUDA, P2P ...);
//!   not applicable unless the feature is evident.
//! - `required_in` lists the architectures in which the family should have samples once traffic
//!   has flowed (its absence then is a gap worth a finding); elsewhere it is optional. Lazy
//!   families (sampled lifecycles, failures, 0.5.7-only names) are never required.

use super::Feature::*;
use super::MetricKind::{Counter as C, Gauge as G, Histogram as H, Info as I};
use super::Scope::*;
use super::{Architecture, FamilyDef, MetricDef, MetricKind};

const fn m(key: &'static str, kind: MetricKind, names: &'static [&'static str]) -> MetricDef {
    MetricDef {
        key,
        kind,
        sampled: false,
        names,
    }
}

const fn s(key: &'static str, kind: MetricKind, names: &'static [&'static str]) -> MetricDef {
    MetricDef {
        key,
        kind,
        sampled: true,
        names,
    }
}

const MP: &[Architecture] = &[
    Architecture::VllmMpLmcache,
    Architecture::SglangMpLmcacheCandidate,
    Architecture::LmcacheMpServer,
    Architecture::P2pCandidate,
];
const EMBEDDED: &[Architecture] = &[
    Architecture::VllmEmbeddedLmcache,
    Architecture::SglangEmbeddedLmcache,
];
const VLLM: &[Architecture] = &[
    Architecture::VllmMpLmcache,
    Architecture::VllmEmbeddedLmcache,
    Architecture::EngineOnly,
    Architecture::PdCandidate,
];
const VLLM_LMCACHE: &[Architecture] = &[
    Architecture::VllmMpLmcache,
    Architecture::VllmEmbeddedLmcache,
];
const SGLANG: &[Architecture] = &[
    Architecture::SglangEmbeddedLmcache,
    Architecture::SglangMpLmcacheCandidate,
    Architecture::EngineOnly,
    Architecture::PdCandidate,
];
const NONE: &[Architecture] = &[];

macro_rules! fam {
    ($id:literal, $title:literal, $scope:expr, $needs:expr, $req:expr, [$($m:expr),* $(,)?]) => {
        FamilyDef { id: $id, title: $title, scope: $scope, needs: $needs, required_in: $req, metrics: &[$($m),*] }
    };
}

/// Every family kvscope knows.
#[rustfmt::skip]
pub static FAMILIES: &[FamilyDef] = &[
    // ---- LMCache multiprocess server ------------------------------------------------------
    fam!("lmcache_mp.storage_manager", "StorageManager read/write counters (LMCache 0.3.15–0.4.5)", MpServer, None, NONE, [
        m("read_requests", C, &["lmcache_mp_sm_read_requests", "lmcache_mp:sm_read_requests", "lmcache_mp.sm_read_requests"]),
        m("read_succeed_keys", C, &["lmcache_mp_sm_read_succeed_keys", "lmcache_mp:sm_read_succeed_keys", "lmcache_mp.sm_read_succeed_keys"]),
        m("read_failed_keys", C, &["lmcache_mp_sm_read_failed_keys", "lmcache_mp:sm_read_failed_keys", "lmcache_mp.sm_read_failed_keys"]),
        m("write_requests", C, &["lmcache_mp_sm_write_requests", "lmcache_mp:sm_write_requests", "lmcache_mp.sm_write_requests"]),
        m("write_succeed_keys", C, &["lmcache_mp_sm_write_succeed_keys", "lmcache_mp:sm_write_succeed_keys", "lmcache_mp.sm_write_succeed_keys"]),
        m("write_failed_keys", C, &["lmcache_mp_sm_write_failed_keys", "lmcache_mp:sm_write_failed_keys", "lmcache_mp.sm_write_failed_keys"]),
    ]),
    fam!("lmcache_mp.l1_counters", "L1 reads, writes, evictions", MpServer, None, MP, [
        m("read", C, &["lmcache_mp_l1_read_chunks", "lmcache_mp_l1_read_keys", "lmcache_mp:l1_read_keys", "lmcache_mp.l1_read", "lmcache_mp.l1_read_keys"]),
        m("write", C, &["lmcache_mp_l1_write_chunks", "lmcache_mp_l1_write_keys", "lmcache_mp:l1_write_keys", "lmcache_mp.l1_write", "lmcache_mp.l1_write_keys"]),
        m("evicted", C, &["lmcache_mp_l1_evicted_chunks", "lmcache_mp_l1_evicted_keys", "lmcache_mp:l1_evicted_keys", "lmcache_mp.l1_evicted", "lmcache_mp.l1_evicted_keys"]),
    ]),
    fam!("lmcache_mp.l1_memory", "L1 memory used, usage ratio, staging", MpServer, None, MP, [
        m("used_bytes", G, &["lmcache_mp_l1_memory_usage_bytes", "lmcache_mp.l1_memory_usage_bytes"]),
        m("usage_ratio", G, &["lmcache_mp_l1_usage_ratio", "lmcache_mp.l1_usage_ratio"]),
        m("staging_bytes", G, &["lmcache_mp_l1_staging_bytes", "lmcache_mp.l1_staging_bytes"]),
    ]),
    fam!("lmcache_mp.l1_eviction_loop", "L1 eviction loop ticks and triggers", MpServer, None, NONE, [
        m("ticks", C, &["lmcache_mp_l1_eviction_loop_ticks", "lmcache_mp.l1_eviction_loop_ticks"]),
        m("triggered", C, &["lmcache_mp_l1_eviction_loop_triggered", "lmcache_mp.l1_eviction_loop_triggered"]),
    ]),
    fam!("lmcache_mp.l1_failures", "L1 allocation and read failures, timeouts", MpServer, None, NONE, [
        m("allocation_failure", C, &["lmcache_mp_l1_allocation_failure_chunks", "lmcache_mp_l1_allocation_failure", "lmcache_mp.l1_allocation_failure"]),
        m("read_failure", C, &["lmcache_mp_l1_read_failure_chunks", "lmcache_mp_l1_read_failure", "lmcache_mp.l1_read_failure"]),
        m("timeouts", C, &["lmcache_mp_timeouts", "lmcache_mp.timeouts"]),
    ]),
    fam!("lmcache_mp.l1_lifecycle", "L1 chunk lifetime, idle and reuse gaps (sampled)", MpServer, None, NONE, [
        s("chunk_lifetime", H, &["lmcache_mp_l1_chunk_lifetime_seconds", "lmcache_mp.l1_chunk_lifetime"]),
        s("idle_before_evict", H, &["lmcache_mp_l1_chunk_idle_before_evict_seconds", "lmcache_mp.l1_chunk_idle_before_evict"]),
        s("reuse_gap", H, &["lmcache_mp_l1_chunk_reuse_gap_seconds", "lmcache_mp.l1_chunk_reuse_gap"]),
        s("evict_reuse_gap", H, &["lmcache_mp_l1_chunk_evict_reuse_gap_seconds", "lmcache_mp.l1_chunk_evict_reuse_gap"]),
    ]),
    fam!("lmcache_mp.real_reuse", "Real reuse gap per cache_salt (sampled)", MpServer, None, NONE, [
        s("gap_seconds", H, &["lmcache_mp_real_reuse_gap_seconds", "lmcache_mp.real_reuse_gap"]),
        s("gap_objects", H, &["lmcache_mp_real_reuse_gap_objects", "lmcache_mp_real_reuse_gap_chunks", "lmcache_mp.real_reuse_gap_objects"]),
    ]),
    fam!("lmcache_mp.l2_counters", "L2 stores, loads, prefetch lookups, evictions", MpServer, Some(L2), MP, [
        m("store_submitted", C, &["lmcache_mp_l2_store_submitted_requests", "lmcache_mp_l2_store_tasks", "lmcache_mp.l2_store_submitted"]),
        m("store_submitted_objects", C, &["lmcache_mp_l2_store_submitted_objects_chunks", "lmcache_mp_l2_store_keys", "lmcache_mp.l2_store_submitted_objects"]),
        m("store_completed", C, &["lmcache_mp_l2_store_completed_requests", "lmcache_mp_l2_store_completed", "lmcache_mp.l2_store_completed"]),
        m("store_completed_objects", C, &["lmcache_mp_l2_store_completed_objects_chunks", "lmcache_mp_l2_store_succeeded_keys", "lmcache_mp.l2_store_completed_objects"]),
        m("load_completed", C, &["lmcache_mp_l2_load_completed_requests", "lmcache_mp_l2_load_completed", "lmcache_mp.l2_load_completed"]),
        m("prefetch_lookup", C, &["lmcache_mp_l2_prefetch_lookup_requests", "lmcache_mp_l2_prefetch_lookups", "lmcache_mp.l2_prefetch_lookup"]),
        m("prefetch_lookup_objects", C, &["lmcache_mp_l2_prefetch_lookup_objects_chunks", "lmcache_mp_l2_prefetch_lookup_keys", "lmcache_mp.l2_prefetch_lookup_objects"]),
        m("prefetch_load_submitted", C, &["lmcache_mp_l2_prefetch_load_submitted_requests", "lmcache_mp_l2_prefetch_load_tasks", "lmcache_mp.l2_prefetch_load_submitted"]),
        m("prefetch_load_submitted_objects", C, &["lmcache_mp_l2_prefetch_load_submitted_objects_chunks", "lmcache_mp_l2_prefetch_load_keys", "lmcache_mp.l2_prefetch_load_submitted_objects"]),
        m("prefetch_load_completed", C, &["lmcache_mp_l2_prefetch_load_completed_chunks", "lmcache_mp_l2_prefetch_loaded_keys", "lmcache_mp.l2_prefetch_load_completed"]),
        m("evicted_objects", C, &["lmcache_mp_l2_evicted_objects_chunks", "lmcache_mp.l2_evicted_objects"]),
        // Prefix chunks an L2 lookup found: LMCache 0.4.3 to 0.5.5 (0.4.7 to 0.5.3 run for real),
        // gone by 0.5.6.
        m("prefetch_hit", C, &["lmcache_mp_l2_prefetch_hit_chunks", "lmcache_mp_l2_prefetch_hit_keys", "lmcache_mp.l2_prefetch_hit"]),
    ]),
    fam!("lmcache_mp.l2_failures", "L2 prefetch and store failures", MpServer, Some(L2), NONE, [
        m("prefetch_failure", C, &["lmcache_mp_l2_prefetch_failure_chunks", "lmcache_mp_l2_prefetch_failure", "lmcache_mp.l2_prefetch_failure"]),
        // Keys that failed to load from L2: LMCache 0.4.3 to 0.4.5 (0.4.5 also counts the
        // failures above, by reason, so the two are not one metric).
        m("prefetch_failed_keys", C, &["lmcache_mp_l2_prefetch_failed_keys", "lmcache_mp.l2_prefetch_failed_keys"]),
        // Keys that failed to store to L2: LMCache 0.4.3 to 0.4.5 only.
        m("store_failure", C, &["lmcache_mp_l2_store_failed_keys", "lmcache_mp.l2_store_failed_keys"]),
    ]),
    fam!("lmcache_mp.l2_usage", "L2 usage and in-flight work per adapter", MpServer, Some(L2), MP, [
        m("used_bytes", G, &["lmcache_mp_l2_usage_bytes", "lmcache_mp.l2_usage_bytes"]),
        m("inflight_stores", G, &["lmcache_mp_num_inflight_l2_stores", "lmcache_mp.num_inflight_l2_stores"]),
        m("inflight_loads", G, &["lmcache_mp_num_inflight_l2_loads", "lmcache_mp.num_inflight_l2_loads"]),
        m("inflight_load_bytes", G, &["lmcache_mp_inflight_load_memory_usage_bytes", "lmcache_mp.inflight_load_memory_usage_bytes"]),
    ]),
    fam!("lmcache_mp.l2_adapters", "L2 adapters attached (active / draining)", MpServer, None, NONE, [
        m("store_adapters", G, &["lmcache_mp_l2_store_adapters", "lmcache_mp.l2_store_adapters"]),
        m("prefetch_adapters", G, &["lmcache_mp_l2_prefetch_adapters", "lmcache_mp.l2_prefetch_adapters"]),
        // LMCache 0.5.0 (run for real) exports both counts under this one name, declared twice
        // in a scrape (the store controller's, then the prefetch controller's).
        m("adapters", G, &["lmcache_mp_l2_adapters", "lmcache_mp.l2_adapters"]),
    ]),
    fam!("lmcache_mp.lookup", "Lookup tokens and requests (hit rate)", MpServer, None, MP, [
        m("requested_tokens", C, &["lmcache_mp_lookup_requested_tokens", "lmcache_mp.lookup_requested"]),
        m("hit_tokens", C, &["lmcache_mp_lookup_hit_tokens", "lmcache_mp.lookup_hit"]),
        m("lookups", C, &["lmcache_mp_lookups_requests", "lmcache_mp.lookups"]),
        m("early_exit", C, &["lmcache_mp_lookup_early_exit_requests", "lmcache_mp.lookup_early_exit"]),
        m("prompt_tokens", C, &["lmcache_mp_lookup_prompt_tokens", "lmcache_mp.lookup_prompt"]),
        m("request_hit_tokens", C, &["lmcache_mp_lookup_request_hit_tokens", "lmcache_mp.lookup_request_hit"]),
    ]),
    fam!("lmcache_mp.lookup_tiers", "Lookup hits split into L1 and L2", MpServer, None, NONE, [
        m("hit_l1_tokens", C, &["lmcache_mp_lookup_hit_l1_tokens", "lmcache_mp.lookup_hit_l1"]),
        m("hit_l2_tokens", C, &["lmcache_mp_lookup_hit_l2_tokens", "lmcache_mp.lookup_hit_l2"]),
        m("hit_l1_keys", C, &["lmcache_mp_lookup_hit_l1_keys", "lmcache_mp.lookup_hit_l1_keys"]),
        m("hit_l2_keys", C, &["lmcache_mp_lookup_hit_l2_keys", "lmcache_mp.lookup_hit_l2_keys"]),
    ]),
    fam!("lmcache_mp.l0_lifecycle", "L0 (GPU) block lifetime and reuse (sampled)", MpServer, None, NONE, [
        s("block_lifetime", H, &["lmcache_mp_l0_block_lifetime_seconds", "lmcache_mp.l0_block_lifetime"]),
        s("block_idle_before_evict", H, &["lmcache_mp_l0_block_idle_before_evict_seconds", "lmcache_mp.l0_block_idle_before_evict"]),
        s("block_reuse_gap", H, &["lmcache_mp_l0_block_reuse_gap_seconds", "lmcache_mp.l0_block_reuse_gap"]),
        m("allocated_blocks", C, &["lmcache_mp_l0_block_allocated_blocks"]),
        m("allocation_records", C, &["lmcache_mp_l0_block_allocation_records"]),
    ]),
    fam!("lmcache_mp.l0_l1_throughput", "L0↔L1 (GPU↔CPU) copy throughput", MpServer, None, NONE, [
        m("store", H, &["lmcache_mp_l0_l1_store_throughput_GB_per_second", "lmcache_mp_l0_l1_store_throughput_gbs_GB_per_second", "lmcache_mp.l0_l1_store_throughput"]),
        m("load", H, &["lmcache_mp_l0_l1_load_throughput_GB_per_second", "lmcache_mp_l0_l1_load_throughput_gbs_GB_per_second", "lmcache_mp.l0_l1_load_throughput"]),
    ]),
    fam!("lmcache_mp.l1_l2_throughput", "L1↔L2 store and load throughput", MpServer, Some(L2), NONE, [
        m("store", H, &["lmcache_mp_l2_store_throughput_GB_per_second", "lmcache_mp_l2_store_throughput_gbs_GB_per_second", "lmcache_mp.l2_store_throughput"]),
        m("load", H, &["lmcache_mp_l2_load_throughput_GB_per_second", "lmcache_mp_l2_load_throughput_gbs_GB_per_second", "lmcache_mp.l2_load_throughput"]),
    ]),
    fam!("lmcache_mp.transfer_phases", "GPU transfer staging and kernel phases (CUDA only)", MpServer, Some(Cuda), NONE, [
        m("staging_throughput", H, &["lmcache_mp_transfer_staging_throughput_GB_per_second", "lmcache_mp.transfer_staging_throughput"]),
        m("phase_bytes", C, &["lmcache_mp_transfer_phase_bytes", "lmcache_mp.transfer_phase_bytes"]),
        m("phase_elapsed", C, &["lmcache_mp_transfer_phase_elapsed_seconds", "lmcache_mp.transfer_phase_elapsed"]),
    ]),
    fam!("lmcache_mp.engine_transfers", "Engine store/retrieve transfers and chunks loaded", MpServer, None, NONE, [
        m("submitted_stores", C, &["lmcache_mp_num_submitted_stores", "lmcache_mp.num_submitted_stores"]),
        m("finished_stores", C, &["lmcache_mp_num_finished_stores", "lmcache_mp.num_finished_stores"]),
        m("submitted_retrieves", C, &["lmcache_mp_num_submitted_retrieves", "lmcache_mp.num_submitted_retrieves"]),
        m("finished_retrieves", C, &["lmcache_mp_num_finished_retrieves", "lmcache_mp.num_finished_retrieves"]),
        m("chunks_loaded", C, &["lmcache_mp_num_chunks_loaded", "lmcache_mp.num_chunks_loaded"]),
    ]),
    fam!("lmcache_mp.jobs", "Active prefetch and P2P lookup jobs", MpServer, None, MP, [
        m("prefetch", G, &["lmcache_mp_active_prefetch_jobs", "lmcache_mp.active_prefetch_jobs"]),
        m("p2p_lookup", G, &["lmcache_mp_active_p2p_lookup_jobs", "lmcache_mp.active_p2p_lookup_jobs"]),
    ]),
    fam!("lmcache_mp.eventbus", "EventBus depth, drain lag, drops, subscriber errors", MpServer, None, MP, [
        m("queue_depth", G, &["lmcache_mp_event_bus_queue_depth", "lmcache_mp.event_bus.queue_depth"]),
        m("drain_lag", G, &["lmcache_mp_event_bus_drain_lag_seconds", "lmcache_mp.event_bus.drain_lag_seconds"]),
        m("dropped", C, &["lmcache_mp_event_bus_dropped_events", "lmcache_mp.event_bus.dropped_events_total"]),
        m("subscriber_exceptions", C, &["lmcache_mp_event_bus_subscriber_exceptions", "lmcache_mp.event_bus.subscriber_exceptions"]),
    ]),
    fam!("lmcache_mp.kv_events", "KV event log depth", MpServer, None, NONE, [m("log_depth", G, &[
                "lmcache_mp_kv_events_log_depth",
                "lmcache_mp.kv_events.log_depth"
            ]
        ),]
    ),
    // ---- CacheBlend ------------------------------------------------------------------------
    fam!("lmcache_blend.lookup", "CacheBlend lookups and hit tokens", Blend, Some(CacheBlend), NONE, [
        m("requests", C, &["lmcache_blend_lookup_requests"]),
        m("requested_tokens", C, &["lmcache_blend_lookup_requested_tokens"]),
        m("hit_tokens", C, &["lmcache_blend_lookup_hit_tokens"]),
        m("prefix_hit_tokens", C, &["lmcache_blend_lookup_prefix_hit_tokens"]),
        m("non_prefix_hit_tokens", C, &["lmcache_blend_lookup_non_prefix_hit_tokens"]),
        m("segmented_prefix_hit_tokens", C, &["lmcache_blend_lookup_segmented_prefix_hit_tokens"]),
        m("fingerprint_hits", C, &["lmcache_blend_lookup_fingerprint_hits"]),
        m("storage_hits", C, &["lmcache_blend_lookup_storage_hits"]),
        m("stale_chunks", C, &["lmcache_blend_lookup_stale_chunks"]),
        m("no_gpu_context_errors", C, &["lmcache_blend_lookup_no_gpu_context_errors"]),
    ]),
    fam!("lmcache_blend.retrieve", "CacheBlend retrieves and scatter", Blend, Some(CacheBlend), NONE, [
        m("requests", C, &["lmcache_blend_retrieve_requests"]),
        m("chunks", C, &["lmcache_blend_retrieve_chunks"]),
        m("failures", C, &["lmcache_blend_retrieve_failures"]),
        m("noops", C, &["lmcache_blend_retrieve_noops"]),
        m("scatter_tokens", C, &["lmcache_blend_scatter_tokens"]),
        m("scatter_prefix_chunks", C, &["lmcache_blend_scatter_prefix_chunks"]),
        m("scatter_shifted_chunks", C, &["lmcache_blend_scatter_shifted_chunks"]),
        m("scatter_dropped_chunks", C, &["lmcache_blend_scatter_dropped_chunks"]),
    ]),
    // The store path's counters: LMCache 0.4.5 to 0.5.4.
    fam!("lmcache_blend.store", "CacheBlend pre-computed and final stores", Blend, Some(CacheBlend), NONE, [
        m("pre_computed_requests", C, &["lmcache_blend_store_pre_computed_requests"]),
        m("pre_computed_chunks", C, &["lmcache_blend_store_pre_computed_chunks"]),
        m("pre_computed_failures", C, &["lmcache_blend_store_pre_computed_failures"]),
        m("final_requests", C, &["lmcache_blend_store_final_requests"]),
        m("final_chunks", C, &["lmcache_blend_store_final_chunks"]),
        m("final_failures", C, &["lmcache_blend_store_final_failures"]),
    ]),
    fam!("lmcache_blend.fingerprints", "CacheBlend fingerprints, coordinator matches, sparse prefetch", Blend, Some(CacheBlend), NONE, [
        m("registered", C, &["lmcache_blend_fingerprints_registered"]),
        m("chunks_evicted", C, &["lmcache_blend_chunks_evicted"]),
        m("matches", C, &["lmcache_blend_fingerprint_matches"]),
        m("coordinator_matches", C, &["lmcache_blend_coordinator_matches"]),
        m("coordinator_match_timeouts", C, &["lmcache_blend_coordinator_match_timeouts"]),
        m("sparse_prefetch_l2_keys", C, &["lmcache_blend_sparse_prefetch_l2_keys"]),
        m("sparse_prefetch_found_keys", C, &["lmcache_blend_sparse_prefetch_found_keys"]),
    ]),
    fam!("lmcache_blend.durations", "CacheBlend phase durations", Blend, Some(CacheBlend), NONE, [
        m("lookup", H, &["lmcache_blend_lookup_duration_milliseconds"]),
        m("fingerprint_match", H, &["lmcache_blend_fingerprint_match_duration_milliseconds"]),
        m("prefix_lookup", H, &["lmcache_blend_prefix_lookup_duration_milliseconds"]),
        m("coordinator_match", H, &["lmcache_blend_coordinator_match_duration_milliseconds"]),
        m("sparse_prefetch", H, &["lmcache_blend_sparse_prefetch_duration_milliseconds"]),
        m("retrieve", H, &["lmcache_blend_retrieve_duration_milliseconds"]),
        m("scatter", H, &["lmcache_blend_scatter_duration_milliseconds"]),
    ]),
    // ---- MP coordinator ---------------------------------------------------------------------
    fam!("lmcache_coordinator.key_directory", "Key directory placements by tier", Coordinator, None, &[Architecture::ControllerOnly], [
        m("placement_count", G, &["lmcache_mp_key_directory_placement_count", "lmcache_mp.key_directory_placement_count"]),
        m("placement_size_bytes", G, &["lmcache_mp_key_directory_placement_size_bytes", "lmcache_mp.key_directory_placement_size_bytes"]),
        m("placements", G, &["lmcache_coordinator_key_directory_placements", "lmcache_coordinator.key_directory.placements"]),
        m("placement_bytes", G, &["lmcache_coordinator_key_directory_placement_bytes", "lmcache_coordinator.key_directory.placement_bytes"]),
    ]),
    fam!("lmcache_coordinator.ingest", "Coordinator event ingest from MP servers", Coordinator, None, NONE, [
        m("event_batches_received", C, &["lmcache_coordinator_ingest_event_batches_received"]),
        m("event_batches_missing", C, &["lmcache_coordinator_ingest_event_batches_missing"]),
        m("events_dropped_by_servers", C, &["lmcache_coordinator_ingest_events_dropped_by_servers"]),
        m("server_event_batches_missing", G, &["lmcache_coordinator_ingest_server_event_batches_missing"]),
        m("server_events_dropped", G, &["lmcache_coordinator_ingest_server_events_dropped"]),
        m("server_view_incomplete", G, &["lmcache_coordinator_ingest_server_view_incomplete"]),
        m("server_seconds_since_last_event", G, &["lmcache_coordinator_ingest_server_seconds_since_last_event"]),
        m("server_event_delivery_delay", G, &["lmcache_coordinator_ingest_server_event_delivery_delay_seconds"]),
        m("batches_delivered", C, &["lmcache_coordinator_ingest_batches_delivered"]),
        m("batch_apply_time", C, &["lmcache_coordinator_ingest_batch_apply_time_seconds"]),
        m("batch_apply_failures", C, &["lmcache_coordinator_ingest_batch_apply_failures"]),
    ]),
    fam!("lmcache_coordinator.loops", "Coordinator loops, registry, Kafka", Coordinator, None, NONE, [
        m("background_last_success", G, &["lmcache_coordinator_background_loop_last_success_timestamp_seconds"]),
        m("background_interval", G, &["lmcache_coordinator_background_loop_interval_seconds"]),
        m("background_passes", C, &["lmcache_coordinator_background_loop_passes"]),
        m("event_loop_blocked", C, &["lmcache_coordinator_event_loop_blocked_seconds"]),
        m("seconds_since_heartbeat", G, &["lmcache_coordinator_registry_server_seconds_since_heartbeat"]),
        m("controller_up", G, &["lmcache_coordinator_controller_up"]),
        m("kafka_records_read", C, &["lmcache_coordinator_kafka_records_read"]),
        m("kafka_partitions_assigned", G, &["lmcache_coordinator_kafka_partitions_assigned"]),
        m("kafka_unread_records", G, &["lmcache_coordinator_kafka_unread_records"]),
    ]),
    // ---- LMCache embedded in the engine (`lmcache:*`) -----------------------------------------
    fam!("lmcache.embedded_requests", "Embedded LMCache retrieve/store/lookup requests", Embedded, None, EMBEDDED, [
        m("retrieve", C, &["lmcache:num_retrieve_requests"]),
        m("store", C, &["lmcache:num_store_requests"]),
        m("lookup", C, &["lmcache:num_lookup_requests"]),
    ]),
    fam!("lmcache.embedded_token_counters", "Embedded LMCache token counters (hit rate)", Embedded, None, EMBEDDED, [
        m("requested_tokens", C, &["lmcache:num_requested_tokens"]),
        m("hit_tokens", C, &["lmcache:num_hit_tokens"]),
        m("stored_tokens", C, &["lmcache:num_stored_tokens"]),
        m("lookup_tokens", C, &["lmcache:num_lookup_tokens"]),
        m("lookup_hits", C, &["lmcache:num_lookup_hits"]),
        m("vllm_hit_tokens", C, &["lmcache:num_vllm_hit_tokens"]),
        m("prompt_tokens", C, &["lmcache:num_prompt_tokens"]),
        m("lookup_0_hit_requests", C, &["lmcache:lookup_0_hit_requests"]),
        // LMCache ~0.3, on a real vLLM scrape in LMCache PR #1300.
        m("lookup_requested_tokens", C, &["lmcache:num_lookup_requested_tokens"]),
    ]),
    fam!("lmcache.embedded_hit_rate", "Embedded LMCache hit-rate gauges", Embedded, None, NONE, [
        m("retrieve_hit_rate", G, &["lmcache:retrieve_hit_rate"]),
        m("lookup_hit_rate", G, &["lmcache:lookup_hit_rate"]),
        m("request_cache_hit_rate", H, &["lmcache:request_cache_hit_rate"]),
        // LMCache 0.3.1 to 0.3.3; it always read 1, and 0.3.4 replaced it with the two above.
        m("cache_hit_rate", G, &["lmcache:cache_hit_rate"]),
    ]),
    fam!("lmcache.embedded_latency", "Embedded LMCache latency and speed", Embedded, None, NONE, [
        m("time_to_retrieve", H, &["lmcache:time_to_retrieve"]),
        m("time_to_store", H, &["lmcache:time_to_store"]),
        m("time_to_lookup", H, &["lmcache:time_to_lookup"]),
        m("retrieve_speed", H, &["lmcache:retrieve_speed"]),
        m("store_speed", H, &["lmcache:store_speed"]),
        m("slow_retrieval_by_time", C, &["lmcache:num_slow_retrieval_by_time"]),
        m("slow_retrieval_by_speed", C, &["lmcache:num_slow_retrieval_by_speed"]),
    ]),
    fam!("lmcache.embedded_profiling", "Embedded LMCache profiling timers", Embedded, None, NONE, [
        m("retrieve_process_tokens_time", H, &["lmcache:retrieve_process_tokens_time"]),
        m("retrieve_broadcast_time", H, &["lmcache:retrieve_broadcast_time"]),
        m("retrieve_to_gpu_time", H, &["lmcache:retrieve_to_gpu_time"]),
        m("remote_backend_batched_get_blocking_time", H, &["lmcache:remote_backend_batched_get_blocking_time"]),
        m("instrumented_connector_batched_get_time", H, &["lmcache:instrumented_connector_batched_get_time"]),
        m("store_process_tokens_time", H, &["lmcache:store_process_tokens_time"]),
        m("store_from_gpu_time", H, &["lmcache:store_from_gpu_time"]),
        m("store_put_time", H, &["lmcache:store_put_time"]),
    ]),
    fam!("lmcache.embedded_cache_usage", "Embedded LMCache cache usage", Embedded, None, NONE, [
        m("local_cache_usage", G, &["lmcache:local_cache_usage"]),
        m("remote_cache_usage", G, &["lmcache:remote_cache_usage"]),
        m("local_storage_usage", G, &["lmcache:local_storage_usage"]),
    ]),
    fam!("lmcache.embedded_remote_backend", "Embedded LMCache remote backend", Embedded, None, NONE, [
        m("read_requests", C, &["lmcache:num_remote_read_requests"]),
        m("read_bytes", C, &["lmcache:num_remote_read_bytes"]),
        m("write_requests", C, &["lmcache:num_remote_write_requests"]),
        m("write_bytes", C, &["lmcache:num_remote_write_bytes"]),
        m("ping_latency", G, &["lmcache:remote_ping_latency"]),
        m("ping_error_code", G, &["lmcache:remote_ping_error_code"]),
        m("ping_errors", C, &["lmcache:remote_ping_errors"]),
        m("ping_successes", C, &["lmcache:remote_ping_successes"]),
        m("time_to_get", H, &["lmcache:remote_time_to_get"]),
        m("time_to_put", H, &["lmcache:remote_time_to_put"]),
        m("time_to_get_sync", H, &["lmcache:remote_time_to_get_sync"]),
        m("put_task_num", G, &["lmcache:remote_put_task_num"]),
    ]),
    fam!("lmcache.embedded_local_cpu_backend", "Embedded LMCache local CPU backend", Embedded, None, NONE, [
        m("evict_count", C, &["lmcache:local_cpu_evict_count"]),
        m("evict_keys_count", C, &["lmcache:local_cpu_evict_keys_count"]),
        m("evict_failed_count", C, &["lmcache:local_cpu_evict_failed_count"]),
        m("forced_unpin_count", C, &["lmcache:forced_unpin_count"]),
        m("hot_cache_count", G, &["lmcache:local_cpu_hot_cache_count"]),
        m("keys_in_request_count", G, &["lmcache:local_cpu_keys_in_request_count"]),
    ]),
    fam!("lmcache.embedded_memory", "Embedded LMCache memory objects", Embedded, None, NONE, [
        m("active_memory_objs", G, &["lmcache:active_memory_objs_count"]),
        m("pinned_memory_objs", G, &["lmcache:pinned_memory_objs_count"]),
        m("pin_monitor_pinned_objects", G, &["lmcache:pin_monitor_pinned_objects_count"]),
    ]),
    fam!("lmcache.embedded_p2p", "Embedded LMCache P2P transfers", Embedded, Some(P2p), NONE, [
        m("transfer_speed", H, &["lmcache:p2p_transfer_speed"]),
        m("time_to_transfer", H, &["lmcache:p2p_time_to_transfer"]),
    ]),
    fam!("lmcache.embedded_health", "Embedded LMCache health and failures", Embedded, None, NONE, [
        m("is_healthy", G, &["lmcache:lmcache_is_healthy"]),
        m("get_blocking_failed", G, &["lmcache:get_blocking_failed_count"]),
        // LMCache 0.3.13 and 0.3.14.
        m("interval_get_blocking_failed", G, &["lmcache:interval_get_blocking_failed_count"]),
        m("put_failed", G, &["lmcache:put_failed_count"]),
        m("storage_events_ongoing", G, &["lmcache:storage_events_ongoing_count"]),
        m("storage_events_done", G, &["lmcache:storage_events_done_count"]),
        m("storage_events_not_found", G, &["lmcache:storage_events_not_found_count"]),
        m("kv_msg_queue_size", G, &["lmcache:kv_msg_queue_size"]),
    ]),
    fam!("lmcache.embedded_chunk_statistics", "Embedded LMCache chunk statistics", Embedded, None, NONE, [
        m("enabled", G, &["lmcache:chunk_statistics_enabled"]),
        m("total_requests", G, &["lmcache:chunk_statistics_total_requests"]),
        m("total_chunks", G, &["lmcache:chunk_statistics_total_chunks"]),
        m("unique_chunks", G, &["lmcache:chunk_statistics_unique_chunks"]),
        m("reuse_rate", G, &["lmcache:chunk_statistics_reuse_rate"]),
        m("bloom_filter_size_mb", G, &["lmcache:chunk_statistics_bloom_filter_size_mb"]),
        m("bloom_filter_fill_rate", G, &["lmcache:chunk_statistics_bloom_filter_fill_rate"]),
        m("file_count", G, &["lmcache:chunk_statistics_file_count"]),
        m("current_file_size", G, &["lmcache:chunk_statistics_current_file_size"]),
    ]),
    fam!("lmcache.embedded_periodic_threads", "Embedded LMCache periodic threads", Embedded, None, NONE, [
        m("total", G, &["lmcache:periodic_threads_total_count"]),
        m("running", G, &["lmcache:periodic_threads_running_count"]),
        m("active", G, &["lmcache:periodic_threads_active_count"]),
        m("critical_total", G, &["lmcache:periodic_threads_critical_total"]),
        m("critical_running", G, &["lmcache:periodic_threads_critical_running"]),
        m("critical_active", G, &["lmcache:periodic_threads_critical_active"]),
        m("high_total", G, &["lmcache:periodic_threads_high_total"]),
        m("high_running", G, &["lmcache:periodic_threads_high_running"]),
        m("high_active", G, &["lmcache:periodic_threads_high_active"]),
        m("medium_total", G, &["lmcache:periodic_threads_medium_total"]),
        m("medium_running", G, &["lmcache:periodic_threads_medium_running"]),
        m("medium_active", G, &["lmcache:periodic_threads_medium_active"]),
        m("low_total", G, &["lmcache:periodic_threads_low_total"]),
        m("low_running", G, &["lmcache:periodic_threads_low_running"]),
        m("low_active", G, &["lmcache:periodic_threads_low_active"]),
    ]),
    fam!("lmcache.embedded_connector", "Embedded LMCache connector and scheduler state", Embedded, None, NONE, [
        m("scheduler_unfinished_requests", G, &["lmcache:scheduler_unfinished_requests_count"]),
        m("load_specs", G, &["lmcache:connector_load_specs_count"]),
        m("request_trackers", G, &["lmcache:connector_request_trackers_count"]),
        m("kv_caches", G, &["lmcache:connector_kv_caches_count"]),
        m("layerwise_retrievers", G, &["lmcache:connector_layerwise_retrievers_count"]),
        m("invalid_block_ids", G, &["lmcache:connector_invalid_block_ids_count"]),
        m("requests_priority", G, &["lmcache:connector_requests_priority_count"]),
    ]),
    // The cache controller's view of its workers and KV pool (LMCache 0.3.10 on).
    fam!("lmcache.embedded_cache_controller", "Embedded LMCache cache controller", Embedded, None, NONE, [
        m("registered_workers", G, &["lmcache:cache_controller_registered_workers_count"]),
        m("kv_pool_keys", G, &["lmcache:cache_controller_kv_pool_keys_count"]),
        m("kv_op_seq_discontinuities", G, &["lmcache:cache_controller_kv_op_seq_discontinuity_count"]),
        m("pull_socket_active_requests", G, &["lmcache:cache_controller_pull_socket_active_requests"]),
        m("pull_socket_has_pending", G, &["lmcache:cache_controller_pull_socket_has_pending"]),
        m("pull_socket_messages", G, &["lmcache:cache_controller_pull_socket_message_count"]),
        m("reply_socket_active_requests", G, &["lmcache:cache_controller_reply_socket_active_requests"]),
        m("reply_socket_has_pending", G, &["lmcache:cache_controller_reply_socket_has_pending"]),
        m("reply_socket_messages", G, &["lmcache:cache_controller_reply_socket_message_count"]),
        m("full_sync_progress", G, &["lmcache:cache_controller_full_sync_global_progress"]),
        m("full_sync_missing_batches", G, &["lmcache:cache_controller_full_sync_missing_batches_total"]),
        m("full_sync_workers_completed", G, &["lmcache:cache_controller_full_sync_workers_completed"]),
        m("full_sync_workers_syncing", G, &["lmcache:cache_controller_full_sync_workers_syncing"]),
    ]),
    fam!("lmcache.embedded_request_lifespan", "Embedded LMCache request cache lifespan", Embedded, None, NONE, [m("lifespan", H, &["lmcache:request_cache_lifespan"])]),
    // ---- vLLM ------------------------------------------------------------------------------
    fam!("vllm.prefix_cache", "vLLM local (GPU) prefix cache", Vllm, None, VLLM, [
        m("queries", C, &["vllm:prefix_cache_queries", "vllm:gpu_prefix_cache_queries"]),
        m("hits", C, &["vllm:prefix_cache_hits", "vllm:gpu_prefix_cache_hits"]),
    ]),
    fam!("vllm.external_prefix_cache", "vLLM external (connector) prefix cache", Vllm, None, VLLM_LMCACHE, [
        m("queries", C, &["vllm:external_prefix_cache_queries"]),
        m("hits", C, &["vllm:external_prefix_cache_hits"]),
    ]),
    fam!("vllm.prompt_tokens_by_source", "vLLM prompt tokens by source", Vllm, None, NONE, [
        m("prompt_tokens", C, &["vllm:prompt_tokens"]),
        m("by_source", C, &["vllm:prompt_tokens_by_source"]),
    ]),
    fam!("vllm.cached_tokens_by_source", "vLLM cached prompt tokens by source", Vllm, None, NONE, [
        m("cached", C, &["vllm:prompt_tokens_cached"]),
        m("cached_by_source", C, &["vllm:prompt_tokens_cached_by_source"]),
    ]),
    fam!("vllm.kv_usage", "vLLM GPU KV cache usage", Vllm, None, VLLM, [m("usage_perc", G, &["vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"])]),
    fam!("vllm.queues", "vLLM running/waiting requests, preemptions, queue time", Vllm, None, VLLM, [
        m("running", G, &["vllm:num_requests_running"]),
        m("waiting", G, &["vllm:num_requests_waiting"]),
        m("waiting_by_reason", G, &["vllm:num_requests_waiting_by_reason"]),
        m("kv_fetch_by_stage", G, &["vllm:num_requests_kv_fetch_by_stage"]),
        m("preemptions", C, &["vllm:num_preemptions"]),
        m("queue_time", H, &["vllm:request_queue_time_seconds"]),
        m("admission_rejections", C, &["vllm:admission_rejections"]),
    ]),
    fam!("vllm.latency", "vLLM TTFT, ITL, end-to-end and phase latency", Vllm, None, NONE, [
        m("ttft", H, &["vllm:time_to_first_token_seconds"]),
        m("itl", H, &["vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"]),
        m("tpot", H, &["vllm:request_time_per_output_token_seconds"]),
        m("e2e", H, &["vllm:e2e_request_latency_seconds"]),
        m("inference_time", H, &["vllm:request_inference_time_seconds"]),
        m("prefill_time", H, &["vllm:request_prefill_time_seconds"]),
        m("decode_time", H, &["vllm:request_decode_time_seconds"]),
    ]),
    fam!("vllm.kv_block_lifecycle", "vLLM KV block lifetime and reuse (sampled, opt-in)", Vllm, None, NONE, [
        s("lifetime", H, &["vllm:kv_block_lifetime_seconds"]),
        s("idle_before_evict", H, &["vllm:kv_block_idle_before_evict_seconds"]),
        s("reuse_gap", H, &["vllm:kv_block_reuse_gap_seconds"]),
    ]),
    fam!("vllm.cache_config", "vLLM cache configuration (info)", Vllm, None, NONE, [m("info", I, &["vllm:cache_config_info"])]),
    fam!("vllm.kv_offload", "vLLM native KV offload (OffloadingConnector)", Vllm, Some(NativeOffload), NONE, [
        m("load_bytes", C, &["vllm:kv_offload_load_bytes"]),
        m("load_time", C, &["vllm:kv_offload_load_time"]),
        m("store_bytes", C, &["vllm:kv_offload_store_bytes"]),
        m("store_time", C, &["vllm:kv_offload_store_time"]),
        m("load_size", H, &["vllm:kv_offload_load_size"]),
        m("store_size", H, &["vllm:kv_offload_store_size"]),
        m("lookup_sync_delay", H, &["vllm:kv_offload_lookup_sync_delay_seconds"]),
        m("lookup_async_delay", H, &["vllm:kv_offload_lookup_async_delay_seconds"]),
        m("allocation_failure", C, &["vllm:kv_offload_allocation_failure"]),
        m("legacy_total_bytes", C, &["vllm:kv_offload_total_bytes"]),
        m("legacy_total_time", C, &["vllm:kv_offload_total_time"]),
        m("legacy_size", H, &["vllm:kv_offload_size"]),
        m("cpu_cache_usage_perc", G, &["vllm:kv_offload_cpu_cache_usage_perc"]),
        m("cpu_cache_write_usage_perc", G, &["vllm:kv_offload_cpu_cache_write_usage_perc"]),
        m("cpu_cache_read_usage_perc", G, &["vllm:kv_offload_cpu_cache_read_usage_perc"]),
        m("cpu_allocation_size", H, &["vllm:kv_offload_cpu_allocation_size"]),
        m("stores_skipped", C, &["vllm:kv_offload_stores_skipped"]),
        m("config_info", I, &["vllm:kv_offload_config_info"]),
    ]),
    fam!("vllm.simple_cpu_offload", "vLLM SimpleCPUOffloadConnector", Vllm, Some(SimpleOffload), NONE, [
        m("save_outcomes", C, &["vllm:simple_kv_offload_save_outcomes"]),
        m("load_blocks", C, &["vllm:simple_kv_offload_load_blocks"]),
        m("used_blocks", G, &["vllm:simple_kv_offload_used_blocks"]),
        m("pending_store_blocks", G, &["vllm:simple_kv_offload_pending_store_blocks"]),
        m("info", I, &["vllm:simple_kv_offload_info"]),
    ]),
    fam!("vllm.nixl", "vLLM NIXL KV transfer (disaggregated prefill)", Vllm, Some(Pd), NONE, [
        m("xfer_time", H, &["vllm:nixl_xfer_time_seconds"]),
        m("post_time", H, &["vllm:nixl_post_time_seconds"]),
        m("bytes_transferred", H, &["vllm:nixl_bytes_transferred"]),
        m("num_descriptors", H, &["vllm:nixl_num_descriptors"]),
        m("failed_transfers", C, &["vllm:nixl_num_failed_transfers"]),
        m("failed_notifications", C, &["vllm:nixl_num_failed_notifications"]),
        m("kv_expired_reqs", C, &["vllm:nixl_num_kv_expired_reqs"]),
        m("notifications_after_expiry", C, &["vllm:nixl_num_notifications_after_expiry"]),
    ]),
    fam!("vllm.mooncake", "vLLM Mooncake KV transfer and store", Vllm, Some(Pd), NONE, [
        m("xfer_time", H, &["vllm:mooncake_xfer_time_seconds"]),
        m("bytes_transferred", H, &["vllm:mooncake_bytes_transferred"]),
        m("num_descriptors", H, &["vllm:mooncake_num_descriptors"]),
        m("failed_transfers", C, &["vllm:mooncake_num_failed_transfers"]),
        m("failed_recvs", C, &["vllm:mooncake_num_failed_recvs"]),
        m("kv_expired_reqs", C, &["vllm:mooncake_num_kv_expired_reqs"]),
        m("store_operations", C, &["vllm:mooncake_store_operation"]),
        m("store_keys", C, &["vllm:mooncake_store_operation_keys"]),
        m("store_bytes", C, &["vllm:mooncake_store_operation_bytes"]),
        m("store_failed_keys", C, &["vllm:mooncake_store_operation_failed_keys"]),
        m("store_time", H, &["vllm:mooncake_store_operation_time_seconds"]),
    ]),
    // vLLM 0.34's other KV connectors (names from its wheel's source).
    fam!("vllm.hf3fs", "vLLM HF3FS KV connector saves and loads (0.34)", Vllm, None, NONE, [
        m("save_duration", H, &["vllm:hf3fs_save_duration_seconds"]),
        m("load_duration", H, &["vllm:hf3fs_load_duration_seconds"]),
        m("failed_saves", C, &["vllm:hf3fs_num_failed_save"]),
        m("failed_loads", C, &["vllm:hf3fs_num_failed_load"]),
    ]),
    fam!("vllm.hisparse", "vLLM HiSparse host KV cache (0.34)", Vllm, None, NONE, [
        m("hits", C, &["vllm:hisparse_cache_hits"]),
        m("misses", C, &["vllm:hisparse_cache_misses"]),
        m("host_to_device_bytes", C, &["vllm:hisparse_host_to_device_bytes"]),
        m("host_usage", G, &["vllm:hisparse_host_cache_usage_perc"]),
        m("pending_page_transfers", G, &["vllm:hisparse_pending_page_transfers"]),
        m("block_lifetime", H, &["vllm:hisparse_host_block_lifetime_seconds"]),
        m("block_idle_before_evict", H, &["vllm:hisparse_host_block_idle_before_evict_seconds"]),
        m("block_reuse_gap", H, &["vllm:hisparse_host_block_reuse_gap_seconds"]),
    ]),
    fam!("vllm.umbp", "vLLM UMBP KV transfers (0.34)", Vllm, None, NONE, [
        m("submitted", C, &["vllm:umbp_transfer_submitted"]),
        m("completed", C, &["vllm:umbp_transfer_completed"]),
        m("failed", C, &["vllm:umbp_transfer_failed"]),
        m("bytes", C, &["vllm:umbp_transfer_bytes"]),
    ]),
    fam!("vllm.lmcache_mp_connector", "vLLM side of the LMCache MP connector", VllmMpConnector, None, NONE, [
        m("lookup_duration", H, &["vllm:lmcache_mp_lookup_duration_seconds"]),
        m("kv_events_buffered", G, &["vllm:lmcache_mp_kv_events_buffered"]),
        m("kv_events_generated", C, &["vllm:lmcache_mp_kv_events_generated"]),
        m("kv_events_drained", C, &["vllm:lmcache_mp_kv_events_drained"]),
        m("kv_event_batches", C, &["vllm:lmcache_mp_kv_event_batches"]),
        m("kv_event_resyncs", C, &["vllm:lmcache_mp_kv_event_resyncs"]),
    ]),
    fam!("vllm.v0_legacy", "vLLM V0 gauges (removed in 0.11)", Vllm, None, NONE, [
        m("gpu_prefix_cache_hit_rate", G, &["vllm:gpu_prefix_cache_hit_rate"]),
        m("cpu_prefix_cache_hit_rate", G, &["vllm:cpu_prefix_cache_hit_rate"]),
        m("cpu_cache_usage_perc", G, &["vllm:cpu_cache_usage_perc"]),
        m("requests_swapped", G, &["vllm:num_requests_swapped"]),
        m("params_best_of", H, &["vllm:request_params_best_of"]),
        m("avg_prompt_throughput", G, &["vllm:avg_prompt_throughput_toks_per_s"]),
        m("avg_generation_throughput", G, &["vllm:avg_generation_throughput_toks_per_s"]),
    ]),
    fam!("vllm.requests", "vLLM requests, generated tokens, per-request sizes", Vllm, None, NONE, [
        m("success", C, &["vllm:request_success"]),
        m("generation_tokens", C, &["vllm:generation_tokens"]),
        m("iteration_tokens", H, &["vllm:iteration_tokens_total"]),
        m("prompt_tokens_per_request", H, &["vllm:request_prompt_tokens"]),
        m("generation_tokens_per_request", H, &["vllm:request_generation_tokens"]),
        m("max_num_generation_tokens", H, &["vllm:request_max_num_generation_tokens"]),
        m("params_n", H, &["vllm:request_params_n"]),
        m("params_max_tokens", H, &["vllm:request_params_max_tokens"]),
        m("prefill_kv_computed_tokens", H, &["vllm:request_prefill_kv_computed_tokens"]),
        m("preemptions_per_request", H, &["vllm:request_num_preemptions"]),
        m("corrupted", C, &["vllm:corrupted_requests"]),
        m("watermark", C, &["vllm:watermark_requests"]),
    ]),
    fam!("vllm.mm_cache", "vLLM multimodal processor cache", Vllm, None, NONE, [
        m("queries", C, &["vllm:mm_cache_queries"]),
        m("hits", C, &["vllm:mm_cache_hits"]),
    ]),
    fam!("vllm.engine_state", "vLLM sleep state and LoRA adapters", Vllm, None, NONE, [
        m("sleep_state", G, &["vllm:engine_sleep_state"]),
        m("lora_requests", I, &["vllm:lora_requests_info"]),
    ]),
    fam!("vllm.mfu", "vLLM estimated FLOPs and memory traffic (opt-in)", Vllm, None, NONE, [
        m("flops", C, &["vllm:estimated_flops_per_gpu_total"]),
        m("read_bytes", C, &["vllm:estimated_read_bytes_per_gpu_total"]),
        m("write_bytes", C, &["vllm:estimated_write_bytes_per_gpu_total"]),
    ]),
    fam!("vllm.spec_decode", "vLLM speculative decoding", Vllm, None, NONE, [
        m("drafts", C, &["vllm:spec_decode_num_drafts"]),
        m("draft_tokens", C, &["vllm:spec_decode_num_draft_tokens"]),
        m("accepted_tokens", C, &["vllm:spec_decode_num_accepted_tokens"]),
        m("accepted_tokens_per_pos", C, &["vllm:spec_decode_num_accepted_tokens_per_pos"]),
    ]),
    // ---- SGLang ------------------------------------------------------------------------------
    fam!("sglang.queues", "SGLang running/queued requests and queue time", Sglang, None, SGLANG, [
        m("running", G, &["sglang:num_running_reqs"]),
        m("queued", G, &["sglang:num_queue_reqs"]),
        m("grammar_queued", G, &["sglang:num_grammar_queue_reqs"]),
        m("retracted", G, &["sglang:num_retracted_reqs"]),
        m("paused", G, &["sglang:num_paused_reqs"]),
        m("queue_time", H, &["sglang:queue_time_seconds", "sglang:queue_time_s"]),
    ]),
    fam!("sglang.token_usage", "SGLang KV pool usage", Sglang, None, SGLANG, [
        m("token_usage", G, &["sglang:token_usage"]),
        m("used_tokens", G, &["sglang:num_used_tokens"]),
        m("kv_available_tokens", G, &["sglang:kv_available_tokens"]),
        m("kv_evictable_tokens", G, &["sglang:kv_evictable_tokens"]),
        m("kv_used_tokens", G, &["sglang:kv_used_tokens"]),
        m("max_total_num_tokens", G, &["sglang:max_total_num_tokens"]),
        m("cache_config_info", I, &["sglang:cache_config_info"]),
    ]),
    fam!("sglang.cache_counters", "SGLang prompt and cached tokens (hit rate)", Sglang, None, SGLANG, [
        m("cache_hit_rate", G, &["sglang:cache_hit_rate"]),
        m("prompt_tokens", C, &["sglang:prompt_tokens"]),
        m("cached_tokens", C, &["sglang:cached_tokens"]),
        m("realtime_tokens", C, &["sglang:realtime_tokens"]),
        m("prefill_effective_tokens", C, &["sglang:prefill_effective_tokens"]),
    ]),
    fam!("sglang.radix_cache", "SGLang radix cache evictions", Sglang, None, NONE, [
        m("evicted_tokens", C, &["sglang:evicted_tokens"]),
        m("eviction_duration", H, &["sglang:eviction_duration_seconds"]),
    ]),
    fam!("sglang.hicache", "SGLang HiCache host tier", Sglang, Some(HiCache), NONE, [
        m("host_used_tokens", G, &["sglang:hicache_host_used_tokens"]),
        m("host_total_tokens", G, &["sglang:hicache_host_total_tokens"]),
        m("load_back_duration", H, &["sglang:load_back_duration_seconds"]),
        m("load_back_tokens", C, &["sglang:load_back_tokens"]),
        m("load_back_bytes", C, &["sglang:load_back_bytes"]),
        m("backup_duration", H, &["sglang:hicache_backup_duration_seconds"]),
        m("backup_tokens", C, &["sglang:hicache_backup_tokens"]),
        m("backup_bytes", C, &["sglang:hicache_backup_bytes"]),
        m("dropped_tokens", C, &["sglang:hicache_dropped_tokens"]),
    ]),
    fam!("sglang.hicache_storage", "SGLang HiCache L3 storage", Sglang, Some(HiCacheStorage), NONE, [
        m("prefetched_tokens", C, &["sglang:prefetched_tokens"]),
        m("backuped_tokens", C, &["sglang:backuped_tokens"]),
        m("prefetch_hit_tokens", C, &["sglang:storage_prefetch_hit_tokens"]),
        m("prefetch_unfulfilled_tokens", C, &["sglang:storage_prefetch_unfulfilled_tokens"]),
        m("prefetch_deferred_tokens", C, &["sglang:storage_prefetch_deferred_tokens"]),
        m("backup_dropped_tokens", C, &["sglang:hicache_backup_dropped_tokens"]),
        m("prefetch_aux_alloc_failed_tokens", C, &["sglang:hicache_prefetch_aux_alloc_failed_tokens"]),
        m("prefetch_pgs", H, &["sglang:prefetch_pgs"]),
        m("backup_pgs", H, &["sglang:backup_pgs"]),
        m("prefetch_bandwidth", H, &["sglang:prefetch_bandwidth"]),
        m("backup_bandwidth", H, &["sglang:backup_bandwidth"]),
    ]),
    fam!("sglang.kv_transfer", "SGLang disaggregated prefill queues and KV transfer", Sglang, Some(Pd), NONE, [
        m("prefill_bootstrap_queue", G, &["sglang:num_prefill_bootstrap_queue_reqs"]),
        m("prefill_inflight_queue", G, &["sglang:num_prefill_inflight_queue_reqs", "sglang:num_prefill_infight_queue_reqs"]),
        m("prefill_prealloc_queue", G, &["sglang:num_prefill_prealloc_queue_reqs"]),
        m("decode_prealloc_queue", G, &["sglang:num_decode_prealloc_queue_reqs"]),
        m("decode_transfer_queue", G, &["sglang:num_decode_transfer_queue_reqs"]),
        m("speed", H, &["sglang:kv_transfer_speed_gb_s"]),
        m("latency", H, &["sglang:kv_transfer_latency_ms"]),
        m("bootstrap", H, &["sglang:kv_transfer_bootstrap_ms"]),
        m("alloc", H, &["sglang:kv_transfer_alloc_ms"]),
        m("total_mb", H, &["sglang:kv_transfer_total_mb"]),
        m("bootstrap_failed", C, &["sglang:num_bootstrap_failed_reqs"]),
        m("transfer_failed", C, &["sglang:num_transfer_failed_reqs"]),
    ]),
    fam!("sglang.latency", "SGLang TTFT, ITL, end-to-end latency", Sglang, None, NONE, [
        m("ttft", H, &["sglang:time_to_first_token_seconds"]),
        m("itl", H, &["sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds"]),
        m("e2e", H, &["sglang:e2e_request_latency_seconds"]),
        m("tpot", H, &["sglang:request_time_per_output_token_seconds"]),
        m("per_stage", H, &["sglang:per_stage_req_latency_seconds"]),
    ]),
    fam!("sglang.requests", "SGLang requests, tokens, retractions, throughput", Sglang, None, NONE, [
        m("requests", C, &["sglang:num_requests"]),
        m("generation_tokens", C, &["sglang:generation_tokens"]),
        m("aborted", C, &["sglang:num_aborted_requests"]),
        m("retracted_requests", C, &["sglang:num_retracted_requests"]),
        m("retracted_input_tokens", C, &["sglang:num_retracted_input_tokens"]),
        m("retracted_output_tokens", C, &["sglang:num_retracted_output_tokens"]),
        m("prompt_tokens_histogram", H, &["sglang:prompt_tokens_histogram"]),
        m("uncached_prompt_tokens_histogram", H, &["sglang:uncached_prompt_tokens_histogram"]),
        m("generation_tokens_histogram", H, &["sglang:generation_tokens_histogram"]),
        m("gen_throughput", G, &["sglang:gen_throughput"]),
        m("utilization", G, &["sglang:utilization"]),
        m("cuda_graph_passes", C, &["sglang:cuda_graph_passes"]),
        m("is_cuda_graph", G, &["sglang:is_cuda_graph"]),
        m("func_latency", H, &["sglang:func_latency_seconds"]),
    ]),
    fam!("sglang.capacity", "SGLang static capacity facts", Sglang, None, NONE, [
        m("context_len", G, &["sglang:context_len"]),
        m("max_prefill_tokens", G, &["sglang:max_prefill_tokens"]),
        m("max_running_requests", G, &["sglang:max_running_requests"]),
        m("page_size", G, &["sglang:page_size"]),
        m("num_pages", G, &["sglang:num_pages"]),
        m("kv_cache_memory_gb", G, &["sglang:kv_cache_memory_usage_gb"]),
        m("weight_memory_gb", G, &["sglang:weight_memory_usage_gb"]),
    ]),
];
