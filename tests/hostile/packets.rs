//! Packets that contradict themselves: panics (A), misleading figures (C), thousands of
//! targets (F).

use super::*;

pub(super) fn class_a(dir: Dir, cases: &mut Vec<Case>) {
    // An event naming engine-7 in a packet of lmcache-0 and engine-0, in the middle.
    for (name, with_body) in [
        ("event-unknown-target", true),
        ("event-unknown-target-no-body", false),
    ] {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        let line = if with_body {
            retarget(&lines[1], "engine", 7)
        } else {
            r#"{"event":{"event":"latency","target":{"role":"engine","index":7},"time":1795332107.5,"seconds":0.01}}"#.to_string()
        };
        lines.insert(3, line);
        p.set_lines(&lines);
        p.rehash();
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            name,
            'A',
            "an event for engine-7, which the manifest lacks",
            damaged_runs(&f, "engine-7"),
        ));
    }
    // The same, unpacked.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        lines.insert(5, retarget(&lines[0], "lmcache", 3));
        p.set_lines(&lines);
        p.rehash();
        let d = dir("event-unknown-target-unpacked").join("p");
        p.write_dir(&d);
        let d = d.display().to_string();
        cases.push(case(
            "event-unknown-target-unpacked",
            'A',
            "an unpacked packet with an event for lmcache-3",
            damaged_runs(&d, "lmcache-3"),
        ));
    }
    // The manifest's only target is lmcache-5, and so are the events.
    {
        let mut p = Pkt::demo();
        let lines: Vec<String> = p
            .lines()
            .iter()
            .filter(|l| l.contains("\"lmcache\""))
            .map(|l| retarget(l, "lmcache", 5))
            .collect();
        p.set_lines(&lines);
        p.manifest["targets"] = serde_json::json!([{"key": "lmcache-5", "target": {"role": "lmcache", "index": 5}, "url": "x"}]);
        for m in p.manifest["members"].as_array_mut().unwrap() {
            if m["target"] == "lmcache-0" {
                m["target"] = "lmcache-5".into();
                m["path"] = "targets/lmcache-5/bodies.zst".into();
            }
        }
        for m in &mut p.members {
            if m.0 == "targets/lmcache-0/bodies.zst" {
                m.0 = "targets/lmcache-5/bodies.zst".into();
            }
        }
        p.manifest["members"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["target"] != "engine-0");
        p.members.retain(|m| !m.0.contains("engine-0"));
        p.rehash();
        let f = dir("only-target-lmcache-5").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]).says("lmcache-5"),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
            run(&["serve", &f]).serve().exit(&[2]),
        ];
        cases.push(case(
            "only-target-lmcache-5",
            'A',
            "a manifest whose only target is lmcache-5",
            runs,
        ));
    }
    // Two entries for one target; a key that does not match its target.
    for (name, targets) in [
        (
            "duplicate-targets",
            serde_json::json!([
            {"key": "lmcache-0", "target": {"role": "lmcache", "index": 0}, "url": "a"},
            {"key": "lmcache-0", "target": {"role": "lmcache", "index": 0}, "url": "b"},
            {"key": "engine-0", "target": {"role": "engine", "index": 0}, "url": "c"}]),
        ),
        (
            "key-not-its-target",
            serde_json::json!([
            {"key": "lmcache-0", "target": {"role": "engine", "index": 0}, "url": "a"},
            {"key": "engine-0", "target": {"role": "lmcache", "index": 0}, "url": "c"}]),
        ),
    ] {
        let mut p = Pkt::demo();
        p.manifest["targets"] = targets;
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
            run(&["serve", &f]).serve(),
        ];
        cases.push(case(
            name,
            'A',
            "targets listed twice, or keyed as another target",
            runs,
        ));
    }
}

pub(super) fn class_c(dir: Dir, cases: &mut Vec<Case>) {
    // An event kind from a newer kvscope, in the middle of the timeline.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        lines.insert(4, r#"{"event":{"event":"gpu_sample","target":{"role":"lmcache","index":0},"time":1795332107.3,"watts":300}}"#.into());
        p.set_lines(&lines);
        p.rehash();
        let f = dir("unknown-event-kind").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f])
                .exit(&[0])
                .says("intact")
                .says("1 event of a kind"),
            run(&["report", "--packet", &f, "--format", "json"])
                .exit(&[0])
                .says("\"scrapes\": 32"),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"]).exit(&[0]),
        ];
        cases.push(case(
            "unknown-event-kind",
            'C',
            "an unknown event kind mid-timeline",
            runs,
        ));
    }
    // A forged span: escapes, a screen clear, 100 KB.
    {
        let mut p = Pkt::demo();
        let forged = format!("\u{1b}]0;kvs-title\u{7}\u{1b}[2J{}", "x".repeat(100_000));
        p.manifest["span"] = serde_json::json!([forged, "2020-01-01T00:00:00Z"]);
        let f = dir("forged-span").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f])
                .exit(&[0])
                .says("2026-11-22T07:21:47")
                .never("2020-01-01")
                .never("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ];
        cases.push(case(
            "forged-span",
            'C',
            "a manifest span holding escapes and 100 KB",
            runs,
        ));
    }
    // Member names that leave the packet.
    for (name, member) in [
        ("member-dotdot", "../escape.txt"),
        ("member-absolute", "/etc/kvscope-abs.txt"),
    ] {
        let mut p = Pkt::demo();
        p.list(member, "log", b"hello\n");
        p.members.push((member.to_string(), b"hello\n".to_vec()));
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            name,
            'C',
            "a member named outside the packet",
            damaged_runs(&f, member),
        ));
    }
    // Negative counts in a log and in spans.
    {
        let d = dir("negative-counts");
        let log = "[2026-11-22 07:22:09,053] LMCache INFO: Prefetch request completed (L1+L2): -50505/-70707 retained keys (-2 L1, 0 L2) in 51.6 ms (external_request_id=req-0-warm, prefetch_request_id=1) (storage_manager.py:651:lmcache.v1.distributed.storage_manager)\n\
[2026-11-22 07:22:09,060] LMCache INFO: Stored -90909 tokens in 0.5 seconds (x.py:1:m)\n\
[2026-11-22 07:22:09,061] LMCache INFO: Stored 1e400 tokens in 0.5 seconds (x.py:1:m)\n\
[2026-11-22 07:22:09,062] LMCache INFO: Retrieved 18014398509481985 tokens in NaN seconds (x.py:1:m)\n";
        std::fs::write(d.join("server.log"), log).unwrap();
        let spans = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"request","startTimeUnixNano":"1795332107000000000","endTimeUnixNano":"1795332107100000000","attributes":[{"key":"hit_tokens","value":{"intValue":"-50505"}},{"key":"requested_tokens","value":{"intValue":"-70707"}}]}]}]}]}"#;
        std::fs::write(d.join("spans.json"), spans).unwrap();
        let l = d.join("server.log").display().to_string();
        let s = d.join("spans.json").display().to_string();
        let runs = ["text", "json"]
            .iter()
            .flat_map(|fmt| {
                [
                    run(&[
                        "report",
                        "--lmcache",
                        &t0(),
                        "--server-log",
                        &l,
                        "--format",
                        fmt,
                    ])
                    .exit(&[0])
                    .never("-50505")
                    .never("-70707")
                    .never("-90909")
                    .never("18014398509481985"),
                    run(&["report", "--lmcache", &t0(), "--otel", &s, "--format", fmt])
                        .exit(&[0])
                        .never("-50505")
                        .never("-70707"),
                ]
            })
            .collect();
        cases.push(case(
            "negative-counts",
            'C',
            "negative, infinite and too-large counts in a log and in spans",
            runs,
        ));
    }
}

pub(super) fn class_f(dir: Dir, cases: &mut Vec<Case>) {
    // 10,000 targets overflow the port range at once; 1,000 would be served, a port each.
    for (name, n) in [
        ("ten-thousand-targets", 10_000),
        ("thousand-targets", 1_000),
    ] {
        // The demo's LMCache recording, and engines that never answered.
        let mut p = Pkt::demo();
        let lines: Vec<String> = p
            .lines()
            .into_iter()
            .filter(|l| l.contains("\"lmcache\""))
            .collect();
        let mut targets = vec![p.manifest["targets"][0].clone()];
        targets.extend((0..n - 1).map(|i| serde_json::json!({"key": format!("engine-{i}"), "target": {"role": "engine", "index": i}, "url": "x"})));
        p.manifest["targets"] = targets.into();
        p.manifest["members"]
            .as_array_mut()
            .unwrap()
            .retain(|m| m["target"] != "engine-0");
        p.members.retain(|m| !m.0.contains("engine-0"));
        p.set_lines(&lines);
        p.rehash();
        let f = dir(name).join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let cap = "KVSCOPE_MAX_TARGETS";
        let runs = vec![
            run(&["serve", &f]).serve().exit(&[2]).says(cap),
            run(&["verify", &f]).exit(&[2]).says(cap),
            run(&["report", "--packet", &f, "--format", "json"])
                .exit(&[2])
                .says(cap),
        ];
        cases.push(case(name, 'F', &format!("a packet of {n} targets"), runs));
    }
}
