//! How much memory an hour of history costs: replays the real LMCache 0.5.6 timeline (cycled,
//! counters advancing) and the real vLLM scrape of packet_a (values nudged every scrape, the worst
//! case for change-point series) into two stores at 1 s, and prints the live heap.
//! With `series N`, instead: the heap one store holds per series, for N distinct label sets
//! (`cache_salt` values, as a many-tenant server exports) over SCRAPES scrapes (default 2).
//! Usage: cargo run --release --example store_hour [SCRAPES]
//!        cargo run --release --example store_hour series [N] [SCRAPES]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("series") {
        let n = args
            .get(1)
            .map_or(100_000, |s| s.parse().expect("a series count"));
        let scrapes = args
            .get(2)
            .map_or(2, |s| s.parse().expect("a scrape count"));
        return per_series(n, scrapes);
    }
    let n: usize = args.first().map_or(3600, |s| s.parse().expect("a number"));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let lm: Vec<Vec<u8>> = (0..32)
        .map(|i| std::fs::read(format!("{dir}/lmcache-0.5.6-cpu-run1/metrics_t{i}.prom")).unwrap())
        .collect();
    let vllm = std::fs::read_to_string(format!("{dir}/packet_a/vllm_metrics_loaded.prom")).unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    let mut a = kvscope::store::TargetStore::new("lmcache", n);
    let mut b = kvscope::store::TargetStore::new("vllm", n);
    for i in 0..n {
        let s = kvscope::expo::parse(&lm[i % 32]).unwrap();
        a.ingest(&s, Some(i as f64));
        // Every sample value changes every scrape: the worst case for change points.
        let nudged: String = vllm
            .lines()
            .map(|l| {
                if l.starts_with('#') || l.is_empty() {
                    format!("{l}\n")
                } else {
                    format!("{l}{}\n", "")
                }
            })
            .collect::<String>()
            .replace(".0\n", &format!(".{}\n", i % 9 + 1));
        let s = kvscope::expo::parse(nudged.as_bytes()).unwrap();
        b.ingest(&s, Some(i as f64));
    }
    let live = LIVE.load(Ordering::Relaxed) - base;
    println!(
        "{n} scrapes x 2 targets ({} + {} series): {:.1} MiB of heap",
        a.series().len(),
        b.series().len(),
        live as f64 / 1048576.0
    );
}

/// The heap per series of one store holding `n` label sets over `scrapes` scrapes, the values
/// moving every scrape.
fn per_series(n: usize, scrapes: usize) {
    let body = |k: usize| {
        let mut b = String::from("# TYPE lmcache_mp_lookup_requested_tokens_total counter\n");
        for i in 0..n {
            b.push_str(&format!(
                "lmcache_mp_lookup_requested_tokens_total{{cache_salt=\"tenant-{i}\",model_name=\"m\"}} {}\n",
                i + k
            ));
        }
        b
    };
    let bodies: Vec<String> = (0..scrapes).map(body).collect();
    let base = LIVE.load(Ordering::Relaxed);
    let mut store = kvscope::store::TargetStore::new("t", scrapes + 1);
    store.max_series = usize::MAX;
    for (k, b) in bodies.iter().enumerate() {
        let scrape = kvscope::expo::parse(b.as_bytes()).unwrap();
        store.ingest(&scrape, Some(1.8e9 + k as f64));
    }
    let held = LIVE.load(Ordering::Relaxed) - base;
    println!(
        "{n} series, {scrapes} scrapes: the store holds {} KiB of heap, {:.0} bytes per series",
        held / 1024,
        held as f64 / n as f64
    );
    std::hint::black_box(&store);
}
