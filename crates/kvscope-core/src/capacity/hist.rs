//! Stack distances kept as a histogram of looked-up tokens by distance: each distance below
//! 2^11 in a bucket of its own, and above that buckets 1/2,048 to 1/1,024 of their value wide
//! (as HdrHistogram does). A bucket's tokens count as at its lowest value: a distance of k
//! chunks of one size (k below 1,024) is always a bucket's lowest value, so with one chunk
//! size the curve is exact; with several, a capacity is placed to within 0.1 %.

const SUB: u32 = 11;

/// Tokens by stack distance (bytes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hist {
    counts: Vec<u64>,
    total: u64,
}

fn index(v: u64) -> usize {
    if v < 1 << SUB {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    (((e - SUB + 1) as usize) << SUB) + ((v >> (e - SUB)) as usize - (1 << SUB))
}

/// The lowest value of a bucket and its width.
fn bounds(i: usize) -> (u64, u64) {
    if i < 2 << SUB {
        return (i as u64, 1);
    }
    let octave = (i >> SUB) as u32;
    let shift = octave - 1;
    let m = (i as u64 & ((1 << SUB) - 1)) + (1 << SUB);
    (m << shift, 1 << shift)
}

impl Hist {
    pub fn add(&mut self, distance: u64, tokens: u64) {
        let i = index(distance);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += tokens;
        self.total += tokens;
    }

    /// Tokens counted.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Tokens whose distance is at most `capacity` (those an LRU of that many bytes serves).
    pub fn within(&self, capacity: f64) -> u64 {
        let mut sum = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            if bounds(i).0 as f64 > capacity {
                break;
            }
            sum += n;
        }
        sum
    }

    /// The smallest capacity (bytes) within which `tokens` tokens fall; `None` when fewer do.
    pub fn capacity_for(&self, tokens: f64) -> Option<u64> {
        let mut sum = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            sum += n;
            if n > 0 && sum as f64 >= tokens {
                return Some(bounds(i).0);
            }
        }
        None
    }

    /// The largest distance counted.
    pub fn max(&self) -> Option<u64> {
        let i = self.counts.iter().rposition(|&n| n > 0)?;
        Some(bounds(i).0)
    }

    pub fn merge(&mut self, other: &Hist) {
        if other.counts.len() > self.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_each_value_lands_in_its_own() {
        let mut prev_end = 0;
        for i in 0..40_000 {
            let (lo, w) = bounds(i);
            assert_eq!(lo, prev_end, "bucket {i}");
            prev_end = lo + w;
            assert_eq!(index(lo), i);
            assert_eq!(index(lo + w - 1), i);
            assert!(lo < 2 << SUB || (w as f64) / (lo as f64) <= 1.0 / 2048.0 + 1e-12);
        }
    }

    #[test]
    fn within_and_capacity_for_invert_each_other() {
        // Hand-made: distances of 1 to 3 chunks of 32 MiB.
        let mut h = Hist::default();
        let chunk = 32u64 << 20;
        h.add(chunk, 256);
        h.add(2 * chunk, 512);
        h.add(3 * chunk, 256);
        assert_eq!(h.within((chunk - 1) as f64), 0);
        assert_eq!(h.within(chunk as f64), 256);
        assert_eq!(h.within(3.0 * chunk as f64 - 1.0), 768);
        assert_eq!(h.within(3.0 * chunk as f64), 1024);
        assert_eq!(h.capacity_for(768.0), Some(2 * chunk));
        assert_eq!(h.capacity_for(1025.0), None);
        assert_eq!(h.max(), Some(3 * chunk));
        // Every multiple of a chunk below 1,024 is a bucket's lowest value.
        for k in 1..1024 {
            assert_eq!(bounds(index(k * chunk)).0, k * chunk);
        }
    }
}
