//! The packet commands: `export` (headless recording), `verify`, and `report --packet`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::live::{WatchArgs, runtime, spawn_collectors, target_urls};
use super::{EXIT_UNREACHABLE, Failure};
use crate::model::Model;
use crate::packet::{self, Recording, TargetEntry};
use crate::timefmt::{now, parse_duration, parse_rfc3339};
use crate::vocab::{Event, Role, TargetRef};

/// `verify` found the packet damaged or incomplete.
pub const EXIT_DAMAGED: i32 = 1;

/// A model holding a packet's events (up to `until`, when given), one target per entry.
pub fn model_of(
    targets: &[TargetEntry],
    events: &[Event],
    until: Option<f64>,
    limit: usize,
) -> Model {
    let names = |role: Role| -> Vec<String> {
        let mut of_role: Vec<&TargetEntry> =
            targets.iter().filter(|t| t.target.role == role).collect();
        of_role.sort_by_key(|t| t.target.index);
        of_role.iter().map(|t| t.url.clone()).collect()
    };
    let scrapes = |t: TargetRef| {
        events
            .iter()
            .filter(|e| matches!(e, Event::Scrape { target, .. } if *target == t))
            .count()
    };
    let history = targets.iter().map(|t| scrapes(t.target)).max();
    let mut model = Model::new(
        &names(Role::Lmcache),
        &names(Role::Engine),
        history.unwrap_or(0) + 1,
    );
    model.set_series_limit(limit);
    for e in events {
        if until.is_some_and(|u| e.time().is_some_and(|t| t > u)) {
            break;
        }
        // A body that does not parse counts as a failed scrape of its target, as it did live.
        let _ = model.apply(e.clone());
    }
    model
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

/// What a `PACKET` argument holds: a v1 packet, or a folder kvscope imports (a capture folder,
/// a peer packet folder).
pub struct Evidence {
    pub targets: Vec<TargetEntry>,
    pub events: Vec<Event>,
    /// Damage, and where a replay stops early.
    pub problems: Vec<String>,
    /// `packet`, `capture` or `peer packet`.
    pub layout: &'static str,
}

/// Reads a `PACKET` argument.
pub fn evidence(path: &Path) -> Result<Evidence, Failure> {
    match packet::open(path) {
        Ok(opened) => {
            let (events, stopped) = opened.events();
            let mut problems = opened.problems.clone();
            problems.extend(stopped);
            Ok(Evidence {
                targets: opened.manifest.targets,
                events,
                problems,
                layout: "packet",
            })
        }
        Err(e) if path.is_dir() && !path.join(packet::MANIFEST).exists() => {
            let i = crate::sources::capture::import(path)
                .map_err(|why| Failure::bad(format!("{why} ({e})")))?;
            let targets = i
                .targets
                .into_iter()
                .map(|(target, url)| TargetEntry {
                    key: packet::target_key(target),
                    target,
                    url,
                })
                .collect();
            Ok(Evidence {
                targets,
                events: i.events,
                problems: Vec::new(),
                layout: i.layout,
            })
        }
        Err(e) => Err(Failure::bad(e.to_string())),
    }
}

/// `report --packet PACKET [--at TIME]`: the model at the end (or at `at`), and each target's
/// kind of input. Damage is said on standard error; the intact prefix is still reported.
pub fn load(
    path: &Path,
    at: Option<&str>,
    limit: usize,
) -> Result<(Model, Vec<&'static str>), Failure> {
    let e = evidence(path)?;
    for why in &e.problems {
        eprintln!(
            "kvscope: {}: {}",
            path.display(),
            crate::sanitize::clean(why)
        );
    }
    let first = e.events.iter().filter_map(Event::time).reduce(f64::min);
    let until = at
        .map(|a| parse_at(a, first).map_err(|err| Failure::bad(format!("--at {a}: {err}"))))
        .transpose()?;
    let model = model_of(&e.targets, &e.events, until, limit);
    let kinds = e.targets.iter().map(|_| "packet").collect();
    Ok((model, kinds))
}

/// `import SRC --out FILE`: a capture folder, a peer packet folder (or a packet) written as a
/// v1 packet.
pub fn import(src: &Path, out: &Path, window: f64, limit: usize) -> Result<String, Failure> {
    let e = evidence(src)?;
    let model = model_of(&e.targets, &e.events, None, limit);
    let kinds: Vec<&str> = e.targets.iter().map(|_| "packet").collect();
    let recording = Recording {
        targets: e.targets.clone(),
        events: &e.events,
        report_json: crate::report::json(&model, window, &kinds),
        created: now(),
        redactions: vec![format!(
            "imported from a {} folder; /env not carried",
            e.layout
        )],
    };
    let bytes = recording
        .to_tar()
        .map_err(|why| Failure::bad(format!("{}: {why}", out.display())))?;
    packet::write_new(out, &bytes).map_err(Failure::bad)?;
    Ok(format!(
        "kvscope import: {} ({}) → {}: {} events, {} bytes\n",
        src.display(),
        e.layout,
        out.display(),
        e.events.len(),
        bytes.len()
    ))
}

/// `verify PACKET`: what to print, or the failure with its exit code (1 damaged or incomplete,
/// 2 not a packet).
pub fn verify(path: &Path) -> Result<String, Failure> {
    let opened = packet::open(path).map_err(|e| Failure::bad(e.to_string()))?;
    let (events, stopped) = opened.events();
    let shown = path.display();
    let mut problems = opened.problems.clone();
    problems.extend(stopped);
    if problems.is_empty() {
        let m = &opened.manifest;
        let span = m
            .span
            .as_ref()
            .map_or("no timed events".to_string(), |(a, b)| format!("{a} → {b}"));
        return Ok(format!(
            "{shown}: intact ({} v{}, {} members, {} events, {span})\n",
            m.format,
            m.version,
            m.members.len() + 1,
            events.len()
        ));
    }
    let mut message = format!(
        "{shown}: damaged or incomplete ({} events replay)",
        events.len()
    );
    for p in problems {
        message.push_str(&format!("\n  {}", crate::sanitize::clean(&p)));
    }
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

/// `export`: runs the live collectors (routes included) for the duration, then writes a packet.
/// Exit 3, with the packet written, when no target answered a single scrape.
pub fn export(args: &ExportArgs) -> Result<String, Failure> {
    let shown = args.out.display();
    if args.out.exists() {
        return Err(Failure::bad(format!(
            "{shown} exists; kvscope never overwrites a file"
        )));
    }
    let (lm, en) = target_urls(&args.watch)?;
    // The model is built as the events arrive, as `watch` builds it; its report goes into the
    // packet, and a replay of the packet must give the same report.
    let names = |urls: &[crate::sources::http::TargetUrl]| -> Vec<String> {
        urls.iter().map(|u| u.to_string()).collect()
    };
    let history = (3600.0 / args.watch.interval).ceil() as usize + 1;
    let mut model = Model::new(&names(&lm), &names(&en), history);
    model.set_series_limit(args.watch.series_limit);
    let events = runtime()?.block_on(async {
        let (tx, mut rx) = mpsc::channel(256);
        let limit = crate::expo::Limits::default().max_body_bytes;
        spawn_collectors(&args.watch, &lm, &en, limit, &tx)?;
        drop(tx);
        let mut events = Vec::new();
        let deadline = tokio::time::sleep(Duration::from_secs_f64(args.duration));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                e = rx.recv() => match e {
                    Some(e) => {
                        let _ = model.apply(e.clone());
                        events.push(e);
                    }
                    None => break,
                },
            }
        }
        Ok::<_, Failure>(events)
    })?;
    let entries = |role: Role, urls: &[crate::sources::http::TargetUrl]| {
        urls.iter()
            .enumerate()
            .map(|(index, u)| {
                let target = TargetRef { role, index };
                TargetEntry {
                    key: packet::target_key(target),
                    target,
                    url: u.to_string(),
                }
            })
            .collect::<Vec<_>>()
    };
    let mut targets = entries(Role::Lmcache, &lm);
    targets.extend(entries(Role::Engine, &en));
    write(&targets, &events, &model, args)
}

fn write(
    targets: &[TargetEntry],
    events: &[Event],
    model: &Model,
    args: &ExportArgs,
) -> Result<String, Failure> {
    let shown = args.out.display();
    let kinds: Vec<&str> = targets.iter().map(|_| "url").collect();
    let recording = Recording {
        targets: targets.to_vec(),
        events,
        report_json: crate::report::json(model, args.watch.window, &kinds),
        created: now(),
        redactions: vec![
            "target URLs: user names, passwords and secret-looking query values removed".into(),
            "/env: values redacted at the source (read only with --allow-env)".into(),
        ],
    };
    let bytes = recording
        .to_tar()
        .map_err(|e| Failure::bad(format!("{shown}: {e}")))?;
    packet::write_new(&args.out, &bytes).map_err(Failure::bad)?;
    let scrapes = events
        .iter()
        .filter(|e| matches!(e, Event::Scrape { .. }))
        .count();
    let said = format!(
        "kvscope export: {shown}: {} events ({scrapes} scrapes), {} bytes\n",
        events.len(),
        bytes.len()
    );
    if scrapes == 0 {
        return Err(Failure {
            code: EXIT_UNREACHABLE,
            message: format!("every target was unreachable throughout; {shown} holds the failures"),
        });
    }
    Ok(said)
}
