//! Memory per retained series: N distinct label sets ingested into one target's store (as
//! many scrapes as asked, the values moving every scrape), measured as the heap the store
//! holds afterwards (a counting allocator: live bytes, not freed parse buffers).
//! Usage: cargo run --release --example series_memory [SERIES] [SCRAPES]

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
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(100_000, |s| s.parse().expect("a series count"));
    let scrapes: usize = args
        .next()
        .map_or(2, |s| s.parse().expect("a scrape count"));
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
    let before = live();
    let mut store = kvscope::store::TargetStore::new("t", scrapes + 1);
    for (k, b) in bodies.iter().enumerate() {
        let scrape = kvscope::expo::parse(b.as_bytes()).unwrap();
        store.ingest(&scrape, Some(1.8e9 + k as f64));
    }
    let held = live().saturating_sub(before);
    println!(
        "{n} series, {scrapes} scrapes: the store holds {} KiB of heap, {:.0} bytes per series",
        held / 1024,
        held as f64 / n as f64
    );
    std::hint::black_box(&store);
}
