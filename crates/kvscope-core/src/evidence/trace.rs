//! What a target's storage trace said so far: the header, every operation counted, the
//! latest records kept whole, operations per second over the last hour. Bounded whatever the
//! file's size.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::lct::{self, Decoder, Header, Item};

/// Records kept whole (with their arguments) for the pane.
pub const RECENT: usize = 256;
/// A record larger than this is kept without its arguments.
const RECENT_FRAME_MAX: usize = 64 << 10;
/// Distinct operation names counted one by one; more are counted together.
const OPS_MAX: usize = 1024;
/// Seconds of per-second counts kept.
const SECONDS_KEPT: usize = 3600;

/// One record kept for display.
#[derive(Debug, Clone)]
pub struct Recent {
    /// Its number in the trace (the first record is 1): with `t_wall`, what tells one kept
    /// record from another, so a view made of them can keep what it made before.
    pub seq: u64,
    pub t_wall: f64,
    pub qualname: Arc<str>,
    /// The frame, to decode the arguments from when shown (`None`: too large to keep).
    pub frame: Option<Box<[u8]>>,
}

impl Recent {
    /// The record's arguments, decoded.
    pub fn args(&self) -> Result<Vec<(String, super::msg::Msg)>, String> {
        match &self.frame {
            Some(f) => lct::args(f),
            None => Err("the record was too large to keep".into()),
        }
    }
}

/// A trace as read so far.
#[derive(Debug, Default)]
pub struct Trace {
    /// The file, as named where it was read.
    pub origin: String,
    decoder: Decoder,
    pub header: Option<Header>,
    pub records: u64,
    /// Records per operation name, by index into `names`.
    counts: Vec<u64>,
    names: Vec<Arc<str>>,
    index: BTreeMap<Arc<str>, u16>,
    /// Records whose operation arrived after [`OPS_MAX`] names were known.
    pub ops_other: u64,
    /// The largest `t_mono`: how long the recorder had run (what `lmcache trace info` calls
    /// the duration).
    pub max_t_mono: f64,
    pub first_wall: Option<f64>,
    pub last_wall: Option<f64>,
    /// Frames that did not decode as records, and the first such.
    pub skipped: u64,
    pub first_skip: Option<String>,
    pub recent: VecDeque<Recent>,
    /// Per second of `t_wall`: (second, records per operation index).
    pub seconds: VecDeque<(i64, Vec<(u16, u32)>)>,
    /// Bytes read.
    pub bytes: u64,
    /// Times the file was replaced or cut under the tail (each starts the trace over).
    pub restarts: u32,
    /// At the events level: what the `events.*` records say.
    pub events: Events,
    /// Read from part-way into the file: the header, and what came before, are missing.
    pub headless: bool,
}

/// What an events-level trace's `events.batch` and `events.lifecycle` records say, as
/// `lmcache trace info` counts them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Events {
    /// Instance id → its incarnations, in order of first appearance.
    pub instances: BTreeMap<String, Vec<i64>>,
    /// `type/tier/backend/shared|local` → batches (`-` for no backend).
    pub batches: BTreeMap<String, u64>,
    /// Event type → entries.
    pub entries: BTreeMap<String, u64>,
    /// Bytes of every `store` entry; `None` when the sum passed 2^53 (not exact: unknown).
    pub store_bytes: Option<u64>,
    /// Entry sizes not believed (negative, past 2^53): left out of `store_bytes`.
    pub sizes_not_believed: u64,
    pub entries_with_tokens: u64,
    /// Lifecycle phase (`start`, `stop`) → records.
    pub lifecycle: BTreeMap<String, u64>,
    /// `events.*` records whose arguments did not read as a batch or a lifecycle mark.
    pub unread: u64,
}

#[derive(serde::Deserialize)]
struct EventRecord {
    args: EventArgs,
}

#[derive(serde::Deserialize)]
struct EventArgs {
    #[serde(default)]
    instance_id: String,
    #[serde(default)]
    incarnation: Option<i64>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    backend: String,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    entries: Vec<EventEntry>,
}

#[derive(serde::Deserialize)]
struct EventEntry {
    #[serde(default)]
    size_bytes: i64,
    #[serde(default)]
    token_ids: Vec<serde::de::IgnoredAny>,
}

/// Instances and incarnations kept at most (the rest are counted, not named).
const INSTANCES_MAX: usize = 256;

impl Default for Events {
    fn default() -> Events {
        Events {
            instances: BTreeMap::new(),
            batches: BTreeMap::new(),
            entries: BTreeMap::new(),
            store_bytes: Some(0),
            sizes_not_believed: 0,
            entries_with_tokens: 0,
            lifecycle: BTreeMap::new(),
            unread: 0,
        }
    }
}

impl Events {
    /// One store entry's size, summed with checked arithmetic.
    fn add_store(&mut self, size: i64) {
        const MAX: u64 = 1 << 53;
        match u64::try_from(size) {
            Ok(n) if n <= MAX => {
                self.store_bytes = self
                    .store_bytes
                    .and_then(|sum| sum.checked_add(n))
                    .filter(|sum| *sum <= MAX);
            }
            _ => self.sizes_not_believed += 1,
        }
    }

    fn record(&mut self, qualname: &str, frame: &[u8]) {
        let Ok(r) = rmp_serde::from_slice::<EventRecord>(frame) else {
            self.unread += 1;
            return;
        };
        let a = r.args;
        if !a.instance_id.is_empty()
            && (self.instances.len() < INSTANCES_MAX || self.instances.contains_key(&a.instance_id))
        {
            let inc = self.instances.entry(a.instance_id).or_default();
            if let Some(i) = a.incarnation
                && !inc.contains(&i)
                && inc.len() < INSTANCES_MAX
            {
                inc.push(i);
            }
        }
        match (qualname, a.event_type, a.phase) {
            ("events.batch", Some(t), _) => {
                let backend = if a.backend.is_empty() {
                    "-"
                } else {
                    &a.backend
                };
                let shared = if a.shared { "shared" } else { "local" };
                *self
                    .batches
                    .entry(format!("{t}/{}/{backend}/{shared}", a.tier))
                    .or_default() += 1;
                *self.entries.entry(t.clone()).or_default() += a.entries.len() as u64;
                for e in &a.entries {
                    if t == "store" {
                        self.add_store(e.size_bytes);
                    }
                    if !e.token_ids.is_empty() {
                        self.entries_with_tokens += 1;
                    }
                }
            }
            ("events.lifecycle", _, Some(p)) => *self.lifecycle.entry(p).or_default() += 1,
            _ => self.unread += 1,
        }
    }
}

impl Trace {
    pub fn new(origin: &str) -> Trace {
        Trace {
            origin: origin.to_string(),
            ..Trace::default()
        }
    }

    /// A trace read from part-way into its file (a recording whose start was left out): its
    /// records are counted, its header is unknown.
    pub fn headless(origin: &str) -> Trace {
        Trace {
            origin: origin.to_string(),
            decoder: Decoder::headless(),
            headless: true,
            ..Trace::default()
        }
    }

    /// Takes the next bytes of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let mut decoder = std::mem::take(&mut self.decoder);
        decoder.push(bytes, |item| match item {
            Item::Header(h) => self.header = Some(h),
            Item::Record(r, frame) => self.record(r, frame),
            Item::Skipped { at, error } => {
                self.skipped += 1;
                if self.first_skip.is_none() {
                    self.first_skip = Some(format!("byte {at}: {error}"));
                }
            }
        });
        self.decoder = decoder;
    }

    fn record(&mut self, r: lct::Record<'_>, frame: &[u8]) {
        self.records += 1;
        if r.qualname.starts_with("events.") {
            self.events.record(r.qualname, frame);
        }
        if r.t_mono.is_finite() {
            self.max_t_mono = self.max_t_mono.max(r.t_mono);
        }
        let op = match self.index.get(r.qualname) {
            Some(&i) => Some(i),
            None if self.names.len() < OPS_MAX => {
                let name: Arc<str> = r.qualname.into();
                let i = self.names.len() as u16;
                self.names.push(name.clone());
                self.counts.push(0);
                self.index.insert(name, i);
                Some(i)
            }
            None => None,
        };
        match op {
            Some(i) => self.counts[usize::from(i)] += 1,
            None => self.ops_other += 1,
        }
        if r.t_wall.is_finite() && r.t_wall > 0.0 {
            self.first_wall = Some(self.first_wall.map_or(r.t_wall, |f| f.min(r.t_wall)));
            self.last_wall = Some(self.last_wall.map_or(r.t_wall, |l| l.max(r.t_wall)));
            if let Some(i) = op {
                self.count_second(r.t_wall.floor() as i64, i);
            }
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            seq: self.records,
            t_wall: r.t_wall,
            qualname: op.map_or_else(|| r.qualname.into(), |i| self.names[usize::from(i)].clone()),
            frame: (frame.len() <= RECENT_FRAME_MAX).then(|| frame.into()),
        });
    }

    fn count_second(&mut self, second: i64, op: u16) {
        // Records arrive in time order, give or take a late one: find its second from the back.
        let pos = self.seconds.iter().rposition(|(s, _)| *s <= second);
        let slot = match pos {
            Some(p) if self.seconds[p].0 == second => p,
            Some(p) => {
                self.seconds.insert(p + 1, (second, Vec::new()));
                p + 1
            }
            None if self.seconds.len() < SECONDS_KEPT => {
                self.seconds.push_front((second, Vec::new()));
                0
            }
            None => return,
        };
        let ops = &mut self.seconds[slot].1;
        match ops.iter_mut().find(|(o, _)| *o == op) {
            Some((_, n)) => *n += 1,
            None => ops.push((op, 1)),
        }
        while self.seconds.len() > SECONDS_KEPT {
            self.seconds.pop_front();
        }
    }

    /// Operation name `i` (as in [`Trace::seconds`]).
    pub fn op_name(&self, i: u16) -> &str {
        &self.names[usize::from(i)]
    }

    /// Records per operation name, sorted by name.
    pub fn ops(&self) -> BTreeMap<&str, u64> {
        let mut out: BTreeMap<&str, u64> = self
            .names
            .iter()
            .zip(&self.counts)
            .map(|(n, c)| (&**n, *c))
            .collect();
        if self.ops_other > 0 {
            out.insert("(other operations)", self.ops_other);
        }
        out
    }

    /// What stops the trace from being whole so far, if anything.
    pub fn problem(&self) -> Option<String> {
        if let Some(f) = self.decoder.fatal() {
            return Some(f.to_string());
        }
        if self.bytes == 0 {
            return Some("the file is empty".into());
        }
        if self.headless {
            return Some(
                "read from part-way into the file (the recording starts after its header): the level, schema and earlier records are unknown".into(),
            );
        }
        if self.header.is_none() {
            return Some(format!("no whole header yet ({} bytes read)", self.bytes));
        }
        if let Some((at, have)) = self.decoder.partial() {
            return Some(format!(
                "ends {have} bytes into the frame at byte {at} (cut short, or still being written)"
            ));
        }
        self.first_skip
            .as_ref()
            .map(|s| format!("{} records did not decode; the first at {s}", self.skipped))
    }

    /// The summary the report gives (and `lmcache trace info` prints).
    pub fn summary(&self) -> TraceSummary {
        let h = self.header.as_ref();
        let problem = self.problem();
        TraceSummary {
            file: self.origin.clone(),
            level: h.map(|h| h.level.clone()),
            format_version: h.map(|h| h.format_version),
            trace_schema_version: h.and_then(|h| h.trace_schema_version),
            // As `lmcache trace info` prints it: to the millisecond.
            duration_s: (self.max_t_mono * 1000.0).round() / 1000.0,
            sm_config_digest: h
                .map(|h| h.sm_config_digest.clone())
                .filter(|d| !d.is_empty()),
            total_records: self.records,
            ops: self
                .ops()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            complete: problem.is_none(),
            error: problem,
            level_meta: h
                .map(|h| h.level_meta.iter().cloned().collect())
                .unwrap_or_default(),
            skipped_records: self.skipped,
            bytes: self.bytes,
            first_record: self.first_wall,
            last_record: self.last_wall,
            restarts: self.restarts,
            events: (h.is_some_and(|h| h.level == "events") || self.events != Events::default())
                .then(|| self.events.clone()),
        }
    }
}

impl Trace {
    /// Records per second over the `n` seconds up to the newest record's, oldest first: of
    /// every operation, or of operation `op` (an index as in [`Trace::seconds`]).
    pub fn per_second(&self, n: usize, op: Option<u16>) -> Vec<u64> {
        let Some(&(last, _)) = self.seconds.back() else {
            return Vec::new();
        };
        let first = last - n as i64 + 1;
        let mut out = vec![0u64; n];
        for (sec, ops) in self.seconds.iter().rev() {
            if *sec < first {
                break;
            }
            out[(*sec - first) as usize] = ops
                .iter()
                .filter(|(o, _)| op.is_none_or(|x| x == *o))
                .map(|(_, c)| u64::from(*c))
                .sum();
        }
        out
    }

    /// The `k` operations with the most records: (index, name), most first.
    pub fn busiest(&self, k: usize) -> Vec<(u16, &str)> {
        let mut by: Vec<(u16, u64)> = (0..self.counts.len() as u16)
            .map(|i| (i, self.counts[usize::from(i)]))
            .collect();
        by.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by.into_iter()
            .take(k)
            .map(|(i, _)| (i, self.op_name(i)))
            .collect()
    }

    /// The longest stretch without a record between the first and the last, in seconds (of
    /// the hour of per-second counts kept).
    pub fn longest_gap(&self) -> Option<i64> {
        self.seconds
            .iter()
            .zip(self.seconds.iter().skip(1))
            .map(|(a, b)| b.0 - a.0 - 1)
            .max()
    }
}

/// An operation's short name: the method, with its context-manager step
/// (`read_prefetched_results.__enter__`), without the module and class.
pub fn short_op(qualname: &str) -> &str {
    let mut parts = qualname.rsplitn(3, '.');
    let last = parts.next().unwrap_or(qualname);
    match parts.next() {
        Some(method) if last.starts_with("__") => {
            &qualname[qualname.len() - last.len() - 1 - method.len()..]
        }
        _ => last,
    }
}

/// A trace summary: `lmcache trace info`'s fields, plus what kvscope adds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceSummary {
    pub file: String,
    pub level: Option<String>,
    pub format_version: Option<i64>,
    pub trace_schema_version: Option<i64>,
    /// The largest `t_mono` (seconds the recorder ran), to the millisecond.
    pub duration_s: f64,
    /// `null` when the recorder had no config (`(none)` in `lmcache trace info`).
    pub sm_config_digest: Option<String>,
    pub total_records: u64,
    pub ops: BTreeMap<String, u64>,
    /// The bytes read end on a frame boundary, with a header and no record skipped.
    pub complete: bool,
    pub error: Option<String>,
    pub level_meta: BTreeMap<String, String>,
    pub skipped_records: u64,
    pub bytes: u64,
    #[serde(serialize_with = "crate::timefmt::serialize_time")]
    pub first_record: Option<f64>,
    #[serde(serialize_with = "crate::timefmt::serialize_time")]
    pub last_record: Option<f64>,
    pub restarts: u32,
    /// At the events level, `lmcache trace info`'s `events:` block; `null` otherwise.
    pub events: Option<Events>,
}

impl TraceSummary {
    /// The trace schema in words: its number, "no schema field (read as schema 1)" for a
    /// header without one, unknown without a header.
    pub fn schema_words(&self) -> String {
        match (self.trace_schema_version, &self.level) {
            (Some(v), _) => v.to_string(),
            (None, Some(_)) => "no schema field (read as schema 1)".into(),
            (None, None) => crate::units::UNKNOWN.into(),
        }
    }
}

#[cfg(test)]
mod sizes {
    /// Hand-made sizes: negative and past 2^53 are left out and counted; a sum past 2^53 is
    /// unknown, never wrapped.
    #[test]
    fn store_sizes_are_summed_with_checked_arithmetic() {
        let mut e = super::Events::default();
        e.add_store(100);
        e.add_store(-5);
        e.add_store(i64::MAX);
        assert_eq!((e.store_bytes, e.sizes_not_believed), (Some(100), 2));
        for _ in 0..3 {
            e.add_store(1 << 52);
        }
        assert_eq!(e.store_bytes, None);
        e.add_store(1);
        assert_eq!(e.store_bytes, None, "unknown stays unknown");
    }
}
