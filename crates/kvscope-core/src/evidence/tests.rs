use std::collections::BTreeMap;

use super::lct::{Decoder, Item, args};
use super::msg::brief;

fn real_lct() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/lmcache-0.5.6-cpu-run1/run.lct"
    ))
    .unwrap()
}

/// Ops per qualname, records, largest t_mono, skipped, header level, as `chunk`-sized pieces
/// of `bytes` decode.
fn decode_in(
    bytes: &[u8],
    chunk: usize,
) -> (BTreeMap<String, u64>, u64, f64, u64, String, Decoder) {
    let mut d = Decoder::new();
    let (mut ops, mut n, mut dur, mut skipped, mut level) =
        (BTreeMap::new(), 0, 0.0f64, 0, String::new());
    for piece in bytes.chunks(chunk) {
        d.push(piece, |item| match item {
            Item::Header(h) => level = h.level,
            Item::Record(r, _) => {
                *ops.entry(r.qualname.to_string()).or_insert(0) += 1;
                n += 1;
                dur = dur.max(r.t_mono);
            }
            Item::Skipped { .. } => skipped += 1,
        });
    }
    (ops, n, dur, skipped, level, d)
}

#[test]
fn the_real_trace_decodes_as_lmcache_trace_info_says() {
    // ground-truth/trace_info.txt: 275 records, duration 179.798s, six operations.
    let bytes = real_lct();
    let (ops, n, dur, skipped, level, d) = decode_in(&bytes, bytes.len());
    assert_eq!(n, 275);
    assert_eq!(format!("{dur:.3}"), "179.798");
    assert_eq!(skipped, 0);
    assert_eq!(level, "storage");
    assert_eq!(d.partial(), None);
    assert_eq!(d.fatal(), None);
    let p = "lmcache.v1.distributed.storage_manager.StorageManager.";
    assert_eq!(ops[&format!("{p}submit_prefetch_task")], 82);
    assert_eq!(ops[&format!("{p}finish_read_prefetched")], 53);
    assert_eq!(ops.values().sum::<u64>(), 275);
}

#[test]
fn any_split_of_the_real_trace_decodes_the_same() {
    let bytes = real_lct();
    let whole = decode_in(&bytes, bytes.len());
    for chunk in [1, 3, 4, 5, 7, 1000, 4096] {
        let split = decode_in(&bytes, chunk);
        assert_eq!(
            (&split.0, split.1, split.2),
            (&whole.0, whole.1, whole.2),
            "{chunk}"
        );
    }
}

#[test]
fn a_record_s_arguments_read_as_lmcache_wrote_them() {
    let bytes = real_lct();
    let mut shown = Vec::new();
    Decoder::new().push(&bytes, |item| {
        if let Item::Record(r, frame) = item
            && r.qualname.ends_with("submit_prefetch_task")
            && shown.is_empty()
        {
            shown = args(frame).unwrap();
        }
    });
    let names: Vec<&str> = shown.iter().map(|(k, _)| k.as_str()).collect();
    assert!(names.contains(&"spec"), "{names:?}");
    let id = &shown
        .iter()
        .find(|(k, _)| k == "external_request_id")
        .unwrap()
        .1;
    assert!(id.as_str().unwrap().starts_with("req-"), "{id:?}");
    let spec = brief(&shown.iter().find(|(k, _)| k == "spec").unwrap().1, 4, 300);
    assert!(spec.starts_with("PrefetchTaskSpec("), "{spec}");
    assert!(spec.contains("keys"), "{spec}");
    println!("{spec}");
}

#[test]
fn a_cut_trace_keeps_its_whole_frames_and_says_where_it_was_cut() {
    let bytes = real_lct();
    let cut = &bytes[..bytes.len() - 10];
    let (_, n, _, _, _, d) = decode_in(cut, 4096);
    assert_eq!(n, 274);
    let (at, have) = d.partial().unwrap();
    assert_eq!(have as u64 + at, cut.len() as u64);
}

#[test]
fn hostile_bytes_stop_with_the_byte_they_stopped_at() {
    // Hand-made: not a trace at all, and a length prefix of 4 GB.
    let mut d = Decoder::new();
    d.push(b"\x00\x00\x00\x03abc", |_| {});
    assert!(d.fatal().unwrap().contains("byte 0"), "{:?}", d.fatal());
    let mut d = Decoder::new();
    d.push(&[0xff, 0xff, 0xff, 0xff, 1, 2], |_| {});
    assert!(d.fatal().unwrap().contains("corrupt"), "{:?}", d.fatal());
}

mod logs {
    use std::collections::BTreeMap;

    use crate::evidence::log::{Kind, Level, parse, strip_ansi};

    fn real_log() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/lmcache-0.5.6-cpu-run1/server.log"
        ))
        .unwrap()
    }

    #[test]
    fn the_real_server_log_reads_by_kind() {
        let text = real_log();
        let mut by = BTreeMap::new();
        let mut buf = String::new();
        for l in text.lines() {
            *by.entry(parse(strip_ansi(l, &mut buf)).kind).or_insert(0) += 1;
        }
        // grep -c on the file: 53 prefetch completions, 53 retrievals, 29 stores, 7
        // evictions, 85 HTTP requests.
        assert_eq!(by[&Kind::PrefetchCompleted], 53);
        assert_eq!(by[&Kind::Retrieved], 53);
        assert_eq!(by[&Kind::Stored], 29);
        assert_eq!(by[&Kind::EvictionTriggered], 7);
        assert_eq!(by[&Kind::HttpAccess], 85);
        assert_eq!(by[&Kind::TraceRecorder], 1);
        assert_eq!(by[&Kind::HttpServer], 1);
        assert_eq!(by[&Kind::ServerRunning], 1);
        assert_eq!(by.values().sum::<usize>(), text.lines().count());
        assert!(
            by[&Kind::Unknown] > 0,
            "Python warnings are not LMCache lines"
        );
    }

    #[test]
    fn a_prefetch_line_gives_its_split_and_request() {
        let text = real_log();
        let l = text
            .lines()
            .map(parse)
            .find(|l| l.kind == Kind::PrefetchCompleted)
            .unwrap();
        assert_eq!(l.level, Some(Level::Info));
        assert_eq!(l.fields[0], "L1+L2");
        assert_eq!((l.num(1), l.num(2)), (Some(2.0), Some(2.0)));
        assert_eq!(l.fields[3], "retained keys");
        assert_eq!((l.num(4), l.num(5)), (Some(2.0), Some(0.0)));
        assert_eq!(l.num(6), Some(51.6));
        assert_eq!(l.fields[7], "req-0-warm");
        assert_eq!(l.time, Some("2026-11-22 07:22:09,053"));
    }

    #[test]
    fn the_peer_packet_s_h100_lines_read_too() {
        // Lines quoted in the peer's Apache-2.0 packet_a log evidence (a real H100 run):
        // ANSI colours, a vLLM process prefix, and an older prefetch wording.
        let mut buf = String::new();
        let l = "\x1b[32;20m[2026-05-07 23:03:01,475] LMCache INFO:\x1b[0m Prefetch request completed (L1+L2): 8/8 prefix hits (8 L1, 0 L2) in 1.0 ms (external_request_id=cmpl-819e3fe396a65099-0-93fd3b8f, prefetch_request_id=-1) \x1b[3m(storage_manager.py:651:lmcache.v1.distributed.storage_manager)\x1b[0m";
        let p = parse(strip_ansi(l, &mut buf));
        assert_eq!(p.kind, Kind::PrefetchCompleted);
        assert_eq!(p.fields[3], "prefix hits");
        assert_eq!(p.fields[8], "-1");
        let v = parse(
            "(APIServer pid=71) INFO 05-07 23:02:56 [api_server.py:602] Starting vLLM server on http://0.0.0.0:8000",
        );
        assert_eq!(
            (v.kind, v.process),
            (Kind::VllmServer, Some("APIServer pid=71"))
        );
        let mut buf = String::new();
        let e = "(EngineCore pid=84) \x1b[32;20m[2026-05-07 23:02:59,514] LMCache INFO:\x1b[0m Stored 2048 tokens in 0.020 seconds \x1b[3m(server.py:422:lmcache.v1.multiprocess.server)\x1b[0m";
        let e = parse(strip_ansi(e, &mut buf));
        assert_eq!(
            (e.kind, e.num(0), e.num(1)),
            (Kind::Stored, Some(2048.0), Some(0.02))
        );
    }

    #[test]
    fn reference_templates_read_their_numbers() {
        // Hand-made from the format strings in the LMCache and vLLM sources (lmcache.md §7).
        let cases = [
            (
                "[2026-11-22 07:25:34,886] LMCache WARNING: Failed to batched allocate 12 memory blocks of size 4096 because no enough memory is available (short by 3 blocks) (x.py:1:y)",
                Kind::L1AllocFailed,
                2,
                3.0,
            ),
            (
                "[2026-11-22 07:25:34,886] LMCache WARNING: EventBus queue full (max_queue_size=4), 17 event(s) discarded so far (x.py:1:y)",
                Kind::EventbusQueueFull,
                1,
                17.0,
            ),
            (
                "[2026-11-22 07:25:34,886] LMCache INFO: [req_id=abc] Stored 256 out of total 512 tokens. size: 0.0312 GB, cost 1.2000 ms, throughput: 26.0000 GB/s; offload_time: 1.0000 ms, put_time: 0.2000 ms (x.py:1:y)",
                Kind::EmbeddedStored,
                5,
                26.0,
            ),
            (
                "[2026-11-22 07:25:34,886] LMCache INFO: [req_id=abc] Retrieved 256 out of 512 required tokens (from 600 total tokens). size: 0.0312 gb, cost 2.0000 ms, throughput: 15.6000 GB/s; (x.py:1:y)",
                Kind::EmbeddedRetrieved,
                6,
                15.6,
            ),
            (
                "[2026-11-22 07:25:34,886] LMCache INFO: Reqid: cmpl-1, Total tokens 600, Inference Engine computed tokens: 0, LMCache hit tokens: 512, need to load: 512 (x.py:1:y)",
                Kind::VllmHitTokens,
                3,
                512.0,
            ),
        ];
        for (line, kind, field, value) in cases {
            let p = parse(line);
            assert_eq!(p.kind, kind, "{line}");
            assert_eq!(p.num(field), Some(value), "{line}: {:?}", p.fields);
        }
    }

    #[test]
    fn lines_of_no_known_shape_are_unknown_and_kept() {
        // Hand-made hostile lines.
        for l in [
            "",
            "   ",
            "[",
            "(pid=",
            "INFO",
            "[x] LMCache",
            "Traceback (most recent call last):",
            "\x1b[",
            "INFO 1 [",
            "LMCache INFO: no bracket",
        ] {
            let mut buf = String::new();
            let p = parse(strip_ansi(l, &mut buf));
            assert_eq!(p.kind, Kind::Unknown, "{l:?}");
        }
    }
}

mod long_lines {
    use crate::evidence::lines::Log;
    use crate::evidence::log::MAX_LINE;

    /// Hand-made: a line longer than the longest kept counts as cut once, however it arrives.
    #[test]
    fn a_long_line_is_cut_once_however_it_arrives() {
        let mut text = vec![b'x'; MAX_LINE + 10];
        text.extend_from_slice(b"\nshort\n");
        for split in [0, 1, MAX_LINE - 1, MAX_LINE, MAX_LINE + 5, text.len()] {
            let mut l = Log::new("t");
            l.push(&text[..split], None);
            l.push(&text[split..], None);
            assert_eq!(
                (l.lines, l.cut_lines, l.summary().pending_bytes),
                (2, 1, 0),
                "split at {split}"
            );
            assert!(l.recent[0].message.len() <= 400);
        }
    }
}

mod spans {
    use crate::evidence::spans::Spans;

    /// Hand-made from the span shapes LMCache's source gives (lmcache.md §6):
    /// `fixtures/otel-handmade/`.
    fn read(name: &str, chunk: usize) -> Spans {
        let bytes = std::fs::read(format!(
            "{}/../../fixtures/otel-handmade/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut s = Spans::new(name);
        for piece in bytes.chunks(chunk) {
            s.push(piece);
        }
        s
    }

    #[test]
    fn otlp_json_lines_become_request_trees_with_their_hit_split() {
        let s = read("spans.otlp.jsonl", usize::MAX);
        let sum = s.summary();
        assert_eq!((sum.spans, sum.skipped_values), (17, 0));
        assert_eq!((sum.requests, sum.requests_with_lookup), (4, 4));
        assert_eq!((sum.hit_tokens, sum.requested_tokens), (1324.0, 4784.0));
        assert_eq!((sum.l1_hit_tokens, sum.l2_hit_tokens), (768.0, 256.0));
        assert_eq!(sum.timeouts, 1);
        assert_eq!(sum.by_name["mp.store"].count, 2);
        assert_eq!(sum.by_name["request"].max_ms, Some(5000.0));
        let requests = s.requests();
        let warm = &requests[0];
        assert_eq!(warm.session.as_deref(), Some("req-0-warm"));
        assert_eq!(warm.hit_rate(), Some(0.75));
        let names: Vec<&str> = warm.children.iter().map(|(_, c)| c.name.as_str()).collect();
        assert_eq!(names, ["mp.lookup_prefetch", "mp.retrieve", "mp.store"]);
        let blend = requests
            .iter()
            .find(|r| r.root.name == "cb.request")
            .unwrap();
        let tree: Vec<(usize, &str)> = blend
            .children
            .iter()
            .map(|(d, c)| (*d, c.name.as_str()))
            .collect();
        assert_eq!(
            tree,
            [
                (1, "cb.lookup"),
                (2, "cb.fingerprint_match"),
                (2, "cb.prefix_lookup"),
                (1, "cb.retrieve"),
                (2, "cb.scatter")
            ]
        );
    }

    #[test]
    fn any_split_reads_the_same() {
        let whole = read("spans.otlp.jsonl", usize::MAX).summary();
        for chunk in [1, 7, 100, 4096] {
            assert_eq!(
                read("spans.otlp.jsonl", chunk).summary().spans,
                whole.spans,
                "{chunk}"
            );
            assert_eq!(read("spans.otlp.jsonl", chunk).summary(), whole, "{chunk}");
        }
    }

    #[test]
    fn the_python_sdk_s_span_json_reads_too() {
        let s = read("spans.sdk.json", 50);
        let sum = s.summary();
        assert_eq!((sum.spans, sum.requests), (2, 1));
        assert_eq!(s.requests()[0].hit_rate(), Some(1.0));
        assert_eq!(sum.by_name["mp.lookup_prefetch"].p50_ms, Some(2.5));
    }

    #[test]
    fn garbage_between_spans_is_skipped_and_counted() {
        // Hand-made hostile input: a broken line, a JSON value of no known shape, then spans.
        let good = std::fs::read(format!(
            "{}/../../fixtures/otel-handmade/spans.otlp.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut s = Spans::new("x");
        s.push(b"{\"resourceSpans\": [oops\n{\"hello\": 1}\n");
        s.push(&good);
        let sum = s.summary();
        assert_eq!((sum.spans, sum.skipped_values), (17, 2));
        assert!(sum.error.unwrap().contains("not JSON"));
    }
}

mod spans_split {
    use crate::evidence::spans::Spans;

    /// Hand-made: a line that is not JSON is skipped to its end even when its end arrives in
    /// a later piece (what follows on that line is not read as a fresh value).
    #[test]
    fn a_bad_line_is_skipped_to_its_end_across_pieces() {
        let line = br#"x{"name":"request","context":{"trace_id":"0x1","span_id":"0x2"},"start_time":"2026-11-22T07:22:09Z","end_time":"2026-11-22T07:22:10Z"}"#;
        let mut text = line.to_vec();
        text.push(b'\n');
        text.extend_from_slice(&line[1..]);
        text.push(b'\n');
        for split in 0..text.len() {
            let mut s = Spans::new("t");
            s.push(&text[..split]);
            s.push(&text[split..]);
            assert_eq!((s.total, s.skipped), (1, 1), "split at {split}");
        }
    }
}

mod lookup_hashes {
    use std::collections::HashSet;

    use crate::evidence::hashes::Hashlog;

    const REAL: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/lmcache-0.5.6-lookup-hashes/lookup_hashes_20261130_162310_000000.jsonl"
    );

    /// The real lookup-hash log, read in any pieces, agrees with a plain count over its rows;
    /// no hash reaches the summary.
    #[test]
    fn the_real_lookup_hash_log_is_summarised_without_its_hashes() {
        let text = std::fs::read_to_string(REAL).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let (mut seen, mut repeated, mut chunks) = (HashSet::new(), 0u64, 0u64);
        for r in &rows {
            for h in r["chunk_hashes"].as_array().unwrap() {
                chunks += 1;
                if !seen.insert(h.as_str().unwrap().to_string()) {
                    repeated += 1;
                }
            }
        }
        let tokens: f64 = rows.iter().map(|r| r["seq_len"].as_f64().unwrap()).sum();
        for chunk in [1, 13, 4096, text.len()] {
            let mut h = Hashlog::new("real");
            for piece in text.as_bytes().chunks(chunk) {
                h.push(piece);
            }
            let s = h.summary();
            assert_eq!(s.lookups, rows.len() as u64, "{chunk}");
            assert_eq!((s.chunks, s.repeated_chunks), (chunks, repeated), "{chunk}");
            assert_eq!(s.models["test-model"].tokens, tokens);
            assert_eq!(s.chunk_sizes, [256]);
            assert_eq!(s.malformed_rows, 0);
            let json = serde_json::to_string(&s).unwrap();
            assert!(!json.contains("0x"), "a hash in the summary: {json}");
        }
    }

    #[test]
    fn malformed_rows_are_counted_and_named() {
        // Hand-made: a broken row between two good ones.
        let good = std::fs::read_to_string(REAL).unwrap();
        let first = good.lines().next().unwrap();
        let text = format!("{first}\n{{\"request_id\": \n{first}\n");
        let mut h = Hashlog::new("x");
        h.push(text.as_bytes());
        let s = h.summary();
        assert_eq!((s.lookups, s.malformed_rows), (2, 1));
        assert!(s.error.unwrap().contains("lookup 2"));
        assert_eq!(s.repeated_chunks, 2);
    }
}

mod trace_time {
    use crate::evidence::lct::{Decoder, Item};
    use crate::evidence::trace::Trace;

    /// Per-second counts of the real trace add up to its records, per operation too; the
    /// longest gap agrees with the records' own times.
    #[test]
    fn per_second_counts_and_gaps_agree_with_the_records() {
        let bytes = super::real_lct();
        let mut t = Trace::new("real");
        t.push(&bytes);
        assert_eq!(t.per_second(3600, None).iter().sum::<u64>(), t.records);
        for (i, name) in t.busiest(3) {
            let n = t.per_second(3600, Some(i)).iter().sum::<u64>();
            assert_eq!(n, t.ops()[name], "{name}");
        }
        let mut secs = Vec::new();
        Decoder::new().push(&bytes, |item| {
            if let Item::Record(r, _) = item {
                secs.push(r.t_wall.floor() as i64);
            }
        });
        secs.sort();
        secs.dedup();
        let gap = secs.windows(2).map(|w| w[1] - w[0] - 1).max();
        assert_eq!(t.longest_gap(), gap);
        assert!(gap.unwrap() > 0);
    }
}

/// Hand-made numbers at the edges: counts are believed from 0 to 2^53 only.
#[test]
fn counts_are_believed_from_zero_to_two_to_the_53() {
    for (text, read) in [
        ("0", Some(0.0)),
        (" 512 ", Some(512.0)),
        ("9007199254740992", Some(9_007_199_254_740_992.0)),
        ("9007199254740993", Some(9_007_199_254_740_992.0)),
        ("1e16", None),
        ("-5", None),
        ("-0.0", Some(0.0)),
        ("NaN", None),
        ("inf", None),
        ("1e400", None),
        ("twelve", None),
    ] {
        assert_eq!(super::count(text), read, "{text}");
    }
}

/// Hand-made span trees that are not trees: a span that is its own parent (eight sharing an
/// id), a cycle, a parent with thousands of children. Each request is read once, bounded.
#[test]
fn span_trees_that_are_not_trees_are_read_once_and_bounded() {
    let span = |id: &str, parent: &str, name: &str| {
        format!(
            r#"{{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"{id}","parentSpanId":"{parent}","name":"{name}","startTimeUnixNano":"1795332107000000000","endTimeUnixNano":"1795332107100000000","attributes":[{{"key":"hit_tokens","value":{{"intValue":"-5"}}}}]}}"#
        )
    };
    let doc = |spans: Vec<String>| {
        format!(
            r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#,
            spans.join(",")
        )
    };
    let mut s = super::spans::Spans::new("self.json");
    s.push(
        doc((0..8)
            .map(|_| span("b7ad6b7169203331", "b7ad6b7169203331", "request"))
            .collect())
        .as_bytes(),
    );
    let r = s.requests();
    assert_eq!(r.len(), 8);
    assert!(
        r.iter().all(|q| q.children.len() == 7),
        "each other span once"
    );
    assert_eq!(r[0].hit_tokens, None, "a negative count is not believed");
    assert_eq!(s.summary().numbers_not_believed, 8);
    let mut s = super::spans::Spans::new("cycle.json");
    s.push(
        doc(vec![
            span("00000000000000a1", "00000000000000a2", "request"),
            span("00000000000000a2", "00000000000000a1", "request"),
        ])
        .as_bytes(),
    );
    assert!(s.requests().iter().all(|q| q.children.len() == 1));
    let mut s = super::spans::Spans::new("fan.json");
    let fan = std::iter::once(span("00000000000000f0", "", "request"))
        .chain((0..2000).map(|n| {
            span(
                &format!("{:016x}", n + 0x1000),
                "00000000000000f0",
                "mp.step",
            )
        }))
        .collect();
    s.push(doc(fan).as_bytes());
    assert_eq!(s.requests()[0].children.len(), super::spans::FANOUT_MAX);
}
