//! Real OpenTelemetry span exports of a real LMCache 0.5.6 MP server run with
//! `--enable-tracing --otlp-endpoint` (fixtures/lmcache-0.5.6-otlp, provenance in
//! fixtures/README.md): the same export requests written in protobuf's two JSON forms read to
//! the same spans; and the run's `/metrics`, which an OTLP-pushing server leaves without
//! LMCache's families, is said to be that, not "no traffic".

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const RUN: &str = "fixtures/lmcache-0.5.6-otlp";

fn kvscope(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty() || out.status.code() != Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The report's `spans` for `args` (`--otel FILE`, `--packet DIR` …), without its file name.
fn spans_by(args: &[&str]) -> Value {
    let (code, out) = kvscope(&[&["report", "--format", "json"][..], args].concat());
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("-0.0"), "no negative zero in JSON output");
    assert!(!out.contains("input_ids"), "no token id reaches the report");
    let mut s: Value = serde_json::from_str::<Value>(&out).unwrap()["spans"].clone();
    s.as_object_mut().unwrap().remove("file");
    s
}

fn spans_of(file: &str) -> Value {
    spans_by(&["--otel", &format!("{RUN}/{file}")])
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A fixture's gzip-compressed file, as it holds.
fn gunzip(rel: &str) -> Vec<u8> {
    let gz = std::fs::read(repo(rel)).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
    out
}

/// A peer packet folder made here from the real packet_a's scrapes and manifest, with `export`
/// beside them as `name`.
fn peer_folder(tag: &str, name: &str, export: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvscope-peer-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "fixture_manifest.json",
        "lmcache_metrics_loaded.prom",
        "vllm_metrics_loaded.prom",
    ] {
        std::fs::copy(repo("fixtures/packet_a").join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join(name), export).unwrap();
    dir
}

/// Proto field names (`resource_spans`, `string_value`, base64 ids: what read as 0 spans
/// before) and lowerCamelCase read to one summary: every span the receiver counted, requests
/// tied to their lookups by parent ids.
#[test]
fn both_protobuf_json_forms_of_a_real_export_read_alike() {
    let (snake, camel) = (spans_of("spans.proto.jsonl"), spans_of("spans.camel.jsonl"));
    assert_eq!(snake, camel);
    // What the receiver logged: 24 requests, 176 spans.
    assert_eq!(snake["spans"], 176, "{snake}");
    assert_eq!(snake["skipped_values"], 0);
    assert_eq!(snake["error"], Value::Null);
    let requests = snake["requests"].as_u64().unwrap();
    assert!(
        requests > 0 && snake["requests_with_lookup"] == requests,
        "{snake}"
    );
    let (hit, requested) = (
        snake["hit_tokens"].as_f64().unwrap(),
        snake["requested_tokens"].as_f64().unwrap(),
    );
    assert!(hit > 0.0 && hit < requested, "{snake}");
    assert_eq!(
        snake["by_name"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["mp.lookup_prefetch", "mp.retrieve", "mp.store", "request"]
    );
}

/// The run's own capture: `/metrics` has the process's metrics only, `/config` names the OTLP
/// endpoint; the verdict says where the metrics went.
#[test]
fn an_otlp_pushing_server_is_unknown_with_where_its_metrics_went() {
    let (code, out) = kvscope(&["report", "--format", "json", "--packet", RUN]);
    assert_eq!(code, 0);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["verdict"]["state"], "unknown", "{}", r["verdict"]);
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("pushes its metrics to OTLP (http://127.0.0.1:14317"),
        "{summary}"
    );
    // Without the routes it cannot say where, and says how to tell.
    let (_, out) = kvscope(&[
        "report",
        "--format",
        "json",
        "--lmcache",
        &format!("{RUN}/metrics_t20.prom"),
    ]);
    let r: Value = serde_json::from_str(&out).unwrap();
    let summary = r["verdict"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("none of LMCache's families") && summary.contains("--otlp-endpoint"),
        "{summary}"
    );
}

/// A peer packet folder that holds a span export beside its scrapes: import carries it, and
/// the report reads it as `--otel` would (the export is the real one above; the folder is the
/// real packet_a's scrapes and manifest, put together here).
#[test]
fn a_peer_folder_s_span_export_is_read_as_otel_would() {
    let export = std::fs::read(repo(RUN).join("spans.proto.jsonl")).unwrap();
    let dir = peer_folder("otel", "lmcache_otel_spans.jsonl", &export);
    let (code, out) = kvscope(&[
        "report",
        "--format",
        "json",
        "--packet",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let spans = &serde_json::from_str::<Value>(&out).unwrap()["spans"];
    assert_eq!(spans["spans"], 176, "{spans}");
    assert_eq!(spans["file"], "lmcache_otel_spans.jsonl");
    // The SDK console exporter's indented objects (the real 0.5.7rc2 export) are carried too:
    // the folder is read as `--otel` reads the file.
    let console = gunzip("fixtures/lmcache-0.5.7rc2-otlp/spans.console.json.gz");
    std::fs::remove_file(dir.join("lmcache_otel_spans.jsonl")).unwrap();
    std::fs::write(dir.join("lmcache_spans.json"), &console).unwrap();
    let plain = dir.join("lmcache_spans.json");
    let direct = spans_by(&["--otel", plain.to_str().unwrap()]);
    assert!(direct["spans"].as_u64() > Some(200), "{direct}");
    assert_eq!(spans_by(&["--packet", dir.to_str().unwrap()]), direct);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A gzip span export (two gzip members one after the other, as `cat a.gz b.gz` makes) reads
/// as the export it holds.
#[test]
fn a_gzip_export_reads_as_what_it_holds() {
    use std::io::Write;
    let plain = std::fs::read(repo(RUN).join("spans.proto.jsonl")).unwrap();
    let half = plain.len() / 2;
    let cut = half + plain[half..].iter().position(|b| *b == b'\n').unwrap() + 1;
    let mut gz = Vec::new();
    for part in [&plain[..cut], &plain[cut..]] {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(part).unwrap();
        gz.extend(e.finish().unwrap());
    }
    let path = std::env::temp_dir().join(format!("kvscope-spans-{}.jsonl.gz", std::process::id()));
    std::fs::write(&path, gz).unwrap();
    let mut got = spans_by(&["--otel", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    let mut want = spans_of("spans.proto.jsonl");
    // The compressed file's bytes are its own.
    for v in [&mut got, &mut want] {
        v.as_object_mut().unwrap().remove("bytes");
    }
    assert_eq!(got, want);
}

/// LMCache 0.5.7rc2 run for real with `--enable-tracing --enable-token-trace` and an OTLP
/// endpoint (fixtures/lmcache-0.5.7rc2-otlp): the SDK's own console exporter beside the
/// server's OTLP exporter wrote the same spans, each export gzip-compressed here. Every shape
/// reads to what the file itself holds, counted here without kvscope.
#[test]
fn lmcache_0_5_7_s_token_trace_reads_in_every_shape() {
    const RC: &str = "fixtures/lmcache-0.5.7rc2-otlp";
    let read = |file: &str| -> (Value, Vec<Value>) {
        let text = gunzip(&format!("{RC}/{file}"));
        let values = serde_json::Deserializer::from_slice(&text)
            .into_iter::<Value>()
            .map(Result::unwrap)
            .collect();
        (spans_by(&["--otel", &format!("{RC}/{file}")]), values)
    };
    // The console exporter: one JSON object per span, attributes as a map (the root's
    // figures as numbers).
    let (console, spans) = read("spans.console.json.gz");
    assert_eq!(console["spans"], spans.len(), "{console}");
    let roots: Vec<&Value> = spans
        .iter()
        .filter(|s| s["name"] == "request" && s["parent_id"].is_null())
        .collect();
    assert_eq!(console["requests"], roots.len());
    let sum = |k: &str| -> f64 {
        roots
            .iter()
            .map(|r| r["attributes"][k].as_f64().unwrap())
            .sum()
    };
    assert_eq!(console["hit_tokens"], sum("hit_tokens"));
    assert_eq!(console["requested_tokens"], sum("requested_tokens"));
    let traced = spans
        .iter()
        .filter(|s| s["name"] == "mp.request.trace")
        .count();
    assert_eq!(console["by_name"]["mp.request.trace"]["count"], traced);
    assert_eq!(traced, roots.len(), "one token trace per request");
    // The OTLP receiver's two forms: one summary; fewer spans, because the server stopped
    // before its batch exporter sent the last batch (the console exporter writes each span
    // as it ends).
    let (snake, requests) = read("spans.proto.jsonl.gz");
    let (camel, _) = read("spans.camel.jsonl.gz");
    assert_eq!(snake, camel);
    let sent: usize = requests
        .iter()
        .flat_map(|r| r["resource_spans"].as_array().unwrap())
        .flat_map(|r| r["scope_spans"].as_array().unwrap())
        .map(|s| s["spans"].as_array().unwrap().len())
        .sum();
    assert_eq!(snake["spans"], sent);
    assert!(sent < spans.len(), "{sent} of {}", spans.len());
    assert!(snake["requests"].as_u64() < console["requests"].as_u64());
}

/// A peer folder carrying the real 0.5.7rc2 export, imported to a packet: the packet's copy
/// has every token-id array emptied, says so, verifies, and reads to the same spans.
#[test]
fn an_imported_token_trace_travels_without_its_token_ids() {
    let text = gunzip("fixtures/lmcache-0.5.7rc2-otlp/spans.proto.jsonl.gz");
    let dir = peer_folder("tokens", "lmcache_otel_spans.jsonl", &text);
    let out = dir.with_extension("kvpacket");
    let _ = std::fs::remove_file(&out);
    let (code, said) = kvscope(&[
        "import",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{said}");
    let (from_folder, from_packet) = (
        spans_by(&["--packet", dir.to_str().unwrap()]),
        spans_by(&["--packet", out.to_str().unwrap()]),
    );
    assert_eq!(from_packet["spans"], from_folder["spans"]);
    assert_eq!(from_packet["by_name"], from_folder["by_name"]);
    assert_eq!(from_packet["hit_tokens"], from_folder["hit_tokens"]);
    let tar = std::fs::read(&out).unwrap();
    let packet = String::from_utf8_lossy(&tar);
    assert!(
        !packet.contains(r#"{"int_value": "9906"}"#),
        "a token id travelled"
    );
    assert!(packet.contains(r#""lmcache.input_ids", "value": {"array_value": {"values": []}}"#));
    let traced = String::from_utf8_lossy(&text)
        .matches("mp.request.trace")
        .count();
    assert!(
        packet.contains(&format!("emptied in {traced} spans")),
        "{traced}"
    );
    let (code, said) = kvscope(&["verify", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{said}");
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&out);
}
