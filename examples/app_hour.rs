//! Whole-process memory after an hour of history, as `kvscope watch` holds it: the real
//! LMCache 0.5.6 timeline (cycled) and packet_a's real vLLM scrape (every value nudged every
//! scrape, the worst case for change-point series) go through the same `App` the TUI runs —
//! model, analysis after every scrape, sparkline history — at a 1 s interval, with a 120×40
//! frame drawn every second. Prints VmRSS and VmHWM from /proc/self/status (Linux).
//! Usage: cargo run --release --example app_hour [SECONDS]

use kvscope::model::Model;
use kvscope::tui::{App, theme::Theme};
use kvscope::vocab::{Event, Role, TargetRef};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map_or("unknown (no /proc)".into(), |l| {
            l[field.len()..].trim().to_string()
        })
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(3600, |s| s.parse().expect("a number of seconds"));
    // The demo's recorded pairing: 32 LMCache scrapes and the vLLM one.
    let (lm, vllm) = kvscope::demo::recorded_bodies();
    let vllm = String::from_utf8(vllm).unwrap();
    println!("before: VmRSS {}", status("VmRSS:"));
    let names = |s: &str| vec![s.to_string()];
    // The history `watch` keeps at a 1 s interval.
    let model = Model::new(&names("lmcache"), &names("vllm"), 3601);
    let mut app = App::new(model, 1.0, 60.0, Theme::dark(), None);
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    // The recorder `e` exports from, as the worker keeps it: the hour, compressed in blocks.
    let mut recorder = kvscope::packet::Recorder::new(3600.0);
    let started = std::time::Instant::now();
    for i in 0..n {
        let t = 1.8e9 + i as f64;
        let lm_target = TargetRef {
            role: Role::Lmcache,
            index: 0,
        };
        let lm_scrape = Event::Scrape {
            target: lm_target,
            time: Some(t),
            body: lm[i % lm.len()].clone(),
            format: None,
            origin: "lmcache".into(),
        };
        recorder.record(&lm_scrape);
        app.on_event(lm_scrape);
        let nudged = vllm.replace(".0\n", &format!(".{}\n", i % 9 + 1));
        let en_scrape = Event::Scrape {
            target: TargetRef {
                role: Role::Engine,
                index: 0,
            },
            time: Some(t),
            body: nudged.into_bytes(),
            format: None,
            origin: "vllm".into(),
        };
        recorder.record(&en_scrape);
        app.on_event(en_scrape);
        app.on_tick(t);
        term.draw(|f| kvscope::tui::draw::draw(f, &app)).unwrap();
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "recorder: {} events in {} KiB of memory",
        recorder.len(),
        recorder.held_bytes() / 1024
    );
    println!(
        "{n} s of history, 2 targets at 1 s ({} + {} series): VmRSS {}, VmHWM {}; {:.2} ms per second of data (2 scrapes, 2 analyses, 1 frame)",
        app.model().unwrap().lmcache[0].series().len(),
        app.model().unwrap().engine[0].series().len(),
        status("VmRSS:"),
        status("VmHWM:"),
        took * 1000.0 / n as f64
    );
    // `e`: the snapshot and the packet built from it, as the export's thread does.
    let snapshot = recorder.snapshot();
    let targets: Vec<kvscope::packet::TargetEntry> = app
        .model()
        .unwrap()
        .targets()
        .map(|(target, t)| kvscope::packet::TargetEntry::new(target, t.name.clone()))
        .collect();
    let started = std::time::Instant::now();
    let (tar, count) = kvscope::packet::Recording {
        targets,
        events: &snapshot,
        report_json: "{}".into(),
        created: n as f64,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    }
    .to_tar_redacting(false)
    .unwrap();
    println!(
        "after e: {count} events, {} KiB packet in {:.0} ms; VmRSS {}, VmHWM {}",
        tar.len() / 1024,
        started.elapsed().as_secs_f64() * 1000.0,
        status("VmRSS:"),
        status("VmHWM:")
    );
}
