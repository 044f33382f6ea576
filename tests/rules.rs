//! `kvscope rules` against promtool (Debian's `prometheus` package): the generated rule file
//! passes `promtool check rules`, and the unit tests `kvscope rules --tests` makes from the real
//! captures built in pass `promtool test rules` — every recorded figure equals kvscope's own
//! value at every scrape, every alert fires exactly where kvscope's rule fires.
//!
//! Without a `promtool` on PATH (or in `KVSCOPE_PROMTOOL`) these tests say loudly that they were
//! skipped; with `KVSCOPE_REQUIRE_PROMETHEUS=1` (set by `.ci/run`) its absence fails them.

use std::path::{Path, PathBuf};
use std::process::Command;

fn promtool(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("KVSCOPE_PROMTOOL")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("promtool"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        if std::env::var("KVSCOPE_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1") {
            panic!("{test}: KVSCOPE_REQUIRE_PROMETHEUS=1 but no promtool on PATH");
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: no `promtool` on PATH (Debian/Ubuntu: `sudo apt-get install -y prometheus`). ***\n"
        );
    }
    found
}

fn kvscope(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(args: &[&str]) -> String {
    let out = kvscope(args);
    assert!(
        out.status.success(),
        "kvscope {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kvscope-rules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn promtool_ok(bin: &Path, cwd: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn generated_rules_pass_promtool_check_in_both_formats() {
    let Some(bin) = promtool("generated_rules_pass_promtool_check_in_both_formats") else {
        return;
    };
    let d = dir("check");
    let rules = stdout(&["rules"]);
    std::fs::write(d.join("kvscope-rules.yml"), &rules).unwrap();
    let (ok, text) = promtool_ok(&bin, &d, &["check", "rules", "kvscope-rules.yml"]);
    assert!(ok, "{text}");
    // Every alert of the file is checked: promtool counts them with the recording rules.
    let alerts = rules.matches("\n      - alert: ").count();
    let records = rules.matches("\n      - record: ").count();
    assert!(
        text.contains(&format!("SUCCESS: {} rules found", alerts + records)),
        "{text}"
    );

    // The operator resource holds the same groups under spec: promtool checks them unwrapped.
    let operator = stdout(&["rules", "--format", "operator"]);
    assert!(operator.contains("kind: PrometheusRule"));
    let spec = operator.split_once("\nspec:\n").unwrap().1;
    let groups: String = spec
        .lines()
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    std::fs::write(d.join("operator-groups.yml"), &groups).unwrap();
    let (ok, text) = promtool_ok(&bin, &d, &["check", "rules", "operator-groups.yml"]);
    assert!(ok, "{text}");
    assert_eq!(
        groups,
        rules
            .split_once("\ngroups:\n")
            .map(|(_, g)| format!("groups:\n{g}"))
            .unwrap()
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn promtool_unit_tests_from_real_captures_pass_and_can_fail() {
    let Some(bin) = promtool("promtool_unit_tests_from_real_captures_pass_and_can_fail") else {
        return;
    };
    let d = dir("unit");
    std::fs::write(d.join("kvscope-rules.yml"), stdout(&["rules"])).unwrap();
    let tests = stdout(&["rules", "--tests"]);
    assert!(tests.contains("rule_files:\n  - kvscope-rules.yml\n"));
    // Alerts that fire on the real run are asserted firing, others silent.
    for fires in [
        "KvscopeL1Evicting",
        "KvscopeCacheSaltEmpty",
        "KvscopeEventbusDropping",
        "KvscopeTargetDown",
    ] {
        assert!(
            tests.contains(&format!(
                "alertname: {fires}\n        exp_alerts:\n          - "
            )),
            "{fires} is never expected to fire"
        );
    }
    std::fs::write(d.join("tests.yml"), &tests).unwrap();
    let (ok, text) = promtool_ok(&bin, &d, &["test", "rules", "tests.yml"]);
    assert!(ok, "{text}");

    // Rules judged by other thresholds than the expectations: promtool must see it.
    std::fs::write(
        d.join("strict.toml"),
        "[findings.for]\nl1_evicting = \"0s\"\n[findings]\nlow_hit_rate = 0.99\nwarm_up_tokens = 0\n",
    )
    .unwrap();
    let strict = stdout(&["rules", "--config", d.join("strict.toml").to_str().unwrap()]);
    std::fs::write(d.join("kvscope-rules.yml"), strict).unwrap();
    let (ok, text) = promtool_ok(&bin, &d, &["test", "rules", "tests.yml"]);
    assert!(!ok, "rules with other thresholds passed the tests:\n{text}");
    assert!(text.contains("KvscopeLowLookupHitRate"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_rule_file_is_deterministic_and_says_what_made_it() {
    let a = stdout(&["rules"]);
    assert_eq!(a, stdout(&["rules"]));
    assert!(a.starts_with(&format!(
        "# Generated by kvscope {} (`kvscope rules`)",
        env!("CARGO_PKG_VERSION")
    )));
    // The hold-down of the rule table is each alert's `for`, and the config's overrides win.
    let for_of = |file: &str, alert: &str| -> String {
        let at = file.find(&format!("- alert: {alert}\n")).unwrap();
        let rest = &file[at..];
        let line = rest
            .lines()
            .find(|l| l.trim_start().starts_with("for: "))
            .unwrap();
        line.trim().trim_start_matches("for: ").to_string()
    };
    assert_eq!(for_of(&a, "KvscopeLowLookupHitRate"), "30s");
    assert_eq!(for_of(&a, "KvscopeEventbusDropping"), "0s");
    let d = dir("config");
    std::fs::write(
        d.join("c.toml"),
        "window = \"5m\"\n[findings.for]\neventbus_dropping = \"45s\"\n",
    )
    .unwrap();
    let b = stdout(&["rules", "--config", d.join("c.toml").to_str().unwrap()]);
    assert_eq!(for_of(&b, "KvscopeEventbusDropping"), "45s");
    assert!(
        b.contains("- record: kvscope:lookup_hit_rate:300s\n"),
        "the window names the records"
    );
    assert!(b.contains("offset 300s"));
    // Labels, severity and runbooks.
    assert!(a.contains("- alert: KvscopeTargetDown\n        expr: \"up == 0\"\n"));
    assert!(a.contains("runbook_url: \"docs/findings.md#eventbus_dropping\""));
    let c = stdout(&[
        "rules",
        "--match",
        "{namespace=\"llm\"}",
        "--runbook-url",
        "https://runbooks.example/kvscope",
    ]);
    assert!(c.contains("up{namespace=\\\"llm\\\"} == 0"));
    assert!(c.contains("\"https://runbooks.example/kvscope#l1_evicting\""));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_bad_selection_or_config_is_refused_by_name() {
    let out = kvscope(&["rules", "--match", "namespace=\"llm\""]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--match"));
    let out = kvscope(&["rules", "--config", "/nonexistent/kvscope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/kvscope.toml"));
}

#[test]
fn the_docs_name_every_recording_and_alert() {
    let rules = stdout(&["rules"]);
    let promql =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/promql.md")).unwrap();
    let findings =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/findings.md")).unwrap();
    for line in rules.lines() {
        if let Some(record) = line.trim().strip_prefix("- record: ") {
            let figure = record.rsplit_once(':').unwrap().0;
            assert!(
                promql.contains(&format!("`{figure}:")),
                "docs/promql.md lacks {record}"
            );
        }
        if let Some(alert) = line.trim().strip_prefix("- alert: ") {
            assert!(
                findings.contains(&format!("`{alert}`")) || promql.contains(&format!("`{alert}`")),
                "no doc names {alert}"
            );
        }
    }
}
