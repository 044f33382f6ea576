//! Any bytes as a packet file: a packet, or an error naming what is wrong; never a panic, and
//! a replay that only ever gives whole events.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = kvscope::packet::from_tar(data) {
        let (events, _) = p.events();
        let _ = p.report();
        assert!(events.len() < 10_000_000);
    }
});
