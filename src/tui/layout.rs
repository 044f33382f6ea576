//! The screen's layout, computed from the view: drawing and the mouse's hit tests share it.

use ratatui::layout::{Constraint, Rect};

use super::app::{App, Pane};

/// Smallest area anything is drawn in.
pub const MIN_W: u16 = 30;
pub const MIN_H: u16 = 8;

/// Where everything goes on a screen.
pub struct Layout {
    pub header: Rect,
    /// The panes shown, and where.
    pub panes: Vec<(Pane, Rect)>,
    pub footer: Rect,
    /// The panes not shown (the footer names them).
    pub hidden: Vec<Pane>,
}

/// The layout of a screen of `area` for the view in `app`.
pub fn of(area: Rect, app: &App) -> Layout {
    let header_h = super::header::lines(app, area.width).len() as u16;
    let [header, body, footer] = ratatui::layout::Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    let full = area.width >= 100 && area.height >= 28;
    if full {
        // A tall screen gives the hit rate room for its chart.
        let top_h = if body.height >= 50 { 14 } else { 9 };
        let [top, mid, bottom] = ratatui::layout::Layout::vertical([
            Constraint::Length(top_h),
            Constraint::Min(8),
            Constraint::Length(8),
        ])
        .areas(body);
        let [mode, hit] = ratatui::layout::Layout::horizontal([
            Constraint::Percentage(42),
            Constraint::Percentage(58),
        ])
        .areas(top);
        let [matrix, right] = ratatui::layout::Layout::horizontal([
            Constraint::Percentage(56),
            Constraint::Percentage(44),
        ])
        .areas(mid);
        let [mem, bus] =
            ratatui::layout::Layout::vertical([Constraint::Min(9), Constraint::Length(7)])
                .areas(right);
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
        return Layout {
            header,
            panes,
            footer,
            hidden,
        };
    }
    // Compact: the focused pane gets the room, findings stay visible below it.
    let focus = app.view.focus;
    let mut panes = Vec::new();
    if focus == Pane::Findings || body.height < 14 {
        panes.push((focus, body));
    } else {
        let [main, findings] =
            ratatui::layout::Layout::vertical([Constraint::Min(6), Constraint::Length(6)])
                .areas(body);
        panes.push((focus, main));
        panes.push((Pane::Findings, findings));
    }
    let hidden = Pane::ALL
        .iter()
        .copied()
        .filter(|p| !panes.iter().any(|(q, _)| q == p))
        .collect();
    Layout {
        header,
        panes,
        footer,
        hidden,
    }
}

/// The panes drawn on a screen of `area`, and where (what a mouse click can hit).
pub fn panes_at(area: Rect, app: &App) -> Vec<(Pane, Rect)> {
    if area.width < MIN_W || area.height < MIN_H {
        return Vec::new();
    }
    of(area, app).panes
}
