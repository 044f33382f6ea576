//! Rendering: a pure function of the app state. The layout is `layout.rs`'s (the mouse uses
//! the same); the header is in `header.rs`, the panes in `panes.rs`, the overlays in
//! `overlays.rs`, and what they share in `widgets.rs`.

use ratatui::Frame;
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Overlay, Pane};
use super::{capacity, evidence, layout, overlays, panes, tiers};

/// A figure pane whose targets stopped answering: its figures dimmed, and "as of" the last
/// answer on its top border, right-aligned.
fn aged(f: &mut Frame, rect: ratatui::layout::Rect, app: &App, t: f64) {
    let inner = rect.inner(ratatui::layout::Margin::new(1, 1));
    f.buffer_mut().set_style(inner, app.theme.dim);
    let label = format!(" as of {} ", crate::timefmt::clock_time(t));
    let w = label.chars().count() as u16;
    if rect.width > w + 12 {
        f.buffer_mut()
            .set_string(rect.x + rect.width - w - 2, rect.y, label, app.theme.warn);
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < layout::MIN_W || area.height < layout::MIN_H {
        let msg = Paragraph::new(format!(
            "kvscope needs {}×{}; this is {}×{}",
            layout::MIN_W,
            layout::MIN_H,
            area.width,
            area.height
        ))
        .wrap(Wrap { trim: true });
        f.render_widget(msg, area);
        return;
    }
    let layout::Layout {
        header,
        panes,
        footer,
        hidden,
    } = layout::of(area, app);
    super::header::draw(f, header, app);
    let as_of = app.figures_as_of();
    for (pane, rect) in panes {
        match pane {
            Pane::Mode => panes::draw_mode(f, rect, app),
            Pane::HitRate => panes::draw_hit_rate(f, rect, app),
            Pane::Matrix => panes::draw_matrix(f, rect, app),
            Pane::Memory => tiers::draw_memory(f, rect, app),
            Pane::EventBus => tiers::draw_eventbus(f, rect, app),
            Pane::Findings => panes::draw_findings(f, rect, app),
            Pane::Trace => evidence::draw_trace(f, rect, app),
            Pane::Logs => evidence::draw_logs(f, rect, app),
            Pane::Requests => evidence::draw_requests(f, rect, app),
            Pane::Capacity => capacity::draw_capacity(f, rect, app),
        }
        if let Some(t) = as_of
            && matches!(
                pane,
                Pane::HitRate | Pane::Memory | Pane::EventBus | Pane::Matrix
            )
        {
            aged(f, rect, app, t);
        }
    }
    // The help's key first, then the panes not shown, then the other keys.
    let keys = app.keymap.footer(app.replaying());
    let mut foot = keys.join("  ");
    if let (Some((help, rest)), false) = (keys.split_first(), hidden.is_empty()) {
        let names: Vec<&str> = hidden.iter().map(|p| p.title()).collect();
        foot = format!(
            "{help} │ also (tab): {} │ {}",
            names.join(", "),
            rest.join("  ")
        );
    }
    f.render_widget(
        Paragraph::new(super::widgets::fit_line(
            Span::styled(foot, app.theme.dim).into(),
            footer.width,
        )),
        footer,
    );
    match app.view.overlay {
        Some(Overlay::Detail) => overlays::draw_detail(f, area, app),
        Some(Overlay::Server) => overlays::draw_server(f, area, app),
        Some(Overlay::Targets) => super::header::draw_targets(f, area, app),
        Some(Overlay::Help) => overlays::draw_help(f, area, app),
        None => {}
    }
}
