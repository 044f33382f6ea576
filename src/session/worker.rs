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
use crate::vocab::{Event, InputKind};

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
    pub dir: PathBuf,
    /// Only the last this many seconds, or all that is recorded.
    pub last_seconds: Option<u64>,
    /// Host names and addresses replaced by pseudonyms.
    pub redact_hosts: bool,
}

impl Default for ExportPlan {
    fn default() -> Self {
        ExportPlan {
            dir: PathBuf::from("."),
            last_seconds: None,
            redact_hosts: false,
        }
    }
}

/// Seconds of events the recorder keeps: the store's hour.
const RECORDED: f64 = 3600.0;

/// Starts the worker on a thread of its own, with a runtime of its own for its timers.
pub(super) fn spawn(
    core: Core,
    feed: Feed,
    orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
    said: mpsc::UnboundedSender<String>,
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    std::thread::Builder::new()
        .name("kvscope-core".into())
        .spawn(move || rt.block_on(work(core, feed, orders, pictures, log, said)))?;
    Ok(())
}

async fn work(
    mut core: Core,
    feed: Feed,
    mut orders: mpsc::UnboundedReceiver<Order>,
    pictures: watch::Sender<Option<Shown>>,
    log: SharedLog,
    said: mpsc::UnboundedSender<String>,
) {
    let (mut events, mut playback) = match feed {
        Feed::Live(rx) => (Some(rx), None),
        Feed::Replay(p) => (None, Some(p)),
    };
    let mut recorder = Recorder::new(RECORDED);
    let mut detail = None;
    // When the oldest event not yet in a picture arrived.
    let mut pending: Option<Instant> = None;
    // A picture at once (a key asked for it).
    let now = || Some(Instant::now() - SETTLE);
    let mut ticks = tokio::time::interval(PLAY_TICK);
    // After a pause, one tick, not the ones missed meanwhile.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();
    // Live, the clock moves without events: stale targets are judged on it each second.
    let mut clock_ticks = tokio::time::interval(Duration::from_secs(1));
    clock_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Files followed on request (`Order::Follow`) send here; heard like the collectors.
    let (followed_tx, mut followed) = mpsc::channel::<Event>(64);
    loop {
        let wait = pending.map_or(Duration::ZERO, |t| SETTLE.saturating_sub(t.elapsed()));
        let playing = playback.as_ref().is_some_and(|p| p.playing());
        tokio::select! {
            ev = next_event(&mut events) => match ev {
                Some(ev) => {
                    hear(ev, &mut recorder, &mut core, &log);
                    pending.get_or_insert_with(Instant::now);
                }
                None => events = None,
            },
            Some(ev) = followed.recv() => {
                hear(ev, &mut recorder, &mut core, &log);
                pending.get_or_insert_with(Instant::now);
            }
            _ = ticks.tick(), if playing => {
                let real = last_tick.elapsed().as_secs_f64();
                last_tick = Instant::now();
                if let Some(p) = playback.as_mut() && p.advance(&mut core, real) {
                    pending = now();
                }
            }
            _ = clock_ticks.tick(), if playback.is_none() => {
                if core.set_now(crate::timefmt::now()) {
                    pending = now();
                }
            }
            order = orders.recv() => match order {
                Some(Order::Detail(d)) => {
                    detail = d;
                    pending = now();
                }
                Some(Order::Export(plan)) => match &playback {
                    None => export(&mut core, &mut recorder, plan, said.clone()),
                    Some(_) => {
                        let _ = said.send(
                            "export: a replay writes nothing; the packet it plays is the evidence"
                                .into(),
                        );
                    }
                },
                Some(Order::Follow(offer)) if playback.is_none() => {
                    let f = crate::sources::follow::Follow {
                        target: offer.target,
                        stream: crate::vocab::Stream::Trace,
                        path: offer.path.into(),
                    };
                    let shown = f.path.display().to_string();
                    match crate::sources::follow::check(&f) {
                        Ok(()) => {
                            tokio::spawn(crate::sources::follow::follow(f, followed_tx.clone()));
                            let _ = said.send(format!("following {shown}"));
                        }
                        Err(e) => {
                            let _ = said.send(format!("cannot follow: {e}"));
                        }
                    }
                }
                Some(Order::Follow(_)) => {}
                Some(Order::Play(c)) => {
                    if let Some(p) = playback.as_mut() {
                        p.control(&mut core, c);
                        last_tick = Instant::now();
                        pending = now();
                    }
                }
                // The loop has ended.
                None => return,
            },
            _ = tokio::time::sleep(wait), if pending.is_some() => {
                core.set_now(
                    playback
                        .as_ref()
                        .map_or_else(crate::timefmt::now, |p| p.status().now),
                );
                let mut shown = core.shown(detail);
                shown.replay = playback.as_ref().map(|p| p.status());
                if pictures.send(Some(shown)).is_err() {
                    return;
                }
                pending = None;
            }
        }
    }
}

/// An event heard: recorded for `e`, applied, and its log line written.
fn hear(ev: Event, recorder: &mut Recorder, core: &mut Core, log: &SharedLog) {
    recorder.record(&ev);
    if let Some(line) = core.apply(ev)
        && let Ok(mut log) = log.lock()
        && let Some(log) = log.as_mut()
    {
        log.line(&line);
    }
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
/// (the path, or why not) is sent to the loop.
fn export(
    core: &mut Core,
    recorder: &mut Recorder,
    plan: ExportPlan,
    said: mpsc::UnboundedSender<String>,
) {
    // Only the compressed blocks are copied here; they are decoded on the export's thread.
    let snapshot = recorder.snapshot();
    let last_seconds = plan.last_seconds;
    let (dir, redact) = (plan.dir, plan.redact_hosts);
    let lost = recorder.lost;
    let targets: Vec<TargetEntry> = core
        .model
        .targets()
        .map(|(target, store)| TargetEntry::new(target, store.name.clone()))
        .collect();
    let kinds: Vec<InputKind> = targets.iter().map(|_| InputKind::Url).collect();
    // The analysis the pictures use is reused: only the report is made here.
    let analysis = core.analysis();
    let report_json = crate::report::json_of(&core.model, &analysis, core.window(), &kinds);
    let interval = core.model.interval;
    let tell = said.clone();
    let written = std::thread::Builder::new()
        .name("kvscope-export".into())
        .spawn(move || {
            // Decoded one event at a time as the packet is built: the hour is never all in
            // memory at once.
            let events = packet::Since {
                inner: &snapshot,
                from: last_seconds.and_then(|l| Some(snapshot.newest()? - l as f64)),
            };
            let created = crate::timefmt::now();
            let path = dir.join(packet::default_name(created));
            let recording = Recording {
                targets,
                events: &events,
                report_json,
                created,
                redactions: packet::live_redactions(),
                attachments: Vec::new(),
                interval,
            };
            let result = recording
                .to_tar_redacting(redact)
                .and_then(|(bytes, count)| {
                    packet::write_new(&path, &bytes).map(|()| (bytes.len(), count))
                });
            let lost = if lost > 0 {
                format!("; {lost} events could not be recorded")
            } else {
                String::new()
            };
            let _ = tell.send(match result {
                Ok((bytes, count)) => format!(
                    "export: wrote {} ({count} events, {} KiB){lost}",
                    path.display(),
                    bytes / 1024
                ),
                Err(why) => format!("export failed: {why}"),
            });
        });
    if let Err(e) = written {
        let _ = said.send(format!("export failed: cannot start its thread: {e}"));
    }
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
            last_seconds,
            redact_hosts: false,
        };
        export(&mut core, &mut recorder, plan(&dir, None), tx.clone());
        let said = rx.blocking_recv().unwrap();
        assert!(
            said.starts_with("export: wrote ") && said.contains("33 events"),
            "{said}"
        );
        let written: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(written.len(), 1);
        let missing = dir.join("not-there");
        export(&mut core, &mut recorder, plan(&missing, None), tx.clone());
        let said = rx.blocking_recv().unwrap();
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
        export(&mut core, &mut recorder, plan(&minute, Some(60)), tx);
        let said = rx.blocking_recv().unwrap();
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
