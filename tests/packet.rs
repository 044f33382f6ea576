//! Evidence packets end to end with the real binary: the demo served live (the real LMCache
//! 0.5.6 recording and packet_a's vLLM scrape) → `export` → `report --packet` and `verify`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::DemoServers;

fn kvscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kvscope-packet-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn export(d: &DemoServers, out: &Path, seconds: &str) -> Output {
    kvscope(&[
        "export",
        "--lmcache",
        &d.lmcache,
        "--engine",
        &d.engine,
        "--duration",
        seconds,
        "--interval",
        "100ms",
        "--out",
        out.to_str().unwrap(),
    ])
}

/// The report without the line that says where the inputs came from (live: url, replay: packet).
fn without_kinds(json: &str) -> String {
    json.lines()
        .filter(|l| !l.trim_start().starts_with("\"kind\":"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_packet_exported_from_live_targets_replays_to_the_live_report() {
    let d = DemoServers::start();
    let out = scratch("live.kvpacket");
    // What the test needs is a scrape of each target and the LMCache routes read once: it
    // records for longer until the packet holds them, rather than trusting one duration.
    let mut durations = ["300ms", "1s", "3s", "10s", "30s"].into_iter();
    let (live_report, replayed) = loop {
        let seconds = durations
            .next()
            .expect("the packet holds a scrape of each target");
        let _ = std::fs::remove_file(&out);
        let o = export(&d, &out, seconds);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(
            text(&o.stdout).starts_with("kvscope export: "),
            "{}",
            text(&o.stdout)
        );
        let live = kvscope::packet::open(&out).unwrap();
        assert!(live.problems.is_empty(), "{:?}", live.problems);
        let (events, _) = live.events();
        let scraped = |role| {
            events.iter().any(|e| {
                matches!(e, kvscope::vocab::Event::Scrape { target, .. } if target.role == role)
            })
        };
        let version_read = events.iter().any(|e| {
            matches!(e, kvscope::vocab::Event::Route { route, result: Ok(_), .. }
                if *route == kvscope::vocab::Route::Version)
        });
        if !(scraped(kvscope::vocab::Role::Lmcache)
            && scraped(kvscope::vocab::Role::Engine)
            && version_read)
        {
            continue;
        }
        let live_report = text(live.report().expect("report.json"));
        let replay = kvscope(&["report", "--packet", out.to_str().unwrap()]);
        assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stderr));
        break (live_report, text(&replay.stdout));
    };
    assert_eq!(
        without_kinds(replayed.trim_end()),
        without_kinds(live_report.trim_end())
    );
    // It saw something: scrapes of both targets and the LMCache routes.
    let r: serde_json::Value = serde_json::from_str(&replayed).unwrap();
    assert_eq!(r["mode"]["architecture"], "vllm_mp_lmcache", "{replayed}");
    let http = &r["lmcache"]["http"];
    assert!(http["version"].is_string(), "{http}");
    // Never overwritten.
    let before = std::fs::read(&out).unwrap();
    let again = export(&d, &out, "200ms");
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("never overwrites"));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let _ = std::fs::remove_file(&out);
}

#[test]
fn verify_says_intact_damaged_or_not_a_packet() {
    let d = DemoServers::start();
    let out = scratch("verify.kvpacket");
    assert_eq!(export(&d, &out, "200ms").status.code(), Some(0));
    let o = kvscope(&["verify", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains(": intact (kvscope-packet v1"));
    // One byte changed inside the LMCache body stream.
    let mut bytes = std::fs::read(&out).unwrap();
    let header = bytes
        .windows(29)
        .position(|w| w == b"targets/lmcache-0/bodies.zst\0")
        .unwrap();
    bytes[header + 512 + 100] ^= 0xff;
    let bad = scratch("damaged.kvpacket");
    std::fs::write(&bad, &bytes).unwrap();
    let o = kvscope(&["verify", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("targets/lmcache-0/bodies.zst: sha256"),
        "{}",
        text(&o.stderr)
    );
    // Cut short mid-way: the prefix is named, exit 1.
    let cut = scratch("cut.kvpacket");
    std::fs::write(&cut, &std::fs::read(&out).unwrap()[..4000]).unwrap();
    let o = kvscope(&["verify", cut.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("damaged or incomplete"));
    // Not a packet at all.
    let scrape = common::fixture("packet_a/vllm_metrics_loaded.prom");
    let o = kvscope(&["verify", scrape.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    for p in [out, bad, cut] {
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn every_target_unreachable_still_writes_the_packet_and_exits_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = scratch("down.kvpacket");
    let url = format!("http://127.0.0.1:{port}");
    let o = kvscope(&[
        "export",
        "--lmcache",
        &url,
        "--duration",
        "300ms",
        "--interval",
        "100ms",
        "--timeout",
        "200ms",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("unreachable"),
        "{}",
        text(&o.stderr)
    );
    let p = kvscope::packet::open(&out).unwrap();
    let (events, _) = p.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, kvscope::vocab::Event::ScrapeFailed { .. }))
    );
    let _ = std::fs::remove_file(&out);
}

/// The real 0.5.6 capture and the real packet_a, imported, give the numbers the files give:
/// 27136 / 41984 lookup tokens at t31 and the 60 s window figures at t20 and t31; vLLM's prefix
/// cache hit rate 19824 / 22130 (0.9).
#[test]
fn imported_real_captures_report_what_their_files_report() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let out = scratch("capture.kvpacket");
    let o = kvscope(&[
        "import",
        capture.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let json = |args: &[&str]| -> serde_json::Value {
        let o = kvscope(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    for last in [20usize, 31] {
        let timeline = common::run1_timeline(last);
        let at = kvscope::timefmt::format_rfc3339(timeline[last].1.unwrap());
        let packet = json(&["report", "--packet", out.to_str().unwrap(), "--at", &at]);
        let args: Vec<String> = timeline
            .iter()
            .map(|(p, t)| {
                format!(
                    "{}@{}",
                    p.display(),
                    kvscope::timefmt::format_rfc3339(t.unwrap())
                )
            })
            .collect();
        let mut argv = vec!["report"];
        for a in &args {
            argv.extend(["--lmcache", a.as_str()]);
        }
        let files = json(&argv);
        for part in ["lookup", "l1", "l2", "eventbus"] {
            assert_eq!(
                packet["lmcache"][part], files["lmcache"][part],
                "t{last}: {part}"
            );
        }
    }
    let end = json(&["report", "--packet", out.to_str().unwrap()]);
    assert_eq!(
        end["lmcache"]["lookup"]["hit_tokens"]["since_start"],
        27136.0
    );
    assert_eq!(
        end["lmcache"]["lookup"]["requested_tokens"]["since_start"],
        41984.0
    );
    // The routes read after the workload came along.
    assert_eq!(end["lmcache"]["http"]["version"], "0.5.6-g3e11e108");
    // The storage trace and the server log travel byte for byte, listed in the manifest.
    let p = kvscope::packet::open(&out).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    for (name, kind) in [("run.lct", "trace"), ("server.log", "log")] {
        let path = format!("targets/lmcache-0/{name}");
        let listed = p.manifest.members.iter().find(|m| m.path == path).unwrap();
        assert_eq!(listed.kind, kind);
        assert_eq!(
            p.member(&path).unwrap(),
            std::fs::read(capture.join(name)).unwrap().as_slice()
        );
    }

    let peer = common::fixture("packet_a");
    let r = json(&["report", "--packet", peer.to_str().unwrap()]);
    let prefix = &r["engine"]["prefix_cache"];
    assert_eq!(
        (
            prefix["hits_total"].as_f64(),
            prefix["queries_total"].as_f64()
        ),
        (Some(19824.0), Some(22130.0))
    );
    assert_eq!(r["mode"]["architecture"], "vllm_mp_lmcache");
    let _ = std::fs::remove_file(&out);
}

/// An unpacked packet (`tar xf`) imports back into one file whose members are unchanged.
#[test]
fn an_unpacked_packet_packs_into_the_same_members() {
    let packed = scratch("unpacked-src.kvpacket");
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let o = kvscope(&[
        "import",
        capture.to_str().unwrap(),
        "--out",
        packed.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let dir = scratch("unpacked");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let original = kvscope::packet::open(&packed).unwrap();
    for m in &original.manifest.members {
        let to = dir.join(&m.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(&to, original.member(&m.path).unwrap()).unwrap();
    }
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec_pretty(&original.manifest).unwrap(),
    )
    .unwrap();
    let repacked = scratch("repacked.kvpacket");
    let o = kvscope(&[
        "import",
        dir.to_str().unwrap(),
        "--out",
        repacked.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("(packet)"), "{}", text(&o.stdout));
    let back = kvscope::packet::open(&repacked).unwrap();
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(back.manifest, original.manifest);
    for m in &original.manifest.members {
        assert_eq!(back.member(&m.path), original.member(&m.path), "{}", m.path);
    }
    for p in [&packed, &repacked] {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `import --redact-hosts` on the real capture: the host its server log names (a URL in a
/// library warning) is replaced in the carried log, the binary trace is left out and the
/// manifest says both; the numbers are unchanged (the capture's only other host is loopback),
/// the log's counts too, and the report has no trace.
#[test]
fn import_can_redact_hosts() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let plain = scratch("plain-hosts.kvpacket");
    let redacted = scratch("redacted-hosts.kvpacket");
    for (out, extra) in [(&plain, None), (&redacted, Some("--redact-hosts"))] {
        let mut args = vec![
            "import",
            capture.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        let o = kvscope(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    let p = kvscope::packet::open(&redacted).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let log = text(p.member("targets/lmcache-0/server.log").unwrap());
    let original = std::fs::read_to_string(capture.join("server.log")).unwrap();
    assert!(original.contains("https://cloud.google.com/"));
    assert!(!log.contains("cloud.google.com") && log.contains("https://host-1/"));
    assert!(p.member("targets/lmcache-0/run.lct").is_none());
    let said = p.manifest.redactions.join("\n");
    assert!(
        said.contains("--redact-hosts") && said.contains("run.lct left out"),
        "{said}"
    );
    let report = |path: &Path| {
        let o = kvscope(&["report", "--packet", path.to_str().unwrap()]);
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["inputs"] = serde_json::Value::Null;
        v
    };
    let (mut plain_r, mut redacted_r) = (report(&plain), report(&redacted));
    // The trace was left out of the redacted packet; the log's counts do not change with its
    // hosts.
    assert_eq!(plain_r["trace"]["total_records"], 275);
    assert!(redacted_r["trace"].is_null());
    assert_eq!(redacted_r["server_log"]["lines"], 343);
    for r in [&mut plain_r, &mut redacted_r] {
        r["trace"] = serde_json::Value::Null;
        // A pseudonym is shorter than the host it replaces.
        r["server_log"]["bytes"] = serde_json::Value::Null;
    }
    assert_eq!(plain_r, redacted_r);
    for path in [&plain, &redacted] {
        let _ = std::fs::remove_file(path);
    }
}
