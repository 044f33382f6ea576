//! One full frame at 200×50 on ratatui's TestBackend, from the real LMCache 0.5.6 timeline and
//! packet_a's vLLM scrape (the demo's data).

use criterion::{Criterion, criterion_group, criterion_main};
use kvscope::model::Model;
use kvscope::tui::{App, draw, theme::Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app() -> App {
    let model = Model::new(&["lmcache".into()], &["engine".into()], 64);
    let mut app = App::new(model, 1.0, 60.0, Theme::dark(), None);
    let (events, _) = kvscope::demo::recorded(31);
    events.into_iter().for_each(|e| drop(app.on_event(e)));
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
