//! Any bytes as a Prometheus API answer and as a `/federate` answer: a clear error or series,
//! never a panic; the series' rebuilt bodies parse, and the fleet takes them in.
#![no_main]
use libfuzzer_sys::fuzz_target;

use kvscope::fleet::Fleet;
use kvscope::sources::promapi::{self, Found, Read, TargetKey, Types};
use kvscope::vocab::Role;

fuzz_target!(|data: &[u8]| {
    let mut all = Vec::new();
    if let Ok((series, _)) = promapi::matrix(200, data) {
        all.extend(series);
    }
    if let Ok(series) = promapi::federated(data) {
        all.extend(series);
    }
    let refs: Vec<_> = all.iter().collect();
    for (_, body) in promapi::bodies(&refs, &Types::default(), &["job".into()], 0) {
        let _ = kvscope::expo::parse(body.as_bytes());
    }
    let found = all
        .iter()
        .map(|s| Found {
            key: TargetKey {
                job: s.label("job").unwrap_or("").into(),
                instance: s.label("instance").unwrap_or("").into(),
            },
            group: "g".into(),
            role: Role::Engine,
        })
        .take(4)
        .collect();
    let mut fleet = Fleet::new("instance", 60.0);
    fleet.apply(Read {
        found,
        health: None,
        series: all,
        time: 1.8e9,
    });
    for i in fleet.instances() {
        let _ = i.analyse(60.0);
    }
});
