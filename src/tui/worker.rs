//! The worker thread: it owns the model ([`Core`]), hears the collectors' events, logs what
//! changed and sends the loop a new picture once a burst of events has settled. Heavy work
//! (a scrape of a hundred thousand series, its analysis) happens here, never where keys are
//! read.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::SharedLog;
use super::shown::{Core, Shown};
use crate::vocab::Event;

/// How long the first event of a burst waits for the rest before a picture is made: one
/// scrape interval's answers (metrics, health, status …) become one analysis and one frame.
/// Counted from the first event, so a steady stream of events cannot hold pictures back.
const SETTLE: Duration = Duration::from_millis(30);

/// What the loop asks of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Include this family's series in pictures (the drill-down is open), or none.
    Detail(Option<&'static str>),
}

/// Starts the worker on a thread of its own, with a runtime of its own for its timers.
pub fn spawn(
    core: Core,
    events: mpsc::Receiver<Event>,
    orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("kvscope-core".into())
        .spawn(move || rt.block_on(work(core, events, orders, pictures, log)))?;
    Ok(())
}

async fn work(
    mut core: Core,
    mut events: mpsc::Receiver<Event>,
    mut orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
) {
    let mut detail = None;
    // When the oldest event not yet in a picture arrived.
    let mut pending: Option<Instant> = None;
    let mut sources = true;
    loop {
        let wait = pending.map_or(Duration::ZERO, |t| SETTLE.saturating_sub(t.elapsed()));
        tokio::select! {
            ev = events.recv(), if sources => match ev {
                Some(ev) => {
                    if let Some(line) = core.apply(ev)
                        && let Ok(mut log) = log.lock()
                        && let Some(log) = log.as_mut()
                    {
                        log.line(&line);
                    }
                    pending.get_or_insert_with(Instant::now);
                }
                None => sources = false,
            },
            order = orders.recv() => match order {
                Some(Order::Detail(d)) => {
                    detail = d;
                    // Asked for by a key press: no reason to wait.
                    pending = Some(Instant::now() - SETTLE);
                }
                // The loop has ended.
                None => return,
            },
            _ = tokio::time::sleep(wait), if pending.is_some() => {
                if pictures.send(Some(core.shown(detail))).is_err() {
                    return;
                }
                pending = None;
            }
        }
    }
}
