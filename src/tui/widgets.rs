//! What the panes, overlays and header share: how figures are written, a pane's frame, text
//! with sparklines, status and severity styles, popups. A leaf of the drawing code: it draws
//! nothing on its own and imports none of the files that do.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Sparkline, Wrap};

use super::app::{App, Pane};
use super::keys::Action;
use crate::analysis::Fig;
use crate::analysis::findings::Severity;
use crate::analysis::matrix::Status;
use crate::sanitize::clean;
use crate::units;

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
        let names: Vec<String> = series.iter().map(|(name, _)| short_name(name)).collect();
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
                app.keymap.hint(Action::Targets)
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

pub(super) fn popup(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A popup of at most 120 columns for `lines`, scrolled by the view's overlay scroll (j/k),
/// saying which lines it shows when they do not all fit.
pub(super) fn scrolled_popup(
    f: &mut Frame,
    area: Rect,
    app: &App,
    lines: Vec<Line<'_>>,
    title: &str,
) {
    // Room for the wrapped lines (the popup is at most 120 wide, 2 of it border).
    let inner_w = area.width.saturating_sub(4).clamp(1, 118);
    let text = Paragraph::new(lines).wrap(Wrap { trim: false });
    let rows = text.line_count(inner_w);
    let r = popup(area, 120, (rows + 2).min(usize::from(u16::MAX)) as u16);
    f.render_widget(Clear, r);
    let visible = usize::from(r.height.saturating_sub(2));
    let scroll = usize::from(app.view.overlay_scroll).min(rows.saturating_sub(visible));
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
        .title(format!(" {title}{more} "))
        .border_style(app.theme.focus);
    f.render_widget(text.block(b).scroll((scroll as u16, 0)), r);
}

/// `host:port` of a target URL (the rest is in the list).
pub(super) fn short_name(name: &str) -> String {
    let rest = name.split_once("://").map_or(name, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    clean(host.rsplit('@').next().unwrap_or(host))
}
