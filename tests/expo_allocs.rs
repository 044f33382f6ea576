//! Allocation count of one parse of the real packet_a vLLM scrape (target: ≤ 32). A count, not
//! a timing, and counted on the parsing thread only (other tests' threads allocate meanwhile):
//! the same for a given input on every run.

use std::alloc::{GlobalAlloc, Layout, System};

struct Counting;

thread_local! {
    // A const-initialised `Cell` needs no allocation to reach, so the allocator can use it.
    static ALLOCS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn count() {
    let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
}

fn allocs() -> usize {
    ALLOCS.with(std::cell::Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        count();
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
    let parse = || {
        let before = allocs();
        let s = kvscope::expo::parse(&body).unwrap();
        assert!(s.samples.len() > 400);
        allocs() - before
    };
    // The first parse also pays one-time set-up (the hasher's seed); then every parse costs
    // the same, the parser's own.
    let first = parse();
    let used = parse();
    assert!(first <= used + 2, "{first} then {used}");
    assert!(used <= 32, "{used} allocations");
    for _ in 0..5 {
        assert_eq!(parse(), used);
    }
}
