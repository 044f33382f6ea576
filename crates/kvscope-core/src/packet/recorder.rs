//! The recorder: every event a live session hears, as it came off the wire, kept for the
//! history the store keeps and compressed in memory, so `e` can export it. Events are framed
//! (`[u32 header length][header JSON][u32 body length][body]`) into one zstd stream per block of
//! [`BLOCK_SECONDS`]: consecutive scrapes of a target are nearly equal and the stream sees the
//! previous one, so an hour costs a few MB. Whole blocks are dropped once they fall out of the
//! history.

use std::collections::VecDeque;
use std::io::{Read, Write};

use super::write::{EventSource, split_body};
use crate::vocab::Event;

/// Seconds of events per compressed block.
pub const BLOCK_SECONDS: f64 = 60.0;
/// zstd level in memory: fast, and still near 100× on repeated scrapes.
const LEVEL: i32 = 1;

/// A finished block: one zstd frame.
struct Block {
    last: f64,
    events: usize,
    bytes: Vec<u8>,
}

/// The block being written.
struct Open {
    first: f64,
    last: f64,
    events: usize,
    enc: zstd::Encoder<'static, Vec<u8>>,
}

/// The recording of one session.
pub struct Recorder {
    /// Seconds of history kept (whole blocks beyond it are dropped).
    keep: f64,
    blocks: VecDeque<Block>,
    open: Option<Open>,
    /// Events that could not be recorded (a compressor error), said at export.
    pub lost: usize,
}

impl Recorder {
    pub fn new(keep: f64) -> Recorder {
        Recorder {
            keep,
            blocks: VecDeque::new(),
            open: None,
            lost: 0,
        }
    }

    /// Records one event.
    pub fn record(&mut self, event: &Event) {
        let newest = self.open.as_ref().map_or(f64::MIN, |o| o.last);
        let time = event.time().unwrap_or(newest).max(newest);
        if self
            .open
            .as_ref()
            .is_some_and(|o| time - o.first >= BLOCK_SECONDS)
        {
            self.close();
        }
        if self.open.is_none() {
            match zstd::Encoder::new(Vec::new(), LEVEL) {
                Ok(enc) => {
                    self.open = Some(Open {
                        first: time,
                        last: time,
                        events: 0,
                        enc,
                    })
                }
                Err(_) => {
                    self.lost += 1;
                    return;
                }
            }
        }
        let open = self.open.as_mut().expect("opened above");
        let (header, body) = split_body(event);
        let Ok(header) = serde_json::to_vec(&header) else {
            self.lost += 1;
            return;
        };
        let body = body.unwrap_or_default();
        let framed = [
            &(header.len() as u32).to_le_bytes()[..],
            &header,
            &(body.len() as u32).to_le_bytes()[..],
            &body,
        ];
        if framed
            .iter()
            .try_for_each(|part| open.enc.write_all(part))
            .is_err()
        {
            self.lost += 1;
            return;
        }
        open.last = time;
        open.events += 1;
        self.drop_old(time);
    }

    /// Finishes the open block.
    fn close(&mut self) {
        let Some(open) = self.open.take() else {
            return;
        };
        match open.enc.finish() {
            Ok(bytes) => self.blocks.push_back(Block {
                last: open.last,
                events: open.events,
                bytes,
            }),
            Err(_) => self.lost += open.events,
        }
    }

    /// Drops whole blocks that ended before the history kept.
    fn drop_old(&mut self, newest: f64) {
        while self
            .blocks
            .front()
            .is_some_and(|b| b.last < newest - self.keep)
        {
            self.blocks.pop_front();
        }
    }

    /// Compressed bytes held.
    pub fn held_bytes(&self) -> usize {
        let open = self.open.as_ref().map_or(0, |o| o.enc.get_ref().len());
        self.blocks.iter().map(|b| b.bytes.len()).sum::<usize>() + open
    }

    /// Events held.
    pub fn len(&self) -> usize {
        let open = self.open.as_ref().map_or(0, |o| o.events);
        self.blocks.iter().map(|b| b.events).sum::<usize>() + open
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every event held, oldest first. The open block is finished first (a new one starts with
    /// the next event), so what is exported is exactly what was recorded.
    pub fn events(&mut self) -> Vec<Event> {
        self.snapshot().events()
    }

    /// What is held, still compressed (a copy of a few MB): taken where events arrive, decoded
    /// elsewhere, so an export does not hold up the model.
    pub fn snapshot(&mut self) -> Snapshot {
        self.close();
        Snapshot {
            blocks: self.blocks.iter().map(|b| b.bytes.clone()).collect(),
            events: self.len(),
            newest: self.blocks.back().map(|b| b.last),
        }
    }
}

/// The recorder's blocks at one moment.
pub struct Snapshot {
    blocks: Vec<Vec<u8>>,
    events: usize,
    newest: Option<f64>,
}

impl Snapshot {
    /// Every event, oldest first.
    pub fn events(&self) -> Vec<Event> {
        let mut out = Vec::with_capacity(self.events);
        let _ = self.each(&mut |e| {
            out.push(e);
            Ok(())
        });
        out
    }

    /// The time of the newest event.
    pub fn newest(&self) -> Option<f64> {
        self.newest
    }
}

impl EventSource for Snapshot {
    fn each(&self, f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
        self.blocks.iter().try_for_each(|b| decode(b, f))
    }
}

/// Hands each event of one block to `f`, in order.
fn decode(frame: &[u8], f: &mut dyn FnMut(Event) -> Result<(), String>) -> Result<(), String> {
    let Ok(mut dec) = zstd::Decoder::with_buffer(frame) else {
        return Ok(());
    };
    let mut len = [0u8; 4];
    while dec.read_exact(&mut len).is_ok() {
        let mut header = vec![0u8; u32::from_le_bytes(len) as usize];
        if dec.read_exact(&mut header).is_err() || dec.read_exact(&mut len).is_err() {
            return Ok(());
        }
        let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
        if dec.read_exact(&mut body).is_err() {
            return Ok(());
        }
        let Ok(mut event) = serde_json::from_slice::<Event>(&header) else {
            return Ok(());
        };
        super::timeline::put_body(&mut event, body);
        f(event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_recorded_comes_back_and_old_blocks_go() {
        let (events, _) = crate::demo::recorded(31);
        let mut r = Recorder::new(3600.0);
        events.iter().for_each(|e| r.record(e));
        assert_eq!(r.len(), events.len());
        assert_eq!(r.events(), events);
        // The recording spans about 4 minutes: with 2 minutes kept, the first blocks go.
        let mut short = Recorder::new(120.0);
        events.iter().for_each(|e| short.record(e));
        let kept = short.events();
        assert!(kept.len() < events.len() && !kept.is_empty());
        assert_eq!(kept[..], events[events.len() - kept.len()..]);
        let newest = events.iter().filter_map(Event::time).fold(0.0, f64::max);
        let oldest = kept[0].time().unwrap();
        assert!(
            newest - oldest <= 120.0 + BLOCK_SECONDS,
            "{}",
            newest - oldest
        );
    }

    #[test]
    fn nearly_equal_scrapes_cost_little_in_memory() {
        let (events, _) = crate::demo::recorded(31);
        let body = match &events[31] {
            Event::Scrape { body, .. } => body.clone(),
            _ => unreachable!("the 32nd event is the last LMCache scrape"),
        };
        let mut r = Recorder::new(3600.0);
        for i in 0..600 {
            r.record(&Event::Scrape {
                target: events[0].target(),
                time: Some(f64::from(i)),
                body: body.clone(),
                format: None,
                origin: "t31".into(),
            });
        }
        // 600 × the real t31 scrape (several KB each) in far less than one copy per scrape.
        assert!(
            r.held_bytes() * 50 < body.len() * 600,
            "{} bytes",
            r.held_bytes()
        );
    }
}
