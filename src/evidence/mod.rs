//! Evidence beside the metrics: LMCache's storage trace (`.lct`), OTel span exports, the
//! server's and engine's logs and LMCache's lookup-hash log, decoded from the bytes a source read. Pure, like `expo`: the model feeds it what
//! arrived ([`Streams::apply`]) and it keeps bounded results.

pub mod hashes;
pub mod lct;
pub mod lines;
pub mod log;
pub mod msg;
pub mod spans;
pub mod trace;

use crate::vocab::Stream;

/// What one target's files said so far.
#[derive(Debug, Default)]
pub struct Streams {
    pub trace: Option<trace::Trace>,
    pub server_log: Option<lines::Log>,
    pub engine_log: Option<lines::Log>,
    pub spans: Option<spans::Spans>,
    pub hashes: Option<hashes::Hashlog>,
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
                    None => self.trace.insert(trace::Trace::new(origin)),
                };
                t.push(body);
            }
            Stream::LookupHashes => {
                let h = match &mut self.hashes {
                    // The rotation's next file: the counts go on.
                    Some(h) => {
                        if fresh || h.origin != origin {
                            h.next_file(origin);
                        }
                        h
                    }
                    None => self.hashes.insert(hashes::Hashlog::new(origin)),
                };
                h.push(body);
            }
            Stream::Otel => {
                let s = match &mut self.spans {
                    // A new export is read from its start: spans already read stay (they are
                    // the same requests' history).
                    Some(s) => {
                        if fresh || s.origin != origin {
                            s.restart(origin);
                        }
                        s
                    }
                    None => self.spans.insert(spans::Spans::new(origin)),
                };
                s.push(body);
            }
            Stream::ServerLog | Stream::EngineLog => {
                let slot = if stream == Stream::ServerLog {
                    &mut self.server_log
                } else {
                    &mut self.engine_log
                };
                let l = match slot {
                    Some(l) => {
                        if fresh || l.origin != origin {
                            l.restart();
                            l.origin = origin.to_string();
                        }
                        l
                    }
                    None => slot.insert(lines::Log::new(origin)),
                };
                l.push(body, time);
            }
        }
    }
}

#[cfg(test)]
mod tests;
