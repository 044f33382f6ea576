//! LMCache's storage trace (`.lct`): `[u32 big-endian length][msgpack map]` frames, a header
//! first and records after, decoded as bytes arrive so a file still being written can be
//! followed. A partial last frame waits for more bytes; a record that does not decode is
//! skipped and counted; a frame length past [`MAX_FRAME`] or a bad header stops the decoding
//! with an error that says at which byte.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::msg::Msg;

/// The largest frame taken (real records are under 10 KB, the header a few KB): a longer
/// length prefix means the file is not a trace or is corrupt.
pub const MAX_FRAME: u32 = 16 << 20;

/// The trace's header frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub format_version: i64,
    /// `storage` or `events`.
    pub level: String,
    /// `None`: the header has no such field (a recorder older than the field; no release on
    /// PyPI writes one, 0.4.4 to 0.5.6 write 1, 0.5.7 writes 2). Its records are read as
    /// schema 1's.
    pub trace_schema_version: Option<i64>,
    /// sha256 of the StorageManager config JSON; empty when the recorder had none.
    pub sm_config_digest: String,
    /// `level_meta`, each value as one readable line.
    pub level_meta: Vec<(String, String)>,
}

/// The parts of a record every reader needs; its arguments stay in the frame until shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Record<'a> {
    /// Seconds since the recorder's start.
    pub t_mono: f64,
    /// Seconds since the epoch.
    pub t_wall: f64,
    pub qualname: &'a str,
}

/// What the decoder found in the bytes given.
#[derive(Debug)]
pub enum Item<'a> {
    Header(Header),
    /// A record, and its whole frame (for [`args`]).
    Record(Record<'a>, &'a [u8]),
    /// A frame that did not decode as a record, at this byte of the file.
    Skipped {
        at: u64,
        error: String,
    },
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    t_mono: f64,
    #[serde(default)]
    t_wall: f64,
    #[serde(default)]
    qualname: &'a str,
    #[serde(default, rename = "args")]
    _args: IgnoredAny,
}

/// A record's arguments, decoded from its frame.
pub fn args(frame: &[u8]) -> Result<Vec<(String, Msg)>, String> {
    let v: Msg = rmp_serde::from_slice(frame).map_err(|e| e.to_string())?;
    match v.get("args") {
        None => Ok(Vec::new()),
        Some(Msg::Map(kv)) => Ok(kv
            .iter()
            .map(|(k, v)| {
                let name = k
                    .as_str()
                    .map_or_else(|| super::msg::brief(k, 0, 40), str::to_string);
                (name, v.clone())
            })
            .collect()),
        Some(_) => Err("args is not a map".into()),
    }
}

/// An incremental `.lct` decoder: give it the file's bytes in order, in pieces of any size.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Bytes of a frame not yet complete.
    pending: Vec<u8>,
    /// File offset of the next byte not yet consumed into a frame.
    at: u64,
    header: bool,
    /// Why decoding stopped, at which byte; nothing more is read after it.
    fatal: Option<String>,
}

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder for bytes that begin at a frame boundary after the header (a recording that
    /// starts part-way into the file): records decode, the header is never seen.
    pub fn headless() -> Decoder {
        Decoder {
            header: true,
            ..Decoder::default()
        }
    }

    /// Bytes that begin a frame at their start and end at the end of the last whole frame in
    /// them: how many of `b`'s bytes that is (what a tail may send so that any later part of
    /// the file starts at a frame boundary).
    pub fn whole_frames(b: &[u8]) -> usize {
        let mut pos = 0;
        while let Some(n) = frame_len(&b[pos..]) {
            let end = pos + 4 + n as usize;
            if n > MAX_FRAME || end > b.len() {
                break;
            }
            pos = end;
        }
        pos
    }

    /// Whether `b` cannot begin a frame: its length field says more than any frame holds
    /// (a file that is not a trace). Such bytes are passed on whole, so the decoder says so
    /// instead of waiting for a frame that never completes.
    pub fn impossible_start(b: &[u8]) -> bool {
        frame_len(b).is_some_and(|n| n > MAX_FRAME)
    }

    /// Why decoding stopped, if it did.
    pub fn fatal(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// Decodes what `chunk` completes, calling `each` per frame.
    pub fn push(&mut self, chunk: &[u8], mut each: impl FnMut(Item<'_>)) {
        if self.fatal.is_some() {
            return;
        }
        if self.pending.is_empty() {
            // The usual case: whole frames straight from the chunk, only a cut tail copied.
            let used = self.frames(chunk, &mut each);
            if self.fatal.is_none() {
                self.pending.extend_from_slice(&chunk[used..]);
            }
            return;
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(chunk);
        let used = self.frames(&buf, &mut each);
        if self.fatal.is_none() {
            buf.drain(..used);
            self.pending = buf;
        }
    }

    /// Whether the bytes so far end on a frame boundary; if not, where the cut frame starts
    /// and how many of its bytes arrived.
    pub fn partial(&self) -> Option<(u64, usize)> {
        (!self.pending.is_empty()).then_some((self.at, self.pending.len()))
    }

    /// Decodes every whole frame at the start of `b`; the bytes used.
    fn frames(&mut self, b: &[u8], each: &mut impl FnMut(Item<'_>)) -> usize {
        let mut pos = 0;
        while let Some(n) = frame_len(&b[pos..]) {
            if n > MAX_FRAME {
                self.fatal = Some(format!(
                    "the frame at byte {} claims {n} bytes, more than a trace frame can be ({MAX_FRAME}): not a trace, or corrupt",
                    self.at
                ));
                return pos;
            }
            let end = pos + 4 + n as usize;
            if end > b.len() {
                break;
            }
            let frame = &b[pos + 4..end];
            if self.header {
                each(match rmp_serde::from_slice::<RawRecord>(frame) {
                    Ok(r) if r.kind == "record" => Item::Record(
                        Record {
                            t_mono: r.t_mono,
                            t_wall: r.t_wall,
                            qualname: r.qualname,
                        },
                        frame,
                    ),
                    Ok(r) => Item::Skipped {
                        at: self.at,
                        error: format!("a frame of type {:?}, not a record", r.kind),
                    },
                    Err(e) => Item::Skipped {
                        at: self.at,
                        error: format!("not a record: {e}"),
                    },
                });
            } else {
                match header(frame) {
                    Ok(h) => {
                        self.header = true;
                        each(Item::Header(h));
                    }
                    Err(e) => {
                        self.fatal = Some(format!("the header at byte {}: {e}", self.at));
                        return pos;
                    }
                }
            }
            self.at += 4 + u64::from(n);
            pos = end;
        }
        pos
    }
}

fn frame_len(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

/// The header frame; an error when it is not one kvscope can read.
fn header(frame: &[u8]) -> Result<Header, String> {
    let v: Msg = rmp_serde::from_slice(frame).map_err(|e| format!("not a msgpack map: {e}"))?;
    if v.get("type").and_then(Msg::as_str) != Some("header") {
        return Err("the first frame is not a header (not an LMCache trace)".into());
    }
    match v.get("magic") {
        Some(Msg::Bin(m)) if m == b"LMCT" => {}
        Some(Msg::Str(m)) if m == "LMCT" => {}
        _ => return Err("the magic is not LMCT (not an LMCache trace)".into()),
    }
    let int = |k: &str| v.get(k).and_then(Msg::as_i64);
    let format_version = int("format_version").ok_or("no format_version")?;
    if format_version != 1 {
        return Err(format!(
            "format_version {format_version}; kvscope reads version 1"
        ));
    }
    let trace_schema_version = match v.get("trace_schema_version") {
        None => None,
        Some(x) => match x.as_i64() {
            Some(n @ 1..=2) => Some(n),
            _ => {
                return Err(format!(
                    "trace_schema_version {}; kvscope reads 1 and 2, or none",
                    super::msg::brief(x, 0, 40)
                ));
            }
        },
    };
    let text = |k: &str| v.get(k).and_then(Msg::as_str).unwrap_or("").to_string();
    let level_meta = match v.get("level_meta") {
        Some(Msg::Map(kv)) => kv
            .iter()
            .map(|(k, x)| {
                let key = k
                    .as_str()
                    .map_or_else(|| super::msg::brief(k, 0, 40), str::to_string);
                let value = x
                    .as_str()
                    .map_or_else(|| super::msg::brief(x, 2, 200), str::to_string);
                (key, value)
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Header {
        format_version,
        level: text("level"),
        trace_schema_version,
        sm_config_digest: text("sm_config_digest"),
        level_meta,
    })
}
