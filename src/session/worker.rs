//! The worker thread: it owns the model ([`Core`]), hears the collectors' events, logs what
//! changed and sends the loop a new picture once a burst of events has settled. Heavy work
//! (a scrape of a hundred thousand series, its analysis) happens here, never where keys are
//! read.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use std::path::PathBuf;

use super::SharedLog;
use super::picture::{Core, FollowOffer, Shown};
use crate::packet::{self, Recorder, Recording, TargetEntry};
use crate::session::playback::{Control, Playback};
use crate::vocab::Event;

/// How long the first event of a burst waits for the rest before a picture is made: one
/// scrape interval's answers (metrics, health, status …) become one analysis and one frame.
/// Counted from the first event, so a steady stream of events cannot hold pictures back.
const SETTLE: Duration = Duration::from_millis(30);

/// Where the worker's events come from.
pub enum Feed {
    /// The collectors of a live session.
    Live(mpsc::Receiver<Event>),
    /// A packet, played on its own clock.
    Replay(Box<Playback>),
}

/// Pictures made for route answers, trace and log bytes alone (no capture) come at most this
/// often, and not before half an interval more than the scrapes' own pictures: a busy log is
/// parsed as it arrives and analysed with the next capture, or after this long when captures
/// do not come.
const EVIDENCE_EVERY: Duration = Duration::from_secs(1);
/// The longest a picture of route answers, trace or log bytes waits, however long the
/// interval.
const EVIDENCE_AT_MOST: Duration = Duration::from_secs(5);

/// How often a playing replay moves on (and sends a picture).
const PLAY_TICK: Duration = Duration::from_millis(100);

/// What the loop asks of the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Include this family's series in pictures (the drill-down is open), or none.
    Detail(Option<&'static str>),
    /// Write an evidence packet of what was recorded; say how it went.
    Export(ExportPlan),
    /// Move a replay.
    Play(Control),
    /// Follow the storage trace a target's `/config` names (a live session only).
    Follow(FollowOffer),
}

/// Where `e` writes, and how much of the recording goes in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPlan {
    /// The folder a packet named for its time goes in.
    pub dir: PathBuf,
    /// This file instead (`kvscope export --out`).
    pub file: Option<PathBuf>,
    /// Only the last this many seconds, or all that is recorded.
    pub last_seconds: Option<u64>,
    /// Host names and addresses replaced by pseudonyms.
    pub redact_hosts: bool,
}

impl Default for ExportPlan {
    fn default() -> Self {
        ExportPlan {
            dir: PathBuf::from("."),
            file: None,
            last_seconds: None,
            redact_hosts: false,
        }
    }
}

/// Seconds of events the recorder keeps by default: the store's hour.
pub const RECORDED: f64 = 3600.0;

/// What the session has to tell its front end.
#[derive(Debug)]
pub enum Said {
    /// A line for the person (following a file, or why not).
    Note(String),
    /// An export is done: what was written, or why nothing was.
    Exported(Result<Exported, ExportError>),
}

/// Why an export wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A replay has nothing of its own to write.
    #[error("a replay writes nothing; the packet it plays is the evidence")]
    Replay,
    /// The export's thread could not be started.
    #[error("cannot start its thread: {0}")]
    Thread(std::io::Error),
    /// The packet could not be made or written.
    #[error(transparent)]
    Write(#[from] packet::WriteError),
}

/// A packet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    /// Events in it, and the scrapes among every event heard.
    pub events: usize,
    pub scrapes: usize,
    pub bytes: usize,
    /// Events the recorder could not keep.
    pub lost: usize,
}

impl Said {
    /// The line a person reads.
    pub fn line(&self) -> String {
        match self {
            Said::Note(n) => n.clone(),
            Said::Exported(Ok(e)) => {
                let lost = if e.lost > 0 {
                    format!("; {} events could not be recorded", e.lost)
                } else {
                    String::new()
                };
                format!(
                    "export: wrote {} ({} events, {} KiB){lost}",
                    e.path.display(),
                    e.events,
                    e.bytes / 1024
                )
            }
            Said::Exported(Err(why)) => format!("export failed: {why}"),
        }
    }
}

/// Starts the worker on a thread of its own, with a runtime of its own for its timers.
pub(super) fn spawn(
    core: Core,
    feed: Feed,
    orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
    said: mpsc::UnboundedSender<Said>,
    recorded: f64,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("kvscope-core".into())
        .spawn(move || rt.block_on(work(core, feed, orders, pictures, log, said, recorded)))?;
    Ok(())
}

async fn work(
    core: Core,
    feed: Feed,
    mut orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
    said: mpsc::UnboundedSender<Said>,
    recorded: f64,
) {
    let (mut events, playback) = match feed {
        Feed::Live(rx) => (Some(rx), None),
        Feed::Replay(p) => (None, Some(p)),
    };
    // Files followed on request (`Order::Follow`) send here; heard like the collectors.
    let (followed_tx, mut followed) = mpsc::channel::<Event>(64);
    let mut w = Worker {
        core,
        playback,
        recorder: Recorder::new(recorded),
        heard: Heard::default(),
        detail: None,
        pending: None,
        evidence_only: true,
        last_picture: Instant::now() - EVIDENCE_EVERY,
        last_tick: Instant::now(),
        log,
        said,
        followed: followed_tx,
    };
    let mut ticks = tokio::time::interval(PLAY_TICK);
    // After a pause, one tick, not the ones missed meanwhile.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Live, the clock moves without events: stale targets are judged on it a second after the
    // last picture (a picture sets the clock itself, so while pictures come it never fires).
    let mut clock_ticks = tokio::time::interval(Duration::from_secs(1));
    clock_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let wait = w.wait();
        let playing = w.playback.as_ref().is_some_and(|p| p.playing());
        tokio::select! {
            ev = next_event(&mut events) => match ev {
                Some(ev) => {
                    w.evidence_only &= !ev.is_capture();
                    w.hear(ev);
                }
                None => events = None,
            },
            Some(ev) = followed.recv() => w.hear(ev),
            _ = ticks.tick(), if playing => w.play_tick(),
            _ = clock_ticks.tick(), if w.playback.is_none() => {
                if w.core.set_now(crate::timefmt::now()) {
                    w.picture_now();
                }
            }
            order = orders.recv() => match order {
                Some(order) => w.order(order),
                // The loop has ended.
                None => return,
            },
            _ = tokio::time::sleep(wait), if w.pending.is_some() => {
                if pictures.send(Some(w.picture())).is_err() {
                    return;
                }
                clock_ticks.reset();
            }
        }
    }
}

/// The worker's state between events.
struct Worker {
    core: Core,
    playback: Option<Box<Playback>>,
    recorder: Recorder,
    heard: Heard,
    /// The family whose series pictures carry (the drill-down), if any.
    detail: Option<&'static str>,
    /// When the oldest event not yet in a picture arrived.
    pending: Option<Instant>,
    /// Whether no event not yet in a picture was a capture (all were route answers, trace or
    /// log bytes).
    evidence_only: bool,
    /// When the last picture was sent, and when a playing replay last moved.
    last_picture: Instant,
    last_tick: Instant,
    log: SharedLog,
    said: mpsc::UnboundedSender<Said>,
    followed: mpsc::Sender<Event>,
}

impl Worker {
    /// How long the pending picture still waits: a burst settles, and pictures of no
    /// capture come at most every [`EVIDENCE_EVERY`], or one and a half intervals (the next
    /// capture's picture has them first).
    fn wait(&self) -> Duration {
        let settled = self
            .pending
            .map_or(Duration::ZERO, |t| SETTLE.saturating_sub(t.elapsed()));
        if self.evidence_only && self.pending.is_some() {
            let every = self
                .core
                .model
                .interval
                .and_then(|i| Duration::try_from_secs_f64(1.5 * i).ok())
                .map_or(EVIDENCE_EVERY, |d| {
                    d.clamp(EVIDENCE_EVERY, EVIDENCE_AT_MOST)
                });
            settled.max(every.saturating_sub(self.last_picture.elapsed()))
        } else {
            settled
        }
    }

    /// A picture at once (a key asked for it, or the clock changed what it shows).
    fn picture_now(&mut self) {
        self.pending = Some(Instant::now() - SETTLE);
        self.evidence_only = false;
    }

    /// An event heard: counted, recorded for `e`, applied, and its log line written.
    fn hear(&mut self, ev: Event) {
        self.heard.scrapes += usize::from(matches!(ev, Event::Scrape { .. }));
        self.recorder.record(&ev);
        if let Some(line) = self.core.apply_live(ev)
            && let Ok(mut log) = self.log.lock()
            && let Some(log) = log.as_mut()
        {
            log.line(&line);
        }
        self.pending.get_or_insert_with(Instant::now);
    }

    /// A playing replay moves on by the time that passed.
    fn play_tick(&mut self) {
        let real = self.last_tick.elapsed().as_secs_f64();
        self.last_tick = Instant::now();
        if let Some(p) = self.playback.as_mut()
            && p.advance(&mut self.core, real)
        {
            self.picture_now();
        }
    }

    fn order(&mut self, order: Order) {
        match order {
            Order::Detail(d) => {
                self.detail = d;
                self.picture_now();
            }
            Order::Export(plan) => match &self.playback {
                None => export(
                    &mut self.core,
                    &mut self.recorder,
                    self.heard,
                    plan,
                    self.said.clone(),
                ),
                Some(_) => {
                    let _ = self.said.send(Said::Exported(Err(ExportError::Replay)));
                }
            },
            Order::Follow(offer) if self.playback.is_none() => self.follow(offer),
            Order::Follow(_) => {}
            Order::Play(c) => {
                if let Some(p) = self.playback.as_mut() {
                    p.control(&mut self.core, c);
                    self.last_tick = Instant::now();
                    self.picture_now();
                }
            }
        }
    }

    /// Follows the file a target's `/config` names, or says why not.
    fn follow(&mut self, offer: FollowOffer) {
        let f = crate::sources::follow::Follow {
            target: offer.target,
            stream: offer.stream,
            path: offer.path.into(),
        };
        let shown = f.path.display().to_string();
        let note = match crate::sources::follow::check(&f) {
            Ok(()) => {
                let every = crate::sources::follow::poll_every(self.core.model.interval);
                tokio::spawn(crate::sources::follow::follow(
                    f,
                    every,
                    self.followed.clone(),
                ));
                format!("following {shown}")
            }
            Err(e) => format!("cannot follow: {e}"),
        };
        let _ = self.said.send(Said::Note(note));
    }

    /// The picture of the model now; what was pending is in it.
    fn picture(&mut self) -> Shown {
        let now = self
            .playback
            .as_ref()
            .map_or_else(crate::timefmt::now, |p| p.status().now);
        self.core.set_now(now);
        if self.evidence_only {
            self.core.catch_up();
        }
        let mut shown = self.core.shown(self.detail);
        shown.replay = self.playback.as_ref().map(|p| p.status());
        self.pending = None;
        self.evidence_only = true;
        self.last_picture = Instant::now();
        shown
    }
}

/// What the session has heard, counted.
#[derive(Debug, Clone, Copy, Default)]
struct Heard {
    scrapes: usize,
}

/// The next event of a live feed; never, for a replay or once the collectors are gone.
async fn next_event(events: &mut Option<mpsc::Receiver<Event>>) -> Option<Event> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Takes what the recorder holds and the report of the model now, and writes the packet on a
/// thread of its own: pictures keep coming while it is compressed and written. What happened
/// (what was written, or why not) is said to the front end.
fn export(
    core: &mut Core,
    recorder: &mut Recorder,
    heard: Heard,
    plan: ExportPlan,
    said: mpsc::UnboundedSender<Said>,
) {
    // Only the compressed blocks are copied here; they are decoded on the export's thread.
    let snapshot = recorder.snapshot();
    let lost = recorder.lost;
    let targets: Vec<TargetEntry> = core
        .model
        .targets()
        .map(|(target, store)| TargetEntry::new(target, store.name.clone()))
        .collect();
    // Every moment judged; the report's own analysis, in the report's order, on the clock of
    // the newest event (not the wall clock): what a replay of the packet gives again.
    core.model.judge_pending(core.window());
    let wall = core.model.now.take();
    let report_json = crate::report::json(&core.model, core.window());
    core.model.now = wall;
    let interval = core.model.interval;
    let tell = said.clone();
    let written = std::thread::Builder::new()
        .name("kvscope-export".into())
        .spawn(move || {
            let result = write(&snapshot, plan, targets, report_json, interval).map(
                |(path, bytes, events)| Exported {
                    path,
                    events,
                    scrapes: heard.scrapes,
                    bytes,
                    lost,
                },
            );
            let _ = tell.send(Said::Exported(result));
        });
    if let Err(e) = written {
        let _ = said.send(Said::Exported(Err(ExportError::Thread(e))));
    }
}

/// Writes the recording (as far back as `plan` says) as a new packet: its path, size and
/// event count.
fn write(
    snapshot: &packet::Snapshot,
    plan: ExportPlan,
    targets: Vec<TargetEntry>,
    report_json: String,
    interval: Option<f64>,
) -> Result<(PathBuf, usize, usize), ExportError> {
    // Decoded one event at a time as the packet is built: the hour is never all in memory.
    let events = packet::Since {
        inner: snapshot,
        from: plan
            .last_seconds
            .and_then(|l| Some(snapshot.newest()? - l as f64)),
    };
    let created = crate::timefmt::now();
    let path = plan.file.unwrap_or_else(|| {
        plan.dir
            .join(packet::default_name(created, plan.redact_hosts))
    });
    let recording = Recording {
        targets,
        events: &events,
        report_json,
        created,
        redactions: packet::live_redactions(),
        attachments: Vec::new(),
        interval,
    };
    let (bytes, count) = recording.to_tar_redacting(plan.redact_hosts)?;
    packet::write_new(&path, &bytes)?;
    Ok((path, bytes.len(), count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    /// Exports of the demo's real recording: one into a directory, one into a directory that
    /// does not exist. Each says what happened; the failed one leaves nothing.
    #[test]
    fn an_export_says_where_it_went_or_why_not() {
        let model = Model::new(&["lmcache".into()], &["engine".into()], 64);
        let mut core = Core::new(model, 60.0);
        let mut recorder = Recorder::new(RECORDED);
        let (events, _) = crate::demo::recorded(31);
        for e in events {
            recorder.record(&e);
            core.apply(e);
        }
        let dir = std::env::temp_dir().join(format!("kvscope-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let plan = |dir: &std::path::Path, last_seconds| ExportPlan {
            dir: dir.to_path_buf(),
            file: None,
            last_seconds,
            redact_hosts: false,
        };
        let heard = Heard { scrapes: 33 };
        export(
            &mut core,
            &mut recorder,
            heard,
            plan(&dir, None),
            tx.clone(),
        );
        let said = rx.blocking_recv().unwrap().line();
        assert!(
            said.starts_with("export: wrote ") && said.contains("33 events"),
            "{said}"
        );
        let written: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(written.len(), 1);
        let missing = dir.join("not-there");
        export(
            &mut core,
            &mut recorder,
            heard,
            plan(&missing, None),
            tx.clone(),
        );
        let said = rx.blocking_recv().unwrap().line();
        assert!(said.starts_with("export failed: cannot write"), "{said}");
        assert!(!missing.exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "nothing left behind"
        );
        // The last minute only: the real recording's final minute holds fewer scrapes. Both
        // packets may land in the same second, so this one goes to a directory of its own.
        let minute = dir.join("minute");
        std::fs::create_dir_all(&minute).unwrap();
        export(&mut core, &mut recorder, heard, plan(&minute, Some(60)), tx);
        let said = rx.blocking_recv().unwrap().line();
        let path = std::fs::read_dir(&minute)
            .unwrap()
            .flatten()
            .next()
            .unwrap()
            .path();
        let (events, _) = packet::open(&path).unwrap().events();
        assert!(events.len() < 33 && !events.is_empty(), "{said}");
        let newest = events.iter().filter_map(Event::time).fold(0.0, f64::max);
        assert!(
            events
                .iter()
                .filter_map(Event::time)
                .all(|t| t >= newest - 60.0)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
