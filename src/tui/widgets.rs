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
use crate::analysis::findings::Severity;
use crate::analysis::matrix::Status;
use crate::sanitize::clean;

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
    f.render_widget(
        Paragraph::new(fit(lines, top.width)).style(app.theme.text),
        top,
    );
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

/// Where a line of `room` points starts showing `len` values: from the first until it is
/// full, then in pages of half its room. A new value then draws one more point instead of
/// moving every point one place left, which keeps what is written to the terminal small
/// (a sparkline shifting every scrape was most of the bytes a quiet demo wrote).
pub(super) fn paged(len: usize, room: usize) -> usize {
    if len <= room || room == 0 {
        return 0;
    }
    let page = (room / 2).max(1);
    (len - room).div_ceil(page) * page
}

/// The newest values of `series` that fit in `area` (paged: see [`paged`]).
pub(super) fn sparkline(
    f: &mut Frame,
    area: Rect,
    series: &[Option<f64>],
    max: Option<f64>,
    style: Style,
) {
    let start = paged(series.len(), usize::from(area.width));
    let tail: Vec<f64> = series[start..].iter().map(|v| v.unwrap_or(0.0)).collect();
    let top_value = max
        .unwrap_or_else(|| tail.iter().copied().fold(0.0, f64::max))
        .max(1e-9);
    let data: Vec<u64> = tail
        .iter()
        .map(|v| (v / top_value * 100.0).round() as u64)
        .collect();
    f.render_widget(Sparkline::default().data(&data).max(100).style(style), area);
}

/// A status's colour by what it means: red only where the matrix's problems filter counts
/// (`problem`: a required family that is missing), yellow for what waits or is declared
/// without samples, dim for what is absent and not expected.
pub(super) fn status_style(app: &App, s: Status, problem: bool) -> Style {
    match s {
        Status::Populated => app.theme.good,
        Status::Zero => app.theme.info,
        Status::DeclaredNoSamples | Status::Waiting => app.theme.warn,
        Status::Missing if problem => app.theme.bad,
        Status::Missing | Status::NotApplicable => app.theme.dim,
    }
}

pub(super) fn status_word(s: Status) -> &'static str {
    match s {
        Status::Populated => "populated",
        Status::Zero => "zero",
        Status::DeclaredNoSamples => "declared",
        Status::Waiting => "waiting",
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
    // Room for the wrapped lines (the popup is at most 120 wide, 2 of it border and 1 a free
    // column on the right, so no line runs into the border).
    let inner_w = area.width.saturating_sub(5).clamp(1, 117);
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
        .padding(ratatui::widgets::Padding::right(1))
        .title(format!(" {title}{more} "))
        .border_style(app.theme.focus);
    f.render_widget(text.block(b).scroll((scroll as u16, 0)), r);
}

/// `host:port` of a target URL (the rest is in the list).
pub(super) fn short_name(name: &str) -> String {
    clean(crate::url::split(name).host_port)
}

/// `line` in `width` columns, the last one left empty: a line that needs more is cut a column
/// earlier, at a character, and ends in `…`. So text never runs into a border or the screen's
/// edge without a sign, and a line that fits is never mistaken for a cut one (the fit test
/// reads the column before each edge).
pub(super) fn fit_line(line: Line<'_>, width: u16) -> Line<'static> {
    use unicode_width::UnicodeWidthChar;
    let room = usize::from(width.saturating_sub(1));
    let alignment = line.alignment;
    if line.width() <= room {
        return owned(line);
    }
    // Room for the text before the `…`.
    let mut left = room.saturating_sub(1);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut last_style = line.style;
    for s in line.spans {
        last_style = s.style;
        let mut kept = String::new();
        for c in s.content.chars() {
            let cw = c.width().unwrap_or(0);
            if cw > left {
                left = 0;
                break;
            }
            left -= cw;
            kept.push(c);
        }
        spans.push(Span::styled(kept, s.style));
        if left == 0 {
            break;
        }
    }
    if room > 0 {
        spans.push(Span::styled("…", last_style));
    }
    Line {
        style: line.style,
        alignment,
        spans,
    }
}

/// Every line of `lines` through [`fit_line`].
pub(super) fn fit<'a>(lines: impl IntoIterator<Item = Line<'a>>, width: u16) -> Vec<Line<'static>> {
    lines.into_iter().map(|l| fit_line(l, width)).collect()
}

/// Text in a pane's inner `area`. Wrapped (`wrap`) it keeps the last column free; unwrapped,
/// each line is [`fit`]. Either way, when it needs more rows than there are, the last row says
/// so (with `more`, e.g. which key shows the rest) instead of the text ending mid-sentence.
pub(super) fn pane_text(
    f: &mut Frame,
    area: Rect,
    lines: Vec<Line<'_>>,
    style: Style,
    wrap: bool,
    more: &str,
) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let body = Rect {
        width: area.width.saturating_sub(u16::from(wrap)),
        ..area
    };
    let count = lines.len();
    let p = if wrap {
        Paragraph::new(lines).wrap(Wrap { trim: true })
    } else {
        Paragraph::new(fit(lines, area.width))
    }
    .style(style);
    let rows = if wrap {
        p.line_count(body.width)
    } else {
        count
    };
    if rows <= usize::from(area.height) || area.height < 2 {
        f.render_widget(p, body);
        return;
    }
    let top = Rect {
        height: area.height - 1,
        ..body
    };
    f.render_widget(p, top);
    let last = Rect {
        y: area.y + area.height - 1,
        height: 1,
        ..area
    };
    let note = if more.is_empty() {
        "…".to_string()
    } else {
        format!("… {more}")
    };
    f.render_widget(
        Paragraph::new(fit([Line::from(note)], area.width)).style(style),
        last,
    );
}

fn owned(l: Line<'_>) -> Line<'static> {
    Line {
        style: l.style,
        alignment: l.alignment,
        spans: l
            .spans
            .into_iter()
            .map(|s| Span::styled(s.content.into_owned(), s.style))
            .collect(),
    }
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a
/// line is broken where the line ends).
pub(super) fn wrap_words(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthStr;
    let width = width.max(1);
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in text.split_whitespace() {
        let w = word.width();
        if !row.is_empty() && row.width() + 1 + w > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
        while row.width() > width {
            // A word longer than a line: break it at the line's end.
            let cut = row
                .char_indices()
                .scan(0, |w, (i, c)| {
                    *w += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                    Some((i, *w))
                })
                .find(|&(_, w)| w > width)
                .map_or(row.len(), |(i, _)| i);
            let rest = row.split_off(cut);
            rows.push(std::mem::replace(&mut row, rest));
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// Fractions over time as a line chart (ratatui's Chart, in braille): 0 to 100% up the side,
/// the newest values on the right, one line per series (named when several), and `mark` as a
/// level drawn across (e.g. where L1 starts evicting).
pub(super) fn percent_chart(
    f: &mut Frame,
    area: Rect,
    app: &App,
    series: &[(&str, &[Option<f64>])],
    mark: Option<(f64, String)>,
    style: Style,
) {
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    // Braille holds two points a column; the y labels take five columns.
    let room = usize::from(area.width.saturating_sub(6)) * 2;
    // The x axis grows a page at a time up to the whole room, so points stay where they were
    // drawn until a page turns.
    let page = (room / 2).max(1);
    let len = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    let longest = len
        .div_ceil(page)
        .saturating_mul(page)
        .clamp(2, room.max(2));
    let points: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, values)| {
            let tail = &values[paged(values.len(), room)..];
            tail.iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i as f64, v.clamp(0.0, 1.0))))
                .collect()
        })
        .collect();
    let right = (longest - 1) as f64;
    let level = mark
        .as_ref()
        .map(|(m, _)| vec![(0.0, m.clamp(0.0, 1.0)), (right, m.clamp(0.0, 1.0))]);
    let palette = [style, app.theme.info, app.theme.title, app.theme.dim];
    let mut sets: Vec<Dataset> = points
        .iter()
        .zip(series)
        .enumerate()
        .map(|(i, (data, (name, _)))| {
            let d = Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(palette[i % palette.len()])
                .data(data);
            // Legend names end in a space, so no name runs into the legend's border.
            if series.len() > 1 {
                d.name(format!("{} ", short_name(name)))
            } else {
                d
            }
        })
        .collect();
    if let (Some(level), Some((_, label))) = (&level, &mark) {
        sets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(app.theme.warn)
                .name(format!("{label} "))
                .data(level),
        );
    }
    let chart = Chart::new(sets)
        .x_axis(Axis::default().bounds([0.0, right]).style(app.theme.dim))
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(["0%", " 50%", "100%"])
                .style(app.theme.dim),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(60), Constraint::Percentage(60)));
    f.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_line_moves_on_by_half_pages() {
        // Filling up: from the first value.
        assert_eq!(paged(0, 10), 0);
        assert_eq!(paged(10, 10), 0);
        // One past full: half a page on, then it fills again before the next jump.
        assert_eq!(paged(11, 10), 5);
        assert_eq!(paged(15, 10), 5);
        assert_eq!(paged(16, 10), 10);
        // Always the newest value shown, never more than the room.
        for len in 0..200 {
            for room in 1..40 {
                let start = paged(len, room);
                assert!(len - start <= room, "{len} {room}");
                assert!(len == 0 || start < len, "the newest is shown: {len} {room}");
            }
        }
        assert_eq!(paged(5, 0), 0);
    }

    #[test]
    fn fit_cuts_with_a_sign_and_keeps_the_last_column_free() {
        let l = |s: &str| fit_line(Line::from(s.to_string()), 10).to_string();
        assert_eq!(l("short"), "short");
        assert_eq!(l("123456789"), "123456789");
        assert_eq!(l("1234567890"), "12345678…");
        assert_eq!(l("日本語のテキストです"), "日本語の…");
        let styled = fit_line(
            Line::from(vec![Span::raw("abcdef"), Span::raw("ghijkl")]),
            8,
        );
        assert_eq!(styled.to_string(), "abcdef…");
        assert_eq!(
            wrap_words("one two three four", 9),
            ["one two", "three", "four"]
        );
        assert_eq!(wrap_words("abcdefghijkl", 5), ["abcde", "fghij", "kl"]);
        assert_eq!(wrap_words("", 5), [""]);
    }
}
