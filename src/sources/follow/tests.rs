//! Following files and rotating directories, on scratch files and the real fixtures.
use super::*;
use crate::vocab::Role;

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kvscope-follow-{}-{name}", std::process::id()))
}

fn follow_of(path: &std::path::Path, stream: Stream) -> Follow {
    Follow {
        target: TargetRef {
            role: Role::Lmcache,
            index: 0,
        },
        stream,
        path: path.to_path_buf(),
    }
}

fn bodies(events: &[Event]) -> Vec<(bool, Vec<u8>)> {
    events
        .iter()
        .map(|e| match e {
            Event::Evidence { fresh, body, .. } => (*fresh, body.clone()),
            _ => panic!("not evidence"),
        })
        .collect()
}

#[test]
fn a_growing_file_gives_what_grew_and_a_replaced_one_starts_over() {
    let path = scratch("grow.log");
    std::fs::write(&path, b"abc").unwrap();
    let f = follow_of(&path, Stream::ServerLog);
    let mut place = Place::default();
    assert_eq!(
        bodies(&step(&f, &mut place).unwrap()),
        [(true, b"abc".to_vec())]
    );
    assert!(step(&f, &mut place).unwrap().is_empty());
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, b"de").unwrap();
    assert_eq!(
        bodies(&step(&f, &mut place).unwrap()),
        [(false, b"de".to_vec())]
    );
    // Cut (a truncating rotation): read again from the start, fresh.
    std::fs::write(&path, b"x").unwrap();
    assert_eq!(
        bodies(&step(&f, &mut place).unwrap()),
        [(true, b"x".to_vec())]
    );
    // Replaced by another file under the same name (a renaming rotation).
    let other = scratch("grow-new.log");
    std::fs::write(&other, b"yz").unwrap();
    std::fs::rename(&other, &path).unwrap();
    assert_eq!(
        bodies(&step(&f, &mut place).unwrap()),
        [(true, b"yz".to_vec())]
    );
    let _ = std::fs::remove_file(&path);
}

/// Hand-made: a followed file that is not a trace is passed on, so the trace says what is
/// wrong with it, not that the file is empty.
#[test]
fn a_followed_file_that_is_not_a_trace_says_so() {
    let path = scratch("not-a-trace.lct");
    std::fs::write(
        &path,
        b"[2026-11-22 07:21:42,446] LMCache INFO: a log, not a trace\n",
    )
    .unwrap();
    let f = follow_of(&path, Stream::Trace);
    let events = step(&f, &mut Place::default()).unwrap();
    let mut s = crate::evidence::Streams::default();
    for e in events {
        let Event::Evidence { body, fresh, .. } = e else {
            unreachable!()
        };
        s.apply(Stream::Trace, Some(1.0), fresh, &body, "x");
    }
    let problem = s.trace.as_ref().and_then(|t| t.problem()).unwrap();
    assert!(problem != "the file is empty", "{problem}");
    assert!(
        problem.contains("frame") || problem.contains("header"),
        "{problem}"
    );
    let _ = std::fs::remove_file(&path);
}

/// The real trace written in uneven pieces while it is followed: every event holds whole
/// frames, so a recording that keeps only the later events still reads their records.
#[test]
fn a_growing_trace_is_sent_in_whole_frames_and_reads_from_part_way() {
    let real = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/lmcache-0.5.6-cpu-run1/run.lct"
    ))
    .unwrap();
    let path = scratch("growing.lct");
    std::fs::write(&path, b"").unwrap();
    let f = follow_of(&path, Stream::Trace);
    let mut place = Place::default();
    let mut events = Vec::new();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    for piece in real.chunks(7919) {
        std::io::Write::write_all(&mut file, piece).unwrap();
        events.extend(step(&f, &mut place).unwrap());
    }
    let got = bodies(&events);
    let joined: Vec<u8> = got.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    assert_eq!(joined, real);
    for (_, body) in &got {
        assert_eq!(
            crate::evidence::lct::Decoder::whole_frames(body),
            body.len()
        );
    }
    // Only the later half of the events: the records in it, the header unknown.
    let half = events.len() / 2;
    let mut s = crate::evidence::Streams::default();
    let mut later = 0;
    for e in events.into_iter().skip(half) {
        let Event::Evidence { body, fresh, .. } = e else {
            unreachable!()
        };
        s.apply(Stream::Trace, Some(1.0), fresh, &body, "x");
        let mut t = crate::evidence::trace::Trace::headless("count");
        t.push(&body);
        later += t.records;
    }
    let t = s.trace.unwrap().summary();
    assert_eq!(t.total_records, later);
    assert!(later > 0 && later < 275);
    assert!(t.level.is_none() && !t.complete);
    assert!(t.error.unwrap().contains("part-way"));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_large_log_is_first_read_from_a_whole_line_near_its_end() {
    let path = scratch("big.log");
    let line = "x".repeat(99) + "\n";
    std::fs::write(&path, line.repeat(20_000)).unwrap();
    let f = follow_of(&path, Stream::ServerLog);
    let mut place = Place::default();
    let got = bodies(&step(&f, &mut place).unwrap());
    assert!(got[0].0);
    assert!(got[0].1.len() as u64 <= LOG_BACKLOG);
    assert!(
        got[0].1.starts_with(line.as_bytes()),
        "begins on a whole line"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn read_all_reads_in_chunks_and_names_a_missing_file() {
    let path = scratch("all.log");
    std::fs::write(&path, vec![b'a'; CHUNK + 10]).unwrap();
    let mut got = Vec::new();
    read_all(&follow_of(&path, Stream::ServerLog), Some(1.0), |e| {
        got.push(e)
    })
    .unwrap();
    let b = bodies(&got);
    assert_eq!(b.iter().map(|x| x.1.len()).collect::<Vec<_>>(), [CHUNK, 10]);
    assert_eq!(b.iter().map(|x| x.0).collect::<Vec<_>>(), [true, false]);
    let _ = std::fs::remove_file(&path);
    let err = read_all(&follow_of(&path, Stream::Trace), None, |_| {}).unwrap_err();
    assert!(matches!(err, FollowError::Unreadable(_)), "{err}");
    assert!(err.to_string().contains("all.log"), "{err}");
}

/// Hand-made rotation of a lookup-hash directory: every file is read, oldest first; what the
/// old file got before the new one appeared is not lost; a file deleted under the tail gives
/// way to the next.
#[test]
fn a_rotating_directory_is_read_file_by_file_and_loses_nothing_at_a_rotation() {
    let dir = scratch("rotating");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = |n: u32| dir.join(format!("lookup_hashes_20261207_0000{n:02}_000000.jsonl"));
    let append = |n: u32, text: &[u8]| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file(n))
            .unwrap();
        std::io::Write::write_all(&mut f, text).unwrap();
    };
    append(1, b"a1\n");
    append(2, b"b1\n");
    std::fs::write(dir.join("other.txt"), b"not a log").unwrap();
    let f = follow_of(&dir, Stream::LookupHashes);
    let mut place = Place::default();
    assert_eq!(
        bodies(&step_dir(&f, &mut place).unwrap()),
        [(true, b"a1\n".to_vec()), (true, b"b1\n".to_vec())],
        "both files, oldest first, each a fresh file"
    );
    assert!(step_dir(&f, &mut place).unwrap().is_empty());
    // The writer adds to the newest, then rotates: both parts come, in order.
    append(2, b"b2\n");
    append(3, b"c1\n");
    assert_eq!(
        bodies(&step_dir(&f, &mut place).unwrap()),
        [(false, b"b2\n".to_vec()), (true, b"c1\n".to_vec())]
    );
    // The file being read is deleted (LMCache keeps at most max_files): the next one on.
    append(4, b"d1\n");
    std::fs::remove_file(file(3)).unwrap();
    assert_eq!(
        bodies(&step_dir(&f, &mut place).unwrap()),
        [(true, b"d1\n".to_vec())]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hand-made: a gzip log given to follow is read whole, as what it holds, and the follower
/// ends (a gzip file does not grow).
#[test]
fn a_followed_gzip_file_is_read_whole_once() {
    use std::io::Write;
    let plain = b"[2026-12-07 06:00:00,000] LMCache INFO: one\n[2026-12-07 06:00:01,000] LMCache INFO: two\n".repeat(50);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&plain).unwrap();
    let path = scratch("followed.log.gz");
    std::fs::write(&path, e.finish().unwrap()).unwrap();
    let f = follow_of(&path, Stream::ServerLog);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(2);
        let task = tokio::spawn(follow(f, Duration::from_millis(10), tx));
        let mut got = Vec::new();
        while let Some(e) = rx.recv().await {
            got.push(e);
        }
        task.await.unwrap();
        got
    });
    let body: Vec<u8> = bodies(&got).into_iter().flat_map(|(_, b)| b).collect();
    assert_eq!(body, plain);
    assert!(bodies(&got)[0].0, "fresh");
    // Cut part-way, it is refused before anything is read, naming the file and the fault.
    let whole = std::fs::read(&path).unwrap();
    std::fs::write(&path, &whole[..whole.len() / 2]).unwrap();
    let e = check(&follow_of(&path, Stream::ServerLog))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("followed.log.gz") && e.contains("deflate"),
        "{e}"
    );
    std::fs::write(&path, &whole).unwrap();
    assert!(check(&follow_of(&path, Stream::ServerLog)).is_ok());
    let _ = std::fs::remove_file(&path);
}
