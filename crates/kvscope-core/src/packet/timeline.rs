//! A packet's timeline read within its budgets: lines decompressed as a stream (never the
//! whole text at once), each checked against the manifest (an event for a target it does not
//! list is named and skipped, an event of a kind this build does not know is counted and
//! skipped, as the format promises), and cursors that decompress bodies as they reach them.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

use super::read::{Opened, raw_cap};
use super::{BodyRef, Line, TIMELINE, bodies_path, target_key};
use crate::vocab::{Event, TargetRef};

/// The longest timeline line read (an event without its body).
pub const MAX_LINE: usize = 1 << 20;
/// Unlisted targets named one by one; the rest are counted.
const UNLISTED_NAMED: usize = 20;

/// The event kinds this build reads (the `event` tag of a timeline line).
pub const KNOWN_KINDS: [&str; 6] = [
    "scrape",
    "scrape_failed",
    "latency",
    "route",
    "route_skipped",
    "evidence",
];

/// A packet's events without their bodies, and the compressed body streams.
pub struct Timeline {
    lines: Vec<Line>,
    streams: HashMap<TargetRef, Compressed>,
    /// Why the timeline ends early, when it does.
    pub stop: Option<String>,
    /// Events of a kind this build does not know, skipped.
    pub unknown_kinds: usize,
    /// Events for targets the manifest does not list, skipped: the first few named.
    unlisted: Vec<String>,
    unlisted_count: usize,
    /// The poll interval the manifest records, when it does.
    recorded_interval: Option<f64>,
}

/// A target's compressed body stream (when present) and how far it may decompress.
type Compressed = (Option<Arc<[u8]>>, u64);

/// Lines of a zstd stream, read within budgets.
struct Budget {
    raw_cap: u64,
    raw_why: String,
    events: usize,
    event_text: u64,
    text: u64,
}

impl Opened {
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
                    let path = bodies_path(&t.key);
                    let bytes = self.member(&path).map(Arc::from);
                    let listed = self.manifest.members.iter().find(|m| m.path == path);
                    let cap = listed.map_or(0, |m| raw_cap(m).0);
                    (t.target, (bytes, cap))
                })
                .collect(),
            stop: None,
            unknown_kinds: 0,
            unlisted: Vec::new(),
            unlisted_count: 0,
            recorded_interval: self.manifest.interval_seconds.filter(|i| *i > 0.0),
        };
        let (Some(compressed), Some(listed)) = (
            self.member(TIMELINE),
            self.manifest.members.iter().find(|m| m.path == TIMELINE),
        ) else {
            timeline.stop = Some("the timeline is missing: nothing can be replayed".into());
            return timeline;
        };
        let (raw_cap, raw_why) = raw_cap(listed);
        let mut budget = Budget {
            raw_cap,
            raw_why,
            events: self.limits.events,
            event_text: self.limits.event_text,
            text: 0,
        };
        let cut = timeline.read(compressed, &mut budget, &self.targets());
        if timeline.stop.is_none() && !cut {
            self.carried_as_events(&mut timeline.lines);
        }
        if cut && timeline.stop.is_none() {
            timeline.stop = Some(format!(
                "the timeline is cut short; replay ends at {}",
                timeline.end()
            ));
        }
        timeline
    }

    fn targets(&self) -> HashSet<TargetRef> {
        self.manifest.targets.iter().map(|t| t.target).collect()
    }
}

impl Timeline {
    /// Reads the lines of `compressed` within `budget`; whether the stream is cut short.
    fn read(
        &mut self,
        compressed: &[u8],
        budget: &mut Budget,
        targets: &HashSet<TargetRef>,
    ) -> bool {
        let Ok(dec) = zstd::Decoder::with_buffer(compressed) else {
            return true;
        };
        let mut dec = dec.take(budget.raw_cap.saturating_add(1));
        let mut chunk = vec![0u8; 64 << 10];
        let (mut partial, mut raw, mut n) = (Vec::new(), 0u64, 0usize);
        loop {
            let got = match dec.read(&mut chunk) {
                Ok(0) => break,
                Ok(got) => got,
                Err(_) => return true,
            };
            raw += got as u64;
            if raw > budget.raw_cap {
                self.stop_at(format!("{TIMELINE} decompresses past {}", budget.raw_why));
                return false;
            }
            let mut rest = &chunk[..got];
            while let Some(at) = memchr::memchr(b'\n', rest) {
                n += 1;
                partial.extend_from_slice(&rest[..at]);
                rest = &rest[at + 1..];
                if !self.line(&partial, n, budget, targets) {
                    return false;
                }
                partial.clear();
            }
            partial.extend_from_slice(rest);
            if partial.len() > MAX_LINE {
                self.stop_at(format!(
                    "{TIMELINE} line {} is longer than {MAX_LINE} bytes",
                    n + 1
                ));
                return false;
            }
        }
        // The last line of a whole timeline may lack its newline; a cut one's is dropped.
        if !partial.is_empty() {
            self.line(&partial, n + 1, budget, targets);
        }
        false
    }

    /// Takes line `n`; false when a budget stops the reading.
    fn line(
        &mut self,
        raw: &[u8],
        n: usize,
        budget: &mut Budget,
        targets: &HashSet<TargetRef>,
    ) -> bool {
        if n > budget.events {
            self.stop_at(format!(
                "{TIMELINE} holds more than {} lines, the most kvscope reads (raise it with KVSCOPE_MAX_EVENTS)",
                budget.events
            ));
            return false;
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            return true;
        }
        let line = match serde_json::from_slice::<Line>(raw) {
            Ok(line) => line,
            Err(e) => match kind_of(raw) {
                Some(kind) if !KNOWN_KINDS.contains(&kind.as_str()) => {
                    self.unknown_kinds += 1;
                    return true;
                }
                _ => {
                    self.stop_at(format!("timeline line {n}: {e}"));
                    return false;
                }
            },
        };
        let target = line.event.target();
        if !targets.contains(&target) {
            self.unlisted_count += 1;
            if self.unlisted.len() < UNLISTED_NAMED {
                self.unlisted.push(format!(
                    "timeline line {n}: an event for {}, which the manifest does not list (skipped)",
                    target_key(target)
                ));
            }
            return true;
        }
        budget.text += text_of(&line.event);
        if budget.text > budget.event_text {
            self.stop_at(format!(
                "{TIMELINE}: its events hold more than {} MiB of text, the most kvscope reads (raise it with KVSCOPE_MAX_EVENT_TEXT_MIB)",
                budget.event_text >> 20
            ));
            return false;
        }
        self.lines.push(line);
        true
    }

    fn stop_at(&mut self, why: String) {
        self.stop = Some(format!("{why}; replay ends at {}", self.end()));
    }

    fn end(&self) -> String {
        self.lines
            .last()
            .map_or("the start".into(), |l| stopped_at(&l.event))
    }

    /// Lines made from carried members dropped (a copy that carries them itself).
    pub(super) fn drop_carried(&mut self) {
        self.lines.retain(|l| !l.carried);
    }

    /// What is wrong with the timeline: where it stops early, events for unlisted targets.
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self.stop.iter().cloned().collect();
        out.extend(self.unlisted.iter().cloned());
        if self.unlisted_count > self.unlisted.len() {
            out.push(format!(
                "… and {} more events for targets the manifest does not list (skipped)",
                self.unlisted_count - self.unlisted.len()
            ));
        }
        out
    }

    /// What was skipped without harm: events of kinds this build does not know.
    pub fn notes(&self) -> Vec<String> {
        match self.unknown_kinds {
            0 => Vec::new(),
            n => vec![format!(
                "{n} event{} of a kind this kvscope does not know skipped (written by a newer kvscope)",
                if n == 1 { "" } else { "s" }
            )],
        }
    }

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
                .map(|(t, (bytes, cap))| (*t, Stream::new(bytes.clone(), *cap)))
                .collect(),
            failed: false,
        }
    }
}

impl Opened {
    /// Files carried as members (`trace`: a storage trace, `log`: a server log,
    /// `lookup_hashes`: a lookup-hash log; what `import` of a capture folder writes) become
    /// evidence events, unless the timeline already has that target's stream. A trace and a
    /// log are read at the end of the timeline; a lookup-hash log is cut at the timeline's
    /// times, each part read at the first time its lines had been written by (so a replay, or
    /// `--at`, has the log as it stood).
    fn carried_as_events(&self, lines: &mut Vec<Line>) {
        let end = lines.iter().rev().find_map(|l| l.event.time());
        let mut times: Vec<f64> = lines.iter().filter_map(|l| l.event.time()).collect();
        times.sort_by(f64::total_cmp);
        times.dedup();
        let mut made = Vec::new();
        for m in &self.manifest.members {
            let stream = match m.kind.as_str() {
                "trace" => crate::vocab::Stream::Trace,
                "log" => crate::vocab::Stream::ServerLog,
                "lookup_hashes" => crate::vocab::Stream::LookupHashes,
                "otel" => crate::vocab::Stream::Otel,
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
            let parts = match stream {
                crate::vocab::Stream::LookupHashes => {
                    crate::evidence::hashes::placed(bytes, &times)
                }
                _ => vec![(None, 0..bytes.len())],
            };
            let origin = m.path.rsplit('/').next().unwrap_or(&m.path).to_string();
            for (i, (at, range)) in parts.into_iter().enumerate() {
                made.push(Line {
                    event: Event::Evidence {
                        target,
                        time: at.or(end),
                        stream,
                        fresh: i == 0,
                        body: bytes[range].to_vec(),
                        origin: origin.clone(),
                    },
                    stored: None,
                    carried: true,
                });
            }
        }
        merge(lines, made);
    }
}

/// `made` (carried lines) into `lines`, each after every line not later than it; the order
/// within each kept.
fn merge(lines: &mut Vec<Line>, mut made: Vec<Line>) {
    if made.is_empty() {
        return;
    }
    let at = |l: &Line| l.event.time().unwrap_or(f64::INFINITY);
    made.sort_by(|a, b| at(a).total_cmp(&at(b)));
    let recorded = std::mem::take(lines);
    let mut made = made.into_iter().peekable();
    for line in recorded {
        if let Some(t) = line.event.time() {
            while let Some(m) = made.next_if(|m| at(m) < t) {
                lines.push(m);
            }
        }
        lines.push(line);
    }
    lines.extend(made);
}

/// The `event` tag of a line that did not read as an event.
fn kind_of(raw: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Tag {
        event: String,
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        event: Tag,
    }
    serde_json::from_slice::<Probe>(raw)
        .ok()
        .map(|p| p.event.event)
}

/// The text an event holds beyond its fixed size (that is bounded by the events cap).
fn text_of(e: &Event) -> u64 {
    let n = match e {
        Event::Scrape { origin, .. } | Event::Evidence { origin, .. } => origin.len(),
        Event::ScrapeFailed { error, .. } => error.len(),
        Event::Route { result: Err(e), .. } => e.len(),
        _ => 0,
    };
    n as u64
}

/// A place in a [`Timeline`]: events come out in order with their bodies decompressed.
pub struct Cursor {
    next: usize,
    streams: HashMap<TargetRef, Stream>,
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
            let body = match self.streams.get_mut(&event.target()) {
                None => Err(format!("an event names target {key}, not in the manifest")),
                Some(stream) => stream.take(at).map_err(|why| {
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

pub(super) fn stopped_at(event: &Event) -> String {
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

/// The most one body may decompress to (the scrape body cap).
const MAX_BODY_BYTES: u64 = 64 << 20;

/// A zstd decoder reading shared compressed bytes.
type Decoder = zstd::Decoder<'static, std::io::BufReader<std::io::Cursor<Arc<[u8]>>>>;

/// A target's body stream, decompressed as the timeline asks for it (in order), never past
/// its cap.
struct Stream {
    dec: Option<Decoder>,
    at: u64,
    cap: u64,
}

impl Stream {
    fn new(bytes: Option<Arc<[u8]>>, cap: u64) -> Stream {
        Stream {
            dec: bytes.and_then(|b| zstd::Decoder::new(std::io::Cursor::new(b)).ok()),
            at: 0,
            cap,
        }
    }

    /// The body at `r`, which must not lie before bodies already taken.
    fn take(&mut self, r: BodyRef) -> Result<Vec<u8>, String> {
        let dec = self.dec.as_mut().ok_or("its body stream is missing")?;
        if r.offset < self.at || r.len > MAX_BODY_BYTES {
            return Err("a body reference out of order or too large".into());
        }
        if r.offset.saturating_add(r.len) > self.cap {
            return Err(format!(
                "a body reference past the {} bytes its stream may decompress to",
                self.cap
            ));
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
    let mut last: HashMap<TargetRef, f64> = HashMap::new();
    let mut gaps = Vec::new();
    for e in events {
        if !matches!(e, Event::Scrape { .. } | Event::ScrapeFailed { .. }) {
            continue;
        }
        let (Some(t), target) = (e.time(), e.target()) else {
            continue;
        };
        match last.get_mut(&target) {
            Some(prev) => {
                if t > *prev {
                    gaps.push(t - *prev);
                }
                *prev = t;
            }
            None => {
                last.insert(target, t);
            }
        }
    }
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2].max(0.1)
}
