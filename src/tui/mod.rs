//! `tui`: the live inspector. The loop owns the [`App`] (the view) and draws the pictures a
//! [`Session`] sends (the model lives on the session's worker thread); it sends the session
//! orders for what a key asked; input comes from a reader thread; the screen is redrawn only
//! when something changed, at most ten times a second, inside synchronized-update brackets.
//! However slow a picture is to compute, keys are answered at once.

pub mod app;
mod capacity;
pub mod draw;
mod evidence;
pub mod fleet;
mod header;
pub mod keys;
pub mod layout;
mod overlays;
mod panes;
pub mod screenshot;
#[cfg(test)]
mod tests;
pub mod theme;
mod tiers;
pub mod view;
mod widgets;

use std::io::Write;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event as TermEvent, KeyEventKind};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use tokio::sync::mpsc;

pub use app::{App, Ask};

use crate::session::{Order, Session, Stop};
use crate::timefmt::now;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(100);
/// Longest the first frame waits for the first picture: a moment, on a target that answers, so
/// the screen is painted once with data rather than twice; a slow target gets the empty screen
/// after it.
const FIRST_PICTURE: Duration = Duration::from_millis(1000);

/// Runs the TUI until the user quits or the process is told to stop. Restores the terminal on
/// every exit path, panics included.
pub async fn run(mut app: App, session: Session) -> std::io::Result<Stop> {
    let Session {
        pictures: mut picture,
        orders: control,
        mut said,
    } = session;
    let mut terminal = ratatui::try_init()?;
    if app.mouse {
        capture_mouse()?;
    }
    let mut keys = read_keys();
    let mut signals = crate::session::signals::Signals::new()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_frame = Instant::now() - FRAME;
    let mut asked_detail = None;
    // The first frame waits for the first picture (FIRST_PICTURE).
    let hold_until = Instant::now() + FIRST_PICTURE;
    let mut pictured = false;
    app.on_tick(now());
    let result = loop {
        let held = !pictured && Instant::now() < hold_until;
        let wait = if held {
            hold_until.saturating_duration_since(Instant::now())
        } else {
            FRAME.saturating_sub(last_frame.elapsed())
        };
        tokio::select! {
            Ok(()) = picture.changed() => {
                if let Some(shown) = picture.borrow_and_update().clone() {
                    app.on_shown(shown);
                    pictured = true;
                    // A picture brings the clock along: the tick is for when none come.
                    if !app.replaying() {
                        app.on_tick(now());
                        tick.reset();
                    }
                }
            }
            Some(ev) = keys.recv() => match heard(&mut app, ev, &terminal)?.map(order_for) {
                Some(None) => break Ok(Stop::Quit),
                Some(Some(order)) => drop(control.send(order)),
                None => {}
            },
            Some(note) = said.recv() => {
                app.export_note = Some(note.line());
                app.dirty = true;
            }
            // A replay's clock comes with its pictures.
            _ = tick.tick(), if !app.replaying() => app.on_tick(now()),
            n = signals.recv() => break Ok(Stop::Signal(n)),
            // Wakes a pending redraw once the frame budget allows it.
            _ = tokio::time::sleep(wait), if app.dirty => {}
        }
        let detail = app.wanted_detail();
        if detail != asked_detail {
            asked_detail = detail;
            let _ = control.send(Order::Detail(detail));
        }
        let held = !pictured && Instant::now() < hold_until;
        if app.dirty && !held && last_frame.elapsed() >= FRAME {
            if let Err(e) = frame(&mut terminal, &app) {
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

/// A terminal event given to the app: what a key asked, if anything.
fn heard(
    app: &mut App,
    ev: TermEvent,
    terminal: &ratatui::DefaultTerminal,
) -> std::io::Result<Option<Ask>> {
    match ev {
        TermEvent::Key(k) if k.kind == KeyEventKind::Press => return Ok(app.on_key(k)),
        TermEvent::Mouse(m) if app.mouse => {
            let size = terminal.size()?;
            let screen = ratatui::layout::Rect::new(0, 0, size.width, size.height);
            app.on_mouse(m, &layout::panes_at(screen, app));
        }
        TermEvent::Resize(..) => app.dirty = true,
        _ => {}
    }
    Ok(None)
}

/// The order that carries out what a key asked of the session; `None` for quitting, which is
/// the loop's own.
fn order_for(ask: Ask) -> Option<Order> {
    match ask {
        Ask::Export(plan) => Some(Order::Export(plan)),
        Ask::Follow(offer) => Some(Order::Follow(offer)),
        Ask::Play(c) => Some(Order::Play(c)),
        Ask::Quit => None,
    }
}

/// One frame of `app`, inside synchronized-update brackets.
fn frame(terminal: &mut ratatui::DefaultTerminal, app: &App) -> std::io::Result<()> {
    execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
    terminal.draw(|f| draw::draw(f, app))?;
    execute!(std::io::stdout(), EndSynchronizedUpdate)?;
    std::io::stdout().flush()
}

/// Terminal input as a channel. One thread reads it for the whole process, blocked in the
/// terminal's read (no polling: an idle screen costs no wake-ups); a screen holds the receiving
/// end while it runs and gives it back when it ends, so one screen can follow another (the
/// fleet table and an instance's dashboard) and a key pressed between them goes to the next.
pub(crate) fn read_keys() -> Keys {
    static INPUT: std::sync::Mutex<Option<mpsc::Receiver<TermEvent>>> = std::sync::Mutex::new(None);
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let (key_tx, keys) = mpsc::channel::<TermEvent>(64);
        *INPUT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(keys);
        std::thread::spawn(move || {
            while let Ok(ev) = event::read() {
                if key_tx.blocking_send(ev).is_err() {
                    break;
                }
            }
        });
    });
    let taken = INPUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    Keys {
        rx: taken,
        home: &INPUT,
    }
}

/// A screen's hold on the terminal's input ([`read_keys`]); given back when dropped.
pub(crate) struct Keys {
    /// `None` when another screen holds it (never, screens follow one another).
    rx: Option<mpsc::Receiver<TermEvent>>,
    home: &'static std::sync::Mutex<Option<mpsc::Receiver<TermEvent>>>,
}

impl Keys {
    /// The next terminal event; never, without the input.
    pub(crate) async fn recv(&mut self) -> Option<TermEvent> {
        match self.rx.as_mut() {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if let Some(rx) = self.rx.take() {
            *self
                .home
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rx);
        }
    }
}

/// Runs the fleet view until the user quits, opens an instance or exports one, or a signal
/// stops it. `pictures` brings each refresh's table; the terminal is restored on return.
pub async fn run_fleet(
    view: &mut fleet::FleetView,
    pictures: &mut tokio::sync::watch::Receiver<Option<fleet::FleetPicture>>,
    notes: &mut mpsc::UnboundedReceiver<String>,
    export: impl Fn(String),
) -> std::io::Result<FleetStop> {
    let mut terminal = ratatui::try_init()?;
    if view.mouse {
        capture_mouse()?;
    }
    let mut keys = read_keys();
    let mut signals = crate::session::signals::Signals::new()?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    let result = loop {
        let wait = FRAME.saturating_sub(last_frame.elapsed());
        tokio::select! {
            Ok(()) = pictures.changed() => {
                if let Some(p) = pictures.borrow_and_update().clone() {
                    view.picture = p;
                    dirty = true;
                }
            }
            Some(ev) = keys.recv() => match ev {
                TermEvent::Key(k) if k.kind == KeyEventKind::Press => {
                    dirty = true;
                    match view.on_key(k) {
                        fleet::Asked::Nothing => {}
                        fleet::Asked::Quit => break Ok(FleetStop::Quit),
                        fleet::Asked::Open(name) => break Ok(FleetStop::Open(name)),
                        fleet::Asked::Export(name) => {
                            view.note = Some(format!("exporting {name} …"));
                            export(name);
                        }
                    }
                }
                TermEvent::Mouse(m) if view.mouse => {
                    let size = terminal.size()?;
                    view.on_mouse(m, ratatui::layout::Rect::new(0, 0, size.width, size.height));
                    dirty = true;
                }
                TermEvent::Resize(..) => dirty = true,
                _ => {}
            },
            _ = tick.tick() => {
                view.now = now();
                dirty = true;
            }
            Some(note) = notes.recv() => {
                view.note = Some(note);
                dirty = true;
            }
            n = signals.recv() => break Ok(FleetStop::Signal(n)),
            _ = tokio::time::sleep(wait), if dirty => {}
        }
        if dirty && last_frame.elapsed() >= FRAME {
            let drawn = (|| -> std::io::Result<()> {
                execute!(std::io::stdout(), BeginSynchronizedUpdate)?;
                terminal.draw(|f| fleet::draw(f, view))?;
                execute!(std::io::stdout(), EndSynchronizedUpdate)?;
                std::io::stdout().flush()
            })();
            if let Err(e) = drawn {
                break Err(e);
            }
            dirty = false;
            last_frame = Instant::now();
        }
    };
    drop(keys);
    restore();
    std::mem::forget(terminal);
    result
}

/// Turns mouse reporting on (`--mouse`), and makes a panic turn it off again before the
/// terminal is restored (ratatui's own panic hook does not know about the mouse).
fn capture_mouse() -> std::io::Result<()> {
    use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
    // Once per process: the fleet table and an instance's dashboard take turns, and each turn
    // would otherwise wrap the hook again.
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let earlier = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = execute!(std::io::stdout(), DisableMouseCapture);
            earlier(info);
        }));
    });
    execute!(std::io::stdout(), EnableMouseCapture)
}

/// Why the fleet view stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetStop {
    Quit,
    Signal(i32),
    /// Open this instance's dashboard, then come back.
    Open(String),
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
    use ratatui::crossterm::event::DisableMouseCapture;
    use ratatui::crossterm::terminal::{self, Clear, ClearType};
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        // Harmless when it was never turned on; after `--mouse` it gives the shell its
        // mouse back.
        DisableMouseCapture,
        Clear(ClearType::All),
        MoveTo(0, 0),
        terminal::LeaveAlternateScreen,
        Show
    );
    let _ = std::io::stdout().flush();
}
