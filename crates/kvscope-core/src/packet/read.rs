//! Reading a packet: a tar file, or the same tree unpacked as a directory. Every member is
//! checked against the manifest (size and sha256); what is intact replays, and what is damaged,
//! missing or cut short is named. A copy that stopped mid-way still replays its complete prefix.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::write::Members;
use super::{BodyRef, Line, MANIFEST, Manifest, TIMELINE, bodies_path, sha256_hex, target_key};
use crate::files::{self, Kind};
use crate::vocab::Event;

/// The largest packet file read, and the largest member of an unpacked one.
pub const MAX_PACKET_BYTES: u64 = 1 << 30;
/// The most one body may decompress to (the scrape body cap).
const MAX_BODY_BYTES: u64 = 64 << 20;
/// The most the timeline may decompress to.
const MAX_TIMELINE_BYTES: u64 = 1 << 30;

/// Why a path cannot be read as a packet at all.
#[derive(Debug, thiserror::Error)]
pub enum PacketError {
    /// The file itself could not be read (missing, not a regular file, over the cap).
    #[error(transparent)]
    Unreadable(#[from] files::FileError),
    /// Read, but not a packet (no manifest, another format, a newer version), in words.
    #[error("{0}")]
    NotAPacket(String),
}

/// A packet as read: its manifest, its members, and what is wrong with it.
#[derive(Debug)]
pub struct Opened {
    pub manifest: Manifest,
    /// `manifest.json` as stored.
    manifest_bytes: Vec<u8>,
    /// Members as found (a member cut short holds what there was).
    members: Members,
    /// Each damaged, missing or cut-short member, or a file that ends early, in words.
    pub problems: Vec<String>,
}

/// Reads a packet file or directory.
pub fn open(path: &Path) -> Result<Opened, PacketError> {
    let shown = path.display().to_string();
    let found = if path.is_dir() {
        read_dir(path).map(|members| (members, Vec::new()))
    } else {
        let bytes = files::read_capped(path, MAX_PACKET_BYTES, Kind::Regular)?;
        read_tar(&bytes)
    };
    let (found, problems) =
        found.map_err(|why| PacketError::NotAPacket(format!("{shown}: {why}")))?;
    checked(found, problems).map_err(|why| PacketError::NotAPacket(format!("{shown}: {why}")))
}

/// Reads a packet from the bytes of its tar file.
pub fn from_tar(bytes: &[u8]) -> Result<Opened, PacketError> {
    let (found, problems) = read_tar(bytes).map_err(PacketError::NotAPacket)?;
    checked(found, problems).map_err(PacketError::NotAPacket)
}

/// The manifest read and every member it lists checked against it.
fn checked(found: Members, mut problems: Vec<String>) -> Result<Opened, String> {
    let manifest_bytes = found
        .iter()
        .find(|m| m.0 == MANIFEST)
        .map(|m| &m.1)
        .ok_or("no manifest.json: not a kvscope packet")?;
    let manifest: Manifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| format!("manifest.json does not read as a manifest: {e}"))?;
    if manifest.format != super::FORMAT {
        return Err(format!(
            "format {:?} is not {}",
            manifest.format,
            super::FORMAT
        ));
    }
    if manifest.version > super::VERSION {
        return Err(format!(
            "packet format version {} is newer than this kvscope reads ({})",
            manifest.version,
            super::VERSION
        ));
    }
    let mut members = Vec::new();
    for m in &manifest.members {
        let Some((_, bytes)) = found.iter().find(|f| f.0 == m.path) else {
            problems.push(format!("{}: missing", m.path));
            continue;
        };
        if bytes.len() as u64 != m.bytes {
            problems.push(format!(
                "{}: {} bytes where the manifest says {} (cut short or altered)",
                m.path,
                bytes.len(),
                m.bytes
            ));
        } else if sha256_hex(bytes) != m.sha256 {
            problems.push(format!(
                "{}: sha256 differs from the manifest (damaged)",
                m.path
            ));
        }
        members.push((m.path.clone(), bytes.clone()));
    }
    Ok(Opened {
        manifest,
        manifest_bytes: manifest_bytes.clone(),
        members,
        problems,
    })
}

/// Regular-file members of a ustar archive, in order. A file cut short gives the members it
/// holds (the last one possibly partial) and a problem saying where it ends.
fn read_tar(bytes: &[u8]) -> Result<(Members, Vec<String>), String> {
    const BLOCK: usize = 512;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut at = 0usize;
    loop {
        let Some(header) = bytes.get(at..at + BLOCK) else {
            if out.is_empty() {
                return Err(format!("{} bytes: too short to hold a packet", bytes.len()));
            } else if at < bytes.len() {
                problems.push(format!("the file ends inside a tar header at byte {at}"));
            } else {
                problems.push(format!(
                    "the file ends at byte {at}, before the tar's end marker"
                ));
            }
            break;
        };
        if header.iter().all(|b| *b == 0) {
            break;
        }
        if !checksum_ok(header) {
            if out.is_empty() {
                return Err("not a tar archive (no valid header at the start)".into());
            }
            problems.push(format!(
                "a damaged tar header at byte {at}; what follows is not read"
            ));
            break;
        }
        let size = octal(&header[124..136]).ok_or("a tar header with an unreadable size")?;
        let name = tar_name(header);
        let start = at + BLOCK;
        let end = start.saturating_add(size as usize);
        let data = &bytes[start.min(bytes.len())..end.min(bytes.len())];
        // Regular files only ('0' or NUL); other entries (directories, pax headers) are skipped.
        if matches!(header[156], b'0' | 0) {
            out.push((name.clone(), data.to_vec()));
        }
        if end > bytes.len() {
            problems.push(format!(
                "the file ends inside member {name} ({} of {size} bytes)",
                data.len()
            ));
            break;
        }
        at = start + (size as usize).div_ceil(BLOCK) * BLOCK;
    }
    Ok((out, problems))
}

fn checksum_ok(header: &[u8]) -> bool {
    let Some(stored) = octal(&header[148..156]) else {
        return false;
    };
    let sum: u64 = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    sum == stored
}

/// An octal number field (NUL- or space-terminated).
fn octal(field: &[u8]) -> Option<u64> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The member path: ustar prefix and name.
fn tar_name(header: &[u8]) -> String {
    let field = |r: std::ops::Range<usize>| {
        let f = &header[r];
        let end = f.iter().position(|b| *b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    let (prefix, name) = (field(345..500), field(0..100));
    if header[257..262] == *b"ustar" && !prefix.is_empty() {
        format!("{prefix}/{name}")
    } else {
        name
    }
}

/// An unpacked packet: the manifest and the members it lists (paths confined to the folder).
fn read_dir(dir: &Path) -> Result<Members, String> {
    let read = |rel: &str| {
        files::read_capped(&dir.join(rel), MAX_PACKET_BYTES, Kind::Regular)
            .map_err(|e| e.to_string())
    };
    let manifest = read(MANIFEST)?;
    let listed: Manifest = serde_json::from_slice(&manifest)
        .map_err(|e| format!("manifest.json does not read as a manifest: {e}"))?;
    let mut out = vec![(MANIFEST.to_string(), manifest)];
    for m in &listed.members {
        let inside =
            !m.path.starts_with('/') && !m.path.split('/').any(|p| p == ".." || p.is_empty());
        if inside && let Ok(bytes) = read(&m.path) {
            out.push((m.path.clone(), bytes));
        }
    }
    Ok(out)
}

impl Opened {
    /// A member's bytes as found (check `problems` for damage).
    pub fn member(&self, path: &str) -> Option<&[u8]> {
        self.members
            .iter()
            .find(|m| m.0 == path)
            .map(|m| m.1.as_slice())
    }

    /// The packet as one tar file: the manifest and every member as found, in manifest order
    /// (an unpacked packet becomes the file that travels, hashes unchanged).
    pub fn to_tar(&self) -> Result<Vec<u8>, String> {
        let mut members = vec![(MANIFEST.to_string(), self.manifest_bytes.clone())];
        members.extend(self.members.iter().cloned());
        let mtime = crate::timefmt::parse_rfc3339(&self.manifest.created).unwrap_or(0.0);
        super::write::tar_of(&members, mtime.max(0.0) as u64)
    }

    /// `report.json` as stored, when present.
    pub fn report(&self) -> Option<&[u8]> {
        self.member(super::REPORT)
    }

    /// The recorded events in order, bodies restored, as far as the packet holds them whole;
    /// and, when it stops early, why and where.
    pub fn events(&self) -> (Vec<Event>, Option<String>) {
        self.events_of(self.timeline())
    }

    /// [`Opened::events`] as recorded: without the evidence events read from carried
    /// members (for a copy that carries those members itself).
    pub fn recorded_events(&self) -> (Vec<Event>, Option<String>) {
        let mut timeline = self.timeline();
        let recorded = timeline.lines.len() - timeline.from_members;
        timeline.lines.truncate(recorded);
        self.events_of(timeline)
    }

    fn events_of(&self, timeline: Timeline) -> (Vec<Event>, Option<String>) {
        let mut cursor = timeline.cursor();
        let mut out = Vec::new();
        while let Some(next) = cursor.next(&timeline) {
            match next {
                Ok(event) => out.push(event),
                Err(why) => return (out, Some(why)),
            }
        }
        (out, timeline.stop.clone())
    }

    /// The timeline without its bodies (they stay compressed until a [`Cursor`] reaches them),
    /// so an hour of scrapes can be replayed, and replayed again, in little memory.
    pub fn timeline(&self) -> Timeline {
        let mut timeline = Timeline {
            lines: Vec::new(),
            streams: self
                .manifest
                .targets
                .iter()
                .map(|t| {
                    let bytes = self.member(&bodies_path(&t.key)).map(Arc::from);
                    (t.key.clone(), bytes)
                })
                .collect(),
            stop: None,
            recorded_interval: self.manifest.interval_seconds.filter(|i| *i > 0.0),
            from_members: 0,
        };
        let Some(compressed) = self.member(TIMELINE) else {
            timeline.stop = Some("the timeline is missing: nothing can be replayed".into());
            return timeline;
        };
        let (text, cut) = decompress_prefix(compressed, MAX_TIMELINE_BYTES);
        let mut raw_lines = text.split(|b| *b == b'\n').peekable();
        while let Some(raw) = raw_lines.next() {
            if raw.is_empty() {
                continue;
            }
            let last = raw_lines.peek().is_none();
            match serde_json::from_slice::<Line>(raw) {
                Ok(line) => timeline.lines.push(line),
                // The last line of a cut timeline may be half a line.
                Err(_) if last && cut => break,
                Err(e) => {
                    let n = timeline.lines.len() + 1;
                    timeline.stop = Some(format!("timeline line {n}: {e}"));
                    return timeline;
                }
            }
        }
        if !cut {
            let before = timeline.lines.len();
            self.carried_as_events(&mut timeline.lines);
            timeline.from_members = timeline.lines.len() - before;
        }
        if cut {
            let end = timeline.lines.last().map(|l| &l.event);
            timeline.stop = Some(format!(
                "the timeline is cut short; replay ends at {}",
                end.map_or("the start".into(), stopped_at)
            ));
        }
        timeline
    }
}

impl Opened {
    /// Files carried as members (`trace`: a storage trace, `log`: a server log; what `import`
    /// of a capture folder writes) become evidence events at the end of the timeline, read at
    /// once, unless the timeline already has that target's stream.
    fn carried_as_events(&self, lines: &mut Vec<Line>) {
        let end = lines.iter().rev().find_map(|l| l.event.time());
        for m in &self.manifest.members {
            let stream = match m.kind.as_str() {
                "trace" => crate::vocab::Stream::Trace,
                "log" => crate::vocab::Stream::ServerLog,
                _ => continue,
            };
            let Some(target) = m
                .target
                .as_ref()
                .and_then(|k| self.manifest.targets.iter().find(|t| &t.key == k))
                .map(|t| t.target)
            else {
                continue;
            };
            let has = lines.iter().any(|l| {
                matches!(&l.event, Event::Evidence { target: t, stream: s, .. } if *t == target && *s == stream)
            });
            let Some(bytes) = self.member(&m.path) else {
                continue;
            };
            if has {
                continue;
            }
            let origin = m.path.rsplit('/').next().unwrap_or(&m.path).to_string();
            lines.push(Line {
                event: Event::Evidence {
                    target,
                    time: end,
                    stream,
                    fresh: true,
                    body: bytes.to_vec(),
                    origin,
                },
                stored: None,
            });
        }
    }
}

/// A packet's events without their bodies, and the compressed body streams.
pub struct Timeline {
    lines: Vec<Line>,
    /// Lines at the end made from carried members ([`Opened::carried_as_events`]).
    from_members: usize,
    streams: Vec<(String, Option<Arc<[u8]>>)>,
    /// Why the timeline ends early, when it does.
    pub stop: Option<String>,
    /// The poll interval the manifest records, when it does.
    recorded_interval: Option<f64>,
}

impl Timeline {
    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The `i`th event without its body (an empty one in its place).
    pub fn peek(&self, i: usize) -> Option<&Event> {
        self.lines.get(i).map(|l| &l.event)
    }

    /// The scrape interval the recording was made at: as the manifest records it, else
    /// [`interval_of`] its events.
    pub fn interval(&self) -> f64 {
        self.recorded_interval
            .unwrap_or_else(|| interval_of(self.lines.iter().map(|l| &l.event)))
    }

    /// The first and last event times (`None`: no event has a time).
    pub fn span(&self) -> Option<(f64, f64)> {
        let times = self.lines.iter().filter_map(|l| l.event.time());
        times.fold(None, |acc, t| {
            Some(acc.map_or((t, t), |(lo, hi): (f64, f64)| (lo.min(t), hi.max(t))))
        })
    }

    /// A cursor at the first event.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            next: 0,
            streams: self
                .streams
                .iter()
                .map(|(key, bytes)| (key.clone(), Stream::new(bytes.clone())))
                .collect(),
            failed: false,
        }
    }
}

/// A place in a [`Timeline`]: events come out in order with their bodies decompressed.
pub struct Cursor {
    next: usize,
    streams: Vec<(String, Stream)>,
    failed: bool,
}

impl Cursor {
    /// How many events it has given.
    pub fn position(&self) -> usize {
        self.next
    }

    /// The next event with its body; an error (after which it gives nothing) where a body
    /// cannot be restored.
    pub fn next(&mut self, timeline: &Timeline) -> Option<Result<Event, String>> {
        if self.failed {
            return None;
        }
        let line = timeline.lines.get(self.next)?;
        let mut event = line.event.clone();
        if let Some(at) = line.stored {
            let key = target_key(event.target());
            let body = match self.streams.iter_mut().find(|s| s.0 == key) {
                None => Err(format!("an event names target {key}, not in the manifest")),
                Some(stream) => stream.1.take(at).map_err(|why| {
                    format!("{why} ({key}); replay stops at {}", stopped_at(&event))
                }),
            };
            match body {
                Ok(body) => put_body(&mut event, body),
                Err(why) => {
                    self.failed = true;
                    return Some(Err(why));
                }
            }
        }
        self.next += 1;
        Some(Ok(event))
    }
}

fn stopped_at(event: &Event) -> String {
    event.time().map_or(
        "an event without a time".into(),
        crate::timefmt::format_rfc3339,
    )
}

pub(super) fn put_body(event: &mut Event, bytes: Vec<u8>) {
    match event {
        Event::Scrape { body, .. } | Event::Evidence { body, .. } => *body = bytes,
        Event::Route {
            result: Ok((_, body)),
            ..
        } => *body = bytes,
        _ => {}
    }
}

/// As much of a zstd stream as decompresses (at most `cap` bytes), and whether it stopped early.
fn decompress_prefix(bytes: &[u8], cap: u64) -> (Vec<u8>, bool) {
    let Ok(dec) = zstd::Decoder::with_buffer(bytes) else {
        return (Vec::new(), true);
    };
    let mut out = Vec::new();
    let mut dec = dec.take(cap);
    let mut chunk = [0u8; 64 << 10];
    loop {
        match dec.read(&mut chunk) {
            Ok(0) => return (out, false),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return (out, true),
        }
    }
}

/// A zstd decoder reading shared compressed bytes.
type Decoder = zstd::Decoder<'static, std::io::BufReader<std::io::Cursor<Arc<[u8]>>>>;

/// A target's body stream, decompressed as the timeline asks for it (in order).
struct Stream {
    dec: Option<Decoder>,
    at: u64,
}

impl Stream {
    fn new(bytes: Option<Arc<[u8]>>) -> Stream {
        Stream {
            dec: bytes.and_then(|b| zstd::Decoder::new(std::io::Cursor::new(b)).ok()),
            at: 0,
        }
    }

    /// The body at `r`, which must not lie before bodies already taken.
    fn take(&mut self, r: BodyRef) -> Result<Vec<u8>, String> {
        let dec = self.dec.as_mut().ok_or("its body stream is missing")?;
        if r.offset < self.at || r.len > MAX_BODY_BYTES {
            return Err("a body reference out of order or too large".into());
        }
        let skip = r.offset - self.at;
        std::io::copy(&mut dec.by_ref().take(skip), &mut std::io::sink())
            .map_err(|_| "its body stream is cut short or damaged")?;
        let mut body = Vec::with_capacity(r.len as usize);
        dec.by_ref()
            .take(r.len)
            .read_to_end(&mut body)
            .map_err(|_| "its body stream is cut short or damaged")?;
        self.at = r.offset + body.len() as u64;
        if (body.len() as u64) < r.len {
            return Err("its body stream is cut short".into());
        }
        Ok(body)
    }
}

/// The scrape interval events were recorded at: the median time between two captures of one
/// target (1 s when no target was captured twice). Stale and down are judged against it, and
/// a served recording holds its last state this long before it loops.
pub fn interval_of<'a>(events: impl Iterator<Item = &'a Event>) -> f64 {
    let mut last: Vec<(crate::vocab::TargetRef, f64)> = Vec::new();
    let mut gaps = Vec::new();
    for e in events {
        if !matches!(e, Event::Scrape { .. } | Event::ScrapeFailed { .. }) {
            continue;
        }
        let (Some(t), target) = (e.time(), e.target()) else {
            continue;
        };
        match last.iter_mut().find(|(k, _)| *k == target) {
            Some((_, prev)) => {
                if t > *prev {
                    gaps.push(t - *prev);
                }
                *prev = t;
            }
            None => last.push((target, t)),
        }
    }
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2].max(0.1)
}
