//! LMCache's EventBus: dropped events, subscriber exceptions, its thread, and whether its gauges can be believed.

use super::{
    Facts, Rule, Severity, Verdict, clear, corroborate, data, lmcache_given, lmcache_present, need,
    needs,
};
use super::{ONLY_BUILD, ONLY_ROUTES, Prom};
use crate::analysis::figures::GaugeTrust;
use crate::metric;
use crate::promql;
use serde_json::json;

pub(super) const EVENTBUS_DROPPING: Rule = Rule {
    code: "eventbus_dropping",
    severity: Severity::Critical,
    title: "LMCache EventBus dropping events",
    applies: "LMCache MP server",
    needs: "lmcache_mp_event_bus_dropped_events_total over the window; the server log's \"EventBus queue full\" lines when given",
    windowed: true,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        format!(
            "{} > 0",
            promql::delta(c, metric!("lmcache_mp.eventbus", "dropped"))
        )
    }),
    explanation: "When the EventBus queue is full, events are dropped: metrics, traces and KV events lose data. Only drops in the window count, so an old burst does not fire forever.",
    next_action: "Raise --event-bus-queue-size or reduce --metrics-sample-rate; check what subscribes to the bus.",
    check: eventbus_dropping,
};

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

pub(super) const EVENTBUS_GAUGES_UNVERIFIED: Rule = Rule {
    code: "eventbus_gauges_unverified",
    severity: Severity::Info,
    title: "EventBus depth and drain lag untrustworthy on this build",
    applies: "LMCache MP server",
    needs: "lmcache_mp_event_bus_queue_depth",
    windowed: false,
    hold: 0.0,
    prom: Prom::Only(ONLY_BUILD),
    explanation: "LMCache 0.4.6 to 0.5.7rc2 register these gauges on the disabled bus that exists before the server starts its own, so they read 0 whatever the live queue holds.",
    next_action: "Watch dropped events instead of depth.",
    check: eventbus_gauges_unverified,
};

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

pub(super) const EVENTBUS_THREAD_MISSING: Rule = Rule {
    code: "eventbus_thread_missing",
    severity: Severity::Warning,
    title: "No EventBus thread runs in LMCache",
    applies: "LMCache MP server (HTTP routes)",
    needs: "GET /threads",
    windowed: false,
    hold: 15.0,
    prom: Prom::Only(ONLY_ROUTES),
    explanation: "Without its thread the EventBus does not deliver events: metrics fed by events stop moving while the server works.",
    next_action: "Check whether observability is disabled in /config, and read the server log for an EventBus error at start.",
    check: eventbus_thread_missing,
};

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

pub(super) const EVENTBUS_SUBSCRIBER_EXCEPTIONS: Rule = Rule {
    code: "eventbus_subscriber_exceptions",
    severity: Severity::Warning,
    title: "EventBus subscribers raised exceptions",
    applies: "LMCache MP server",
    needs: "lmcache_mp_event_bus_subscriber_exceptions_total (since start)",
    windowed: false,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        format!(
            "{} > 0",
            promql::now(c, metric!("lmcache_mp.eventbus", "subscriber_exceptions"))
        )
    }),
    explanation: "A subscriber that raises loses the event it was handling; what it feeds (metrics, traces) undercounts.",
    next_action: "Read the server log for the subscriber's traceback.",
    check: eventbus_subscriber_exceptions,
};

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

pub(super) const EVENTBUS_UNOBSERVABLE: Rule = Rule {
    code: "eventbus_unobservable",
    severity: Severity::Warning,
    title: "LMCache's EventBus cannot be observed",
    applies: "LMCache MP server",
    needs: "lmcache_mp_event_bus_* self-metrics",
    windowed: false,
    hold: 0.0,
    prom: Prom::Alert(|c, _| {
        promql::absent_from(
            c,
            metric!("lmcache_mp.l1_memory", "used_bytes"),
            metric!("lmcache_mp.eventbus", "dropped"),
        )
    }),
    explanation: "The bus's own counters are absent, so drops and subscriber failures would go unseen.",
    next_action: "Use an LMCache build that exports lmcache_mp_event_bus_* (0.5.6 and later) and keep metrics enabled.",
    check: eventbus_unobservable,
};

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
    let over = crate::timefmt::format_duration(c.window);
    let line =
        format!("lmcache_mp_event_bus_dropped_events_total = {total:.0}; {rate:.2}/s over {over}");
    if rate > 0.0 {
        Verdict::Firing {
            title: format!("LMCache's EventBus is dropping events ({rate:.2}/s over {over})")
                .into(),
            evidence: vec![line],
            data: data(&pairs),
        }
    } else {
        clear(vec![line], &pairs)
    }
}
