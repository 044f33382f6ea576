//! Breakdowns by label: L2 adapters by `l2_name`, GPU transfers by `device`, chunks loaded by
//! `worker_id`, L0↔L1 throughput by `engine_id`. Each row keeps the label value as exported;
//! `null` means the series has no such label, or an empty one (the same in Prometheus).

use super::aggregate::{Groups, Pair, View, counter, gauge, mean, pair};
use super::{Fig, Over};
use crate::catalog::MetricRef;
use crate::metric;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ByL2Name {
    pub l2_name: Option<String>,
    pub used_bytes: Fig,
    pub store_requests: Pair,
    pub load_requests: Pair,
    pub store_throughput_gbs_mean: Fig,
    pub load_throughput_gbs_mean: Fig,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ByDevice {
    pub device: Option<String>,
    /// Stores submitted to the device stream and not yet finished (since start).
    pub stores_in_flight: Fig,
    pub retrieves_in_flight: Fig,
    pub l0_l1_store_throughput_gbs_mean: Fig,
    pub l0_l1_load_throughput_gbs_mean: Fig,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ByWorker {
    pub worker_id: Option<String>,
    pub chunks_loaded: Pair,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ByEngine {
    pub engine_id: Option<String>,
    pub l0_l1_store_throughput_gbs_mean: Fig,
    pub l0_l1_load_throughput_gbs_mean: Fig,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Breakdowns {
    pub by_l2_name: Vec<ByL2Name>,
    pub by_device: Vec<ByDevice>,
    pub by_worker_id: Vec<ByWorker>,
    pub by_engine_id: Vec<ByEngine>,
}

/// All breakdowns over the LMCache targets, each grouped in one pass over its series.
pub fn breakdowns(views: &[View]) -> Breakdowns {
    Breakdowns {
        by_l2_name: by_l2_name(views),
        by_device: by_device(views),
        by_worker_id: by_worker_id(views),
        by_engine_id: by_engine_id(views),
    }
}

/// The L1→L0 and L0→L1 throughput histograms, grouped by device and by engine.
const L0_STORE: MetricRef = metric!("lmcache_mp.l0_l1_throughput", "store");
const L0_LOAD: MetricRef = metric!("lmcache_mp.l0_l1_throughput", "load");

fn by_l2_name(views: &[View]) -> Vec<ByL2Name> {
    let l2_metrics = [
        metric!("lmcache_mp.l2_usage", "used_bytes"),
        metric!("lmcache_mp.l2_counters", "store_completed"),
        metric!("lmcache_mp.l2_counters", "load_completed"),
        metric!("lmcache_mp.l1_l2_throughput", "store"),
        metric!("lmcache_mp.l1_l2_throughput", "load"),
    ];
    let g = Groups::by(views, &l2_metrics, "l2_name");
    g.values
        .iter()
        .enumerate()
        // Series without an l2_name belong to no adapter.
        .filter_map(|(i, name)| Some((i, (*name)?)))
        .map(|(i, name)| ByL2Name {
            l2_name: Some(name.to_string()),
            used_bytes: gauge(g.sel(0, i), "L2 usage gauge"),
            store_requests: pair(g.sel(1, i), "L2 store-completed counter"),
            load_requests: pair(g.sel(2, i), "L2 load-completed counter"),
            store_throughput_gbs_mean: mean(g.sel(3, i)),
            load_throughput_gbs_mean: mean(g.sel(4, i)),
        })
        .collect()
}

fn by_device(views: &[View]) -> Vec<ByDevice> {
    let device_metrics = [
        metric!("lmcache_mp.engine_transfers", "submitted_stores"),
        metric!("lmcache_mp.engine_transfers", "submitted_retrieves"),
        L0_STORE,
        L0_LOAD,
        metric!("lmcache_mp.engine_transfers", "finished_stores"),
        metric!("lmcache_mp.engine_transfers", "finished_retrieves"),
    ];
    let g = Groups::by(views, &device_metrics, "device");
    // Devices come from the first four metrics only (as exported); finished counters follow.
    (0..g.values.len())
        .filter(|&i| (0..4).any(|m| g.sel(m, i).chosen()))
        .map(|i| {
            let since_start = |m: usize, what| counter(g.sel(m, i), Over::SinceStart, what);
            ByDevice {
                device: g.values[i].map(str::to_string),
                stores_in_flight: since_start(0, "submitted-store counter")
                    .with(&since_start(4, "finished-store counter"), |a, b| a - b),
                retrieves_in_flight: since_start(1, "submitted-retrieve counter")
                    .with(&since_start(5, "finished-retrieve counter"), |a, b| a - b),
                l0_l1_store_throughput_gbs_mean: mean(g.sel(2, i)),
                l0_l1_load_throughput_gbs_mean: mean(g.sel(3, i)),
            }
        })
        .collect()
}

fn by_worker_id(views: &[View]) -> Vec<ByWorker> {
    let g = Groups::by(
        views,
        &[metric!("lmcache_mp.engine_transfers", "chunks_loaded")],
        "worker_id",
    );
    g.values
        .iter()
        .enumerate()
        .map(|(i, worker_id)| ByWorker {
            worker_id: worker_id.map(str::to_string),
            chunks_loaded: pair(g.sel(0, i), "chunks-loaded counter"),
        })
        .collect()
}

fn by_engine_id(views: &[View]) -> Vec<ByEngine> {
    let g = Groups::by(views, &[L0_STORE, L0_LOAD], "engine_id");
    g.values
        .iter()
        .enumerate()
        .map(|(i, engine_id)| ByEngine {
            engine_id: engine_id.map(str::to_string),
            l0_l1_store_throughput_gbs_mean: mean(g.sel(0, i)),
            l0_l1_load_throughput_gbs_mean: mean(g.sel(1, i)),
        })
        .collect()
}
