//! Any bytes as a log, fed in two pieces split where the first byte says: every line counted
//! once whatever the split, never a panic, every kept message bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kvscope::evidence::lines::Log;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = (cut as usize * rest.len()) / 255;
    let mut whole = Log::new("fuzz");
    whole.push(rest, None);
    let mut split = Log::new("fuzz");
    split.push(&rest[..at], None);
    split.push(&rest[at..], None);
    assert_eq!(whole.summary(), split.summary());
    let newlines = rest.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(whole.lines, newlines);
    assert_eq!(whole.by_kind.values().sum::<u64>(), newlines);
    for e in &whole.recent {
        assert!(e.message.chars().count() <= 400);
    }
});
