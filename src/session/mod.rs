//! The headless session: everything between the sources and a front end. It owns the model
//! (through [`picture::Core`]), the collectors that feed it live, the worker thread that hears
//! every event, records it and makes pictures ([`worker`]), a replay's clock ([`playback`]),
//! files followed on request, exports, the log, and the signals that end a session. `watch`,
//! `demo`, `replay` and an instance's dashboard in the fleet view run one and draw its
//! pictures; the terminal only draws pictures and sends [`Order`]s. `export` runs one
//! headless, and `report` one with an end ([`gather`]).

mod clock;
pub mod gather;
pub mod picture;
pub mod playback;
pub mod signals;
mod worker;

use std::time::Duration;

use tokio::sync::{mpsc, watch};

pub use picture::{Core, Shown};
pub use worker::{ExportError, ExportPlan, Exported, Feed, Order, RECORDED, Said};

use crate::sources::{collector, http, lmcache_http};
use crate::vocab::{Event, Role, TargetRef};

/// The log, shared by the worker (transitions) and the front end (start and stop).
pub type SharedLog = std::sync::Arc<std::sync::Mutex<Option<crate::logfile::LogFile>>>;

/// Why a session stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The user quit.
    Quit,
    /// A signal asked it to (its number: SIGINT 2, SIGTERM 15 …).
    Signal(i32),
}

/// A running session as a front end holds it: the newest picture, a way to ask, and what the
/// session has to say (an export written, a file followed). Dropping it stops the worker.
pub struct Session {
    pub pictures: watch::Receiver<Option<Shown>>,
    pub orders: mpsc::UnboundedSender<Order>,
    pub said: mpsc::UnboundedReceiver<Said>,
}

impl Session {
    /// Starts the worker on a thread of its own, fed by `feed`, recording the last hour.
    pub fn start(core: Core, feed: Feed, log: SharedLog) -> std::io::Result<Session> {
        Session::recording(core, feed, log, RECORDED)
    }

    /// [`Session::start`], recording the last `seconds` of events for an export.
    pub fn recording(
        core: Core,
        feed: Feed,
        log: SharedLog,
        seconds: f64,
    ) -> std::io::Result<Session> {
        let (pictures_tx, pictures) = watch::channel(None);
        let (orders, orders_rx) = mpsc::unbounded_channel();
        let (said_tx, said) = mpsc::unbounded_channel();
        worker::spawn(core, feed, orders_rx, pictures_tx, log, said_tx, seconds)?;
        Ok(Session {
            pictures,
            orders,
            said,
        })
    }
}

/// One tokio runtime on the calling thread: collectors are I/O-bound and the UI work is small;
/// it keeps idle CPU low.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// How to collect from live targets.
#[derive(Debug, Clone, Copy)]
pub struct Collect<'a> {
    pub interval: f64,
    pub timeout: f64,
    /// Request headers and TLS settings, shared and per target.
    pub auth: &'a http::AuthPlan,
    /// Which optional LMCache routes may be read (`--allow-env`).
    pub routes: lmcache_http::RouteOptions,
    /// The largest body a scrape may have.
    pub limit: usize,
}

/// Why a session's sources could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A target's client (its credentials, TLS material) cannot be built.
    #[error(transparent)]
    Setup(#[from] http::SetupError),
    /// A file given beside a target cannot be read.
    #[error(transparent)]
    Follow(#[from] crate::sources::follow::FollowError),
}

/// One `/metrics` collector per target, one reader of its HTTP routes per LMCache target, and
/// a follower per file given beside a target; all send to `tx` (on the current runtime).
pub fn spawn_collectors(
    how: Collect<'_>,
    lm: &[http::TargetUrl],
    en: &[http::TargetUrl],
    follows: &[crate::sources::follow::Follow],
    tx: &mpsc::Sender<Event>,
) -> Result<(), StartError> {
    let interval = Duration::from_secs_f64(how.interval);
    for (role, urls) in [(Role::Lmcache, lm), (Role::Engine, en)] {
        for (index, url) in urls.iter().enumerate() {
            let target = TargetRef { role, index };
            let client = http::client(
                Duration::from_secs_f64(how.timeout),
                &how.auth.for_target(role, index),
            )?;
            let poll = collector::Poll {
                target,
                url: url.clone(),
                interval,
                limit: how.limit,
            };
            tokio::spawn(collector::run(poll, client.clone(), tx.clone()));
            if role == Role::Lmcache {
                let routes = lmcache_http::run(
                    target,
                    url.clone(),
                    interval,
                    how.routes,
                    client,
                    tx.clone(),
                );
                tokio::spawn(routes);
            }
        }
    }
    for follow in follows {
        crate::sources::follow::check(follow)?;
        let every = crate::sources::follow::poll_every(Some(how.interval));
        tokio::spawn(crate::sources::follow::follow(
            follow.clone(),
            every,
            tx.clone(),
        ));
    }
    Ok(())
}

/// Waits for a terminating signal.
pub async fn until_signal() -> std::io::Result<Stop> {
    let mut signals = signals::Signals::new()?;
    Ok(Stop::Signal(signals.recv().await))
}
