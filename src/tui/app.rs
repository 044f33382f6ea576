//! The TUI's state: the model, what is shown (frozen while paused) and the view. Inputs come
//! in as events, keys and ticks; nothing here draws or does I/O.

use ratatui::crossterm::event::KeyEvent;

use super::keys::{Action, KeyMap};
use super::theme::Theme;
pub use super::view::{Ask, LogFilter, MatrixFilter, Overlay, Pane, RequestOrder, View};
use crate::analysis;
use crate::analysis::matrix::Status;
use crate::model::Model;
use crate::session::picture::{Core, FollowOffer, Shown};
use crate::session::playback::Control;
use crate::vocab::Event;

/// Everything the TUI knows.
pub struct App {
    pub interval: f64,
    pub window: f64,
    /// What is drawn: a picture of the model, kept while paused.
    pub shown: Shown,
    /// The model, when it is worked on here (tests, screenshots); live, it is on the worker
    /// thread and pictures arrive through [`App::on_shown`].
    core: Option<Core>,
    /// A picture that arrived while paused, shown on resume.
    held: Option<Shown>,
    pub view: View,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// Wall clock of the last tick (seconds since the epoch), for ages.
    pub now: f64,
    /// A line shown under the header (e.g. what the demo replays).
    pub note: Option<String>,
    /// Targets whose TLS certificates are not checked (`--insecure`), named in the header for
    /// as long as the session runs.
    pub insecure: Vec<String>,
    /// `--mouse`: clicks and the wheel are read (off by default, so the terminal's own text
    /// selection keeps working).
    pub mouse: bool,
    /// A trace file `/config` names that could be followed here: the y / n question.
    pub offer: Option<FollowOffer>,
    /// Trace files already asked about (followed or declined): not offered again.
    pub asked: std::collections::BTreeSet<String>,
    /// How the last export went (or that one is being written).
    pub export_note: Option<String>,
    /// Where `e` writes packets, and how much goes in.
    pub export: crate::session::ExportPlan,
    pub dirty: bool,
}

/// The replay control a key action asks for, if it is one.
fn control_of(action: Action) -> Option<Control> {
    Some(match action {
        Action::Pause => Control::Toggle,
        Action::StepBack => Control::Back,
        Action::StepForward => Control::Forward,
        Action::Faster => Control::Faster,
        Action::Slower => Control::Slower,
        Action::Start => Control::Start,
        Action::End => Control::End,
        _ => return None,
    })
}

impl App {
    pub fn new(
        model: Model,
        interval: f64,
        window: f64,
        theme: Theme,
        note: Option<String>,
    ) -> App {
        let mut core = Core::new(model, window);
        core.model.interval = Some(interval);
        let shown = core.shown(None);
        App {
            interval,
            window,
            shown,
            core: Some(core),
            held: None,
            view: View::default(),
            keymap: KeyMap::default(),
            theme,
            now: 0.0,
            note,
            insecure: Vec::new(),
            mouse: false,
            offer: None,
            asked: Default::default(),
            export_note: None,
            export: Default::default(),
            dirty: true,
        }
    }

    /// Moves the model out, to be worked on elsewhere (a session's worker thread).
    pub fn take_core(&mut self) -> Option<Core> {
        self.core.take()
    }

    /// The model, while it is worked on here.
    pub fn model(&self) -> Option<&Model> {
        self.core.as_ref().map(|c| &c.model)
    }

    /// A source event, applied here (tests, screenshots): the picture follows unless paused.
    /// Returns the log line the event deserves.
    pub fn on_event(&mut self, event: Event) -> Option<String> {
        let detail = self.wanted_detail();
        let core = self.core.as_mut()?;
        let line = core.apply(event);
        let shown = core.shown(detail);
        self.on_shown(shown);
        line
    }

    /// Whether this is a replay (its clock comes with its pictures).
    pub fn replaying(&self) -> bool {
        self.shown.replay.is_some()
    }

    /// A new picture (from the worker, or from [`App::on_event`]): shown unless paused.
    pub fn on_shown(&mut self, shown: Shown) {
        if let Some(r) = &shown.replay {
            self.now = r.now;
        }
        if self.view.paused {
            self.held = Some(shown);
            return;
        }
        self.shown = shown;
        self.offer = self.offer.take().or_else(|| self.follow_offer());
        let rows = self.matrix_rows().len();
        self.view.matrix_row = self.view.matrix_row.min(rows.saturating_sub(1));
        let findings = &self.shown.analysis.findings;
        self.view.finding_row = self
            .view
            .finding_code
            .and_then(|code| findings.iter().position(|f| f.code == code))
            .unwrap_or(self.view.finding_row)
            .min(findings.len().saturating_sub(1));
        self.dirty = true;
    }

    /// The first trace file the picture offers that was not asked about yet (live only).
    fn follow_offer(&self) -> Option<FollowOffer> {
        if self.replaying() {
            return None;
        }
        self.shown
            .offers
            .iter()
            .find(|o| !self.asked.contains(&o.path))
            .cloned()
    }

    /// The family whose series the drill-down needs, when one is open.
    pub fn wanted_detail(&self) -> Option<&'static str> {
        (self.view.overlay == Some(Overlay::Detail) && self.view.focus == Pane::Matrix)
            .then(|| {
                self.matrix_rows()
                    .get(self.view.matrix_row)
                    .map(|&i| self.shown.analysis.families[i].id)
            })
            .flatten()
    }

    /// Series of the open family, when the picture has them, and how many it has in all.
    pub fn detail_series(&self) -> (&[crate::analysis::matrix::SeriesRow], usize) {
        match (&self.shown.detail, self.wanted_detail()) {
            (Some(d), Some(want)) if d.family == want => (&d.rows, d.total),
            _ => (&[], 0),
        }
    }

    /// Recomputes the picture here after the view asked for other detail (tests, screenshots;
    /// live, the worker is told instead).
    fn refresh_detail(&mut self) {
        let want = self.wanted_detail();
        if let Some(core) = self.core.as_mut()
            && self.shown.detail.as_ref().map(|d| d.family) != want
        {
            self.shown = core.shown(want);
        }
    }

    /// A clock tick: redraws only when something shown depends on the clock and changed
    /// (a target turning stale, an age worth showing, the server overlay's ages).
    pub fn on_tick(&mut self, now: f64) {
        let before = self.clock_view(self.now);
        self.now = now;
        if self.view.list_open() || self.clock_view(now) != before {
            self.dirty = true;
        }
    }

    /// How many rules are pending and how many cannot judge.
    pub(super) fn waiting_rules(&self) -> (usize, usize) {
        use crate::analysis::findings::State;
        let rules = &self.shown.analysis.rules;
        let n = |s: State| rules.iter().filter(|r| r.state == s).count();
        (n(State::Pending), n(State::NotEvaluable))
    }

    /// When the figures' targets stopped answering: every LMCache target (every target when
    /// there is none) read live is down or stale now, and this is the newest answer among
    /// them. The figure panes then say "as of" that time and are dimmed.
    pub fn figures_as_of(&self) -> Option<f64> {
        use crate::model::TargetState;
        let live: Vec<&crate::session::picture::TargetRow> =
            self.shown.targets.iter().filter(|t| !t.recorded).collect();
        let lm: Vec<_> = live
            .iter()
            .filter(|t| t.target.role == crate::vocab::Role::Lmcache)
            .copied()
            .collect();
        let judged = if lm.is_empty() { live } else { lm };
        let old = |t: &&crate::session::picture::TargetRow| {
            matches!(
                t.health.state(self.now, self.interval),
                TargetState::Down | TargetState::Stale
            )
        };
        if judged.is_empty() || !judged.iter().all(old) {
            return None;
        }
        judged
            .iter()
            .filter_map(|t| t.health.last_ok)
            .reduce(f64::max)
    }

    /// The age of a target's last answer, when it is old enough to be worth showing (more
    /// than two intervals: a fresh target's age would only flicker between 0 and 1 s).
    pub fn shown_age(&self, last_ok: f64, now: f64) -> Option<u64> {
        let age = (now - last_ok).max(0.0);
        (age > 2.0 * self.interval).then_some(age as u64)
    }

    /// What the header shows that depends on the clock.
    fn clock_view(&self, now: f64) -> Vec<(crate::model::TargetState, Option<u64>)> {
        self.shown
            .targets
            .iter()
            .map(|t| {
                (
                    t.health.state(now, self.interval),
                    t.health.last_ok.and_then(|ok| self.shown_age(ok, now)),
                )
            })
            .collect()
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
            .analysis
            .families
            .iter()
            .enumerate()
            .filter(|(_, f)| found(f))
            .filter(|(_, f)| match self.view.filter {
                MatrixFilter::All => true,
                MatrixFilter::Applicable => f.status != Status::NotApplicable,
                // Zero is healthy for many gauges; absence is what needs a look.
                MatrixFilter::Problems => f.is_problem(),
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A key while the search line is being typed: plain characters are text; the keys of
    /// `open` keep the search, those of `close` clear it, and a quit key that is not a plain
    /// character (Ctrl-C) still quits.
    fn on_search_key(&mut self, key: KeyEvent) -> Option<Ask> {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let plain =
            matches!(key.code, KeyCode::Char(_)) && !key.modifiers.contains(KeyModifiers::CONTROL);
        let action = self.keymap.action(&key).filter(|_| !plain);
        let v = &mut self.view;
        let mut clear = false;
        let mut ask = None;
        let query = v.typed().get_or_insert_with(String::new);
        match (action, key.code) {
            (Some(Action::Quit), _) => ask = Some(Ask::Quit),
            (Some(Action::Open), _) => v.typing = false,
            (Some(Action::Close), _) => {
                v.typing = false;
                clear = true;
            }
            (_, KeyCode::Char(c)) if plain && query.chars().count() < 64 => query.push(c),
            (_, KeyCode::Backspace) => {
                query.pop();
            }
            _ => {}
        }
        if clear {
            *v.typed() = None;
        }
        self.view.matrix_row = 0;
        self.dirty = true;
        ask
    }

    /// A key press: the view changes here, and what it asks beyond the view (quit, export,
    /// follow a file, move a replay) is returned for the loop to carry out. A drill-down the
    /// view now asks for is computed (here, or live by the worker, told by the loop).
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Ask> {
        let ask = self.act(key);
        self.refresh_detail();
        ask
    }

    /// A mouse event (only with `--mouse`) on a screen showing `panes` where they are drawn
    /// (`layout::panes_at`, the layout the screen is drawn with): a click focuses the pane under
    /// it and selects the row it hit in a list; the wheel moves the selection of the pane under
    /// it (or scrolls an open list overlay). Other overlays take no clicks.
    pub fn on_mouse(
        &mut self,
        m: ratatui::crossterm::event::MouseEvent,
        panes: &[(Pane, ratatui::layout::Rect)],
    ) {
        use ratatui::crossterm::event::{MouseButton, MouseEventKind};
        let (x, y) = (m.column, m.row);
        let overlay = self.view.overlay_open();
        let hit = panes
            .iter()
            .copied()
            .find(|(_, r)| r.contains(ratatui::layout::Position { x, y }));
        match m.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let down = m.kind == MouseEventKind::ScrollDown;
                if !overlay && let Some((pane, _)) = hit {
                    self.view.focus_on(pane);
                }
                self.step(down);
            }
            MouseEventKind::Down(MouseButton::Left) if !overlay => {
                let Some((pane, r)) = hit else {
                    return;
                };
                self.view.focus_on(pane);
                // Rows inside the border (and below the matrix's header row).
                let first = r.y + if pane == Pane::Matrix { 2 } else { 1 };
                if y >= first && y + 1 < r.y + r.height {
                    let row = usize::from(y - first);
                    self.select(pane, row, usize::from(r.height.saturating_sub(3)));
                }
            }
            _ => return,
        }
        self.dirty = true;
        self.refresh_detail();
    }

    /// Selects the `row`th row shown in a list pane of `shown_rows` rows (as drawn: the matrix
    /// scrolls to keep its selection on screen).
    fn select(&mut self, pane: Pane, row: usize, shown_rows: usize) {
        match pane {
            Pane::Matrix => {
                let start = self
                    .view
                    .matrix_row
                    .saturating_sub(shown_rows.max(1).saturating_sub(1));
                if start + row < self.matrix_rows().len() {
                    self.view.matrix_row = start + row;
                }
            }
            Pane::Findings => {
                let findings = &self.shown.analysis.findings;
                let (pending, unjudged) = self.waiting_rules();
                if let Some(f) = findings.get(row) {
                    self.view.finding_row = row;
                    self.view.finding_code = Some(f.code);
                } else if row == findings.len() && pending + unjudged > 0 {
                    self.view.finding_row = row;
                    self.view.finding_code = None;
                }
            }
            _ => {}
        }
    }

    fn act(&mut self, key: KeyEvent) -> Option<Ask> {
        if self.view.typing {
            return self.on_search_key(key);
        }
        // The follow question takes y and n while it is asked.
        if let Some(offer) = &self.offer
            && let ratatui::crossterm::event::KeyCode::Char(c @ ('y' | 'n')) = key.code
        {
            self.asked.insert(offer.path.clone());
            let ask = self.offer.take().filter(|_| c == 'y').map(Ask::Follow);
            self.dirty = true;
            return ask;
        }
        let action = self.keymap.action(&key)?;
        self.dirty = true;
        let v = &mut self.view;
        match action {
            Action::Quit => return Some(Ask::Quit),
            Action::Help => v.toggle(Overlay::Help),
            Action::Close => v.close(),
            Action::Search => v.start_search(),
            Action::Server => v.toggle(Overlay::Server),
            Action::Targets => v.toggle(Overlay::Targets),
            Action::Export => {
                self.export_note = Some("export: writing the packet…".into());
                return Some(Ask::Export(self.export.clone()));
            }
            Action::Pause if self.shown.replay.is_some() => {
                return control_of(action).map(Ask::Play);
            }
            Action::StepBack
            | Action::StepForward
            | Action::Faster
            | Action::Slower
            | Action::Start
            | Action::End => {
                if self.shown.replay.is_some() {
                    return control_of(action).map(Ask::Play);
                }
            }
            Action::Pause => {
                v.paused = !v.paused;
                if !v.paused
                    && let Some(held) = self.held.take()
                {
                    self.on_shown(held);
                }
            }
            Action::NextPane | Action::PrevPane => v.cycle_focus(action == Action::NextPane),
            Action::Down | Action::Up => self.step(action == Action::Down),
            Action::Open => v.open(),
            Action::Filter => v.next_filter(),
        }
        None
    }

    /// Down or up: scrolls an open list overlay, else moves the focused pane's selection.
    fn step(&mut self, down: bool) {
        let v = &mut self.view;
        if v.list_open() {
            // The overlay scrolls; drawing clamps it to its last line.
            v.overlay_scroll = if down {
                v.overlay_scroll.saturating_add(1)
            } else {
                v.overlay_scroll.saturating_sub(1)
            };
            return;
        }
        let step = |i: usize, len: usize| {
            if down {
                (i + 1).min(len.saturating_sub(1))
            } else {
                i.saturating_sub(1)
            }
        };
        match v.focus {
            Pane::Matrix => {
                let len = self.matrix_rows().len();
                self.view.matrix_row = step(self.view.matrix_row, len);
            }
            Pane::Requests => {
                let len = self.shown.evidence.requests.len();
                v.request_row = step(v.request_row, len);
            }
            Pane::Findings => {
                // The firing rules, then the line of those waiting or unable to judge.
                let findings = &self.shown.analysis.findings;
                let (pending, unjudged) = self.waiting_rules();
                let rows = findings.len() + usize::from(pending + unjudged > 0);
                let v = &mut self.view;
                v.finding_row = step(v.finding_row, rows);
                v.finding_code = findings.get(v.finding_row).map(|f| f.code);
            }
            _ => {}
        }
    }
}
