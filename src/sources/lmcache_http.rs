//! The LMCache MP server's HTTP routes, read-only by construction: requests are built from the
//! [`Route`] enum, which only names safe GET routes. Which spelling a server uses (0.5.6's
//! `/status`, older builds' `/api/status`) is discovered from `/openapi.json`.

use std::time::Duration;

use tokio::sync::mpsc;

use super::http;
use crate::model::{Event, TargetRef};

/// A route kvscope may GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    OpenApi,
    Healthcheck,
    Status,
    Config,
    Version,
}

/// Route spellings: 0.5.6 and later, or the older `/api/...` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Current,
    Legacy,
}

impl Route {
    /// A stable short name (`status`, `config` ...).
    pub fn name(self) -> &'static str {
        match self {
            Route::OpenApi => "openapi",
            Route::Healthcheck => "healthcheck",
            Route::Status => "status",
            Route::Config => "config",
            Route::Version => "version",
        }
    }

    /// The path for this flavor.
    pub fn path(self, flavor: Flavor) -> &'static str {
        match (self, flavor) {
            (Route::OpenApi, _) => "/openapi.json",
            (Route::Healthcheck, Flavor::Current) => "/healthcheck",
            (Route::Healthcheck, Flavor::Legacy) => "/api/healthcheck",
            (Route::Status, Flavor::Current) => "/status",
            (Route::Status, Flavor::Legacy) => "/api/status",
            (Route::Config, Flavor::Current) => "/config",
            (Route::Config, Flavor::Legacy) => "/conf",
            (Route::Version, _) => "/version",
        }
    }
}

/// Routes kvscope never sends, whatever a server offers (cache clears, deletes, resets, quota
/// changes, reconfiguration, scripts, log-level changes). Kept for tests and documentation: the
/// [`Route`] enum cannot express them.
pub const NEVER_SENT: &[&str] = &[
    "POST /cache/clear",
    "POST /clear-cache",
    "POST /api/clear-cache",
    "DELETE /cache/objects",
    "POST /cache/prefetches",
    "POST /cache/checksums",
    "POST /metrics/reset",
    "PUT /quota/{cache_salt}",
    "DELETE /quota/{cache_salt}",
    "POST /reconfigure/...",
    "POST /run_script",
    "GET /loglevel?level=...",
];

/// Bodies above this are refused.
const ROUTE_LIMIT: usize = 2 << 20;

/// The flavor an `/openapi.json` document describes.
pub fn flavor_from_openapi(body: &[u8]) -> Option<Flavor> {
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let paths = doc.get("paths")?.as_object()?;
    if paths.contains_key("/status") {
        Some(Flavor::Current)
    } else if paths.contains_key("/api/status") {
        Some(Flavor::Legacy)
    } else {
        None
    }
}

/// The server's base URL from a `/metrics` URL.
pub fn base_url(metrics_url: &str) -> String {
    metrics_url
        .strip_suffix("/metrics")
        .unwrap_or(metrics_url)
        .trim_end_matches('/')
        .to_string()
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
    route: Route,
    flavor: Flavor,
) -> Result<(u16, Vec<u8>), String> {
    let url = format!("{base}{}", route.path(flavor));
    http::get_any(client, &url, "application/json", ROUTE_LIMIT)
        .await
        .map(|(s, b)| (s, b.bytes))
        .map_err(|e| e.to_string())
}

/// Discovers the flavor, reads version and config once, then health and status every interval.
pub async fn run(
    target: TargetRef,
    base: String,
    interval: Duration,
    client: reqwest::Client,
    tx: mpsc::Sender<Event>,
) {
    let send = |route, result| Event::Route {
        target,
        route,
        time: crate::timefmt::now(),
        result,
    };
    // Discovery: openapi first; without it, whichever health route answers 200.
    let mut flavor = None;
    while flavor.is_none() {
        let r = fetch(&client, &base, Route::OpenApi, Flavor::Current).await;
        flavor = r
            .as_ref()
            .ok()
            .filter(|(s, _)| *s == 200)
            .and_then(|(_, b)| flavor_from_openapi(b));
        if flavor.is_none() {
            for f in [Flavor::Current, Flavor::Legacy] {
                if matches!(
                    fetch(&client, &base, Route::Healthcheck, f).await,
                    Ok((200 | 503, _))
                ) {
                    flavor = Some(f);
                    break;
                }
            }
        }
        if flavor.is_none() {
            if tx
                .send(send(
                    Route::OpenApi,
                    r.and(Err("no LMCache HTTP routes found".into())),
                ))
                .await
                .is_err()
            {
                return;
            }
            tokio::time::sleep(interval * 5).await;
        }
    }
    let flavor = flavor.expect("discovered");
    for route in [Route::Version, Route::Config] {
        let r = fetch(&client, &base, route, flavor).await;
        if tx.send(send(route, r)).await.is_err() {
            return;
        }
    }
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for route in [Route::Healthcheck, Route::Status] {
            let r = fetch(&client, &base, route, flavor).await;
            if tx.send(send(route, r)).await.is_err() {
                return;
            }
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
        assert_eq!(flavor_from_openapi(&body), Some(Flavor::Current));
        assert_eq!(
            flavor_from_openapi(br#"{"paths":{"/api/status":{}}}"#),
            Some(Flavor::Legacy)
        );
        assert_eq!(flavor_from_openapi(b"not json"), None);
        assert_eq!(base_url("http://h:8080/metrics"), "http://h:8080");
    }
}
