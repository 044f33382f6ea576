//! Any bytes as a packet file: a packet, or an error naming what is wrong; never a panic, and
//! a replay that only ever gives whole events. What reads a packet's timeline (its interval and
//! span, serving it) must cope with whatever it holds.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = kvscope::packet::from_tar(data) {
        let (events, _) = p.events();
        let _ = p.report();
        assert!(events.len() < 10_000_000);
        let timeline = p.timeline();
        assert!(timeline.interval() > 0.0);
        let _ = timeline.span();
        if let Ok(server) =
            kvscope::serve::Server::new(timeline, p.manifest.targets.clone(), 1.0, true)
        {
            for (cycle, offset) in [(0, 0.0), (0, 1e9), (1, 0.5)] {
                let at = kvscope::serve::Position { cycle, offset };
                for path in ["/metrics", "/status", "/nope"] {
                    let _ = server.answer_at(0, path, at, 1.8e9);
                }
            }
        }
    }
});
