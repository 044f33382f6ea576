//! Golden outputs: `kvscope report` as JSON and as text on every real and hand-written scrape
//! under `fixtures/`, on packet_a's two scrapes together and on the 0.5.6 timeline with its
//! capture times, compared byte for byte with `fixtures/golden/` (the generator's version
//! aside). A refactoring must not change them; a deliberate change regenerates them with
//! `KVSCOPE_BLESS=1 cargo test --test golden` and says so in its commit.

mod common;

use kvscope::cli::report::{self, OutputFormat, ReportArgs};

/// Every input: a name for its golden files and the `--lmcache` / `--engine` arguments.
fn cases() -> Vec<(String, Vec<String>, Vec<String>)> {
    let f = |p: &str| common::fixture(p).to_str().unwrap().to_string();
    let mut out = vec![
        (
            "packet_a".to_string(),
            vec![f("packet_a/lmcache_metrics_loaded.prom")],
            vec![f("packet_a/vllm_metrics_loaded.prom")],
        ),
        (
            "run1_timeline".to_string(),
            vec![f("lmcache-0.5.6-cpu-run1/metrics_index.tsv")],
            vec![],
        ),
    ];
    let mut files = Vec::new();
    for dir in [
        "packet_a",
        "lmcache-0.5.6-cpu-run1",
        "lmcache-0.5.6-extra",
        "engine-samples",
        "inferguard-handwritten",
    ] {
        let mut names: Vec<String> = std::fs::read_dir(common::fixture(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".prom") || n.ends_with(".txt"))
            .collect();
        names.sort();
        files.extend(names.into_iter().map(|n| format!("{dir}/{n}")));
    }
    for rel in files {
        let body = std::fs::read_to_string(common::fixture(&rel)).unwrap_or_default();
        // An engine's scrape goes in as an engine, everything else as LMCache.
        let engine = body.contains("vllm:") || body.contains("sglang");
        let slug = rel.replace(['/', '.'], "_");
        let arg = vec![f(&rel)];
        out.push(if engine {
            (slug, vec![], arg)
        } else {
            (slug, arg, vec![])
        });
    }
    out
}

/// The output with the generator's version taken out and local paths made relative.
fn normalise(out: &str) -> String {
    let root = common::fixture("");
    out.lines()
        .filter(|l| !l.contains("\"generator\": \"kvscope "))
        .map(|l| l.replace(root.to_str().unwrap(), "fixtures/"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn reports_match_the_golden_outputs() {
    let bless = std::env::var_os("KVSCOPE_BLESS").is_some();
    let dir = common::fixture("golden");
    let mut differ = Vec::new();
    let mut negative_zero = Vec::new();
    for (slug, lmcache, engine) in cases() {
        for (format, ext) in [(OutputFormat::Json, "json"), (OutputFormat::Text, "txt")] {
            let args = ReportArgs {
                lmcache: lmcache.clone(),
                engine: engine.clone(),
                samples: 1,
                interval: 2.0,
                window: 60.0,
                timeout: 5.0,
                format,
                auth: Default::default(),
                series_limit: kvscope::store::DEFAULT_SERIES_LIMIT,
                packet: None,
                at: None,
                fail_on: None,
                fail_unless: Vec::new(),
                routes: None,
                follows: Vec::new(),
                l1_size: None,
                capacity_exact: None,
                thresholds: Default::default(),
            };
            let got = match report::report(&args) {
                Ok((out, _)) => normalise(&out),
                Err(f) => format!("exit {}: {}\n", f.code, normalise(&f.message).trim_end()),
            };
            let path = dir.join(format!("{slug}.{ext}"));
            if ext == "json" && got.contains("-0.0") {
                negative_zero.push(path.display().to_string());
            }
            if bless {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &got).unwrap();
                continue;
            }
            let want = std::fs::read_to_string(&path).unwrap_or_default();
            if got != want {
                differ.push(path.display().to_string());
            }
        }
    }
    assert!(
        negative_zero.is_empty(),
        "JSON outputs with -0.0 in them: {negative_zero:#?}"
    );
    assert!(
        differ.is_empty(),
        "{} outputs differ from their golden files (KVSCOPE_BLESS=1 regenerates them): {differ:#?}",
        differ.len()
    );
}
