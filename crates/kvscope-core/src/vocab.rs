//! The vocabulary sources speak and the model hears: events and their parts (targets, roles,
//! routes, formats, skip reasons). A leaf: it imports nothing of the crate, so every layer can
//! use it and none is tied to another through it. Every event carries its own time and
//! (de)serialises, so it can be recorded and replayed.

use serde::{Deserialize, Serialize};

/// Which part of the stack a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Lmcache,
    Engine,
}

impl Role {
    /// The command-line flag that names targets of this role.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Lmcache => "--lmcache",
            Role::Engine => "--engine",
        }
    }

    /// `lmcache` or `engine`, as the screen writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Lmcache => "lmcache",
            Role::Engine => "engine",
        }
    }

    /// What runs at a target of this role, as a sentence names it.
    pub fn process(self) -> &'static str {
        match self {
            Role::Lmcache => "LMCache",
            Role::Engine => "the engine",
        }
    }
}

/// Addresses one target: its role and its place among that role's targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TargetRef {
    pub role: Role,
    pub index: usize,
}

crate::named! {
    /// Which serving engine a target is.
    pub enum EngineKind {
        Vllm = "vllm",
        Sglang = "sglang",
    }
}

/// Which text format a metrics body was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Prometheus004,
    OpenMetrics1,
}

/// An LMCache HTTP route kvscope may GET. Nothing else can be asked for: the requests are
/// built from this enum, which names only safe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    OpenApi,
    Healthcheck,
    Status,
    /// `/periodic-threads-health`: the server's own background-thread check.
    PeriodicThreadsHealth,
    Config,
    Version,
    /// `/threads`: a stack dump of every thread (text).
    Threads,
    /// `/env`: the server's environment; only with `--allow-env`, and redacted at the source.
    Env,
}

/// Route spellings: 0.5.6 and later, or the older `/api/...` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flavor {
    Current,
    Legacy,
}

impl Route {
    /// Every route, in the order a person reads them.
    pub const ALL: [Route; 8] = [
        Route::Healthcheck,
        Route::Status,
        Route::PeriodicThreadsHealth,
        Route::Version,
        Route::Config,
        Route::Threads,
        Route::Env,
        Route::OpenApi,
    ];

    /// A stable short name (`status`, `config` ...).
    pub fn name(self) -> &'static str {
        match self {
            Route::OpenApi => "openapi",
            Route::Healthcheck => "healthcheck",
            Route::Status => "status",
            Route::PeriodicThreadsHealth => "periodic_threads_health",
            Route::Config => "config",
            Route::Version => "version",
            Route::Threads => "threads",
            Route::Env => "env",
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
            (Route::PeriodicThreadsHealth, _) => "/periodic-threads-health",
            (Route::Config, Flavor::Current) => "/config",
            (Route::Config, Flavor::Legacy) => "/conf",
            (Route::Version, _) => "/version",
            (Route::Threads, _) => "/threads",
            (Route::Env, _) => "/env",
        }
    }

    /// Whether a differing answer is news worth showing: settings and versions. `/status` and
    /// the stack dump differ on every read while the server works.
    pub fn tracks_changes(self) -> bool {
        matches!(self, Route::Version | Route::Config | Route::Env)
    }
}

/// Routes kvscope never sends, whatever a server offers (cache clears, deletes, resets, quota
/// changes, reconfiguration, scripts, log-level changes): [`Route`] cannot express them. Shown
/// in the server overlay, and checked against what a whole session sends.
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

/// Why kvscope does not read a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// `/env` without `--allow-env`.
    NeedsAllowEnv,
    /// The server's `/openapi.json` does not list it.
    NotOffered,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NeedsAllowEnv => {
                "it can hold secrets; --allow-env reads it (values redacted)"
            }
            SkipReason::NotOffered => "not offered by this server (absent from /openapi.json)",
        }
    }
}

/// Something a source saw, and when (seconds since the epoch, by the source's clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A `/metrics` body (or a file holding one) and when it was taken (`None`: a file given
    /// without a capture time).
    Scrape {
        target: TargetRef,
        time: Option<f64>,
        body: Vec<u8>,
        /// From the Content-Type header, when there was one.
        format: Option<Format>,
        /// Where the body came from (file path or URL, credentials removed), for messages.
        origin: String,
    },
    /// A scrape attempt failed (connection refused, timeout, error status, body too large).
    ScrapeFailed {
        target: TargetRef,
        time: f64,
        error: String,
    },
    /// How long the last successful scrape took, reported by live collectors.
    Latency {
        target: TargetRef,
        time: f64,
        seconds: f64,
    },
    /// An LMCache HTTP route answered (status and body) or could not be read.
    Route {
        target: TargetRef,
        route: Route,
        flavor: Flavor,
        time: f64,
        result: Result<(u16, Vec<u8>), String>,
    },
    /// An LMCache HTTP route kvscope does not read, and why.
    RouteSkipped {
        target: TargetRef,
        route: Route,
        flavor: Flavor,
        time: f64,
        reason: SkipReason,
    },
    /// Bytes read from a file beside a target (its trace or a log), as they were: the reducer
    /// decodes them, a packet keeps them.
    Evidence {
        target: TargetRef,
        /// When they were read (`None`: a file read at once, without a time).
        time: Option<f64>,
        stream: Stream,
        /// They begin a file: the first read, or the file was replaced or cut under the tail.
        fresh: bool,
        body: Vec<u8>,
        /// The file, as named where it was read, for messages and the report.
        origin: String,
    },
}

/// A file beside a target's metrics that kvscope follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// LMCache's storage trace (`.lct`).
    Trace,
    /// The LMCache server's log.
    ServerLog,
    /// The engine's log (vLLM, with embedded LMCache's lines).
    EngineLog,
    /// An OpenTelemetry span export (OTLP-JSON, or the Python SDK's span JSON).
    Otel,
    /// LMCache's lookup-hash log (`--lookup-hash-log-dir`).
    LookupHashes,
}

impl Stream {
    pub const ALL: [Stream; 5] = [
        Stream::Trace,
        Stream::ServerLog,
        Stream::EngineLog,
        Stream::Otel,
        Stream::LookupHashes,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Trace => "trace",
            Stream::ServerLog => "server_log",
            Stream::EngineLog => "engine_log",
            Stream::Otel => "otel",
            Stream::LookupHashes => "lookup_hashes",
        }
    }
}

impl Event {
    /// When it happened (`None`: a file given without a capture time).
    pub fn time(&self) -> Option<f64> {
        match self {
            Event::Scrape { time, .. } | Event::Evidence { time, .. } => *time,
            Event::ScrapeFailed { time, .. }
            | Event::Latency { time, .. }
            | Event::Route { time, .. }
            | Event::RouteSkipped { time, .. } => Some(*time),
        }
    }

    /// Whether it is part of a capture (a scrape attempt or its latency): captures open the
    /// moments verdicts are judged at; route answers and evidence join no moment of their own.
    pub fn is_capture(&self) -> bool {
        matches!(
            self,
            Event::Scrape { .. } | Event::ScrapeFailed { .. } | Event::Latency { .. }
        )
    }

    /// The target the event is about.
    pub fn target(&self) -> TargetRef {
        match self {
            Event::Scrape { target, .. }
            | Event::ScrapeFailed { target, .. }
            | Event::Latency { target, .. }
            | Event::Route { target, .. }
            | Event::RouteSkipped { target, .. }
            | Event::Evidence { target, .. } => *target,
        }
    }
}

/// What is known about reaching a target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// When the last scrape succeeded (seconds since the epoch, scrape clock).
    pub last_ok: Option<f64>,
    /// When the last attempt failed, and why.
    pub last_failure: Option<(f64, String)>,
    pub last_latency: Option<f64>,
    pub failures: u64,
    /// When the attempts began failing, while they fail (the first failure after an answer).
    pub down_since: Option<f64>,
}

crate::named! {
    /// Where a target's evidence came from, as the report's `inputs[].kind` says.
    pub enum InputKind {
        /// Saved scrapes read from files (or a capture index).
        Files = "files",
        /// Scraped over HTTP.
        Url = "url",
        /// Replayed from an evidence packet.
        Packet = "packet",
        /// Rebuilt from a Prometheus server's samples (the fleet).
        Prometheus = "prometheus",
    }
}

crate::named! {
    /// Reachability of a target now.
    pub enum TargetState {
        /// Not answered yet.
        Waiting = "waiting",
        Up = "up",
        /// Answered before, but nothing new for three intervals.
        Stale = "stale",
        /// The last attempt failed.
        Down = "down",
    }
}

impl TargetState {
    /// How bad it is: up 0, waiting 1, stale 2, down 3 (a group of targets is as bad as its
    /// worst; the fleet sorts by it).
    pub fn badness(self) -> u8 {
        match self {
            TargetState::Up => 0,
            TargetState::Waiting => 1,
            TargetState::Stale => 2,
            TargetState::Down => 3,
        }
    }
}

impl Health {
    /// An attempt failed at `time`, for `why`.
    pub fn failed(&mut self, time: f64, why: String) {
        if self.down().is_none() {
            self.down_since = Some(time);
        }
        self.failures += 1;
        self.last_failure = Some((time, why));
    }

    /// A scrape answered at `time`.
    pub fn answered(&mut self, time: f64) {
        self.last_ok = Some(time);
        if self.down().is_none() {
            self.down_since = None;
        }
    }

    /// Why the target is down (its last attempt failed), or `None` when it is not.
    pub fn down(&self) -> Option<&str> {
        self.last_failure
            .as_ref()
            .filter(|(failed, _)| self.last_ok.is_none_or(|ok| *failed >= ok))
            .map(|(_, why)| why.as_str())
    }

    /// The state at `now` for a target polled every `interval` seconds.
    pub fn state(&self, now: f64, interval: f64) -> TargetState {
        match self.last_ok {
            _ if self.down().is_some() => TargetState::Down,
            Some(ok) if now - ok > 3.0 * interval => TargetState::Stale,
            Some(_) => TargetState::Up,
            None => TargetState::Waiting,
        }
    }
}

/// The server's base URL from a `/metrics` URL (or its shown form).
pub fn base_url(metrics_url: &str) -> String {
    metrics_url
        .strip_suffix("/metrics")
        .unwrap_or(metrics_url)
        .trim_end_matches('/')
        .to_string()
}

/// An enum whose every variant has one written name, given once: `as_str` and the serde forms
/// (written and read) come from it, so the name on screen, in the log and in the JSON cannot
/// drift apart, and a name read back that is none of them is an error naming it.
#[macro_export]
macro_rules! named {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The written name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_serde() {
        let t = TargetRef {
            role: Role::Lmcache,
            index: 1,
        };
        let events = [
            Event::Scrape {
                target: t,
                time: Some(1.5),
                body: b"x 1\n".to_vec(),
                format: Some(Format::OpenMetrics1),
                origin: "http://h/metrics".into(),
            },
            Event::ScrapeFailed {
                target: t,
                time: 2.0,
                error: "refused".into(),
            },
            Event::Latency {
                target: t,
                time: 2.5,
                seconds: 0.01,
            },
            Event::Route {
                target: t,
                route: Route::Status,
                flavor: Flavor::Legacy,
                time: 3.0,
                result: Err("timed out".into()),
            },
            Event::RouteSkipped {
                target: t,
                route: Route::Env,
                flavor: Flavor::Current,
                time: 3.5,
                reason: SkipReason::NeedsAllowEnv,
            },
        ];
        for e in events {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e, "{json}");
        }
        assert_eq!(base_url("http://h:8080/metrics"), "http://h:8080");
    }
}
