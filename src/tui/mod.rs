//! `tui`: the live inspector. The loop owns the [`App`] (the view); the model lives on a
//! worker thread that hears the collectors' events and sends back pictures; input comes from a
//! reader thread; the screen is redrawn only when something changed, at most ten times a
//! second, inside synchronized-update brackets. However slow a picture is to compute, keys
//! are answered at once.

pub mod app;
pub mod draw;
mod evidence;
mod header;
pub mod keys;
mod overlays;
mod panes;
pub mod playback;
pub mod screenshot;
pub mod shown;
pub mod signals;
#[cfg(test)]
mod tests;
pub mod theme;
mod widgets;
mod worker;
pub use worker::{ExportPlan, Feed};

use std::io::Write;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::sync::mpsc;

pub use app::App;

use crate::timefmt::now;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(100);

/// Why the TUI stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The user quit.
    Quit,
    /// A signal asked it to (its number: SIGINT 2, SIGTERM 15 …).
    Signal(i32),
}

/// The log, shared by the worker (transitions) and the loop (start and stop).
pub type SharedLog = std::sync::Arc<std::sync::Mutex<Option<crate::logfile::LogFile>>>;

/// Runs the TUI until the user quits or the process is told to stop. Restores the terminal on
/// every exit path, panics included.
pub async fn run(mut app: App, feed: Feed, log: SharedLog) -> std::io::Result<Stop> {
    let core = app
        .take_core()
        .expect("a new App holds its model until the loop takes it");
    let (pictures, mut picture) = tokio::sync::watch::channel(None);
    let (control, orders) = mpsc::unbounded_channel();
    let (said_tx, mut said) = mpsc::unbounded_channel();
    worker::spawn(core, feed, orders, pictures, log, said_tx)?;
    let mut terminal = ratatui::try_init()?;
    let (key_tx, mut keys) = mpsc::channel::<TermEvent>(64);
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            if key_tx.blocking_send(ev).is_err() {
                break;
            }
        }
    });
    let mut signals = signals::Signals::new()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_frame = Instant::now() - FRAME;
    let mut asked_detail = None;
    app.on_tick(now());
    let result = loop {
        let wait = FRAME.saturating_sub(last_frame.elapsed());
        tokio::select! {
            Ok(()) = picture.changed() => {
                if let Some(shown) = picture.borrow_and_update().clone() {
                    app.on_shown(shown);
                }
            }
            Some(ev) = keys.recv() => match ev {
                TermEvent::Key(k) if k.kind == KeyEventKind::Press => app.on_key(k),
                TermEvent::Resize(..) => app.dirty = true,
                _ => {}
            },
            Some(note) = said.recv() => {
                app.export_note = Some(note);
                app.dirty = true;
            }
            // A replay's clock comes with its pictures.
            _ = tick.tick(), if !app.replaying() => app.on_tick(now()),
            n = signals.recv() => break Ok(Stop::Signal(n)),
            // Wakes a pending redraw once the frame budget allows it.
            _ = tokio::time::sleep(wait), if app.dirty => {}
        }
        if app.quit {
            break Ok(Stop::Quit);
        }
        if std::mem::take(&mut app.export_asked) {
            let _ = control.send(worker::Order::Export(app.export.clone()));
        }
        if let Some(offer) = app.follow_asked.take() {
            let _ = control.send(worker::Order::Follow(crate::sources::follow::Follow {
                target: offer.target,
                stream: crate::vocab::Stream::Trace,
                path: offer.path.into(),
            }));
        }
        for c in app.play.drain(..) {
            let _ = control.send(worker::Order::Play(c));
        }
        let detail = app.wanted_detail();
        if detail != asked_detail {
            asked_detail = detail;
            let _ = control.send(worker::Order::Detail(detail));
        }
        if app.dirty && last_frame.elapsed() >= FRAME {
            let drawn = (|| -> std::io::Result<()> {
                execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
                terminal.draw(|f| draw::draw(f, &app))?;
                execute!(std::io::stdout(), EndSynchronizedUpdate)?;
                std::io::stdout().flush()
            })();
            if let Err(e) = drawn {
                break Err(e);
            }
            app.dirty = false;
            last_frame = Instant::now();
        }
    };
    restore();
    // ratatui's Terminal prints to stderr from its Drop when the cursor cannot be shown; on a
    // dead terminal that print panics. The cursor is already handled by `restore`.
    std::mem::forget(terminal);
    // The worker stops when it next looks at its orders; nobody waits for it.
    drop(control);
    result
}

/// Leaves raw mode and the alternate screen and shows the cursor, ignoring errors: after a
/// dropped SSH session the terminal is gone, and printing about it (as `ratatui::restore`
/// does) would panic on the dead stderr before kvscope could finish.
///
/// The alternate screen is cleared before it is left: a terminal that grew while kvscope ran
/// (tmux, for one) copies rows of the larger alternate screen onto the primary one when it
/// switches back, and those rows would stay under the shell prompt.
fn restore() {
    use ratatui::crossterm::cursor::{MoveTo, Show};
    use ratatui::crossterm::terminal::{self, Clear, ClearType};
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        Clear(ClearType::All),
        MoveTo(0, 0),
        terminal::LeaveAlternateScreen,
        Show
    );
    let _ = std::io::stdout().flush();
}
