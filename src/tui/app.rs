//! The TUI's state: the model, what is shown (frozen while paused) and the view. Inputs come
//! in as events, keys and ticks; nothing here draws or does I/O.

use ratatui::crossterm::event::KeyEvent;

use super::keys::{Action, KeyMap};
use super::theme::Theme;
use crate::analysis::matrix::{Need, Status};
use crate::analysis::{self, Analysis};
use crate::model::{Event, Model};

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Mode,
    HitRate,
    Matrix,
    Memory,
    EventBus,
    Findings,
}

impl Pane {
    pub const ALL: [Pane; 6] = [
        Pane::Mode,
        Pane::HitRate,
        Pane::Matrix,
        Pane::Memory,
        Pane::EventBus,
        Pane::Findings,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Mode => "Mode",
            Pane::HitRate => "Hit rate",
            Pane::Matrix => "Families",
            Pane::Memory => "L1 / L2",
            Pane::EventBus => "EventBus",
            Pane::Findings => "Findings",
        }
    }
}

/// Which families the matrix lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatrixFilter {
    /// Everything but not-applicable rows (the default).
    Applicable,
    /// Required families that are missing, and declared-but-empty ones.
    Problems,
    All,
}

impl MatrixFilter {
    pub fn label(self) -> &'static str {
        match self {
            MatrixFilter::Applicable => "applicable",
            MatrixFilter::Problems => "problems",
            MatrixFilter::All => "all",
        }
    }
}

/// View state: focus, selection, overlays.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub focus: Pane,
    pub help: bool,
    pub paused: bool,
    /// Which matrix rows are shown.
    pub filter: MatrixFilter,
    pub matrix_row: usize,
    pub finding_row: usize,
    /// A detail popup for the selected matrix row or finding.
    pub detail: bool,
    /// The server overlay (LMCache routes, threads, env) and how far it is scrolled.
    pub server: bool,
    pub server_scroll: u16,
    /// Matrix search: rows whose names contain this (case-insensitive).
    pub search: Option<String>,
    /// Keys go into `search` until Enter or Esc.
    pub typing: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            focus: Pane::Matrix,
            help: false,
            paused: false,
            filter: MatrixFilter::Applicable,
            matrix_row: 0,
            finding_row: 0,
            detail: false,
            server: false,
            server_scroll: 0,
            search: None,
            typing: false,
        }
    }
}

/// Per-interval series of the first LMCache target, for sparklines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub hit_rate: Vec<Option<f64>>,
    pub evictions_per_s: Vec<Option<f64>>,
}

impl History {
    fn of(model: &Model) -> History {
        model
            .lmcache
            .first()
            .map(|t| History {
                hit_rate: analysis::history::lookup_hit_rate(t),
                evictions_per_s: analysis::history::l1_evictions_per_s(t),
            })
            .unwrap_or_default()
    }
}

/// Everything the TUI knows.
pub struct App {
    pub model: Model,
    pub interval: f64,
    pub window: f64,
    /// What is drawn: recomputed when the model changes, unless paused.
    pub shown: Analysis,
    /// Sparkline series, computed with `shown`.
    pub history: History,
    /// Series of the family open in the drill-down, computed with `shown`.
    pub detail_series: Vec<analysis::matrix::SeriesRow>,
    pub view: View,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// Wall clock of the last tick (seconds since the epoch), for ages.
    pub now: f64,
    /// A line shown under the header (e.g. what the demo replays).
    pub note: Option<String>,
    pub dirty: bool,
    pub quit: bool,
    /// Defer the analysis to [`App::prepare`] (the live loop); otherwise every event updates
    /// `shown` at once (tests, screenshots).
    pub lazy: bool,
    stale: bool,
}

impl App {
    pub fn new(
        model: Model,
        interval: f64,
        window: f64,
        theme: Theme,
        note: Option<String>,
    ) -> App {
        let shown = analysis::analyze(&model.inputs(window));
        let history = History::of(&model);
        App {
            model,
            interval,
            window,
            shown,
            history,
            detail_series: Vec::new(),
            view: View::default(),
            keymap: KeyMap::default(),
            theme,
            now: 0.0,
            note,
            dirty: true,
            quit: false,
            lazy: false,
            stale: false,
        }
    }

    /// A source event: into the model; the analysis follows unless paused.
    pub fn on_event(&mut self, event: Event) {
        // Latency and failures only change the header; scrapes and route answers change numbers.
        let changes_numbers = matches!(
            event,
            Event::Scrape { .. } | Event::Route { .. } | Event::RouteSkipped { .. }
        );
        // A body that cannot be parsed is already recorded as a failed scrape of its target.
        let _ = self.model.apply(event);
        if changes_numbers {
            self.stale = true;
            if !self.lazy {
                self.refresh();
            }
        }
        self.dirty = true;
    }

    /// A clock tick: redraws only when something shown depends on the clock and changed
    /// (a target turning stale, an age worth showing, the server overlay's ages).
    pub fn on_tick(&mut self, now: f64) {
        let before = self.clock_view(self.now);
        self.now = now;
        if self.view.server || self.clock_view(now) != before {
            self.dirty = true;
        }
    }

    /// The age of a target's last answer, when it is old enough to be worth showing (more
    /// than two intervals: a fresh target's age would only flicker between 0 and 1 s).
    pub fn shown_age(&self, last_ok: f64, now: f64) -> Option<u64> {
        let age = (now - last_ok).max(0.0);
        (age > 2.0 * self.interval).then_some(age as u64)
    }

    /// What the header shows that depends on the clock.
    fn clock_view(&self, now: f64) -> Vec<(crate::model::TargetState, Option<u64>)> {
        self.model
            .targets()
            .map(|(t, _)| {
                let h = self.model.health(t);
                (
                    h.state(now, self.interval),
                    h.last_ok.and_then(|ok| self.shown_age(ok, now)),
                )
            })
            .collect()
    }

    /// Computes what is shown if events arrived since the last time (the live loop defers
    /// the analysis to draw time so a burst of events costs one analysis).
    pub fn prepare(&mut self) {
        self.refresh();
    }

    fn refresh(&mut self) {
        if self.stale && !self.view.paused {
            self.shown = analysis::analyze(&self.model.inputs(self.window));
            self.history = History::of(&self.model);
            self.fill_detail();
            self.stale = false;
            let rows = self.matrix_rows().len();
            self.view.matrix_row = self.view.matrix_row.min(rows.saturating_sub(1));
            self.view.finding_row = self
                .view
                .finding_row
                .min(self.shown.findings.len().saturating_sub(1));
        }
    }

    /// Computes the drill-down series when a family is open.
    fn fill_detail(&mut self) {
        self.detail_series.clear();
        if self.view.detail && self.view.focus == Pane::Matrix {
            let id = self
                .matrix_rows()
                .get(self.view.matrix_row)
                .map(|&i| self.shown.families[i].id);
            if let Some(id) = id {
                self.detail_series =
                    analysis::matrix::series_of_family(&self.model.inputs(self.window), id, 200);
            }
        }
    }

    /// Indexes into `shown.families` of the rows the matrix shows.
    pub fn matrix_rows(&self) -> Vec<usize> {
        let needle = self
            .view
            .search
            .as_deref()
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let found = |f: &analysis::matrix::FamilyRow| match &needle {
            None => true,
            Some(q) => {
                f.id.to_lowercase().contains(q)
                    || f.title.to_lowercase().contains(q)
                    || f.metrics
                        .iter()
                        .flat_map(|m| &m.names)
                        .any(|n| n.to_lowercase().contains(q))
            }
        };
        self.shown
            .families
            .iter()
            .enumerate()
            .filter(|(_, f)| found(f))
            .filter(|(_, f)| match self.view.filter {
                MatrixFilter::All => true,
                MatrixFilter::Applicable => f.status != Status::NotApplicable,
                MatrixFilter::Problems => {
                    // Zero is healthy for many gauges; absence is what needs a look.
                    (f.need == Need::Required && f.status == Status::Missing)
                        || f.status == Status::DeclaredNoSamples
                }
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A key while the search line is being typed.
    fn on_search_key(&mut self, key: KeyEvent) {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let v = &mut self.view;
        let query = v.search.get_or_insert_with(String::new);
        match key.code {
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => self.quit = true,
            KeyCode::Char(c)
                if !key.modifiers.contains(KeyModifiers::CONTROL) && query.chars().count() < 64 =>
            {
                query.push(c)
            }
            KeyCode::Backspace => {
                query.pop();
            }
            KeyCode::Enter => v.typing = false,
            KeyCode::Esc => {
                v.typing = false;
                v.search = None;
            }
            _ => {}
        }
        self.view.matrix_row = 0;
        self.dirty = true;
    }

    /// A key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        if self.view.typing {
            self.on_search_key(key);
            return;
        }
        let Some(action) = self.keymap.action(&key) else {
            return;
        };
        self.dirty = true;
        let v = &mut self.view;
        match action {
            Action::Quit => self.quit = true,
            Action::Help => v.help = !v.help,
            Action::Close => {
                if v.help || v.detail || v.server {
                    v.help = false;
                    v.detail = false;
                    v.server = false;
                } else {
                    v.search = None;
                }
            }
            Action::Search => {
                v.focus = Pane::Matrix;
                v.detail = false;
                v.typing = true;
                v.search.get_or_insert_with(String::new);
            }
            Action::Server => {
                v.server = !v.server;
                v.server_scroll = 0;
                v.help = false;
                v.detail = false;
            }
            Action::Pause => {
                v.paused = !v.paused;
                self.refresh();
            }
            Action::NextPane | Action::PrevPane => {
                let i = Pane::ALL.iter().position(|p| *p == v.focus).unwrap_or(0);
                let n = Pane::ALL.len();
                v.focus = Pane::ALL[if action == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                }];
                v.detail = false;
            }
            Action::Down | Action::Up => {
                let down = action == Action::Down;
                let step = |i: usize, len: usize| {
                    if down {
                        (i + 1).min(len.saturating_sub(1))
                    } else {
                        i.saturating_sub(1)
                    }
                };
                if v.server {
                    // The overlay scrolls; drawing clamps it to its last line.
                    v.server_scroll = if down {
                        v.server_scroll.saturating_add(1)
                    } else {
                        v.server_scroll.saturating_sub(1)
                    };
                    return;
                }
                match v.focus {
                    Pane::Matrix => {
                        let len = self.matrix_rows().len();
                        self.view.matrix_row = step(self.view.matrix_row, len);
                    }
                    Pane::Findings => {
                        v.finding_row = step(v.finding_row, self.shown.findings.len())
                    }
                    _ => {}
                }
            }
            Action::Open => {
                if matches!(v.focus, Pane::Matrix | Pane::Findings) {
                    v.detail = true;
                    self.fill_detail();
                }
            }
            Action::Filter => {
                v.filter = match v.filter {
                    MatrixFilter::Applicable => MatrixFilter::Problems,
                    MatrixFilter::Problems => MatrixFilter::All,
                    MatrixFilter::All => MatrixFilter::Applicable,
                };
                v.matrix_row = 0;
            }
        }
    }
}
