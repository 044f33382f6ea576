//! Exporter-normalised metric names, chosen per scrape: real engine scrapes with `vllm:`,
//! `sglang:` and `lmcache:` rewritten to `vllm_`, `sglang_` and `lmcache_` (as OpenTelemetry
//! collectors, Google Managed Prometheus and common dashboards write them) give the same
//! figures, families and architecture; a scrape that has both spellings reads the colon ones
//! and lists the others as unrecognised, never counting a series twice.

use serde_json::Value;

/// Real scrapes (fixtures/README.md), each with the prefix it is rewritten from.
const REAL: [(&str, &str); 4] = [
    ("packet_a/vllm_metrics_loaded.prom", "vllm:"),
    (
        "engine-samples/vllm_0.10.0_prodstack617_excerpt.prom",
        "vllm:",
    ),
    (
        "engine-samples/sglang_0.5.1_issue13485_excerpt.prom",
        "sglang:",
    ),
    (
        "engine-samples/vllm_lmcache-embedded_tp4_lmcache1300_excerpt.prom",
        "lmcache:",
    ),
];

mod common;
use common::{fixture, scratch};

fn report(engine: &std::path::Path) -> Value {
    common::report_json(&["--engine", engine.to_str().unwrap()])
}

/// What must not change with the spelling: the engine's and embedded LMCache's figures, the
/// architecture, and each family's status.
fn seen(r: &Value) -> Value {
    let families: Vec<Value> = r["families"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| serde_json::json!([f["id"], f["status"]]))
        .collect();
    serde_json::json!({
        "engine": r["engine"],
        "embedded": r["lmcache_embedded"],
        "architecture": r["mode"]["architecture"],
        "families": families,
    })
}

/// Every name beginning `colon` at a line's start or after `# HELP ` / `# TYPE `, written with
/// an underscore instead.
fn underscored(text: &str, colon: &str) -> String {
    let under = colon.replace(':', "_");
    text.lines()
        .map(|l| {
            for head in ["# HELP ", "# TYPE ", ""] {
                if let Some(rest) = l.strip_prefix(head)
                    && let Some(name) = rest.strip_prefix(colon)
                {
                    return format!("{head}{under}{name}\n");
                }
            }
            format!("{l}\n")
        })
        .collect()
}

#[test]
fn underscored_spellings_read_as_the_colon_ones() {
    for (file, colon) in REAL {
        let real = fixture(file);
        let text = std::fs::read_to_string(&real).unwrap();
        let rewritten = underscored(&text, colon);
        assert_ne!(rewritten, text, "{file}: something was rewritten");
        let p = scratch("under.prom", &rewritten);
        let (want, got) = (report(&real), report(&p));
        let _ = std::fs::remove_file(&p);
        assert_eq!(seen(&got), seen(&want), "{file}");
        assert_eq!(got["unrecognised"], want["unrecognised"], "{file}");
    }
}

/// Hand-made addition to the real H100 scrape: one `vllm_` copy of a counter it has with the
/// colon. The colon one is read; the copy is unrecognised, not added to it.
#[test]
fn a_scrape_with_both_spellings_reads_the_colon_ones_only() {
    let real = fixture("packet_a/vllm_metrics_loaded.prom");
    let text = std::fs::read_to_string(&real).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("vllm:prompt_tokens_total"))
        .expect("the scrape counts prompt tokens");
    let both = format!("{text}{}\n", line.replacen("vllm:", "vllm_", 1));
    let p = scratch("both.prom", &both);
    let (want, got) = (report(&real), report(&p));
    let _ = std::fs::remove_file(&p);
    assert_eq!(seen(&got), seen(&want));
    let names: Vec<&str> = got["unrecognised"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    assert!(
        names.contains(&"vllm_prompt_tokens_total") || names.contains(&"vllm_prompt_tokens"),
        "{names:?}"
    );
}
