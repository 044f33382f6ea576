//! The LMCache server's own word through its HTTP routes: health, periodic threads, the connector, tracing and trace recording.

use super::{Facts, Rule, Severity, Verdict, clear, data, lmcache_given};
use super::{ONLY_MATRIX, ONLY_ROUTES, Prom};
use serde_json::json;

pub(super) const PERIODIC_THREADS_UNHEALTHY: Rule = Rule {
    code: "periodic_threads_unhealthy",
    severity: Severity::Warning,
    title: "LMCache background threads not running on time",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /periodic-threads-health",
    windowed: false,
    hold: 10.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "LMCache checks its own periodic threads (eviction, reaping, …); a thread that missed its schedule stops doing that work.",
    next_action: "Open GET /periodic-threads/<name> on the server for the last run's message, and read the server log around that time.",
    check: periodic_threads_unhealthy,
};

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

pub(super) const STALE_CONNECTOR: Rule = Rule {
    code: "stale_connector",
    severity: Severity::Warning,
    title: "Deprecated LMCache connector name",
    applies: "an engine",
    needs: "the engine's /metrics (connector labels)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_MATRIX),
    explanation: "Old connector names keep working for a while but miss fixes and metrics of the current connectors.",
    next_action: "Configure LMCacheConnectorV1 (embedded) or LMCacheMPConnector (MP server).",
    check: stale_connector,
};

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

pub(super) const LMCACHE_UNHEALTHY: Rule = Rule {
    code: "lmcache_unhealthy",
    severity: Severity::Critical,
    title: "LMCache says it is unhealthy",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /healthcheck",
    windowed: false,
    hold: 10.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "The server's own health check failed: it may not serve lookups, stores or retrievals.",
    next_action: "Read the /healthcheck answer and the server log; restart the server if it does not recover.",
    check: lmcache_unhealthy,
};

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

pub(super) const TRACE_RECORDING_WITHOUT_FILE: Rule = Rule {
    code: "trace_recording_without_file",
    severity: Severity::Warning,
    title: "Trace recording on without an output file",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /config (observability.trace_level, trace_output)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "LMCache records StorageManager calls at the configured level, but no .lct file is set to receive them.",
    next_action: "Set --trace-output to a writable path, or turn recording off (--trace-level off).",
    check: trace_recording_without_file,
};

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

pub(super) const TRACING_WITHOUT_ENDPOINT: Rule = Rule {
    code: "tracing_without_endpoint",
    severity: Severity::Warning,
    title: "Tracing on without an OTLP endpoint",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /config (observability.tracing_enabled, otlp_endpoint)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "Spans are created (at a cost) but have nowhere to go.",
    next_action: "Set --otlp-endpoint to your collector, or turn tracing off.",
    check: tracing_without_endpoint,
};

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

pub(super) const TRACING_WITHOUT_SPANS: Rule = Rule {
    code: "tracing_without_spans",
    severity: Severity::Warning,
    title: "Tracing on but no spans arrive",
    applies: "LMCache MP server with tracing on",
    needs: "GET /config and an OTel span export (--otel FILE)",
    windowed: false,
    hold: 30.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "The server says tracing is on, yet the exported spans hold none of its requests: the exporter or the collector drops them.",
    next_action: "Check the collector's address and that it accepts OTLP gRPC.",
    check: tracing_without_spans,
};

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

/// `/config`'s observability settings, or what is missing.
fn observability<'a>(
    c: &'a Facts<'_>,
) -> Result<&'a crate::analysis::http_facts::Observability, Verdict> {
    lmcache_given(c)?;
    c.lm.http
        .observability
        .as_ref()
        .ok_or_else(|| Verdict::Missing(vec!["GET /config (read live; report --routes)".into()]))
}
