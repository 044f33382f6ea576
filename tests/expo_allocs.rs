//! Allocation count of one parse of the real packet_a vLLM scrape (target: ≤ 32). A count, not
//! a timing: deterministic for a given input.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

#[test]
fn parse_of_the_real_vllm_scrape_allocates_little() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/packet_a/vllm_metrics_loaded.prom"
    );
    let body = std::fs::read(path).unwrap();
    let before = ALLOCS.load(Ordering::Relaxed);
    let s = kvscope::expo::parse(&body).unwrap();
    let used = ALLOCS.load(Ordering::Relaxed) - before;
    assert!(s.samples.len() > 400);
    eprintln!("allocations for one parse: {used}");
    assert!(used <= 32, "{used} allocations");
}
