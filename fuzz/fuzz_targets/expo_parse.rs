//! Any bytes into the exposition parser and on into the store: no panic, and what comes out
//! is consistent (labels in range, families in range, unescaping total).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = kvscope::expo::Limits { max_samples: 10_000, max_buckets_per_family: 5_000, ..Default::default() };
    if let Ok(s) = kvscope::expo::parse_with(data, None, &limits) {
        for smp in &s.samples {
            let fam = s.family(smp);
            assert!(!fam.name.is_empty() || smp.name.is_empty());
            for l in s.labels(smp) {
                let _ = l.value();
            }
        }
        let mut store = kvscope::store::TargetStore::new("fuzz", 4);
        store.ingest(&s, Some(1.0));
        // A second, different scrape (the input's first half) exercises change points,
        // absences and counter resets; then the whole input again.
        if let Ok(half) = kvscope::expo::parse_with(&data[..data.len() / 2], None, &limits) {
            store.ingest(&half, Some(2.0));
        }
        store.ingest(&s, Some(3.0));
        let stores = [store];
        let inputs = kvscope::analysis::Inputs { lmcache: &stores, engine: &[], window: 60.0 };
        let _ = kvscope::analysis::analyze(&inputs);
    }
});
