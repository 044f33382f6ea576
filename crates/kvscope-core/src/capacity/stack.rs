//! LRU stack distances (Mattson): how deep in an LRU stack, in bytes, each reference finds its
//! key. The stack is kept as each key's last reference time in a Fenwick tree of weights
//! indexed by time, so a distance is one suffix sum and a reference one point move: O(log n).
//!
//! Memory is bounded: exact up to `limit` distinct keys, then SHARDS spatial sampling (a key is
//! kept only when a hash of it falls under a threshold; past the limit the threshold halves and
//! the keys above it are dropped), so at most `limit` keys are ever held.

/// The bits of a key that identify it; the top 8 carry its weight class.
const ID_BITS: u32 = 56;
const ID_MASK: u64 = (1 << ID_BITS) - 1;
/// Weight classes (chunk sizes) a stack tells apart.
pub const MAX_CLASSES: usize = 255;
/// The table grows past this load (in 1/16ths).
const MAX_LOAD_16THS: usize = 13;
/// The time range never shrinks below this many slots.
const MIN_TIMES: usize = 1024;

/// An LRU stack over keys of up to [`MAX_CLASSES`] weights.
#[derive(Debug)]
pub struct Stack {
    /// Open addressing, linear probing: a key (0 = empty) and its last reference time.
    keys: Vec<u64>,
    times: Vec<u32>,
    len: usize,
    /// Fenwick tree over times of each live key's weight, in units.
    tree: Vec<u32>,
    /// Which times hold a live key.
    marks: Vec<u64>,
    next_time: usize,
    /// The sum of live weights, in units.
    live: u64,
    /// Bytes per unit, and each class's weight in units (class 0 unused).
    unit: u64,
    class_bytes: Vec<u64>,
    class_units: Vec<u32>,
    /// Keys whose sample hash is at most this are kept (`u32::MAX`: all of them).
    threshold: u32,
    /// How many times the threshold was halved: the sampling rate is `2^-halvings`.
    halvings: u32,
    limit: usize,
}

/// A key's sample hash: spread from its identity, independent of where the table puts it.
fn sample_hash(key: u64) -> u32 {
    ((key & ID_MASK).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

impl Stack {
    /// A stack exact up to `limit` distinct keys (at least 64).
    pub fn new(limit: usize) -> Stack {
        Stack {
            keys: vec![0; 1024],
            times: vec![0; 1024],
            len: 0,
            tree: vec![0; MIN_TIMES + 1],
            marks: vec![0; MIN_TIMES.div_ceil(64)],
            next_time: 0,
            live: 0,
            unit: 1,
            class_bytes: vec![0],
            class_units: vec![0],
            threshold: u32::MAX,
            halvings: 0,
            limit: limit.max(64),
        }
    }

    /// The class of keys weighing `bytes` (registered on first use); `None` past
    /// [`MAX_CLASSES`] classes.
    pub fn class(&mut self, bytes: u64) -> Option<u8> {
        let bytes = bytes.max(1);
        if let Some(i) = self.class_bytes.iter().skip(1).position(|&b| b == bytes) {
            return Some(i as u8 + 1);
        }
        if self.class_bytes.len() > MAX_CLASSES {
            return None;
        }
        self.class_bytes.push(bytes);
        self.class_units.push(0);
        self.set_unit();
        Some((self.class_bytes.len() - 1) as u8)
    }

    /// The unit weights are counted in: the classes' common divisor, coarsened so the largest
    /// class times the limit still sums in 32 bits. Re-weights the tree when it changes.
    fn set_unit(&mut self) {
        let sizes = &self.class_bytes[1..];
        let gcd = sizes.iter().fold(0u64, |a, &b| gcd(a, b)).max(1);
        let max = sizes.iter().copied().max().unwrap_or(1);
        let room = u64::from(u32::MAX) / (self.limit as u64 + 1);
        let unit = gcd.max(max.div_ceil(room.max(1)));
        self.unit = unit;
        self.class_units = std::iter::once(0)
            .chain(sizes.iter().map(|&b| (b.div_ceil(unit)).max(1) as u32))
            .collect();
        self.compact();
    }

    /// The key for a hash in a class.
    pub fn key(class: u8, hash: u64) -> u64 {
        (u64::from(class) << ID_BITS) | (hash & ID_MASK)
    }

    /// Whether the stack follows this key (always, until sampling starts).
    pub fn sampled(&self, key: u64) -> bool {
        sample_hash(key) <= self.threshold
    }

    /// The sampling rate's exponent: references to kept keys stand for `2^halvings` each.
    pub fn halvings(&self) -> u32 {
        self.halvings
    }

    /// Distinct keys held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the stack's tables take.
    pub fn heap_bytes(&self) -> usize {
        self.keys.len() * 8 + self.times.len() * 4 + self.tree.len() * 4 + self.marks.len() * 8
    }

    fn slot(&self, key: u64) -> (usize, bool) {
        let mask = self.keys.len() - 1;
        let mut i = (key.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> 32) as usize & mask;
        loop {
            match self.keys[i] {
                0 => return (i, false),
                k if k == key => return (i, true),
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// The key's stack distance: the bytes of the distinct keys referenced since its last
    /// reference, its own included (so it is resident in an LRU cache of at least that many
    /// bytes), scaled up by the sampling rate. `None`: never referenced (or not sampled).
    pub fn distance(&self, key: u64) -> Option<u64> {
        let (i, found) = self.slot(key);
        if !found {
            return None;
        }
        let t = self.times[i] as usize;
        let above = self.live - self.prefix(t);
        Some((above * self.unit) << self.halvings)
    }

    /// Marks a reference to `key` (of the class in its top bits) now: it goes on top.
    pub fn touch(&mut self, key: u64) {
        if !self.sampled(key) {
            return;
        }
        if self.next_time + 1 >= self.tree.len() {
            self.compact();
        }
        let w = self.class_units[(key >> ID_BITS) as usize];
        let now = self.next_time;
        self.next_time += 1;
        let (i, found) = self.slot(key);
        if found {
            let t = self.times[i] as usize;
            self.add(t, -(i64::from(w)));
            self.marks[t / 64] &= !(1 << (t % 64));
        } else {
            self.keys[i] = key;
            self.len += 1;
        }
        self.times[i] = now as u32;
        self.add(now, i64::from(w));
        self.marks[now / 64] |= 1 << (now % 64);
        if !found {
            if self.len > self.limit {
                self.halve();
            } else if self.len * 16 > self.keys.len() * MAX_LOAD_16THS {
                self.rehash(self.keys.len() * 2);
            }
        }
    }

    /// Sum of weights at times before `t`.
    fn prefix(&self, t: usize) -> u64 {
        let mut i = t;
        let mut s = 0u64;
        while i > 0 {
            s += u64::from(self.tree[i]);
            i &= i - 1;
        }
        s
    }

    fn add(&mut self, t: usize, w: i64) {
        self.live = self.live.wrapping_add_signed(w);
        let mut i = t + 1;
        while i < self.tree.len() {
            self.tree[i] = (i64::from(self.tree[i]) + w) as u32;
            i += i & i.wrapping_neg();
        }
    }

    /// Renumbers the live keys' times 0, 1, … in their order and rebuilds the tree, with room
    /// for as many references again.
    fn compact(&mut self) {
        let mut rank = Vec::with_capacity(self.marks.len() + 1);
        let mut acc = 0u32;
        for w in &self.marks {
            rank.push(acc);
            acc += w.count_ones();
        }
        let size = (2 * self.len).max(MIN_TIMES);
        let mut tree = vec![0u32; size + 1];
        for (k, t) in self.keys.iter().zip(self.times.iter_mut()) {
            if *k == 0 {
                continue;
            }
            let old = *t as usize;
            let below = self.marks[old / 64] & ((1u64 << (old % 64)) - 1);
            let new = rank[old / 64] + below.count_ones();
            *t = new;
            tree[new as usize + 1] = self.class_units[(*k >> ID_BITS) as usize];
        }
        // Fenwick build in place: each node passes its sum to its parent.
        for i in 1..=size {
            let j = i + (i & i.wrapping_neg());
            if j <= size {
                tree[j] += tree[i];
            }
        }
        self.tree = tree;
        self.next_time = self.len;
        self.live = self.prefix(self.len);
        self.marks = vec![0; (size + 1).div_ceil(64)];
        for t in 0..self.len {
            self.marks[t / 64] |= 1 << (t % 64);
        }
    }

    /// Moves every key into a table of `size` slots (a power of two), keeping those sampled.
    fn rehash(&mut self, size: usize) {
        let keys = std::mem::replace(&mut self.keys, vec![0; size]);
        let times = std::mem::replace(&mut self.times, vec![0; size]);
        let mut kept = 0;
        let mut dropped = false;
        for (k, t) in keys.into_iter().zip(times) {
            if k == 0 {
                continue;
            }
            if !self.sampled(k) {
                let t = t as usize;
                self.marks[t / 64] &= !(1 << (t % 64));
                dropped = true;
                continue;
            }
            let (i, _) = self.slot(k);
            self.keys[i] = k;
            self.times[i] = t;
            kept += 1;
        }
        self.len = kept;
        if dropped {
            self.compact();
        }
    }

    /// Halves the sampling rate, dropping the keys it no longer keeps.
    fn halve(&mut self) {
        while self.len > self.limit / 2 && self.threshold > 0 {
            self.threshold /= 2;
            self.halvings += 1;
            let size = self.keys.len();
            self.rehash(size);
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests;
