//! The demo's bundled packet (`fixtures/demo.kvpacket`, compiled into the binary) is built
//! from real data only: the LMCache 0.5.6 capture (32 scrapes and the route answers read
//! before and after the workload) and packet_a's real vLLM scrape, stamped with packet_a's
//! capture time on every sample so a scraper of the demo sees one old observation repeated
//! rather than an engine standing still. This test rebuilds it and fails when the committed
//! packet holds anything else; `KVSCOPE_BLESS=1 cargo test --test demo_packet` rewrites it.

use std::path::Path;

use kvscope::packet::{Recording, TargetEntry};
use kvscope::sources::capture;
use kvscope::vocab::{Event, InputKind, Role, TargetRef};

const OUT: &str = "fixtures/demo.kvpacket";

/// The demo's targets and events, from the fixtures (paths relative to the package, so the
/// packet names no machine).
fn built() -> (Vec<TargetEntry>, Vec<Event>) {
    let run = capture::import(Path::new("fixtures/lmcache-0.5.6-cpu-run1")).unwrap();
    let peer = capture::import(Path::new("fixtures/packet_a")).unwrap();
    let first = run.events.iter().find_map(Event::time).unwrap();
    let (run, peer) = (run.loaded().unwrap(), peer.loaded().unwrap());
    let engine = TargetRef {
        role: Role::Engine,
        index: 0,
    };
    let mut events = run;
    for e in peer {
        if let Event::Scrape {
            target,
            time,
            body,
            format,
            origin,
        } = e
            && target.role == Role::Engine
        {
            let stamp = (time.expect("packet_a has a capture time") * 1000.0).round() as i64;
            let text = String::from_utf8(body).unwrap();
            let stamped: String = text
                .lines()
                .map(|l| {
                    if l.starts_with('#') || l.trim().is_empty() {
                        format!("{l}\n")
                    } else {
                        format!("{l} {stamp}\n")
                    }
                })
                .collect();
            // Served from the start of the LMCache recording.
            events.insert(
                1,
                Event::Scrape {
                    target: engine,
                    time: Some(first),
                    body: stamped.into_bytes(),
                    format,
                    origin,
                },
            );
        }
    }
    let targets = vec![
        entry(
            Role::Lmcache,
            "real LMCache 0.5.6 MP server, CPU run (fixtures/lmcache-0.5.6-cpu-run1)",
        ),
        entry(
            Role::Engine,
            "real vLLM scrape of another run, one snapshot (fixtures/packet_a)",
        ),
    ];
    (targets, events)
}

fn entry(role: Role, url: &str) -> TargetEntry {
    let target = TargetRef { role, index: 0 };
    TargetEntry::new(target, url)
}

#[test]
fn the_bundled_demo_packet_is_the_real_recordings() {
    let (targets, events) = built();
    if std::env::var_os("KVSCOPE_BLESS").is_some() {
        let mut model = kvscope::cli::packet::empty_model(
            &targets,
            events.iter(),
            kvscope::model::ModelSettings::default().kind(InputKind::Packet),
        );
        for e in &events {
            let _ = model.apply(e.clone());
        }
        let created = events.iter().filter_map(Event::time).fold(0.0, f64::max);
        let tar = Recording {
            targets: targets.clone(),
            events: &events,
            report_json: kvscope::report::json(&model, 60.0),
            created,
            redactions: vec![
                "built from fixtures: /env not carried (the capture scrubbed it)".into(),
            ],
            attachments: vec![],
            interval: None,
        }
        .to_tar()
        .unwrap();
        let _ = std::fs::remove_file(OUT);
        kvscope::packet::write_new(Path::new(OUT), &tar).unwrap();
    }
    let bundled = kvscope::packet::from_tar(kvscope::demo::PACKET).unwrap();
    assert!(bundled.problems.is_empty(), "{:?}", bundled.problems);
    assert_eq!(bundled.manifest.targets, targets);
    let (back, stopped) = bundled.events();
    assert!(stopped.is_none());
    assert_eq!(back.len(), events.len());
    assert!(
        back == events,
        "fixtures/demo.kvpacket differs from the fixtures: bless it"
    );
}
