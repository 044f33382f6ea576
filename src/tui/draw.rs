//! Rendering: a pure function of the app state. This file lays the screen out; the header is
//! in `header.rs`, the panes in `panes.rs`, the overlays in `overlays.rs`, and what they share
//! in `widgets.rs`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Pane};
use super::{evidence, overlays, panes};

/// Smallest area anything is drawn in.
const MIN_W: u16 = 30;
const MIN_H: u16 = 8;

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
        // A tall screen gives the hit rate room for its chart.
        let top_h = if body.height >= 50 { 14 } else { 9 };
        let [top, mid, bottom] = Layout::vertical([
            Constraint::Length(top_h),
            Constraint::Min(8),
            Constraint::Length(8),
        ])
        .areas(body);
        let [mode, hit] =
            Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(top);
        let [matrix, right] =
            Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(mid);
        let [mem, bus] = Layout::vertical([Constraint::Min(9), Constraint::Length(7)]).areas(right);
        // The large area shows one of the large panes: the last one focused.
        let panes = vec![
            (Pane::Mode, mode),
            (Pane::HitRate, hit),
            (app.view.large, matrix),
            (Pane::Memory, mem),
            (Pane::EventBus, bus),
            (Pane::Findings, bottom),
        ];
        let hidden = Pane::ALL
            .iter()
            .copied()
            .filter(|p| !panes.iter().any(|(q, _)| q == p))
            .collect();
        return (header, panes, footer, hidden);
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

/// The panes drawn on a screen of `area`, and where (what a mouse click can hit).
pub(super) fn panes_at(area: Rect, app: &App) -> Vec<(Pane, Rect)> {
    if area.width < MIN_W || area.height < MIN_H {
        return Vec::new();
    }
    layout(area, app).1
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
            Pane::Trace => evidence::draw_trace(f, rect, app),
            Pane::Logs => evidence::draw_logs(f, rect, app),
            Pane::Requests => evidence::draw_requests(f, rect, app),
        }
    }
    let mut foot = app.keymap.footer(app.replaying());
    if !hidden.is_empty() {
        let names: Vec<&str> = hidden.iter().map(|p| p.title()).collect();
        foot = format!("also (tab): {} │ {foot}", names.join(", "));
    }
    f.render_widget(
        Paragraph::new(super::widgets::fit_line(
            Span::styled(foot, app.theme.dim).into(),
            footer.width,
        )),
        footer,
    );
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
