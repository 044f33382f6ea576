//! A fleet read through a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
//! VictoriaMetrics) or a `/federate` endpoint: which LMCache servers and engines it scrapes,
//! how their scrapes fare, and their **raw samples** over a window, turned back into the
//! `/metrics` bodies each target answered, so the model and the analysis read a fleet the way
//! they read one box (one implementation of every number).
//!
//! Raw samples come from an instant query of a range selector (`{…}[60s]`): every stored
//! sample in the range, at the time it was scraped. `query_range` would resample at each step
//! (repeating or skipping scrapes) and `rate()` extrapolates, so neither would agree with the
//! single-box figures. Counter resets and missed scrapes are left to the store, as for a box
//! read directly: a reset is a counter going down, a missed scrape a longer gap.
//!
//! Only GETs, on the query API's read endpoints.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::Deserialize;

use crate::expo::Kind;
use crate::sources::http::{self, Auth, TargetUrl};
use crate::vocab::Role;

/// Name prefixes that make a target part of the fleet, by role: an LMCache MP server, or an
/// engine (with or without LMCache embedded). A target showing both is an LMCache server.
pub const ROLE_PREFIXES: [(Role, &[&str]); 2] = [
    (Role::Lmcache, &["lmcache_mp_"]),
    (Role::Engine, &["vllm:", "sglang:", "lmcache:"]),
];

/// The role a series with this name gives its target, if any.
pub fn role_of(name: &str) -> Option<Role> {
    ROLE_PREFIXES
        .iter()
        .find(|(_, prefixes)| prefixes.iter().any(|p| name.starts_with(p)))
        .map(|(role, _)| *role)
}

/// A `__name__` regular expression matching names with these prefixes.
fn names_matching(prefixes: &[&str]) -> String {
    prefixes
        .iter()
        .map(|p| format!("{}.+", regex_quote(p)))
        .collect::<Vec<_>>()
        .join("|")
}

/// The largest answer read from the API (a bigger one is refused with a clear message; the
/// sample query is split by instance so a fleet's answers stay well under it).
pub const DEFAULT_MAX_ANSWER: usize = 64 << 20;

/// Names of series rules make, which keep their target's labels: kvscope's recordings and
/// Prometheus's alert series (and any `level:metric:operation` recording, by the convention's
/// colons).
pub const RULES_MADE: &str = "ALERTS|ALERTS_FOR_STATE|[^:]*:[^:]*:.*";

/// Instances per sample query: a fleet of 500 is read in 10 queries, each answer a few MB.
pub const INSTANCES_PER_QUERY: usize = 50;

/// Why a request to the API failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No connection, or no answer in time.
    Unreachable(String),
    /// An error status, with Prometheus's own error text when it sent one.
    Status(u16, String),
    /// The answer was not the API's JSON (a proxy's HTML page, a login form).
    NotApi(String),
    /// The answer was larger than the cap.
    TooLarge(usize),
    /// `"status": "error"` with a 2xx status, or JSON of another shape.
    Failed(String),
}

impl ApiError {
    /// Prometheus itself could not be reached (exit 3), as opposed to answering badly.
    pub fn unreachable(&self) -> bool {
        matches!(
            self,
            ApiError::Unreachable(_) | ApiError::Status(502..=504, _)
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unreachable(e) => write!(f, "unreachable: {e}"),
            ApiError::Status(401, _) => write!(
                f,
                "answered HTTP 401 (unauthorised): give --bearer-token-file, --basic-auth-file or --header"
            ),
            ApiError::Status(s, msg) if msg.is_empty() => write!(f, "answered HTTP {s}"),
            ApiError::Status(s, msg) => write!(f, "answered HTTP {s}: {msg}"),
            ApiError::NotApi(what) => write!(
                f,
                "did not answer as a Prometheus API ({what}); is the URL the server's base, e.g. http://prometheus:9090?"
            ),
            ApiError::TooLarge(n) => write!(
                f,
                "answer larger than {} MiB; narrow the fleet with --match or raise --max-answer-mib",
                n >> 20
            ),
            ApiError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// A Prometheus scrape target: its `job` and `instance` labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct TargetKey {
    pub job: String,
    pub instance: String,
}

/// A target found in the fleet, with the group it belongs to (the `--group-by` label's value).
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub key: TargetKey,
    pub group: String,
    pub role: Role,
}

crate::named! {
    /// Prometheus's word on its own last scrape of a target.
    #[derive(Default)]
    pub enum PromHealth {
        Up = "up",
        Down = "down",
        /// Not scraped yet, or a word this reader does not know.
        #[default]
        Unknown = "unknown",
    }
}

impl PromHealth {
    /// As Prometheus writes it; a word it is not is unknown.
    pub fn parse(s: &str) -> PromHealth {
        PromHealth::ALL
            .iter()
            .copied()
            .find(|h| h.as_str() == s)
            .unwrap_or_default()
    }
}

/// How Prometheus's own scrapes of a target fare (`/api/v1/targets`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScrapeHealth {
    pub health: PromHealth,
    pub last_scrape: Option<f64>,
    pub last_error: String,
    pub interval: Option<f64>,
    /// The labels Prometheus attaches to every series of the target (`job`, `instance` and
    /// those from its configuration): left out of the bodies, as the target did not send them.
    pub target_labels: Vec<String>,
}

/// A label name or value, shared by every series of an answer that has it (an answer holds
/// each `job`, `model_name` or `le` value once, not once per series).
pub type Text = std::sync::Arc<str>;

/// One series and its samples (milliseconds, value), oldest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Its labels, `__name__` among them.
    pub labels: Vec<(Text, Text)>,
    pub points: Vec<(i64, f64)>,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| &**k == name)
            .map(|(_, v)| &**v)
    }
}

/// Metric types from `/api/v1/metadata` (name → counter, gauge, histogram, …; a type this
/// reader does not know is unknown, as the parser reads it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Types(pub HashMap<String, Kind>);

impl Types {
    /// The family a series name belongs to and its type: the name itself when it has
    /// metadata; else a histogram's or summary's `_bucket`/`_sum`/`_count`, or an OpenMetrics
    /// counter's `_total`; else, without metadata, a `_bucket` series is taken for a histogram
    /// and the rest stay untyped, as the parser would read them.
    pub fn family<'a>(&'a self, name: &'a str) -> (&'a str, Kind) {
        if let Some(t) = self.0.get(name) {
            return (name, *t);
        }
        for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(t) = self.0.get(base)
            {
                return (base, *t);
            }
        }
        match name.strip_suffix("_bucket") {
            Some(base) if self.0.is_empty() => (base, Kind::Histogram),
            _ => (name, Kind::Unknown),
        }
    }
}

/// Everything one refresh read.
#[derive(Debug, Default)]
pub struct Read {
    pub found: Vec<Found>,
    /// From `/api/v1/targets`, when the server offers it (`None`: not offered or not allowed).
    pub health: Option<HashMap<TargetKey, ScrapeHealth>>,
    pub series: Vec<Series>,
    /// The evaluation time of the queries (seconds).
    pub time: f64,
}

/// A Prometheus-compatible API.
pub struct Api {
    client: reqwest::Client,
    base: TargetUrl,
    pub max_answer: usize,
    /// Requests made and answer bytes read, since made.
    pub queries: usize,
    pub bytes: usize,
}

impl Api {
    /// The API at `url` (the server's base, e.g. `http://prometheus:9090`, or a path prefix
    /// such as Mimir's `…/prometheus`).
    pub fn new(url: &str, timeout: Duration, auth: &Auth) -> Result<Api, http::SetupError> {
        let base = TargetUrl::metrics(url)?;
        // `metrics` adds /metrics to a bare host; the API lives beside it.
        let base = base.route("");
        Ok(Api {
            client: http::client(timeout, auth)?,
            base,
            max_answer: DEFAULT_MAX_ANSWER,
            queries: 0,
            bytes: 0,
        })
    }

    /// The API's address, credentials removed.
    pub fn shown(&self) -> &str {
        self.base.shown()
    }

    fn url(&self, path: &str, params: &[(&str, &str)]) -> TargetUrl {
        let mut url = self.base.route(path).for_request().clone();
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        TargetUrl::from(url)
    }

    /// GETs `path` and decodes the API envelope's `data`.
    async fn get<T: for<'de> Deserialize<'de>>(
        &mut self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<(T, Vec<String>), ApiError> {
        let (status, body) = self.fetch(path, params, "application/json").await?;
        decode(status, &body)
    }

    /// GETs `path` (capped), counting the request and the bytes read.
    async fn fetch(
        &mut self,
        path: &str,
        params: &[(&str, &str)],
        accept: &str,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let url = self.url(path, params);
        self.queries += 1;
        let (status, body) = http::get_any(&self.client, &url, accept, self.max_answer)
            .await
            .map_err(|e| match e {
                http::ScrapeError::TooLarge(n) => ApiError::TooLarge(n),
                http::ScrapeError::Status(s) => ApiError::Status(s, String::new()),
                http::ScrapeError::Unreachable(e) => ApiError::Unreachable(e),
            })?;
        self.bytes += body.bytes.len();
        Ok((status, body.bytes))
    }

    /// Targets carrying LMCache or engine metrics now (at `time`), with the value of
    /// `group_by` on their series (the `instance` itself by default), as two `group by`
    /// queries: one row per target, however many series each has.
    pub async fn discover(
        &mut self,
        matchers: &str,
        group_by: &str,
        time: f64,
    ) -> Result<(Vec<Found>, Vec<String>), ApiError> {
        let mut found: BTreeMap<TargetKey, Found> = BTreeMap::new();
        let mut warnings = Vec::new();
        for (role, prefixes) in ROLE_PREFIXES {
            let names = names_matching(prefixes);
            let by = if matches!(group_by, "instance" | "job") {
                "job, instance".to_string()
            } else {
                format!("job, instance, {group_by}")
            };
            // A plain selector: Prometheus's lookback (5 minutes by default) keeps a target
            // that stopped answering in the list, where it shows as stale.
            let q = format!("group by ({by}) ({{{}}})", with_names(matchers, &names));
            let got: Result<(Vector, _), _> = self
                .get(
                    "/api/v1/query",
                    &[("query", &q), ("time", &format!("{time:.3}"))],
                )
                .await;
            decode::forget_interned();
            let (rows, said) = got?;
            warnings.extend(said);
            for row in rows.result {
                let label = |n: &str| row.metric.get(n).unwrap_or_default().to_string();
                let key = TargetKey {
                    job: label("job"),
                    instance: label("instance"),
                };
                // A target without the label is a row of its own.
                let group = Some(label(group_by))
                    .filter(|g| !g.is_empty())
                    .unwrap_or_else(|| key.instance.clone());
                // A server that also shows engine names stays an LMCache server.
                found
                    .entry(key.clone())
                    .or_insert(Found { key, group, role });
            }
        }
        Ok((found.into_values().collect(), warnings))
    }

    /// An instant query's answer at `time`: each series' labels and value.
    pub async fn instant(
        &mut self,
        query: &str,
        time: f64,
    ) -> Result<(Vec<Reading>, Vec<String>), ApiError> {
        let (status, body) = self
            .fetch(
                "/api/v1/query",
                &[("query", query), ("time", &format!("{time:.3}"))],
                "application/json",
            )
            .await?;
        instant_answer(status, &body)
    }

    /// Prometheus's scrape health per target, when `/api/v1/targets` is offered and allowed
    /// (Thanos and Mimir do not offer it; `None` then).
    pub async fn targets(&mut self) -> Result<Option<HashMap<TargetKey, ScrapeHealth>>, ApiError> {
        match self
            .get::<Targets>("/api/v1/targets", &[("state", "active")])
            .await
        {
            Ok((t, _)) => Ok(Some(
                t.active_targets
                    .into_iter()
                    .map(|t| {
                        let key = TargetKey {
                            job: t.labels.get("job").cloned().unwrap_or_default(),
                            instance: t.labels.get("instance").cloned().unwrap_or_default(),
                        };
                        let health = ScrapeHealth {
                            health: PromHealth::parse(&t.health),
                            last_scrape: t
                                .last_scrape
                                .as_deref()
                                .and_then(|s| crate::timefmt::parse_rfc3339(s).ok())
                                .filter(|t| *t > 0.0),
                            last_error: t.last_error,
                            interval: t
                                .scrape_interval
                                .as_deref()
                                .and_then(|s| crate::timefmt::parse_duration(s).ok()),
                            target_labels: t.labels.into_keys().collect(),
                        };
                        (key, health)
                    })
                    .collect(),
            )),
            Err(ApiError::Status(400..=499, _) | ApiError::NotApi(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Metric types by name.
    pub async fn metadata(&mut self) -> Result<Types, ApiError> {
        let (m, _): (HashMap<String, Vec<Meta>>, _) = self.get("/api/v1/metadata", &[]).await?;
        Ok(Types(
            m.into_iter()
                .filter_map(|(k, v)| {
                    let kind = Kind::parse(&v.into_iter().next()?.kind).unwrap_or(Kind::Unknown);
                    Some((k, kind))
                })
                .collect(),
        ))
    }

    /// Every sample of `targets` in `[time - range, time]`, as an instant query of a range
    /// selector: one query per job and up to [`INSTANCES_PER_QUERY`] instances.
    pub async fn samples(
        &mut self,
        matchers: &str,
        targets: &[TargetKey],
        time: f64,
        range: f64,
    ) -> Result<(Vec<Series>, Vec<String>), ApiError> {
        let mut by_job: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for t in targets {
            by_job.entry(&t.job).or_default().push(&t.instance);
        }
        let (mut series, mut warnings) = (Vec::new(), Vec::new());
        for (job, instances) in by_job {
            for chunk in instances.chunks(INSTANCES_PER_QUERY) {
                let alternatives: Vec<String> = chunk.iter().map(|i| regex_quote(i)).collect();
                // Not what rules made of the target's series (kvscope's recordings, ALERTS):
                // they carry its labels, but it never sent them.
                let mut sel = format!(
                    "job=\"{}\",instance=~\"{}\",__name__!~\"{RULES_MADE}\"",
                    label_quote(job),
                    label_quote(&alternatives.join("|"))
                );
                if let Some(m) = inner(matchers).filter(|m| !m.is_empty()) {
                    sel.push(',');
                    sel.push_str(m);
                }
                // Whole milliseconds: Prometheus's durations take no fractions.
                let q = format!("{{{sel}}}[{}ms]", (range * 1000.0).ceil().max(1.0) as u64);
                let (status, body) = self
                    .fetch(
                        "/api/v1/query",
                        &[("query", &q), ("time", &format!("{time:.3}"))],
                        "application/json",
                    )
                    .await?;
                let (s, w) = matrix(status, &body)?;
                warnings.extend(w);
                series.extend(s);
            }
        }
        Ok((series, warnings))
    }

    /// The newest sample of every series matching `matchers`, from `/federate` (exposition
    /// text, read by kvscope's own parser).
    pub async fn federate(&mut self, matchers: &[String]) -> Result<Vec<Series>, ApiError> {
        let params: Vec<(&str, &str)> = matchers.iter().map(|m| ("match[]", m.as_str())).collect();
        let (status, body) = self
            .fetch("/federate", &params, "text/plain;version=0.0.4")
            .await?;
        if !(200..300).contains(&status) {
            return Err(ApiError::Status(status, short_text(&body)));
        }
        federated(&body)
    }
}

mod decode;
pub use decode::*;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Targets {
    active_targets: Vec<ActiveTarget>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ActiveTarget {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    health: String,
    last_scrape: Option<String>,
    #[serde(default)]
    last_error: String,
    scrape_interval: Option<String>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "type")]
    kind: String,
}

mod bodies;
pub use bodies::{PROMETHEUS_OWN, bodies};

#[cfg(test)]
mod tests;
