//! The packet commands: `export` (headless recording), `verify`, and `report --packet`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::session::{WatchArgs, runtime, spawn_collectors, target_urls};
use super::{EXIT_UNREACHABLE, Failure};
use crate::model::{Model, ModelSettings};
use crate::packet::{self, Attachment, EventSource, Opened, Recording, TargetEntry, Timeline};
use crate::session;
use crate::timefmt::{now, parse_duration, parse_rfc3339};
use crate::vocab::{Event, InputKind, Role};

/// `verify` found the packet damaged or incomplete.
pub const EXIT_DAMAGED: i32 = 1;

/// A model holding a packet's events (up to `until`, when given), one target per entry; and
/// why the events stop early, when they do. Bodies are decompressed one at a time. With
/// `judge` (window, thresholds) every rule is judged as of each capture moment (events at one
/// time together), its state changes kept in the model's verdicts. `limits`: series per scrape,
/// and distinct chunks the capacity curve follows exactly (`None`: the default).
pub fn model_of(
    targets: &[TargetEntry],
    timeline: &Timeline,
    until: Option<f64>,
    (limit, capacity_exact): (usize, Option<usize>),
    judge: Option<(f64, &crate::analysis::findings::Thresholds)>,
) -> (Model, Option<String>) {
    let headers = (0..timeline.len()).filter_map(|i| timeline.peek(i));
    let settings = ModelSettings {
        series_limit: limit,
        capacity_exact,
        thresholds: judge.map(|j| j.1.clone()).unwrap_or_default(),
        // The interval the recording was made at, as a replay of it judges by.
        interval: Some(timeline.interval()),
        kind: InputKind::Packet,
        ..ModelSettings::default()
    };
    let mut model = empty_model(targets, headers, settings);
    let mut cursor = timeline.cursor();
    let mut stopped = timeline.stop.clone();
    while let Some(next) = cursor.next(timeline) {
        match next {
            Ok(e) if until.is_some_and(|u| e.time().is_some_and(|t| t > u)) => break,
            // A body that does not parse counts as a failed scrape of its target, as it did
            // live.
            Ok(e) => drop(match judge {
                Some((window, _)) => model.apply_judged(e, window),
                None => model.apply(e),
            }),
            Err(why) => {
                stopped = Some(why);
                break;
            }
        }
    }
    if let Some((window, _)) = judge {
        model.judge_pending(window);
    }
    (model, stopped)
}

/// A model for a packet's targets, with history for every scrape among `events`.
pub fn empty_model<'a>(
    targets: &[TargetEntry],
    events: impl Iterator<Item = &'a Event>,
    settings: ModelSettings,
) -> Model {
    let history = history_of(targets, events);
    model_for(
        targets,
        &ModelSettings {
            history,
            ..settings
        },
    )
}

/// Scrapes of the target scraped most among `events`, and one more: history for all of them.
pub fn history_of<'a>(targets: &[TargetEntry], events: impl Iterator<Item = &'a Event>) -> usize {
    let mut scrapes = vec![0usize; targets.len()];
    for e in events {
        if let Event::Scrape { target, .. } = e
            && let Some(i) = targets.iter().position(|t| t.target == *target)
        {
            scrapes[i] += 1;
        }
    }
    scrapes.into_iter().max().unwrap_or(0) + 1
}

/// An empty model of `targets` (each role in its order), set up by `settings`.
pub fn model_for(targets: &[TargetEntry], settings: &ModelSettings) -> Model {
    let names = |role: Role| -> Vec<String> {
        let mut of_role: Vec<&TargetEntry> =
            targets.iter().filter(|t| t.target.role == role).collect();
        of_role.sort_by_key(|t| t.target.index);
        of_role.iter().map(|t| t.url.clone()).collect()
    };
    settings.build(&names(Role::Lmcache), &names(Role::Engine))
}

/// `--at`: RFC 3339, or `+90s` from the packet's first event.
pub fn parse_at(text: &str, first: Option<f64>) -> Result<f64, String> {
    match text.strip_prefix('+') {
        Some(offset) => {
            let start = first.ok_or("the packet has no timed event to count from")?;
            Ok(start + parse_duration(offset)?)
        }
        None => parse_rfc3339(text),
    }
}

/// What a `PACKET` argument holds, read as a packet: a v1 packet (file or folder) as it is, a
/// folder kvscope did not write (a capture folder, a peer packet folder) converted.
pub struct Evidence {
    pub opened: Opened,
    /// `packet`, `capture` or `peer packet`.
    pub layout: &'static str,
    /// The packet's bytes, when it was converted here.
    converted: Option<Vec<u8>>,
}

impl Evidence {
    /// Damage, where a replay stops early, and events skipped for targets the manifest does
    /// not list.
    pub fn problems(&self, timeline: &Timeline) -> Vec<String> {
        let mut problems = self.opened.problems.clone();
        problems.extend(timeline.problems());
        problems
    }

    /// Damage as `verify` judges it: [`Evidence::problems`] and every body decompressed once,
    /// to find where a replay would stop; and how many events replay.
    pub fn damage(&self, timeline: &Timeline) -> (Vec<String>, usize) {
        let mut cursor = timeline.cursor();
        let mut problems = self.opened.problems.clone();
        let mut replayed = 0;
        while let Some(next) = cursor.next(timeline) {
            match next {
                Ok(_) => replayed += 1,
                Err(why) => problems.push(why),
            }
        }
        problems.extend(timeline.problems());
        (problems, replayed)
    }
}

/// How long reading a packet or folder may take before kvscope gives up on it. Time is only
/// this watchdog: the caps are in bytes and entries, so results do not depend on the
/// machine's speed.
pub const WATCHDOG_SECONDS: u64 = 30;

/// Ends the process (exit 2, the input named) if it is still reading `what` after
/// [`WATCHDOG_SECONDS`] (`KVSCOPE_WATCHDOG_SECONDS` changes it); dropping it calls it off.
pub struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    pub fn start(what: &Path) -> Watchdog {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seconds, bad) = super::env_count("KVSCOPE_WATCHDOG_SECONDS", WATCHDOG_SECONDS);
        if let Some(why) = bad {
            eprintln!("kvscope: {why}");
        }
        let shown = crate::sanitize::clean(&what.display().to_string());
        let flag = done.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(seconds));
            if !flag.load(std::sync::atomic::Ordering::SeqCst) {
                eprintln!(
                    "kvscope: {shown}: still reading after {seconds} s, the most kvscope spends on an input (raise it with KVSCOPE_WATCHDOG_SECONDS)"
                );
                std::process::exit(super::EXIT_BAD_INPUT);
            }
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The packet caps, raised by their environment variables.
pub fn limits() -> Result<packet::Limits, Failure> {
    packet::Limits::from_vars(|name| std::env::var(name).ok()).map_err(Failure::bad)
}

/// Says on standard error what a packet's reading found: damage and skipped events.
pub fn say_problems(shown: &str, problems: &[String], timeline: &Timeline) {
    let shown = crate::sanitize::clean(shown);
    for why in problems.iter().chain(&timeline.notes()) {
        eprintln!("kvscope: {shown}: {}", crate::sanitize::clean(why));
    }
}

/// Reads a `PACKET` argument. A folder is converted without a `report.json` (nothing that
/// reads it here needs one).
pub fn evidence(path: &Path) -> Result<Evidence, Failure> {
    read(path, None)
}

/// [`evidence`]; a converted folder gets the report of `(window, series limit)` when asked.
fn read(path: &Path, report: Option<(f64, usize)>) -> Result<Evidence, Failure> {
    let limits = limits()?;
    match packet::open_with(path, &limits) {
        Ok(opened) => Ok(Evidence {
            opened,
            layout: "packet",
            converted: None,
        }),
        Err(e) if path.is_dir() && !path.join(packet::MANIFEST).exists() => {
            let (bytes, layout) =
                convert(path, report).map_err(|why| Failure::bad(format!("{why} ({e})")))?;
            let opened = packet::from_tar_with(&bytes, &limits)
                .map_err(|e| Failure::bad(format!("{}: {e}", path.display())))?;
            Ok(Evidence {
                opened,
                layout,
                converted: Some(bytes),
            })
        }
        Err(e) => Err(Failure::bad(e.to_string())),
    }
}

/// A folder kvscope did not write, as the bytes of a v1 packet, and its layout; with the
/// `report.json` of `(window, series limit)` when asked (`import`), else an empty one.
fn convert(dir: &Path, report: Option<(f64, usize)>) -> Result<(Vec<u8>, &'static str), String> {
    let mut i = crate::sources::capture::import(dir).map_err(|e| e.to_string())?;
    let targets: Vec<TargetEntry> = std::mem::take(&mut i.targets)
        .into_iter()
        .map(|(target, url)| TargetEntry::new(target, url))
        .collect();
    let mut redactions = vec![format!(
        "imported from a {} folder; /env not carried",
        i.layout
    )];
    redactions.extend(std::mem::take(&mut i.notes));
    let attachments = std::mem::take(&mut i.carried)
        .into_iter()
        .map(|(target, kind, name, bytes)| {
            let key = packet::target_key(target);
            Attachment {
                path: format!("targets/{key}/{name}"),
                kind,
                target: Some(key),
                bytes,
            }
        })
        .collect();
    let report_json = match report {
        None => "{}".to_string(),
        Some((window, limit)) => {
            let settings = ModelSettings {
                series_limit: limit,
                // As a replay of the packet judges.
                interval: Some(packet::interval_of(i.events.iter())),
                kind: InputKind::Packet,
                ..ModelSettings::default()
            };
            let mut model = empty_model(&targets, i.events.iter(), settings);
            i.each(&mut |e| {
                let _ = model.apply_judged(e, window);
                Ok(())
            })?;
            model.judge_pending(window);
            crate::report::json(&model, window)
        }
    };
    let recording = Recording {
        targets,
        events: &i,
        report_json,
        created: now(),
        redactions,
        attachments,
        interval: None,
    };
    Ok((recording.to_tar().map_err(|e| e.to_string())?, i.layout))
}

/// `report --packet PACKET [--at TIME]`: the model at the end (or at `at`), and each target's
/// kind of input. Damage is said on standard error; the intact prefix is still reported.
pub fn load(
    path: &Path,
    at: Option<&str>,
    limits: (usize, Option<usize>),
    judge: Option<(f64, &crate::analysis::findings::Thresholds)>,
) -> Result<Model, Failure> {
    let _watchdog = Watchdog::start(path);
    let e = evidence(path)?;
    let timeline = e.opened.timeline();
    let first = (0..timeline.len())
        .filter_map(|i| timeline.peek(i).and_then(Event::time))
        .reduce(f64::min);
    let until = at
        .map(|a| parse_at(a, first).map_err(|err| Failure::bad(format!("--at {a}: {err}"))))
        .transpose()?;
    let targets = &e.opened.manifest.targets;
    let (model, stopped) = model_of(targets, &timeline, until, limits, judge);
    let mut problems = e.opened.problems.clone();
    problems.extend(timeline.problems());
    // A body that stops the replay early (the timeline's own stop is among its problems).
    problems.extend(stopped.filter(|s| Some(s) != timeline.stop.as_ref()));
    say_problems(&path.display().to_string(), &problems, &timeline);
    Ok(model)
}

/// `import SRC --out FILE`: a capture folder or a peer packet folder converted to a v1 packet,
/// or an unpacked v1 packet packed into one file (its members unchanged); with `redact_hosts`,
/// rewritten with host pseudonyms.
pub fn import(
    src: &Path,
    out: &Path,
    window: f64,
    limit: usize,
    redact_hosts: bool,
) -> Result<String, Failure> {
    let _watchdog = Watchdog::start(src);
    let e = read(src, Some((window, limit)))?;
    let timeline = e.opened.timeline();
    let (problems, _) = e.damage(&timeline);
    if !problems.is_empty() {
        return Err(Failure::bad(format!(
            "{}: not imported: the packet is damaged or incomplete (kvscope verify says the same)\n{}",
            src.display(),
            problems.join("\n")
        )));
    }
    let bytes = match e.converted {
        _ if redact_hosts => redacted_copy(&e.opened),
        Some(bytes) => Ok(bytes),
        None => e.opened.to_tar(),
    }
    .map_err(|why| Failure::bad(format!("{}: {why}", out.display())))?;
    packet::write_new(out, &bytes).map_err(Failure::bad)?;
    Ok(format!(
        "kvscope import: {} ({}) → {}: {} events, {} bytes\n",
        src.display(),
        e.layout,
        out.display(),
        timeline.len(),
        bytes.len()
    ))
}

/// A packet rewritten with its hosts replaced by pseudonyms: events (as far as they are
/// whole), report and carried files.
fn redacted_copy(opened: &Opened) -> Result<Vec<u8>, String> {
    // The carried files are copied (and redacted) as members below, not as events; the
    // events are decompressed one at a time as the copy is built (import refuses a packet
    // that is not whole, so they all are).
    let events = Recorded(opened.recorded_timeline());
    let m = &opened.manifest;
    let redactions = m.redactions.clone();
    let attachments = m
        .members
        .iter()
        .filter_map(|x| {
            let kind = match x.kind.as_str() {
                "log" => "log",
                "trace" => "trace",
                "lookup_hashes" => "lookup_hashes",
                "otel" => "otel",
                _ => return None,
            };
            Some(Attachment {
                path: x.path.clone(),
                kind,
                target: x.target.clone(),
                bytes: opened.member(&x.path)?.to_vec(),
            })
        })
        .collect();
    let report = String::from_utf8_lossy(opened.report().unwrap_or(b"{}")).into_owned();
    Recording {
        targets: m.targets.clone(),
        events: &events,
        report_json: report,
        created: now(),
        redactions,
        attachments,
        interval: m.interval_seconds,
    }
    .to_tar_redacting(true)
    .map(|(bytes, _)| bytes)
    .map_err(|e| e.to_string())
}

/// A packet's recorded events as an [`EventSource`], bodies decompressed as they are handed
/// out; a body that cannot be restored ends it with an error.
struct Recorded(Timeline);

impl EventSource for Recorded {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        let mut cursor = self.0.cursor();
        while let Some(next) = cursor.next(&self.0) {
            f(next?)?;
        }
        Ok(())
    }
}

/// `verify PACKET`: what to print, or the failure with its exit code (1 damaged or incomplete,
/// 2 not a packet).
pub fn verify(path: &Path) -> Result<String, Failure> {
    let _watchdog = Watchdog::start(path);
    let opened = packet::open_with(path, &limits()?).map_err(|e| Failure::bad(e.to_string()))?;
    let e = Evidence {
        opened,
        layout: "packet",
        converted: None,
    };
    let timeline = e.opened.timeline();
    let (problems, replayed) = e.damage(&timeline);
    let shown = crate::sanitize::clean(&path.display().to_string());
    // Events of kinds this build does not know leave a packet intact: they are counted.
    let notes: String = timeline
        .notes()
        .iter()
        .map(|n| format!("\n  {}", crate::sanitize::clean(n)))
        .collect();
    if problems.is_empty() {
        let m = &e.opened.manifest;
        // The span of the events themselves: the manifest's is only what the writer said.
        let span = timeline
            .span()
            .map_or("no timed events".to_string(), |(a, b)| {
                let t = crate::timefmt::format_rfc3339;
                format!("{} → {}", t(a), t(b))
            });
        return Ok(format!(
            "{shown}: intact ({} v{}, {} members, {replayed} events, {span}){notes}\n",
            m.format,
            m.version,
            m.members.len() + 1,
        ));
    }
    let mut message = format!("{shown}: damaged or incomplete ({replayed} events replay)");
    for p in problems {
        message.push_str(&format!("\n  {}", crate::sanitize::clean(&p)));
    }
    message.push_str(&notes);
    Err(Failure {
        code: EXIT_DAMAGED,
        message,
    })
}

/// What `export` was asked to do.
pub struct ExportArgs {
    pub watch: WatchArgs,
    pub duration: f64,
    pub out: PathBuf,
}

/// `export`: a headless session, the collectors' (routes and followed files included), for
/// the duration; then the session writes its recording as `watch`'s `e` does. Exit 3, with the
/// packet written, when no target answered a single scrape.
pub fn export(args: &ExportArgs) -> Result<String, Failure> {
    let shown = args.out.display();
    if args.out.exists() {
        return Err(Failure::bad(format!(
            "{shown} exists; kvscope never overwrites a file"
        )));
    }
    let (lm, en) = target_urls(&args.watch)?;
    let names = |urls: &[crate::sources::http::TargetUrl]| -> Vec<String> {
        urls.iter().map(|u| u.to_string()).collect()
    };
    let model = ModelSettings::hour_at(args.watch.interval)
        .kind(InputKind::Url)
        .series_limit(args.watch.series_limit)
        .thresholds(args.watch.thresholds.clone())
        .build(&names(&lm), &names(&en));
    let limit = model.limits.max_body_bytes;
    let core = session::Core::new(model, args.watch.window);
    let exported = runtime()?.block_on(async {
        let (tx, rx) = mpsc::channel(256);
        spawn_collectors(&args.watch, &lm, &en, limit, &tx)?;
        drop(tx);
        // Recorded as `e` records: compressed in memory, so a long run costs a few MB.
        let log = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seconds = args.duration.max(session::RECORDED);
        let mut run = session::Session::recording(core, session::Feed::Live(rx), log, seconds)
            .map_err(|e| Failure::bad(format!("cannot start the session: {e}")))?;
        tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
        let plan = session::ExportPlan {
            file: Some(args.out.clone()),
            ..args.watch.export.clone()
        };
        let _ = run.orders.send(session::Order::Export(plan));
        while let Some(said) = run.said.recv().await {
            if let session::Said::Exported(result) = said {
                return result.map_err(|why| Failure::bad(format!("{shown}: {why}")));
            }
        }
        Err(Failure::bad(format!(
            "{shown}: the session ended before writing"
        )))
    })?;
    if exported.lost > 0 {
        eprintln!("kvscope: {} events could not be recorded", exported.lost);
    }
    let said = format!(
        "kvscope export: {shown}: {} events ({} scrapes), {} bytes\n",
        exported.events, exported.scrapes, exported.bytes
    );
    if exported.scrapes == 0 {
        return Err(Failure {
            code: EXIT_UNREACHABLE,
            message: format!("every target was unreachable throughout; {shown} holds the failures"),
        });
    }
    Ok(said)
}
