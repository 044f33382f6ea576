//! The six panes: mode, hit rate, the family matrix, L1/L2, EventBus, findings. Each is one
//! function of the app state and its area.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::app::{App, Pane};
use super::widgets::{
    block, fit, pane_text, percent_chart, severity_span, status_style, status_word, text_with_spark,
};
use crate::sanitize::clean;

pub(super) fn draw_mode(f: &mut Frame, area: Rect, app: &App) {
    let b = block(app, Pane::Mode);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let more = format!("{} shows all", app.keymap.hint(super::keys::Action::Open));
    pane_text(f, inner, mode_lines(app), app.theme.text, true, &more);
}

/// What the Mode pane says: the architecture, its features and the evidence for it.
pub(super) fn mode_lines(app: &App) -> Vec<Line<'static>> {
    let m = &app.shown.analysis.mode;
    let mut lines = vec![Line::from(vec![
        Span::styled(m.architecture.as_str(), app.theme.title),
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
    let rel = &app.shown.analysis.lmcache_release;
    if let Some(line) = rel.line() {
        lines.push(Line::from(Span::styled(clean(&line), app.theme.text)));
        for e in &rel.evidence {
            lines.push(Line::from(Span::styled(
                format!("  {}", clean(e)),
                app.theme.dim,
            )));
        }
        for n in &rel.notes {
            lines.push(Line::from(Span::styled(
                format!("  {}", clean(n)),
                app.theme.warn,
            )));
        }
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
    lines
}

/// How many targets a summed LMCache figure covers, when more than one.
pub(super) fn summed(app: &App) -> String {
    match app.shown.analysis.lmcache.summed_over.len() {
        0 | 1 => String::new(),
        n => format!(" ({n} targets, summed)"),
    }
}

/// Where the window's hits came from (each tier's share), as the verdict line says it;
/// without a window, since start, said so.
fn tier_split(lk: &crate::analysis::figures::Lookup) -> String {
    match (lk.l1_share.window.value(), lk.l2_share.window.value()) {
        (Some(l1), Some(l2)) => format!(
            " (L1 {} / L2 {})",
            crate::units::percent(Some(l1)),
            crate::units::percent(Some(l2))
        ),
        _ => format!(
            " · L1 {} / L2 {} since start",
            lk.l1_share.since_start.percent(),
            lk.l2_share.since_start.percent()
        ),
    }
}

pub(super) fn draw_hit_rate(f: &mut Frame, area: Rect, app: &App) {
    let b = block(app, Pane::HitRate);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let mut lines = hit_rate_lines(app);
    lines.extend(breakdown_lines(app));
    let series: Vec<(&str, &[Option<f64>])> = app
        .shown
        .history
        .targets
        .iter()
        .map(|t| (t.target.as_str(), t.hit_rate.as_slice()))
        .collect();
    match chart_room(inner, lines.len()) {
        Some((top, chart)) => {
            f.render_widget(
                Paragraph::new(fit(lines, top.width)).style(app.theme.text),
                top,
            );
            percent_chart(f, chart, app, &series, None, app.theme.good);
        }
        None => text_with_spark(f, inner, lines, app, &series, Some(1.0), app.theme.good),
    }
}

/// The hit rates: LMCache's, what its misses were, the embedded connector's and the
/// engine's.
fn hit_rate_lines(app: &App) -> Vec<Line<'static>> {
    let lk = &app.shown.analysis.lmcache.lookup;
    let en = &app.shown.analysis.engine;
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("LMCache{}  ", summed(app)), app.theme.dim),
            Span::styled(
                format!("{} since start", lk.hit_rate.since_start.percent()),
                app.theme.text,
            ),
            Span::styled(
                format!(" · {} in window", lk.hit_rate.window.percent()),
                app.theme.title,
            ),
            Span::styled(tier_split(lk), app.theme.dim),
        ]),
        Line::from(vec![
            Span::styled("engine   ", app.theme.dim),
            Span::raw(format!(
                "prefix {} ",
                en.prefix_cache.hit_rate.since_start.percent()
            )),
            Span::raw(format!(
                "  external {} ({} / {} tokens)",
                en.external_prefix_cache.hit_rate.since_start.percent(),
                en.external_prefix_cache.hits_total.count(),
                en.external_prefix_cache.queries_total.count()
            )),
        ]),
    ];
    let miss = &app.shown.analysis.miss_attribution.since_start;
    if miss.missed_tokens.value().is_some_and(|m| m > 0.0) {
        lines.insert(
            1,
            Line::from(vec![
                Span::styled("missed   ", app.theme.dim),
                Span::raw(format!(
                    "{} tokens: {} evicted · {} L2 failed · {} cold",
                    miss.missed_tokens.count(),
                    miss.evicted_tokens.count(),
                    miss.l2_failed_tokens.count(),
                    miss.cold_tokens.count()
                )),
            ]),
        );
    }
    let emb = &app.shown.analysis.lmcache_embedded;
    if emb.present {
        lines.insert(
            1,
            Line::from(vec![
                Span::styled("embedded ", app.theme.dim),
                Span::raw(format!(
                    "lookup {} ({} window)  retrieve {} ({} window)",
                    emb.lookup_hit_rate.since_start.percent(),
                    emb.lookup_hit_rate.window.percent(),
                    emb.retrieve_hit_rate.since_start.percent(),
                    emb.retrieve_hit_rate.window.percent()
                )),
                Span::styled(
                    format!("  stored {} tokens", emb.stored_tokens.since_start.count()),
                    app.theme.dim,
                ),
            ]),
        );
    }
    lines
}

/// Rows a chart needs at least; with fewer, a sparkline says more.
const CHART_ROWS: u16 = 6;

/// `area` split into the rows `lines` take and a chart below them, when the chart gets
/// [`CHART_ROWS`] and 40 columns.
pub(super) fn chart_room(area: Rect, lines: usize) -> Option<(Rect, Rect)> {
    let n = u16::try_from(lines).unwrap_or(u16::MAX);
    (area.height.saturating_sub(n) >= CHART_ROWS && area.width >= 40).then(|| {
        let [top, chart] =
            Layout::vertical([Constraint::Length(n), Constraint::Min(0)]).areas(area);
        (top, chart)
    })
}

/// The busiest `model_name` and `cache_salt` rows, and how many more there are.
fn breakdown_lines(app: &App) -> Vec<Line<'static>> {
    let lk = &app.shown.analysis.lmcache.lookup;
    let mut lines = Vec::new();
    let (models, salts) = (2, 3);
    let rows = lk
        .by_model_name
        .iter()
        .take(models)
        .chain(lk.by_cache_salt.iter().take(salts));
    for row in rows {
        let value = row
            .value
            .as_deref()
            .map_or("(no label)".to_string(), |s| format!("\"{}\"", clean(s)));
        lines.push(Line::from(Span::styled(
            format!(
                "{} {value}: {} since start, {} in window, of {} tokens",
                row.label,
                row.hit_rate.percent(),
                row.window_hit_rate.percent(),
                row.requested_tokens.count()
            ),
            app.theme.dim,
        )));
    }
    let more = |rows: usize, kept: usize, label: &str| {
        (rows > kept).then(|| format!("+{} more {label} values", rows - kept))
    };
    let hidden: Vec<String> = [
        more(lk.by_model_name.len(), models, "model_name"),
        more(lk.by_cache_salt.len(), salts, "cache_salt"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !hidden.is_empty() {
        lines.push(Line::from(Span::styled(
            format!("{} (kvscope report lists all)", hidden.join(", ")),
            app.theme.dim,
        )));
    }
    lines
}

pub(super) fn draw_matrix(f: &mut Frame, area: Rect, app: &App) {
    let rows = app.matrix_rows();
    let search = match (&app.view.search, app.view.typing) {
        (Some(q), true) => format!(" · /{}▏", clean(q)),
        (Some(q), false) if !q.is_empty() => format!(
            " · /{} ({} clears)",
            clean(q),
            app.keymap.hint(super::keys::Action::Close)
        ),
        _ => String::new(),
    };
    let b = block(app, Pane::Matrix).title_bottom(Span::styled(
        format!(
            " {} of {} families · {} (f){search} ",
            rows.len(),
            app.shown.analysis.families.len(),
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
    // Wide: each family's first metric, its value now and its rate over the window.
    let wide = area.width >= WIDE_MATRIX;
    // The name column: what the fixed columns and the gaps between them leave (a name longer
    // than it ends in `…`; the drill-down has it whole).
    let name_w = if wide {
        34
    } else {
        usize::from(area.width.saturating_sub(2 + 22 + 4))
    };
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_h.max(1))
        .map(|(i, &fi)| {
            let row = matrix_row(app, fi, name_w, wide);
            if i == sel && app.view.focus == Pane::Matrix {
                row.style(app.theme.selected)
            } else {
                row
            }
        })
        .collect();
    let mut widths = vec![
        Constraint::Min(20),
        Constraint::Length(10),
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Length(2),
    ];
    let mut header = vec!["family", "status", "need", "series", ""];
    if wide {
        widths[0] = Constraint::Length(34);
        widths.extend([
            Constraint::Length(METRIC_W as u16),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Fill(1),
        ]);
        header.extend(["metric", "now", "per s"]);
    }
    let table = Table::new(body, widths)
        .header(Row::new(header).style(app.theme.dim))
        .block(b);
    f.render_widget(table, area);
}

/// A family's row of the matrix; on a `wide` screen with its first metric's glance.
fn matrix_row(app: &App, fi: usize, name_w: usize, wide: bool) -> Row<'static> {
    let glances = &app.shown.history.glances;
    let fam = &app.shown.analysis.families[fi];
    let need = match fam.need {
        crate::analysis::matrix::Need::Required => "req",
        crate::analysis::matrix::Need::Optional => "opt",
        crate::analysis::matrix::Need::NotApplicable => "",
    };
    let mut cells = vec![
        Span::raw(crate::units::cut(fam.id, name_w)),
        Span::styled(
            status_word(fam.status),
            status_style(app, fam.status, fam.is_problem()),
        ),
        Span::styled(need, app.theme.dim),
        Span::raw(if fam.series > 0 {
            fam.series.to_string()
        } else {
            String::new()
        }),
        Span::styled(if fam.sampled { "S" } else { "" }, app.theme.dim),
    ];
    if let (true, Some(g)) = (wide, glances.get(fi).and_then(Option::as_ref)) {
        let value = if g.metric.ends_with("bytes") {
            g.value.bytes()
        } else {
            g.value.count()
        };
        cells.push(Span::styled(
            crate::units::cut(g.metric, METRIC_W),
            app.theme.dim,
        ));
        cells.push(Span::raw(value));
        cells.push(Span::raw(
            g.per_s
                .as_ref()
                .map_or(String::new(), crate::analysis::Fig::count),
        ));
    }
    Row::new(cells)
}

/// Columns from which the family matrix also shows each family's value and rate.
const WIDE_MATRIX: u16 = 112;
/// The metric column of the wide matrix.
const METRIC_W: usize = 22;

pub(super) fn draw_findings(f: &mut Frame, area: Rect, app: &App) {
    let fs = &app.shown.analysis.findings;
    let mut lines: Vec<Line> = if fs.is_empty() {
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
    // Rules that wait (pending) or cannot judge, in one line that Enter opens.
    let (pending, unjudged) = app.waiting_rules();
    if pending + unjudged > 0 {
        let mut line = Line::from(Span::styled(
            format!(
                "{pending} pending · {unjudged} not evaluable — {} lists them",
                app.keymap.hint(super::keys::Action::Open)
            ),
            app.theme.dim,
        ));
        if app.view.finding_row == fs.len() && app.view.focus == Pane::Findings {
            line = line.style(app.theme.selected);
        }
        lines.push(line);
    }
    let b = block(app, Pane::Findings);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let more = format!("{} opens one", app.keymap.hint(super::keys::Action::Open));
    pane_text(f, inner, lines, app.theme.text, false, &more);
}
