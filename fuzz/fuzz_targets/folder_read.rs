//! Any folder, described by the input: files with names a packet, a capture folder or a peer
//! folder uses, links to them, links out of the folder (to a planted secret), directories.
//! Reading it as a packet or importing it never panics and never reads the secret.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 12] = [
    "manifest.json",
    "timeline.jsonl.zst",
    "report.json",
    "targets/lmcache-0/bodies.zst",
    "metrics_index.tsv",
    "metrics_t0.prom",
    "http/healthcheck.status",
    "http/healthcheck.json",
    "server.log",
    "run.lct",
    "lmcache_metrics_loaded.prom",
    "fixture_manifest.json",
];
const SECRET: &[u8] = b"kvs_fuzz_planted_secret_55";

fuzz_target!(|data: &[u8]| {
    let base = std::env::temp_dir().join(format!("kvscope-fuzz-folder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("in");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(base.join("secret"), SECRET).unwrap();
    let mut rest = data;
    while let [kind, name, len, tail @ ..] = rest {
        let name = NAMES[usize::from(*name) % NAMES.len()];
        let n = usize::from(*len).min(tail.len());
        let (body, after) = tail.split_at(n);
        rest = after;
        let path = dir.join(name);
        let _ = std::fs::create_dir_all(path.parent().unwrap());
        let _ = std::fs::remove_file(&path);
        let _ = match kind % 4 {
            0 => std::fs::write(&path, body),
            1 => std::os::unix::fs::symlink(base.join("secret"), &path),
            2 => std::os::unix::fs::symlink(NAMES[usize::from(*len) % NAMES.len()], &path),
            _ => std::fs::create_dir_all(&path),
        };
    }
    let leaks = |bytes: &[u8]| bytes.windows(SECRET.len()).any(|w| w == SECRET);
    if let Ok(p) = kvscope::packet::open(&dir) {
        for m in &p.manifest.members {
            assert!(!p.member(&m.path).is_some_and(leaks), "{} read the secret", m.path);
        }
        let (events, _) = p.events();
        assert!(events.iter().all(|e| !format!("{e:?}").contains("kvs_fuzz_planted")));
    }
    if let Ok(i) = kvscope::sources::capture::import(Path::new(&dir)) {
        assert!(i.carried.iter().all(|c| !leaks(&c.3)));
        assert!(i.events.iter().all(|e| !format!("{e:?}").contains("kvs_fuzz_planted")));
    }
    let _ = std::fs::remove_dir_all(&base);
});
