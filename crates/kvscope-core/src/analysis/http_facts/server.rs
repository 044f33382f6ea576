//! What an LMCache engineer reads first in `/status`: eviction policy, chunk size, L1 objects
//! and capacity, sessions, locked objects, L2 adapters with their type and health, pending
//! stores. Read from the answer as it is; each figure unknown, with why, when it is not there.

use serde_json::Value;

use crate::analysis::Fig;

/// The server facts one `/status` answer gives.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServerFacts {
    /// `LRU`, `IsolatedLRU` …
    pub eviction_policy: Option<String>,
    pub chunk_size: Fig,
    pub l1_objects: Fig,
    pub l1_capacity_bytes: Fig,
    pub active_sessions: Fig,
    /// Objects read- or write-locked in L1 now.
    pub locked_objects: Fig,
    /// Keys waiting for the store controller to write them to L2.
    pub pending_stores: Fig,
    pub l2_adapters: Vec<L2Adapter>,
}

/// One L2 adapter as `/status` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct L2Adapter {
    #[serde(rename = "type")]
    pub kind: String,
    pub healthy: Option<bool>,
    /// Where it keeps chunks (`base_path`), when it says.
    pub path: Option<String>,
}

/// A controller or manager under the storage manager: `name` (0.5.6), else the first of
/// `names` keyed by group (`_default`, later builds).
fn part<'a>(sm: &'a Value, name: &str) -> Option<&'a Value> {
    sm.get(name)
        .or_else(|| sm.get(format!("{name}s"))?.as_object()?.values().next())
}

/// A count in `v` (the routes' own checks: a number, not below zero), or why not (`why`
/// when `v` itself is absent).
fn count(v: Option<&Value>, key: &str, why: &str) -> Fig {
    match v {
        Some(o) => super::num(o.get(key), key),
        None => Fig::unknown(why),
    }
}

/// The facts of `/status` (`None`: not read, and `why`).
pub fn of(status: Option<&Value>, why: &str) -> ServerFacts {
    let sm = status.and_then(|s| s.get("storage_manager"));
    let l1 = sm.and_then(|s| part(s, "l1_manager"));
    let evc = sm.and_then(|s| part(s, "l1_eviction_controller"));
    let store = sm.and_then(|s| part(s, "store_controller"));
    let locked = count(l1, "write_locked_count", why)
        .with(&count(l1, "read_locked_count", why), |w, r| w + r);
    let text = |v: Option<&Value>, key: &str| {
        v.and_then(|o| o.get(key))
            .and_then(Value::as_str)
            .map(crate::sanitize::clean)
    };
    ServerFacts {
        eviction_policy: text(evc, "eviction_policy"),
        chunk_size: count(status, "chunk_size", why),
        l1_objects: count(l1, "total_object_count", why),
        l1_capacity_bytes: count(l1, "memory_total_bytes", why),
        active_sessions: count(status, "active_sessions", why),
        locked_objects: locked,
        pending_stores: count(store, "pending_keys_count", why),
        l2_adapters: sm
            .and_then(|s| s.get("l2_adapters"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .take(64)
                    .map(|a| L2Adapter {
                        kind: text(Some(a), "type").unwrap_or_else(|| "unknown".into()),
                        healthy: a.get("is_healthy").and_then(Value::as_bool),
                        path: text(Some(a), "base_path"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

impl ServerFacts {
    /// The strip the screen and the text report show: `LRU · chunk 256 · L1 23 objects of
    /// 1.00 GiB · 0 sessions · 0 locked · L2 FSL2Adapter ok · 0 pending stores`.
    pub fn strip(&self) -> String {
        let mut parts = vec![
            self.eviction_policy.clone().unwrap_or_else(|| "—".into()),
            format!("chunk {}", self.chunk_size.count()),
            format!(
                "L1 {} objects of {}",
                self.l1_objects.count(),
                self.l1_capacity_bytes.bytes()
            ),
            format!("{} sessions", self.active_sessions.count()),
            format!("{} locked", self.locked_objects.count()),
        ];
        if self.l2_adapters.is_empty() {
            parts.push("no L2 adapter".into());
        }
        for a in &self.l2_adapters {
            let health = match a.healthy {
                Some(true) => "ok",
                Some(false) => "UNHEALTHY",
                None => "health unknown",
            };
            parts.push(format!("L2 {} {health}", a.kind));
        }
        parts.push(format!("{} pending stores", self.pending_stores.count()));
        parts.join(" · ")
    }
}

#[cfg(test)]
mod tests {
    /// The real 0.5.6 `/status` after the workload.
    #[test]
    fn the_real_status_gives_every_fact() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lmcache-0.5.6-cpu-run1/http/status.json"
        ))
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let f = super::of(Some(&v), "not read");
        assert_eq!(
            f.strip(),
            "LRU · chunk 256 · L1 23 objects of 1.00 GiB · 0 sessions · 0 locked · L2 FSL2Adapter ok · 0 pending stores"
        );
        assert_eq!(f.l2_adapters[0].path.as_deref(), Some("/srv/lmc/l2"));
        let none = super::of(None, "/status not read");
        assert_eq!(none.chunk_size.0, Err("/status not read".into()));
    }
}
