//! Rendering: a pure function of the app state. This file lays the screen out and holds what
//! the panes share; the panes are in `panes.rs`, the overlays in `overlays.rs`, the header in
//! `header.rs`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use super::app::{App, Pane};
use super::{overlays, panes};
use crate::analysis::Fig;
use crate::analysis::findings::Severity;
use crate::analysis::matrix::Status;
use crate::units;

/// Smallest area anything is drawn in.
const MIN_W: u16 = 30;
const MIN_H: u16 = 8;

pub(super) fn pct(f: &Fig) -> String {
    units::percent(f.value())
}

pub(super) fn num(f: &Fig) -> String {
    units::count(f.value())
}

pub(super) fn bytes(f: &Fig) -> String {
    units::bytes(f.value())
}

pub(super) fn block<'a>(app: &App, pane: Pane) -> Block<'a> {
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
    let header_h = super::header::lines(app, area.width).len() as u16;
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
    super::header::draw(f, header, app);
    for (pane, rect) in panes {
        match pane {
            Pane::Mode => panes::draw_mode(f, rect, app),
            Pane::HitRate => panes::draw_hit_rate(f, rect, app),
            Pane::Matrix => panes::draw_matrix(f, rect, app),
            Pane::Memory => panes::draw_memory(f, rect, app),
            Pane::EventBus => panes::draw_eventbus(f, rect, app),
            Pane::Findings => panes::draw_findings(f, rect, app),
        }
    }
    let mut foot = app.keymap.footer();
    if !hidden.is_empty() {
        let names: Vec<&str> = hidden.iter().map(|p| p.title()).collect();
        foot = format!("hidden at this size: {} (tab) │ {foot}", names.join(", "));
    }
    f.render_widget(Paragraph::new(Span::styled(foot, app.theme.dim)), footer);
    if app.view.detail {
        overlays::draw_detail(f, area, app);
    }
    if app.view.server {
        overlays::draw_server(f, area, app);
    }
    if app.view.targets {
        super::header::draw_targets(f, area, app);
    }
    if app.view.help {
        overlays::draw_help(f, area, app);
    }
}

/// A paragraph with sparklines (newest on the right) in the rows below it: one target's over
/// all the rows left, or with several targets one row each, named. `max` fixes the top of the
/// scale; `None` scales each to the largest value it shows.
pub(super) fn text_with_spark(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'_>>,
    app: &App,
    series: &[(&str, &[Option<f64>])],
    max: Option<f64>,
    style: Style,
) {
    let n = lines.len() as u16;
    let [top, spark] =
        Layout::vertical([Constraint::Length(n.min(area.height)), Constraint::Min(0)]).areas(area);
    f.render_widget(Paragraph::new(lines).style(app.theme.text), top);
    if spark.height == 0 {
        return;
    }
    let [(_, one)] = series else {
        // One row per target, its name before its sparkline; the rest counted.
        let rows = usize::from(spark.height);
        let shown = if series.len() > rows {
            rows.saturating_sub(1)
        } else {
            series.len()
        };
        let names: Vec<String> = series
            .iter()
            .map(|(name, _)| super::header::short_name(name))
            .collect();
        let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let label_w = (longest.min(24) as u16).min(spark.width / 3);
        for (i, ((_, values), name)) in series.iter().zip(&names).take(shown).enumerate() {
            let row = Rect {
                y: spark.y + i as u16,
                height: 1,
                ..spark
            };
            let [label, line] =
                Layout::horizontal([Constraint::Length(label_w + 1), Constraint::Min(0)])
                    .areas(row);
            let short: String = name.chars().take(usize::from(label_w)).collect();
            f.render_widget(Paragraph::new(Span::styled(short, app.theme.dim)), label);
            sparkline(f, line, values, max, style);
        }
        if shown < series.len() {
            let row = Rect {
                y: spark.y + shown as u16,
                height: 1,
                ..spark
            };
            let more = format!(
                "+{} more targets ({} lists them)",
                series.len() - shown,
                app.keymap.hint(super::keys::Action::Targets)
            );
            f.render_widget(Paragraph::new(Span::styled(more, app.theme.dim)), row);
        }
        return;
    };
    sparkline(f, spark, one, max, style);
}

/// The newest values of `series` that fit in `area`.
pub(super) fn sparkline(
    f: &mut Frame,
    area: Rect,
    series: &[Option<f64>],
    max: Option<f64>,
    style: Style,
) {
    let tail: Vec<f64> = series
        .iter()
        .rev()
        .take(area.width as usize)
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
    f.render_widget(Sparkline::default().data(&data).max(100).style(style), area);
}

pub(super) fn status_style(app: &App, s: Status) -> Style {
    match s {
        Status::Populated => app.theme.good,
        Status::Zero => app.theme.info,
        Status::DeclaredNoSamples => app.theme.warn,
        Status::Missing => app.theme.bad,
        Status::NotApplicable => app.theme.dim,
    }
}

pub(super) fn status_word(s: Status) -> &'static str {
    match s {
        Status::Populated => "populated",
        Status::Zero => "zero",
        Status::DeclaredNoSamples => "declared",
        Status::Missing => "missing",
        Status::NotApplicable => "n/a",
    }
}

pub(super) fn severity_span(app: &App, s: Severity) -> Span<'static> {
    match s {
        Severity::Critical => Span::styled("CRIT ", app.theme.bad),
        Severity::Warning => Span::styled("WARN ", app.theme.warn),
        Severity::Info => Span::styled("info ", app.theme.info),
    }
}
