//! What a target's log said so far: lines by kind and level, the latest lines, the latest
//! prefetch completions with their L1 / L2 split, and the facts startup lines give. Bounded
//! whatever the file's size.

use std::collections::{BTreeMap, VecDeque};

use super::log::{self, Kind, Level, MAX_LINE};
use super::split::Splitter;

/// Lines kept for the pane.
pub const RECENT: usize = 1000;
/// Prefetch completions kept one by one.
pub const PREFETCHES: usize = 500;
/// Characters of a message kept for display.
const MESSAGE_MAX: usize = 400;

/// One line kept for display.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: Kind,
    pub level: Option<Level>,
    /// The time as the line wrote it.
    pub stamp: Option<String>,
    pub message: String,
    /// The line's facts in a few words, when its kind has a short form (a prefetch
    /// completion: request, keys, L1/L2 split, latency).
    pub brief: Option<String>,
}

/// One `Prefetch request completed` line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prefetch {
    pub request: String,
    pub retained: f64,
    pub requested: f64,
    pub l1: f64,
    pub l2: f64,
    pub ms: f64,
}

/// Totals over the prefetch completions read.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PrefetchTotals {
    pub requests: u64,
    pub requested_keys: f64,
    pub retained_keys: f64,
    pub l1_keys: f64,
    pub l2_keys: f64,
    pub latency_ms_max: f64,
}

/// Totals of `Stored` / `Retrieved` lines.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Transfers {
    pub lines: u64,
    pub tokens: f64,
    pub seconds: f64,
}

impl Transfers {
    /// Seconds one transfer took on average, and the tokens per second while transferring;
    /// `None` before a transfer with a time was read.
    pub fn rates(&self) -> Option<(f64, f64)> {
        (self.lines > 0 && self.seconds > 0.0)
            .then(|| (self.seconds / self.lines as f64, self.tokens / self.seconds))
    }

    /// With the seconds to the microsecond (sums of millisecond figures pick up float noise).
    fn rounded(&self) -> Transfers {
        Transfers {
            seconds: (self.seconds * 1e6).round() / 1e6,
            ..self.clone()
        }
    }
}

/// A log as read so far.
#[derive(Debug, Default)]
pub struct Log {
    pub origin: String,
    split: Splitter,
    pub lines: u64,
    pub by_kind: BTreeMap<Kind, u64>,
    pub by_level: BTreeMap<Level, u64>,
    pub cut_lines: u64,
    pub recent: VecDeque<Entry>,
    pub prefetches: VecDeque<Prefetch>,
    pub prefetch: PrefetchTotals,
    pub stored: Transfers,
    pub retrieved: Transfers,
    /// Startup facts, by name (`http_server`, `trace_file`, `connector`, …), newest value.
    pub facts: BTreeMap<&'static str, String>,
    /// The largest "discarded so far" an EventBus line reported.
    pub eventbus_discarded: Option<f64>,
    pub bytes: u64,
    /// Times the file was replaced or cut under the tail (the counts go on across them).
    pub restarts: u32,
    /// Counts and durations in known lines that were not believed (negative, not finite,
    /// past 2^53): left out of every sum, shown as unknown.
    pub numbers_not_believed: u64,
    /// Lines of the kinds findings read, with when they were read: the latest [`ALERTS`].
    pub alerts: VecDeque<(Option<f64>, Kind)>,
}

/// Lines of the kinds findings read kept with their read time.
pub const ALERTS: usize = 1000;

/// Kinds of line findings read as evidence.
const ALERT_KINDS: [Kind; 4] = [
    Kind::L1AllocFailed,
    Kind::EventbusQueueFull,
    Kind::EventbusCallbackError,
    Kind::Timeout,
];

impl Log {
    /// Lines of `kind` read at or after `since` (all of them when `since` is `None`; a line
    /// read without a time counts as read now), among the latest [`ALERTS`].
    pub fn alerts_since(&self, kind: Kind, since: Option<f64>) -> u64 {
        self.alerts
            .iter()
            .filter(|(at, k)| {
                *k == kind
                    && match (since, at) {
                        (Some(s), Some(a)) => *a >= s,
                        _ => true,
                    }
            })
            .count() as u64
    }
}

impl Log {
    pub fn new(origin: &str) -> Log {
        Log {
            origin: origin.to_string(),
            ..Log::default()
        }
    }

    /// The file was replaced or cut: what follows is a new file.
    pub fn restart(&mut self) {
        self.split.clear();
        self.restarts += 1;
    }

    /// Takes the next bytes of the file, read at `at`.
    pub fn push(&mut self, bytes: &[u8], at: Option<f64>) {
        self.bytes += bytes.len() as u64;
        let mut split = std::mem::take(&mut self.split);
        split.push(bytes, MAX_LINE, |line, cut| {
            self.cut_lines += u64::from(cut);
            self.line(line, at);
        });
        self.split = split;
    }

    fn line(&mut self, raw: &[u8], at: Option<f64>) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw);
        let mut buf = String::new();
        let l = log::parse(log::strip_ansi(&text, &mut buf));
        self.lines += 1;
        *self.by_kind.entry(l.kind).or_default() += 1;
        if let Some(level) = l.level {
            *self.by_level.entry(level).or_default() += 1;
        }
        self.facts_of(&l);
        if ALERT_KINDS.contains(&l.kind) {
            if self.alerts.len() == ALERTS {
                self.alerts.pop_front();
            }
            self.alerts.push_back((at, l.kind));
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(Entry {
            kind: l.kind,
            level: l.level,
            stamp: l.time.map(str::to_string),
            message: l.message.chars().take(MESSAGE_MAX).collect(),
            brief: brief(&l),
        });
    }

    fn facts_of(&mut self, l: &log::Line<'_>) {
        let numbers: &[usize] = match l.kind {
            Kind::PrefetchCompleted => &[1, 2, 4, 5, 6],
            Kind::Stored | Kind::Retrieved => &[0, 1],
            Kind::EventbusQueueFull => &[1],
            _ => &[],
        };
        let unbelieved = numbers
            .iter()
            .filter(|i| l.fields.get(**i).is_some() && l.num(**i).is_none())
            .count();
        self.numbers_not_believed += unbelieved as u64;
        let num = |i| l.num(i).unwrap_or(f64::NAN);
        match l.kind {
            Kind::PrefetchCompleted => {
                let p = Prefetch {
                    request: l.fields[7].to_string(),
                    retained: num(1),
                    requested: num(2),
                    l1: num(4),
                    l2: num(5),
                    ms: num(6),
                };
                let t = &mut self.prefetch;
                t.requests += 1;
                for (sum, v) in [
                    (&mut t.requested_keys, p.requested),
                    (&mut t.retained_keys, p.retained),
                    (&mut t.l1_keys, p.l1),
                    (&mut t.l2_keys, p.l2),
                ] {
                    if v.is_finite() {
                        *sum += v;
                    }
                }
                if p.ms.is_finite() {
                    t.latency_ms_max = t.latency_ms_max.max(p.ms);
                }
                if self.prefetches.len() == PREFETCHES {
                    self.prefetches.pop_front();
                }
                self.prefetches.push_back(p);
            }
            Kind::Stored | Kind::Retrieved => {
                let t = if l.kind == Kind::Stored {
                    &mut self.stored
                } else {
                    &mut self.retrieved
                };
                t.lines += 1;
                if let (Some(tokens), Some(s)) = (l.num(0), l.num(1)) {
                    t.tokens += tokens;
                    t.seconds += s;
                }
            }
            Kind::EventbusQueueFull => {
                if let Some(n) = l.num(1) {
                    self.eventbus_discarded = Some(self.eventbus_discarded.unwrap_or(0.0).max(n));
                }
            }
            Kind::ServerRunning => self.fact(
                "cache_server",
                format!("{} on {}", l.fields[0], l.fields[1]),
            ),
            Kind::HttpServer => self.fact("http_server", l.fields[0].to_string()),
            Kind::TraceRecorder => self.fact(
                "trace_file",
                format!("{} (level {})", l.fields[0], l.fields[1]),
            ),
            Kind::ConnectorCreated => self.fact("connector", l.fields[0].to_string()),
            Kind::ExternalConnector => self.fact("connector", l.fields[0].to_string()),
            Kind::VllmServer => self.fact("vllm_server", l.fields[0].to_string()),
            _ => {}
        }
    }

    fn fact(&mut self, name: &'static str, value: String) {
        self.facts.insert(name, value);
    }

    /// The summary the report gives.
    pub fn summary(&self) -> LogSummary {
        LogSummary {
            file: self.origin.clone(),
            lines: self.lines,
            unknown_lines: self.by_kind.get(&Kind::Unknown).copied().unwrap_or(0),
            by_kind: Kind::ALL
                .iter()
                .map(|k| (k.as_str(), self.by_kind.get(k).copied().unwrap_or(0)))
                .collect(),
            by_level: self
                .by_level
                .iter()
                .map(|(l, n)| (l.as_str(), *n))
                .collect(),
            cut_lines: self.cut_lines,
            pending_bytes: self.split.pending(),
            prefetch: self.prefetch.clone(),
            stored: self.stored.rounded(),
            retrieved: self.retrieved.rounded(),
            eventbus_discarded: self.eventbus_discarded,
            facts: self.facts.iter().map(|(k, v)| (*k, v.clone())).collect(),
            bytes: self.bytes,
            restarts: self.restarts,
            numbers_not_believed: self.numbers_not_believed,
        }
    }
}

/// A line's facts in a few words, for the kinds that have a short form.
fn brief(l: &log::Line<'_>) -> Option<String> {
    match l.kind {
        Kind::PrefetchCompleted => Some(format!(
            "prefetch {}: {}/{} {} ({} L1, {} L2) in {} ms",
            l.fields[7],
            l.fields[1],
            l.fields[2],
            l.fields[3],
            l.fields[4],
            l.fields[5],
            l.fields[6]
        )),
        _ => None,
    }
}

/// A log summary, as the report gives it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogSummary {
    pub file: String,
    /// Whole lines read (a last line without its end is `pending_bytes`).
    pub lines: u64,
    pub unknown_lines: u64,
    /// Every kind, zero when none was seen.
    pub by_kind: BTreeMap<&'static str, u64>,
    pub by_level: BTreeMap<&'static str, u64>,
    /// Lines longer than the longest kept, read up to it.
    pub cut_lines: u64,
    pub pending_bytes: usize,
    pub prefetch: PrefetchTotals,
    pub stored: Transfers,
    pub retrieved: Transfers,
    pub eventbus_discarded: Option<f64>,
    pub facts: BTreeMap<&'static str, String>,
    pub bytes: u64,
    pub restarts: u32,
    /// Counts and durations not believed (negative, not finite, past 2^53): left out.
    pub numbers_not_believed: u64,
}
