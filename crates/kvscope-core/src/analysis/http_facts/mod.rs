//! Facts from the LMCache server's HTTP routes (`/status`, `/config`, `/version`,
//! `/healthcheck`): the eviction watermark, the prefetch queue, the EventBus queue size.

mod server;

pub use server::{L2Adapter, ServerFacts};

use super::Fig;
use crate::store::TargetStore;
use crate::vocab::Route;

/// What the routes said, each figure unknown with a reason when they did not.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HttpFacts {
    /// The target these facts belong to (`None` when no target's routes were read).
    pub target: Option<String>,
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
    /// The share of L1 in-flight L2 prefetches may stage before new ones wait (LMCache
    /// 0.5.7's `inflight_watermark`, which replaced the count `max_in_flight`).
    pub prefetch_inflight_watermark: Fig,
    /// `observability.max_queue_size` from `/config`.
    pub event_bus_queue_size: Fig,
    /// `observability.metrics_sample_rate` from `/config`: what sampled histograms are scaled by.
    pub metrics_sample_rate: Fig,
    /// Tracing and trace recording as `/config` sets them (`None`: `/config` not read).
    pub observability: Option<Observability>,
    /// Thread names from the `/threads` stack dump (empty when not read).
    pub threads: Vec<String>,
    /// Whether a thread named `EventBus` runs (`None` when `/threads` was not read).
    pub event_bus_thread: Option<bool>,
    /// `/periodic-threads-health`: `Some(true)` when the server says its critical and high
    /// background threads run on time.
    pub periodic_healthy: Option<bool>,
    /// The periodic threads the server calls unhealthy, with how long ago each last ran.
    pub periodic_unhealthy: Vec<String>,
    /// Every route of the first LMCache target: what was read, what changed, what is skipped.
    pub routes: Vec<RouteRow>,
    /// `/env` as read with `--allow-env`, already redacted at the source.
    pub env: Vec<(String, String)>,
    /// What `/status` says of the server: policy, chunk size, L1, sessions, L2 adapters.
    pub server: server::ServerFacts,
}

/// `/config`'s `observability` settings that say where traces and spans go.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Observability {
    pub tracing_enabled: Option<bool>,
    pub otlp_endpoint: Option<String>,
    /// The `.lct` recording level (`storage`, `events`, or off).
    pub trace_level: Option<String>,
    pub trace_output: Option<String>,
    /// Where the lookup-hash log goes (`lookup_hash_log.output_dir`), when it is on.
    pub lookup_hash_dir: Option<String>,
}

/// One LMCache HTTP route as the TUI lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RouteRow {
    pub name: &'static str,
    pub path: &'static str,
    /// `HTTP 200`, the error, or `skipped: why`.
    pub answer: String,
    pub ok: bool,
    /// When it was last read; `None` when skipped.
    pub read_at: Option<f64>,
    /// When its answer last changed, if it has.
    pub changed_at: Option<f64>,
}

/// Thread names from a Python `/threads` dump (`Thread: <Thread(NAME, started …)>` lines).
fn thread_names(dump: &str) -> Vec<String> {
    dump.lines()
        .filter_map(|l| l.strip_prefix("Thread: <"))
        .filter_map(|l| {
            let inner = &l[l.find('(')? + 1..];
            let name = match inner.find(", started") {
                Some(i) => &inner[..i],
                // `<Thread(name, initial)>` and the like.
                None => inner.split(", ").next()?.trim_end_matches(")>"),
            };
            Some(name.to_string())
        })
        .collect()
}

/// A number from a route's answer. Every fact read here is a fraction (`…watermark`,
/// `…ratio`: 0 to 1) or a count or size (not negative); anything else is unknown, with why.
pub(super) fn num(v: Option<&serde_json::Value>, what: &str) -> Fig {
    let Some(x) = v.and_then(serde_json::Value::as_f64) else {
        return Fig::unknown(format!("{what} not in the answer"));
    };
    let fraction = what.ends_with("watermark") || what.ends_with("ratio");
    if fraction && !(0.0..=1.0).contains(&x) {
        Fig::unknown(format!("{what} is {x}, not a fraction from 0 to 1"))
    } else if x < 0.0 {
        Fig::unknown(format!("{what} is {x}, below zero"))
    } else {
        Fig::known(x)
    }
}

impl HttpFacts {
    /// L2 prefetches in flight against their limit, as `/status` says it: `3 of 64` (the count
    /// `max_in_flight`, before 0.5.7), `3, staging up to 50.0% of L1` (`inflight_watermark`,
    /// 0.5.7 on), or `3 of —` when neither was read.
    pub fn prefetch_in_flight_line(&self) -> String {
        let now = self.prefetch_in_flight.count();
        match (
            self.prefetch_max_in_flight.value(),
            self.prefetch_inflight_watermark.value(),
        ) {
            (None, Some(_)) => format!(
                "{now}, staging up to {} of L1",
                self.prefetch_inflight_watermark.percent()
            ),
            _ => format!("{now} of {}", self.prefetch_max_in_flight.count()),
        }
    }
}

/// `/version`'s string, when the route answered 200 with one.
pub fn version_of(t: &TargetStore) -> Option<String> {
    let a = t
        .routes
        .get(&Route::Version)
        .filter(|a| a.status == Some(200))?;
    Some(a.json.as_ref()?.as_str()?.to_string())
}

/// Facts of a target whose routes were never read.
pub fn unread() -> HttpFacts {
    facts(None)
}

/// Facts from one target's routes.
pub fn of(t: &TargetStore) -> HttpFacts {
    facts(Some(t))
}

fn facts(t: Option<&TargetStore>) -> HttpFacts {
    let route = |r: Route| t.and_then(|t| t.routes.get(&r));
    let why = |r: Route| {
        let name = r.name();
        match route(r) {
            None => {
                format!("/{name} not read (the LMCache HTTP routes are polled by watch and demo)")
            }
            Some(a) => a
                .error
                .clone()
                .unwrap_or_else(|| format!("/{name} answered HTTP {}", a.status.unwrap_or(0))),
        }
    };
    let json = |r: Route| {
        route(r)
            .filter(|a| a.status == Some(200))
            .and_then(|a| a.json.as_ref())
    };
    let status = json(Route::Status);
    let sm = status.and_then(|s| s.get("storage_manager"));
    let evc = sm.and_then(|s| s.get("l1_eviction_controller"));
    let pf = sm.and_then(|s| s.get("prefetch_controller"));
    let from = |v: Option<&serde_json::Value>, key: &str, r: Route| match v {
        Some(obj) => num(obj.get(key), key),
        None => Fig::unknown(why(r)),
    };
    let config_obs = json(Route::Config).and_then(|c| c.get("observability"));
    let health = json(Route::PeriodicThreadsHealth);
    let threads = route(Route::Threads)
        .filter(|a| a.status == Some(200))
        .and_then(|a| a.text.as_deref())
        .map(thread_names)
        .unwrap_or_default();
    HttpFacts {
        target: t.filter(|t| !t.routes.is_empty()).map(|t| t.name.clone()),
        version: t.and_then(version_of),
        healthy: route(Route::Healthcheck)
            .and_then(|a| a.status)
            .map(|s| s == 200),
        eviction_watermark: from(evc, "trigger_watermark", Route::Status),
        eviction_ratio: from(evc, "eviction_ratio", Route::Status),
        prefetch_submission_queue: from(pf, "submission_queue_size", Route::Status),
        prefetch_pending_queue: from(pf, "pending_queue_size", Route::Status),
        prefetch_in_flight: from(pf, "in_flight_request_count", Route::Status),
        // 0.5.7 bounds prefetches by `inflight_watermark`, a share of L1 staged (0.5 by
        // default), not by a count: it is not a maximum number in flight.
        prefetch_max_in_flight: match pf {
            Some(p)
                if p.get("max_in_flight").is_none() && p.get("inflight_watermark").is_some() =>
            {
                Fig::unknown(
                    "this build bounds prefetches by inflight_watermark, a share of L1 they may \
                     stage (LMCache 0.5.7), not by a count",
                )
            }
            Some(p) => num(p.get("max_in_flight"), "max_in_flight"),
            None => Fig::unknown(why(Route::Status)),
        },
        prefetch_inflight_watermark: from(pf, "inflight_watermark", Route::Status),
        event_bus_queue_size: from(config_obs, "max_queue_size", Route::Config),
        metrics_sample_rate: from(config_obs, "metrics_sample_rate", Route::Config),
        observability: config_obs.map(observability),
        event_bus_thread: (!threads.is_empty()).then(|| threads.iter().any(|t| t == "EventBus")),
        threads,
        periodic_healthy: health.and_then(|h| h.get("healthy")?.as_bool()),
        periodic_unhealthy: health.map(unhealthy_threads).unwrap_or_default(),
        routes: t.map(route_rows).unwrap_or_default(),
        env: json(Route::Env).map(env_vars).unwrap_or_default(),
        server: server::of(status, &why(Route::Status)),
    }
}

/// `/config`'s `observability` settings that say where traces and spans go.
fn observability(o: &serde_json::Value) -> Observability {
    let text = |k: &str| {
        o.get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    Observability {
        tracing_enabled: o.get("tracing_enabled").and_then(|v| v.as_bool()),
        otlp_endpoint: text("otlp_endpoint"),
        trace_level: text("trace_level"),
        trace_output: text("trace_output"),
        lookup_hash_dir: o
            .get("lookup_hash_log")
            .and_then(|l| l.get("output_dir"))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    }
}

/// One row per route read or skipped, in route order.
fn route_rows(t: &TargetStore) -> Vec<RouteRow> {
    Route::ALL
        .iter()
        .filter_map(|r| {
            let a = t.routes.get(r)?;
            let (answer, ok) = match (a.skipped, &a.error, a.status) {
                (Some(why), _, _) => (format!("skipped: {}", why.as_str()), true),
                (None, Some(e), _) => (e.clone(), false),
                (None, None, Some(s)) => (format!("HTTP {s}"), s == 200),
                (None, None, None) => ("no answer".to_string(), false),
            };
            Some(RouteRow {
                name: r.name(),
                path: a.path,
                answer,
                ok,
                read_at: a.skipped.is_none().then_some(a.time),
                changed_at: a.changed,
            })
        })
        .collect()
}

/// `/periodic-threads-health`'s unhealthy threads: name, and when each last ran.
fn unhealthy_threads(health: &serde_json::Value) -> Vec<String> {
    let Some(list) = health.get("unhealthy_threads").and_then(|l| l.as_array()) else {
        return Vec::new();
    };
    list.iter()
        .map(|u| {
            let name = u.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            match u.get("last_run_ago").and_then(|v| v.as_f64()) {
                Some(ago) => format!("{name} (last ran {ago:.0}s ago)"),
                None => name.to_string(),
            }
        })
        .collect()
}

/// `/env`'s variables (already redacted when read); a value that is not a string stays hidden.
fn env_vars(env: &serde_json::Value) -> Vec<(String, String)> {
    let Some(vars) = env.as_object() else {
        return Vec::new();
    };
    vars.iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("<redacted>").to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RouteAnswer;

    fn answer(file: &str) -> RouteAnswer {
        let body = std::fs::read(format!(
            "{}/../../fixtures/lmcache-0.5.6-cpu-run1/http/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        RouteAnswer {
            status: Some(200),
            json: serde_json::from_slice(&body).ok(),
            ..RouteAnswer::default()
        }
    }

    #[test]
    fn facts_from_the_real_0_5_6_routes() {
        let mut t = TargetStore::new("lm", 4);
        t.routes.insert(Route::Status, answer("status.json"));
        t.routes.insert(Route::Config, answer("config.json"));
        t.routes.insert(Route::Version, answer("version.json"));
        t.routes
            .insert(Route::Healthcheck, answer("healthcheck.json"));
        let f = of(&t);
        assert_eq!(f.version.as_deref(), Some("0.5.6-g3e11e108"));
        assert_eq!(f.healthy, Some(true));
        assert_eq!(f.eviction_watermark.value(), Some(0.8));
        assert_eq!(f.eviction_ratio.value(), Some(0.2));
        assert_eq!(f.prefetch_max_in_flight.value(), Some(8.0));
        assert_eq!(f.prefetch_in_flight.value(), Some(0.0));
        assert_eq!(f.event_bus_queue_size.value(), Some(10000.0));
        assert!(f.threads.is_empty() && f.periodic_healthy.is_none());
        assert_eq!(f.routes.len(), 4);
    }

    #[test]
    fn threads_health_and_skips_from_the_real_0_5_6_routes() {
        let mut t = TargetStore::new("lm", 4);
        let dump = std::fs::read_to_string(format!(
            "{}/../../fixtures/lmcache-0.5.6-cpu-run1/http/threads.txt",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        t.routes.insert(
            Route::Threads,
            RouteAnswer {
                path: "/threads",
                status: Some(200),
                text: Some(dump),
                time: 5.0,
                changed: Some(4.0),
                ..RouteAnswer::default()
            },
        );
        t.routes.insert(
            Route::PeriodicThreadsHealth,
            answer("periodic-threads-health.json"),
        );
        t.routes.insert(
            Route::Env,
            RouteAnswer {
                path: "/env",
                skipped: Some(crate::vocab::SkipReason::NeedsAllowEnv),
                ..RouteAnswer::default()
            },
        );
        let f = of(&t);
        assert_eq!(f.threads.len(), 17);
        assert_eq!(f.threads[0], "MainThread");
        assert_eq!(f.event_bus_thread, Some(true));
        assert!(f.threads.iter().any(|n| n == "Thread-1 (eviction_loop)"));
        assert_eq!(f.periodic_healthy, Some(true));
        assert!(f.periodic_unhealthy.is_empty());
        let env = f.routes.iter().find(|r| r.name == "env").unwrap();
        assert_eq!(
            env.answer,
            "skipped: it can hold secrets; --allow-env reads it (values redacted)"
        );
        assert_eq!(env.read_at, None);
        let threads = f.routes.iter().find(|r| r.name == "threads").unwrap();
        assert_eq!(
            (threads.read_at, threads.changed_at),
            (Some(5.0), Some(4.0))
        );
    }

    #[test]
    fn unhealthy_periodic_threads_are_named_hand_written() {
        // Hand-written: the shape of lmcache.md's /periodic-threads-health with one bad thread.
        let mut t = TargetStore::new("lm", 4);
        t.routes.insert(
            Route::PeriodicThreadsHealth,
            RouteAnswer {
                status: Some(200),
                json: Some(serde_json::json!({"healthy": false, "unhealthy_count": 1,
                    "unhealthy_threads": [{"name": "l2-store", "level": "critical",
                    "last_run_ago": 93.2, "interval": 5.0}]})),
                ..RouteAnswer::default()
            },
        );
        let f = of(&t);
        assert_eq!(f.periodic_healthy, Some(false));
        assert_eq!(f.periodic_unhealthy, ["l2-store (last ran 93s ago)"]);
    }

    #[test]
    fn out_of_range_answers_are_unknown_hand_written() {
        // Hand-written hostile /status values.
        let mut t = TargetStore::new("lm", 4);
        t.routes.insert(
            Route::Status,
            RouteAnswer {
                status: Some(200),
                json: Some(serde_json::json!({"storage_manager": {
                    "l1_eviction_controller": {"trigger_watermark": 80, "eviction_ratio": -0.2},
                    "prefetch_controller": {"in_flight_request_count": -3, "max_in_flight": 1e300}}})),
                ..RouteAnswer::default()
            },
        );
        let f = of(&t);
        assert!(
            f.eviction_watermark
                .0
                .unwrap_err()
                .contains("not a fraction")
        );
        assert!(f.eviction_ratio.0.unwrap_err().contains("not a fraction"));
        assert!(f.prefetch_in_flight.0.unwrap_err().contains("below zero"));
        assert_eq!(f.prefetch_max_in_flight.value(), Some(1e300));
    }

    #[test]
    fn unread_routes_are_unknown_with_the_reason() {
        let f = of(&TargetStore::new("lm", 4));
        assert!(f.eviction_watermark.0.unwrap_err().contains("not read"));
        assert_eq!(f.healthy, None);
    }
}
