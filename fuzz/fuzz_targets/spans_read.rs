//! Any bytes as an OTel span export, fed in two pieces split where the first byte says: the
//! same spans and requests however split, never a panic, trees bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kvscope::evidence::spans::Spans;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = (cut as usize * rest.len()) / 255;
    let mut whole = Spans::new("fuzz");
    whole.push(rest);
    let mut split = Spans::new("fuzz");
    split.push(&rest[..at]);
    split.push(&rest[at..]);
    let (a, b) = (whole.summary(), split.summary());
    assert_eq!(a.spans, b.spans);
    assert_eq!(a.requests, b.requests);
    for r in whole.requests() {
        assert!(r.children.iter().all(|(d, _)| *d <= 8));
        let _ = r.hit_rate();
    }
});
