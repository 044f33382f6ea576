//! The Capacity pane: the hit rate LMCache's L1 would serve at each size, from the lookup-hash
//! log (the analysis's `capacity`), drawn against a log axis of sizes, with today's L1 and the
//! hit rate `/metrics` counted marked on it; and its drill-down, the whole section.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::app::{App, Pane};
use super::widgets::{block, fit, pane_text};
use crate::analysis::Fig;
use crate::analysis::capacity::Capacity;
use crate::sanitize::clean;
use crate::units::{UNKNOWN, bytes, percent};

/// Fewest rows the chart is drawn in; with fewer, the pane is text.
const CHART_ROWS: u16 = 6;

pub(super) fn draw_capacity(f: &mut Frame, area: Rect, app: &App) {
    let b = block(app, Pane::Capacity);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let Some(c) = &app.shown.analysis.capacity else {
        let how = "No lookup-hash log read. LMCache's MP server writes one with \
                   --lookup-hash-log-dir DIR; give the directory after its target \
                   (--lmcache URL --lookup-hashes DIR), or say yes when watch offers to \
                   follow the one /config names.";
        return pane_text(f, inner, vec![Line::from(how)], app.theme.dim, true, "");
    };
    let mut lines = summary(c, app);
    // The summary and the chart's key above the chart, when there is room for it.
    let text_rows = lines.len() as u16 + 1;
    if inner.height < text_rows + CHART_ROWS || inner.width < 24 {
        let more = format!("{} shows all", app.keymap.hint(super::keys::Action::Open));
        return pane_text(f, inner, lines, app.theme.text, false, &more);
    }
    lines.push(key(c, app));
    let [top, chart] =
        Layout::vertical([Constraint::Length(text_rows), Constraint::Min(0)]).areas(inner);
    f.render_widget(
        Paragraph::new(fit(lines, top.width)).style(app.theme.text),
        top,
    );
    curve_chart(f, chart, app, c);
}

/// The pane's lines: today against what was counted, the sizes that reach each hit rate, what
/// misses cost.
fn summary(c: &Capacity, app: &App) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(Span::styled(c.headline(), app.theme.title))];
    if let Some(why) = &c.current_unknown {
        lines.push(Line::from(Span::styled(clean(why), app.theme.dim)));
    }
    lines.push(Line::from(vec![
        Span::styled("to reach ", app.theme.dim),
        Span::raw(c.reach_line()),
    ]));
    if let Some(m) = &c.miss_cost {
        lines.push(Line::from(vec![
            Span::styled("misses ", app.theme.dim),
            Span::raw(format!(
                "{} tokens/s (evicted {}, cold {}) · {} GPU-s an hour",
                whole(&m.missed_tokens_per_s),
                whole(&m.evicted_tokens_per_s),
                whole(&m.cold_tokens_per_s),
                whole(&m.gpu_seconds_per_hour)
            )),
        ]));
    }
    lines
}

/// The whole section, for the drill-down.
pub(super) fn detail(app: &App) -> Option<(String, Vec<Line<'static>>)> {
    let c = app.shown.analysis.capacity.as_ref()?;
    let mut lines = summary(c, app);
    let row = |k: &str, v: String| {
        Line::from(vec![
            Span::styled(format!("{k:<22}"), app.theme.dim),
            Span::raw(v),
        ])
    };
    lines.push(row(
        "model",
        format!(
            "LRU, one tier, chunk by chunk; {} lookups, {} distinct chunks of {}",
            c.lookups,
            c.distinct_chunks,
            bytes(c.chunk_bytes.map(|b| b as f64))
        ),
    ));
    lines.push(row(
        "eviction",
        format!(
            "L1 holds {} of its size, then evicts {} ({})",
            percent(Some(c.watermark)),
            percent(Some(c.eviction_ratio)),
            c.eviction_settings_from
        ),
    ));
    if let Some(now) = &c.current {
        lines.push(row("today", c.today().unwrap_or_default()));
        lines.push(row(
            "doubling recovers",
            format!(
                "{} prefill tokens an hour, {} GPU-s an hour",
                whole(&now.doubling_recovers_tokens_per_hour),
                whole(&now.doubling_recovers_gpu_seconds_per_hour)
            ),
        ));
    }
    lines.push(row("exact", exactness(c)));
    for m in &c.by_model {
        lines.push(row(
            "model",
            format!(
                "{}: {} looked-up tokens, today {}, ceiling {}",
                clean(&m.model),
                m.looked_up_tokens,
                percent(m.predicted_hit_rate),
                percent(m.ceiling)
            ),
        ));
    }
    for n in &c.notes {
        lines.push(Line::from(Span::styled(
            format!("note: {}", clean(n)),
            app.theme.warn,
        )));
    }
    Some(("capacity".into(), lines))
}

/// Whether the curve is exact, or sampled and how well.
fn exactness(c: &Capacity) -> String {
    if c.sampled {
        format!(
            "sampled at {:.4} past {} distinct chunks, error ±{}",
            c.sampling_rate,
            c.exact_up_to,
            percent(Some(c.error_bound))
        )
    } else {
        format!("yes (up to {} distinct chunks)", c.exact_up_to)
    }
}

fn whole(f: &Fig) -> String {
    f.value()
        .map_or_else(|| UNKNOWN.to_string(), |v| format!("{v:.0}"))
}

/// The curve's x: the base-2 log of the size one would configure, in bytes (or in chunks
/// held, when the log gives no chunk size).
fn x_of(c: &Capacity, p: &crate::analysis::capacity::Point) -> Option<f64> {
    let size = if c.chunk_bytes.is_some() {
        p.bytes?
    } else {
        p.chunks
    };
    (size > 0.0).then(|| size.log2())
}

/// Columns the y axis's labels and line take at the chart's left.
const Y_AXIS: u16 = 5;
/// How far past the curve's last size the axis goes, in doublings (to show the ceiling).
const PAST_END: f64 = 0.3;

/// Hit rate against size on a log axis; today's L1 as an upright line, the hit rate
/// `/metrics` counted as a point on it. Past the curve's last size the hit rate is its
/// ceiling (the range reaches the size that holds every chunk), drawn to the axis's end.
/// The sizes under the axis are powers of two, each at its own column.
fn curve_chart(f: &mut Frame, area: Rect, app: &App, c: &Capacity) {
    let mut data: Vec<(f64, f64)> = c
        .curve
        .iter()
        .filter_map(|p| Some((x_of(c, p)?, p.hit_rate.clamp(0.0, 1.0))))
        .collect();
    let (Some(&(lo, _)), Some(&(end_x, end))) = (data.first(), data.last()) else {
        return;
    };
    let hi = end_x.max(lo) + PAST_END;
    if c.ceiling.is_some_and(|top| end >= top - 1e-9) {
        data.push((hi, end));
    }
    let (upright, observed) = marks(c);
    let sets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(app.theme.good)
            .data(&data),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(app.theme.warn)
            .data(&upright),
        Dataset::default()
            .marker(Marker::Block)
            .graph_type(GraphType::Scatter)
            .style(app.theme.info)
            .data(&observed),
    ];
    let [plot, under] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let chart = Chart::new(sets)
        .x_axis(Axis::default().bounds([lo, hi]).style(app.theme.dim))
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(["  0%", " 50%", "100%"])
                .style(app.theme.dim),
        )
        .legend_position(None);
    f.render_widget(chart, plot);
    let label = |x: i32| {
        let v = f64::from(x).exp2();
        if c.chunk_bytes.is_some() {
            bytes(Some(v))
        } else {
            format!("{v:.0} chunks")
        }
    };
    let graph = Rect {
        x: under.x + Y_AXIS,
        width: under.width.saturating_sub(Y_AXIS),
        ..under
    };
    let text = size_labels(graph.width, (lo, hi), label);
    f.render_widget(Paragraph::new(text).style(app.theme.dim), graph);
}

/// The row under the axis: each power of two in `lo..=hi` (base-2 logs) that has room,
/// centred on its column in a graph `width` columns wide, a space at least between two.
fn size_labels(width: u16, (lo, hi): (f64, f64), label: impl Fn(i32) -> String) -> String {
    let width = usize::from(width);
    let mut row = vec![' '; width];
    let mut free_from = 0;
    for x in (lo.ceil() as i32)..=(hi.floor() as i32) {
        let text: Vec<char> = label(x).chars().collect();
        let col = ((f64::from(x) - lo) / (hi - lo) * (width.saturating_sub(1)) as f64).round();
        let start = (col as usize)
            .saturating_sub(text.len() / 2)
            .max(free_from)
            .min(width.saturating_sub(text.len()));
        if start < free_from || start + text.len() > width {
            continue;
        }
        row[start..start + text.len()].copy_from_slice(&text);
        free_from = start + text.len() + 2;
    }
    row.into_iter().collect::<String>().trim_end().to_string()
}

/// Points of a chart: (x, y).
type Points = Vec<(f64, f64)>;

/// Today's L1 as an upright line at its size, and the hit rate `/metrics` counted as a point
/// on it (none without today's size, or on an axis of chunks).
fn marks(c: &Capacity) -> (Points, Points) {
    let Some(now) = c.current.as_ref().filter(|_| c.chunk_bytes.is_some()) else {
        return (Vec::new(), Vec::new());
    };
    let x = now.bytes.log2();
    let point = now
        .observed_hit_rate
        .value()
        .map(|y| (x, y.clamp(0.0, 1.0)));
    (vec![(x, 0.0), (x, 1.0)], point.into_iter().collect())
}

/// The chart's key, one line: the curve, today's L1 and what `/metrics` counted.
fn key(c: &Capacity, app: &App) -> Line<'static> {
    let mut spans = vec![
        Span::styled("⠤⠤ ", app.theme.good),
        Span::styled("LRU prediction", app.theme.dim),
    ];
    if let Some(now) = c.current.as_ref().filter(|_| c.chunk_bytes.is_some()) {
        spans.push(Span::styled("  ⢸ ", app.theme.warn));
        spans.push(Span::styled(
            format!("L1 today {}", bytes(Some(now.bytes))),
            app.theme.dim,
        ));
        if let Some(y) = now.observed_hit_rate.value() {
            spans.push(Span::styled("  █ ", app.theme.info));
            spans.push(Span::styled(
                format!("counted {} since start", percent(Some(y))),
                app.theme.dim,
            ));
        }
    }
    Line::from(spans)
}
