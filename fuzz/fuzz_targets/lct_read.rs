//! Any bytes as a storage trace, fed in two pieces split where the first byte says: the
//! complete prefix and an error saying where, never a panic; the same counts however split;
//! every kept record's arguments decode or say why, and display briefly within bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kvscope::evidence::trace::Trace;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else {
        return;
    };
    let at = (cut as usize * rest.len()) / 255;
    let mut whole = Trace::new("fuzz");
    whole.push(rest);
    let mut split = Trace::new("fuzz");
    split.push(&rest[..at]);
    split.push(&rest[at..]);
    let (a, b) = (whole.summary(), split.summary());
    assert_eq!(a, b);
    assert!(a.complete == a.error.is_none());
    assert!(a.total_records as usize <= rest.len() / 4);
    for r in &whole.recent {
        if let Ok(args) = r.args() {
            for (_, v) in &args {
                let s = kvscope::evidence::msg::brief(v, 3, 120);
                assert!(s.chars().count() <= 120);
            }
        }
    }
    let _ = whole.per_second(300, None);
    let _ = whole.longest_gap();
});
