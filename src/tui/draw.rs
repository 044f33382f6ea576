//! Rendering: a pure function of the app state. The layout is `layout.rs`'s (the mouse uses
//! the same); the header is in `header.rs`, the panes in `panes.rs`, the overlays in
//! `overlays.rs`, and what they share in `widgets.rs`.

use ratatui::Frame;
use ratatui::text::Span;
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Overlay, Pane};
use super::{evidence, layout, overlays, panes, tiers};

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
    match app.view.overlay {
        Some(Overlay::Detail) => overlays::draw_detail(f, area, app),
        Some(Overlay::Server) => overlays::draw_server(f, area, app),
        Some(Overlay::Targets) => super::header::draw_targets(f, area, app),
        Some(Overlay::Help) => overlays::draw_help(f, area, app),
        None => {}
    }
}
