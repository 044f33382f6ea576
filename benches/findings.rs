//! The findings' cost. `judge_per_capture`: the figures and the whole rule pack for one new
//! capture of the demo's two targets (the real LMCache 0.5.6 timeline and packet_a's vLLM
//! scrape). `hour_*`: a one-hour timeline of two targets at 1 s — the real capture's last
//! LMCache scrape (every series present) with each counter and histogram part growing by one a
//! second, as a busy server's grow, beside packet_a's vLLM scrape — applied, and applied with
//! every rule judged as of every capture (what a packet's report and its verdict history cost);
//! the difference is the re-evaluation.

use criterion::{Criterion, criterion_group, criterion_main};
use kvscope::model::Model;
use kvscope::vocab::{Event, Role, TargetRef};

fn demo_model() -> Model {
    let mut m = Model::new(&["lmcache".into()], &["engine".into()], 64);
    let (events, _) = kvscope::demo::recorded(31);
    for e in events {
        let _ = m.apply(e);
    }
    m
}

/// Whether an exposition line carries a cumulative value (a counter or a histogram part).
fn cumulative(line: &str) -> bool {
    let name = line.split(['{', ' ']).next().unwrap_or("");
    ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// `body` with every cumulative value moved on by `by`: adding the same to each bucket, the
/// count and the sum keeps a histogram cumulative.
fn grown(body: &str, by: f64) -> Vec<u8> {
    body.lines()
        .map(|l| match l.rsplit_once(' ') {
            Some((key, v)) if !l.starts_with('#') && cumulative(l) => {
                format!("{key} {}\n", v.parse::<f64>().unwrap_or(0.0) + by)
            }
            _ => format!("{l}\n"),
        })
        .collect::<String>()
        .into_bytes()
}

/// One hour at 1 s: (time, target, body) in time order.
fn hour() -> Vec<(f64, TargetRef, Vec<u8>)> {
    let (lmcache, engine) = kvscope::demo::recorded_bodies();
    let lm = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let en = TargetRef {
        role: Role::Engine,
        index: 0,
    };
    let last = String::from_utf8_lossy(lmcache.last().expect("the recording")).into_owned();
    let mut out = Vec::new();
    for s in 0..3600 {
        let t = 1.8e9 + s as f64;
        out.push((t, lm, grown(&last, s as f64)));
        out.push((t, en, engine.clone()));
    }
    out
}

/// Applies `events` to a fresh model with an hour of history; with `judge`, every rule is
/// judged as of each capture (as `report --packet` and a replay do). The time the judgements
/// alone took.
fn run(events: &[(f64, TargetRef, Vec<u8>)], judge: bool) -> std::time::Duration {
    let mut m = Model::new(&["lmcache".into()], &["engine".into()], 3601);
    let mut spent = std::time::Duration::ZERO;
    let mut judge_at = |m: &mut Model, at: f64| {
        let started = std::time::Instant::now();
        m.note_verdicts(at, 60.0);
        spent += started.elapsed();
    };
    let mut moment = None;
    for (t, target, body) in events {
        if let Some(at) = moment.filter(|m| judge && *m != *t) {
            judge_at(&mut m, at);
        }
        moment = Some(*t);
        let _ = m.apply(Event::Scrape {
            target: *target,
            time: Some(*t),
            body: body.clone(),
            format: None,
            origin: "bench".into(),
        });
    }
    if let Some(at) = moment.filter(|_| judge) {
        judge_at(&mut m, at);
    }
    spent
}

fn findings(c: &mut Criterion) {
    let m = demo_model();
    c.bench_function("judge_per_capture", |b| {
        b.iter(|| kvscope::analysis::analyze(&m.inputs(60.0)).rules.len())
    });
    let events = hour();
    // One judgement at the end of the hour: the history is long, the window holds 60 scrapes.
    let mut long = Model::new(&["lmcache".into()], &["engine".into()], 3601);
    for (t, target, body) in &events {
        let _ = long.apply(Event::Scrape {
            target: *target,
            time: Some(*t),
            body: body.clone(),
            format: None,
            origin: "bench".into(),
        });
    }
    c.bench_function("verdicts_after_an_hour_at_1s", |b| {
        b.iter(|| long.note_verdicts(1.8e9 + 3600.0, 60.0))
    });
    let mut g = c.benchmark_group("hour");
    g.sample_size(10);
    g.bench_function("apply", |b| b.iter(|| run(&events, false)));
    g.bench_function("apply_and_judge_every_capture", |b| {
        b.iter(|| run(&events, true))
    });
    // The judging alone: the same run, timing only the judgements.
    g.bench_function("judge_every_capture", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..iters {
                spent += run(&events, true);
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(benches, findings);
criterion_main!(benches);
