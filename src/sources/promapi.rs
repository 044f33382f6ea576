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
                "answer larger than {} MiB; narrow the fleet with --match or raise --max-answer",
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

/// Prometheus's word on its own last scrape of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromHealth {
    Up,
    Down,
    /// Not scraped yet, or a word this reader does not know.
    #[default]
    Unknown,
}

impl PromHealth {
    /// As Prometheus writes it (`up`, `down`); any other word is unknown.
    pub fn parse(s: &str) -> PromHealth {
        match s {
            "up" => PromHealth::Up,
            "down" => PromHealth::Down,
            _ => PromHealth::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PromHealth::Up => "up",
            PromHealth::Down => "down",
            PromHealth::Unknown => "unknown",
        }
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
    pub fn new(url: &str, timeout: Duration, auth: &Auth) -> Result<Api, String> {
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
    ) -> Result<Vec<Found>, ApiError> {
        let mut found: BTreeMap<TargetKey, Found> = BTreeMap::new();
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
            let (rows, _): (Vector, _) = self
                .get(
                    "/api/v1/query",
                    &[("query", &q), ("time", &format!("{time:.3}"))],
                )
                .await?;
            for row in rows.result {
                let label = |n: &str| row.metric.get(n).cloned().unwrap_or_default();
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
        Ok(found.into_values().collect())
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
                let mut sel = format!(
                    "job=\"{}\",instance=~\"{}\"",
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

/// Reads a `/federate` answer (many instances in one exposition body, each sample with its
/// `job`, `instance` and timestamp) as series.
pub fn federated(body: &[u8]) -> Result<Vec<Series>, ApiError> {
    if looks_like_html(body) {
        return Err(ApiError::NotApi("an HTML page".into()));
    }
    let scrape = crate::expo::parse(body).map_err(|e| ApiError::Failed(e.to_string()))?;
    let mut out: Vec<Series> = Vec::new();
    forget_interned();
    for s in scrape.data_samples() {
        let labels = labels_of(&scrape, s);
        let Some(t) = s.timestamp else {
            continue;
        };
        out.push(Series {
            labels,
            points: vec![((t * 1000.0).round() as i64, s.value)],
        });
    }
    forget_interned();
    Ok(out)
}

/// A parsed sample's labels as a series holds them, `__name__` first.
pub fn labels_of(
    scrape: &crate::expo::Scrape<'_>,
    s: &crate::expo::Sample<'_>,
) -> Vec<(Text, Text)> {
    let mut labels = vec![(intern("__name__"), intern(s.name))];
    labels.extend(
        scrape
            .labels(s)
            .iter()
            .map(|l| (intern(l.name), intern(&l.value()))),
    );
    labels
}

thread_local! {
    /// The strings of the answer being decoded ([`intern`]); emptied after each answer.
    static INTERNED: std::cell::RefCell<std::collections::HashSet<Text, foldhash::fast::RandomState>> =
        Default::default();
}

/// The shared copy of `s` among those of the answer being decoded.
pub fn intern(s: &str) -> Text {
    INTERNED.with(|set| {
        let mut set = set.borrow_mut();
        if let Some(t) = set.get(s) {
            return t.clone();
        }
        let t: Text = s.into();
        set.insert(t.clone());
        t
    })
}

/// Forgets the strings kept for sharing (the series keep theirs).
fn forget_interned() {
    INTERNED.with(|set| set.borrow_mut().clear());
}

/// Adds the name matcher to a selector's label matchers.
fn with_names(matchers: &str, names: &str) -> String {
    match inner(matchers).filter(|m| !m.is_empty()) {
        Some(m) => format!("__name__=~\"{names}\",{m}"),
        None => format!("__name__=~\"{names}\""),
    }
}

/// The label matchers inside `{…}` (or given bare).
fn inner(matchers: &str) -> Option<&str> {
    let m = matchers.trim();
    Some(
        m.strip_prefix('{')
            .and_then(|m| m.strip_suffix('}'))
            .unwrap_or(m)
            .trim(),
    )
}

/// Checks a `--match` selector: label matchers only (`{job="lmcache",cluster=~"a.*"}`), as
/// kvscope adds its own metric names to it.
pub fn check_matchers(m: &str) -> Result<(), String> {
    let t = m.trim();
    let body = t.strip_prefix('{').and_then(|t| t.strip_suffix('}'));
    match body {
        Some(b) if b.contains('{') || b.contains('}') => Err(format!(
            "--match {t}: nested braces; give label matchers only"
        )),
        Some(b) if b.contains("__name__") => Err(format!(
            "--match {t}: leave __name__ out: kvscope asks for LMCache and engine names itself"
        )),
        Some(_) => Ok(()),
        None => Err(format!(
            "--match {t}: give label matchers in braces, e.g. {{job=\"lmcache\"}}"
        )),
    }
}

/// A string as a PromQL string literal's contents.
fn label_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A string as a literal inside an RE2 regular expression.
fn regex_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn looks_like_html(body: &[u8]) -> bool {
    let start: Vec<u8> = body
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<!doctype") || start.starts_with(b"<html") || start.starts_with(b"<")
}

/// The first line of a short text answer, cleaned for display.
fn short_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    crate::sanitize::clean(text.lines().next().unwrap_or("").trim())
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(default, rename = "errorType")]
    error_type: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Decodes an API answer: the envelope's `data` and warnings, or why not.
pub fn decode<T: for<'de> Deserialize<'de>>(
    status: u16,
    body: &[u8],
) -> Result<(T, Vec<String>), ApiError> {
    if looks_like_html(body) {
        return match status {
            200..=299 => Err(ApiError::NotApi("an HTML page".into())),
            s => Err(ApiError::Status(s, "an HTML page".into())),
        };
    }
    let env: Envelope<T> = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(e) if (200..300).contains(&status) => {
            // Valid JSON of another shape is a failed query; not JSON is not the API.
            return Err(
                if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
                    ApiError::Failed(format!("an answer of an unexpected shape ({e})"))
                } else {
                    ApiError::NotApi(format!("not JSON: {}", short_text(body)))
                },
            );
        }
        Err(_) => return Err(ApiError::Status(status, short_text(body))),
    };
    let clean = |s: &str| crate::sanitize::clean(&s[..floor(s, 300)]);
    if env.status != "success" {
        let msg = format!("{}: {}", clean(&env.error_type), clean(&env.error));
        return Err(if (200..300).contains(&status) {
            ApiError::Failed(msg)
        } else {
            ApiError::Status(status, msg)
        });
    }
    let data = env
        .data
        .ok_or_else(|| ApiError::Failed("a successful answer without data".into()))?;
    Ok((data, env.warnings.iter().map(|w| clean(w)).collect()))
}

/// A range query's answer (status and body) as series and the API's warnings.
pub fn matrix(status: u16, body: &[u8]) -> Result<(Vec<Series>, Vec<String>), ApiError> {
    let decoded = decode::<Matrix>(status, body);
    forget_interned();
    let (m, w) = decoded?;
    Ok((m.series()?, w))
}

/// The largest char boundary at or below `n`.
fn floor(s: &str, n: usize) -> usize {
    let mut n = n.min(s.len());
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    n
}

#[derive(Deserialize)]
struct Vector {
    result: Vec<VectorRow>,
}

#[derive(Deserialize)]
struct VectorRow {
    metric: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Matrix {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<MatrixRow>,
}

#[derive(Debug, Deserialize)]
struct MatrixRow {
    #[serde(deserialize_with = "pairs")]
    metric: Vec<(Text, Text)>,
    #[serde(default, deserialize_with = "points")]
    values: Vec<(i64, f64)>,
}

impl Matrix {
    fn series(self) -> Result<Vec<Series>, ApiError> {
        if self.result_type != "matrix" {
            return Err(ApiError::Failed(format!(
                "a range query answered a {} rather than a matrix",
                crate::sanitize::clean(&self.result_type)
            )));
        }
        Ok(self
            .result
            .into_iter()
            .map(|r| Series {
                labels: r.metric,
                points: r.values,
            })
            .collect())
    }
}

/// A sample as the API writes it, `[1700000000.123, "42"]`, read as (milliseconds, value)
/// without a string of its own; a value that is not a number is an error.
struct Point(i64, f64);

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Point, D::Error> {
        struct Value(f64);
        impl<'de> Deserialize<'de> for Value {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Value;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a sample value as a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
                        crate::expo::parse_number(s)
                            .map(Value)
                            .ok_or_else(|| E::custom("a sample value that is not a number"))
                    }
                }
                d.deserialize_str(V)
            }
        }
        let (t, Value(v)) = <(f64, Value)>::deserialize(d)?;
        Ok(Point((t * 1000.0).round() as i64, v))
    }
}

/// A series' samples, read point by point into one vector.
fn points<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(i64, f64)>, D::Error> {
    struct Points;
    impl<'de> serde::de::Visitor<'de> for Points {
        type Value = Vec<(i64, f64)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of samples")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut a: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(a.size_hint().unwrap_or(4));
            while let Some(Point(t, v)) = a.next_element()? {
                out.push((t, v));
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Points)
}

/// A string read straight into its shared copy ([`intern`]), without a string of its own.
struct Interned(Text);

impl<'de> Deserialize<'de> for Interned {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interned, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Interned;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Interned, E> {
                Ok(Interned(intern(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object of strings as its pairs, in the order given.
fn pairs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<(Text, Text)>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(Text, Text)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object of label names and values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
            while let Some((Interned(k), Interned(v))) = m.next_entry()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(Pairs)
}

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

/// Series Prometheus writes about its own scrape of a target (`up`, `scrape_*`): not part of
/// what the target answered.
pub const PROMETHEUS_OWN: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "scrape_timeout_seconds",
    "scrape_sample_limit",
    "scrape_body_size_bytes",
];

/// One series as a line of a rebuilt body, with what orders it.
struct Row<'a> {
    /// The family's name without `_total` or `_created`: a family and its `_created` companion
    /// share it.
    stem: &'a str,
    created: bool,
    family: &'a str,
    kind: Kind,
    name: &'a str,
    /// Where in the arena its labels are, as written: `{k="v",…}` or nothing.
    labels: std::ops::Range<usize>,
    /// Where its labels other than `le` are, for keeping a histogram's series together.
    others: std::ops::Range<usize>,
    le: f64,
    series: &'a Series,
}

/// One target's series as the `/metrics` bodies it answered: one body per sample time (after
/// `after_ms`), oldest first. Families are written with their types; the labels Prometheus
/// attached (`strip`) are left out; a histogram's buckets go in `le` order.
pub fn bodies(
    series: &[&Series],
    types: &Types,
    strip: &[String],
    after_ms: i64,
) -> Vec<(i64, String)> {
    // Every row's written labels and its labels other than `le` live in one string, so a
    // body costs a few allocations, not two per series.
    let mut arena = String::new();
    let mut rows: Vec<Row> = Vec::with_capacity(series.len());
    for s in series {
        let Some(name) = s.label("__name__") else {
            continue;
        };
        if PROMETHEUS_OWN.contains(&name) {
            continue;
        }
        let (family, kind) = types.family(name);
        let mut le = f64::NEG_INFINITY;
        let kept = || {
            s.labels
                .iter()
                .filter(|(k, _)| &**k != "__name__" && !strip.iter().any(|x| **x == **k))
        };
        let others_start = arena.len();
        for (k, v) in kept().filter(|(k, _)| &**k != "le") {
            arena.push_str(k);
            arena.push('\0');
            arena.push_str(v);
            arena.push('\0');
        }
        let labels_start = arena.len();
        for (k, v) in kept() {
            if &**k == "le" {
                le = crate::expo::parse_number(v).unwrap_or(f64::NAN);
            }
            arena.push(if arena.len() == labels_start {
                '{'
            } else {
                ','
            });
            arena.push_str(k);
            arena.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => arena.push_str("\\\\"),
                    '"' => arena.push_str("\\\""),
                    '\n' => arena.push_str("\\n"),
                    c => arena.push(c),
                }
            }
            arena.push('"');
        }
        if arena.len() > labels_start {
            arena.push('}');
        }
        let (stem, created) = match family.strip_suffix("_created") {
            Some(s) => (s, true),
            None => (family.strip_suffix("_total").unwrap_or(family), false),
        };
        rows.push(Row {
            stem,
            created,
            family,
            kind,
            name,
            labels: labels_start..arena.len(),
            others: others_start..labels_start,
            le,
            series: s,
        });
    }
    // A family's lines together, a histogram's series by their labels other than `le`, its
    // buckets in `le` order. A `_created` family (prometheus_client declares one per counter
    // and histogram) follows its parent: the parser reads it as the parent's companion only
    // then.
    rows.sort_by(|a, b| {
        (
            a.stem,
            a.created,
            a.family,
            &arena[a.others.clone()],
            a.name,
        )
            .cmp(&(
                b.stem,
                b.created,
                b.family,
                &arena[b.others.clone()],
                b.name,
            ))
            .then_with(|| a.le.total_cmp(&b.le))
    });
    let mut times: Vec<i64> = rows
        .iter()
        .flat_map(|r| r.series.points.iter().map(|p| p.0))
        .filter(|t| *t > after_ms)
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut cursors = vec![0usize; rows.len()];
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        let mut body = String::new();
        let mut family = "";
        for (i, r) in rows.iter().enumerate() {
            let c = &mut cursors[i];
            let s = r.series;
            while s.points.get(*c).is_some_and(|p| p.0 < t) {
                *c += 1;
            }
            let Some(&(pt, v)) = s.points.get(*c) else {
                continue;
            };
            if pt != t {
                continue;
            }
            if r.family != family {
                family = r.family;
                body.push_str("# TYPE ");
                body.push_str(r.family);
                body.push(' ');
                body.push_str(r.kind.as_str());
                body.push('\n');
            }
            body.push_str(r.name);
            body.push_str(&arena[r.labels.clone()]);
            body.push(' ');
            push_value(&mut body, v);
            body.push('\n');
        }
        out.push((t, body));
    }
    out
}

fn push_value(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

#[cfg(test)]
mod tests;
