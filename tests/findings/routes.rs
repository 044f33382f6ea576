//! Rule cases read from LMCache's HTTP routes, server log lines and span exports, on the
//! real capture's answers changed where said.

use super::*;

const LM: TargetRef = TargetRef {
    role: Role::Lmcache,
    index: 0,
};

fn http(name: &str) -> String {
    std::fs::read_to_string(common::fixture(&format!(
        "lmcache-0.5.6-cpu-run1/http/{name}"
    )))
    .unwrap()
}

/// The real capture's t0..=t31 and its route answers (each `(route, status, body)`), applied at
/// the last scrape's time.
fn with_routes(routes: &[(Route, u16, String)]) -> Value {
    with_routes_and(routes, vec![])
}

/// [`with_routes`], then `more` events.
fn with_routes_and(routes: &[(Route, u16, String)], more: Vec<Event>) -> Value {
    let mut m = Model::new(&["lmcache".into()], &[], 64);
    m.thresholds = kvscope::analysis::findings::Thresholds::at_once();
    let mut last = 0.0;
    for (path, time) in common::run1_timeline(31) {
        last = time.unwrap();
        m.apply(Event::Scrape {
            target: LM,
            time,
            body: std::fs::read(path).unwrap(),
            format: None,
            origin: "test".into(),
        })
        .unwrap();
    }
    for (route, status, body) in routes {
        m.apply(Event::Route {
            target: LM,
            route: *route,
            flavor: Flavor::Current,
            time: last,
            result: Ok((*status, body.clone().into_bytes())),
        })
        .unwrap();
    }
    for e in more {
        m.apply(e).unwrap();
    }
    report(&m)
}

/// A span export beside the LMCache target, read at once.
fn spans(body: Vec<u8>) -> Event {
    Event::Evidence {
        target: LM,
        time: None,
        stream: kvscope::vocab::Stream::Otel,
        fresh: true,
        body,
        origin: "spans".into(),
    }
}

/// The server log beside the real capture: as it is, no line says the bus or L1 failed, and
/// the rules stay clear with that said; with one line of each kind added (hand-made from the
/// format strings in LMCache's source), both fire, the log named as the evidence.
#[test]
pub fn server_log_lines_fire_eventbus_and_l1_rules() {
    let log = std::fs::read(common::fixture("lmcache-0.5.6-cpu-run1/server.log")).unwrap();
    let server_log = |body: Vec<u8>| Event::Evidence {
        target: LM,
        time: None,
        stream: kvscope::vocab::Stream::ServerLog,
        fresh: true,
        body,
        origin: "server.log".into(),
    };
    let r = with_routes_and(&real_routes(), vec![server_log(log.clone())]);
    for code in ["eventbus_dropping", "l1_failures"] {
        assert_eq!(state(&r, code), "clear", "{}", rule(&r, code));
        assert!(
            rule(&r, code)["evidence"]
                .to_string()
                .contains("server log: 0"),
            "{}",
            rule(&r, code)
        );
    }
    let mut bad = log;
    bad.extend_from_slice(b"[2026-11-22 07:25:33,001] LMCache WARNING: EventBus queue full (max_queue_size=4), 12 event(s) discarded so far (event_bus.py:201:lmcache.v1.mp_observability.event_bus)\n");
    bad.extend_from_slice(b"[2026-11-22 07:25:33,002] LMCache WARNING: Failed to batched allocate 8 memory blocks of size 1048576 because no enough memory is available (short by 3 blocks) (tensor_memory_allocator.py:500:lmcache.v1.memory_management)\n");
    let r = with_routes_and(&real_routes(), vec![server_log(bad)]);
    for code in ["eventbus_dropping", "l1_failures"] {
        assert_eq!(state(&r, code), "firing", "{}", rule(&r, code));
        assert!(
            rule(&r, code)["evidence"]
                .to_string()
                .contains("server log: 1"),
            "{}",
            rule(&r, code)
        );
    }
}

/// Tracing on in /config: LMCache's spans in the export clear the rule, an export of other
/// services' spans only fires it, no export leaves it unjudged; tracing off clears it. The
/// export is hand-made (fixtures/otel-handmade), the rest real.
#[test]
pub fn tracing_without_spans_reads_the_span_export() {
    let on: Vec<_> = real_routes()
        .into_iter()
        .map(|(r, st, b)| {
            if r == Route::Config {
                (
                    r,
                    st,
                    json_set(&b, "observability.tracing_enabled", true.into()),
                )
            } else {
                (r, st, b)
            }
        })
        .collect();
    let export = std::fs::read(common::fixture("otel-handmade/spans.otlp.jsonl")).unwrap();
    let r = with_routes_and(&on, vec![spans(export)]);
    assert_eq!(
        state(&r, "tracing_without_spans"),
        "clear",
        "{}",
        rule(&r, "tracing_without_spans")
    );
    let others = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"ab","spanId":"cd","name":"GET /v1/completions","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}"#;
    let r = with_routes_and(&on, vec![spans(others.to_vec())]);
    assert_eq!(
        state(&r, "tracing_without_spans"),
        "firing",
        "{}",
        rule(&r, "tracing_without_spans")
    );
    let r = with_routes(&on);
    assert_eq!(state(&r, "tracing_without_spans"), "not_evaluable");
    let r = with_routes(&real_routes());
    assert_eq!(state(&r, "tracing_without_spans"), "clear");
}

/// The real capture's answers, as recorded.
fn real_routes() -> Vec<(Route, u16, String)> {
    vec![
        (Route::Healthcheck, 200, http("healthcheck.json")),
        (Route::Status, 200, http("status.json")),
        (Route::Config, 200, http("config.json")),
        (Route::Threads, 200, http("threads.txt")),
        (
            Route::PeriodicThreadsHealth,
            200,
            http("periodic-threads-health.json"),
        ),
    ]
}

/// The real answers with one changed by `f`.
fn changed(route: Route, f: impl Fn(&str) -> (u16, String)) -> Value {
    let routes: Vec<_> = real_routes()
        .into_iter()
        .map(|(r, s, b)| {
            if r == route {
                (r, f(&b).0, f(&b).1)
            } else {
                (r, s, b)
            }
        })
        .collect();
    with_routes(&routes)
}

/// A JSON body with `path` (dotted) set to `v`.
fn json_set(body: &str, path: &str, v: Value) -> String {
    let mut j: Value = serde_json::from_str(body).unwrap();
    let mut at = &mut j;
    for k in path.split('.') {
        at = &mut at[k];
    }
    *at = v;
    j.to_string()
}

/// The real answers clear every route rule; each changed answer (derived) fires one.
#[test]
pub fn route_rules_fire_and_clear() {
    let r = with_routes(&real_routes());
    for code in [
        "lmcache_unhealthy",
        "eventbus_thread_missing",
        "prefetch_queue_saturated",
        "trace_recording_without_file",
        "tracing_without_endpoint",
        "periodic_threads_unhealthy",
    ] {
        assert_eq!(state(&r, code), "clear", "{}", rule(&r, code));
    }
    let fires = |r: Value, code: &str| assert_eq!(state(&r, code), "firing", "{}", rule(&r, code));
    fires(
        changed(Route::Healthcheck, |b| (503, b.to_string())),
        "lmcache_unhealthy",
    );
    fires(
        changed(Route::Threads, |b| (200, b.replace("EventBus", "Worker"))),
        "eventbus_thread_missing",
    );
    fires(
        changed(Route::Status, |b| {
            let path = "storage_manager.prefetch_controller.in_flight_request_count";
            (200, json_set(b, path, 8.into()))
        }),
        "prefetch_queue_saturated",
    );
    fires(
        changed(Route::Config, |b| {
            (200, json_set(b, "observability.trace_output", Value::Null))
        }),
        "trace_recording_without_file",
    );
    fires(
        changed(Route::Config, |b| {
            (
                200,
                json_set(b, "observability.tracing_enabled", true.into()),
            )
        }),
        "tracing_without_endpoint",
    );
    fires(
        changed(Route::PeriodicThreadsHealth, |_| {
            let body = r#"{"healthy":false,"unhealthy_count":1,"unhealthy_threads":[{"name":"lmcache-mp-worker-reaper"}]}"#;
            (200, body.into())
        }),
        "periodic_threads_unhealthy",
    );
}
