//! Overlays: the drill-down (a family's metrics and series, a finding's evidence), the LMCache
//! server (routes, threads, env), help; and the popup they are drawn in.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::app::{App, Pane};
use super::keys::Action;
use super::widgets::{scrolled_popup, severity_span, status_style, status_word, wrap_words};
use crate::analysis::figures::TargetFigures;
use crate::analysis::http_facts::HttpFacts;
use crate::sanitize::clean;

pub(super) fn draw_detail(f: &mut Frame, area: Rect, app: &App) {
    let detail = match app.view.focus {
        Pane::Matrix => family_detail(app),
        Pane::Findings => finding_detail(app),
        Pane::Mode => Some(("architecture".into(), super::panes::mode_lines(app))),
        Pane::Capacity => super::capacity::detail(app),
        _ => None,
    };
    let Some((title, lines)) = detail else {
        return;
    };
    let title = format!("{title} · {} closes", app.keymap.hint(Action::Close));
    scrolled_popup(f, area, app, lines, &title);
}

/// One metric of the family detail: its status and kind, the names it was seen under, and its
/// name release by release.
fn metric_lines(
    app: &App,
    fam: &crate::analysis::matrix::FamilyRow,
    m: &crate::analysis::matrix::MetricRow,
    lines: &mut Vec<Line<'static>>,
) {
    lines.push(Line::from(vec![
        Span::raw(format!("{:<28}", m.key)),
        Span::styled(
            format!("{:<10}", status_word(m.status)),
            status_style(app, m.status, fam.is_problem()),
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
            format!("    seen {}", clean(n)),
            app.theme.dim,
        )));
    }
    let def = crate::catalog::family_metrics(fam.id)
        .map(|r| r.metric_def())
        .find(|d| d.key == m.key);
    for (name, releases) in def
        .map(crate::catalog::version::names_by_release)
        .unwrap_or_default()
    {
        lines.push(Line::from(Span::styled(
            format!("    LMCache {releases:<16} {name}"),
            app.theme.dim,
        )));
    }
}

/// The selected family: its metrics, the names they were seen under, and its series.
fn family_detail(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    let rows = app.matrix_rows();
    let fam = &app.shown.analysis.families[*rows.get(app.view.matrix_row)?];
    let title = fam.id.to_string();
    let mut lines = Vec::new();
    lines.push(Line::from(Span::styled(fam.title, app.theme.title)));
    if let Some(why) = &fam.why_not_applicable {
        lines.push(Line::from(Span::styled(
            format!("not applicable: {why}"),
            app.theme.dim,
        )));
    }
    if let Some(why) = &fam.why_not_required {
        lines.push(Line::from(Span::styled(
            format!("not expected here: {why}"),
            app.theme.dim,
        )));
    }
    for m in &fam.metrics {
        metric_lines(app, fam, m, &mut lines);
    }
    let (series, total) = app.detail_series();
    if !series.is_empty() {
        lines.push(Line::from(Span::styled(
            "series (value · per second over the window)",
            app.theme.title,
        )));
    }
    for r in series {
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
    if total > series.len() {
        lines.push(Line::from(Span::styled(
            format!(
                "  +{} more series (kvscope report lists the figures over all)",
                total - series.len()
            ),
            app.theme.dim,
        )));
    }
    Some((title, lines))
}

/// The selected finding: evidence and next action.
fn finding_detail(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    let Some(x) = app.shown.analysis.findings.get(app.view.finding_row) else {
        return waiting_detail(app);
    };
    let title = x.code.to_string();
    let mut lines = vec![Line::from(vec![
        severity_span(app, x.severity),
        Span::styled(clean(&x.title), app.theme.title),
    ])];
    for e in &x.evidence {
        lines.push(Line::from(format!("  {}", clean(e))));
    }
    if let Some(w) = x.window_seconds {
        lines.push(Line::from(Span::styled(
            format!("  rates over the last {w:.0} s"),
            app.theme.dim,
        )));
    }
    lines.push(Line::from(Span::styled(
        format!("why: {}", x.explanation),
        app.theme.dim,
    )));
    // What this session saw of the rule: its latest state changes.
    if let Some(changes) = app.shown.verdicts.get(x.code) {
        let seen: Vec<String> = changes
            .iter()
            .rev()
            .take(6)
            .map(|(t, s)| format!("{s} at {}", crate::timefmt::format_rfc3339(*t)))
            .collect();
        lines.push(Line::from(Span::styled(
            format!("history: {}", seen.join(" ← ")),
            app.theme.dim,
        )));
    }
    lines.push(Line::from(Span::styled(
        format!("next: {}", x.next_action),
        app.theme.info,
    )));
    Some((title, lines))
}

/// The rules that wait for their `for` and those that cannot judge, with what each needs.
fn waiting_detail(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    use crate::analysis::findings::State;
    let rules = &app.shown.analysis.rules;
    let mut lines = Vec::new();
    for r in rules.iter().filter(|r| r.state == State::Pending) {
        lines.push(Line::from(vec![
            severity_span(app, r.severity),
            Span::raw(clean(&r.title)),
            Span::styled(
                format!(
                    "  pending: fires if it holds {}",
                    crate::timefmt::format_duration(r.for_seconds)
                ),
                app.theme.warn,
            ),
        ]));
    }
    for r in rules.iter().filter(|r| r.state == State::NotEvaluable) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", r.code), app.theme.title),
            Span::styled(
                format!("needs {}", clean(&r.missing_inputs.join("; "))),
                app.theme.dim,
            ),
        ]));
    }
    (!lines.is_empty()).then(|| ("rules waiting or unable to judge".to_string(), lines))
}

/// "12s ago" from a wall-clock time.
fn ago(now: f64, t: f64) -> String {
    format!("{:.0}s ago", (now - t).max(0.0))
}

/// Thread names, env variables and unhealthy threads listed at most (a hostile server can send
/// any number).
const LISTED: usize = 64;

/// At most [`LISTED`] of `items`, then how many more.
fn listed(items: impl ExactSizeIterator<Item = String>) -> String {
    let n = items.len();
    let mut out: Vec<String> = items.take(LISTED).collect();
    if n > LISTED {
        out.push(format!("+{} more", n - LISTED));
    }
    out.join(", ")
}

fn server_lines(app: &App, http: &HttpFacts, lines: &mut Vec<Line<'static>>) {
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
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!(
                "{} threads: {}",
                http.threads.len(),
                listed(http.threads.iter().map(|t| clean(t)))
            ),
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
                listed(http.periodic_unhealthy.iter().map(|t| clean(t)))
            ),
            app.theme.bad,
        ))),
        None => {}
    }
    if !http.env.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(
                "/env (values redacted unless diagnostic): ",
                app.theme.title,
            ),
            Span::raw(listed(
                http.env
                    .iter()
                    .map(|(k, v)| format!("{}={}", clean(k), clean(v))),
            )),
        ]));
    }
}

/// Each LMCache target's routes, threads, periodic-thread health and env (headed by its name
/// when there are several), then what kvscope never sends.
pub(super) fn draw_server(f: &mut Frame, area: Rect, app: &App) {
    let targets: Vec<&TargetFigures> = app
        .shown
        .analysis
        .lmcache
        .by_target
        .iter()
        .filter(|t| !t.http.routes.is_empty())
        .collect();
    let mut lines = Vec::new();
    if targets.is_empty() {
        lines.push(Line::from(Span::styled(
            "No LMCache HTTP routes read: watch and demo poll them on LMCache targets; files carry none.",
            app.theme.dim,
        )));
    }
    for t in &targets {
        if targets.len() > 1 {
            lines.push(Line::from(Span::styled(clean(&t.target), app.theme.title)));
        }
        server_lines(app, &t.http, &mut lines);
    }
    lines.push(Line::from(Span::styled(
        format!("never sent: {}", crate::vocab::NEVER_SENT.join(", ")),
        app.theme.dim,
    )));
    let title = format!(
        "LMCache server · {} or {} closes",
        app.keymap.hint(Action::Server),
        app.keymap.hint(Action::Close)
    );
    scrolled_popup(f, area, app, lines, &title);
}

pub(super) fn draw_help(f: &mut Frame, area: Rect, app: &App) {
    // What each key does, wrapped under itself (a hanging indent past the keys' column), in
    // the width scrolled_popup gives its text.
    const KEYS: usize = 22;
    let text_w = usize::from(area.width.saturating_sub(5).clamp(1, 117)).saturating_sub(KEYS);
    let mut lines: Vec<Line> = Vec::new();
    for (keys, help) in app.keymap.help_lines(app.replaying()) {
        for (i, row) in wrap_words(&help, text_w).into_iter().enumerate() {
            let head = if i == 0 { keys.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{head:<KEYS$}"), app.theme.title),
                Span::raw(row),
            ]));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Status: populated · zero · waiting (for the first lookup) · declared (HELP/TYPE, no sample) · missing (red when required) · n/a",
        app.theme.dim,
    )));
    lines.push(Line::from(Span::styled(
        "S = sampled family (recorded for a sample of events only)",
        app.theme.dim,
    )));
    let title = format!(
        "keys · {} or {} closes",
        app.keymap.hint(Action::Help),
        app.keymap.hint(Action::Close)
    );
    scrolled_popup(f, area, app, lines, &title);
}
