//! An hour of two targets at 1 s as an evidence packet: how big it is, how long writing,
//! verifying and replaying it take. The data is the demo's real recording, cycled: the LMCache
//! 0.5.6 timeline and packet_a's vLLM scrape, with every vLLM value nudged every second (the
//! worst case for compression) or only its counters moving (`real-like`).
//! Usage: cargo run --release --example packet_hour [worst|real-like]

use std::time::Instant;

use kvscope::packet::{Recorder, Recording, TargetEntry};
use kvscope::vocab::{Event, Role, TargetRef};

fn main() {
    let worst = std::env::args().nth(1).as_deref() != Some("real-like");
    let (lm, vllm) = kvscope::demo::recorded_bodies();
    let vllm = String::from_utf8(vllm).unwrap();
    let target = |role| TargetRef { role, index: 0 };
    let mut events = Vec::new();
    for i in 0..3600usize {
        let t = 1.8e9 + i as f64;
        events.push(Event::Scrape {
            target: target(Role::Lmcache),
            time: Some(t),
            body: lm[i % lm.len()].clone(),
            format: None,
            origin: "lmcache".into(),
        });
        let body = if worst {
            vllm.replace(".0\n", &format!(".{}\n", i % 9 + 1))
        } else {
            // Counters move, the rest stands still: the `_total` lines grow with time.
            vllm.lines()
                .map(|l| match l.split_once(' ') {
                    Some((name, v)) if name.contains("_total") && !l.starts_with('#') => {
                        let v: f64 = v.trim().parse().unwrap_or(0.0);
                        format!("{name} {}\n", v + i as f64)
                    }
                    _ => format!("{l}\n"),
                })
                .collect()
        };
        events.push(Event::Scrape {
            target: target(Role::Engine),
            time: Some(t),
            body: body.into_bytes(),
            format: None,
            origin: "vllm".into(),
        });
    }
    let raw: usize = events
        .iter()
        .map(|e| match e {
            Event::Scrape { body, .. } => body.len(),
            _ => 0,
        })
        .sum();
    let started = Instant::now();
    let mut recorder = Recorder::new(3600.0);
    events.iter().for_each(|e| recorder.record(e));
    let record_ms = started.elapsed().as_secs_f64() * 1000.0;
    let targets: Vec<TargetEntry> = [Role::Lmcache, Role::Engine]
        .into_iter()
        .map(|role| TargetEntry::new(target(role), format!("http://{}/metrics", role.as_str())))
        .collect();
    let started = Instant::now();
    let held = recorder.snapshot();
    let bytes = Recording {
        targets: targets.clone(),
        events: &held,
        report_json: "{}".into(),
        created: 1.8e9 + 3600.0,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    }
    .to_tar()
    .unwrap();
    let export_ms = started.elapsed().as_secs_f64() * 1000.0;
    // As `verify` does: every hash, then every body decompressed once.
    let started = Instant::now();
    let opened = kvscope::packet::from_tar(&bytes).unwrap();
    let timeline = opened.timeline();
    let mut cursor = timeline.cursor();
    let mut back = 0;
    while let Some(e) = cursor.next(&timeline) {
        e.unwrap();
        back += 1;
    }
    let verify_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert!(opened.problems.is_empty() && timeline.stop.is_none() && back == events.len());
    // As a replay's load does: read, every event through the reducer, the analysis at the end.
    let started = Instant::now();
    let opened = kvscope::packet::from_tar(&bytes).unwrap();
    let (model, stopped) =
        kvscope::cli::packet::model_of(&targets, &opened.timeline(), None, (100_000, None), None);
    assert!(stopped.is_none());
    let analysis = kvscope::analysis::analyze(&model.inputs(60.0));
    let findings = analysis.findings.len();
    let replay_ms = started.elapsed().as_secs_f64() * 1000.0;
    // As `report --packet` does: the same, with every rule judged as of each capture.
    let started = Instant::now();
    let opened = kvscope::packet::from_tar(&bytes).unwrap();
    let thresholds = kvscope::analysis::findings::Thresholds::default();
    let (judged, _) = kvscope::cli::packet::model_of(
        &targets,
        &opened.timeline(),
        None,
        (100_000, None),
        Some((60.0, &thresholds)),
    );
    let _ = kvscope::analysis::analyze(&judged.inputs(60.0));
    let report_ms = started.elapsed().as_secs_f64() * 1000.0;
    // What `e` does on the worker thread (the rest happens on the export's own thread): a
    // copy of the compressed recording and the report of the model from the analysis the
    // pictures already have. Pictures wait this long.
    let started = Instant::now();
    let snapshot = recorder.snapshot();
    let _report = kvscope::report::json_of(&model, &analysis, 60.0);
    let worker_ms = started.elapsed().as_secs_f64() * 1000.0;
    drop(snapshot);
    // The replay TUI's playback: to the end, then one capture back (the model is rebuilt from
    // the start), each followed by the picture the screen would get.
    use kvscope::session::picture::Core;
    use kvscope::session::playback::{Control, Playback, Speed};
    let entries = targets.clone();
    let fresh = Box::new(move || {
        Core::new(
            kvscope::cli::packet::model_for(&entries, &kvscope::model::ModelSettings::hour_at(1.0)),
            60.0,
        )
    });
    let (mut playback, mut core) = Playback::new(opened.timeline(), fresh, None, Speed::X1);
    let timed = |playback: &mut Playback, core: &mut Core, c: Control| {
        let started = Instant::now();
        playback.control(core, c);
        let _ = core.shown(None);
        started.elapsed().as_secs_f64() * 1000.0
    };
    let end_ms = timed(&mut playback, &mut core, Control::End);
    let back_ms = timed(&mut playback, &mut core, Control::Back);
    assert_eq!(playback.status().applied, events.len() - 2);
    println!(
        "{} hour: {} events, {:.1} MB raw bodies; recorder {:.1} MB in memory ({record_ms:.0} ms to record); packet {:.2} MB; export {export_ms:.0} ms; verify (hashes + decode) {verify_ms:.0} ms; replay + analysis {replay_ms:.0} ms ({findings} findings); judged at every capture (report --packet) {report_ms:.0} ms; replay TUI: to the end {end_ms:.0} ms, one capture back {back_ms:.0} ms; e holds the model for {worker_ms:.1} ms",
        if worst { "worst-case" } else { "real-like" },
        events.len(),
        raw as f64 / 1e6,
        recorder.held_bytes() as f64 / 1e6,
        bytes.len() as f64 / 1e6,
    );
}
