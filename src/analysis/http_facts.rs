//! Facts from the LMCache server's HTTP routes (`/status`, `/config`, `/version`,
//! `/healthcheck`): the eviction watermark, the prefetch queue, the EventBus queue size.

use super::Fig;
use crate::store::TargetStore;

/// What the routes said, each figure unknown with a reason when they did not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HttpFacts {
    /// `/version`, as the server wrote it.
    pub version: Option<String>,
    /// `true` for 200 from `/healthcheck`, `false` for another answer; `None` if not read.
    pub healthy: Option<bool>,
    pub eviction_watermark: Fig,
    pub eviction_ratio: Fig,
    pub prefetch_submission_queue: Fig,
    pub prefetch_pending_queue: Fig,
    pub prefetch_in_flight: Fig,
    pub prefetch_max_in_flight: Fig,
    /// `observability.max_queue_size` from `/config`.
    pub event_bus_queue_size: Fig,
}

fn num(v: Option<&serde_json::Value>, what: &str) -> Fig {
    v.and_then(serde_json::Value::as_f64).map_or_else(
        || Fig::unknown(format!("{what} not in the answer")),
        Fig::known,
    )
}

/// Facts from the first LMCache target whose routes were read.
pub fn facts(targets: &[TargetStore]) -> HttpFacts {
    let t = targets.iter().find(|t| !t.routes.is_empty());
    let route = |name: &str| t.and_then(|t| t.routes.get(name));
    let why = |name: &str| match route(name) {
        None => format!("/{name} not read (the LMCache HTTP routes are polled by watch and demo)"),
        Some(a) => a
            .error
            .clone()
            .unwrap_or_else(|| format!("/{name} answered HTTP {}", a.status.unwrap_or(0))),
    };
    let json = |name: &str| {
        route(name)
            .filter(|a| a.status == Some(200))
            .and_then(|a| a.json.as_ref())
    };
    let status = json("status");
    let sm = status.and_then(|s| s.get("storage_manager"));
    let evc = sm.and_then(|s| s.get("l1_eviction_controller"));
    let pf = sm.and_then(|s| s.get("prefetch_controller"));
    let from = |v: Option<&serde_json::Value>, key: &str, route_name: &str| match v {
        Some(obj) => num(obj.get(key), key),
        None => Fig::unknown(why(route_name)),
    };
    let config_obs = json("config").and_then(|c| c.get("observability"));
    HttpFacts {
        version: json("version").and_then(|v| v.as_str()).map(str::to_string),
        healthy: route("healthcheck")
            .and_then(|a| a.status)
            .map(|s| s == 200),
        eviction_watermark: from(evc, "trigger_watermark", "status"),
        eviction_ratio: from(evc, "eviction_ratio", "status"),
        prefetch_submission_queue: from(pf, "submission_queue_size", "status"),
        prefetch_pending_queue: from(pf, "pending_queue_size", "status"),
        prefetch_in_flight: from(pf, "in_flight_request_count", "status"),
        // 0.5.7 renamed max_in_flight to inflight_watermark.
        prefetch_max_in_flight: match pf {
            Some(p) => num(
                p.get("max_in_flight")
                    .or_else(|| p.get("inflight_watermark")),
                "max_in_flight",
            ),
            None => Fig::unknown(why("status")),
        },
        event_bus_queue_size: from(config_obs, "max_queue_size", "config"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RouteAnswer;

    fn answer(file: &str) -> RouteAnswer {
        let body = std::fs::read(format!(
            "{}/fixtures/lmcache-0.5.6-cpu-run1/http/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        RouteAnswer {
            time: 0.0,
            status: Some(200),
            json: serde_json::from_slice(&body).ok(),
            error: None,
        }
    }

    #[test]
    fn facts_from_the_real_0_5_6_routes() {
        let mut t = TargetStore::new("lm", 4);
        t.routes.insert("status", answer("status.json"));
        t.routes.insert("config", answer("config.json"));
        t.routes.insert("version", answer("version.json"));
        t.routes.insert("healthcheck", answer("healthcheck.json"));
        let f = facts(&[t]);
        assert_eq!(f.version.as_deref(), Some("0.5.6-g3e11e108"));
        assert_eq!(f.healthy, Some(true));
        assert_eq!(f.eviction_watermark.value(), Some(0.8));
        assert_eq!(f.eviction_ratio.value(), Some(0.2));
        assert_eq!(f.prefetch_max_in_flight.value(), Some(8.0));
        assert_eq!(f.prefetch_in_flight.value(), Some(0.0));
        assert_eq!(f.event_bus_queue_size.value(), Some(10000.0));
    }

    #[test]
    fn unread_routes_are_unknown_with_the_reason() {
        let f = facts(&[TargetStore::new("lm", 4)]);
        assert!(f.eviction_watermark.0.unwrap_err().contains("not read"));
        assert_eq!(f.healthy, None);
    }
}
