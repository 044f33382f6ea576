//! Small inputs that would cost huge memory or time (B).

use std::path::Path;

use super::*;

pub(super) fn class_b(dir: Dir, cases: &mut Vec<Case>) {
    // A 128 KB timeline that decompresses to 4 GiB of newlines.
    {
        let mut p = Pkt::demo();
        *p.member("timeline.jsonl.zst") = zstd_rle(b'\n', (4 << 30) + 1);
        p.rehash();
        let f = dir("timeline-newline-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "timeline-newline-bomb",
            'B',
            "a 128 KB timeline of 4 GiB of newlines",
            damaged_runs(&f, "timeline.jsonl.zst"),
        ));
        // The same, its manifest claiming the 4 GiB as its raw size: the line cap stops it;
        // with that cap raised past it, the watchdog does, naming the input.
        for m in p.manifest["members"].as_array_mut().unwrap() {
            if m["path"] == "timeline.jsonl.zst" {
                m["raw_bytes"] = ((4u64 << 30) + 1).into();
            }
        }
        let f = dir("timeline-newline-bomb-raw").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let mut runs = damaged_runs(&f, "KVSCOPE_MAX_EVENTS");
        runs.push(
            run(&["verify", &f])
                .env("KVSCOPE_MAX_EVENTS", "100000000000")
                .env("KVSCOPE_WATCHDOG_SECONDS", "1")
                .exit(&[2])
                .says("KVSCOPE_WATCHDOG_SECONDS"),
        );
        // A value that is not a number is said, and the default kept.
        runs.push(
            run(&["verify", &f])
                .env("KVSCOPE_WATCHDOG_SECONDS", "soon")
                .exit(&[1])
                .says(
                    "KVSCOPE_WATCHDOG_SECONDS=\"soon\" is not a positive whole number; 30 is used",
                ),
        );
        cases.push(case(
            "timeline-newline-bomb-raw",
            'B',
            "4 GiB of newlines that the manifest says are expected",
            runs,
        ));
    }
    // A timeline of one real line repeated past any budget (about 1.5 GB of text).
    {
        let mut p = Pkt::demo();
        let line = r#"{"event":{"event":"latency","target":{"role":"lmcache","index":0},"time":1795332107.289,"seconds":0.0123}}"#;
        let mut enc = zstd::Encoder::new(Vec::new(), 19).unwrap();
        let block = format!("{line}\n").repeat(1 << 14);
        for _ in 0..800 {
            enc.write_all(block.as_bytes()).unwrap();
        }
        *p.member("timeline.jsonl.zst") = enc.finish().unwrap();
        p.rehash();
        let f = dir("timeline-lines-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "timeline-lines-bomb",
            'B',
            "13 million valid timeline lines in a small file",
            damaged_runs(&f, "timeline.jsonl.zst"),
        ));
    }
    // A body stream of 4 GiB of zeros, a scrape referring to its end.
    {
        let mut p = Pkt::demo();
        let mut lines = p.lines();
        let mut v: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        v["stored"] = serde_json::json!({"offset": (4u64 << 30) - 100, "len": 50});
        lines.insert(0, v.to_string());
        p.set_lines(&lines);
        *p.member("targets/lmcache-0/bodies.zst") = zstd_rle(0, 4 << 30);
        p.rehash();
        let f = dir("bodies-bomb").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        cases.push(case(
            "bodies-bomb",
            'B',
            "a body stream of 4 GiB of zeros",
            damaged_runs(&f, "lmcache-0"),
        ));
    }
    // report.json listed 3,000 times.
    {
        let mut p = Pkt::demo();
        let listed = p.manifest["members"].as_array().unwrap().clone();
        let report = listed
            .iter()
            .find(|m| m["kind"] == "report")
            .unwrap()
            .clone();
        let many = p.manifest["members"].as_array_mut().unwrap();
        many.extend(std::iter::repeat_n(report, 3000));
        let f = dir("member-listed-3000-times").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]).says("report.json"),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
            run(&["import", &f, "--out", "{out}/copy.kvpacket"])
                .exit(&[1, 2])
                .writes_nothing(),
        ];
        cases.push(case(
            "member-listed-3000-times",
            'B',
            "one member listed 3,000 times",
            runs,
        ));
    }
    // 30,000 members, each present and listed.
    {
        let mut p = Pkt::demo();
        for i in 0..30_000 {
            let path = format!("x/{i}");
            p.list(&path, "extra", b"");
            p.members.push((path, Vec::new()));
        }
        let f = dir("thirty-thousand-members").join("p.kvpacket");
        p.write_tar(&f);
        let f = f.display().to_string();
        let runs = vec![
            run(&["verify", &f]).exit(&[1, 2]),
            run(&["report", "--packet", &f, "--format", "json"]).exit(&[0, 2]),
        ];
        cases.push(case(
            "thirty-thousand-members",
            'B',
            "30,000 listed members",
            runs,
        ));
    }
    // A capture index of 10,000 rows (under 1 MB) naming the same real 28 KB scrape: 280 MB
    // of bodies if each row were held.
    {
        let d = dir("index-many-rows").join("capture");
        capture(&d, 1);
        std::fs::copy(
            repo("fixtures/lmcache-0.5.6-cpu-run1/metrics_t31.prom"),
            d.join("m.prom"),
        )
        .unwrap();
        let mut index = String::from("file\tutc_time\n");
        for i in 0..10_000u64 {
            index.push_str(&format!(
                "m.prom\t2026-11-22T{:02}:{:02}:{:02}Z\n",
                7 + i / 3600,
                (i / 60) % 60,
                i % 60
            ));
        }
        std::fs::write(d.join("metrics_index.tsv"), index).unwrap();
        let d = d.display().to_string();
        let i = format!("{d}/metrics_index.tsv");
        let runs = vec![
            run(&["report", "--lmcache", &i, "--format", "json"]),
            run(&["report", "--packet", &d, "--format", "json"]),
            run(&["import", &d, "--out", "{out}/copy.kvpacket"]),
        ];
        cases.push(case(
            "index-many-rows",
            'B',
            "a capture index of 10,000 rows naming one real scrape",
            runs,
        ));
    }
    // Span trees: eight spans sharing one id, each its own parent; a cycle; a long chain.
    {
        let d = dir("spans-self-parent");
        let span = |id: &str, parent: &str, name: &str, n: usize| {
            format!(
                r#"{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{id}","parentSpanId":"{parent}","name":"{name}","startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[]}}"#,
                1_795_332_107_000_000_000u64 + n as u64,
                1_795_332_107_100_000_000u64 + n as u64
            )
        };
        let doc = |spans: Vec<String>| {
            format!(
                r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
                spans.join(",")
            )
        };
        let selfish: Vec<String> = (0..8)
            .map(|n| span("b7ad6b7169203331", "b7ad6b7169203331", "request", n))
            .collect();
        std::fs::write(d.join("self.json"), doc(selfish)).unwrap();
        let cycle = vec![
            span("00000000000000a1", "00000000000000a2", "request", 0),
            span("00000000000000a2", "00000000000000a1", "request", 1),
        ];
        std::fs::write(d.join("cycle.json"), doc(cycle)).unwrap();
        let chain: Vec<String> = (0..5000)
            .map(|n| {
                span(
                    &format!("{:016x}", n + 1),
                    &format!("{n:016x}"),
                    if n == 0 { "request" } else { "mp.step" },
                    n,
                )
            })
            .collect();
        std::fs::write(d.join("chain.json"), doc(chain)).unwrap();
        let fan: Vec<String> = std::iter::once(span("00000000000000f0", "", "request", 0))
            .chain((0..5000).map(|n| {
                span(
                    &format!("{:016x}", n + 0x1000),
                    "00000000000000f0",
                    "mp.step",
                    n,
                )
            }))
            .collect();
        std::fs::write(d.join("fan.json"), doc(fan)).unwrap();
        let runs = ["self", "cycle", "chain", "fan"]
            .iter()
            .map(|f| {
                let p = d.join(format!("{f}.json")).display().to_string();
                run(&[
                    "report",
                    "--lmcache",
                    &t0(),
                    "--otel",
                    &p,
                    "--format",
                    "text",
                ])
                .exit(&[0])
            })
            .collect();
        cases.push(case(
            "spans-self-parent",
            'B',
            "span trees: self-parents, a cycle, a 5,000-deep chain, a 5,000-wide fan",
            runs,
        ));
    }
    // A capture folder whose route status is a FIFO, or a link to /dev/zero.
    for (name, fifo) in [
        ("capture-status-fifo", true),
        ("capture-status-dev-zero", false),
    ] {
        let d = dir(name).join("capture");
        capture(&d, 2);
        let status = d.join("http").join("healthcheck.status");
        if fifo {
            mkfifo(&status);
        } else {
            symlink(Path::new("/dev/zero"), &status);
        }
        let d = d.display().to_string();
        let runs = vec![
            run(&["report", "--packet", &d, "--format", "json"]),
            run(&["import", &d, "--out", "{out}/copy.kvpacket"]),
            run(&["serve", &d]).serve(),
        ];
        cases.push(case(
            name,
            'B',
            "a capture folder's route status is a FIFO or /dev/zero",
            runs,
        ));
    }
    // Fleet answers: 100,000 warnings; 100,000 instances.
    {
        let warnings = (0..100_000).map(|i| format!("w{i}")).collect();
        let mut c = case(
            "api-warnings-flood",
            'B',
            "a query answer carrying 100,000 warnings",
            vec![
                run(&["report", "--prometheus", "{api}", "--format", "text"])
                    .says("more distinct warnings"),
            ],
        );
        c.answers = vec![answer(
            "/api/v1/query",
            200,
            api_vector(serde_json::json!([]), warnings),
        )];
        cases.push(c);
        let rows: Vec<serde_json::Value> = (0..100_000)
            .map(|i| serde_json::json!({"metric": {"job": "lmcache", "instance": format!("10.0.{}.{}:8080", i / 256, i % 256), "kvscope_kind": "lmcache"}, "value": [1795332107.0, "1"]}))
            .collect();
        let mut c = case(
            "api-instances-flood",
            'B',
            "discovery finding 100,000 instances",
            vec![
                run(&["report", "--prometheus", "{api}", "--format", "text"])
                    .says("KVSCOPE_MAX_INSTANCES"),
            ],
        );
        let matrix = br#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#.to_vec();
        let discovery = Answer {
            query_holds: Some("kvscope_kind".into()),
            ..answer("/api/v1/query", 200, api_vector(rows.into(), Vec::new()))
        };
        let empty = api_vector(serde_json::json!([]), Vec::new());
        c.answers = vec![
            discovery,
            answer("/api/v1/query", 200, empty),
            answer("/api/v1/query", 200, matrix),
        ];
        cases.push(c);
    }
}
