//! Findings: a table of rules over one view of the analysis ([`Facts`]). Every rule gives a
//! verdict each time it is evaluated — `firing`, `clear`, or `not_evaluable` with the inputs
//! it lacks named — so a rule whose input is unknown says so instead of staying silent. A
//! verdict carries its evidence as readable lines and as data, the rule's explanation and the
//! next action. `docs/findings.md` is generated from the table ([`document`]) and a test keeps
//! the two in step.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::Fig;
use super::engine::EngineFigures;
use super::figures::{GaugeTrust, LmcacheFigures};
use super::matrix::{FamilyRow, Need, Status, Unrecognised};
use super::mode::Mode;

crate::named! {
    /// How much a finding matters, least first.
    #[derive(PartialOrd, Ord)]
    pub enum Severity {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
}

crate::named! {
    /// A rule's verdict.
    pub enum State {
        Firing = "firing",
        Clear = "clear",
        NotEvaluable = "not_evaluable",
    }
}

/// One rule's verdict, as the report and the TUI show it. `findings` are the firing ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub state: State,
    /// The rule's title, or the firing verdict's own (borrowed when fixed: judging every
    /// capture builds 47 of these).
    pub title: Cow<'static, str>,
    /// For `not_evaluable`: what the rule needs and does not have (and why).
    pub missing_inputs: Vec<String>,
    /// The window its rates cover; `null` for rules that read totals or state.
    pub window_seconds: Option<f64>,
    pub evidence: Vec<String>,
    /// The evidence as data: the values the verdict rests on.
    pub evidence_data: Map<String, Value>,
    pub explanation: &'static str,
    pub next_action: &'static str,
}

/// Default L1 eviction trigger (`--eviction-trigger-watermark`) when `/status` does not say.
pub const L1_WATERMARK: f64 = 0.8;
/// Default share of L1 one eviction frees (`--eviction-ratio`) when `/status` does not say.
pub const L1_EVICTION_RATIO: f64 = 0.2;
/// The thresholds rules judge by; each can be set in the config file's `[findings]` table
/// (read by `watch`, `demo`, `replay` and `report --config`, so CI and the live view agree).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// Tokens looked up in the window before a hit rate is judged.
    pub warm_up_tokens: f64,
    /// A window hit rate below this is low.
    pub low_hit_rate: f64,
    /// Engine KV cache usage at or above this is nearly full.
    pub kv_cache_full: f64,
    /// More distinct cache_salt values than this is high.
    pub cache_salts_high: f64,
    /// A median transfer throughput (GB/s) below this is low.
    pub low_throughput_gbs: f64,
    /// A P2P transfer slower than this (seconds, 90th percentile) is slow.
    pub slow_transfer_seconds: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            warm_up_tokens: 4096.0,
            low_hit_rate: 0.2,
            kv_cache_full: 0.95,
            cache_salts_high: 1000.0,
            low_throughput_gbs: 0.1,
            slow_transfer_seconds: 1.0,
        }
    }
}

impl Thresholds {
    /// `[findings]` key, what it sets, and its default.
    pub fn keys() -> Vec<(&'static str, &'static str, f64)> {
        let d = Thresholds::default();
        vec![
            (
                "warm_up_tokens",
                "tokens looked up in the window before a hit rate is judged",
                d.warm_up_tokens,
            ),
            (
                "low_hit_rate",
                "a window hit rate below this is low (0 to 1)",
                d.low_hit_rate,
            ),
            (
                "kv_cache_full",
                "engine KV cache usage at or above this is nearly full (0 to 1)",
                d.kv_cache_full,
            ),
            (
                "cache_salts_high",
                "more distinct cache_salt values than this is high",
                d.cache_salts_high,
            ),
            (
                "low_throughput_gbs",
                "a median L2 or L0↔L1 transfer throughput (GB/s) in the window below this is low",
                d.low_throughput_gbs,
            ),
            (
                "slow_transfer_seconds",
                "a 90th-percentile P2P transfer time (seconds) in the window above this is slow",
                d.slow_transfer_seconds,
            ),
        ]
    }

    /// The defaults with the config file's `[findings]` values; an unknown key or a value out
    /// of range is an error naming it.
    pub fn with_overrides(
        overrides: &std::collections::BTreeMap<String, f64>,
    ) -> Result<Thresholds, String> {
        let mut t = Thresholds::default();
        for (key, &v) in overrides {
            let fraction = || (0.0..=1.0).contains(&v);
            let slot = match key.as_str() {
                "warm_up_tokens" if v >= 0.0 => &mut t.warm_up_tokens,
                "low_hit_rate" if fraction() => &mut t.low_hit_rate,
                "kv_cache_full" if fraction() => &mut t.kv_cache_full,
                "cache_salts_high" if v >= 0.0 => &mut t.cache_salts_high,
                "low_throughput_gbs" if v >= 0.0 => &mut t.low_throughput_gbs,
                "slow_transfer_seconds" if v >= 0.0 => &mut t.slow_transfer_seconds,
                "warm_up_tokens"
                | "low_hit_rate"
                | "kv_cache_full"
                | "cache_salts_high"
                | "low_throughput_gbs"
                | "slow_transfer_seconds" => {
                    return Err(format!("[findings] {key} = {v}: out of range"));
                }
                _ => {
                    let known: Vec<&str> = Thresholds::keys().iter().map(|k| k.0).collect();
                    return Err(format!(
                        "[findings] {key}: unknown (one of {})",
                        known.join(", ")
                    ));
                }
            };
            if !v.is_finite() {
                return Err(format!("[findings] {key}: not a number"));
            }
            *slot = v;
        }
        Ok(t)
    }
}

/// What the rules read: the analysis made so far.
pub struct Facts<'a> {
    pub mode: &'a Mode,
    pub families: &'a [FamilyRow],
    pub unrecognised: &'a [Unrecognised],
    pub lm: &'a LmcacheFigures,
    pub en: &'a EngineFigures,
    pub emb: &'a super::embedded::EmbeddedFigures,
    pub quality: &'a super::DataQuality,
    /// LMCache targets given.
    pub lmcache_given: usize,
    /// LMCache and engine targets with at least one scrape.
    pub lmcache_targets: usize,
    pub engine_targets: usize,
    pub thresholds: &'a Thresholds,
    /// Exposition lines skipped while parsing.
    pub lines_skipped: u64,
    /// Whether any LMCache target exports lookup token counters (present, whatever their values).
    pub lookup_tokens_exported: bool,
    /// Every target's name, how reaching it went (`None`: not known, e.g. a test's store) and
    /// how many scrapes of it are kept.
    pub targets: Vec<(&'a str, Option<&'a crate::vocab::Health>, usize)>,
    pub clock: Option<super::Clock>,
    pub window: f64,
    /// LMCache's spans in the span export given beside a target (`None`: no export given).
    pub lmcache_spans: Option<u64>,
    /// The LMCache server log's lines that findings read (`None`: no log given).
    pub server_log: Option<LogFacts>,
}

/// What a check concluded.
enum Verdict {
    Firing {
        title: Cow<'static, str>,
        evidence: Vec<String>,
        data: Map<String, Value>,
    },
    Clear {
        evidence: Vec<String>,
        data: Map<String, Value>,
    },
    Missing(Vec<String>),
}

/// Lines of the LMCache server log that rules read, counted over the window when the lines'
/// read times allow (a file read at once counts whole).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogFacts {
    pub l1_alloc_failed: u64,
    pub eventbus_queue_full: u64,
    /// `in the window` or `in the log read`.
    pub over: &'static str,
}

/// A metrics verdict with what the server log says of the same thing: lines of `what` fire
/// the rule (or add to its evidence when it fires already); none add a line to a clear one,
/// and judge where the metrics could not.
fn corroborate(v: Verdict, log: Option<(u64, &'static str, &'static str)>, title: &str) -> Verdict {
    let Some((n, what, over)) = log else {
        return v;
    };
    let line = format!("server log: {n} \"{what}\" lines {over}");
    match v {
        Verdict::Firing {
            title,
            mut evidence,
            mut data,
        } => {
            evidence.push(line);
            data.insert("log_lines".into(), json!(n));
            Verdict::Firing {
                title,
                evidence,
                data,
            }
        }
        _ if n > 0 => Verdict::Firing {
            title: format!("{title}: {n} \"{what}\" lines in the server log {over}").into(),
            evidence: vec![line],
            data: data(&[("log_lines", json!(n)), ("over", json!(over))]),
        },
        Verdict::Clear {
            mut evidence,
            mut data,
        } => {
            evidence.push(line);
            data.insert("log_lines".into(), json!(n));
            Verdict::Clear { evidence, data }
        }
        Verdict::Missing(_) => clear(
            vec![line],
            &[("log_lines", json!(n)), ("over", json!(over))],
        ),
    }
}

/// One rule: what it is, once, as data; `check` decides.
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    /// What the rule detects (the title while it is not firing).
    pub title: &'static str,
    /// Where it applies, in words (for the document).
    pub applies: &'static str,
    /// The inputs it reads, in words (for the document).
    pub needs: &'static str,
    /// Whether its verdict rests on rates over the window.
    pub windowed: bool,
    pub explanation: &'static str,
    pub next_action: &'static str,
    check: fn(&Facts<'_>) -> Verdict,
}

/// Every rule, in the order verdicts of one severity are listed.
pub const RULES: &[Rule] = &[
    Rule {
        code: "target_down",
        severity: Severity::Critical,
        title: "Target down",
        applies: "every target read over the network",
        needs: "each target's last scrape attempt",
        windowed: false,
        explanation: "The last attempt to scrape the target failed (refused, timed out, an error status, a body too large): nothing it says now is known, and every figure of it is as old as its last answer.",
        next_action: "Check that the process runs and listens where kvscope looks (address, port, path), and read the error: a status names the server's complaint, a timeout a stalled or overloaded process.",
        check: target_down,
    },
    Rule {
        code: "target_stale",
        severity: Severity::Warning,
        title: "Target stale",
        applies: "every target read over the network or recorded",
        needs: "how scraping each target went, now and the poll interval",
        windowed: false,
        explanation: "A target that answered before but has given nothing new for three intervals is hanging or serving a frozen observation; every figure from it is old.",
        next_action: "Check the process (is it wedged?), the network path, and whether its /metrics answer changes between scrapes.",
        check: target_stale,
    },
    Rule {
        code: "scrape_too_slow",
        severity: Severity::Warning,
        title: "Scrape too slow",
        applies: "every target read over the network",
        needs: "each target's last scrape latency and the poll interval",
        windowed: false,
        explanation: "A scrape that takes half the interval or more leaves no slack: the next poll starts late, so figures lag and a slow exporter (a big /metrics, a busy event loop) is itself a symptom.",
        next_action: "Raise --interval, lower the series count (label cardinality), or look at what keeps the exporter busy.",
        check: scrape_too_slow,
    },
    Rule {
        code: "bad_data",
        severity: Severity::Warning,
        title: "Values in the data that cannot be right",
        applies: "every target",
        needs: "the stored samples (always available)",
        windowed: false,
        explanation: "A counter that is not finite, negative or shrinking without a restart, a series twice in one scrape, or a histogram that is not cumulative cannot be a measurement; figures resting on such values are shown as unknown, with the series named.",
        next_action: "Check the exporter: a counter must be a finite, non-negative number that only grows, each series must appear once per scrape, and bucket bounds must be numbers.",
        check: bad_data,
    },
    Rule {
        code: "eventbus_dropping",
        severity: Severity::Critical,
        title: "LMCache EventBus dropping events",
        applies: "LMCache MP server",
        needs: "lmcache_mp_event_bus_dropped_events_total over the window; the server log's \"EventBus queue full\" lines when given",
        windowed: true,
        explanation: "When the EventBus queue is full, events are dropped: metrics, traces and KV events lose data. Only drops in the window count, so an old burst does not fire forever.",
        next_action: "Raise --event-bus-queue-size or reduce --metrics-sample-rate; check what subscribes to the bus.",
        check: eventbus_dropping,
    },
    Rule {
        code: "periodic_threads_unhealthy",
        severity: Severity::Warning,
        title: "LMCache background threads not running on time",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /periodic-threads-health",
        windowed: false,
        explanation: "LMCache checks its own periodic threads (eviction, reaping, …); a thread that missed its schedule stops doing that work.",
        next_action: "Open GET /periodic-threads/<name> on the server for the last run's message, and read the server log around that time.",
        check: periodic_threads_unhealthy,
    },
    Rule {
        code: "stale_connector",
        severity: Severity::Warning,
        title: "Deprecated LMCache connector name",
        applies: "an engine",
        needs: "the engine's /metrics (connector labels)",
        windowed: false,
        explanation: "Old connector names keep working for a while but miss fixes and metrics of the current connectors.",
        next_action: "Configure LMCacheConnectorV1 (embedded) or LMCacheMPConnector (MP server).",
        check: stale_connector,
    },
    Rule {
        code: "external_prefix_no_hits",
        severity: Severity::Warning,
        title: "vLLM counting no external prefix hits while LMCache hits",
        applies: "vLLM with an LMCache MP server",
        needs: "LMCache lookup hit tokens, vllm:external_prefix_cache_queries/hits",
        windowed: false,
        explanation: "LMCache served hits, but the engine counts none from an external cache: either the two do not belong to one deployment, or this vLLM build does not report MP-connector hits there.",
        next_action: "Check that the engine and the LMCache server belong to one deployment, and whether this vLLM build reports MP-connector hits (compare prompt_tokens_by_source{source=\"external_kv_transfer\"}).",
        check: external_prefix_no_hits,
    },
    Rule {
        code: "required_family_missing",
        severity: Severity::Warning,
        title: "Required metric family without samples",
        applies: "every deployment (the matrix's required families)",
        needs: "the family matrix",
        windowed: false,
        explanation: "The matrix marks families the detected architecture must export; one without samples means a disabled exporter, a renamed metric, or no traffic yet.",
        next_action: "Many LMCache series appear only after their first event: send traffic, then check the exporter (--disable-metrics, OTLP push) and the name variants this build uses.",
        check: required_family_missing,
    },
    Rule {
        code: "l1_at_watermark",
        severity: Severity::Info,
        title: "L1 at its eviction watermark",
        applies: "LMCache MP server",
        needs: "lmcache_mp_l1_usage_ratio; the watermark and eviction ratio from /status (0.8 and 0.2 when not read); evictions in the window",
        windowed: true,
        explanation: "At the watermark LMCache evicts to make room; under steady load this is expected, but evictions of chunks asked for again cost hits. Each eviction frees a share of L1 (the eviction ratio, 0.2 unless /status says), so usage saws between the mark and the mark less that share: anywhere in that band while evicting in the window counts as at the mark, and the verdict does not flap with each scrape.",
        next_action: "If the hit rate falls as evictions rise, give L1 more memory or add an L2 adapter.",
        check: l1_at_watermark,
    },
    Rule {
        code: "low_lookup_hit_rate",
        severity: Severity::Info,
        title: "Low LMCache hit rate in the window",
        applies: "LMCache MP server",
        needs: "lookup requested and hit tokens over the window, after warm-up (4096 tokens)",
        windowed: true,
        explanation: "Few of the tokens looked up in the window were found. New prompts miss by nature; repeated prefixes should hit.",
        next_action: "For repeated prefixes, check cache_salt, model_name and chunk alignment, and whether evictions precede the misses.",
        check: low_lookup_hit_rate,
    },
    Rule {
        code: "eventbus_gauges_unverified",
        severity: Severity::Info,
        title: "EventBus depth and drain lag untrustworthy on this build",
        applies: "LMCache MP server",
        needs: "lmcache_mp_event_bus_queue_depth",
        windowed: false,
        explanation: "LMCache 0.5.6 registers these gauges on a disabled bus, so they read 0 whatever the live queue holds.",
        next_action: "Watch dropped events instead of depth.",
        check: eventbus_gauges_unverified,
    },
    Rule {
        code: "lmcache_unhealthy",
        severity: Severity::Critical,
        title: "LMCache says it is unhealthy",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /healthcheck",
        windowed: false,
        explanation: "The server's own health check failed: it may not serve lookups, stores or retrievals.",
        next_action: "Read the /healthcheck answer and the server log; restart the server if it does not recover.",
        check: lmcache_unhealthy,
    },
    Rule {
        code: "eventbus_thread_missing",
        severity: Severity::Warning,
        title: "No EventBus thread runs in LMCache",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /threads",
        windowed: false,
        explanation: "Without its thread the EventBus does not deliver events: metrics fed by events stop moving while the server works.",
        next_action: "Check whether observability is disabled in /config, and read the server log for an EventBus error at start.",
        check: eventbus_thread_missing,
    },
    Rule {
        code: "eventbus_subscriber_exceptions",
        severity: Severity::Warning,
        title: "EventBus subscribers raised exceptions",
        applies: "LMCache MP server",
        needs: "lmcache_mp_event_bus_subscriber_exceptions_total (since start)",
        windowed: false,
        explanation: "A subscriber that raises loses the event it was handling; what it feeds (metrics, traces) undercounts.",
        next_action: "Read the server log for the subscriber's traceback.",
        check: eventbus_subscriber_exceptions,
    },
    Rule {
        code: "eventbus_unobservable",
        severity: Severity::Warning,
        title: "LMCache's EventBus cannot be observed",
        applies: "LMCache MP server",
        needs: "lmcache_mp_event_bus_* self-metrics",
        windowed: false,
        explanation: "The bus's own counters are absent, so drops and subscriber failures would go unseen.",
        next_action: "Use an LMCache build that exports lmcache_mp_event_bus_* (0.5.6 and later) and keep metrics enabled.",
        check: eventbus_unobservable,
    },
    Rule {
        code: "l1_evicting",
        severity: Severity::Info,
        title: "L1 evicting in the window",
        applies: "LMCache MP server",
        needs: "lmcache_mp_l1 eviction counters over the window",
        windowed: true,
        explanation: "L1 made room by evicting chunks in the window. Expected while it fills; costly when evicted chunks are asked for again (the hit rate falls).",
        next_action: "If the window hit rate falls while L1 evicts, give L1 more memory or add an L2 adapter.",
        check: l1_evicting,
    },
    Rule {
        code: "prefetch_queue_saturated",
        severity: Severity::Warning,
        title: "LMCache's prefetch queue is saturated",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /status (prefetch in flight and its maximum)",
        windowed: false,
        explanation: "Every prefetch slot is taken: further L2 prefetches wait, and lookups that need L2 come back slower.",
        next_action: "Raise --prefetch-max-in-flight, or look for a slow L2 adapter.",
        check: prefetch_queue_saturated,
    },
    Rule {
        code: "cache_salt_empty",
        severity: Severity::Info,
        title: "Every lookup has an empty cache_salt",
        applies: "LMCache MP server",
        needs: "lmcache_mp_lookup_* by cache_salt",
        windowed: false,
        explanation: "Without a cache_salt all requests share one cache namespace: fine for one tenant, a leak between tenants otherwise.",
        next_action: "If several tenants share this server, have the engine pass a per-tenant cache_salt.",
        check: cache_salt_empty,
    },
    Rule {
        code: "cache_salt_cardinality_high",
        severity: Severity::Warning,
        title: "Many distinct cache_salt values",
        applies: "LMCache MP server",
        needs: "lmcache_mp_lookup_* by cache_salt",
        windowed: false,
        explanation: "Each salt value is its own series and its own cache namespace: thousands of them grow the metrics and split the cache so little is shared.",
        next_action: "Salt per tenant, not per request or user; check what the engine puts in cache_salt.",
        check: cache_salt_cardinality_high,
    },
    Rule {
        code: "lookup_counters_missing",
        severity: Severity::Warning,
        title: "L1 moves but LMCache's lookup counters are missing",
        applies: "LMCache MP server",
        needs: "lmcache_mp_lookup_* and lmcache_mp_l1 read/write counters",
        windowed: false,
        explanation: "L1 reads or writes show traffic, but no lookup counters exist: hit rates cannot be computed.",
        next_action: "Check the LMCache version and --disable-metrics; the lookup family appears after the first lookup on 0.5.6.",
        check: lookup_counters_missing,
    },
    Rule {
        code: "engine_kv_cache_full",
        severity: Severity::Warning,
        title: "The engine's KV cache is nearly full",
        applies: "an engine",
        needs: "vllm:kv_cache_usage_perc or sglang:token_usage",
        windowed: false,
        explanation: "A full GPU KV cache makes the engine preempt or queue requests; offloading to LMCache helps only if its hits come back fast.",
        next_action: "Look at the engine's queue and preemptions; reduce max batch size or add GPU memory.",
        check: engine_kv_cache_full,
    },
    Rule {
        code: "connector_without_lmcache_metrics",
        severity: Severity::Warning,
        title: "LMCache connector configured, no LMCache metrics",
        applies: "an engine configured with an LMCache connector or offload backend",
        needs: "connector labels, vLLM's cache_config_info, SGLang's cache_type, and LMCache metrics from any target",
        windowed: false,
        explanation: "The engine names LMCache, yet no LMCache metrics were read: not an MP server's, not lmcache:* on the engine, not the connector's own. Nothing about the cache can be judged, and LMCache may not be running at all.",
        next_action: "Give --lmcache with the MP server's /metrics; for embedded LMCache check that the engine's /metrics carries lmcache:* (LMCache's stats logger must be on).",
        check: connector_without_lmcache_metrics,
    },
    Rule {
        code: "engine_queue_pressure",
        severity: Severity::Warning,
        title: "Engine queue never empties",
        applies: "an engine",
        needs: "vllm:num_requests_waiting or sglang:num_queue_reqs over the window",
        windowed: true,
        explanation: "Requests waited at every scrape of the window: the engine is saturated, and a cache that saves prefill matters most here.",
        next_action: "Look at KV cache usage and preemptions; add capacity or raise the cache hit rate.",
        check: engine_queue_pressure,
    },
    Rule {
        code: "engine_old_metric_names",
        severity: Severity::Info,
        title: "Engine exports metric names of an older release",
        applies: "an engine",
        needs: "the exposed names of the engine's metrics",
        windowed: false,
        explanation: "Older vLLM builds export gpu_prefix_cache_* and gpu_cache_usage_perc; such a build predates external_prefix_cache_*, so kvscope does not expect the connector's hit counters there.",
        next_action: "Nothing to fix for kvscope; upgrading vLLM gives the external prefix-cache counters that show what LMCache supplied.",
        check: engine_old_metric_names,
    },
    Rule {
        code: "lookup_hits_without_loaded_tokens",
        severity: Severity::Warning,
        title: "Embedded LMCache finds hits but loads no tokens",
        applies: "LMCache embedded in an engine",
        needs: "lmcache:num_lookup_hits and lmcache:num_hit_tokens (over the window when there is one)",
        windowed: true,
        explanation: "Lookups find cached tokens, yet none are retrieved into the engine. Likely causes: the engine's own prefix cache already held the prefix (lmcache:num_vllm_hit_tokens rises), a minimum retrieve size larger than the hits, or a connector that does not match the LMCache build.",
        next_action: "Compare lmcache:num_vllm_hit_tokens with the lookup hits; check the connector name and LMCache's retrieve settings in the engine's launch command.",
        check: lookup_hits_without_loaded_tokens,
    },
    Rule {
        code: "embedded_unhealthy",
        severity: Severity::Critical,
        title: "Embedded LMCache says it is unhealthy",
        applies: "LMCache embedded in an engine",
        needs: "lmcache:lmcache_is_healthy",
        windowed: false,
        explanation: "LMCache's own health gauge reads 0 on a worker: it may have stopped storing or retrieving.",
        next_action: "Read the engine log for LMCache errors on that worker.",
        check: embedded_unhealthy,
    },
    Rule {
        code: "remote_backend_errors",
        severity: Severity::Warning,
        title: "Embedded LMCache's remote backend fails its pings",
        applies: "LMCache embedded in an engine, with a remote backend",
        needs: "lmcache:remote_ping_errors (over the window when there is one)",
        windowed: true,
        explanation: "The remote backend (Redis, LMCache server, …) does not answer LMCache's pings: reads and writes to it fail or wait.",
        next_action: "Check the remote backend's address and health; lmcache:remote_ping_error_code says how it failed.",
        check: remote_backend_errors,
    },
    Rule {
        code: "embedded_zero_hits",
        severity: Severity::Warning,
        title: "Embedded LMCache finds no hits",
        applies: "embedded LMCache (lmcache:* on an engine)",
        needs: "lmcache:num_lookup_tokens and lmcache:num_lookup_hits",
        windowed: true,
        explanation: "Past warm-up, lookups that never hit mean nothing stored is found again: the prompts do not repeat, the chunk size is larger than the shared prefixes, or the keys differ between store and lookup (PYTHONHASHSEED, model name).",
        next_action: "Send a prompt twice and watch lmcache:num_lookup_hits; check PYTHONHASHSEED and chunk_size.",
        check: embedded_zero_hits,
    },
    Rule {
        code: "embedded_slow_retrievals",
        severity: Severity::Warning,
        title: "Embedded LMCache retrievals slow",
        applies: "embedded LMCache",
        needs: "lmcache:num_slow_retrieval_by_time and lmcache:num_slow_retrieval_by_speed",
        windowed: true,
        explanation: "LMCache counts a retrieval as slow when it takes longer, or runs slower, than its configured limits; slow retrievals can cost more than recomputing the prefix.",
        next_action: "Look at lmcache:time_to_retrieve and the remote backend's latency (lmcache:remote_time_to_get).",
        check: embedded_slow_retrievals,
    },
    Rule {
        code: "p2p_transfer_slow",
        severity: Severity::Info,
        title: "P2P transfers slow",
        applies: "embedded LMCache sharing KV between instances (P2P)",
        needs: "lmcache:p2p_time_to_transfer in the window",
        windowed: true,
        explanation: "A P2P transfer that takes longer than recomputing the prefix gives no benefit; the 90th percentile shows what most requests pay.",
        next_action: "Check the network path between instances and the transfer channel's configuration.",
        check: p2p_transfer_slow,
    },
    Rule {
        code: "parse_errors",
        severity: Severity::Warning,
        title: "Exposition lines kvscope could not parse",
        applies: "every target",
        needs: "the parser's skipped lines (always available)",
        windowed: false,
        explanation: "Lines of a /metrics body that are not valid exposition text are skipped; what they carried is missing from every figure.",
        next_action: "The report's parse_errors lists the first bad lines per scrape with their line numbers: fix the exporter, or report a format kvscope should read.",
        check: parse_errors,
    },
    Rule {
        code: "l2_prefetch_failures",
        severity: Severity::Warning,
        title: "L2 prefetches failing",
        applies: "LMCache MP server with an L2 adapter",
        needs: "lmcache_mp_l2_prefetch_failure_chunks (over the window when there is one)",
        windowed: true,
        explanation: "Chunks LMCache tried to load from L2 did not arrive: those lookups miss although the data was stored.",
        next_action: "Check the L2 adapter's backend (disk space, network, credentials) and the server log for the adapter's errors.",
        check: l2_prefetch_failures,
    },
    Rule {
        code: "l2_store_backlog",
        severity: Severity::Warning,
        title: "L2 stores falling behind",
        applies: "LMCache MP server with an L2 adapter",
        needs: "L2 store requests submitted and completed, over the window; stores in flight",
        windowed: true,
        explanation: "More store requests were submitted than completed and some are still in flight: the L2 adapter does not keep up, and chunks evicted from L1 before they land in L2 are lost.",
        next_action: "Look at the L1→L2 store throughput; a slow backend needs more bandwidth or fewer stores (store policy).",
        check: l2_store_backlog,
    },
    Rule {
        code: "lookup_zero_hits_after_restart",
        severity: Severity::Warning,
        title: "No lookup hits since LMCache restarted",
        applies: "an LMCache MP server that restarted within the kept history",
        needs: "restarts seen in process_start_time_seconds, lookup requested and hit tokens since the restart",
        windowed: false,
        explanation: "After a restart L1 is empty, but the same prompts should hit again once they are stored. Zero hits past warm-up after a restart usually means the keys changed: a different PYTHONHASHSEED, model name or chunk size between the engine and the restarted server, or an L2 that did not survive.",
        next_action: "Compare PYTHONHASHSEED and the LMCache config before and after the restart; check that the engine reconnected to the new server.",
        check: lookup_zero_hits_after_restart,
    },
    Rule {
        code: "l1_memory_no_plateau",
        severity: Severity::Warning,
        title: "L1 memory keeps growing past its watermark",
        applies: "an LMCache MP server",
        needs: "lmcache_mp_l1_memory_usage_bytes over the window, lmcache_mp_l1_usage_ratio and the watermark (/status or the default)",
        windowed: true,
        explanation: "L1 should level off at the eviction watermark: eviction frees chunks as new ones arrive. Usage at or above the watermark that still rises at every scrape means eviction is not keeping up, and allocations will start to fail.",
        next_action: "Look at lmcache_mp_l1_eviction_loop_* and the server log for eviction errors; lower the watermark or give L1 more memory.",
        check: l1_memory_no_plateau,
    },
    Rule {
        code: "l1_failures",
        severity: Severity::Warning,
        title: "L1 allocation or read failures",
        applies: "an LMCache MP server",
        needs: "lmcache_mp_l1_allocation_failure_chunks and lmcache_mp_l1_read_failure_chunks; the server log's allocation failure lines when given",
        windowed: true,
        explanation: "An allocation failure drops a store (the chunk is never cached); a read failure turns a hit into a recompute. Either costs hit rate that the lookup counters do not show.",
        next_action: "Give L1 more memory (--l1-size-gb) or lower the eviction watermark; for read failures check the server log around the failures.",
        check: l1_failures,
    },
    Rule {
        code: "l2_load_backlog",
        severity: Severity::Warning,
        title: "L2 loads falling behind",
        applies: "an LMCache MP server with an L2 adapter",
        needs: "lmcache_mp_l2_prefetch_load_submitted_requests and lmcache_mp_l2_load_completed_requests",
        windowed: true,
        explanation: "Loads submitted and not completed, growing over the window, mean prefetches wait on L2: requests that should hit wait or miss instead.",
        next_action: "Check the L2 backend's latency and bandwidth (lmcache_mp_l2_load_throughput_GB_per_second) and its worker count.",
        check: l2_load_backlog,
    },
    Rule {
        code: "l2_throughput_low",
        severity: Severity::Info,
        title: "L2 transfer throughput low",
        applies: "an LMCache MP server with an L2 adapter",
        needs: "lmcache_mp_l2_store_throughput_GB_per_second and lmcache_mp_l2_load_throughput_GB_per_second in the window",
        windowed: true,
        explanation: "Throughput here is bytes over the time from submission to completion, queueing included; a low median means L2 transfers wait or the backend is slow, which bounds how fast L2 can refill L1.",
        next_action: "Compare with the backend's own figures; a queue (in-flight stores or loads) points at too few workers, a slow single transfer at the backend.",
        check: l2_throughput_low,
    },
    Rule {
        code: "l0_l1_throughput_low",
        severity: Severity::Info,
        title: "L0↔L1 transfer throughput low",
        applies: "an LMCache MP server",
        needs: "lmcache_mp_l0_l1_store_throughput_GB_per_second and lmcache_mp_l0_l1_load_throughput_GB_per_second in the window",
        windowed: true,
        explanation: "Moving KV between the GPU (L0) and CPU memory (L1) should run at PCIe speeds; a low median makes loading a hit slower than recomputing it.",
        next_action: "Check pinned memory, PCIe placement (NUMA) and contention on the GPU's copy engines.",
        check: l0_l1_throughput_low,
    },
    Rule {
        code: "sampled_histograms_empty",
        severity: Severity::Info,
        title: "Sampled histograms have no observations",
        applies: "an LMCache MP server that has served lookups",
        needs: "the matrix's sampled families and /config's metrics_sample_rate",
        windowed: false,
        explanation: "Lifecycle and reuse-gap histograms record only a sample of events (--metrics-sample-rate, 0.01 by default); with little traffic they stay empty, so miss attribution and reuse figures have nothing to scale.",
        next_action: "Expect them after about 1/rate events, or raise --metrics-sample-rate while investigating.",
        check: sampled_histograms_empty,
    },
    Rule {
        code: "trace_recording_without_file",
        severity: Severity::Warning,
        title: "Trace recording on without an output file",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /config (observability.trace_level, trace_output)",
        windowed: false,
        explanation: "LMCache records StorageManager calls at the configured level, but no .lct file is set to receive them.",
        next_action: "Set --trace-output to a writable path, or turn recording off (--trace-level off).",
        check: trace_recording_without_file,
    },
    Rule {
        code: "tracing_without_endpoint",
        severity: Severity::Warning,
        title: "Tracing on without an OTLP endpoint",
        applies: "LMCache MP server (HTTP routes)",
        needs: "GET /config (observability.tracing_enabled, otlp_endpoint)",
        windowed: false,
        explanation: "Spans are created (at a cost) but have nowhere to go.",
        next_action: "Set --otlp-endpoint to your collector, or turn tracing off.",
        check: tracing_without_endpoint,
    },
    Rule {
        code: "tracing_without_spans",
        severity: Severity::Warning,
        title: "Tracing on but no spans arrive",
        applies: "LMCache MP server with tracing on",
        needs: "GET /config and an OTel span export (--otel FILE)",
        windowed: false,
        explanation: "The server says tracing is on, yet the exported spans hold none of its requests: the exporter or the collector drops them.",
        next_action: "Check the collector's address and that it accepts OTLP gRPC.",
        check: tracing_without_spans,
    },
    Rule {
        code: "hash_seed_risk",
        severity: Severity::Warning,
        title: "Prefix hashes may differ between engine processes",
        applies: "an engine with LMCache",
        needs: "the engine's PYTHONHASHSEED: its launch command, environment or /server_info",
        windowed: false,
        explanation: "Without a fixed PYTHONHASHSEED each vLLM process hashes the same prefix differently, so a restarted or second engine finds nothing LMCache stored for another.",
        next_action: "Start every engine process with the same PYTHONHASHSEED.",
        check: hash_seed_risk,
    },
    Rule {
        code: "sglang_hicache_not_lmcache",
        severity: Severity::Info,
        title: "SGLang's HiCache is in use, not LMCache",
        applies: "SGLang",
        needs: "the engine's /metrics (HiCache families)",
        windowed: false,
        explanation: "HiCache is SGLang's own hierarchical KV cache; its hits are not LMCache's, and LMCache figures stay empty.",
        next_action: "If LMCache was meant, configure SGLang's LMCache connector; otherwise read HiCache's own metrics.",
        check: sglang_hicache_not_lmcache,
    },
    Rule {
        code: "unrecognised_names",
        severity: Severity::Info,
        title: "Metric names with known prefixes not in kvscope's catalog",
        applies: "every target",
        needs: "the stored samples (always available)",
        windowed: false,
        explanation: "A newer or older build may have renamed metrics; kvscope reads them only through its catalog.",
        next_action: "Report them so the catalog learns the variant.",
        check: unrecognised_names,
    },
];

/// State changes kept per rule.
pub const VERDICT_CHANGES: usize = 32;

/// Each rule's state changes as they were judged: (time, new state), oldest first, the last
/// [`VERDICT_CHANGES`] per rule. Filled by whoever judges over time (the live view at each
/// picture, a packet's report at each capture); serialised as `{code: [{at, state}]}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdicts(std::collections::BTreeMap<&'static str, Vec<(f64, State)>>);

impl Verdicts {
    /// Records, at `now`, each rule whose state differs from the last one recorded.
    pub fn note(&mut self, now: f64, rules: &[Finding]) {
        for r in rules {
            let changes = self.0.entry(r.code).or_default();
            if changes.last().map(|c| c.1) != Some(r.state) {
                changes.push((now, r.state));
                if changes.len() > VERDICT_CHANGES {
                    changes.remove(0);
                }
            }
        }
    }

    /// A rule's changes, oldest first.
    pub fn get(&self, code: &str) -> Option<&[(f64, State)]> {
        self.0.get(code).map(Vec::as_slice)
    }

    /// The changes noted before `t`: what judging up to `t` gives again (judging is
    /// deterministic), without judging.
    pub fn before(&self, t: f64) -> Verdicts {
        Verdicts(
            self.0
                .iter()
                .map(|(code, changes)| {
                    let kept: Vec<_> = changes.iter().filter(|c| c.0 < t).copied().collect();
                    (*code, kept)
                })
                .filter(|(_, changes)| !changes.is_empty())
                .collect(),
        )
    }

    /// When the rule's current state began (`None`: never judged).
    pub fn since(&self, code: &str) -> Option<f64> {
        self.get(code)?.last().map(|c| c.0)
    }
}

impl serde::Serialize for Verdicts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (code, changes) in &self.0 {
            let list: Vec<Value> = changes
                .iter()
                .map(|(t, state)| json!({"at": crate::timefmt::format_rfc3339(*t), "state": state}))
                .collect();
            m.serialize_entry(code, &list)?;
        }
        m.end()
    }
}

/// Evaluates every rule: all verdicts in table order, and the firing ones most severe first.
pub fn evaluate(facts: &Facts<'_>) -> Vec<Finding> {
    RULES.iter().map(|r| verdict(r, facts)).collect()
}

/// The firing verdicts among `rules`, most severe first.
pub fn firing(rules: &[Finding]) -> Vec<Finding> {
    let mut firing: Vec<Finding> = rules
        .iter()
        .filter(|f| f.state == State::Firing)
        .cloned()
        .collect();
    // Stable: within a severity, the order of RULES.
    firing.sort_by_key(|f| std::cmp::Reverse(f.severity));
    firing
}

fn verdict(rule: &Rule, facts: &Facts<'_>) -> Finding {
    let (state, title, missing, evidence, data) = match (rule.check)(facts) {
        Verdict::Firing {
            title,
            evidence,
            data,
        } => (State::Firing, title, Vec::new(), evidence, data),
        Verdict::Clear { evidence, data } => {
            (State::Clear, rule.title.into(), Vec::new(), evidence, data)
        }
        Verdict::Missing(missing) => (
            State::NotEvaluable,
            rule.title.into(),
            missing,
            Vec::new(),
            Map::new(),
        ),
    };
    Finding {
        code: rule.code,
        severity: rule.severity,
        state,
        title,
        missing_inputs: missing,
        window_seconds: rule.windowed.then_some(facts.window),
        evidence,
        evidence_data: data,
        explanation: rule.explanation,
        next_action: rule.next_action,
    }
}

/// `docs/findings.md`: every rule of the table.
pub fn document() -> String {
    let mut out = String::from(
        "# kvscope findings\n\nGenerated from the rule table (`src/analysis/findings.rs`); a test keeps this file in step.\n\nEvery rule gives a verdict whenever the analysis runs: `firing`, `clear`, or `not_evaluable`\nwith the inputs it lacks named. `kvscope report` lists every verdict in `rules[]` and the firing\nones in `findings[]`.\n",
    );
    out.push_str("\n## Thresholds\n\nSet in the config file's `[findings]` table (read by `watch`, `demo`, `replay`, and by\n`report --config FILE`), e.g. `low_hit_rate = 0.3`:\n\n| key | what | default |\n|---|---|---|\n");
    for (key, what, default) in Thresholds::keys() {
        out.push_str(&format!("| `{key}` | {what} | {default} |\n"));
    }
    for r in RULES {
        out.push_str(&format!(
            "\n## `{}` ({})\n\n{}.\n\n- Applies to: {}.\n- Reads: {}{}.\n- Why it matters: {}\n- Next action: {}\n",
            r.code,
            r.severity,
            r.title,
            r.applies,
            r.needs,
            if r.windowed {
                " (rates over the window)"
            } else {
                ""
            },
            r.explanation,
            r.next_action
        ));
    }
    out
}

fn data(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn clear(evidence: Vec<String>, pairs: &[(&str, Value)]) -> Verdict {
    Verdict::Clear {
        evidence,
        data: data(pairs),
    }
}

/// A figure's value, or what is missing: `name: why`.
fn need(name: &str, fig: &Fig) -> Result<f64, String> {
    fig.0.clone().map_err(|why| format!("{name}: {why}"))
}

/// The values of several figures, or every one that is missing.
fn needs<const N: usize>(figs: [(&str, &Fig); N]) -> Result<[f64; N], Verdict> {
    let mut out = [0.0; N];
    let mut missing = Vec::new();
    for (i, (name, fig)) in figs.iter().enumerate() {
        match need(name, fig) {
            Ok(v) => out[i] = v,
            Err(m) => missing.push(m),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(Verdict::Missing(missing))
    }
}

/// Rules that read the LMCache routes need an LMCache target, answered or not (the routes
/// are read apart from /metrics).
fn lmcache_given(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.lmcache_given == 0 {
        return Err(Verdict::Missing(vec![
            "an LMCache MP server (give --lmcache)".into(),
        ]));
    }
    Ok(())
}

/// Rules about the LMCache MP server's metrics need one that has answered.
fn lmcache_present(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.lmcache_targets == 0 {
        return Err(Verdict::Missing(vec![
            "an LMCache MP server's /metrics (give --lmcache; or it has not answered yet)".into(),
        ]));
    }
    Ok(())
}

fn target_down(c: &Facts<'_>) -> Verdict {
    let known: Vec<(&str, &crate::vocab::Health)> = c
        .targets
        .iter()
        .filter_map(|(n, h, _)| Some((*n, (*h)?)))
        .collect();
    if known.is_empty() {
        return Verdict::Missing(vec!["how scraping each target went".into()]);
    }
    let down: Vec<String> = known
        .iter()
        .filter_map(|(name, h)| {
            h.down().map(|why| {
                format!(
                    "{}: {} ({} failed attempts{})",
                    name,
                    why,
                    h.failures,
                    if h.last_ok.is_none() {
                        ", never answered"
                    } else {
                        ""
                    }
                )
            })
        })
        .collect();
    let pairs = [("down", json!(down.len())), ("targets", json!(known.len()))];
    if down.is_empty() {
        return clear(
            vec![format!(
                "{} targets answered their last attempt",
                known.len()
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: if down.len() == 1 {
            "A target is down".into()
        } else {
            format!("{} of {} targets are down", down.len(), known.len()).into()
        },
        evidence: down,
        data: data(&pairs),
    }
}

fn bad_data(c: &Facts<'_>) -> Verdict {
    let quality = c.quality;
    let n = quality.notes.len() as u64 + quality.not_kept;
    if n == 0 {
        return clear(vec![], &[("problems", json!(0))]);
    }
    let mut evidence: Vec<String> = quality
        .notes
        .iter()
        .take(5)
        .map(|n| format!("{}: {} {}", n.target, n.note.subject, n.note.problem))
        .collect();
    if n > 5 {
        evidence.push(format!("+{} more (the report lists them)", n - 5));
    }
    Verdict::Firing {
        title: format!("{n} problems in the data itself; figures resting on them are unknown")
            .into(),
        evidence,
        data: data(&[("problems", json!(n))]),
    }
}

fn eventbus_dropping(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let log = c
        .server_log
        .map(|l| (l.eventbus_queue_full, "EventBus queue full", l.over));
    corroborate(
        eventbus_dropping_metrics(c),
        log,
        "LMCache's EventBus is dropping events",
    )
}

fn eventbus_dropping_metrics(c: &Facts<'_>) -> Verdict {
    let bus = &c.lm.eventbus;
    let [rate, total] = match needs([
        ("EventBus drops in the window", &bus.dropped_per_s),
        ("EventBus drops since start", &bus.dropped_total),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("dropped_per_s", json!(rate)),
        ("dropped_total", json!(total)),
    ];
    let line = format!(
        "lmcache_mp_event_bus_dropped_events_total = {total:.0}; {rate:.2}/s in the window"
    );
    if rate > 0.0 {
        Verdict::Firing {
            title: format!("LMCache's EventBus is dropping events ({rate:.2}/s in the window)")
                .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn periodic_threads_unhealthy(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_given(c) {
        return v;
    }
    let http = &c.lm.http;
    match http.periodic_healthy {
        None => Verdict::Missing(vec![
            "GET /periodic-threads-health (read live; not read from files)".into(),
        ]),
        Some(true) => clear(
            vec!["GET /periodic-threads-health: healthy".into()],
            &[("healthy", json!(true))],
        ),
        Some(false) => {
            let mut evidence = vec!["GET /periodic-threads-health: healthy = false".to_string()];
            evidence.extend(http.periodic_unhealthy.iter().cloned());
            Verdict::Firing {
                title: "LMCache says some of its background threads are not running on time".into(),
                evidence,
                data: data(&[
                    ("healthy", json!(false)),
                    ("unhealthy", json!(http.periodic_unhealthy)),
                ]),
            }
        }
    }
}

fn stale_connector(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let found: Vec<String> = c
        .mode
        .stale_connector
        .iter()
        .map(|e| e.detail.clone())
        .collect();
    if found.is_empty() {
        return clear(vec![], &[("stale", json!([]))]);
    }
    Verdict::Firing {
        title: "A deprecated LMCache connector name is configured".into(),
        data: data(&[("stale", json!(found))]),
        evidence: found,
    }
}

fn external_prefix_no_hits(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let ext = &c.en.external_prefix_cache;
    let [h, q, e] = match needs([
        (
            "LMCache lookup hit tokens since start",
            &c.lm.lookup.hit_tokens.since_start,
        ),
        (
            "vllm:external_prefix_cache_queries_total",
            &ext.queries_total,
        ),
        ("vllm:external_prefix_cache_hits_total", &ext.hits_total),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("lmcache_hit_tokens", json!(h)),
        ("external_queries", json!(q)),
        ("external_hits", json!(e)),
    ];
    let lines = vec![
        format!("LMCache lookup hit tokens since start: {h:.0}"),
        format!("vllm:external_prefix_cache_hits_total = {e:.0} of {q:.0} queried tokens"),
    ];
    if e == 0.0 && h > 0.0 && q > 0.0 {
        Verdict::Firing {
            title: "vLLM counts no external prefix hits although LMCache reports hits".into(),
            evidence: lines,
            data: data(&pairs),
        }
    } else {
        clear(lines, &pairs)
    }
}

fn required_family_missing(c: &Facts<'_>) -> Verdict {
    let missing: Vec<&FamilyRow> = c
        .families
        .iter()
        .filter(|r| {
            r.need == Need::Required
                && matches!(r.status, Status::Missing | Status::DeclaredNoSamples)
        })
        .collect();
    if missing.is_empty() {
        return clear(vec![], &[("families", json!([]))]);
    }
    let ids: Vec<&str> = missing.iter().map(|f| f.id).collect();
    // LMCache creates these on their first event: before the first lookup, absence is normal.
    if !c.lookup_tokens_exported
        && ids
            .iter()
            .all(|id| crate::catalog::CREATED_ON_FIRST_EVENT.contains(id))
    {
        return Verdict::Missing(vec![format!(
            "traffic: {} appear with the first lookup, and there has been none",
            ids.join(", ")
        )]);
    }
    Verdict::Firing {
        title: if ids.len() == 1 {
            format!("{} has no samples", ids[0]).into()
        } else {
            format!("{} required families have no samples", ids.len()).into()
        },
        evidence: missing
            .iter()
            .map(|f| {
                format!(
                    "{}: {} in a {} deployment",
                    f.title,
                    f.status.as_str(),
                    c.mode.architecture
                )
            })
            .collect(),
        data: data(&[("families", json!(ids))]),
    }
}

fn l1_at_watermark(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let usage = match need("lmcache_mp_l1_usage_ratio", &l1.memory.usage_ratio) {
        Ok(u) => u,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let (mark, from) = match c.lm.http.eviction_watermark.value() {
        Some(w) => (w, "/status"),
        None => (L1_WATERMARK, "the default"),
    };
    let ev = l1.evicted_per_s.value();
    // Each eviction frees a share of L1: usage saws between the mark and the mark less that
    // share, and anywhere in that band while evicting is at the mark.
    let ratio =
        c.lm.http
            .eviction_ratio
            .value()
            .unwrap_or(L1_EVICTION_RATIO);
    let evicting_near = usage >= mark - ratio && ev.is_some_and(|e| e > 0.0);
    let pairs = [
        ("usage_ratio", json!(usage)),
        ("watermark", json!(mark)),
        ("watermark_from", json!(from)),
        ("eviction_ratio", json!(ratio)),
        ("evicted_per_s", json!(ev)),
    ];
    let ev_text = ev.map_or("unknown".into(), |e| format!("{e:.2} chunks/s"));
    let line = format!(
        "lmcache_mp_l1_usage_ratio = {usage:.3}; watermark {mark} ({from}), each eviction frees {ratio}; evictions in the window: {ev_text}"
    );
    if usage >= mark || evicting_near {
        Verdict::Firing {
            title: format!(
                "L1 is {:.0}% full, at its eviction watermark ({:.0}%, {from})",
                usage * 100.0,
                mark * 100.0
            )
            .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn low_lookup_hit_rate(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let lookup = &c.lm.lookup;
    let [rate, req] = match needs([
        ("the lookup hit rate in the window", &lookup.hit_rate.window),
        (
            "tokens looked up in the window",
            &lookup.requested_tokens.window,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => {
            // No lookups in the window gives no rate: warm-up, said as such.
            return match lookup.requested_tokens.window.value() {
                Some(r) if r < c.thresholds.warm_up_tokens => Verdict::Missing(vec![format!(
                    "warm-up: {:.0} tokens looked up in the window ({r:.0} so far)",
                    c.thresholds.warm_up_tokens
                )]),
                _ => v,
            };
        }
    };
    if req < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up in the window ({req:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("hit_rate", json!(rate)),
        ("requested_tokens", json!(req)),
        ("threshold", json!(c.thresholds.low_hit_rate)),
    ];
    let line = format!(
        "{:.1}% of {req:.0} tokens looked up in the window were hits",
        rate * 100.0
    );
    if rate < c.thresholds.low_hit_rate {
        Verdict::Firing {
            title: format!("LMCache hit rate in the window is {:.0}%", rate * 100.0).into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn eventbus_gauges_unverified(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let bus = &c.lm.eventbus;
    if let Err(m) = need("lmcache_mp_event_bus_queue_depth", &bus.queue_depth) {
        return Verdict::Missing(vec![m]);
    }
    let trust = json!(format!("{:?}", bus.gauges_trust).to_lowercase());
    if bus.gauges_trust == GaugeTrust::Unverified {
        Verdict::Firing {
            title: "EventBus depth and drain lag cannot be trusted on this build".into(),
            evidence: vec![bus.gauges_note.to_string()],
            data: data(&[("gauges", trust)]),
        }
    } else {
        clear(vec![], &[("gauges", trust)])
    }
}

fn unrecognised_names(c: &Facts<'_>) -> Verdict {
    if c.unrecognised.is_empty() {
        return clear(vec![], &[("names", json!(0))]);
    }
    let names: Vec<String> = c
        .unrecognised
        .iter()
        .take(5)
        .map(|u| u.name.clone())
        .collect();
    Verdict::Firing {
        title: format!(
            "{} metric names with known prefixes are not in kvscope's catalog",
            c.unrecognised.len()
        )
        .into(),
        data: data(&[("names", json!(c.unrecognised.len()))]),
        evidence: names,
    }
}

fn lmcache_unhealthy(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_given(c) {
        return v;
    }
    match c.lm.http.healthy {
        None => Verdict::Missing(vec![
            "GET /healthcheck (read live; not read from files)".into(),
        ]),
        Some(true) => clear(
            vec!["GET /healthcheck: 200".into()],
            &[("healthy", json!(true))],
        ),
        Some(false) => Verdict::Firing {
            title: "LMCache says it is unhealthy".into(),
            evidence: vec!["GET /healthcheck did not answer 200".into()],
            data: data(&[("healthy", json!(false))]),
        },
    }
}

fn eventbus_thread_missing(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_given(c) {
        return v;
    }
    let threads = c.lm.http.threads.len();
    match c.lm.http.event_bus_thread {
        None => Verdict::Missing(vec!["GET /threads (read live; not read from files)".into()]),
        Some(true) => clear(
            vec![format!("a thread named EventBus among {threads} threads")],
            &[
                ("event_bus_thread", json!(true)),
                ("threads", json!(threads)),
            ],
        ),
        Some(false) => Verdict::Firing {
            title: "No EventBus thread runs in LMCache".into(),
            evidence: vec![format!("no thread named EventBus among {threads} threads")],
            data: data(&[
                ("event_bus_thread", json!(false)),
                ("threads", json!(threads)),
            ]),
        },
    }
}

fn eventbus_subscriber_exceptions(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let n = match need(
        "lmcache_mp_event_bus_subscriber_exceptions_total",
        &c.lm.eventbus.subscriber_exceptions_total,
    ) {
        Ok(n) => n,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let pairs = [("exceptions_total", json!(n))];
    let line = format!("lmcache_mp_event_bus_subscriber_exceptions_total = {n:.0}");
    if n > 0.0 {
        Verdict::Firing {
            title: format!("EventBus subscribers raised {n:.0} exceptions").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn eventbus_unobservable(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    match &c.lm.eventbus.dropped_total.0 {
        Ok(_) => clear(vec![], &[("self_metrics", json!(true))]),
        Err(why) => Verdict::Firing {
            title: "LMCache's EventBus cannot be observed".into(),
            evidence: vec![format!("EventBus drop counter: {why}")],
            data: data(&[("self_metrics", json!(false))]),
        },
    }
}

fn l1_evicting(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let rate = match need("L1 evictions in the window", &c.lm.l1.evicted_per_s) {
        Ok(r) => r,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let hit = c.lm.lookup.hit_rate.window.value();
    let pairs = [
        ("evicted_per_s", json!(rate)),
        ("window_hit_rate", json!(hit)),
    ];
    let hit_text = hit.map_or("unknown".into(), |h| format!("{:.1}%", h * 100.0));
    let line = format!("{rate:.2} chunks/s evicted in the window; window hit rate {hit_text}");
    if rate > 0.0 {
        Verdict::Firing {
            title: format!("L1 is evicting {rate:.2} chunks/s").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn prefetch_queue_saturated(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_given(c) {
        return v;
    }
    let http = &c.lm.http;
    let [inflight, max] = match needs([
        ("/status prefetch in flight", &http.prefetch_in_flight),
        (
            "/status prefetch maximum in flight",
            &http.prefetch_max_in_flight,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("in_flight", json!(inflight)),
        ("max_in_flight", json!(max)),
    ];
    let line = format!("{inflight:.0} of {max:.0} prefetches in flight (/status)");
    if max > 0.0 && inflight >= max {
        Verdict::Firing {
            title: "LMCache's prefetch queue is saturated".into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// The cache_salt values of the lookup counters, or what is missing.
fn salts<'a>(c: &'a Facts<'_>) -> Result<Vec<Option<&'a str>>, Verdict> {
    lmcache_present(c)?;
    let rows = &c.lm.lookup.by_cache_salt;
    if rows.is_empty() {
        return Err(Verdict::Missing(vec![
            "lmcache_mp_lookup_requested_tokens_total by cache_salt: no series yet".into(),
        ]));
    }
    Ok(rows.iter().map(|r| r.value.as_deref()).collect())
}

fn cache_salt_empty(c: &Facts<'_>) -> Verdict {
    let values = match salts(c) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let empty = values.iter().all(|v| v.is_none_or(str::is_empty));
    let pairs = [("distinct_values", json!(values.len()))];
    if empty {
        Verdict::Firing {
            title: "Every lookup has an empty cache_salt".into(),
            evidence: vec!["lmcache_mp_lookup_* carry cache_salt=\"\" (or none) only".into()],
            data: data(&pairs),
        }
    } else {
        clear(
            vec![format!("{} distinct cache_salt values", values.len())],
            &pairs,
        )
    }
}

fn cache_salt_cardinality_high(c: &Facts<'_>) -> Verdict {
    let values = match salts(c) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let n = values.len();
    let high = c.thresholds.cache_salts_high;
    let pairs = [("distinct_values", json!(n)), ("threshold", json!(high))];
    let line = format!("{n} distinct cache_salt values (more than {high} is high)");
    if n as f64 > high {
        Verdict::Firing {
            title: format!("{n} distinct cache_salt values").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn lookup_counters_missing(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let traffic = [&l1.reads.since_start, &l1.writes.since_start]
        .iter()
        .filter_map(|f| f.value())
        .sum::<f64>();
    // Absent, not merely unusable: a bad value is bad_data's to report.
    let absent = !c.lookup_tokens_exported;
    let pairs = [
        ("l1_reads_and_writes", json!(traffic)),
        ("lookup_tokens_exported", json!(!absent)),
    ];
    if absent && traffic > 0.0 {
        Verdict::Firing {
            title: "L1 moves but LMCache's lookup counters are missing".into(),
            evidence: vec![
                format!("{traffic:.0} L1 chunk reads and writes since start"),
                "no lmcache_mp_lookup_requested_tokens_total series".into(),
            ],
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}

fn engine_kv_cache_full(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let usage = match need("the engine's KV cache usage", &c.en.kv_usage_ratio) {
        Ok(u) => u,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let pairs = [
        ("kv_usage_ratio", json!(usage)),
        ("threshold", json!(c.thresholds.kv_cache_full)),
    ];
    let line = format!("KV cache usage {:.1}%", usage * 100.0);
    if usage >= c.thresholds.kv_cache_full {
        Verdict::Firing {
            title: format!("The engine's KV cache is {:.0}% full", usage * 100.0).into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// The window figure when there is one, else the one since start, and which it was.
fn windowed_or_total(p: &super::aggregate::Pair) -> Result<(f64, &'static str), String> {
    match (&p.window.0, &p.since_start.0) {
        (Ok(w), _) => Ok((*w, "in the window")),
        (Err(_), Ok(t)) => Ok((*t, "since start (no window yet)")),
        (Err(e), Err(_)) => Err(e.clone()),
    }
}

/// Embedded rules need `lmcache:*` on some engine.
fn embedded_present(c: &Facts<'_>) -> Result<(), Verdict> {
    if c.emb.present {
        Ok(())
    } else {
        Err(Verdict::Missing(vec![
            "lmcache:* metrics on an engine's /metrics (embedded LMCache)".into(),
        ]))
    }
}

fn lookup_hits_without_loaded_tokens(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let (hits, over) = match windowed_or_total(&c.emb.lookup_hit_tokens) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("lmcache:num_lookup_hits: {e}")]),
    };
    let loaded = match (&c.emb.hit_tokens.window.0, &c.emb.hit_tokens.since_start.0) {
        (Ok(w), _) if over == "in the window" => *w,
        (_, Ok(t)) => *t,
        (_, Err(e)) => return Verdict::Missing(vec![format!("lmcache:num_hit_tokens: {e}")]),
    };
    let engine_hits = c.emb.engine_hit_tokens.since_start.value();
    let pairs = [
        ("lookup_hit_tokens", json!(hits)),
        ("hit_tokens", json!(loaded)),
        ("engine_hit_tokens", json!(engine_hits)),
        ("over", json!(over)),
    ];
    let line = format!("{hits:.0} lookup hit tokens and {loaded:.0} tokens retrieved {over}");
    if hits > 0.0 && loaded == 0.0 {
        let mut evidence = vec![line];
        if let Some(e) = engine_hits {
            evidence.push(format!("lmcache:num_vllm_hit_tokens since start: {e:.0}"));
        }
        Verdict::Firing {
            title: "Embedded LMCache finds hits but loads no tokens".into(),
            evidence,
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn embedded_unhealthy(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let h = match need("lmcache:lmcache_is_healthy", &c.emb.healthy) {
        Ok(h) => h,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    let pairs = [("lowest_is_healthy", json!(h))];
    if h < 1.0 {
        Verdict::Firing {
            title: "Embedded LMCache says it is unhealthy".into(),
            evidence: vec![format!(
                "lmcache:lmcache_is_healthy = {h} on at least one worker"
            )],
            data: data(&pairs),
        }
    } else {
        clear(
            vec!["lmcache:lmcache_is_healthy = 1 on every worker".into()],
            &pairs,
        )
    }
}

fn remote_backend_errors(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let (errors, over) = match windowed_or_total(&c.emb.remote_ping_errors) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("lmcache:remote_ping_errors: {e}")]),
    };
    let pairs = [("ping_errors", json!(errors)), ("over", json!(over))];
    let line = format!("{errors:.0} remote ping errors {over}");
    if errors > 0.0 {
        Verdict::Firing {
            title: format!("Embedded LMCache's remote backend failed {errors:.0} pings").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn parse_errors(c: &Facts<'_>) -> Verdict {
    let pairs = [("lines_skipped", json!(c.lines_skipped))];
    if c.lines_skipped == 0 {
        return clear(vec![], &pairs);
    }
    Verdict::Firing {
        title: format!("{} exposition lines could not be parsed", c.lines_skipped).into(),
        evidence: vec![format!(
            "{} lines skipped (the report's parse_errors names them)",
            c.lines_skipped
        )],
        data: data(&pairs),
    }
}

fn l2_prefetch_failures(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let (n, over) = match windowed_or_total(&c.lm.l2.prefetch_failures) {
        Ok(v) => v,
        Err(e) => return Verdict::Missing(vec![format!("L2 prefetch failures: {e}")]),
    };
    let pairs = [("failed_chunks", json!(n)), ("over", json!(over))];
    let line = format!("{n:.0} L2 prefetch chunks failed {over}");
    if n > 0.0 {
        Verdict::Firing {
            title: format!("{n:.0} L2 prefetch chunks failed {over}").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn l2_store_backlog(c: &Facts<'_>) -> Verdict {
    backlog(c, "store", &c.lm.l2.store_backlog, &c.lm.l2.inflight_stores)
}

/// L2 requests of one kind (`what`: store, load) falling behind: sustained, i.e. behind
/// already at the window's start, further behind now, and still in flight.
fn backlog(c: &Facts<'_>, what: &str, pending: &super::aggregate::Pair, inflight: &Fig) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let submitted = format!("L2 {what}s submitted − completed");
    let in_flight = format!("L2 {what}s in flight");
    let [backlog, grew, inflight] = match needs([
        (submitted.as_str(), &pending.since_start),
        (
            "the growth of that backlog over the window (two scrapes at least)",
            &pending.window,
        ),
        (in_flight.as_str(), inflight),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let pairs = [
        ("not_completed", json!(backlog)),
        ("grew_in_window", json!(grew)),
        ("in_flight", json!(inflight)),
    ];
    let line = format!(
        "{backlog:.0} {what} requests not completed ({grew:+.0} over the window); {inflight:.0} in flight now"
    );
    if backlog - grew > 0.0 && grew > 0.0 && inflight > 0.0 {
        Verdict::Firing {
            title: format!("L2 {what}s falling behind: {backlog:.0} not completed").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// `/config`'s observability settings, or what is missing.
fn observability<'a>(c: &'a Facts<'_>) -> Result<&'a super::http_facts::Observability, Verdict> {
    lmcache_given(c)?;
    c.lm.http
        .observability
        .as_ref()
        .ok_or_else(|| Verdict::Missing(vec!["GET /config (read live; report --routes)".into()]))
}

fn trace_recording_without_file(c: &Facts<'_>) -> Verdict {
    let o = match observability(c) {
        Ok(o) => o,
        Err(v) => return v,
    };
    let level = o.trace_level.as_deref().unwrap_or("off");
    let recording = !matches!(level, "off" | "none" | "disabled");
    let pairs = [
        ("trace_level", json!(level)),
        ("trace_output", json!(o.trace_output)),
    ];
    let line = format!(
        "trace_level {level}, trace_output {}",
        o.trace_output.as_deref().unwrap_or("unset")
    );
    if recording && o.trace_output.is_none() {
        Verdict::Firing {
            title: "Trace recording is on without an output file".into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn tracing_without_endpoint(c: &Facts<'_>) -> Verdict {
    let o = match observability(c) {
        Ok(o) => o,
        Err(v) => return v,
    };
    let on = o.tracing_enabled == Some(true);
    let pairs = [
        ("tracing_enabled", json!(o.tracing_enabled)),
        ("otlp_endpoint", json!(o.otlp_endpoint)),
    ];
    let line = format!(
        "tracing_enabled {}, otlp_endpoint {}",
        o.tracing_enabled.map_or("unset".into(), |b| b.to_string()),
        o.otlp_endpoint.as_deref().unwrap_or("unset")
    );
    if on && o.otlp_endpoint.is_none() {
        Verdict::Firing {
            title: "Tracing is on without an OTLP endpoint".into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn tracing_without_spans(c: &Facts<'_>) -> Verdict {
    let o = match observability(c) {
        Ok(o) => o,
        Err(v) => return v,
    };
    let on = o.tracing_enabled == Some(true);
    let Some(spans) = c.lmcache_spans.filter(|_| on) else {
        if !on {
            let pairs = [("tracing_enabled", json!(o.tracing_enabled))];
            return clear(vec!["tracing is off in /config".into()], &pairs);
        }
        return Verdict::Missing(vec![
            "an OTel span export from the collector LMCache sends to (--otel FILE)".into(),
        ]);
    };
    let pairs = [
        ("tracing_enabled", json!(true)),
        ("lmcache_spans", json!(spans)),
    ];
    let line = format!(
        "tracing_enabled true, otlp_endpoint {}; {spans} LMCache spans in the export",
        o.otlp_endpoint.as_deref().unwrap_or("unset")
    );
    if spans == 0 {
        Verdict::Firing {
            title: "Tracing is on, but the span export holds no LMCache span".into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn hash_seed_risk(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 && !c.emb.present {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    Verdict::Missing(vec![
        "the engine's PYTHONHASHSEED: its launch command or log (not read yet), vLLM's /server_info (not read), or its environment".into(),
    ])
}

fn sglang_hicache_not_lmcache(c: &Facts<'_>) -> Verdict {
    use crate::catalog::Feature;
    if c.mode.engine != Some(crate::vocab::EngineKind::Sglang) {
        return Verdict::Missing(vec!["an SGLang engine's /metrics".into()]);
    }
    let hicache = c
        .mode
        .features
        .iter()
        .any(|f| matches!(f, Feature::HiCache | Feature::HiCacheStorage));
    let lmcache = c.lmcache_targets > 0 || c.emb.present;
    let pairs = [("hicache", json!(hicache)), ("lmcache", json!(lmcache))];
    if hicache && !lmcache {
        Verdict::Firing {
            title: "SGLang's HiCache is in use, not LMCache".into(),
            evidence: vec!["HiCache families in the engine's /metrics; no LMCache metrics".into()],
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}

/// The clock, or what is missing.
fn clock(c: &Facts<'_>) -> Result<super::Clock, Verdict> {
    c.clock.ok_or_else(|| {
        Verdict::Missing(vec![
            "now and the poll interval (two timed scrapes of a target, or a live session)".into(),
        ])
    })
}

fn target_stale(c: &Facts<'_>) -> Verdict {
    use crate::vocab::TargetState;
    let clock = match clock(c) {
        Ok(k) => k,
        Err(v) => return v,
    };
    // A target scraped once and never failing is a snapshot (a file, a recorded answer), not
    // a feed that stopped: it is not judged.
    let (known, snapshots): (Vec<_>, Vec<_>) = c
        .targets
        .iter()
        .filter_map(|(n, h, scrapes)| Some((*n, (*h)?, *scrapes)))
        .filter(|(_, h, _)| h.last_ok.is_some())
        .partition(|(_, h, scrapes)| *scrapes > 1 || h.failures > 0);
    if known.is_empty() {
        return Verdict::Missing(vec![if snapshots.is_empty() {
            "a target that has answered at least once".into()
        } else {
            "a target polled more than once (each was read once)".into()
        }]);
    }
    let stale: Vec<String> = known
        .iter()
        .filter(|(_, h, _)| h.state(clock.now, clock.interval) == TargetState::Stale)
        .map(|(name, h, _)| {
            format!(
                "{name}: nothing new for {:.0} s (interval {:.1} s)",
                clock.now - h.last_ok.unwrap_or(clock.now),
                clock.interval
            )
        })
        .collect();
    let pairs = [
        ("stale", json!(stale.len())),
        ("targets", json!(known.len())),
        ("snapshots", json!(snapshots.len())),
        ("now", json!(clock.now)),
        ("interval", json!(clock.interval)),
    ];
    if stale.is_empty() {
        return clear(
            vec![format!(
                "every target answered within three intervals of {:.1} s",
                clock.interval
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: if stale.len() == 1 {
            "A target has given nothing new for three intervals".into()
        } else {
            format!(
                "{} targets have given nothing new for three intervals",
                stale.len()
            )
            .into()
        },
        evidence: stale,
        data: data(&pairs),
    }
}

fn scrape_too_slow(c: &Facts<'_>) -> Verdict {
    let clock = match clock(c) {
        Ok(k) => k,
        Err(v) => return v,
    };
    let timed: Vec<(&str, f64)> = c
        .targets
        .iter()
        .filter_map(|(n, h, _)| Some((*n, (*h)?.last_latency?)))
        .collect();
    if timed.is_empty() {
        return Verdict::Missing(vec![
            "scrape latencies (measured live; files carry none)".into(),
        ]);
    }
    let limit = clock.interval / 2.0;
    let slow: Vec<String> = timed
        .iter()
        .filter(|(_, l)| *l >= limit)
        .map(|(n, l)| format!("{n}: {l:.2} s of a {:.1} s interval", clock.interval))
        .collect();
    let slowest = timed.iter().map(|t| t.1).fold(0.0, f64::max);
    let pairs = [
        ("slowest_seconds", json!(slowest)),
        ("interval", json!(clock.interval)),
        ("slow", json!(slow.len())),
    ];
    if slow.is_empty() {
        return clear(
            vec![format!(
                "slowest last scrape {slowest:.3} s of a {:.1} s interval",
                clock.interval
            )],
            &pairs,
        );
    }
    Verdict::Firing {
        title: format!(
            "Scrapes take half the {:.1} s interval or more",
            clock.interval
        )
        .into(),
        evidence: slow,
        data: data(&pairs),
    }
}

fn lookup_zero_hits_after_restart(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let restarts = c.lm.restarts;
    if restarts == 0 {
        return clear(
            vec!["no restart in the kept history".into()],
            &[("restarts", json!(0))],
        );
    }
    let [req, hits] = match needs([
        (
            "tokens looked up since the restart",
            &c.lm.lookup.requested_tokens.since_start,
        ),
        (
            "lookup hit tokens since the restart",
            &c.lm.lookup.hit_tokens.since_start,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    if req < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up since the restart ({req:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("restarts", json!(restarts)),
        ("requested_tokens", json!(req)),
        ("hit_tokens", json!(hits)),
    ];
    let line = format!("{hits:.0} of {req:.0} tokens looked up since the restart were hits");
    if hits == 0.0 {
        Verdict::Firing {
            title: format!("No lookup hits in {req:.0} tokens since LMCache restarted").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn l1_memory_no_plateau(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let l1 = &c.lm.l1;
    let [usage, change] = match needs([
        ("lmcache_mp_l1_usage_ratio", &l1.memory.usage_ratio),
        ("L1 used bytes over the window", &l1.used_bytes_trend.change),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let mark = c.lm.http.eviction_watermark.value().unwrap_or(L1_WATERMARK);
    let rising = l1.used_bytes_trend.rose_every_scrape == Some(true);
    let scrapes = l1.used_bytes_trend.scrapes;
    let pairs = [
        ("usage_ratio", json!(usage)),
        ("watermark", json!(mark)),
        ("change_bytes", json!(change)),
        ("rose_every_scrape", json!(rising)),
        ("scrapes", json!(scrapes)),
    ];
    let line = format!(
        "L1 {:.1}% full (watermark {:.0}%); {change:+.0} bytes over {scrapes} scrapes{}",
        usage * 100.0,
        mark * 100.0,
        if rising { ", up at every one" } else { "" }
    );
    if usage >= mark && rising && scrapes >= 3 {
        Verdict::Firing {
            title: format!(
                "L1 is {:.0}% full and still growing at every scrape",
                usage * 100.0
            )
            .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

/// A failure counter that fires when it moved: over the window when there is one, else since
/// start.
fn failures(pairs_of: &[(&str, &super::aggregate::Pair)], title: &str) -> Verdict {
    let mut total = 0.0;
    let mut over = "in the window";
    let mut lines = Vec::new();
    let mut values = Map::new();
    for (name, p) in pairs_of {
        match windowed_or_total(p) {
            Ok((n, o)) => {
                total += n;
                over = o;
                lines.push(format!("{name}: {n:.0} {o}"));
                values.insert(name.to_string(), json!(n));
            }
            Err(e) => return Verdict::Missing(vec![format!("{name}: {e}")]),
        }
    }
    values.insert("over".into(), json!(over));
    if total > 0.0 {
        Verdict::Firing {
            title: format!("{title}: {total:.0} {over}").into(),
            evidence: lines,
            data: values,
        }
    } else {
        Verdict::Clear {
            evidence: lines,
            data: values,
        }
    }
}

fn l1_failures(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let metrics = failures(
        &[
            ("allocation_failures", &c.lm.l1.allocation_failures),
            ("read_failures", &c.lm.l1.read_failures),
        ],
        "L1 failed chunks",
    );
    let log = c.server_log.map(|l| {
        (
            l.l1_alloc_failed,
            "Failed to batched allocate … memory blocks",
            l.over,
        )
    });
    corroborate(metrics, log, "L1 cannot allocate")
}

fn l2_load_backlog(c: &Facts<'_>) -> Verdict {
    backlog(c, "load", &c.lm.l2.load_backlog, &c.lm.l2.inflight_loads)
}

/// Fires when a transfer direction's median throughput in the window is below the threshold.
fn throughput_low(
    c: &Facts<'_>,
    dirs: [(&str, &super::aggregate::Distribution); 2],
    what: &str,
) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let limit = c.thresholds.low_throughput_gbs;
    let mut lines = Vec::new();
    let mut slow = Vec::new();
    let mut values = Map::new();
    let mut missing = Vec::new();
    for (name, d) in dirs {
        match (&d.window.p50.0, &d.window.count.0) {
            (Ok(p50), Ok(n)) => {
                lines.push(format!(
                    "{name}: median {p50:.3} GB/s over {n:.0} transfers in the window"
                ));
                values.insert(format!("{name}_p50_gbs"), json!(p50));
                if *p50 < limit {
                    slow.push(name);
                }
            }
            (Err(e), _) | (_, Err(e)) => missing.push(format!("{name} throughput: {e}")),
        }
    }
    if lines.is_empty() {
        return Verdict::Missing(missing);
    }
    values.insert("threshold_gbs".into(), json!(limit));
    if slow.is_empty() {
        Verdict::Clear {
            evidence: lines,
            data: values,
        }
    } else {
        Verdict::Firing {
            title: format!("{what} {} median below {limit} GB/s", slow.join(" and ")).into(),
            evidence: lines,
            data: values,
        }
    }
}

fn l2_throughput_low(c: &Facts<'_>) -> Verdict {
    let l2 = &c.lm.l2;
    throughput_low(
        c,
        [
            ("store", &l2.store_throughput_gbs),
            ("load", &l2.load_throughput_gbs),
        ],
        "L2",
    )
}

fn l0_l1_throughput_low(c: &Facts<'_>) -> Verdict {
    let t = &c.lm.l0_l1;
    throughput_low(
        c,
        [
            ("store", &t.store_throughput_gbs),
            ("load", &t.load_throughput_gbs),
        ],
        "L0↔L1",
    )
}

fn sampled_histograms_empty(c: &Facts<'_>) -> Verdict {
    if let Err(v) = lmcache_present(c) {
        return v;
    }
    let lookups = match need(
        "tokens looked up since start",
        &c.lm.lookup.requested_tokens.since_start,
    ) {
        Ok(n) => n,
        Err(m) => return Verdict::Missing(vec![m]),
    };
    if lookups == 0.0 {
        return Verdict::Missing(vec!["traffic: no lookups yet".into()]);
    }
    let sampled: Vec<&FamilyRow> = c
        .families
        .iter()
        .filter(|f| f.sampled && f.id.starts_with("lmcache_mp.") && f.need != Need::NotApplicable)
        .collect();
    let empty: Vec<&str> = sampled
        .iter()
        .filter(|f| f.status != Status::Populated)
        .map(|f| f.id)
        .collect();
    let rate = c.lm.http.metrics_sample_rate.value();
    let rate_text = rate.map_or(
        "LMCache's default 0.01 unless --metrics-sample-rate was set (/config not read)".into(),
        |r| format!("{r} (/config)"),
    );
    let pairs = [
        ("empty", json!(empty)),
        ("sampled_families", json!(sampled.len())),
        ("sample_rate", json!(rate)),
    ];
    let line = format!(
        "{} of {} sampled families have no observations; sample rate {rate_text}",
        empty.len(),
        sampled.len()
    );
    // Every event recorded: an empty family is one whose events did not happen, not sampling.
    if empty.is_empty() || rate.is_some_and(|r| r >= 1.0) {
        clear(vec![line], &pairs)
    } else {
        Verdict::Firing {
            title: format!(
                "{} sampled histogram families have no observations",
                empty.len()
            )
            .into(),
            evidence: vec![line, empty.join(", ")],
            data: data(&pairs),
        }
    }
}

fn connector_without_lmcache_metrics(c: &Facts<'_>) -> Verdict {
    use super::Signal;
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let names_lmcache: Vec<&str> = c
        .mode
        .evidence
        .iter()
        .filter(|e| match e.signal {
            Signal::ConnectorLabel | Signal::SglangCacheType => e.detail.contains("LMC"),
            Signal::LmcacheOffloadShortcut => true,
            _ => false,
        })
        .map(|e| e.detail.as_str())
        .collect();
    let metrics = c.mode.evidence.iter().any(|e| {
        matches!(
            e.signal,
            Signal::LmcacheMpMetrics
                | Signal::LmcacheEmbeddedMetrics
                | Signal::LmcacheMpConnectorMetrics
        )
    });
    let pairs = [
        ("configured", json!(names_lmcache)),
        ("lmcache_metrics", json!(metrics)),
    ];
    if !names_lmcache.is_empty() && !metrics {
        let mut evidence: Vec<String> = names_lmcache.iter().map(|d| d.to_string()).collect();
        evidence.push("no lmcache_mp_*, lmcache:* or vllm:lmcache_mp_* series in any input".into());
        Verdict::Firing {
            title: "The engine is set up for LMCache, but no LMCache metrics were read".into(),
            evidence,
            data: data(&pairs),
        }
    } else {
        clear(vec![], &pairs)
    }
}

fn engine_queue_pressure(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let q = &c.en.queues;
    let [min, now] = match needs([
        (
            "the fewest waiting requests in the window",
            &q.waiting_trend.min,
        ),
        ("waiting requests now", &q.waiting),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let running = q.running.value();
    let pairs = [
        ("waiting_now", json!(now)),
        ("waiting_min_in_window", json!(min)),
        ("running_now", json!(running)),
        ("scrapes", json!(q.waiting_trend.scrapes)),
    ];
    let line = format!(
        "{now:.0} requests waiting now ({} running); never fewer than {min:.0} over {} scrapes",
        running.map_or("unknown".into(), |r| format!("{r:.0}")),
        q.waiting_trend.scrapes
    );
    if min > 0.0 {
        Verdict::Firing {
            title: format!("Requests waited at every scrape of the window ({now:.0} now)").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn engine_old_metric_names(c: &Facts<'_>) -> Verdict {
    if c.engine_targets == 0 {
        return Verdict::Missing(vec![
            "an engine's /metrics (give --engine; or it has not answered yet)".into(),
        ]);
    }
    let seen: Vec<&str> = c
        .families
        .iter()
        .flat_map(|f| f.metrics.iter().flat_map(|m| m.names.iter()))
        .filter(|n| {
            crate::catalog::PREDATES
                .iter()
                .any(|p| n.starts_with(p.old_name))
        })
        .map(String::as_str)
        .collect();
    let pairs = [("old_names", json!(seen))];
    if seen.is_empty() {
        return clear(vec![], &pairs);
    }
    let mut evidence: Vec<String> = seen.iter().map(|n| format!("exports {n}")).collect();
    evidence.extend(c.families.iter().filter_map(|f| {
        f.why_not_required
            .as_ref()
            .map(|w| format!("{}: {w}", f.id))
    }));
    Verdict::Firing {
        title: "The engine exports metric names of an older release".into(),
        evidence,
        data: data(&pairs),
    }
}

fn embedded_zero_hits(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let [looked, hits] = match needs([
        (
            "lmcache:num_lookup_tokens in the window",
            &c.emb.lookup_tokens.window,
        ),
        (
            "lmcache:num_lookup_hits in the window",
            &c.emb.lookup_hit_tokens.window,
        ),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    if looked < c.thresholds.warm_up_tokens {
        return Verdict::Missing(vec![format!(
            "warm-up: {:.0} tokens looked up in the window ({looked:.0} so far)",
            c.thresholds.warm_up_tokens
        )]);
    }
    let pairs = [
        ("lookup_tokens", json!(looked)),
        ("lookup_hits", json!(hits)),
    ];
    let line = format!("{hits:.0} of {looked:.0} tokens looked up in the window were hits");
    if hits == 0.0 {
        Verdict::Firing {
            title: format!("Embedded LMCache found no hits in {looked:.0} tokens").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}

fn embedded_slow_retrievals(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    failures(
        &[
            ("slow_by_time", &c.emb.slow_retrievals_by_time),
            ("slow_by_speed", &c.emb.slow_retrievals_by_speed),
        ],
        "Slow embedded retrievals",
    )
}

fn p2p_transfer_slow(c: &Facts<'_>) -> Verdict {
    if let Err(v) = embedded_present(c) {
        return v;
    }
    let w = &c.emb.p2p_transfer_time.window;
    let [p90, n] = match needs([
        ("lmcache:p2p_time_to_transfer p90 in the window", &w.p90),
        ("P2P transfers in the window", &w.count),
    ]) {
        Ok(v) => v,
        Err(v) => return v,
    };
    let limit = c.thresholds.slow_transfer_seconds;
    let pairs = [
        ("p90_seconds", json!(p90)),
        ("transfers", json!(n)),
        ("threshold_seconds", json!(limit)),
    ];
    let line = format!("90% of {n:.0} P2P transfers in the window took up to {p90:.3} s");
    if p90 > limit {
        Verdict::Firing {
            title: format!("P2P transfers slow: p90 {p90:.2} s").into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}
