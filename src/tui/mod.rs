//! `tui`: the live inspector. The loop owns the [`App`]; collectors send events over a bounded
//! channel; input comes from a reader thread; the screen is redrawn only when something changed,
//! at most ten times a second, inside synchronized-update brackets.

pub mod app;
pub mod draw;
pub mod keys;
pub mod screenshot;
#[cfg(test)]
mod tests;
pub mod theme;

use std::io::Write;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::sync::mpsc;

pub use app::App;

use crate::model::Event;
use crate::timefmt::now;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(100);
/// How long the first source event waits for the rest of its burst before drawing: one scrape
/// interval's answers (metrics, health, status ...) become one frame and one analysis. Counted
/// from the first event, so a steady stream of events cannot hold frames back.
const SETTLE: Duration = Duration::from_millis(30);

/// Runs the TUI until the user quits or the process is told to stop. Restores the terminal on
/// every exit path, panics included.
pub async fn run(
    mut app: App,
    mut events: mpsc::Receiver<Event>,
    log: &mut Option<crate::logfile::LogFile>,
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let (key_tx, mut keys) = mpsc::channel::<TermEvent>(64);
    std::thread::spawn(move || {
        while let Ok(ev) = event::read() {
            if key_tx.blocking_send(ev).is_err() {
                break;
            }
        }
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_frame = Instant::now() - FRAME;
    // When the oldest source event not yet drawn arrived.
    let mut pending: Option<Instant> = None;
    app.lazy = true;
    app.on_tick(now());
    let result = loop {
        let settling = pending.map_or(Duration::ZERO, |t| SETTLE.saturating_sub(t.elapsed()));
        let wait = FRAME.saturating_sub(last_frame.elapsed()).max(settling);
        tokio::select! {
            Some(ev) = events.recv() => {
                if let Some(log) = log.as_mut()
                    && let Some(line) = app.model.transition(&ev)
                {
                    log.line(&line);
                }
                app.on_event(ev);
                pending.get_or_insert_with(Instant::now);
            }
            Some(ev) = keys.recv() => match ev {
                TermEvent::Key(k) if k.kind == KeyEventKind::Press => app.on_key(k),
                TermEvent::Resize(..) => app.dirty = true,
                _ => {}
            },
            _ = tick.tick() => app.on_tick(now()),
            _ = term.recv() => break Ok(()),
            _ = hup.recv() => break Ok(()),
            // Wakes a pending redraw once the frame budget allows it.
            _ = tokio::time::sleep(wait), if app.dirty => {}
        }
        if app.quit {
            break Ok(());
        }
        let settled = pending.is_none_or(|t| t.elapsed() >= SETTLE);
        if app.dirty && last_frame.elapsed() >= FRAME && settled {
            app.prepare();
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
            pending = None;
            last_frame = Instant::now();
        }
    };
    restore();
    // ratatui's Terminal prints to stderr from its Drop when the cursor cannot be shown; on a
    // dead terminal that print panics. The cursor is already handled by `restore`.
    std::mem::forget(terminal);
    result
}

/// Leaves raw mode and the alternate screen and shows the cursor, ignoring errors: after a
/// dropped SSH session the terminal is gone, and printing about it (as `ratatui::restore`
/// does) would panic on the dead stderr before kvscope could finish.
fn restore() {
    use ratatui::crossterm::{cursor::Show, terminal};
    let _ = terminal::disable_raw_mode();
    let _ = execute!(std::io::stdout(), terminal::LeaveAlternateScreen, Show);
    let _ = std::io::stdout().flush();
}
