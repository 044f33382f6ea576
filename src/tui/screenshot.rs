//! Screenshots: a rendered buffer as SVG (for the README) or plain text.

use std::fmt::Write;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

use super::App;

/// Renders the app at `w`×`h` into a buffer.
pub fn render(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("a test backend never fails");
    t.draw(|f| super::draw::draw(f, app))
        .expect("a test backend never fails");
    t.backend().buffer().clone()
}

/// The buffer as text, one line per row, trailing blanks trimmed.
pub fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const BG: &str = "#1c1c1c";
const FG: &str = "#d0d0d0";

fn hex(c: Color, default: &'static str) -> String {
    let named = match c {
        Color::Reset => return default.to_string(),
        Color::Black => "#000000",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#3b8eea",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#cccccc",
        Color::DarkGray => "#767676",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#e5e5e5",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(_) => default,
    };
    named.to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as an SVG image: one `<text>` per run of equally styled cells.
pub fn svg(buf: &Buffer) -> String {
    let (cw, ch) = (8.4_f64, 17.0_f64);
    let (w, h) = (buf.area.width as f64 * cw, buf.area.height as f64 * ch);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}"><rect width="100%" height="100%" fill="{BG}"/><g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">"#
    );
    // Backgrounds first, then text, so a row's background never covers the row above.
    let mut texts = String::new();
    for y in 0..buf.area.height {
        let mut x = 0;
        while x < buf.area.width {
            let cell = &buf[(x, y)];
            let style = (cell.fg, cell.bg, cell.modifier);
            let start = x;
            let mut run = String::new();
            while x < buf.area.width && {
                let c = &buf[(x, y)];
                (c.fg, c.bg, c.modifier) == style
            } {
                run.push_str(buf[(x, y)].symbol());
                x += 1;
            }
            let (fg, bg, m) = style;
            let reversed = m.contains(Modifier::REVERSED);
            let (fg, bg) = if reversed {
                (hex(bg, BG), hex(fg, FG))
            } else {
                (hex(fg, FG), hex(bg, BG))
            };
            let px = start as f64 * cw;
            let py = y as f64 * ch;
            if bg != BG {
                let _ = write!(
                    out,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{ch:.1}" fill="{bg}"/>"#,
                    (x - start) as f64 * cw
                );
            }
            if run.trim().is_empty() {
                continue;
            }
            let weight = if m.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let _ = write!(
                texts,
                r#"<text x="{px:.1}" y="{:.1}" fill="{fg}"{weight}>{}</text>"#,
                py + ch * 0.78,
                escape(&run)
            );
        }
    }
    out.push_str(&texts);
    out.push_str("</g></svg>\n");
    out
}
