//! Rendering: a pure function of the app state. One function per pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Row, Sparkline, Table, Wrap};

use super::app::{App, Pane};
use crate::analysis::Fig;
use crate::analysis::findings::Severity;
use crate::analysis::matrix::Status;
use crate::model::{Role, TargetState};
use crate::sanitize::clean;
use crate::units;

/// Smallest area anything is drawn in.
const MIN_W: u16 = 30;
const MIN_H: u16 = 8;

fn pct(f: &Fig) -> String {
    units::percent(f.value())
}

fn num(f: &Fig) -> String {
    units::count(f.value())
}

fn bytes(f: &Fig) -> String {
    units::bytes(f.value())
}

fn block<'a>(app: &App, pane: Pane) -> Block<'a> {
    let focused = app.view.focus == pane;
    let style = if focused {
        app.theme.focus
    } else {
        app.theme.dim
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(
            format!(" {} ", pane.title()),
            if focused {
                app.theme.focus
            } else {
                app.theme.title
            },
        ))
}

/// Which panes a layout shows, and where.
fn layout(area: Rect, app: &App) -> (Rect, Vec<(Pane, Rect)>, Rect, Vec<Pane>) {
    let targets = app.model.targets().count() as u16;
    let header_h = 1 + targets.min(4) + u16::from(app.note.is_some());
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let full = area.width >= 100 && area.height >= 28;
    if full {
        let [top, mid, bottom] = Layout::vertical([
            Constraint::Length(9),
            Constraint::Min(8),
            Constraint::Length(8),
        ])
        .areas(body);
        let [mode, hit] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(top);
        let [matrix, right] =
            Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(mid);
        let [mem, bus] = Layout::vertical([Constraint::Min(9), Constraint::Length(7)]).areas(right);
        let panes = vec![
            (Pane::Mode, mode),
            (Pane::HitRate, hit),
            (Pane::Matrix, matrix),
            (Pane::Memory, mem),
            (Pane::EventBus, bus),
            (Pane::Findings, bottom),
        ];
        return (header, panes, footer, Vec::new());
    }
    // Compact: the focused pane gets the room, findings stay visible below it.
    let focus = app.view.focus;
    let mut panes = Vec::new();
    if focus == Pane::Findings || body.height < 14 {
        panes.push((focus, body));
    } else {
        let [main, findings] =
            Layout::vertical([Constraint::Min(6), Constraint::Length(6)]).areas(body);
        panes.push((focus, main));
        panes.push((Pane::Findings, findings));
    }
    let hidden = Pane::ALL
        .iter()
        .copied()
        .filter(|p| !panes.iter().any(|(q, _)| q == p))
        .collect();
    (header, panes, footer, hidden)
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < MIN_W || area.height < MIN_H {
        let msg = Paragraph::new(format!(
            "kvscope needs {MIN_W}×{MIN_H}; this is {}×{}",
            area.width, area.height
        ))
        .wrap(Wrap { trim: true });
        f.render_widget(msg, area);
        return;
    }
    let (header, panes, footer, hidden) = layout(area, app);
    draw_header(f, header, app);
    for (pane, rect) in panes {
        match pane {
            Pane::Mode => draw_mode(f, rect, app),
            Pane::HitRate => draw_hit_rate(f, rect, app),
            Pane::Matrix => draw_matrix(f, rect, app),
            Pane::Memory => draw_memory(f, rect, app),
            Pane::EventBus => draw_eventbus(f, rect, app),
            Pane::Findings => draw_findings(f, rect, app),
        }
    }
    let mut foot = app.keymap.footer();
    if !hidden.is_empty() {
        let names: Vec<&str> = hidden.iter().map(|p| p.title()).collect();
        foot = format!("hidden at this size: {} (tab) │ {foot}", names.join(", "));
    }
    f.render_widget(Paragraph::new(Span::styled(foot, app.theme.dim)), footer);
    if app.view.detail {
        draw_detail(f, area, app);
    }
    if app.view.server {
        draw_server(f, area, app);
    }
    if app.view.help {
        draw_help(f, area, app);
    }
}

fn state_span(app: &App, s: TargetState) -> Span<'static> {
    match s {
        TargetState::Up => Span::styled("● up", app.theme.good),
        TargetState::Stale => Span::styled("◐ stale", app.theme.warn),
        TargetState::Down => Span::styled("✖ down", app.theme.bad),
        TargetState::Waiting => Span::styled("○ waiting", app.theme.dim),
    }
}

fn draw_header(f: &mut Frame, area: Rect, app: &App) {
    let mut spans = vec![Span::styled("kvscope ", app.theme.title)];
    let mode = &app.shown.mode;
    spans.push(Span::styled(
        format!("{} ({:?}) ", mode.architecture, mode.strength).to_lowercase(),
        app.theme.text,
    ));
    let http = &app.shown.lmcache.http;
    if let Some(v) = &http.version {
        spans.push(Span::styled(
            format!("· LMCache {} ", clean(v)),
            app.theme.dim,
        ));
    }
    match http.healthy {
        Some(true) => spans.push(Span::styled("healthy ", app.theme.good)),
        Some(false) => spans.push(Span::styled("UNHEALTHY ", app.theme.bad)),
        None => {}
    }
    if app.view.paused {
        spans.push(Span::styled(" PAUSED ", app.theme.selected));
    }
    let mut lines = vec![Line::from(spans)];
    for (t, store) in app.model.targets().take(4) {
        let mut targets = Vec::new();
        let h = app.model.health(t);
        let role = if t.role == Role::Lmcache {
            "lmcache"
        } else {
            "engine"
        };
        targets.push(Span::styled(format!("{role} "), app.theme.dim));
        targets.push(Span::styled(clean(&store.name), app.theme.text));
        targets.push(Span::raw(" "));
        if h.last_ok.is_none() && h.last_failure.is_none() && store.newest().is_some() {
            // Read from files without capture times: there is no liveness to show.
            targets.push(Span::styled("◇ recorded", app.theme.dim));
        } else {
            targets.push(state_span(app, h.state(app.now, app.interval)));
        }
        // Fresh answers show a fixed bound, so the header does not churn every second.
        let age = h
            .last_ok
            .map(|ok| match app.shown_age(ok, app.now) {
                Some(a) => format!(" {a}s ago"),
                None => format!(" <{}s ago", (2.0 * app.interval).ceil() as u64),
            })
            .unwrap_or_default();
        let lat = h
            .last_latency
            .map(|l| format!(" {:.0}ms", l * 1000.0))
            .unwrap_or_default();
        targets.push(Span::styled(format!("{age}{lat}"), app.theme.dim));
        if let Some((_, why)) = h
            .last_failure
            .as_ref()
            .filter(|_| h.state(app.now, app.interval) == TargetState::Down)
        {
            targets.push(Span::styled(format!(" — {}", clean(why)), app.theme.bad));
        }
        lines.push(Line::from(targets));
    }
    if let Some(note) = &app.note {
        lines.push(Line::from(Span::styled(note.clone(), app.theme.info)));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_mode(f: &mut Frame, area: Rect, app: &App) {
    let m = &app.shown.mode;
    let mut lines = vec![Line::from(vec![
        Span::styled(m.architecture, app.theme.title),
        Span::styled(format!("  {:?}", m.strength).to_lowercase(), app.theme.dim),
    ])];
    if !m.features.is_empty() {
        let feats: Vec<String> = m
            .features
            .iter()
            .map(|f| format!("{f:?}").to_lowercase())
            .collect();
        lines.push(Line::from(Span::styled(
            format!("features: {}", feats.join(", ")),
            app.theme.text,
        )));
    }
    for e in &m.evidence {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", e.signal), app.theme.dim),
            Span::raw(clean(&e.detail)),
        ]));
    }
    for e in &m.stale_connector {
        lines.push(Line::from(Span::styled(clean(&e.detail), app.theme.warn)));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block(app, Pane::Mode))
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn draw_hit_rate(f: &mut Frame, area: Rect, app: &App) {
    let lk = &app.shown.lmcache.lookup;
    let en = &app.shown.engine;
    let b = block(app, Pane::HitRate);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let mut lines = vec![
        Line::from(vec![
            Span::styled("LMCache  ", app.theme.dim),
            Span::styled(
                format!("{} since start", pct(&lk.hit_rate.since_start)),
                app.theme.text,
            ),
            Span::styled(
                format!("   {} in window", pct(&lk.hit_rate.window)),
                app.theme.title,
            ),
            Span::styled(
                format!(
                    "   L1 {} / L2 {} of hits",
                    pct(&lk.l1_share.since_start),
                    pct(&lk.l2_share.since_start)
                ),
                app.theme.dim,
            ),
        ]),
        Line::from(vec![
            Span::styled("engine   ", app.theme.dim),
            Span::raw(format!(
                "prefix {} ",
                pct(&en.prefix_cache.hit_rate.since_start)
            )),
            Span::raw(format!(
                "  external {} ({} / {} tokens)",
                pct(&en.external_prefix_cache.hit_rate.since_start),
                num(&en.external_prefix_cache.hits_total),
                num(&en.external_prefix_cache.queries_total)
            )),
        ]),
    ];
    let rows = lk
        .by_model_name
        .iter()
        .take(2)
        .chain(lk.by_cache_salt.iter().take(3));
    for row in rows {
        let value = row
            .value
            .as_deref()
            .map_or("(no label)".to_string(), |s| format!("\"{}\"", clean(s)));
        lines.push(Line::from(Span::styled(
            format!(
                "{} {value}: {} since start, {} in window, of {:.0} tokens",
                row.label,
                pct(&row.hit_rate),
                pct(&row.window_hit_rate),
                row.requested_tokens
            ),
            app.theme.dim,
        )));
    }
    text_with_spark(
        f,
        inner,
        lines,
        app.theme.text,
        &app.history.hit_rate,
        Some(1.0),
        app.theme.good,
    );
}

/// A paragraph with a sparkline of `series` (newest on the right) in the rows below it.
/// `max` fixes the top of the scale; `None` scales to the largest value shown.
fn text_with_spark(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'_>>,
    text_style: Style,
    series: &[Option<f64>],
    max: Option<f64>,
    style: Style,
) {
    let n = lines.len() as u16;
    let [top, spark] =
        Layout::vertical([Constraint::Length(n.min(area.height)), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(lines).style(text_style), top);
    if spark.height == 0 {
        return;
    }
    let tail: Vec<f64> = series
        .iter()
        .rev()
        .take(spark.width as usize)
        .rev()
        .map(|v| v.unwrap_or(0.0))
        .collect();
    let top_value = max
        .unwrap_or_else(|| tail.iter().copied().fold(0.0, f64::max))
        .max(1e-9);
    let data: Vec<u64> = tail
        .iter()
        .map(|v| (v / top_value * 100.0).round() as u64)
        .collect();
    f.render_widget(
        Sparkline::default().data(&data).max(100).style(style),
        spark,
    );
}

fn status_style(app: &App, s: Status) -> Style {
    match s {
        Status::Populated => app.theme.good,
        Status::Zero => app.theme.info,
        Status::DeclaredNoSamples => app.theme.warn,
        Status::Missing => app.theme.bad,
        Status::NotApplicable => app.theme.dim,
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Populated => "populated",
        Status::Zero => "zero",
        Status::DeclaredNoSamples => "declared",
        Status::Missing => "missing",
        Status::NotApplicable => "n/a",
    }
}

fn draw_matrix(f: &mut Frame, area: Rect, app: &App) {
    let rows = app.matrix_rows();
    let search = match (&app.view.search, app.view.typing) {
        (Some(q), true) => format!(" · /{}▏", clean(q)),
        (Some(q), false) if !q.is_empty() => format!(" · /{} (Esc clears)", clean(q)),
        _ => String::new(),
    };
    let b = block(app, Pane::Matrix).title_bottom(Span::styled(
        format!(
            " {} of {} families · {} (f){search} ",
            rows.len(),
            app.shown.families.len(),
            app.view.filter.label()
        ),
        if app.view.typing {
            app.theme.focus
        } else {
            app.theme.dim
        },
    ));
    let inner_h = area.height.saturating_sub(3) as usize;
    let sel = app.view.matrix_row;
    let start = sel.saturating_sub(inner_h.saturating_sub(1));
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h.max(1))
        .map(|(i, &fi)| {
            let fam = &app.shown.families[fi];
            let need = match fam.need {
                crate::analysis::matrix::Need::Required => "req",
                crate::analysis::matrix::Need::Optional => "opt",
                crate::analysis::matrix::Need::NotApplicable => "",
            };
            let row = Row::new(vec![
                Span::raw(fam.id),
                Span::styled(status_word(fam.status), status_style(app, fam.status)),
                Span::styled(need, app.theme.dim),
                Span::raw(if fam.series > 0 {
                    fam.series.to_string()
                } else {
                    String::new()
                }),
                Span::styled(if fam.sampled { "S" } else { "" }, app.theme.dim),
            ]);
            if i == sel && app.view.focus == Pane::Matrix {
                row.style(app.theme.selected)
            } else {
                row
            }
        })
        .collect();
    let table = Table::new(
        body,
        [
            Constraint::Min(20),
            Constraint::Length(10),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(2),
        ],
    )
    .header(Row::new(vec!["family", "status", "need", "series", ""]).style(app.theme.dim))
    .block(b);
    f.render_widget(table, area);
}

fn draw_memory(f: &mut Frame, area: Rect, app: &App) {
    let l1 = &app.shown.lmcache.l1;
    let l2 = &app.shown.lmcache.l2;
    let b = block(app, Pane::Memory);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let [gauge, text] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let http = &app.shown.lmcache.http;
    let (mark, source) = match http.eviction_watermark.value() {
        Some(w) => (w, "/status"),
        None => (0.8, "default"),
    };
    match l1.usage_ratio.value() {
        Some(r) => {
            let label = format!(
                "L1 {} of {} ({:.1}%) · evicts from {:.0}% ({source})",
                bytes(&l1.used_bytes),
                bytes(&l1.total_bytes),
                r * 100.0,
                mark * 100.0
            );
            let style = if r >= mark {
                app.theme.warn
            } else {
                app.theme.good
            };
            f.render_widget(
                Gauge::default()
                    .ratio(r.clamp(0.0, 1.0))
                    .label(label)
                    .gauge_style(style),
                gauge,
            );
        }
        None => f.render_widget(
            Paragraph::new(format!(
                "L1 used {} (usage ratio not exported)",
                bytes(&l1.used_bytes)
            )),
            gauge,
        ),
    }
    let tp = |d: &crate::analysis::figures::Distribution| {
        format!(
            "mean {} p50 {} p99 {} GB/s",
            num(&d.mean),
            num(&d.p50),
            num(&d.p99)
        )
    };
    let lines = vec![
        Line::from(format!(
            "evicted {} since start · {}/s now · {} triggers",
            num(&l1.evicted.since_start),
            num(&l1.evicted_per_s),
            num(&l1.eviction_triggers.since_start)
        )),
        Line::from(format!(
            "L2 adapters {} · used {} · in flight {} stores {} loads",
            num(&l2.adapters_active),
            bytes(&l2.used_bytes),
            num(&l2.inflight_stores),
            num(&l2.inflight_loads)
        )),
        Line::from(format!(
            "L2 stores {}/s · loads {}/s",
            num(&l2.store_requests_per_s),
            num(&l2.load_requests_per_s)
        )),
        Line::from(format!(
            "prefetch queue {} submitted · {} pending · {} in flight of {}",
            num(&http.prefetch_submission_queue),
            num(&http.prefetch_pending_queue),
            num(&http.prefetch_in_flight),
            num(&http.prefetch_max_in_flight)
        )),
        Line::from(format!("L1→L2 {}", tp(&l2.store_throughput_gbs))),
        Line::from(format!("L2→L1 {}", tp(&l2.load_throughput_gbs))),
        Line::from(format!(
            "L0→L1 {}",
            tp(&app.shown.lmcache.l0_l1.store_throughput_gbs)
        )),
        Line::from(format!(
            "L1→L0 {}",
            tp(&app.shown.lmcache.l0_l1.load_throughput_gbs)
        )),
    ];
    // L1 evictions per second, scaled to the busiest interval shown.
    text_with_spark(
        f,
        text,
        lines,
        app.theme.text,
        &app.history.evictions_per_s,
        None,
        app.theme.warn,
    );
}

fn draw_eventbus(f: &mut Frame, area: Rect, app: &App) {
    let eb = &app.shown.lmcache.eventbus;
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
                    num(&eb.dropped_total),
                    num(&eb.dropped_per_s)
                )),
                Span::styled(
                    format!(
                        "  subscriber errors {}",
                        num(&eb.subscriber_exceptions_total)
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
                    "depth {} of {} · drain lag {} s  ",
                    num(&eb.queue_depth),
                    app.shown
                        .lmcache
                        .http
                        .event_bus_queue_size
                        .value()
                        .map_or("?".into(), |q| format!("{q:.0}")),
                    num(&eb.drain_lag_seconds)
                )),
                Span::styled(eb.gauges_trust, app.theme.warn),
            ]),
            Line::from(Span::styled(eb.gauges_note, app.theme.dim)),
        ]
    };
    let mut lines = lines;
    if let Some(running) = app.shown.lmcache.http.event_bus_thread {
        lines.push(Line::from(Span::styled(
            if running {
                "EventBus thread running (/threads)"
            } else {
                "no thread named EventBus in /threads"
            },
            app.theme.dim,
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block(app, Pane::EventBus))
            .wrap(Wrap { trim: true }),
        area,
    );
}

fn severity_span(app: &App, s: Severity) -> Span<'static> {
    match s {
        Severity::Critical => Span::styled("CRIT ", app.theme.bad),
        Severity::Warning => Span::styled("WARN ", app.theme.warn),
        Severity::Info => Span::styled("info ", app.theme.info),
    }
}

fn draw_findings(f: &mut Frame, area: Rect, app: &App) {
    let fs = &app.shown.findings;
    let lines: Vec<Line> = if fs.is_empty() {
        vec![Line::from(Span::styled("no findings", app.theme.dim))]
    } else {
        fs.iter()
            .enumerate()
            .map(|(i, x)| {
                let line = Line::from(vec![
                    severity_span(app, x.severity),
                    Span::raw(clean(&x.title)),
                    Span::styled(format!("  → {}", x.next_action), app.theme.dim),
                ]);
                if i == app.view.finding_row && app.view.focus == Pane::Findings {
                    line.style(app.theme.selected)
                } else {
                    line
                }
            })
            .collect()
    };
    f.render_widget(
        Paragraph::new(lines).block(block(app, Pane::Findings)),
        area,
    );
}

fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_detail(f: &mut Frame, area: Rect, app: &App) {
    let mut lines = Vec::new();
    let title;
    match app.view.focus {
        Pane::Matrix => {
            let rows = app.matrix_rows();
            let Some(fam) = rows
                .get(app.view.matrix_row)
                .map(|&i| &app.shown.families[i])
            else {
                return;
            };
            title = fam.id.to_string();
            lines.push(Line::from(Span::styled(fam.title, app.theme.title)));
            if let Some(why) = &fam.why_not_applicable {
                lines.push(Line::from(Span::styled(
                    format!("not applicable: {why}"),
                    app.theme.dim,
                )));
            }
            for m in &fam.metrics {
                lines.push(Line::from(vec![
                    Span::raw(format!("{:<28}", m.key)),
                    Span::styled(
                        format!("{:<10}", status_word(m.status)),
                        status_style(app, m.status),
                    ),
                    Span::styled(
                        format!(
                            "{:?} series {}{}",
                            m.kind,
                            m.series,
                            if m.sampled { " sampled" } else { "" }
                        )
                        .to_lowercase(),
                        app.theme.dim,
                    ),
                ]));
                for n in &m.names {
                    lines.push(Line::from(Span::styled(
                        format!("    {}", clean(n)),
                        app.theme.dim,
                    )));
                }
            }
            if !app.detail_series.is_empty() {
                lines.push(Line::from(Span::styled(
                    "series (value · per second over the window)",
                    app.theme.title,
                )));
            }
            for r in &app.detail_series {
                let value = r.value.map_or("absent".to_string(), |v| {
                    if v.fract() == 0.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.4}")
                    }
                });
                lines.push(Line::from(vec![
                    Span::raw(format!("  {}{{{}}} ", clean(&r.name), clean(&r.labels))),
                    Span::styled(value, app.theme.title),
                    Span::styled(
                        r.per_s
                            .value()
                            .map_or(String::new(), |v| format!("  {v:.3}/s")),
                        app.theme.dim,
                    ),
                ]));
            }
        }
        Pane::Findings => {
            let Some(x) = app.shown.findings.get(app.view.finding_row) else {
                return;
            };
            title = x.code.to_string();
            lines.push(Line::from(vec![
                severity_span(app, x.severity),
                Span::styled(clean(&x.title), app.theme.title),
            ]));
            for e in &x.evidence {
                lines.push(Line::from(format!("  {}", clean(e))));
            }
            lines.push(Line::from(Span::styled(
                format!("next: {}", x.next_action),
                app.theme.info,
            )));
        }
        _ => return,
    }
    let r = popup(area, 110, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {title} · Esc closes "))
        .border_style(app.theme.focus);
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }), r);
}

/// "12s ago" from a wall-clock time.
fn ago(now: f64, t: f64) -> String {
    format!("{:.0}s ago", (now - t).max(0.0))
}

fn draw_server(f: &mut Frame, area: Rect, app: &App) {
    let http = &app.shown.lmcache.http;
    let mut lines = Vec::new();
    if http.routes.is_empty() {
        lines.push(Line::from(Span::styled(
            "No LMCache HTTP routes read: watch and demo poll them on LMCache targets; files carry none.",
            app.theme.dim,
        )));
    }
    for r in &http.routes {
        let read = r.read_at.map_or(String::new(), |t| ago(app.now, t));
        let changed = r
            .changed_at
            .map_or(String::new(), |t| format!("changed {}", ago(app.now, t)));
        let style = if r.answer.starts_with("skipped") {
            app.theme.dim
        } else if r.ok {
            app.theme.good
        } else {
            app.theme.bad
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<26}", r.path), app.theme.text),
            Span::styled(format!("{:<10}", read), app.theme.dim),
            Span::styled(clean(&r.answer), style),
            Span::styled(format!("  {changed}"), app.theme.warn),
        ]));
    }
    if !http.threads.is_empty() {
        let names: Vec<String> = http.threads.iter().map(|t| clean(t)).collect();
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("{} threads: {}", names.len(), names.join(", ")),
            app.theme.text,
        )));
    }
    match http.periodic_healthy {
        Some(true) => lines.push(Line::from(Span::styled(
            "periodic threads: healthy (the server's own check)",
            app.theme.good,
        ))),
        Some(false) => lines.push(Line::from(Span::styled(
            format!(
                "periodic threads UNHEALTHY: {}",
                clean(&http.periodic_unhealthy.join(", "))
            ),
            app.theme.bad,
        ))),
        None => {}
    }
    lines.push(Line::from(Span::styled(
        format!(
            "never sent: {}",
            crate::sources::lmcache_http::NEVER_SENT.join(", ")
        ),
        app.theme.dim,
    )));
    if !http.env.is_empty() {
        let vars: Vec<String> = http
            .env
            .iter()
            .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
            .collect();
        lines.push(Line::from(vec![
            Span::styled(
                "/env (values redacted unless diagnostic): ",
                app.theme.title,
            ),
            Span::raw(vars.join("  ")),
        ]));
    }
    // Room for the wrapped lines (the popup is at most 120 wide, 2 of it border).
    let inner_w = area.width.saturating_sub(4).clamp(1, 118);
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    let rows = text.line_count(inner_w);
    let r = popup(area, 120, (rows + 2).min(usize::from(u16::MAX)) as u16);
    f.render_widget(Clear, r);
    let visible = usize::from(r.height.saturating_sub(2));
    let scroll = usize::from(app.view.server_scroll).min(rows.saturating_sub(visible));
    let more = if rows > visible {
        format!(
            " · ↓↑ {}–{} of {} lines",
            scroll + 1,
            scroll + visible,
            rows
        )
    } else {
        String::new()
    };
    let b = Block::default()
        .borders(Borders::ALL)
        .title(format!(" LMCache server · i or Esc closes{more} "))
        .border_style(app.theme.focus);
    f.render_widget(text.block(b).scroll((scroll as u16, 0)), r);
}

fn draw_help(f: &mut Frame, area: Rect, app: &App) {
    let mut lines: Vec<Line> = app
        .keymap
        .help_lines()
        .into_iter()
        .map(|(keys, help)| {
            Line::from(vec![
                Span::styled(format!("{keys:<22}"), app.theme.title),
                Span::raw(help),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Status: populated · zero · declared (HELP/TYPE, no sample) · missing · n/a",
        app.theme.dim,
    )));
    lines.push(Line::from(Span::styled(
        "S = sampled family (recorded for a sample of events only)",
        app.theme.dim,
    )));
    let r = popup(area, 72, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let b = Block::default()
        .borders(Borders::ALL)
        .title(" keys · ? or Esc closes ")
        .border_style(app.theme.focus);
    f.render_widget(Paragraph::new(lines).block(b), r);
}
