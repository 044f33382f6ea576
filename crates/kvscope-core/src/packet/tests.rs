//! Packets on the demo's real data (the LMCache 0.5.6 timeline and packet_a's vLLM scrape),
//! with a few hand-made events for the kinds the recording has none of (failures, latencies,
//! route answers and skips).

use std::path::PathBuf;

use super::*;
use crate::vocab::{Flavor, Role};

fn lmcache() -> TargetRef {
    TargetRef {
        role: Role::Lmcache,
        index: 0,
    }
}

/// The real recording plus hand-made events of every other kind.
fn events() -> Vec<Event> {
    let (mut events, newest) = crate::demo::recorded(31);
    let t = lmcache();
    events.extend([
        Event::Latency {
            target: t,
            time: newest + 0.1,
            seconds: 0.012,
        },
        Event::Route {
            target: t,
            route: Route::Status,
            flavor: Flavor::Current,
            time: newest + 0.2,
            result: Ok((200, br#"{"storage_manager":{}}"#.to_vec())),
        },
        Event::Route {
            target: t,
            route: Route::Config,
            flavor: Flavor::Current,
            time: newest + 0.3,
            result: Err("timed out".into()),
        },
        Event::RouteSkipped {
            target: t,
            route: Route::Env,
            flavor: Flavor::Current,
            time: newest + 0.4,
            reason: SkipReason::NeedsAllowEnv,
        },
        Event::ScrapeFailed {
            target: t,
            time: newest + 1.0,
            error: "unreachable: connection refused".into(),
        },
    ]);
    events
}

fn targets() -> Vec<TargetEntry> {
    [Role::Lmcache, Role::Engine]
        .into_iter()
        .map(|role| {
            let target = TargetRef { role, index: 0 };
            TargetEntry::new(
                target,
                format!("http://127.0.0.1/{}/metrics", role.as_str()),
            )
        })
        .collect()
}

fn tar_of(events: &[Event]) -> Vec<u8> {
    Recording {
        targets: targets(),
        events: &events.to_vec(),
        report_json: "{}".into(),
        created: 1.8e9,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    }
    .to_tar()
    .unwrap()
}

/// A fresh path under the temporary directory.
fn scratch(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("kvscope-packet-{}-{n}-{name}", std::process::id()))
}

fn opened(bytes: &[u8]) -> Result<Opened, PacketError> {
    let path = scratch("p.kvpacket");
    std::fs::write(&path, bytes).unwrap();
    let out = open(&path);
    let _ = std::fs::remove_file(&path);
    out
}

#[test]
fn every_event_comes_back_as_it_went_in() {
    let events = events();
    let p = opened(&tar_of(&events)).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let (back, stopped) = p.events();
    assert_eq!(stopped, None);
    assert_eq!(back, events);
    let m = &p.manifest;
    assert_eq!((m.format.as_str(), m.version), (FORMAT, VERSION));
    let paths: Vec<&str> = m.members.iter().map(|m| m.path.as_str()).collect();
    let expected = [
        TIMELINE,
        "targets/lmcache-0/bodies.zst",
        "targets/engine-0/bodies.zst",
        REPORT,
    ];
    assert_eq!(paths, expected);
    assert_eq!(m.skipped_routes.len(), 1);
    let first = crate::timefmt::format_rfc3339(events[0].time().unwrap());
    assert_eq!(m.span.as_ref().unwrap().0, first);
}

#[test]
fn nearly_equal_scrapes_compress_as_a_stream() {
    let events = events();
    let raw: usize = events
        .iter()
        .map(|e| match e {
            Event::Scrape { body, .. } => body.len(),
            _ => 0,
        })
        .sum();
    let packed = tar_of(&events).len();
    // 33 real scrapes: the stream sees each one's predecessor.
    assert!(packed * 10 < raw, "{packed} bytes for {raw} raw");
}

#[test]
fn a_copy_cut_anywhere_replays_a_prefix_and_says_it_is_incomplete() {
    let events = events();
    let whole = tar_of(&events);
    let mut cuts: Vec<usize> = (0..whole.len()).step_by(509).collect();
    cuts.extend((0..whole.len()).step_by(512));
    for cut in cuts {
        let Ok(p) = opened(&whole[..cut]) else {
            // Too short to hold a manifest: not a packet, and said so.
            assert!(cut < 4096, "cut at {cut} refused");
            continue;
        };
        let (back, stopped) = p.events();
        assert_eq!(back[..], events[..back.len()], "cut at {cut}: not a prefix");
        if back.len() < events.len() {
            assert!(
                !p.problems.is_empty(),
                "cut at {cut}: incomplete but no problem named"
            );
            assert!(
                stopped.is_some(),
                "cut at {cut}: incomplete but no stop named"
            );
        }
    }
}

#[test]
fn a_damaged_member_is_named() {
    let whole = tar_of(&events());
    let p = opened(&whole).unwrap();
    let m = p
        .manifest
        .members
        .iter()
        .find(|m| m.path == "targets/engine-0/bodies.zst")
        .unwrap();
    // Its tar header holds the path NUL-padded (the manifest quotes it).
    let at = find(&whole, format!("{}\0", m.path).as_bytes()) + 512 + 40;
    let mut bad = whole.clone();
    bad[at] ^= 0x55;
    let p = opened(&bad).unwrap();
    assert_eq!(p.problems.len(), 1, "{:?}", p.problems);
    assert!(p.problems[0].starts_with("targets/engine-0/bodies.zst: sha256"));
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn an_unpacked_directory_reads_like_the_file() {
    let events = events();
    let rec = Recording {
        targets: targets(),
        events: &events,
        report_json: "{}".into(),
        created: 1.8e9,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    };
    let dir = scratch("dir");
    for (path, bytes) in rec.members().unwrap() {
        let file = dir.join(&path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    let p = open(&dir).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(p.events().0, events);
    std::fs::remove_file(dir.join(TIMELINE)).unwrap();
    let p = open(&dir).unwrap();
    assert_eq!(p.problems, [format!("{TIMELINE}: missing")]);
    assert!(p.events().0.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn not_a_packet_is_said_so() {
    for (bytes, says) in [
        (b"hello".to_vec(), "too short to hold a packet"),
        (vec![7u8; 2048], "not a tar archive"),
    ] {
        let e = opened(&bytes).unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    // A newer format version.
    let events = events();
    let rec = Recording {
        targets: targets(),
        events: &events[..1].to_vec(),
        report_json: "{}".into(),
        created: 1.8e9,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    };
    let dir = scratch("newer");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = rec.members().unwrap().remove(0).1;
    let newer = String::from_utf8(manifest)
        .unwrap()
        .replace("\"version\": 1", "\"version\": 2");
    std::fs::write(dir.join(MANIFEST), newer).unwrap();
    let e = open(&dir).unwrap_err();
    assert!(
        e.to_string().contains("newer than this kvscope reads"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writing_never_replaces_a_file_and_leaves_nothing_when_it_fails() {
    let path = scratch("w.kvpacket");
    write_new(&path, b"first").unwrap();
    let e = write_new(&path, b"second").unwrap_err();
    assert!(matches!(&e, WriteError::Exists(p) if *p == path), "{e}");
    assert!(
        e.to_string()
            .ends_with("exists; kvscope never overwrites a file")
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"first");
    std::fs::remove_file(&path).unwrap();

    /// A disk that fills after `room` bytes (hand-made fault).
    struct Full(std::fs::File, usize);
    impl std::io::Write for Full {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.1 == 0 {
                return Err(std::io::Error::other("No space left on device"));
            }
            let n = b.len().min(self.1);
            self.1 -= n;
            self.0.write(&b[..n])
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = write::write_new_with(&path, &[0u8; 10_000], |p| {
        Ok(Full(std::fs::File::create_new(p)?, 4096))
    })
    .unwrap_err();
    assert!(matches!(e, WriteError::Io { .. }), "{e}");
    assert!(e.to_string().contains("No space left"), "{e}");
    assert!(!path.exists());
    let dir = path.parent().unwrap();
    let leftover = std::fs::read_dir(dir).unwrap().flatten().any(|f| {
        f.file_name()
            .to_string_lossy()
            .contains("w.kvpacket.partial")
    });
    assert!(!leftover, "a partial file was left behind");
}

/// `docs/packet-format.md` shows what is written: its manifest example reads as a manifest with
/// the members in the writer's order, and its timeline line reads as a timeline line.
#[test]
fn the_format_document_matches_the_format() {
    let doc = include_str!("../../../../docs/packet-format.md");
    let blocks: Vec<&str> = doc
        .split("```json\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    let manifest: Manifest = serde_json::from_str(blocks[0]).expect("the manifest example reads");
    assert_eq!(
        (manifest.format.as_str(), manifest.version),
        (FORMAT, VERSION)
    );
    let written = Recording {
        targets: targets(),
        events: &events(),
        report_json: "{}".into(),
        created: 1.8e9,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    }
    .members()
    .unwrap();
    let written: Vec<String> = written.into_iter().skip(1).map(|m| m.0).collect();
    let documented: Vec<String> = manifest.members.iter().map(|m| m.path.clone()).collect();
    assert_eq!(documented, written);
    // The example is a live export's manifest: it says what a live export removes.
    assert_eq!(manifest.redactions, super::live_redactions());
    let line: Line = serde_json::from_str(blocks[1].trim()).expect("the timeline example reads");
    assert!(matches!(line.event, Event::Scrape { .. }));
    assert_eq!(line.stored.map(|s| s.offset), Some(0));
    for member in [MANIFEST, TIMELINE, REPORT, &bodies_path("<role>-<n>")] {
        assert!(
            doc.contains(&format!("`{member}`")),
            "{member} is not in the layout table"
        );
    }
}

/// `tar` with its timeline text changed by `f`, the manifest's size, hash and raw size made to
/// match (a packet a careful adversary made, not a damaged one).
fn with_timeline(tar: &[u8], f: impl Fn(String) -> String) -> Vec<u8> {
    let o = from_tar(tar).unwrap();
    let text = String::from_utf8(zstd::decode_all(o.member(TIMELINE).unwrap()).unwrap()).unwrap();
    let text = f(text);
    let compressed = zstd::encode_all(text.as_bytes(), 3).unwrap();
    let mut manifest = o.manifest.clone();
    let m = manifest
        .members
        .iter_mut()
        .find(|m| m.path == TIMELINE)
        .unwrap();
    m.bytes = compressed.len() as u64;
    m.sha256 = sha256_hex(&compressed);
    m.raw_bytes = Some(text.len() as u64);
    let mut members = vec![(MANIFEST.to_string(), serde_json::to_vec(&manifest).unwrap())];
    for (path, bytes) in &o.members {
        let bytes = if path == TIMELINE {
            compressed.clone()
        } else {
            bytes.clone()
        };
        members.push((path.clone(), bytes));
    }
    write::tar_of(&members, 0).unwrap()
}

/// Hand-made lines in the real recording: an event for a target the manifest does not list is
/// named and skipped (never handed on), an event of a kind from a newer build is counted and
/// skipped, and the rest replays whole.
#[test]
fn events_are_checked_against_the_manifest_and_unknown_kinds_skipped() {
    let all = events();
    let tar = tar_of(&all);
    let tar = with_timeline(&tar, |text| {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.insert(2, r#"{"event":{"event":"latency","target":{"role":"engine","index":7},"time":1.0,"seconds":0.1}}"#.into());
        lines.insert(
            4,
            r#"{"event":{"event":"gpu_sample","target":{"role":"lmcache","index":0},"time":1.0}}"#
                .into(),
        );
        lines.join("\n") + "\n"
    });
    let p = from_tar(&tar).unwrap();
    let timeline = p.timeline();
    assert_eq!(timeline.len(), all.len());
    assert_eq!(timeline.unknown_kinds, 1);
    assert_eq!(
        timeline.problems(),
        ["timeline line 3: an event for engine-7, which the manifest does not list (skipped)"]
    );
    assert!(timeline.notes()[0].starts_with("1 event of a kind this kvscope does not know"));
    let (back, stop) = p.events();
    assert_eq!(back, all);
    assert_eq!(stop, None);
}

/// Hand-made manifests that contradict themselves are not packets: a target keyed as another,
/// listed twice, numbered past its role's count; a member listed twice; more targets than the
/// limit. Each says what is wrong.
#[test]
fn a_manifest_that_contradicts_itself_is_refused() {
    let tar = tar_of(&events());
    let o = from_tar(&tar).unwrap();
    let refused = |change: &dyn Fn(&mut Manifest), limits: &Limits, says: &str| {
        let mut m = o.manifest.clone();
        change(&mut m);
        let mut members = vec![(MANIFEST.to_string(), serde_json::to_vec(&m).unwrap())];
        members.extend(o.members.iter().cloned());
        let bytes = write::tar_of(&members, 0).unwrap();
        let e = from_tar_with(&bytes, limits).unwrap_err().to_string();
        assert!(e.contains(says), "{says}: {e}");
    };
    let d = Limits::default();
    refused(
        &|m| m.targets[1].key = "lmcache-0".into(),
        &d,
        "target engine-0 is keyed",
    );
    refused(
        &|m| m.targets.push(m.targets[0].clone()),
        &d,
        "lists target lmcache-0 twice",
    );
    refused(
        &|m| {
            m.targets[0].target.index = 5;
            m.targets[0].key = "lmcache-5".into();
        },
        &d,
        "target lmcache-5 among 1 lmcache target",
    );
    refused(
        &|m| m.members.push(m.members[0].clone()),
        &d,
        "lists member \"timeline.jsonl.zst\" twice",
    );
    let one = Limits { targets: 1, ..d };
    refused(&|_| {}, &one, "raise it with KVSCOPE_MAX_TARGETS");
    let few = Limits { members: 2, ..d };
    refused(&|_| {}, &few, "raise it with KVSCOPE_MAX_MEMBERS");
}

/// The timeline is read within its budgets: past its recorded raw size, past the line cap,
/// each named, and what came before replays.
#[test]
fn the_timeline_stops_at_its_budgets_and_says_which() {
    let tar = tar_of(&events());
    let o = from_tar(&tar).unwrap();
    let mut m = o.manifest.clone();
    m.members[0].raw_bytes = Some(1000);
    let mut members = vec![(MANIFEST.to_string(), serde_json::to_vec(&m).unwrap())];
    members.extend(o.members.iter().cloned());
    let small = from_tar(&write::tar_of(&members, 0).unwrap()).unwrap();
    let stop = small.timeline().stop.unwrap();
    assert!(
        stop.starts_with(
            "timeline.jsonl.zst decompresses past the 1000 bytes the manifest records"
        ),
        "{stop}"
    );
    let few = from_tar_with(
        &tar,
        &Limits {
            events: 3,
            ..Limits::default()
        },
    )
    .unwrap();
    let t = few.timeline();
    assert_eq!(t.len(), 3);
    assert!(t.stop.unwrap().contains("more than 3 lines"));
    // Limits come from their variables; a bad value names its variable.
    let l = Limits::from_vars(|n| (n == "KVSCOPE_MAX_EVENTS").then(|| "7".into())).unwrap();
    assert_eq!(l.events, 7);
    let e = Limits::from_vars(|n| (n == "KVSCOPE_MAX_TARGETS").then(|| "-1".into())).unwrap_err();
    assert!(e.starts_with("KVSCOPE_MAX_TARGETS="), "{e}");
}

/// A temporary sibling that is already there belongs to someone else: it is left alone.
#[test]
fn writing_leaves_a_partial_file_it_did_not_make() {
    let path = scratch("p2.kvpacket");
    let theirs = write::temporary_sibling(&path, 0);
    std::fs::write(&theirs, b"not ours").unwrap();
    write_new(&path, b"ours").unwrap();
    assert_eq!(std::fs::read(&theirs).unwrap(), b"not ours");
    assert_eq!(std::fs::read(&path).unwrap(), b"ours");
    std::fs::remove_file(&theirs).unwrap();
    std::fs::remove_file(&path).unwrap();
}

/// With hosts redacted, a packet's default name does not carry this machine's name.
#[test]
fn a_redacted_packet_is_not_named_for_its_host() {
    assert_eq!(
        default_name(0.0, true),
        "kvscope-host-19700101T000000Z.kvpacket"
    );
    assert!(default_name(0.0, false).ends_with("-19700101T000000Z.kvpacket"));
}
