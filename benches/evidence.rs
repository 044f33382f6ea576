//! Evidence decoding speed: a `.lct` of over a million records made of the real capture's
//! record frames, fed in the 1 MiB events a source sends; a million real log lines; and one
//! second of a 10,000 lines/s log applied and pictured, as the worker does between frames.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kvscope::evidence::Streams;
use kvscope::vocab::Stream;

#[path = "common/synth.rs"]
mod synth;

const CHUNK: usize = 1 << 20;

fn feed(stream: Stream, bytes: &[u8]) -> Streams {
    let mut s = Streams::default();
    for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
        s.apply(stream, Some(1.0), i == 0, chunk, "bench");
    }
    s
}

fn evidence(c: &mut Criterion) {
    let lct = synth::lct(1_000_000);
    let mut g = c.benchmark_group("lct");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(lct.len() as u64));
    g.bench_function("decode_1m_records", |b| {
        b.iter(|| feed(Stream::Trace, black_box(&lct)).trace.unwrap().records)
    });
    g.finish();

    let log = synth::log(1_000_000);
    let lines = log.iter().filter(|b| **b == b'\n').count() as u64;
    let mut g = c.benchmark_group("log");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines));
    g.bench_function("parse_1m_lines", |b| {
        b.iter(|| {
            feed(Stream::ServerLog, black_box(&log))
                .server_log
                .unwrap()
                .lines
        })
    });
    g.finish();

    // One second at 10,000 lines/s, in the four events a 250 ms tail sends, then the picture.
    let second = synth::log(10_000);
    let second = &second[..second
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(9_999)
        .unwrap()
        .0
        + 1];
    let quarter = second.len() / 4;
    c.bench_function("tail_10k_lines_then_picture", |b| {
        let model = kvscope::model::Model::new(&["lmcache".into()], &[], 64);
        let mut core = kvscope::session::picture::Core::new(model, 60.0);
        let target = kvscope::vocab::TargetRef {
            role: kvscope::vocab::Role::Lmcache,
            index: 0,
        };
        b.iter(|| {
            for part in second.chunks(quarter) {
                core.apply(kvscope::vocab::Event::Evidence {
                    target,
                    time: Some(1.0),
                    stream: Stream::ServerLog,
                    fresh: false,
                    body: part.to_vec(),
                    origin: "bench".into(),
                });
            }
            core.shown(None).evidence.log.is_some()
        })
    });
}

criterion_group!(benches, evidence);
criterion_main!(benches);
