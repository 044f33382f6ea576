//! Any text into the argument, time and duration parsers and the capture-index reader: no
//! panic, and what is accepted is consistent (times finite and writable back to the same
//! instant, durations in range, index rows inside the index's folder).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(t) = kvscope::timefmt::parse_rfc3339(&text) {
        let back = kvscope::timefmt::parse_rfc3339(&kvscope::timefmt::format_rfc3339(t)).unwrap();
        assert!((back - t).abs() < 0.001);
    }
    if let Ok(d) = kvscope::timefmt::parse_duration(&text) {
        assert!((kvscope::timefmt::MIN_DURATION..=kvscope::timefmt::MAX_DURATION).contains(&d));
    }
    let _ = kvscope::sources::parse_arg(&text);
    let _ = kvscope::sanitize::redact_url(&text);
    // The bytes as a capture index in a folder of its own.
    let dir = std::env::temp_dir().join(format!("kvscope-fuzz-index-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let index = dir.join("metrics_index.tsv");
    if std::fs::write(&index, data).is_ok()
        && let Ok(rows) = kvscope::sources::read_index(&index)
    {
        let root = dir.canonicalize().unwrap();
        for (path, time) in rows {
            let rel = path.strip_prefix(&dir).unwrap();
            assert!(rel.components().all(|c| matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )));
            assert!(path.canonicalize().map_or(true, |c| c.starts_with(&root)));
            assert!(time.is_some_and(f64::is_finite));
        }
    }
});
