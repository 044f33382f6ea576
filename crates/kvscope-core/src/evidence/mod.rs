//! Evidence beside the metrics: LMCache's storage trace (`.lct`), OTel span exports, the
//! server's and engine's logs and LMCache's lookup-hash log, decoded from the bytes a source
//! read. Pure, like `expo`: the model feeds it what arrived ([`Streams::apply`]) and it keeps
//! bounded results.

pub mod hashes;
pub mod lct;
pub mod lines;
pub mod log;
pub mod msg;
pub mod spans;
pub mod split;
pub mod trace;

use crate::vocab::Stream;

/// The largest count or size believed: whole numbers past 2^53 are not exact in an f64.
pub const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// A count or size written as text (a log's token count, a span's attribute): a number from 0
/// to 2^53. Anything else (negative, not finite, past 2^53, not a number) is not believed;
/// readers count what they did not believe as a data-quality note.
pub fn count(text: &str) -> Option<f64> {
    let v: f64 = text.trim().parse().ok()?;
    (v.is_finite() && (0.0..=MAX_COUNT).contains(&v)).then_some(v)
}

/// What one target's files said so far.
#[derive(Debug, Default)]
pub struct Streams {
    pub trace: Option<trace::Trace>,
    pub server_log: Option<lines::Log>,
    pub engine_log: Option<lines::Log>,
    pub spans: Option<spans::Spans>,
    pub hashes: Option<hashes::Hashlog>,
    /// Distinct chunks the capacity curve follows exactly before it samples (`None`: the
    /// default, [`crate::capacity::EXACT_CHUNKS`]).
    pub hash_limit: Option<usize>,
}

impl Streams {
    /// Takes bytes read from `stream`'s file (`origin`) at `time`; `fresh`: they begin a new
    /// file (the first read, or the file was replaced or cut under the tail).
    pub fn apply(
        &mut self,
        stream: Stream,
        time: Option<f64>,
        fresh: bool,
        body: &[u8],
        origin: &str,
    ) {
        match stream {
            Stream::Trace => {
                let t = match &mut self.trace {
                    // A new file is a new trace: its counts are that file's, as
                    // `lmcache trace info` would give them.
                    Some(t) if fresh || t.origin != origin => {
                        let restarts = t.restarts + 1;
                        *t = trace::Trace::new(origin);
                        t.restarts = restarts;
                        t
                    }
                    Some(t) => t,
                    None if fresh => self.trace.insert(trace::Trace::new(origin)),
                    // A recording that starts part-way into the file (its start fell out of
                    // the history kept): the tail sends whole frames, so records still read.
                    None => self.trace.insert(trace::Trace::headless(origin)),
                };
                t.push(body);
            }
            Stream::LookupHashes => {
                // A curve that follows `limit` distinct chunks exactly.
                let limit = self.hash_limit.unwrap_or(crate::capacity::EXACT_CHUNKS);
                let open = |o: &str| hashes::Hashlog::with_limit(o, limit);
                next(&mut self.hashes, fresh, origin, open).push(body)
            }
            Stream::Otel => next(&mut self.spans, fresh, origin, spans::Spans::new).push(body),
            Stream::ServerLog => {
                next(&mut self.server_log, fresh, origin, lines::Log::new).push(body, time)
            }
            Stream::EngineLog => {
                next(&mut self.engine_log, fresh, origin, lines::Log::new).push(body, time)
            }
        }
    }
}

/// A reader of a file whose counts go on across the files of a rotation (or one replaced
/// under the tail): logs, span exports, the lookup-hash log.
trait Rotating {
    fn origin(&self) -> &str;
    /// What follows is another file.
    fn next_file(&mut self, origin: &str);
}

/// The reader in `slot`, told first when these bytes begin another file; `open` makes the
/// first.
fn next<'a, R: Rotating>(
    slot: &'a mut Option<R>,
    fresh: bool,
    origin: &str,
    open: impl FnOnce(&str) -> R,
) -> &'a mut R {
    match slot {
        Some(r) => {
            if fresh || r.origin() != origin {
                r.next_file(origin);
            }
            r
        }
        None => slot.insert(open(origin)),
    }
}

impl Rotating for lines::Log {
    fn origin(&self) -> &str {
        &self.origin
    }
    fn next_file(&mut self, origin: &str) {
        self.restart();
        self.origin = origin.to_string();
    }
}

impl Rotating for spans::Spans {
    fn origin(&self) -> &str {
        &self.origin
    }
    fn next_file(&mut self, origin: &str) {
        self.restart(origin);
    }
}

impl Rotating for hashes::Hashlog {
    fn origin(&self) -> &str {
        &self.origin
    }
    fn next_file(&mut self, origin: &str) {
        hashes::Hashlog::next_file(self, origin);
    }
}

#[cfg(test)]
mod tests;
