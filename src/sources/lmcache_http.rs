//! The LMCache MP server's HTTP routes, read-only by construction: requests are built from the
//! [`Route`] enum, which only names safe GET routes. Which spelling a server uses (0.5.6's
//! `/status`, older builds' `/api/status`) is discovered from `/openapi.json`.

use std::time::Duration;

use tokio::sync::mpsc;

use super::http;
use crate::vocab::{Event, Flavor, Route, SkipReason, TargetRef};

/// Read every interval (cheap, and what changes); the others at start, every
/// [`SLOW_EVERY`] and whenever the server comes back after failing its health check.
fn fast(route: Route) -> bool {
    matches!(
        route,
        Route::Healthcheck | Route::Status | Route::PeriodicThreadsHealth
    )
}

/// How often the slow routes (version, config, threads, env) are read again to notice a change.
pub const SLOW_EVERY: Duration = Duration::from_secs(60);

/// Options for the route poller.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteOptions {
    /// `--allow-env`: read `/env` (values redacted before they leave this module).
    pub allow_env: bool,
}

/// Bodies above this are refused.
const ROUTE_LIMIT: usize = 2 << 20;

/// What an `/openapi.json` document says: the flavor and the paths the server offers.
pub fn read_openapi(body: &[u8]) -> Option<(Flavor, Vec<String>)> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let paths = doc.get("paths")?.as_object()?;
    let flavor = if paths.contains_key("/status") {
        Flavor::Current
    } else if paths.contains_key("/api/status") {
        Flavor::Legacy
    } else {
        return None;
    };
    Some((flavor, paths.keys().cloned().collect()))
}

/// Environment variables whose values help a diagnosis and are shown unless their name looks
/// secret: cache, engine and transport settings, the GPUs, and the hash seed (a differing
/// `PYTHONHASHSEED` between processes breaks prefix hashing).
const ENV_SHOWN_PREFIXES: &[&str] = &["LMCACHE_", "VLLM_", "SGLANG_", "NCCL_", "UCX_", "NIXL_"];
const ENV_SHOWN_NAMES: &[&str] = &["PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS"];
/// `/env` with every value replaced by `<redacted>` except diagnostic, non-secret-looking
/// variables. A body that is not a JSON object keeps nothing but its size.
pub fn redact_env(body: &[u8]) -> Vec<u8> {
    let Ok(serde_json::Value::Object(vars)) = serde_json::from_slice(body) else {
        return serde_json::to_vec(&serde_json::json!({
            "<unreadable>": format!("<redacted: {} bytes that are not a JSON object>", body.len())
        }))
        .unwrap_or_default();
    };
    let shown = |name: &str| {
        let upper = name.to_ascii_uppercase();
        (ENV_SHOWN_NAMES.contains(&upper.as_str())
            || ENV_SHOWN_PREFIXES.iter().any(|p| upper.starts_with(p)))
            && !crate::sanitize::looks_secret(&upper)
    };
    let out: serde_json::Map<String, serde_json::Value> = vars
        .into_iter()
        .map(|(k, v)| {
            let v = if shown(&k) && v.is_string() {
                v
            } else {
                serde_json::Value::String("<redacted>".into())
            };
            (k, v)
        })
        .collect();
    serde_json::to_vec(&out).unwrap_or_default()
}

async fn fetch(
    client: &reqwest::Client,
    metrics: &http::TargetUrl,
    route: Route,
    flavor: Flavor,
) -> Result<(u16, Vec<u8>), String> {
    let url = metrics.route(route.path(flavor));
    http::get_any(client, &url, "application/json", ROUTE_LIMIT)
        .await
        .map(|(s, b)| (s, b.bytes))
        .map_err(|e| e.to_string())
}

/// Discovers the flavor and the offered routes, then reads the fast routes every interval and
/// the slow ones at start, every [`SLOW_EVERY`] and after the health check recovers. Routes the
/// server does not offer, and `/env` without `--allow-env`, are reported as skipped.
pub async fn run(
    target: TargetRef,
    metrics: http::TargetUrl,
    interval: Duration,
    options: RouteOptions,
    client: reqwest::Client,
    tx: mpsc::Sender<Event>,
) {
    let reader = Reader::new(target, metrics, client, tx);
    // Each step returns `None` once nobody listens any more.
    let Some((flavor, offered)) = reader.discover(interval).await else {
        return;
    };
    let Some(polled) = reader
        .announce_skips(flavor, offered.as_deref(), options)
        .await
    else {
        return;
    };
    reader.poll(flavor, &polled, interval).await;
}

/// Reads every route once (`report --routes`): the flavor and the offered routes, the skips,
/// then each route kvscope reads. One discovery attempt: a server without routes is said
/// once, as a failed `/openapi.json` read.
pub async fn read_once(
    target: TargetRef,
    metrics: http::TargetUrl,
    options: RouteOptions,
    client: reqwest::Client,
    tx: mpsc::Sender<Event>,
) {
    let reader = Reader::new(target, metrics, client, tx);
    let (flavor, offered) = match reader.discover_once().await {
        Ok(found) => found,
        Err(failed) => {
            let _ = reader
                .send(Route::OpenApi, Flavor::Current, Err(failed))
                .await;
            return;
        }
    };
    let Some(polled) = reader
        .announce_skips(flavor, offered.as_deref(), options)
        .await
    else {
        return;
    };
    for route in polled {
        if reader.read(route, flavor).await.is_none() {
            return;
        }
    }
}

/// One LMCache target's route reader: where to ask, how, and where to tell.
struct Reader {
    target: TargetRef,
    metrics: http::TargetUrl,
    client: reqwest::Client,
    tx: mpsc::Sender<Event>,
}

impl Reader {
    fn new(
        target: TargetRef,
        metrics: http::TargetUrl,
        client: reqwest::Client,
        tx: mpsc::Sender<Event>,
    ) -> Reader {
        Reader {
            target,
            metrics,
            client,
            tx,
        }
    }

    /// Reads a route and sends its answer; `None` when nobody listens. Returns the status.
    async fn read(&self, route: Route, flavor: Flavor) -> Option<Option<u16>> {
        let mut r = fetch(&self.client, &self.metrics, route, flavor).await;
        if route == Route::Env
            && let Ok((_, body)) = &mut r
        {
            *body = redact_env(body);
        }
        let status = r.as_ref().ok().map(|(s, _)| *s);
        self.send(route, flavor, r).await?;
        Some(status)
    }

    async fn send(
        &self,
        route: Route,
        flavor: Flavor,
        mut result: Result<(u16, Vec<u8>), String>,
    ) -> Option<()> {
        match &mut result {
            Ok((_, body)) => crate::sanitize::scrub_bytes(body),
            Err(why) => *why = crate::sanitize::scrub(why).into_owned(),
        }
        let e = Event::Route {
            target: self.target,
            route,
            flavor,
            time: crate::timefmt::now(),
            result,
        };
        self.tx.send(e).await.ok()
    }

    /// The flavor and, when `/openapi.json` lists them, the offered paths: openapi first;
    /// without it, whichever health route answers; retried every five intervals until one does.
    async fn discover(&self, interval: Duration) -> Option<(Flavor, Option<Vec<String>>)> {
        loop {
            match self.discover_once().await {
                Ok(found) => return Some(found),
                Err(failed) => {
                    self.send(Route::OpenApi, Flavor::Current, Err(failed))
                        .await?;
                }
            }
            tokio::time::sleep(interval * 5).await;
        }
    }

    /// One attempt at [`Reader::discover`]: the flavor and offered paths, or why not.
    async fn discover_once(&self) -> Result<(Flavor, Option<Vec<String>>), String> {
        let r = fetch(&self.client, &self.metrics, Route::OpenApi, Flavor::Current).await;
        if let Some(found) = r
            .as_ref()
            .ok()
            .filter(|(s, _)| *s == 200)
            .and_then(|(_, b)| read_openapi(b))
        {
            return Ok((found.0, Some(found.1)));
        }
        for f in [Flavor::Current, Flavor::Legacy] {
            let health = fetch(&self.client, &self.metrics, Route::Healthcheck, f).await;
            if matches!(health, Ok((200 | 503, _))) {
                return Ok((f, None));
            }
        }
        Err(match r {
            Err(e) => e,
            Ok(_) => "no LMCache HTTP routes found".into(),
        })
    }

    /// Reports the routes that will not be read and why; returns the ones that will.
    async fn announce_skips(
        &self,
        flavor: Flavor,
        offered: Option<&[String]>,
        options: RouteOptions,
    ) -> Option<Vec<Route>> {
        let mut polled = Vec::new();
        for route in Route::ALL.into_iter().filter(|r| *r != Route::OpenApi) {
            let path = route.path(flavor);
            let reason = if route == Route::Env && !options.allow_env {
                SkipReason::NeedsAllowEnv
            } else if offered.is_some_and(|paths| !paths.iter().any(|p| p == path)) {
                SkipReason::NotOffered
            } else {
                polled.push(route);
                continue;
            };
            let e = Event::RouteSkipped {
                target: self.target,
                route,
                flavor,
                time: crate::timefmt::now(),
                reason,
            };
            self.tx.send(e).await.ok()?;
        }
        Some(polled)
    }

    /// Reads the fast routes every interval and the slow ones when due, until nobody listens.
    async fn poll(&self, flavor: Flavor, polled: &[Route], interval: Duration) -> Option<()> {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut slow_due = tokio::time::Instant::now();
        let mut was_healthy = true;
        loop {
            tick.tick().await;
            let mut healthy = was_healthy;
            for &route in polled.iter().filter(|r| fast(**r)) {
                let status = self.read(route, flavor).await?;
                if route == Route::Healthcheck {
                    healthy = status == Some(200);
                }
            }
            // Back after failing: it may be a new process with a new version or config.
            if (healthy && !was_healthy) || tokio::time::Instant::now() >= slow_due {
                for &route in polled.iter().filter(|r| !fast(**r)) {
                    self.read(route, flavor).await?;
                }
                slow_due = tokio::time::Instant::now() + SLOW_EVERY;
            }
            was_healthy = healthy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavor_from_the_real_openapi_document() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/lmcache-0.5.6-cpu-run1/http/openapi.json"
        ))
        .unwrap();
        let flavor = |b: &[u8]| read_openapi(b).map(|(f, _)| f);
        assert_eq!(flavor(&body), Some(Flavor::Current));
        assert_eq!(
            flavor(br#"{"paths":{"/api/status":{}}}"#),
            Some(Flavor::Legacy)
        );
        assert_eq!(flavor(b"not json"), None);
        let (_, paths) = read_openapi(&body).unwrap();
        for r in Route::ALL.into_iter().filter(|r| *r != Route::OpenApi) {
            assert!(
                paths.iter().any(|p| p == r.path(Flavor::Current)),
                "0.5.6 offers {}",
                r.path(Flavor::Current)
            );
        }
    }

    #[test]
    fn env_keeps_only_diagnostic_values_from_the_real_capture() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/lmcache-0.5.6-cpu-run1/http/env.txt"
        ))
        .unwrap();
        let out: serde_json::Value = serde_json::from_slice(&redact_env(&body)).unwrap();
        let input: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            out.as_object().unwrap().len(),
            input.as_object().unwrap().len(),
            "every name is kept"
        );
        assert_eq!(out["LMCACHE_TRACK_USAGE"], "false");
        assert_eq!(out["HOME"], "<redacted>");
        assert_eq!(out["PATH"], "<redacted>");
        // A URL may carry credentials even under an LMCACHE_ name.
        assert_eq!(out["LMCACHE_USAGE_TRACK_URL"], "<redacted>");
    }

    #[test]
    fn env_secrets_never_survive_hand_written() {
        // Hand-written hostile input.
        let body = br#"{"LMCACHE_API_KEY":"k1","VLLM_TOKEN":"k2","HF_TOKEN":"k3","LMCACHE_remote_auth":"k4","PYTHONHASHSEED":"0","VLLM_X":{"nested":"k5"}}"#;
        let out = String::from_utf8(redact_env(body)).unwrap();
        for k in ["k1", "k2", "k3", "k4", "k5"] {
            assert!(!out.contains(&format!("\"{k}\"")), "{k} leaked: {out}");
        }
        assert!(out.contains(r#""PYTHONHASHSEED":"0""#));
        let out = String::from_utf8(redact_env(b"SECRET=abc\n")).unwrap();
        assert!(!out.contains("abc") && out.contains("11 bytes"), "{out}");
    }
}
