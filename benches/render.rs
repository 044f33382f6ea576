//! One full frame at 200×50 on ratatui's TestBackend, from the real LMCache 0.5.6 timeline and
//! packet_a's vLLM scrape (the demo's data).

use criterion::{Criterion, criterion_group, criterion_main};
use kvscope::model::Model;
use kvscope::tui::{App, draw, theme::Theme};
use kvscope::vocab::{Event, Role, TargetRef};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app() -> App {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let index = kvscope::sources::read_index(std::path::Path::new(&format!(
        "{dir}/lmcache-0.5.6-cpu-run1/metrics_index.tsv"
    )))
    .unwrap();
    let model = Model::new(&["lmcache".into()], &["engine".into()], 64);
    let mut app = App::new(model, 1.0, 60.0, Theme::dark(), None);
    for (path, time) in index {
        let target = TargetRef {
            role: Role::Lmcache,
            index: 0,
        };
        app.on_event(Event::Scrape {
            target,
            time,
            body: std::fs::read(path).unwrap(),
            format: None,
            origin: "f".into(),
        });
    }
    let body = std::fs::read(format!("{dir}/packet_a/vllm_metrics_loaded.prom")).unwrap();
    app.on_event(Event::Scrape {
        target: TargetRef {
            role: Role::Engine,
            index: 0,
        },
        time: Some(0.0),
        body,
        format: None,
        origin: "e".into(),
    });
    app
}

fn render(c: &mut Criterion) {
    let app = app();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    c.bench_function("frame_200x50", |b| {
        b.iter(|| term.draw(|f| draw::draw(f, &app)).unwrap().area.width)
    });
    c.bench_function("analysis_demo_data", |b| {
        b.iter(|| {
            kvscope::analysis::analyze(&app.model().unwrap().inputs(60.0))
                .findings
                .len()
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
