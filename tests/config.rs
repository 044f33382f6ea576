//! Bad config files (hand-written, `fixtures/config-bad/`): each is refused with exit 2 and an
//! error naming the file and what is wrong, by every command that reads that part of it.

mod common;

use std::process::Command;

/// Each bad file, the words its error must contain, and whether it is about `[keys]` (which
/// only the commands with a screen read).
fn cases() -> Vec<(std::path::PathBuf, String, bool)> {
    let dir = common::fixture("config-bad");
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .expect("the first line says what the error must contain")
                .to_string();
            let keys = text.contains("[keys]");
            (p, expect, keys)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 8, "{out:?}");
    out
}

fn refused(args: &[&str], file: &std::path::Path, expect: &str) {
    let o = Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .arg("--config")
        .arg(file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{args:?} {}: {err}",
        file.display()
    );
    let name = file.file_name().unwrap().to_string_lossy();
    assert!(
        err.contains(&*name) && err.contains(expect),
        "{args:?} {}: {err}",
        file.display()
    );
}

#[test]
fn every_bad_config_is_refused_naming_the_file_and_the_problem() {
    let packet = common::fixture("demo.kvpacket");
    let capture = common::fixture("packet_a/lmcache_metrics_loaded.prom");
    for (file, expect, keys) in cases() {
        refused(&["replay", packet.to_str().unwrap()], &file, &expect);
        if !keys {
            refused(
                &["report", "--lmcache", capture.to_str().unwrap()],
                &file,
                &expect,
            );
        }
    }
}
