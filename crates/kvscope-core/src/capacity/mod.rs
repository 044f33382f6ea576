//! How much cache is enough: exact LRU hit-rate-versus-capacity curves from LMCache's
//! lookup-hash log, following LMCache's prefix semantics (a lookup hits the leading run of its
//! chunks still held; then every chunk it named is referenced, the last first, so a request's
//! first chunk ends on top, as LMCache's LRU touches them). `docs/capacity.md` states the model.
//!
//! [`Curves`] takes lookups as they are read ([`Curves::lookup`]) and keeps, per model, a
//! histogram of looked-up tokens by the largest stack distance of the chunk's prefix; a curve
//! is then read at any capacity ([`ModelCurve::hit_rate`]). The report's `capacity` section
//! (the curve's points, today's point, the sizes to reach a hit rate) is made from them in
//! `analysis::capacity`.

pub mod hist;
pub mod stack;

use std::collections::BTreeMap;

use hist::Hist;
use stack::Stack;

/// Distinct chunks followed exactly before sampling starts.
pub const EXACT_CHUNKS: usize = 2_000_000;

/// One model's lookups (one keyspace per model and cache salt, as LMCache keys them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelCurve {
    /// Looked-up tokens by the stack distance of their chunk's prefix (sampled references
    /// weighted up by the rate).
    pub hist: Hist,
    /// Looked-up tokens of chunks never seen before (weighted likewise).
    pub cold: u64,
    /// Bytes of one chunk (from the log's shapes and dtypes); `None` when they do not say.
    pub chunk_bytes: Option<u64>,
    pub chunk_tokens: Option<u64>,
}

impl ModelCurve {
    /// Looked-up tokens counted (weighted).
    pub fn tokens(&self) -> u64 {
        self.hist.total() + self.cold
    }

    /// The share of looked-up tokens an LRU holding `capacity` bytes would have served.
    pub fn hit_rate(&self, capacity: f64) -> Option<f64> {
        let all = self.tokens();
        (all > 0).then(|| self.hist.within(capacity) as f64 / all as f64)
    }

    /// The hit rate of an unbounded cache: every token of a chunk seen before.
    pub fn ceiling(&self) -> Option<f64> {
        let all = self.tokens();
        (all > 0).then(|| self.hist.total() as f64 / all as f64)
    }

    /// The smallest capacity (bytes held) that serves `rate` of the looked-up tokens; `None`
    /// above the ceiling.
    pub fn capacity_for(&self, rate: f64) -> Option<f64> {
        let all = self.tokens();
        if all == 0 {
            return None;
        }
        if rate <= 0.0 {
            return Some(0.0);
        }
        // A rate given as a fraction of tokens counted: no rounding above it.
        self.hist
            .capacity_for((rate * all as f64 - 1e-6).ceil())
            .map(|c| c as f64)
    }

    /// The capacity where the curve reaches its ceiling (the deepest reuse).
    pub fn full(&self) -> Option<f64> {
        self.hist.max().map(|m| m as f64)
    }
}

/// The curves of a lookup-hash log as read so far.
#[derive(Debug)]
pub struct Curves {
    stack: Stack,
    pub models: BTreeMap<String, ModelCurve>,
    /// Distinct chunks ever seen (estimated from the sample once sampling starts).
    distinct: u64,
    /// Chunks whose own distance was smaller than their prefix's largest (a later chunk held
    /// longer than an earlier one): counted to check the model, never expected.
    pub out_of_order: u64,
    /// More chunk sizes came than the stack tells apart: the later ones weigh as the first.
    pub classes_exhausted: bool,
    limit: usize,
}

/// One lookup as the log gives it.
pub struct Lookup<'a> {
    pub model: &'a str,
    /// The keyspace beside the model (a cache salt) where the log carries one.
    pub salt: Option<&'a str>,
    pub chunk_tokens: u64,
    pub chunk_bytes: Option<u64>,
    /// The chunks' hashes (already numbers), in the request's order.
    pub hashes: &'a [u64],
}

fn hash_of(parts: impl std::hash::Hash) -> u64 {
    use std::hash::BuildHasher;
    foldhash::quality::FixedState::with_seed(0x6b76_6361).hash_one(parts)
}

impl Default for Curves {
    fn default() -> Curves {
        Curves::new(EXACT_CHUNKS)
    }
}

impl Curves {
    /// Curves exact up to `limit` distinct chunks, sampled past it.
    pub fn new(limit: usize) -> Curves {
        Curves {
            stack: Stack::new(limit),
            models: BTreeMap::new(),
            distinct: 0,
            out_of_order: 0,
            classes_exhausted: false,
            limit,
        }
    }

    /// Takes one lookup: its chunks' hits at every capacity, then its references. Returns
    /// how many of its chunks had been seen before (estimated once sampled).
    pub fn lookup(&mut self, l: &Lookup<'_>) -> u64 {
        let bytes = l.chunk_bytes.unwrap_or(1);
        let class = match self.stack.class(bytes) {
            Some(c) => c,
            None => {
                self.classes_exhausted = true;
                1
            }
        };
        let space = hash_of((l.model, l.salt));
        let keys: Vec<u64> = l
            .hashes
            .iter()
            .map(|h| Stack::key(class, hash_of((space, *h))))
            .collect();
        let m = self.models.entry(l.model.to_string()).or_default();
        m.chunk_bytes = m.chunk_bytes.or(l.chunk_bytes);
        m.chunk_tokens = m.chunk_tokens.or(Some(l.chunk_tokens));
        let weight = 1u64 << self.stack.halvings();
        let exact = self.stack.halvings() == 0;
        // The prefix's largest distance: `None` (never seen) once any chunk of it was not.
        let mut prefix = Some(0);
        let mut seen = 0;
        for &k in &keys {
            let own = self.stack.distance(k);
            if exact {
                prefix = prefix.zip(own).map(|(p, d)| p.max(d));
            }
            if !self.stack.sampled(k) {
                continue;
            }
            // Sampled, only a chunk's own distance is known: chained hashes make a prefix's
            // earlier chunks at least as recent (checked exactly below while exact).
            let d = if exact { prefix } else { own };
            if exact && d != own {
                self.out_of_order += 1;
            }
            match d {
                Some(d) => m.hist.add(d, l.chunk_tokens * weight),
                None => {
                    m.cold += l.chunk_tokens * weight;
                }
            }
            match own {
                None => self.distinct += weight,
                Some(_) => seen += weight,
            }
        }
        for &k in keys.iter().rev() {
            self.stack.touch(k);
        }
        seen
    }

    /// Every model's lookups together, as one L1 shared by them serves them (the distances
    /// are in the one stack they share). Its chunk size is the models' when they agree.
    pub fn total(&self) -> ModelCurve {
        let mut all = ModelCurve::default();
        let sizes: std::collections::BTreeSet<_> =
            self.models.values().map(|m| m.chunk_bytes).collect();
        let tokens: std::collections::BTreeSet<_> =
            self.models.values().map(|m| m.chunk_tokens).collect();
        for m in self.models.values() {
            all.hist.merge(&m.hist);
            all.cold += m.cold;
        }
        all.chunk_bytes = if sizes.len() == 1 {
            sizes.into_iter().next().flatten()
        } else {
            None
        };
        all.chunk_tokens = if tokens.len() == 1 {
            tokens.into_iter().next().flatten()
        } else {
            None
        };
        all
    }

    /// Distinct chunks seen (an estimate once sampled).
    pub fn distinct(&self) -> u64 {
        self.distinct
    }

    /// The sampling rate (1 while exact).
    pub fn rate(&self) -> f64 {
        0.5f64.powi(self.stack.halvings() as i32)
    }

    /// Distinct chunks followed exactly before sampling.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Keys the stack holds (what memory grows with).
    pub fn held(&self) -> usize {
        self.stack.len()
    }

    pub fn heap_bytes(&self) -> usize {
        self.stack.heap_bytes()
            + self
                .models
                .values()
                .map(|m| m.hist.heap_bytes())
                .sum::<usize>()
    }
}

/// Bytes of one chunk from the log's `shapes` and `dtypes` (one per layer group): the product
/// of each shape times its element size. `None` when a dtype is unknown or they disagree.
pub fn chunk_bytes(shapes: &[Vec<u64>], dtypes: &[String]) -> Option<u64> {
    if shapes.is_empty() || shapes.len() != dtypes.len() {
        return None;
    }
    let mut sum = 0u64;
    for (s, d) in shapes.iter().zip(dtypes) {
        let size = match d.trim_start_matches("torch.") {
            "float64" | "int64" | "double" | "long" => 8,
            "float32" | "int32" | "float" | "int" => 4,
            "float16" | "bfloat16" | "half" | "int16" => 2,
            "uint8" | "int8" | "float8_e4m3fn" | "float8_e5m2" | "bool" => 1,
            _ => return None,
        };
        let n = s.iter().try_fold(1u64, |a, &b| a.checked_mul(b))?;
        sum = sum.checked_add(n.checked_mul(size)?)?;
    }
    Some(sum)
}

#[cfg(test)]
mod tests;
