//! The Trace, Logs and Requests panes: what the storage trace, the logs and the span export
//! beside the targets said, as the picture carries it ([`crate::session::picture::Evidence`]).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::app::{App, LogFilter, Pane, RequestOrder};
use super::widgets::{block, fit, fit_line, pane_text, short_name, sparkline};
use crate::evidence::log::{Kind, Level};
use crate::sanitize::clean;
use crate::units;

/// A pane with nothing read yet: how to give it what it shows.
fn empty(f: &mut Frame, area: Rect, app: &App, b: ratatui::widgets::Block<'_>, how: &str) {
    let inner = b.inner(area);
    f.render_widget(b, area);
    pane_text(
        f,
        inner,
        vec![Line::from(how.to_string())],
        app.theme.dim,
        true,
        "",
    );
}

/// Lines newest last, as many as fit in `height` rows.
fn tail(lines: Vec<Line<'static>>, height: u16) -> Vec<Line<'static>> {
    let skip = lines.len().saturating_sub(height as usize);
    lines.into_iter().skip(skip).collect()
}

pub(super) fn draw_trace(f: &mut Frame, area: Rect, app: &App) {
    let e = &app.shown.evidence;
    let (Some(t), Some(s)) = (&e.trace, &app.shown.analysis.evidence.trace) else {
        let text = "No storage trace read. LMCache writes one with --trace-level storage; give \
                    it after its target: --lmcache URL --lct FILE (or a capture folder's run.lct \
                    through report --packet).";
        return empty(f, area, app, block(app, Pane::Trace), text);
    };
    let more = match e.more_traces {
        0 => String::new(),
        n => format!(" (+{n} more targets with traces)"),
    };
    let b = block(app, Pane::Trace);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let width = inner.width as usize;
    let (state, style) = match &s.error {
        None => ("whole".to_string(), app.theme.text),
        Some(e) => (clean(e), app.theme.warn),
    };
    let head = Line::from(Span::styled(
        units::cut(
            &format!(
                "{} · {} records · {:.1} s · {state}{more} · {} · schema {}",
                short_name(&t.target),
                s.total_records,
                s.duration_s,
                s.level.as_deref().map_or("no header yet".into(), clean),
                s.schema_words()
            ),
            width,
        ),
        style,
    ));
    let ops: Vec<String> = {
        let mut by: Vec<(&String, &u64)> = s.ops.iter().collect();
        by.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        by.iter()
            .map(|(op, n)| format!("{} {n}", clean(crate::evidence::trace::short_op(op))))
            .collect()
    };
    let gap = t
        .longest_gap
        .map_or(String::new(), |g| format!("longest gap {g} s · "));
    let ops_line = Line::from(Span::styled(
        format!("{gap}{}", ops.join(" · ")),
        app.theme.text,
    ));
    let sparks = 1 + t.per_op.len() as u16;
    let [head_r, spark_r, ops_r, rows_r] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(sparks),
        Constraint::Length(2),
        Constraint::Min(0),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(fit_line(head, head_r.width)), head_r);
    trace_sparks(f, spark_r, app, t);
    pane_text(f, ops_r, vec![ops_line], app.theme.text, true, "");
    let width = rows_r.width as usize;
    let rows: Vec<Line<'static>> = t
        .recent
        .iter()
        .map(|r| {
            Line::from(vec![
                Span::styled(
                    format!("{} ", crate::timefmt::clock_time(r.t_wall)),
                    app.theme.dim,
                ),
                Span::styled(format!("{:<24} ", clean(&r.op)), app.theme.title),
                Span::raw(units::cut(&clean(&r.args), width.saturating_sub(34))),
            ])
        })
        .collect();
    f.render_widget(
        Paragraph::new(fit(tail(rows, rows_r.height), rows_r.width)),
        rows_r,
    );
}

/// Records per second as sparklines: all, then each of the busiest operations, each on the
/// scale of all records so the rows compare.
fn trace_sparks(f: &mut Frame, spark_r: Rect, app: &App, t: &crate::session::picture::TraceView) {
    let peak = t.per_second.iter().copied().max().unwrap_or(0);
    let all = (format!("all · peak {peak}/s"), &t.per_second);
    let rows = std::iter::once((all.0, all.1)).chain(t.per_op.iter().map(|(n, v)| (clean(n), v)));
    for (i, (label, series)) in rows.enumerate() {
        let row = Rect {
            y: spark_r.y + i as u16,
            height: 1,
            ..spark_r
        };
        if row.y >= spark_r.y + spark_r.height {
            break;
        }
        let [l, r] = Layout::horizontal([Constraint::Length(26), Constraint::Min(0)]).areas(row);
        f.render_widget(
            Paragraph::new(fit_line(
                Span::styled(units::cut(&label, 25), app.theme.dim).into(),
                l.width,
            )),
            l,
        );
        let series: Vec<Option<f64>> = series.iter().map(|n| Some(*n as f64)).collect();
        sparkline(f, r, &series, Some(peak.max(1) as f64), app.theme.info);
    }
}

fn level_style(app: &App, level: Option<Level>) -> Style {
    match level {
        Some(Level::Warning) => app.theme.warn,
        Some(Level::Error | Level::Critical) => app.theme.bad,
        Some(Level::Debug) | None => app.theme.dim,
        Some(Level::Info) => app.theme.text,
    }
}

pub(super) fn draw_logs(f: &mut Frame, area: Rect, app: &App) {
    let e = &app.shown.evidence;
    let v = &app.view;
    let search = v.log_search.as_deref().unwrap_or("");
    let hint = format!(
        " f {} · / {} ",
        v.log_filter.label(),
        if search.is_empty() {
            "search".to_string()
        } else {
            format!("\"{}\"", clean(search))
        }
    );
    let b = block(app, Pane::Logs).title_bottom(Span::styled(hint, app.theme.dim));
    let summaries = &app.shown.analysis.evidence;
    let summary = |l: &crate::session::picture::LogView| match l.stream {
        crate::vocab::Stream::ServerLog => summaries.server_log.as_ref(),
        _ => summaries.engine_log.as_ref(),
    };
    let Some((l, s)) = e.log.as_ref().and_then(|l| Some((l, summary(l)?))) else {
        let text = "No log read. Give the LMCache server's log after its target \
                    (--lmcache URL --server-log FILE), or the engine's (--engine URL \
                    --engine-log FILE); - reads standard input.";
        return empty(f, area, app, b, text);
    };
    let inner = b.inner(area);
    f.render_widget(b, area);
    let more = e.more_logs;
    let [head, prefetch] = log_head(app, l, s, more, inner.width as usize);
    let [head_r, rows_r] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    f.render_widget(Paragraph::new(fit([head, prefetch], head_r.width)), head_r);
    let needle = search.to_lowercase();
    let width = rows_r.width as usize;
    let kept = l
        .lines
        .iter()
        .filter(|e| match v.log_filter {
            LogFilter::All => true,
            LogFilter::Warnings => e.level.is_some_and(|l| l >= Level::Warning),
            LogFilter::Known => !matches!(e.kind, Kind::HttpAccess | Kind::Unknown),
        })
        .filter(|e| needle.is_empty() || e.message.to_lowercase().contains(&needle));
    let mut rows: Vec<Line<'static>> = collapsed(kept)
        .into_iter()
        .map(|(e, n)| {
            let mut line = log_line(app, e, width.saturating_sub(if n > 1 { 6 } else { 0 }));
            if n > 1 {
                line.push_span(Span::styled(format!(" ×{n}"), app.theme.info));
            }
            line
        })
        .collect();
    if rows.is_empty() {
        // Say what was looked through, so an empty pane is not mistaken for an empty log.
        let what = match (v.log_filter, search.is_empty()) {
            (LogFilter::Warnings, _) => "no warnings".to_string(),
            (LogFilter::Known, _) => "no LMCache or vLLM lines".to_string(),
            (LogFilter::All, false) => "nothing".to_string(),
            (LogFilter::All, true) => "no lines yet".to_string(),
        };
        let matching = if search.is_empty() {
            String::new()
        } else {
            format!(" matching \"{}\"", clean(search))
        };
        rows.push(Line::from(Span::styled(
            format!("{what}{matching} in {} lines kept", l.lines.len()),
            app.theme.dim,
        )));
    }
    f.render_widget(
        Paragraph::new(fit(tail(rows, rows_r.height), rows_r.width)),
        rows_r,
    );
}

/// Lines that repeat one of the last few shown, numbers aside (ports, sizes, times), fold into
/// it (`×58`), moved to where the repeat came, with its time and numbers: a server that logs
/// the same few messages every second shows each once.
fn collapsed<'a>(
    lines: impl Iterator<Item = &'a crate::evidence::lines::Entry>,
) -> Vec<(&'a crate::evidence::lines::Entry, usize)> {
    const RECENT: usize = 8;
    let shape = |m: &str| -> String {
        let mut out = String::with_capacity(m.len());
        for c in m.chars() {
            if !(c.is_ascii_digit() && out.ends_with('#')) {
                out.push(if c.is_ascii_digit() { '#' } else { c });
            }
        }
        out
    };
    let mut out: Vec<(&crate::evidence::lines::Entry, String, usize)> = Vec::new();
    for e in lines {
        let key = shape(&e.message);
        let from = out.len().saturating_sub(RECENT);
        match out[from..]
            .iter()
            .position(|(k, s, _)| k.kind == e.kind && *s == key)
        {
            Some(i) => {
                let (_, s, n) = out.remove(from + i);
                out.push((e, s, n + 1));
            }
            None => out.push((e, key, 1)),
        }
    }
    out.into_iter().map(|(e, _, n)| (e, n)).collect()
}

/// The log pane's two head lines: what the log holds, and its prefetches.
fn log_head(
    app: &App,
    l: &crate::session::picture::LogView,
    s: &crate::evidence::lines::LogSummary,
    more: usize,
    width: usize,
) -> [Line<'static>; 2] {
    let k = |kind: &str| s.by_kind.get(kind).copied().unwrap_or(0);
    let more = match more {
        0 => String::new(),
        n => format!(" (+{n} more logs)"),
    };
    let head = Line::from(Span::styled(
        units::cut(
            &format!(
                "{} {} {} lines · prefetch {} · stored {} · retrieved {} · evictions {} · warnings {} · unknown {}{more}",
                short_name(&l.target),
                l.stream.as_str().replace('_', " "),
                s.lines,
                k("prefetch_completed"),
                k("stored") + k("embedded_stored"),
                k("retrieved") + k("embedded_retrieved"),
                k("eviction_triggered"),
                s.by_level.get("warning").copied().unwrap_or(0)
                    + s.by_level.get("error").copied().unwrap_or(0)
                    + s.by_level.get("critical").copied().unwrap_or(0),
                s.unknown_lines
            ),
            width,
        ),
        app.theme.text,
    ));
    let p = &s.prefetch;
    let prefetch = if p.requests == 0 {
        Line::from(Span::styled("no prefetch completions yet", app.theme.dim))
    } else {
        let last = l.prefetches.last().map_or(String::new(), |x| {
            format!(
                " · last {}: {}/{} ({} L1, {} L2) in {} ms",
                clean(&x.request),
                x.retained,
                x.requested,
                x.l1,
                x.l2,
                x.ms
            )
        });
        Line::from(units::cut(
            &format!(
                "prefetch: {} requests, {} of {} keys retained ({} L1, {} L2), slowest {} ms{last}",
                p.requests,
                p.retained_keys,
                p.requested_keys,
                p.l1_keys,
                p.l2_keys,
                p.latency_ms_max
            ),
            width,
        ))
    };
    [head, prefetch]
}

/// A log line: its time, level and brief.
fn log_line(app: &App, e: &crate::evidence::lines::Entry, width: usize) -> Line<'static> {
    let stamp = e
        .stamp
        .as_deref()
        .map(|s| s.rsplit(' ').next().unwrap_or(s))
        .unwrap_or("");
    let level = e.level.map_or("", |l| l.as_str());
    Line::from(vec![
        Span::styled(format!("{:<12} ", clean(stamp)), app.theme.dim),
        Span::styled(format!("{level:<7} "), level_style(app, e.level)),
        Span::styled(
            units::cut(
                &clean(e.brief.as_deref().unwrap_or(&e.message)),
                width.saturating_sub(21),
            ),
            level_style(app, e.level),
        ),
    ])
}

/// The requests in the pane's order: indices into the picture's requests.
fn ordered(app: &App) -> Vec<usize> {
    let requests = &app.shown.evidence.requests;
    let mut idx: Vec<usize> = (0..requests.len()).collect();
    match app.view.request_order {
        RequestOrder::Slowest => idx.sort_by(|a, b| {
            requests[*b]
                .root
                .seconds()
                .total_cmp(&requests[*a].root.seconds())
        }),
        // Requests that looked nothing up go last.
        RequestOrder::LowestHit => idx.sort_by(|a, b| {
            let key = |i: usize| requests[i].hit_rate().unwrap_or(f64::INFINITY);
            key(*a).total_cmp(&key(*b))
        }),
    }
    idx
}

pub(super) fn draw_requests(f: &mut Frame, area: Rect, app: &App) {
    let e = &app.shown.evidence;
    let order = match app.view.request_order {
        RequestOrder::Slowest => "slowest first",
        RequestOrder::LowestHit => "lowest hit first",
    };
    let b = block(app, Pane::Requests).title_bottom(Span::styled(
        format!(" f {order} · j k select "),
        app.theme.dim,
    ));
    let Some(sum) = &app.shown.analysis.evidence.spans else {
        let text = "No span export read. LMCache exports spans with --enable-tracing and \
                    --otlp-endpoint; save them with a collector's file exporter and give the \
                    file after its target: --lmcache URL --otel FILE.";
        return empty(f, area, app, b, text);
    };
    let inner = b.inner(area);
    f.render_widget(b, area);
    let width = inner.width as usize;
    let head = units::cut(
        &format!(
            "{} spans · {} requests · hit {} ({} L1, {} L2 tokens) · {} timeouts{}",
            sum.spans,
            sum.requests,
            units::percent(sum.hit_rate),
            sum.l1_hit_tokens,
            sum.l2_hit_tokens,
            sum.timeouts,
            sum.error
                .as_ref()
                .map_or(String::new(), |e| format!(" · {}", clean(e)))
        ),
        width,
    );
    let idx = ordered(app);
    let sel = app.view.request_row.min(idx.len().saturating_sub(1));
    let list_h = (inner.height.saturating_sub(1) / 2)
        .max(3)
        .min(idx.len() as u16);
    let [head_r, list_r, tree_r] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(list_h),
        Constraint::Min(0),
    ])
    .areas(inner);
    f.render_widget(
        Paragraph::new(fit_line(
            Span::styled(head, app.theme.text).into(),
            head_r.width,
        )),
        head_r,
    );
    let first = sel.saturating_sub(list_h.saturating_sub(1) as usize);
    let rows: Vec<Line<'static>> = idx
        .iter()
        .enumerate()
        .skip(first)
        .take(list_h as usize)
        .map(|(i, &r)| request_line(app, &e.requests[r], i == sel, width))
        .collect();
    f.render_widget(Paragraph::new(fit(rows, list_r.width)), list_r);
    let Some(r) = idx.get(sel).map(|&i| &e.requests[i]) else {
        return;
    };
    let tree = request_tree(app, r, width);
    f.render_widget(Paragraph::new(fit(tree, tree_r.width)), tree_r);
}

/// A request's line in the list.
fn request_line(
    app: &App,
    r: &crate::evidence::spans::Request,
    selected: bool,
    width: usize,
) -> Line<'static> {
    let name = r.session.as_deref().unwrap_or(&r.root.name);
    let text = units::cut(
        &format!(
            "{} {:<18} {:>9.1} ms  hit {:>6}{}  L1 {} L2 {}",
            crate::timefmt::clock_time(r.root.start),
            clean(name),
            r.root.seconds() * 1000.0,
            units::percent(r.hit_rate()),
            if r.timeout { "  TIMEOUT" } else { "" },
            units::count(r.l1_hit_tokens),
            units::count(r.l2_hit_tokens)
        ),
        width,
    );
    let style = if selected && app.view.focus == Pane::Requests {
        app.theme.selected
    } else if r.timeout {
        app.theme.warn
    } else {
        app.theme.text
    };
    Line::from(Span::styled(text, style))
}

/// A request's spans as a tree, with what the log and the trace say of it.
fn request_tree(
    app: &App,
    r: &crate::evidence::spans::Request,
    width: usize,
) -> Vec<Line<'static>> {
    let e = &app.shown.evidence;
    let mut tree = vec![Line::from(Span::styled(
        units::cut(
            &format!(
                "{} {:.1} ms{}",
                clean(&r.root.name),
                r.root.seconds() * 1000.0,
                r.session
                    .as_deref()
                    .map_or(String::new(), |s| format!(" · session {}", clean(s)))
            ),
            width,
        ),
        app.theme.title,
    ))];
    for (depth, s) in &r.children {
        let style = if s.error {
            app.theme.bad
        } else {
            app.theme.text
        };
        tree.push(Line::from(Span::styled(
            units::cut(
                &format!(
                    "{}{} {:.1} ms{}",
                    "  ".repeat(*depth),
                    clean(&s.name),
                    s.seconds() * 1000.0,
                    if s.error { "  error" } else { "" }
                ),
                width,
            ),
            style,
        )));
    }
    // The same request in the log and the trace, through its id.
    if let Some(session) = &r.session {
        let prefetches = e.log.iter().flat_map(|l| &l.prefetches);
        for p in prefetches.filter(|p| &p.request == session) {
            tree.push(Line::from(Span::styled(
                units::cut(
                    &format!(
                        "log: prefetch {}/{} keys ({} L1, {} L2) in {} ms",
                        p.retained, p.requested, p.l1, p.l2, p.ms
                    ),
                    width,
                ),
                app.theme.info,
            )));
        }
        let needle = format!("external_request_id={session:?}");
        let in_trace = e
            .trace
            .iter()
            .flat_map(|t| &t.recent)
            .filter(|row| row.args.contains(&needle))
            .count();
        if in_trace > 0 {
            tree.push(Line::from(Span::styled(
                format!("trace: {in_trace} records name this request"),
                app.theme.info,
            )));
        }
    }
    tree
}
