//! The fleet view: one row per instance a Prometheus server scrapes, with the figures of the
//! single-box analysis (architecture, windowed hit rate, L1 usage, evictions, L2 backlog,
//! EventBus drops, engine queue, findings by severity, hit rate over the window) and its
//! state. `s` sorts, `/` filters, Enter opens the instance's dashboard, `e` exports.
//!
//! The table is a picture made off the loop (by the refresher, which owns the fleet);
//! drawing is a pure function of [`FleetView`]. A failed refresh keeps the last good table,
//! marked stale, and says why in the header.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row as TableRow, Table, TableState};

use super::theme::Theme;
use crate::fleet::Fleet;
use crate::fleet::report::{Analysed, Counts, Refresh, Row, Summary};
use crate::units::{count, cut, percent};
use crate::vocab::{Role, TargetState};

/// One instance as the table shows it.
#[derive(Debug, Clone)]
pub struct FleetRow {
    pub name: String,
    pub job: String,
    /// Its targets: role, job and instance labels.
    pub targets: Vec<(Role, String, String)>,
    pub row: Row,
    /// LMCache's hit rate between consecutive scrapes over the window, oldest first.
    pub spark: Vec<Option<f64>>,
}

/// What one refresh gave the view.
#[derive(Debug, Clone, Default)]
pub struct FleetPicture {
    pub rows: Vec<FleetRow>,
    /// How the newest successful refresh went.
    pub refresh: Refresh,
    /// When the table was last read successfully.
    pub good_at: Option<f64>,
    /// The newest refresh failed: when, and why. The rows are the last good ones.
    pub failed: Option<(f64, String)>,
}

/// What the table is ordered by; `s` steps through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Findings,
    Name,
    State,
    HitRate,
    L1,
    Evictions,
    Backlog,
    Drops,
    Queue,
}

impl SortKey {
    const ALL: [SortKey; 9] = [
        SortKey::Findings,
        SortKey::Name,
        SortKey::State,
        SortKey::HitRate,
        SortKey::L1,
        SortKey::Evictions,
        SortKey::Backlog,
        SortKey::Drops,
        SortKey::Queue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Findings => "findings",
            SortKey::Name => "instance",
            SortKey::State => "state",
            SortKey::HitRate => "hit rate (lowest first)",
            SortKey::L1 => "L1 usage",
            SortKey::Evictions => "evictions/s",
            SortKey::Backlog => "L2 backlog",
            SortKey::Drops => "EventBus drops/s",
            SortKey::Queue => "engine queue",
        }
    }

    fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
}

/// What the loop should do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Nothing,
    Quit,
    /// Open this instance's dashboard.
    Open(String),
    /// Export this instance (with the table).
    Export(String),
}

/// The table a refresh gives: each instance's row (from its analysis) and hit-rate history.
impl FleetPicture {
    /// The table of `fleet` as a refresh at `good_at` left it.
    pub fn of(fleet: &Fleet, refresh: Refresh, good_at: f64) -> FleetPicture {
        let analysed = Analysed::of(fleet);
        let rows = analysed
            .rows
            .iter()
            .map(|(i, a)| {
                let spark = i
                    .members
                    .iter()
                    .find(|m| m.target.role == Role::Lmcache)
                    .map(|m| {
                        let t = i.model.target(m.target);
                        crate::analysis::history::lookup_hit_rate(
                            t,
                            t.scrapes().len().saturating_sub(1),
                        )
                    })
                    .unwrap_or_default();
                FleetRow {
                    name: i.name.clone(),
                    job: i.job().to_string(),
                    targets: i
                        .members
                        .iter()
                        .map(|m| (m.target.role, m.key.job.clone(), m.key.instance.clone()))
                        .collect(),
                    row: Row::of(i, a),
                    spark,
                }
            })
            .collect();
        FleetPicture {
            rows,
            refresh,
            good_at: Some(good_at),
            failed: None,
        }
    }
}

impl FleetPicture {
    /// The table a fleet report (`kvscope-fleet-report/1`, e.g. a packet's `fleet.json`)
    /// holds, as it was when written (no history per row: the report does not keep it).
    pub fn from_report(bytes: &[u8]) -> Result<FleetPicture, String> {
        let read = crate::fleet::report::read(bytes)?;
        let rows = read
            .instances
            .into_iter()
            .map(|i| FleetRow {
                name: i.instance,
                job: i.job,
                targets: i
                    .targets
                    .into_iter()
                    .map(|t| (t.role, t.job, t.instance))
                    .collect(),
                row: i.row,
                spark: Vec::new(),
            })
            .collect();
        Ok(FleetPicture {
            rows,
            refresh: Refresh {
                error: None,
                ..read.refresh
            },
            good_at: read.time,
            failed: None,
        })
    }
}

/// The fleet view's state.
pub struct FleetView {
    pub source: String,
    pub picture: FleetPicture,
    pub sort: SortKey,
    pub filter: String,
    /// `/` was pressed: keys go to the filter until Enter or Esc.
    pub typing: bool,
    /// The selected instance, by name (so it stays selected when rows move).
    pub selected: Option<String>,
    pub theme: Theme,
    pub window: f64,
    /// The wall clock, for ages.
    pub now: f64,
    /// A line from an export or the drill-down, shown under the header.
    pub note: Option<String>,
    pub help: bool,
    /// `--insecure`: the API's certificate is not checked, said in the title for as long as
    /// the view runs.
    pub insecure: bool,
    /// `--mouse`: clicks select instances, the wheel moves the selection.
    pub mouse: bool,
}

/// Most severe first: critical, then warning, then info counts.
fn severity_key(c: Counts) -> (usize, usize, usize) {
    (c.critical, c.warning, c.info)
}

impl FleetView {
    pub fn new(source: String, theme: Theme, window: f64) -> FleetView {
        FleetView {
            source,
            picture: FleetPicture::default(),
            sort: SortKey::Findings,
            filter: String::new(),
            typing: false,
            selected: None,
            theme,
            window,
            now: 0.0,
            note: None,
            help: false,
            insecure: false,
            mouse: false,
        }
    }

    /// The rows shown: filtered, then sorted (unknown figures last, whatever the order).
    pub fn visible(&self) -> Vec<&FleetRow> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&FleetRow> = self
            .picture
            .rows
            .iter()
            .filter(|r| {
                needle.is_empty()
                    || r.name.to_lowercase().contains(&needle)
                    || r.job.to_lowercase().contains(&needle)
                    || r.row.architecture.contains(&needle)
                    || r.row.state.as_str() == needle
            })
            .collect();
        let fig = |r: &FleetRow| -> Option<f64> {
            let row = &r.row;
            match self.sort {
                SortKey::HitRate => row.hit_rate.value(),
                SortKey::L1 => row.l1_usage_ratio.value(),
                SortKey::Evictions => row.l1_evicted_per_s.value(),
                SortKey::Backlog => row.l2_store_backlog.value(),
                SortKey::Drops => row.eventbus_dropped_per_s.value(),
                SortKey::Queue => row.engine_waiting.value(),
                _ => None,
            }
        };
        rows.sort_by(|a, b| {
            let by_fig = |lowest_first: bool| match (fig(a), fig(b)) {
                (Some(x), Some(y)) if lowest_first => x.total_cmp(&y),
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            };
            match self.sort {
                SortKey::Findings => severity_key(b.row.findings)
                    .cmp(&severity_key(a.row.findings))
                    .then_with(|| b.row.state.badness().cmp(&a.row.state.badness())),
                SortKey::Name => std::cmp::Ordering::Equal,
                SortKey::State => b.row.state.badness().cmp(&a.row.state.badness()),
                SortKey::HitRate => by_fig(true),
                _ => by_fig(false),
            }
            .then_with(|| a.name.cmp(&b.name))
        });
        rows
    }

    /// The selected row's index among the visible ones (the first when none is chosen).
    fn cursor(&self, rows: &[&FleetRow]) -> usize {
        self.selected
            .as_ref()
            .and_then(|s| rows.iter().position(|r| &r.name == s))
            .unwrap_or(0)
    }

    /// A mouse event on a `screen` of that size (`--mouse`): a click selects the instance under
    /// it, the wheel moves the selection. Help takes no clicks.
    pub fn on_mouse(&mut self, m: ratatui::crossterm::event::MouseEvent, screen: Rect) {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        let rows = self.visible();
        let at = self.cursor(&rows);
        match m.kind {
            MouseEventKind::ScrollDown => self.select(at + 1),
            MouseEventKind::ScrollUp => self.select(at.saturating_sub(1)),
            MouseEventKind::Down(MouseButton::Left) if !self.help => {
                let [_, table, _] = areas(screen);
                // Under the table's top rule and its column names; scrolled as drawn (the
                // selection kept in view).
                let first = table.y + 2;
                let shown = usize::from(table.height.saturating_sub(2)).max(1);
                if m.row >= first && m.row < table.y + table.height {
                    let offset = at.saturating_sub(shown - 1);
                    let i = offset + usize::from(m.row - first);
                    if i < rows.len() {
                        self.select(i);
                    }
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, i: usize) {
        let rows = self.visible();
        self.selected = rows.get(i).or(rows.last()).map(|r| r.name.clone());
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Asked {
        if self.typing {
            match key.code {
                KeyCode::Enter => self.typing = false,
                KeyCode::Esc => {
                    self.typing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c)
                    if !key.modifiers.contains(KeyModifiers::CONTROL)
                        && self.filter.chars().count() < 64 =>
                {
                    self.filter.push(c);
                }
                _ => {}
            }
            return Asked::Nothing;
        }
        let rows = self.visible();
        let at = self.cursor(&rows);
        let chosen = rows.get(at).map(|r| r.name.clone());
        let page = 10;
        match key.code {
            KeyCode::Char('q') => return Asked::Quit,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return Asked::Quit;
            }
            KeyCode::Char('?') => self.help = !self.help,
            KeyCode::Esc if self.help => self.help = false,
            KeyCode::Esc => self.filter.clear(),
            KeyCode::Char('s') => self.sort = self.sort.next(),
            KeyCode::Char('/') => self.typing = true,
            KeyCode::Down | KeyCode::Char('j') => self.select(at + 1),
            KeyCode::Up | KeyCode::Char('k') => self.select(at.saturating_sub(1)),
            KeyCode::PageDown => self.select(at + page),
            KeyCode::PageUp => self.select(at.saturating_sub(page)),
            KeyCode::Home | KeyCode::Char('g') => self.select(0),
            KeyCode::End | KeyCode::Char('G') => self.select(usize::MAX),
            KeyCode::Enter => {
                if let Some(name) = chosen {
                    return Asked::Open(name);
                }
            }
            KeyCode::Char('e') => {
                if let Some(name) = chosen {
                    return Asked::Export(name);
                }
            }
            _ => {}
        }
        Asked::Nothing
    }
}

/// A hit-rate sparkline in text: one block per interval, blank where unknown (never 0).
fn spark_text(values: &[Option<f64>], width: usize) -> String {
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
fn areas(area: Rect) -> [Rect; 3] {
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
        Paragraph::new(super::widgets::fit_line(
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
        Paragraph::new(super::widgets::fit([title, refreshed, third], area.width)),
        area,
    );
}

fn draw_table(f: &mut Frame, v: &FleetView, area: Rect) {
    let rows = v.visible();
    let at = v.cursor(&rows);
    // Narrow screens keep the columns that say whether the cache works; the rest are in
    // the instance's dashboard and the report.
    let wide = area.width >= 110;
    let spark_w: u16 = if area.width >= 140 { 16 } else { 8 };
    let arch_w: u16 = if wide { 22 } else { 17 };
    let columns: [(&str, Constraint, bool); 11] = [
        ("instance", Constraint::Min(10), true),
        ("state", Constraint::Length(7), true),
        ("architecture", Constraint::Length(arch_w), true),
        ("hit", Constraint::Length(6), true),
        ("L1", Constraint::Length(6), true),
        ("evict/s", Constraint::Length(8), wide),
        ("backlog", Constraint::Length(8), wide),
        ("drop/s", Constraint::Length(7), wide),
        ("queue", Constraint::Length(6), true),
        ("findings", Constraint::Length(11), true),
        ("history", Constraint::Length(spark_w), wide),
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
            let row = &r.row;
            let state_style = match row.state {
                TargetState::Down => v.theme.bad,
                TargetState::Stale => v.theme.warn,
                _ if stale_table => v.theme.warn,
                _ => v.theme.good,
            };
            let cells = vec![
                Cell::from(cut(&crate::sanitize::clean(&r.name), name_w)),
                Cell::from(Span::styled(row.state.as_str(), state_style)),
                Cell::from(cut(&row.architecture, usize::from(arch_w))),
                Cell::from(percent(row.hit_rate.value())),
                Cell::from(percent(row.l1_usage_ratio.value())),
                Cell::from(count(row.l1_evicted_per_s.value())),
                Cell::from(count(row.l2_store_backlog.value())),
                Cell::from(count(row.eventbus_dropped_per_s.value())),
                Cell::from(count(row.engine_waiting.value())),
                Cell::from(findings_cell(row.findings, &v.theme)),
                Cell::from(Span::styled(
                    spark_text(&r.spark, spark_w as usize),
                    v.theme.info,
                )),
            ];
            let cells: Vec<Cell> = cells
                .into_iter()
                .zip(&shown)
                .filter(|(_, s)| **s)
                .map(|(c, _)| c)
                .collect();
            let style = if stale_table {
                v.theme.dim
            } else {
                v.theme.text
            };
            TableRow::new(cells).style(style)
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
            Paragraph::new(super::widgets::fit_line(
                Span::styled(why.to_string(), v.theme.dim).into(),
                area.width,
            )),
            inner,
        );
    }
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
    let r = super::widgets::popup(area, w, lines.len() as u16 + 2);
    f.render_widget(ratatui::widgets::Clear, r);
    f.render_widget(
        Paragraph::new(super::widgets::fit(
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use super::*;
    use crate::fleet::tests::{series_of, stored};
    use crate::sources::promapi::{Found, Read, ScrapeHealth, TargetKey, Types};
    use crate::vocab::Event;

    /// A fleet of three boxes as a real Prometheus would hold the demo's real recordings:
    /// `gpu-a` the whole LMCache run and its vLLM engine, `gpu-b` the run's first ten scrapes
    /// with the engine, and `gpu-c\x1b[2J` (a hostile name) the engine alone.
    fn view() -> FleetView {
        let (fleet, newest) = fleet();
        let refresh = Refresh {
            queries: 6,
            seconds: 0.04,
            bytes: 250_000,
            ..Default::default()
        };
        let mut v = FleetView::new("http://prometheus:9090/".into(), Theme::dark(), 60.0);
        v.picture = FleetPicture::of(&fleet, refresh, newest);
        v.now = newest + 3.0;
        v
    }

    fn fleet() -> (Fleet, f64) {
        let (events, newest) = crate::demo::recorded(31);
        let scrapes = |role: Role| -> Vec<(f64, &[u8])> {
            events
                .iter()
                .filter_map(|e| match e {
                    Event::Scrape {
                        target, time, body, ..
                    } if target.role == role => Some((time.unwrap(), body.as_slice())),
                    _ => None,
                })
                .collect()
        };
        let lm = scrapes(Role::Lmcache);
        // The engine's scrape without its recorded sample stamps (another day's): served with
        // live timestamps, Prometheus would hold it at the scrape's time.
        let (_, engine_body) = crate::demo::recorded_bodies();
        let en = [(newest, engine_body.as_slice())];
        let mut held = BTreeMap::new();
        let mut types = Types::default();
        let mut found = Vec::new();
        let mut health = HashMap::new();
        let none: &[(f64, &[u8])] = &[];
        let boxes = [
            ("gpu-a", &lm[..]),
            ("gpu-b", &lm[..10]),
            ("gpu-c\x1b[2J", none),
        ];
        for (name, lm_part) in boxes {
            let mut add = |job: &str, port: u16, role: Role, part: &[(f64, &[u8])]| {
                let instance = format!("{name}:{port}");
                let labels = [("job", job), ("instance", instance.as_str()), ("box", name)];
                stored(part, &labels, &mut held, &mut types);
                let key = TargetKey {
                    job: job.into(),
                    instance: instance.clone(),
                };
                health.insert(
                    key.clone(),
                    ScrapeHealth {
                        health: crate::sources::promapi::PromHealth::Up,
                        interval: Some(15.0),
                        target_labels: vec!["job".into(), "instance".into(), "box".into()],
                        ..Default::default()
                    },
                );
                found.push(Found {
                    key,
                    group: name.into(),
                    role,
                });
            };
            if !lm_part.is_empty() {
                add("lmcache", 8080, Role::Lmcache, lm_part);
            }
            add("vllm", 8000, Role::Engine, &en);
        }
        let mut fleet = Fleet::new("box", 60.0);
        fleet.types = types;
        fleet.apply(Read {
            found,
            health: Some(health),
            series: series_of(held),
            time: newest,
        });
        (fleet, newest)
    }

    /// A packet's `fleet.json` reads back as the table it was written from (without the
    /// per-row history, which the report does not keep).
    #[test]
    fn a_fleet_report_reads_back_as_its_table() {
        let (fleet, newest) = fleet();
        let refresh = Refresh {
            queries: 4,
            warnings: vec!["partial response".into()],
            ..Default::default()
        };
        let made = FleetPicture::of(&fleet, refresh.clone(), newest);
        let json = Analysed::of(&fleet).json("http://p:9090/", &refresh);
        let read = FleetPicture::from_report(json.as_bytes()).unwrap();
        assert_eq!(read.rows.len(), 3);
        for (a, b) in made.rows.iter().zip(&read.rows) {
            assert_eq!((&a.name, &a.job, &a.targets), (&b.name, &b.job, &b.targets));
            assert_eq!(a.row.state, b.row.state);
            assert_eq!(a.row.findings, b.row.findings);
            assert_eq!(a.row.architecture, b.row.architecture);
            assert_eq!(a.row.hit_rate.value(), b.row.hit_rate.value());
            assert_eq!(a.row.engine_waiting.value(), b.row.engine_waiting.value());
        }
        assert_eq!(read.refresh.warnings, ["partial response"]);
        assert!((read.good_at.unwrap() - newest).abs() < 0.001);
        assert!(FleetPicture::from_report(br#"{"schema": "kvscope-report/1"}"#).is_err());
        // Hand-edited copies of the real report: a role that is neither, a number gone, a
        // schema not the fleet's. Each is named, none read as a guess.
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v = v.clone();
            edit(&mut v);
            FleetPicture::from_report(v.to_string().as_bytes()).unwrap_err()
        };
        let role = broken(&|v| v["instances"][0]["targets"][0]["role"] = "router".into());
        assert!(role.contains("unknown variant `router`"), "{role}");
        let gone = broken(&|v| {
            v["instances"][0]["row"]["findings"]
                .as_object_mut()
                .unwrap()
                .remove("warning");
        });
        assert!(gone.contains("missing field `warning`"), "{gone}");
        let schema = broken(&|v| v["schema"] = "kvscope-report/1".into());
        assert!(schema.contains("schema kvscope-report/1"), "{schema}");
    }

    fn render(v: &FleetView, w: u16, h: u16) -> String {
        crate::tui::tests::render_with(w, h, |f| draw(f, v))
    }

    fn press(v: &mut FleetView, c: KeyCode) -> Asked {
        v.on_key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn names(v: &FleetView) -> Vec<String> {
        v.visible().iter().map(|r| r.name.clone()).collect()
    }

    #[test]
    fn the_fleet_table_at_two_sizes() {
        let v = view();
        let wide = render(&v, 120, 40);
        assert!(
            !wide.contains('\x1b'),
            "a label's escape sequence reached the screen"
        );
        insta::assert_snapshot!("fleet_120x40", wide);
        insta::assert_snapshot!("fleet_80x24", render(&v, 80, 24));
    }

    #[test]
    fn no_text_runs_into_an_edge_at_any_size() {
        let mut v = view();
        v.insecure = true;
        v.note = Some("exported gpu-a to ./kvscope-gpu-a-2026-11-30T20-00-00Z.kvpacket".into());
        let mut cuts = Vec::new();
        for (w, h) in [
            (80, 24),
            (100, 30),
            (120, 40),
            (160, 50),
            (200, 60),
            (300, 100),
        ] {
            for help in [false, true] {
                v.help = help;
                cuts.extend(crate::tui::tests::cut_words(w, h, |f| draw(f, &v)));
            }
        }
        assert!(cuts.is_empty(), "{}", cuts.join("\n"));
    }

    #[test]
    fn a_click_selects_the_instance_under_it_and_the_wheel_moves_on() {
        use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let mut v = view();
        let screen = Rect::new(0, 0, 120, 40);
        let shown = names(&v);
        let drawn = render(&v, 120, 40);
        // The screen row that shows the second instance.
        let y = drawn
            .lines()
            .position(|l| l.starts_with(&shown[1][..shown[1].len().min(8)]))
            .expect("the second instance is on screen") as u16;
        let mouse = |kind, row| MouseEvent {
            kind,
            column: 3,
            row,
            modifiers: KeyModifiers::NONE,
        };
        v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), y), screen);
        assert_eq!(v.selected.as_deref(), Some(shown[1].as_str()));
        v.on_mouse(mouse(MouseEventKind::ScrollDown, 0), screen);
        assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
        // Below the last row: nothing changes.
        v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 38), screen);
        assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
        // The header is not a row.
        v.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), 1), screen);
        assert_eq!(v.selected.as_deref(), Some(shown[2].as_str()));
    }

    #[test]
    fn a_long_instance_name_ends_in_an_ellipsis_in_its_cell() {
        let mut v = view();
        let long = "gpu-node-017.us-east-2.inference.cluster.example.com:8080";
        v.picture.rows[0].name = long.into();
        for w in [80, 120] {
            let s = render(&v, w, 24);
            let line = s
                .lines()
                .find(|l| l.starts_with("gpu-node-017"))
                .unwrap_or_else(|| panic!("the row is drawn at {w}:\n{s}"));
            let cell = line.split(' ').next().unwrap();
            assert!(cell.ends_with('…'), "{w}: {line}");
            assert!(
                line.contains("up") || line.contains("stale"),
                "the state still shows: {line}"
            );
        }
    }

    #[test]
    fn insecure_is_said_in_the_title_for_as_long_as_the_view_runs() {
        let mut v = view();
        assert!(!render(&v, 80, 24).contains("TLS NOT CHECKED"));
        v.insecure = true;
        for w in [80, 120] {
            let s = render(&v, w, 24);
            let title = s.lines().next().unwrap_or("");
            assert!(
                title.starts_with("TLS NOT CHECKED (--insecure) · kvscope fleet"),
                "{s}"
            );
        }
    }

    #[test]
    fn rows_sort_filter_and_open() {
        let mut v = view();
        // By findings first (most severe first), then name.
        let first = names(&v);
        assert_eq!(first.len(), 3);
        assert_eq!(press(&mut v, KeyCode::Char('s')), Asked::Nothing);
        assert_eq!(v.sort, SortKey::Name);
        assert_eq!(names(&v), ["gpu-a", "gpu-b", "gpu-c\x1b[2J"]);
        while v.sort != SortKey::HitRate {
            press(&mut v, KeyCode::Char('s'));
        }
        // Lowest hit rate first; the engine-only box has none and goes last.
        let rows = v.visible();
        let rates: Vec<Option<f64>> = rows.iter().map(|r| r.row.hit_rate.value()).collect();
        assert!(rates[0].is_some() && rates[2].is_none(), "{rates:?}");
        assert!(rates[0] <= rates[1] || rates[1].is_none(), "{rates:?}");
        // Filter, then open the one row left.
        press(&mut v, KeyCode::Char('/'));
        for c in "GPU-B".chars() {
            press(&mut v, KeyCode::Char(c));
        }
        press(&mut v, KeyCode::Enter);
        assert_eq!(names(&v), ["gpu-b"]);
        assert_eq!(press(&mut v, KeyCode::Enter), Asked::Open("gpu-b".into()));
        assert_eq!(
            press(&mut v, KeyCode::Char('e')),
            Asked::Export("gpu-b".into())
        );
        press(&mut v, KeyCode::Esc);
        assert_eq!(names(&v).len(), 3);
        // The selection follows the instance, not the position.
        press(&mut v, KeyCode::Char('G'));
        let last = names(&v).pop().unwrap();
        press(&mut v, KeyCode::Char('s'));
        assert_eq!(v.selected.as_deref(), Some(last.as_str()));
        assert_eq!(press(&mut v, KeyCode::Char('q')), Asked::Quit);
    }

    #[test]
    fn a_failed_refresh_keeps_the_last_table_marked_stale() {
        let mut v = view();
        let rows = v.picture.rows.len();
        let good_at = v.picture.good_at.unwrap();
        v.picture.failed = Some((good_at + 30.0, "unreachable: connection refused".into()));
        v.now = good_at + 31.0;
        let s = render(&v, 120, 40);
        assert!(
            s.contains("STALE: the last refresh failed (unreachable: connection refused); this table is from 31s ago"),
            "{s}"
        );
        assert_eq!(v.picture.rows.len(), rows);
        assert!(s.contains("gpu-a"));
        // Before any good read, the failure is all there is to say.
        let mut first = FleetView::new("p".into(), Theme::dark(), 60.0);
        first.picture.failed = Some((1.0, "answered HTTP 401 (unauthorised)".into()));
        let s = render(&first, 120, 40);
        assert!(
            s.contains("cannot read the fleet: answered HTTP 401"),
            "{s}"
        );
        assert!(s.contains("no LMCache server or engine found yet"), "{s}");
    }

    #[test]
    fn a_sparkline_leaves_unknown_intervals_blank() {
        assert_eq!(spark_text(&[Some(0.0), None, Some(1.0)], 5), "  ▁ █");
        assert_eq!(spark_text(&[Some(0.5); 10], 3), "▅▅▅");
    }
}
