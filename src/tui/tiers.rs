//! The L1 / L2 and EventBus panes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph};

use super::app::{App, Pane};
use super::panes::{chart_room, summed};
use super::widgets::{block, fit, fit_line, pane_text, percent_chart, text_with_spark};

pub(super) fn draw_memory(f: &mut Frame, area: Rect, app: &App) {
    let b = block(app, Pane::Memory);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    draw_l1_gauge(f, gauge, app);
    let lm = &app.shown.analysis.lmcache;
    let mut lines = server_lines(app);
    if lm.by_target.len() > 1 {
        // What belongs to each target: its pool, its watermark, its prefetch queue.
        for t in &lm.by_target {
            let (mark, _) = watermark(&t.http);
            lines.push(Line::from(format!(
                "{}: L1 {} of {} ({}) · evicts from {:.0}% · prefetch {}",
                super::widgets::short_name(&t.target),
                t.l1.used_bytes.bytes(),
                t.l1.total_bytes.bytes(),
                t.l1.usage_ratio.percent(),
                mark * 100.0,
                t.http.prefetch_in_flight_line()
            )));
        }
    }
    lines.extend(memory_lines(lm, app.window));
    let history = &app.shown.history.targets;
    if let Some((top, chart)) = chart_room(text, lines.len()) {
        // L1 usage over time, against the level where it starts evicting.
        f.render_widget(
            Paragraph::new(fit(lines, top.width)).style(app.theme.text),
            top,
        );
        let series: Vec<(&str, &[Option<f64>])> = history
            .iter()
            .map(|t| (t.target.as_str(), t.l1_usage.as_slice()))
            .collect();
        let (mark, source) = watermark(&lm.http);
        let label = format!("evicts from {:.0}% ({source})", mark * 100.0);
        percent_chart(f, chart, app, &series, Some((mark, label)), app.theme.good);
        return;
    }
    // L1 evictions per second, scaled to the busiest interval shown.
    let series: Vec<(&str, &[Option<f64>])> = history
        .iter()
        .map(|t| (t.target.as_str(), t.evictions_per_s.as_slice()))
        .collect();
    text_with_spark(f, text, lines, app, &series, None, app.theme.warn);
}

/// What the server says of itself: `/status`'s facts (where its routes were read) and, with
/// its log, how long retrievals and stores took.
fn server_lines(app: &App) -> Vec<Line<'static>> {
    let lm = &app.shown.analysis.lmcache;
    let mut lines = Vec::new();
    if lm.http.target.is_some() {
        // What /status says of the server, where its routes were read.
        lines.push(Line::from(Span::styled(
            lm.http.server.strip(),
            app.theme.info,
        )));
    }
    if let Some(log) = &app.shown.analysis.evidence.server_log {
        let each = |t: &crate::evidence::lines::Transfers| {
            let (each, per_s) = t.rates()?;
            Some(format!("{} × {each:.3} s ({per_s:.0} tokens/s)", t.lines))
        };
        if let (Some(r), s) = (each(&log.retrieved), each(&log.stored)) {
            let stored = s.map(|s| format!(" · stored {s}")).unwrap_or_default();
            lines.push(Line::from(Span::styled(
                format!("server log: retrieved {r}{stored}"),
                app.theme.info,
            )));
        }
    }
    lines
}

/// L1 as a gauge coloured by the eviction watermark (summed over targets when several).
fn draw_l1_gauge(f: &mut Frame, area: Rect, app: &App) {
    let lm = &app.shown.analysis.lmcache;
    let l1 = &lm.l1;
    let (mark, source) = watermark(&lm.http);
    let Some(r) = l1.memory.usage_ratio.value() else {
        let used = l1.memory.used_bytes.bytes();
        let text = format!("L1 used {used} (usage ratio not exported)");
        f.render_widget(Paragraph::new(fit_line(Line::from(text), area.width)), area);
        return;
    };
    let (used, total) = (l1.memory.used_bytes.bytes(), l1.memory.total_bytes.bytes());
    let label = if lm.by_target.len() > 1 {
        format!("L1 {used} of {total} ({:.1}%){}", r * 100.0, summed(app))
    } else {
        format!(
            "L1 {used} of {total} ({:.1}%) · evicts from {:.0}% ({source})",
            r * 100.0,
            mark * 100.0
        )
    };
    let style = if r >= mark {
        app.theme.warn
    } else {
        app.theme.good
    };
    // The label first, the bar in the columns it leaves: a bar drawn under its label would
    // run into it.
    let label = fit_line(Line::from(label), area.width.saturating_sub(8)).to_string();
    let gauge = LineGauge::default()
        .ratio(r.clamp(0.0, 1.0))
        .label(label)
        .filled_style(style)
        .unfilled_style(app.theme.dim);
    f.render_widget(gauge, area);
}

/// Evictions, L2, the prefetch queue and the tier-to-tier throughputs.
fn memory_lines(lm: &crate::analysis::figures::LmcacheFigures, window: f64) -> Vec<Line<'static>> {
    let over = crate::timefmt::format_duration(window);
    let (l1, l2, http) = (&lm.l1, &lm.l2, &lm.http);
    let tp = |d: &crate::analysis::aggregate::Distribution| {
        let s = &d.since_start;
        let shown = crate::analysis::aggregate::Summary::shown;
        format!(
            "mean {} p50 {} p99 {} GB/s",
            s.mean.count(),
            shown(&s.p50, s.p50_bucket),
            shown(&s.p99, s.p99_bucket)
        )
    };
    let prefetch = if lm.by_target.len() > 1 {
        "prefetch queues: per target above".to_string()
    } else {
        format!(
            "prefetch queue {} submitted · {} pending · in flight {}",
            http.prefetch_submission_queue.count(),
            http.prefetch_pending_queue.count(),
            http.prefetch_in_flight_line()
        )
    };
    let lines = [
        format!(
            "evicted {} since start · {}/s over {over} · {} triggers",
            l1.evicted.since_start.count(),
            l1.evicted_per_s.count(),
            l1.eviction_triggers.since_start.count()
        ),
        format!(
            "L2 adapters {} · used {} · in flight {} stores {} loads",
            l2.adapters_active.count(),
            l2.used_bytes.bytes(),
            l2.inflight_stores.count(),
            l2.inflight_loads.count()
        ),
        format!(
            "L2 stores {}/s · loads {}/s over {over}",
            l2.store_requests_per_s.count(),
            l2.load_requests_per_s.count()
        ),
        prefetch,
        format!("L1→L2 {}", tp(&l2.store_throughput_gbs)),
        format!("L2→L1 {}", tp(&l2.load_throughput_gbs)),
        format!("L0→L1 {}", tp(&lm.l0_l1.store_throughput_gbs)),
        format!("L1→L0 {}", tp(&lm.l0_l1.load_throughput_gbs)),
    ];
    lines.into_iter().map(Line::from).collect()
}

/// Where a target's L1 starts evicting: `/status`'s watermark, else LMCache's default.
fn watermark(http: &crate::analysis::http_facts::HttpFacts) -> (f64, &'static str) {
    match http.eviction_watermark.value() {
        Some(w) => (w, "/status"),
        None => (crate::analysis::findings::L1_WATERMARK, "default"),
    }
}

pub(super) fn draw_eventbus(f: &mut Frame, area: Rect, app: &App) {
    let lm = &app.shown.analysis.lmcache;
    let eb = &lm.eventbus;
    // The depth is summed over targets, so its bound is the sum of their queue sizes.
    let queue_size = lm
        .by_target
        .iter()
        .map(|t| t.http.event_bus_queue_size.value())
        .sum::<Option<f64>>()
        .filter(|_| !lm.by_target.is_empty())
        .map_or("?".into(), |q| format!("{q:.0}"));
    let lines = if eb.queue_depth.value().is_none() && eb.dropped_total.value().is_none() {
        vec![Line::from(Span::styled(
            "unobservable: no EventBus metrics in the input",
            app.theme.dim,
        ))]
    } else {
        let drops = eb.dropped_total.value().unwrap_or(0.0);
        vec![
            Line::from(vec![
                Span::raw(format!(
                    "dropped {} ({}/s)",
                    eb.dropped_total.count(),
                    eb.dropped_per_s.count()
                )),
                Span::styled(
                    format!(
                        "  subscriber errors {}",
                        eb.subscriber_exceptions_total.count()
                    ),
                    app.theme.dim,
                ),
            ])
            .style(if drops > 0.0 {
                app.theme.bad
            } else {
                app.theme.good
            }),
            Line::from(vec![
                Span::raw(format!(
                    "depth {} of {queue_size} · drain lag {} s  ",
                    eb.queue_depth.count(),
                    eb.drain_lag_seconds.count()
                )),
                Span::styled(eb.gauges_trust.as_str(), app.theme.warn),
            ]),
            Line::from(Span::styled(eb.gauges_note, app.theme.dim)),
        ]
    };
    let mut lines = lines;
    let threads: Vec<bool> = lm
        .by_target
        .iter()
        .filter_map(|t| t.http.event_bus_thread)
        .collect();
    let running = threads.iter().filter(|r| **r).count();
    match (threads.len(), running) {
        (0, _) => {}
        (1, 1) => lines.push(Line::from(Span::styled(
            "EventBus thread running (/threads)",
            app.theme.dim,
        ))),
        (1, _) => lines.push(Line::from(Span::styled(
            "no thread named EventBus in /threads",
            app.theme.dim,
        ))),
        (n, k) => lines.push(Line::from(Span::styled(
            format!("EventBus thread running on {k} of {n} targets (/threads)"),
            if k < n { app.theme.warn } else { app.theme.dim },
        ))),
    }
    let b = block(app, Pane::EventBus);
    let inner = b.inner(area);
    f.render_widget(b, area);
    pane_text(f, inner, lines, app.theme.text, true, "");
}
