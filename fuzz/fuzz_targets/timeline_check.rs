//! Any timeline text in a packet whose manifest lists one to three targets: the timeline
//! hands on only events for listed targets (the rest named and skipped), a model built from
//! it never indexes past its targets, and every event comes out whole or the replay says why.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/hostile/corpus.rs"]
mod corpus;

fuzz_target!(|data: &[u8]| {
    let Some((shape, text)) = data.split_first() else {
        return;
    };
    let mut p = corpus::Pkt::demo();
    let mut targets = vec![serde_json::json!({"key": "lmcache-0", "target": {"role": "lmcache", "index": 0}, "url": "a"})];
    if shape & 1 == 1 {
        targets.push(serde_json::json!({"key": "engine-0", "target": {"role": "engine", "index": 0}, "url": "b"}));
    }
    if shape & 2 == 2 {
        targets.push(serde_json::json!({"key": "lmcache-1", "target": {"role": "lmcache", "index": 1}, "url": "c"}));
    }
    p.manifest["targets"] = targets.into();
    *p.member("timeline.jsonl.zst") = corpus::zstd(text);
    p.rehash();
    let Ok(opened) = kvscope::packet::from_tar(&p.tar_bytes()) else {
        return;
    };
    let listed: Vec<_> = opened.manifest.targets.iter().map(|t| t.target).collect();
    let timeline = opened.timeline();
    for i in 0..timeline.len() {
        assert!(listed.contains(&timeline.peek(i).unwrap().target()));
    }
    let _ = timeline.problems();
    let (model, _) = kvscope::cli::packet::model_of(&opened.manifest.targets, &timeline, None, (1000, None), None);
    drop(model);
});
