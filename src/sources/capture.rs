//! Saved evidence in layouts kvscope did not write, read as the events a live session would
//! have heard, so it replays and converts to a packet like a recording:
//!
//! - a capture folder: `metrics_index.tsv` (file and UTC time per `/metrics` scrape), the
//!   scrapes, and route answers in `http_idle/` (before the workload) and `http/` (after it),
//!   each as `<route>.json` or `.txt` with `<route>.status`;
//! - a peer packet folder: `*_metrics_loaded.prom` per side, and `fixture_manifest.json` whose
//!   `timestamp_utc` says when they were taken.

use std::path::{Path, PathBuf};

use crate::files::{FileError, Folder};
use crate::timefmt::parse_rfc3339;
use crate::vocab::{Event, Flavor, Role, Route, SkipReason, TargetRef};

/// The most a route answer file may hold.
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// A folder's evidence as events.
#[derive(Debug)]
pub struct Imported {
    /// Which layout it was: `capture` or `peer packet`.
    pub layout: &'static str,
    /// Each target and a name for it (the folder and file it came from).
    pub targets: Vec<(TargetRef, String)>,
    /// In time order. The scrapes of a capture index are here without their bodies: each is
    /// read from its file as the events are handed out ([`Imported::each`], the
    /// [`EventSource`](crate::packet::EventSource)), so a folder's scrapes are never all in
    /// memory at once (an index of 10,000 rows naming one 28 KB file would be 280 MB).
    pub events: Vec<Event>,
    /// For each event, the file its body is read from, when it is not in the event.
    files: Vec<Option<PathBuf>>,
    /// Files to carry byte for byte: the target, a kind (`trace`, `log`), the file's name and
    /// its bytes. A packet keeps them as members, and its reader gives them to the reducer as
    /// evidence events.
    pub carried: Vec<Carried>,
    /// What could not be carried, and why.
    pub notes: Vec<String>,
}

impl Imported {
    /// Every event with its body, in memory (small folders, tests).
    pub fn loaded(&self) -> Result<Vec<Event>, String> {
        use crate::packet::EventSource;
        let mut out = Vec::new();
        self.each(&mut |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }
}

impl crate::packet::EventSource for Imported {
    /// Each event in order, a scrape's body read from its file just before it is handed on.
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        for (e, file) in self.events.iter().zip(&self.files) {
            let mut e = e.clone();
            if let (Some(path), Event::Scrape { body, .. }) = (file, &mut e) {
                *body = super::read_file(path).map_err(|e| e.to_string())?;
            }
            f(e)?;
        }
        Ok(())
    }
}

/// The largest trace or log file carried.
const MAX_CARRIED_BYTES: u64 = 256 << 20;

/// A capture's storage trace, server log and lookup-hash log, when there: carried, or named in `notes` when
/// too large. One that links out of the folder, or is not a regular file, is an error: a
/// folder from elsewhere must not carry other files of this machine into a packet.
fn carried(folder: &Folder, notes: &mut Vec<String>) -> Result<Vec<Carried>, FileError> {
    let mut out = Vec::new();
    for (name, kind) in [("run.lct", "trace"), ("server.log", "log")] {
        if !folder.has(name) {
            continue;
        }
        match folder.read(name, MAX_CARRIED_BYTES) {
            Ok(bytes) => out.push((LMCACHE, kind, name.to_string(), bytes)),
            Err(why @ FileError::TooLarge { .. }) => {
                notes.push(format!("{name} not carried: {why}"))
            }
            Err(why) => return Err(why),
        }
    }
    let sub = if folder.has("lookup_hashes") {
        Some(Folder::open(&folder.resolve("lookup_hashes")?)?)
    } else {
        None
    };
    if let Some(log) = sub.map(|s| lookup_hashes(&s, notes)).transpose()?.flatten() {
        out.push((
            LMCACHE,
            "lookup_hashes",
            "lookup_hashes.jsonl".to_string(),
            log,
        ));
    }
    Ok(out)
}

/// The `lookup_hashes_*.jsonl` files in `sub` (LMCache's `--lookup-hash-log-dir`) in name
/// order (their rotation's order), as one log.
fn lookup_hashes(sub: &Folder, notes: &mut Vec<String>) -> Result<Option<Vec<u8>>, FileError> {
    const SUB: &str = "lookup_hashes";
    let mut log = Vec::new();
    for name in sub.names(MAX_ENTRIES)? {
        if !(name.starts_with("lookup_hashes_") && name.ends_with(".jsonl")) {
            continue;
        }
        let room = MAX_CARRIED_BYTES.saturating_sub(log.len() as u64);
        match sub.read(&name, room) {
            Ok(bytes) => {
                log.extend_from_slice(&bytes);
                if !log.ends_with(b"\n") && !log.is_empty() {
                    log.push(b'\n');
                }
            }
            Err(why @ FileError::TooLarge { .. }) => {
                notes.push(format!("{SUB}/{name} and what follows not carried: {why}"));
                break;
            }
            Err(why) => return Err(why),
        }
    }
    Ok((!log.is_empty()).then_some(log))
}

/// A file carried byte for byte: its target, kind, name and bytes.
type Carried = (TargetRef, &'static str, String, Vec<u8>);

/// Why a folder cannot be imported. Each names the folder or the file in it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "{} is not a packet, a capture folder (metrics_index.tsv) or a peer packet folder (*_metrics_loaded.prom)",
        dir.display()
    )]
    NotEvidence { dir: PathBuf },
    #[error(transparent)]
    Index(#[from] super::IndexError),
    #[error("{}: the index gives no capture times", dir.display())]
    NoTimes { dir: PathBuf },
    /// A scrape or route answer the folder names.
    #[error(transparent)]
    File(#[from] FileError),
    /// A peer manifest that is not JSON, or whose time does not parse.
    #[error("{}{problem}", path.display())]
    Manifest { path: PathBuf, problem: String },
}

/// Reads a capture folder or a peer packet folder.
pub fn import(dir: &Path) -> Result<Imported, ImportError> {
    let folder = Folder::open(dir)?;
    if folder.has("metrics_index.tsv") {
        return capture(dir, &folder);
    }
    let names = folder.names(MAX_ENTRIES)?;
    if names.iter().any(|n| n.ends_with(PEER_SUFFIX)) {
        return peer_packet(&folder, names);
    }
    Err(ImportError::NotEvidence {
        dir: dir.to_path_buf(),
    })
}

/// A peer folder's scrapes end so.
const PEER_SUFFIX: &str = "_metrics_loaded.prom";
/// The most entries of a peer folder looked at.
const MAX_ENTRIES: usize = 10_000;

const LMCACHE: TargetRef = TargetRef {
    role: Role::Lmcache,
    index: 0,
};

fn capture(dir: &Path, folder: &Folder) -> Result<Imported, ImportError> {
    // The index itself must be the folder's own (its rows are confined to the folder).
    folder.resolve("metrics_index.tsv")?;
    let index = super::read_index(&dir.join("metrics_index.tsv"))?;
    let times: Vec<f64> = index.iter().filter_map(|(_, t)| *t).collect();
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return Err(ImportError::NoTimes {
            dir: dir.to_path_buf(),
        });
    };
    let (mut events, mut files) = (Vec::new(), Vec::new());
    for (n, (path, time)) in index.iter().enumerate() {
        // Checked now (a regular file that opens), read when handed out.
        crate::files::open(path, crate::files::Kind::Regular)?;
        events.push(Event::Scrape {
            target: LMCACHE,
            time: *time,
            body: Vec::new(),
            format: None,
            origin: path.display().to_string(),
        });
        files.push(Some(path.clone()));
        // The idle answers were read before the workload, the others after it.
        if n == 0 {
            let idle = route_answers(folder, "http_idle", first, false)?;
            files.extend(idle.iter().map(|_| None));
            events.extend(idle);
        }
    }
    let after = route_answers(folder, "http", last, true)?;
    files.extend(after.iter().map(|_| None));
    events.extend(after);
    let mut notes = Vec::new();
    let carried = carried(folder, &mut notes)?;
    Ok(Imported {
        layout: "capture",
        targets: vec![(LMCACHE, dir.join("metrics_index.tsv").display().to_string())],
        events,
        files,
        carried,
        notes,
    })
}

/// The answers a folder holds for the routes kvscope reads, stamped `time`. `/env` is not
/// carried (a live session reads it only with `--allow-env`). A route with no file there was
/// not offered when the folder is the full set (`complete`); otherwise it was not read then.
fn route_answers(
    folder: &Folder,
    sub: &str,
    time: f64,
    complete: bool,
) -> Result<Vec<Event>, FileError> {
    if !folder.has(sub) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let polled = Route::ALL.into_iter().filter(|r| *r != Route::OpenApi);
    for route in polled {
        let flavor = Flavor::Current;
        if route == Route::Env {
            out.push(Event::RouteSkipped {
                target: LMCACHE,
                route,
                flavor,
                time,
                reason: SkipReason::NeedsAllowEnv,
            });
            continue;
        }
        let stem = route.path(flavor).trim_start_matches('/').replace('/', "_");
        let status_file = format!("{sub}/{stem}.status");
        let status = if folder.has(&status_file) {
            let text = folder.read(&status_file, 64)?;
            String::from_utf8_lossy(&text).trim().parse::<u16>().ok()
        } else {
            None
        };
        let body = ["json", "txt"]
            .iter()
            .map(|ext| format!("{sub}/{stem}.{ext}"))
            .find(|p| folder.has(p));
        let event = match (status, body) {
            (Some(status), Some(path)) => {
                let body = folder.read(&path, MAX_ANSWER_BYTES)?;
                Event::Route {
                    target: LMCACHE,
                    route,
                    flavor,
                    time,
                    result: Ok((status, body)),
                }
            }
            _ if complete => Event::RouteSkipped {
                target: LMCACHE,
                route,
                flavor,
                time,
                reason: SkipReason::NotOffered,
            },
            _ => continue,
        };
        out.push(event);
    }
    Ok(out)
}

/// When a peer packet's scrapes were taken: `fixture_manifest.json`'s `timestamp_utc`, else
/// `packet_manifest.json`'s `generated_at` (when the packet was put together, minutes later at
/// most); `None` when neither says.
fn peer_time(folder: &Folder) -> Result<Option<f64>, ImportError> {
    for (name, field) in [
        ("fixture_manifest.json", "timestamp_utc"),
        ("packet_manifest.json", "generated_at"),
    ] {
        let path = folder.shown(name);
        if !folder.has(name) {
            continue;
        }
        let text = folder.read_text(name, 4 << 20)?;
        let manifest = |problem| ImportError::Manifest {
            path: path.clone(),
            problem,
        };
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| manifest(format!(": {e}")))?;
        if let Some(t) = v[field].as_str() {
            return parse_rfc3339(t)
                .map(Some)
                .map_err(|e| manifest(format!(" {field}: {e}")));
        }
    }
    Ok(None)
}

fn peer_packet(folder: &Folder, names: Vec<String>) -> Result<Imported, ImportError> {
    let time = peer_time(folder)?;
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| n.ends_with(PEER_SUFFIX))
        .collect();
    let (mut targets, mut events) = (Vec::new(), Vec::new());
    let mut counts = [0usize; 2];
    for name in names {
        let role = if name.starts_with("lmcache") {
            Role::Lmcache
        } else {
            Role::Engine
        };
        let slot = &mut counts[usize::from(role == Role::Engine)];
        let target = TargetRef { role, index: *slot };
        *slot += 1;
        let path = folder.shown(&name);
        targets.push((target, path.display().to_string()));
        events.push(Event::Scrape {
            target,
            time,
            body: folder.read(&name, super::MAX_FILE_BYTES)?,
            format: None,
            origin: path.display().to_string(),
        });
    }
    // LMCache targets first, as everywhere.
    targets.sort_by_key(|(t, _)| (t.role == Role::Engine, t.index));
    let files = events.iter().map(|_| None).collect();
    let mut notes = Vec::new();
    let carried = peer_carried(folder, &mut notes)?;
    Ok(Imported {
        layout: "peer packet",
        targets,
        events,
        files,
        carried,
        notes,
    })
}

/// The raw evidence a peer folder holds beside its scrapes, carried as the matching flags
/// would read it: its `lookup_hashes_*.jsonl` (`--lookup-hashes`), OpenTelemetry span exports
/// (`--otel`: a `.jsonl` or `.json` that begins with spans, in any shape `--otel` reads) and LMCache logs
/// (`--server-log`: `lmcache*.log`). The peer's own summaries of them (`*_evidence.json`) are
/// its conclusions, not evidence, and stay out.
fn peer_carried(folder: &Folder, notes: &mut Vec<String>) -> Result<Vec<Carried>, FileError> {
    let mut out = Vec::new();
    if let Some(log) = lookup_hashes(folder, notes)? {
        out.push((
            LMCACHE,
            "lookup_hashes",
            "lookup_hashes.jsonl".to_string(),
            log,
        ));
    }
    for name in folder.names(MAX_ENTRIES)? {
        let kind = if name.starts_with("lmcache") && name.ends_with(".log") {
            "log"
        } else if (name.ends_with(".jsonl") || name.ends_with(".json"))
            && !name.starts_with("lookup_hashes_")
        {
            "otel"
        } else {
            continue;
        };
        let bytes = match folder.read(&name, MAX_CARRIED_BYTES) {
            Ok(bytes) => bytes,
            Err(why @ FileError::TooLarge { .. }) => {
                notes.push(format!("{name} not carried: {why}"));
                continue;
            }
            Err(why) => return Err(why),
        };
        if kind == "otel" && !crate::evidence::spans::Spans::holds_spans(&bytes) {
            continue;
        }
        out.push((LMCACHE, kind, name, bytes));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(rel)
    }

    #[test]
    fn the_real_capture_is_its_32_scrapes_and_the_routes_read_before_and_after() {
        let i = import(&fixture("lmcache-0.5.6-cpu-run1")).unwrap();
        assert_eq!(i.layout, "capture");
        let scrapes = i
            .events
            .iter()
            .filter(|e| matches!(e, Event::Scrape { .. }));
        assert_eq!(scrapes.count(), 32);
        let answered: Vec<(Route, f64)> = i
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Route {
                    route,
                    time,
                    result: Ok((200, _)),
                    ..
                } => Some((*route, *time)),
                _ => None,
            })
            .collect();
        // Before and after the workload: health, status, periodic health, version, config, threads.
        assert!(answered.len() >= 10, "{answered:?}");
        let times: Vec<f64> = i.events.iter().filter_map(Event::time).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "events in time order"
        );
        assert!(i.events.iter().any(|e| matches!(
            e,
            Event::RouteSkipped {
                route: Route::Env,
                reason: SkipReason::NeedsAllowEnv,
                ..
            }
        )));
    }

    /// Hand-made: packet_a's two real scrapes in a folder whose only manifest is the peer's
    /// `packet_manifest.json`, reduced to the field that dates it.
    #[test]
    fn a_peer_packet_manifest_alone_dates_the_scrapes() {
        let dir = std::env::temp_dir().join(format!("kvscope-peer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["lmcache_metrics_loaded.prom", "vllm_metrics_loaded.prom"] {
            std::fs::copy(fixture("packet_a").join(f), dir.join(f)).unwrap();
        }
        std::fs::write(
            dir.join("packet_manifest.json"),
            r#"{"generated_at": "2026-05-07T23:05:42Z", "schema_version": "inferguard-lmcache-packet/v1"}"#,
        )
        .unwrap();
        let i = import(&dir).unwrap();
        let want = parse_rfc3339("2026-05-07T23:05:42Z").unwrap();
        assert!(i.events.iter().all(|e| e.time() == Some(want)));
        std::fs::write(
            dir.join("packet_manifest.json"),
            r#"{"generated_at": "soon"}"#,
        )
        .unwrap();
        let e = import(&dir).unwrap_err();
        assert!(matches!(e, ImportError::Manifest { .. }), "{e:?}");
        assert!(e.to_string().contains("generated_at"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_peer_packet_is_one_lmcache_and_one_engine_scrape_at_its_time() {
        let i = import(&fixture("packet_a")).unwrap();
        assert_eq!(i.layout, "peer packet");
        let roles: Vec<Role> = i.targets.iter().map(|t| t.0.role).collect();
        assert_eq!(roles, [Role::Lmcache, Role::Engine]);
        let t = parse_rfc3339("2026-05-07T23:00:57Z").unwrap();
        assert!(i.events.iter().all(|e| e.time() == Some(t)));
    }

    /// The peer's hand-made failure-mode folder (its hashes redacted by the peer): its
    /// lookup-hash log is carried as `--lookup-hashes` would read it; its summary of its logs
    /// (`lmcache_log_evidence.json`, the peer's conclusions) is not, nor the scrapes twice.
    #[test]
    fn a_peer_folder_carries_its_lookup_hash_log_and_not_its_summaries() {
        let i = import(&fixture("packet_a_missing_prometheus")).unwrap();
        assert_eq!(i.layout, "peer packet");
        let kinds: Vec<(&str, &str)> = i
            .carried
            .iter()
            .map(|(_, kind, name, _)| (*kind, name.as_str()))
            .collect();
        assert_eq!(kinds, [("lookup_hashes", "lookup_hashes.jsonl")]);
        let log = std::fs::read(fixture(
            "packet_a_missing_prometheus/lookup_hashes_000.jsonl",
        ));
        assert_eq!(i.carried[0].3, log.unwrap());
    }

    #[test]
    fn another_folder_is_refused_naming_it() {
        let e = import(&fixture("engine-samples")).unwrap_err();
        assert!(matches!(e, ImportError::NotEvidence { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains("engine-samples") && e.contains("not a packet"),
            "{e}"
        );
    }
}
