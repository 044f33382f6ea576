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
        // Through the reducer into a model: the whole input, a second, different scrape (its
        // first half) for change points, absences and counter resets, then the whole again.
        let mut m = kvscope::model::Model::new(&["fuzz".into()], &[], 4);
        let target = kvscope::vocab::TargetRef { role: kvscope::vocab::Role::Lmcache, index: 0 };
        for (body, t) in [(data, 1.0), (&data[..data.len() / 2], 2.0), (data, 3.0)] {
            let _ = m.apply(kvscope::vocab::Event::Scrape {
                target,
                time: Some(t),
                body: body.to_vec(),
                format: None,
                origin: "fuzz".into(),
            });
        }
        let _ = kvscope::analysis::analyze(&m.inputs(60.0));
        m.note_verdicts(3.0, 60.0);
    }
});
