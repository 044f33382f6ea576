//! Writing a packet: the members are built in memory and hashed, the manifest goes first, and
//! the file is written to a temporary sibling that is linked into place, so a packet is either
//! whole under its name or absent, and an existing file is never replaced.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{
    BodyRef, Line, MANIFEST, Manifest, Member, REPORT, Skipped, TIMELINE, TargetEntry, bodies_path,
    sha256_hex, target_key,
};
use crate::timefmt::format_rfc3339;
use crate::vocab::Event;

/// zstd level for body streams and the timeline: level 3 keeps a hundred near-identical 51 KB
/// scrapes near 6 KB at a small cost in time.
const LEVEL: i32 = 3;

/// Why a packet was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A file has the name already: kvscope never replaces one.
    #[error("{} exists; kvscope never overwrites a file", .0.display())]
    Exists(PathBuf),
    /// The file could not be written (the temporary sibling or the link into place).
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The packet's bytes could not be made: an event naming no listed target, or its
    /// compression or encoding failing.
    #[error("{0}")]
    Build(String),
}

/// Events handed out one at a time, in arrival order: a list in memory, or a recorder's
/// compressed blocks decoded as they go (an hour is never all in memory at once).
pub trait EventSource {
    /// Calls `f` with each event in order; stops at the first error and returns it.
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String>;
}

impl EventSource for [Event] {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        self.iter().try_for_each(|e| f(e.clone()))
    }
}

impl EventSource for Vec<Event> {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        self.as_slice().each(f)
    }
}

/// The events of `inner` from time `from` on (untimed ones stay: nothing says they are older).
pub struct Since<'a> {
    pub inner: &'a dyn EventSource,
    pub from: Option<f64>,
}

impl EventSource for Since<'_> {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        self.inner.each(&mut |e| match (self.from, e.time()) {
            (Some(from), Some(t)) if t < from => Ok(()),
            _ => f(e),
        })
    }
}

/// Members as paths and bytes, in file order.
pub type Members = Vec<(String, Vec<u8>)>;

/// What a packet holds.
pub struct Recording<'a> {
    pub targets: Vec<TargetEntry>,
    /// Every event, in arrival order.
    pub events: &'a dyn EventSource,
    /// The headless report at export time (JSON).
    pub report_json: String,
    /// Seconds since the epoch.
    pub created: f64,
    pub redactions: Vec<String>,
    /// Files carried as they are (a storage trace, a server log), after the body streams.
    pub attachments: Vec<Attachment>,
    /// The interval the targets were polled at, when known: a replay judges by it.
    pub interval: Option<f64>,
}

/// A file carried in a packet byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub struct Attachment {
    /// Its member path, e.g. `targets/lmcache-0/run.lct`.
    pub path: String,
    /// `trace`, `log`.
    pub kind: &'static str,
    /// The target it belongs to, when one.
    pub target: Option<String>,
    pub bytes: Vec<u8>,
}

impl<'a> Recording<'a> {
    /// Just targets and events: no report, nothing redacted or carried, created at 0 (tests,
    /// benchmarks, examples).
    pub fn plain(targets: Vec<TargetEntry>, events: &'a dyn EventSource) -> Recording<'a> {
        Recording {
            targets,
            events,
            report_json: "{}".into(),
            created: 0.0,
            redactions: Vec::new(),
            attachments: Vec::new(),
            interval: None,
        }
    }

    /// The members in file order, `manifest.json` first.
    pub fn members(&self) -> Result<Members, WriteError> {
        self.built().map(|(members, _)| members)
    }

    /// The members, and how many events went in.
    fn built(&self) -> Result<(Members, usize), WriteError> {
        self.build().map_err(WriteError::Build)
    }

    fn build(&self) -> Result<(Members, usize), String> {
        let mut streams: Vec<(String, zstd::Encoder<'static, Vec<u8>>, u64)> = Vec::new();
        for t in &self.targets {
            let enc = zstd::Encoder::new(Vec::new(), LEVEL).map_err(|e| e.to_string())?;
            streams.push((t.key.clone(), enc, 0));
        }
        let mut timeline = zstd::Encoder::new(Vec::new(), LEVEL).map_err(|e| e.to_string())?;
        let mut timeline_raw = 0u64;
        let mut skipped = Vec::new();
        let (mut count, mut span) = (0usize, None::<(f64, f64)>);
        let mut scrub = super::tokens::Scrub::default(); // prompt token ids never travel
        self.events.each(&mut |mut event| {
            count += 1;
            scrub.event(&mut event);
            if let Some(t) = event.time() {
                span = Some(span.map_or((t, t), |(lo, hi)| (lo.min(t), hi.max(t))));
            }
            let key = target_key(event.target());
            let (event, body) = take_body(event);
            let stored = match body {
                Some(bytes) => {
                    let s = streams
                        .iter_mut()
                        .find(|s| s.0 == key)
                        .ok_or_else(|| format!("an event names target {key}, not in the list"))?;
                    s.1.write_all(&bytes).map_err(|e| e.to_string())?;
                    let at = BodyRef {
                        offset: s.2,
                        len: bytes.len() as u64,
                    };
                    s.2 += at.len;
                    Some(at)
                }
                None => None,
            };
            note_skipped(&mut skipped, &event, &key);
            let line = serde_json::to_string(&Line {
                event,
                stored,
                carried: false,
            })
            .map_err(|e| e.to_string())?;
            timeline_raw += line.len() as u64 + 1;
            timeline
                .write_all(line.as_bytes())
                .map_err(|e| e.to_string())?;
            timeline.write_all(b"\n").map_err(|e| e.to_string())
        })?;
        let mut members = vec![(
            TIMELINE.to_string(),
            "timeline",
            None,
            finish(timeline)?,
            Some(timeline_raw),
        )];
        for (key, enc, raw) in streams {
            members.push((
                bodies_path(&key),
                "bodies",
                Some(key),
                finish(enc)?,
                Some(raw),
            ));
        }
        for a in &self.attachments {
            let copy = scrub.file(a.kind, &a.bytes);
            members.push((a.path.clone(), a.kind, a.target.clone(), copy, None));
        }
        let report = self.report_json.clone().into_bytes();
        members.push((REPORT.to_string(), "report", None, report, None));
        let manifest = self.manifest(&members, span, skipped, scrub.note());
        let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
        let mut out = vec![(MANIFEST.to_string(), manifest)];
        out.extend(
            members
                .into_iter()
                .map(|(path, _, _, bytes, _)| (path, bytes)),
        );
        Ok((out, count))
    }

    /// The packet as the bytes of a plain tar.
    pub fn to_tar(&self) -> Result<Vec<u8>, WriteError> {
        self.to_tar_counted().map(|(bytes, _)| bytes)
    }

    /// The packet as the bytes of a plain tar, and how many events it holds.
    pub fn to_tar_counted(&self) -> Result<(Vec<u8>, usize), WriteError> {
        let (members, count) = self.built()?;
        let tar = tar_of(&members, self.created.max(0.0) as u64).map_err(WriteError::Build)?;
        Ok((tar, count))
    }
}

/// Members as a plain ustar archive, in the order given.
pub(super) fn tar_of(members: &Members, mtime: u64) -> Result<Vec<u8>, String> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in members {
        let mut header = tar::Header::new_ustar();
        header.set_path(path).map_err(|e| e.to_string())?;
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        tar.append(&header, bytes.as_slice())
            .map_err(|e| e.to_string())?;
    }
    tar.into_inner().map_err(|e| e.to_string())
}

/// The event with its body taken out (left empty), and the body.
pub(super) fn split_body(event: &Event) -> (Event, Option<Vec<u8>>) {
    take_body(event.clone())
}

/// [`split_body`] of an event owned.
fn take_body(mut event: Event) -> (Event, Option<Vec<u8>>) {
    let body = match &mut event {
        Event::Scrape { body, .. } | Event::Evidence { body, .. } => Some(std::mem::take(body)),
        Event::Route {
            result: Ok((_, body)),
            ..
        } => Some(std::mem::take(body)),
        _ => None,
    };
    (event, body)
}

fn finish(enc: zstd::Encoder<'static, Vec<u8>>) -> Result<Vec<u8>, String> {
    enc.finish().map_err(|e| e.to_string())
}

/// Writes `bytes` as a new file at `path`: into a temporary sibling first, then linked into
/// place, so nothing half-written ever has the name and an existing file is never replaced.
/// On any failure the temporary file is removed and the error names the path.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_new_with(path, bytes, |p| {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(p)
    })
}

/// [`write_new`] with the temporary file opened by `open` (tests inject failing writers).
pub fn write_new_with<W: Write>(
    path: &Path,
    bytes: &[u8],
    mut open: impl FnMut(&Path) -> std::io::Result<W>,
) -> Result<(), WriteError> {
    if path.exists() {
        return Err(WriteError::Exists(path.to_path_buf()));
    }
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    // A sibling of that name that is already there is someone else's: another name is
    // tried, and only the file this call created is ever removed.
    let mut made = None;
    for attempt in 0..16 {
        let tmp = temporary_sibling(path, attempt);
        match open(&tmp) {
            Ok(w) => {
                made = Some((tmp, w));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(e)),
        }
    }
    let Some((tmp, mut w)) = made else {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "every temporary name beside it is taken",
        )));
    };
    let written = w.write_all(bytes).and_then(|()| w.flush()).map_err(io);
    drop(w);
    let placed = written.and_then(|()| {
        std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => WriteError::Exists(path.to_path_buf()),
            _ => io(e),
        })
    });
    let _ = std::fs::remove_file(&tmp);
    placed
}

/// A member as built: path, kind, target, stored bytes, and what they decompress to.
type Built = (String, &'static str, Option<String>, Vec<u8>, Option<u64>);

impl Recording<'_> {
    /// The manifest of `members`, the events' `span`, the routes `skipped` and what was
    /// scrubbed while writing (`scrubbed`, a redactions line).
    fn manifest(
        &self,
        members: &[Built],
        span: Option<(f64, f64)>,
        skipped: Vec<Skipped>,
        scrubbed: Option<String>,
    ) -> Manifest {
        Manifest {
            format: super::FORMAT.into(),
            version: super::VERSION,
            kvscope: env!("CARGO_PKG_VERSION").into(),
            created: format_rfc3339(self.created),
            span: span.map(|(lo, hi)| (format_rfc3339(lo), format_rfc3339(hi))),
            targets: self.targets.clone(),
            interval_seconds: self.interval,
            members: members
                .iter()
                .map(|(path, kind, target, bytes, raw)| Member {
                    path: path.clone(),
                    kind: kind.to_string(),
                    target: target.clone(),
                    bytes: bytes.len() as u64,
                    raw_bytes: *raw,
                    sha256: sha256_hex(bytes),
                })
                .collect(),
            skipped_routes: skipped,
            redactions: self.redactions_said().into_iter().chain(scrubbed).collect(),
        }
    }

    /// The redactions, with the query parameters whose values were removed from the target
    /// URLs named (their values are `***` in the URLs recorded).
    fn redactions_said(&self) -> Vec<String> {
        let mut out = self.redactions.clone();
        let mut names: Vec<&str> = self
            .targets
            .iter()
            .filter_map(|t| crate::url::split(&t.url).query)
            .flat_map(|q| q.split('&'))
            .filter_map(|pair| pair.split_once('=').filter(|(_, v)| *v == "***"))
            .map(|(k, _)| k)
            .collect();
        names.sort_unstable();
        names.dedup();
        if !names.is_empty() {
            out.push(format!(
                "target URLs: the values of query parameters {} removed",
                names.join(", ")
            ));
        }
        out
    }
}

/// `.NAME.partial-PID` beside `path` (`-PID-N` for a later attempt).
pub(super) fn temporary_sibling(path: &Path, attempt: u32) -> PathBuf {
    let name = path
        .file_name()
        .map_or("packet".into(), |n| n.to_string_lossy().into_owned());
    let pid = std::process::id();
    match attempt {
        0 => path.with_file_name(format!(".{name}.partial-{pid}")),
        n => path.with_file_name(format!(".{name}.partial-{pid}-{n}")),
    }
}

/// A route skipped for a target, listed once in the manifest.
fn note_skipped(skipped: &mut Vec<Skipped>, event: &Event, key: &str) {
    if let Event::RouteSkipped { route, reason, .. } = event {
        let s = Skipped {
            target: key.to_string(),
            route: *route,
            reason: *reason,
        };
        if !skipped.contains(&s) {
            skipped.push(s);
        }
    }
}
