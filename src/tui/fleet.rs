//! The fleet view: one row per instance a Prometheus server scrapes, with the figures of the
//! single-box analysis (architecture, windowed hit rate, L1 usage, evictions, L2 backlog,
//! EventBus drops, engine queue, findings by severity, hit rate over the window) and its
//! state. `s` sorts, `/` filters, Enter opens the instance's dashboard, `e` exports.
//!
//! The table is a picture made off the loop (by the refresher, which owns the fleet);
//! drawing is a pure function of [`FleetView`]. A failed refresh keeps the last good table,
//! marked stale, and says why in the header.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::theme::Theme;
use crate::fleet::report::{Counts, Refresh, Row, Summary};
use crate::fleet::table::Table;
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
    pub fn of(table: &Table, refresh: Refresh, good_at: f64) -> FleetPicture {
        let rows = table
            .rows
            .iter()
            .map(|r| FleetRow {
                name: r.name.clone(),
                job: r.job().to_string(),
                targets: r
                    .targets
                    .iter()
                    .map(|t| (t.role, t.key.job.clone(), t.key.instance.clone()))
                    .collect(),
                row: r.row.clone(),
                spark: r.spark.clone(),
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
                let [_, table, _] = draw::areas(screen);
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

mod draw;
pub use draw::draw;

#[cfg(test)]
mod tests;
