//! The capacity curves' speed and memory (figures in docs/capacity.md). A plain program, not
//! criterion: the figures are one long run each, and memory is read from the structures.
//!
//! - exact chunk references per second on one core (lookups of 4 chunks, 10 % of lookups new);
//! - bytes per distinct chunk held, exact;
//! - one hour at 1,000 lookups/s (4 chunks each, 10 % new): time and memory;
//! - sampled: memory stays under its bound, and the curve's error against the exact one;
//! - following the log: the cost of one lookup read from JSON, times 10 a second.
//!
//! The streams are generated (hand-made): a workload of that shape, not a recording.

use std::time::Instant;

use kvscope::capacity::{Curves, Lookup};

/// A lookup stream: each lookup 4 chunks; with probability `new` a new prefix, else a reuse
/// of an earlier prefix picked with a skew towards recent ones.
struct Workload {
    state: u64,
    prefixes: u64,
    new: f64,
}

impl Workload {
    fn next_u(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }
    fn lookup(&mut self, out: &mut [u64; 4]) {
        let u = (self.next_u() >> 11) as f64 / (1u64 << 53) as f64;
        let p = if u < self.new || self.prefixes == 0 {
            self.prefixes += 1;
            self.prefixes
        } else {
            // Reuse distance: recent prefixes more often (a square of a uniform).
            let r = (self.next_u() >> 11) as f64 / (1u64 << 53) as f64;
            self.prefixes - ((r * r) * self.prefixes as f64) as u64
        };
        for (i, h) in out.iter_mut().enumerate() {
            *h = p.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64 + 1);
        }
    }
}

fn run(curves: &mut Curves, lookups: u64, new: f64) -> f64 {
    let mut w = Workload {
        state: 88172645463325252,
        prefixes: 0,
        new,
    };
    let mut hashes = [0u64; 4];
    let start = Instant::now();
    for _ in 0..lookups {
        w.lookup(&mut hashes);
        curves.lookup(&Lookup {
            model: "m",
            salt: None,
            chunk_tokens: 256,
            chunk_bytes: Some(32 << 20),
            hashes: &hashes,
        });
    }
    start.elapsed().as_secs_f64()
}

fn main() {
    // Exact: 2.5M lookups, 10 % new → ~1M distinct chunks, 10M references.
    let mut c = Curves::default();
    let secs = run(&mut c, 2_500_000, 0.1);
    println!(
        "exact: {:.1} M chunk references/s; {} distinct chunks, {:.1} bytes each",
        10.0 / secs,
        c.distinct(),
        c.heap_bytes() as f64 / c.distinct() as f64
    );
    // One hour at 1,000 lookups/s.
    let mut c = Curves::default();
    let secs = run(&mut c, 3_600_000, 0.1);
    println!(
        "one hour (3.6M lookups, 14.4M references): {:.1} s, {:.1} MB, {} distinct, sampled {}",
        secs,
        c.heap_bytes() as f64 / 1e6,
        c.distinct(),
        c.rate() < 1.0
    );
    // Sampled: a limit of 200,000 distinct chunks under 3M distinct; memory and error.
    let mut exact = Curves::new(50_000_000);
    run(&mut exact, 7_500_000, 0.1);
    let mut sampled = Curves::new(200_000);
    let secs = run(&mut sampled, 7_500_000, 0.1);
    let (e, s) = (exact.total(), sampled.total());
    let mut worst: f64 = 0.0;
    for k in 1..=40 {
        let cap = (k * k * 2_000) as f64 * (32u64 << 20) as f64;
        worst = worst.max((e.hit_rate(cap).unwrap() - s.hit_rate(cap).unwrap()).abs());
    }
    println!(
        "sampled (limit 200,000 of {} distinct): rate {:.4}, {:.1} MB (exact: {:.1} MB), {:.1} M refs/s, worst hit-rate error {:.4} (bound given {:.4})",
        exact.distinct(),
        sampled.rate(),
        sampled.heap_bytes() as f64 / 1e6,
        exact.heap_bytes() as f64 / 1e6,
        30.0 / secs,
        worst,
        1.0 / (sampled.held() as f64).sqrt()
    );
    // Following: one lookup line as LMCache writes it, parsed and applied.
    let line = |i: u64| {
        format!(
            "{{\"timestamp\": 1796615246.67, \"request_id\": \"req-{i}\", \"model_name\": \"m\", \"chunk_size\": 256, \"seq_len\": 1025, \"dtypes\": [\"torch.float16\"], \"shapes\": [[2, 32, 256, 1024]], \"chunk_hashes\": [\"0x{:064x}\", \"0x{:064x}\", \"0x{:064x}\", \"0x{:064x}\"]}}\n",
            i % 5000,
            i % 5000 + 1,
            i,
            i + 1
        )
    };
    let text: String = (0..200_000).map(line).collect();
    let mut log = kvscope::evidence::hashes::Hashlog::new("bench");
    let start = Instant::now();
    log.push(text.as_bytes());
    let per = start.elapsed().as_secs_f64() / 200_000.0;
    println!(
        "following: {:.1} µs per lookup line; at 10 lookups/s {:.4} % of a core",
        per * 1e6,
        per * 10.0 * 100.0
    );
}
