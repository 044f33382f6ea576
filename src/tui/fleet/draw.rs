//! Drawing the fleet view: header, table and help, a pure function of the view.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, TableState};

use super::*;
use crate::tui::widgets;

/// A hit-rate sparkline in text: one block per interval, blank where unknown (never 0).
pub(super) fn spark_text(values: &[Option<f64>], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &values[values.len().saturating_sub(width)..];
    let mut s: String = tail
        .iter()
        .map(|v| match v {
            Some(v) => BARS[((v.clamp(0.0, 1.0) * 7.0).round()) as usize],
            None => ' ',
        })
        .collect();
    while s.chars().count() < width {
        s.insert(0, ' ');
    }
    s
}

fn findings_cell(c: Counts, theme: &Theme) -> Line<'static> {
    if c == Counts::default() {
        return Line::from(Span::styled("none", theme.good));
    }
    let mut spans = Vec::new();
    for (n, letter, style) in [
        (c.critical, "C", theme.bad),
        (c.warning, "W", theme.warn),
        (c.info, "I", theme.info),
    ] {
        if n > 0 {
            if !spans.is_empty() {
                spans.push(Span::raw(" "));
            }
            spans.push(Span::styled(format!("{n}{letter}"), style));
        }
    }
    Line::from(spans)
}

fn age(secs: f64) -> String {
    if secs < 90.0 {
        format!("{:.0}s", secs.max(0.0))
    } else if secs < 5400.0 {
        format!("{:.0}m", secs / 60.0)
    } else {
        format!("{:.1}h", secs / 3600.0)
    }
}

/// Draws the fleet view.
/// The screen's header, table and footer.
pub(super) fn areas(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area)
}

pub fn draw(f: &mut Frame, v: &FleetView) {
    let area = f.area();
    let [head, table, foot] = areas(area);
    draw_header(f, v, head);
    draw_table(f, v, table);
    let hint = if v.typing {
        format!(
            "filter: {}▏  Enter keep · Esc clear",
            crate::sanitize::clean(&v.filter)
        )
    } else {
        format!(
            "Enter open · s sort ({}) · / filter{} · e export · ? help · q quit",
            v.sort.name(),
            if v.filter.is_empty() {
                String::new()
            } else {
                format!(" \"{}\"", crate::sanitize::clean(&v.filter))
            }
        )
    };
    f.render_widget(
        Paragraph::new(widgets::fit_line(
            Span::styled(hint, v.theme.dim).into(),
            foot.width,
        )),
        foot,
    );
    if v.help {
        draw_help(f, v, area);
    }
}

fn draw_header(f: &mut Frame, v: &FleetView, area: Rect) {
    let p = &v.picture;
    let sum = Summary::of(p.rows.iter().map(|r| &r.row));
    let totals = sum.findings;
    let title = format!(
        "kvscope fleet · {} · {} instances: {} up, {} stale, {} down · window {}",
        crate::sanitize::clean(&v.source),
        sum.instances,
        sum.up + sum.waiting,
        sum.stale,
        sum.down,
        crate::timefmt::format_duration(v.window)
    );
    let refreshed = match (p.good_at, &p.failed) {
        (None, None) => Line::from(Span::styled("reading the fleet …", v.theme.dim)),
        (None, Some((_, why))) => Line::from(Span::styled(
            format!("cannot read the fleet: {}", crate::sanitize::clean(why)),
            v.theme.bad,
        )),
        (Some(at), None) => Line::from(vec![
            Span::styled(
                format!(
                    "read {} ago: {} queries, {} in {:.2} s · findings: ",
                    age(v.now - at),
                    p.refresh.queries,
                    crate::units::bytes(Some(p.refresh.bytes as f64)),
                    p.refresh.seconds
                ),
                v.theme.dim,
            ),
            Span::styled(
                format!(
                    "{} critical, {} warning, {} info",
                    totals.critical, totals.warning, totals.info
                ),
                if totals.critical > 0 {
                    v.theme.bad
                } else if totals.warning > 0 {
                    v.theme.warn
                } else {
                    v.theme.dim
                },
            ),
        ]),
        (Some(at), Some((_, why))) => Line::from(Span::styled(
            format!(
                "STALE: the last refresh failed ({}); this table is from {} ago",
                crate::sanitize::clean(why),
                age(v.now - at)
            ),
            v.theme.bad,
        )),
    };
    let third = match (&v.note, p.refresh.warnings.first()) {
        (Some(n), _) => Line::from(Span::styled(crate::sanitize::clean(n), v.theme.info)),
        (None, Some(warn)) => Line::from(Span::styled(
            format!(
                "the API warned: {} (+{} more)",
                crate::sanitize::clean(warn),
                p.refresh.warnings.len() - 1
            ),
            v.theme.warn,
        )),
        (None, None) => Line::default(),
    };
    let mut title = Line::from(Span::styled(title, v.theme.title));
    if v.insecure {
        title.spans.insert(
            0,
            Span::styled("TLS NOT CHECKED (--insecure) · ", v.theme.bad),
        );
    }
    // Each line cut, where it must be, by the one rule the panes follow.
    f.render_widget(
        Paragraph::new(widgets::fit([title, refreshed, third], area.width)),
        area,
    );
}

fn draw_table(f: &mut Frame, v: &FleetView, area: Rect) {
    let rows = v.visible();
    let at = v.cursor(&rows);
    // Narrow screens keep the columns that say whether the cache works; the rest are in
    // the instance's dashboard and the report.
    let wide = area.width >= 130;
    let spark_w: u16 = if area.width >= 140 { 16 } else { 8 };
    let arch_w: u16 = if wide { 22 } else { 17 };
    let columns: [(&str, Constraint, bool); 12] = [
        ("instance", Constraint::Min(10), true),
        ("verdict", Constraint::Length(11), true),
        ("state", Constraint::Length(7), true),
        ("architecture", Constraint::Length(arch_w), wide),
        ("hit", Constraint::Length(6), true),
        ("L1", Constraint::Length(6), true),
        ("evict/s", Constraint::Length(8), wide),
        ("backlog", Constraint::Length(8), wide),
        ("drop/s", Constraint::Length(7), wide),
        ("queue", Constraint::Length(6), true),
        ("findings", Constraint::Length(11), true),
        // The table Prometheus computes keeps no per-scrape history (a raw fleet does).
        (
            "history",
            Constraint::Length(spark_w),
            wide && rows.iter().any(|r| !r.spark.is_empty()),
        ),
    ];
    let shown: Vec<bool> = columns.iter().map(|c| c.2).collect();
    let widths: Vec<Constraint> = columns.iter().filter(|c| c.2).map(|c| c.1).collect();
    // What the fixed columns and the gaps between the columns leave the instance names; a
    // longer name (or architecture) ends in `…` instead of being cut where its cell ends.
    let fixed: u16 = widths
        .iter()
        .skip(1)
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let name_w = usize::from(
        area.width
            .saturating_sub(fixed + widths.len().saturating_sub(1) as u16)
            .max(10),
    );

    let header: Vec<&str> = columns.iter().filter(|c| c.2).map(|c| c.0).collect();
    let stale_table = v.picture.failed.is_some();
    let body: Vec<TableRow> = rows
        .iter()
        .map(|r| {
            let widths = (name_w, usize::from(arch_w), usize::from(spark_w));
            table_row(v, r, widths, stale_table, &shown)
        })
        .collect();
    let empty = body.is_empty();
    let table = Table::new(body, widths)
        .header(TableRow::new(header).style(v.theme.title.add_modifier(Modifier::BOLD)))
        .row_highlight_style(v.theme.selected)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .border_style(v.theme.dim),
        );
    let mut state = TableState::default();
    if !empty {
        state.select(Some(at));
    }
    f.render_stateful_widget(table, area, &mut state);
    if empty {
        draw_no_rows(f, v, area);
    }
}

/// Why the table has no rows.
fn draw_no_rows(f: &mut Frame, v: &FleetView, area: Rect) {
    let why = if v.picture.rows.is_empty() {
        "no LMCache server or engine found yet (names lmcache_mp_*, lmcache:*, vllm:*, sglang:*)"
    } else {
        "no instance matches the filter"
    };
    let inner = Rect {
        y: area.y + 2,
        height: 1,
        ..area
    };
    f.render_widget(
        Paragraph::new(widgets::fit_line(
            Span::styled(why.to_string(), v.theme.dim).into(),
            area.width,
        )),
        inner,
    );
}

/// An instance's row of the table, its `shown` columns: `widths` are the name's, the
/// architecture's and the history's.
fn table_row(
    v: &FleetView,
    r: &FleetRow,
    (name_w, arch_w, spark_w): (usize, usize, usize),
    stale_table: bool,
    shown: &[bool],
) -> TableRow<'static> {
    let row = &r.row;
    let state_style = match row.state {
        TargetState::Down => v.theme.bad,
        TargetState::Stale => v.theme.warn,
        _ if stale_table => v.theme.warn,
        _ => v.theme.good,
    };
    let verdict_style = v.theme.verdict(row.verdict);
    let cells = vec![
        Cell::from(cut(&crate::sanitize::clean(&r.name), name_w)),
        Cell::from(Span::styled(
            row.verdict.as_str().replace('_', " "),
            verdict_style,
        )),
        Cell::from(Span::styled(row.state.as_str(), state_style)),
        Cell::from(cut(&row.architecture, arch_w)),
        Cell::from(percent(row.hit_rate.value())),
        Cell::from(percent(row.l1_usage_ratio.value())),
        Cell::from(count(row.l1_evicted_per_s.value())),
        Cell::from(count(row.l2_store_backlog.value())),
        Cell::from(count(row.eventbus_dropped_per_s.value())),
        Cell::from(count(row.engine_waiting.value())),
        Cell::from(findings_cell(row.findings, &v.theme)),
        Cell::from(Span::styled(spark_text(&r.spark, spark_w), v.theme.info)),
    ];
    let cells: Vec<Cell> = cells
        .into_iter()
        .zip(shown)
        .filter(|(_, s)| **s)
        .map(|(c, _)| c)
        .collect();
    let style = if stale_table {
        v.theme.dim
    } else {
        v.theme.text
    };
    TableRow::new(cells).style(style)
}

fn draw_help(f: &mut Frame, v: &FleetView, area: Rect) {
    let lines = [
        "Enter      open the instance's dashboard (q there comes back)",
        "s          sort: findings, instance, state, hit rate, L1, evictions, backlog, drops, queue",
        "/          filter by instance, job, architecture or state; Esc clears",
        "j k ↑ ↓    move; PgUp PgDn g G",
        "e          export the fleet table and this instance's samples as a packet",
        "q          quit",
        "",
        "Figures are the single-box analysis of each instance's raw samples over the window;",
        "— is unknown (kvscope report --prometheus … --format json says why).",
    ];
    // Its longest line, a free column and the borders.
    let w = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u16 + 3;
    let r = widgets::popup(area, w, lines.len() as u16 + 2);
    f.render_widget(ratatui::widgets::Clear, r);
    f.render_widget(
        Paragraph::new(widgets::fit(
            lines.iter().map(|l| Line::from(*l)),
            r.width.saturating_sub(2),
        ))
        .style(v.theme.text)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" fleet keys ")
                .border_style(v.theme.focus),
        ),
        r,
    );
}
