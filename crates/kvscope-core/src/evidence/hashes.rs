//! LMCache's lookup-hash log (`--lookup-hash-log-dir`: `lookup_hashes_<time>_<n>.jsonl`, one
//! object per lookup: `timestamp, request_id, model_name, chunk_size, seq_len, dtypes, shapes,
//! chunk_hashes`, and `cache_salt` where a build writes it). Summarised per model, with how
//! many chunk hashes had been looked up before (what a cache holding everything could have
//! served), and fed to the hit-rate-versus-capacity curves ([`crate::capacity::Curves`]). The
//! hashes are never kept as text and never shown.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::capacity::{Curves, Lookup};

use serde::Deserialize;

use super::split::Splitter;

/// Distinct request ids counted.
const REQUESTS_KEPT: usize = 100_000;
/// The longest line read.
const MAX_LINE: usize = 16 << 20;

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    model_name: String,
    #[serde(default)]
    chunk_size: Option<f64>,
    #[serde(default)]
    seq_len: Option<f64>,
    #[serde(default)]
    chunk_hashes: Hashes,
    #[serde(default)]
    cache_salt: Option<serde_json::Value>,
    #[serde(default)]
    shapes: serde_json::Value,
    #[serde(default)]
    dtypes: serde_json::Value,
}

impl Row {
    /// Bytes of one chunk, from `shapes` and `dtypes`; `None` when they do not say.
    fn chunk_bytes(&self) -> Option<u64> {
        let shapes: Vec<Vec<u64>> = self
            .shapes
            .as_array()?
            .iter()
            .map(|s| s.as_array()?.iter().map(|d| d.as_u64()).collect())
            .collect::<Option<_>>()?;
        let dtypes: Vec<String> = self
            .dtypes
            .as_array()?
            .iter()
            .map(|d| d.as_str().map(str::to_string))
            .collect::<Option<_>>()?;
        crate::capacity::chunk_bytes(&shapes, &dtypes)
    }
}

/// `chunk_hashes`: a list (of strings or numbers), or an object whose values are hashes.
#[derive(Default)]
struct Hashes(Vec<u64>);

impl<'de> Deserialize<'de> for Hashes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Hashes, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let items: Vec<&serde_json::Value> = match &v {
            serde_json::Value::Array(a) => a.iter().collect(),
            serde_json::Value::Object(o) => o.values().collect(),
            _ => Vec::new(),
        };
        // Each hash as a number of its own: two equal hashes give equal numbers.
        Ok(Hashes(
            items
                .into_iter()
                .map(|h| {
                    use std::hash::BuildHasher;
                    let s = foldhash::quality::FixedState::with_seed(0x6b76);
                    match h {
                        serde_json::Value::String(t) => s.hash_one(t.as_str()),
                        other => s.hash_one(other.to_string()),
                    }
                })
                .collect(),
        ))
    }
}

/// Per model.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ModelStats {
    pub lookups: u64,
    /// Tokens looked up (the sum of `seq_len`).
    pub tokens: f64,
    pub chunks: u64,
    /// Chunks whose hash had been looked up before in this log (estimated from the sample
    /// once more distinct hashes came than are followed exactly).
    pub repeated_chunks: u64,
}

/// A lookup-hash log as read so far.
#[derive(Debug, Default)]
pub struct Hashlog {
    pub origin: String,
    split: Splitter,
    pub lookups: u64,
    pub malformed: u64,
    pub first_malformed: Option<String>,
    /// Chunk sizes and sequence lengths not believed (negative, not finite, past 2^53).
    pub numbers_not_believed: u64,
    /// The curves, and the repeat counts read from them.
    pub curves: Curves,
    requests: HashSet<String>,
    pub requests_more: bool,
    pub models: BTreeMap<String, ModelStats>,
    pub chunk_sizes: BTreeSet<u64>,
    pub seq_len_min: Option<f64>,
    pub seq_len_max: Option<f64>,
    pub bytes: u64,
    /// Files read (each new file of the rotation starts one).
    pub files: u32,
}

impl Hashlog {
    pub fn new(origin: &str) -> Hashlog {
        Hashlog::with_limit(origin, crate::capacity::EXACT_CHUNKS)
    }

    /// A log whose curve is exact up to `limit` distinct chunks, sampled past it.
    pub fn with_limit(origin: &str, limit: usize) -> Hashlog {
        Hashlog {
            origin: origin.to_string(),
            files: 1,
            curves: Curves::new(limit),
            ..Hashlog::default()
        }
    }

    /// The next file of the rotation: counts go on.
    pub fn next_file(&mut self, origin: &str) {
        self.split.clear();
        self.origin = origin.to_string();
        self.files += 1;
    }

    /// Takes the next bytes of the file.
    pub fn push(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len() as u64;
        let mut split = std::mem::take(&mut self.split);
        split.push(bytes, MAX_LINE, |line, cut| match cut {
            true => self.bad(format!("a line longer than {MAX_LINE} bytes")),
            false => self.row(line),
        });
        self.split = split;
    }

    fn bad(&mut self, why: String) {
        self.malformed += 1;
        if self.first_malformed.is_none() {
            self.first_malformed = Some(why);
        }
    }

    fn row(&mut self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let r: Row = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                return self.bad(format!("lookup {}: {e}", self.lookups + self.malformed + 1));
            }
        };
        self.lookups += 1;
        if self.requests.len() < REQUESTS_KEPT {
            self.requests.insert(r.request_id.clone());
        } else if !self.requests.contains(&r.request_id) {
            self.requests_more = true;
        }
        let believed = |v: Option<f64>, n: &mut u64| {
            let ok = v.filter(|v| v.is_finite() && (0.0..=super::MAX_COUNT).contains(v));
            *n += u64::from(v.is_some() && ok.is_none());
            ok
        };
        let chunk_size = believed(r.chunk_size, &mut self.numbers_not_believed);
        let chunk_bytes = r.chunk_bytes();
        let salt = match &r.cache_salt {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let seq_len = believed(r.seq_len, &mut self.numbers_not_believed);
        if let Some(c) = chunk_size
            && self.chunk_sizes.len() < 64
        {
            self.chunk_sizes.insert(c as u64);
        }
        let m = self.models.entry(r.model_name.clone()).or_default();
        m.lookups += 1;
        if let Some(n) = seq_len {
            m.tokens += n;
            self.seq_len_min = Some(self.seq_len_min.map_or(n, |x| x.min(n)));
            self.seq_len_max = Some(self.seq_len_max.map_or(n, |x| x.max(n)));
        }
        m.chunks += r.chunk_hashes.0.len() as u64;
        m.repeated_chunks += self.curves.lookup(&Lookup {
            model: &r.model_name,
            salt: salt.as_deref(),
            chunk_tokens: chunk_size.map_or(1, |c| (c as u64).max(1)),
            chunk_bytes,
            hashes: &r.chunk_hashes.0,
        });
    }

    /// The summary the report gives.
    pub fn summary(&self) -> HashlogSummary {
        let chunks: u64 = self.models.values().map(|m| m.chunks).sum();
        let repeated: u64 = self.models.values().map(|m| m.repeated_chunks).sum();
        let tokens: f64 = self.models.values().map(|m| m.tokens).sum();
        HashlogSummary {
            file: self.origin.clone(),
            files: self.files,
            lookups: self.lookups,
            malformed_rows: self.malformed,
            numbers_not_believed: self.numbers_not_believed,
            error: self.first_malformed.clone(),
            requests: self.requests.len(),
            requests_counted_up_to: self.requests_more.then_some(REQUESTS_KEPT),
            models: self.models.clone(),
            chunk_sizes: self.chunk_sizes.iter().copied().collect(),
            seq_len_min: self.seq_len_min,
            seq_len_max: self.seq_len_max,
            seq_len_mean: (self.lookups > 0).then(|| tokens / self.lookups as f64),
            chunks,
            repeated_chunks: repeated,
            repeat_rate: (chunks > 0).then(|| repeated as f64 / chunks as f64),
            hashes_tracked_up_to: (self.curves.rate() < 1.0).then_some(self.curves.limit()),
            pending_bytes: self.split.pending(),
            bytes: self.bytes,
        }
    }
}

/// A lookup-hash log summary, as the report gives it (no hash in it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HashlogSummary {
    pub file: String,
    pub files: u32,
    pub lookups: u64,
    pub malformed_rows: u64,
    /// Chunk sizes and sequence lengths not believed (negative, not finite, past 2^53): left out.
    pub numbers_not_believed: u64,
    pub error: Option<String>,
    /// Distinct request ids.
    pub requests: usize,
    /// Set when more distinct ids came than are counted.
    pub requests_counted_up_to: Option<usize>,
    pub models: BTreeMap<String, ModelStats>,
    pub chunk_sizes: Vec<u64>,
    pub seq_len_min: Option<f64>,
    pub seq_len_max: Option<f64>,
    pub seq_len_mean: Option<f64>,
    pub chunks: u64,
    /// Chunks whose hash was looked up before in the log.
    pub repeated_chunks: u64,
    pub repeat_rate: Option<f64>,
    /// Set when more distinct hashes came than are followed exactly: past it, repeats and
    /// the curves are estimated from a sample of the hashes.
    pub hashes_tracked_up_to: Option<usize>,
    pub pending_bytes: usize,
    pub bytes: u64,
}

/// A lookup-hash log carried whole (a capture folder's), cut where it meets a timeline: for
/// each part, the first of `times` (ascending) at or after its lines' `timestamp`s — the moment
/// by which they had been written — and its bytes (`None`: after the last time). Lines stay in
/// order: a line dated before one already placed goes with it; a line without a time, with
/// the one before (the first time, when it is first).
pub fn placed(log: &[u8], times: &[f64]) -> Vec<(Option<f64>, std::ops::Range<usize>)> {
    #[derive(Deserialize)]
    struct Dated {
        timestamp: Option<f64>,
    }
    let mut out: Vec<(Option<f64>, std::ops::Range<usize>)> = Vec::new();
    // The index in `times` of the part being made (times.len(): after the last).
    let mut at = 0;
    let mut start = 0;
    while start < log.len() {
        let end = memchr::memchr(b'\n', &log[start..]).map_or(log.len(), |n| start + n + 1);
        let when = serde_json::from_slice::<Dated>(&log[start..end])
            .ok()
            .and_then(|d| d.timestamp)
            .filter(|t| t.is_finite());
        let key = when.map_or(at, |t| at.max(times.partition_point(|x| *x < t)));
        match out.last_mut() {
            Some(last) if key == at && last.1.end == start => last.1.end = end,
            _ => out.push((times.get(key).copied(), start..end)),
        }
        at = key;
        start = end;
    }
    out
}

#[cfg(test)]
mod tests;
