//! Names by version: every metric name vLLM 0.34.0 declares (read from its wheel's source,
//! fixtures/vllm-0.34.0-metric-names.txt, provenance in fixtures/README.md) is one the catalog
//! knows, in the colon and the exporter spellings.

use std::process::Command;

use serde_json::Value;

fn report_engine(text: &str, name: &str) -> Value {
    let p = std::env::temp_dir().join(format!("kvscope-versions-{}-{name}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args([
            "report",
            "--format",
            "json",
            "--engine",
            p.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&p);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Hand-made scrape: each of vLLM 0.34's names once, as a gauge (the kind does not decide
/// whether a name is known).
#[test]
fn every_vllm_0_34_name_is_known_in_either_spelling() {
    let names = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/vllm-0.34.0-metric-names.txt"
    ))
    .unwrap();
    let names: Vec<&str> = names.lines().filter(|l| !l.is_empty()).collect();
    assert!(names.len() > 90, "the list is whole: {}", names.len());
    for spelling in ["vllm:", "vllm_"] {
        let text: String = names
            .iter()
            .map(|n| {
                let n = n.replacen("vllm:", spelling, 1);
                format!("# TYPE {n} gauge\n{n} 1\n")
            })
            .collect();
        let r = report_engine(&text, "names.prom");
        assert_eq!(r["unrecognised"], serde_json::json!([]), "{spelling}");
        // Both offloading generations: the per-direction names and the older total.
        let populated: Vec<&str> = r["families"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "populated")
            .filter_map(|f| f["id"].as_str())
            .collect();
        for id in [
            "vllm.kv_offload",
            "vllm.hf3fs",
            "vllm.hisparse",
            "vllm.umbp",
        ] {
            assert!(populated.contains(&id), "{spelling}: {id} in {populated:?}");
        }
    }
}
