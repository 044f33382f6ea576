//! Breakdowns by label: L2 adapters by `l2_name`, GPU transfers by `device`, chunks loaded by
//! `worker_id`, L0↔L1 throughput by `engine_id`. Each row keeps the label value as exported;
//! `null` means the series has no such label.

use super::figures::{Pair, counter, gauge, merged_histogram, pair};
use super::{Fig, Over};
use crate::catalog::{MetricRef, metric_ref};
use crate::store::{Series, TargetStore};

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

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Breakdowns {
    pub by_l2_name: Vec<ByL2Name>,
    pub by_device: Vec<ByDevice>,
    pub by_worker_id: Vec<ByWorker>,
    pub by_engine_id: Vec<ByEngine>,
}

/// Every value of `label` on the series of `metrics`, in first-seen order.
fn values(targets: &[&TargetStore], metrics: &[MetricRef], label: &str) -> Vec<Option<String>> {
    let mut out: Vec<Option<String>> = Vec::new();
    for t in targets {
        for &m in metrics {
            for s in t.series_of(m) {
                let v = s.label(label).map(str::to_string);
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
    }
    out
}

fn mean(targets: &[&TargetStore], w: f64, m: MetricRef, keep: &dyn Fn(&Series) -> bool) -> Fig {
    match merged_histogram(targets, w, m, Over::SinceStart, keep) {
        Err(e) => Fig::unknown(e),
        Ok(Some(h)) => h
            .mean()
            .map_or_else(|| Fig::unknown("no observations"), Fig::known),
        Ok(None) => Fig::unknown("no throughput histogram for this label value"),
    }
}

fn difference(a: Fig, b: Fig) -> Fig {
    match (a.0, b.0) {
        (Ok(a), Ok(b)) => Fig::known(a - b),
        (Err(e), _) | (_, Err(e)) => Fig::unknown(e),
    }
}

/// All breakdowns over the LMCache targets.
pub fn breakdowns(ts: &[&TargetStore], w: f64) -> Breakdowns {
    let l2c = |k| metric_ref("lmcache_mp.l2_counters", k);
    let l2_store = metric_ref("lmcache_mp.l1_l2_throughput", "store");
    let l2_load = metric_ref("lmcache_mp.l1_l2_throughput", "load");
    let l2_used = metric_ref("lmcache_mp.l2_usage", "used_bytes");
    let by_l2_name = values(
        ts,
        &[
            l2_used,
            l2c("store_completed"),
            l2c("load_completed"),
            l2_store,
            l2_load,
        ],
        "l2_name",
    )
    .into_iter()
    .flatten()
    .map(|name| {
        let keep = |s: &Series| s.label("l2_name") == Some(name.as_str());
        ByL2Name {
            used_bytes: gauge(ts, l2_used, keep, "L2 usage gauge"),
            store_requests: pair(
                ts,
                w,
                l2c("store_completed"),
                keep,
                "L2 store-completed counter",
            ),
            load_requests: pair(
                ts,
                w,
                l2c("load_completed"),
                keep,
                "L2 load-completed counter",
            ),
            store_throughput_gbs_mean: mean(ts, w, l2_store, &keep),
            load_throughput_gbs_mean: mean(ts, w, l2_load, &keep),
            l2_name: Some(name),
        }
    })
    .collect();

    let tr = |k| metric_ref("lmcache_mp.engine_transfers", k);
    let l0_store = metric_ref("lmcache_mp.l0_l1_throughput", "store");
    let l0_load = metric_ref("lmcache_mp.l0_l1_throughput", "load");
    let by_device = values(
        ts,
        &[
            tr("submitted_stores"),
            tr("submitted_retrieves"),
            l0_store,
            l0_load,
        ],
        "device",
    )
    .into_iter()
    .map(|device| {
        let keep = |s: &Series| s.label("device") == device.as_deref();
        let c = |k, what| counter(ts, w, tr(k), Over::SinceStart, keep, what);
        ByDevice {
            stores_in_flight: difference(
                c("submitted_stores", "submitted-store counter"),
                c("finished_stores", "finished-store counter"),
            ),
            retrieves_in_flight: difference(
                c("submitted_retrieves", "submitted-retrieve counter"),
                c("finished_retrieves", "finished-retrieve counter"),
            ),
            l0_l1_store_throughput_gbs_mean: mean(ts, w, l0_store, &keep),
            l0_l1_load_throughput_gbs_mean: mean(ts, w, l0_load, &keep),
            device,
        }
    })
    .collect();

    let loaded = tr("chunks_loaded");
    let by_worker_id = values(ts, &[loaded], "worker_id")
        .into_iter()
        .map(|worker_id| {
            let keep = |s: &Series| s.label("worker_id") == worker_id.as_deref();
            ByWorker {
                chunks_loaded: pair(ts, w, loaded, keep, "chunks-loaded counter"),
                worker_id,
            }
        })
        .collect();

    let by_engine_id = values(ts, &[l0_store, l0_load], "engine_id")
        .into_iter()
        .map(|engine_id| {
            let keep = |s: &Series| s.label("engine_id") == engine_id.as_deref();
            ByEngine {
                l0_l1_store_throughput_gbs_mean: mean(ts, w, l0_store, &keep),
                l0_l1_load_throughput_gbs_mean: mean(ts, w, l0_load, &keep),
                engine_id,
            }
        })
        .collect();
    Breakdowns {
        by_l2_name,
        by_device,
        by_worker_id,
        by_engine_id,
    }
}
