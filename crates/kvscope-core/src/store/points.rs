//! Change points of one series, compressed in blocks: the store's codec.

/// Points per block of [`Points`]: how much history a trim may keep beyond the window (at most
/// this many points per series) and how many points a lookup decodes at most.
pub(super) const BLOCK: u16 = 64;

/// Change points, compressed in blocks of up to [`BLOCK`]. In a block, each point after the
/// first is its sequence delta (LEB128; usually one byte) and its value XORed with the previous
/// value's bits, written as one byte counting the zero bytes dropped at each end, then the bytes
/// left. A counter moving by whole numbers costs about 3 bytes a point instead of 12.
#[derive(Debug, Default)]
pub(super) struct Points {
    /// Oldest first. A `Vec`, not a `VecDeque`: most series hold one or two blocks, and a
    /// deque would reserve four (320 bytes) for the first.
    blocks: Vec<Block>,
}

#[derive(Debug)]
struct Block {
    first: (u32, f64),
    last: (u32, f64),
    /// The point before `last` and where `last`'s bytes start, so it can be rewritten.
    prev: (u32, f64),
    last_off: u32,
    count: u16,
    bytes: Vec<u8>,
}

fn encode(bytes: &mut Vec<u8>, delta: u32, prev: f64, v: f64) {
    let mut d = delta;
    while d >= 0x80 {
        bytes.push((d as u8 & 0x7f) | 0x80);
        d >>= 7;
    }
    bytes.push(d as u8);
    let x = (prev.to_bits() ^ v.to_bits()).to_be_bytes();
    let lz = x.iter().take_while(|&&b| b == 0).count();
    if lz == 8 {
        bytes.push(8 << 4);
        return;
    }
    let tz = x.iter().rev().take_while(|&&b| b == 0).count();
    bytes.push(((lz as u8) << 4) | tz as u8);
    bytes.extend_from_slice(&x[lz..8 - tz]);
}

impl Block {
    fn new(seq: u32, v: f64) -> Block {
        Block {
            first: (seq, v),
            last: (seq, v),
            prev: (seq, v),
            last_off: 0,
            count: 1,
            bytes: Vec::new(),
        }
    }

    /// The value of the last point at or before `seq` (at or after the block's first): the
    /// decoding of [`Block::iter`] in a plain loop, stopping there (it is most of what a window
    /// reads).
    fn value_at(&self, seq: u32) -> f64 {
        let (mut at, mut bits) = (self.first.0, self.first.1.to_bits());
        let mut pos = 0;
        while pos < self.bytes.len() {
            let (delta, x) = decode(&self.bytes, &mut pos);
            if at + delta > seq {
                break;
            }
            at += delta;
            bits ^= x;
        }
        f64::from_bits(bits)
    }

    /// Every point, oldest first.
    fn iter(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        let (mut seq, mut bits) = (self.first.0, self.first.1.to_bits());
        let mut pos = 0;
        std::iter::once(self.first).chain(std::iter::from_fn(move || {
            if pos >= self.bytes.len() {
                return None;
            }
            let (delta, x) = decode(&self.bytes, &mut pos);
            seq += delta;
            bits ^= x;
            Some((seq, f64::from_bits(bits)))
        }))
    }
}

/// The point at `pos` in a block's bytes, as [`encode`] wrote it: its sequence delta and the
/// bits to XOR into the previous value's. Moves `pos` past it.
#[inline]
fn decode(b: &[u8], pos: &mut usize) -> (u32, u64) {
    let (mut delta, mut shift) = (0u32, 0);
    loop {
        let byte = b[*pos];
        *pos += 1;
        delta |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let c = b[*pos];
    *pos += 1;
    let (lz, tz) = (usize::from(c >> 4), usize::from(c & 0xf));
    if lz >= 8 {
        return (delta, 0);
    }
    // The bytes kept, most significant first, shifted back over the trailing zeros: a loop of
    // at most 8 rather than a copy of variable length (a call to memmove).
    let n = 8 - lz - tz;
    let x = b[*pos..*pos + n]
        .iter()
        .fold(0u64, |x, &byte| (x << 8) | u64::from(byte));
    *pos += n;
    (delta, x << (8 * tz))
}

impl Points {
    /// Scrape sequence numbers fit in 32 bits for 136 years of 1 s scrapes.
    fn narrow(seq: u64) -> u32 {
        u32::try_from(seq).unwrap_or(u32::MAX)
    }

    /// Index of the block holding the last point at or before `seq`, if any.
    fn block_of(&self, seq: u32) -> Option<usize> {
        self.blocks
            .partition_point(|b| b.first.0 <= seq)
            .checked_sub(1)
    }

    /// The value of the last point at or before `seq` (possibly the absent marker).
    pub(super) fn value_at(&self, seq: u64) -> Option<f64> {
        let seq = Self::narrow(seq);
        // Most reads are of the newest scrape: the last point answers them.
        if let Some(b) = self.blocks.last()
            && seq >= b.last.0
        {
            return Some(b.last.1);
        }
        let b = &self.blocks[self.block_of(seq)?];
        if seq >= b.last.0 {
            return Some(b.last.1);
        }
        if seq >= b.prev.0 {
            return Some(b.prev.1);
        }
        Some(b.value_at(seq))
    }

    /// Points after `seq`, oldest first.
    pub(super) fn after(&self, seq: u64) -> impl Iterator<Item = (u64, f64)> + '_ {
        let seq = Self::narrow(seq);
        let start = self.block_of(seq).unwrap_or(0);
        self.blocks[start..]
            .iter()
            .flat_map(Block::iter)
            .skip_while(move |p| p.0 <= seq)
            .map(|(s, v)| (u64::from(s), v))
    }

    pub(super) fn back(&self) -> Option<(u64, f64)> {
        self.blocks.last().map(|b| (u64::from(b.last.0), b.last.1))
    }

    /// Replaces the newest point's value.
    pub(super) fn set_last_value(&mut self, v: f64) {
        let Some(b) = self.blocks.last_mut() else {
            return;
        };
        if b.count == 1 {
            b.first.1 = v;
        } else {
            b.bytes.truncate(b.last_off as usize);
            encode(&mut b.bytes, b.last.0 - b.prev.0, b.prev.1, v);
        }
        b.last.1 = v;
    }

    pub(super) fn push_back(&mut self, (seq, v): (u64, f64)) {
        let seq = Self::narrow(seq);
        match self.blocks.last_mut() {
            Some(b) if b.count < BLOCK => {
                b.prev = b.last;
                b.last_off = b.bytes.len() as u32;
                encode(&mut b.bytes, seq - b.last.0, b.last.1, v);
                b.last = (seq, v);
                b.count += 1;
                if b.count == BLOCK {
                    b.bytes.shrink_to_fit();
                }
            }
            _ => {
                if self.blocks.is_empty() {
                    self.blocks.reserve_exact(1);
                }
                self.blocks.push(Block::new(seq, v))
            }
        }
    }

    /// Drops whole blocks older than the one holding the point at or before `oldest` (that
    /// point is the oldest scrape's value).
    pub(super) fn trim(&mut self, oldest: u64) {
        let oldest = Self::narrow(oldest);
        // Blocks are few (an hour at 1 s is 57 of them), so shifting the rest is cheap.
        let drop = self
            .blocks
            .iter()
            .skip(1)
            .take_while(|b| b.first.0 <= oldest)
            .count();
        self.blocks.drain(..drop);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.blocks.iter().map(|b| usize::from(b.count)).sum()
    }
}
