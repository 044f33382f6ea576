//! The view's state: which pane has the focus, what is selected, what is open over the panes,
//! and what a key asks beyond the view. Plain data; `app.rs` changes it.

use crate::session::picture::FollowOffer;
use crate::session::playback::Control;

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Mode,
    HitRate,
    Matrix,
    Memory,
    EventBus,
    Findings,
    Trace,
    Logs,
    Requests,
    Capacity,
}

impl Pane {
    pub const ALL: [Pane; 10] = [
        Pane::Mode,
        Pane::HitRate,
        Pane::Matrix,
        Pane::Memory,
        Pane::EventBus,
        Pane::Findings,
        Pane::Trace,
        Pane::Logs,
        Pane::Requests,
        Pane::Capacity,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Mode => "Mode",
            Pane::HitRate => "Hit rate",
            Pane::Matrix => "Families",
            Pane::Memory => "L1 / L2",
            Pane::EventBus => "EventBus",
            Pane::Findings => "Findings",
            Pane::Trace => "Trace",
            Pane::Logs => "Logs",
            Pane::Requests => "Requests",
            Pane::Capacity => "Capacity",
        }
    }

    /// Panes that take the large area of the full layout, one at a time: the one focused
    /// last is shown there.
    pub fn large(self) -> bool {
        matches!(
            self,
            Pane::Matrix | Pane::Trace | Pane::Logs | Pane::Requests | Pane::Capacity
        )
    }
}

/// How the Requests pane orders requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestOrder {
    Slowest,
    LowestHit,
}

/// Which log lines the Logs pane lists, by level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFilter {
    /// LMCache's and vLLM's lines only: no HTTP access lines (most are kvscope's own reads)
    /// and no lines of unknown shape. The default.
    Known,
    /// Warnings and worse.
    Warnings,
    All,
}

impl LogFilter {
    pub fn label(self) -> &'static str {
        match self {
            LogFilter::Known => "lmcache/vllm lines",
            LogFilter::Warnings => "warnings",
            LogFilter::All => "all lines",
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

/// What can be drawn over the panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    /// The drill-down of the selected matrix row or finding (or the Mode pane's whole text).
    Detail,
    /// The server overlay (LMCache routes, threads, env).
    Server,
    /// The list of every target with its state.
    Targets,
}

/// What a key or a click asks of the session or the program, beyond the view.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Quit,
    /// Write an evidence packet.
    Export(crate::session::ExportPlan),
    /// Follow the trace the user said yes to.
    Follow(FollowOffer),
    /// Move a replay.
    Play(Control),
}

/// View state: focus, selection, overlays.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub focus: Pane,
    /// What is drawn over the panes, if anything: one at a time.
    pub overlay: Option<Overlay>,
    pub paused: bool,
    /// Which matrix rows are shown.
    pub filter: MatrixFilter,
    pub matrix_row: usize,
    pub finding_row: usize,
    /// The code of the selected finding: the selection follows it when the order changes.
    pub finding_code: Option<&'static str>,
    /// How far the open overlay (server, targets) is scrolled.
    pub overlay_scroll: u16,
    /// Matrix search: rows whose names contain this (case-insensitive).
    pub search: Option<String>,
    /// Keys go into `search` until Enter or Esc.
    pub typing: bool,
    /// The large pane the full layout shows (the last large one focused).
    pub large: Pane,
    /// Which log lines the Logs pane lists.
    pub log_filter: LogFilter,
    /// Logs search: lines containing this (case-insensitive).
    pub log_search: Option<String>,
    /// The Requests pane's order and selected row.
    pub request_order: RequestOrder,
    pub request_row: usize,
}

impl View {
    /// Esc: the open overlay closes, or else the search typed goes.
    pub(super) fn close(&mut self) {
        if self.overlay_open() {
            self.overlay = None;
        } else {
            *self.typed() = None;
        }
    }

    /// `/`: a search is typed, over the logs when they have focus, else over the matrix.
    pub(super) fn start_search(&mut self) {
        if self.focus != Pane::Logs {
            self.focus = Pane::Matrix;
            self.large = Pane::Matrix;
        }
        self.close_detail();
        self.typing = true;
        self.typed().get_or_insert_with(String::new);
    }

    /// Enter: the detail of the focused pane, where it has one.
    pub(super) fn open(&mut self) {
        if matches!(
            self.focus,
            Pane::Matrix | Pane::Findings | Pane::Mode | Pane::Capacity
        ) {
            self.overlay = Some(Overlay::Detail);
        }
    }

    /// `f`: the focused pane's next order (requests) or filter (logs, else the matrix).
    pub(super) fn next_filter(&mut self) {
        match self.focus {
            Pane::Requests => {
                self.request_order = match self.request_order {
                    RequestOrder::Slowest => RequestOrder::LowestHit,
                    RequestOrder::LowestHit => RequestOrder::Slowest,
                };
                self.request_row = 0;
            }
            Pane::Logs => {
                self.log_filter = match self.log_filter {
                    LogFilter::Known => LogFilter::Warnings,
                    LogFilter::Warnings => LogFilter::All,
                    LogFilter::All => LogFilter::Known,
                };
            }
            _ => {
                self.filter = match self.filter {
                    MatrixFilter::Applicable => MatrixFilter::Problems,
                    MatrixFilter::Problems => MatrixFilter::All,
                    MatrixFilter::All => MatrixFilter::Applicable,
                };
                self.matrix_row = 0;
            }
        }
    }

    /// Opens `overlay`, or closes it if it is the one open.
    pub(super) fn toggle(&mut self, overlay: Overlay) {
        self.overlay = (self.overlay != Some(overlay)).then_some(overlay);
        self.overlay_scroll = 0;
    }

    /// Closes the drill-down, if it is open.
    pub(super) fn close_detail(&mut self) {
        if self.overlay == Some(Overlay::Detail) {
            self.overlay = None;
        }
    }

    /// A list (the server overlay, the targets, the help) is open: up and down scroll it, and
    /// move nothing behind it.
    pub(super) fn list_open(&self) -> bool {
        matches!(
            self.overlay,
            Some(Overlay::Server | Overlay::Targets | Overlay::Help)
        )
    }

    /// Focus on the next (or previous) pane, round the ring.
    pub(super) fn cycle_focus(&mut self, forward: bool) {
        let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
        let n = Pane::ALL.len();
        self.focus_on(
            Pane::ALL[if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            }],
        );
        self.close_detail();
    }

    /// Help, a drill-down or a list is drawn over the panes.
    pub(super) fn overlay_open(&self) -> bool {
        self.overlay.is_some()
    }

    /// Focuses `pane`; a large one also takes the full layout's large area.
    pub(super) fn focus_on(&mut self, pane: Pane) {
        self.focus = pane;
        if pane.large() {
            self.large = pane;
        }
    }

    /// The search being typed into: the Logs pane's when it has the focus, else the matrix's.
    pub fn typed(&mut self) -> &mut Option<String> {
        if self.focus == Pane::Logs {
            &mut self.log_search
        } else {
            &mut self.search
        }
    }
}

impl Default for View {
    fn default() -> Self {
        View {
            focus: Pane::Matrix,
            overlay: None,
            paused: false,
            filter: MatrixFilter::Applicable,
            matrix_row: 0,
            finding_row: 0,
            finding_code: None,
            overlay_scroll: 0,
            search: None,
            typing: false,
            large: Pane::Matrix,
            log_filter: LogFilter::Known,
            log_search: None,
            request_order: RequestOrder::Slowest,
            request_row: 0,
        }
    }
}
