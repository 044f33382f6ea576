//! How much memory an hour of history costs: replays the real LMCache 0.5.6 timeline (cycled,
//! counters advancing) and the real vLLM scrape of packet_a (values nudged every scrape, the worst
//! case for change-point series) into two stores at 1 s, and prints the live heap.
//! Usage: cargo run --release --example store_hour [SCRAPES]

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
    let n: usize = std::env::args()
        .nth(1)
        .map_or(3600, |s| s.parse().expect("a number"));
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
