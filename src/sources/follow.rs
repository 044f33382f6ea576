//! Files beside a target — its storage trace, its logs, a span export, the lookup-hash log —
//! read as [`Event::Evidence`]: all at once for `report`, or followed while they grow for
//! `watch` and `export` (a file replaced or cut under the tail starts over, and says so; a
//! rotating directory is followed at its newest file). Standard input (`-`) is read as it
//! comes.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use crate::files::{self, FileError, Kind};
use crate::vocab::{Event, Stream, TargetRef};

/// The most bytes one event carries.
pub const CHUNK: usize = 1 << 20;
/// How far back from its end a log is first read when followed (a trace is read from its
/// start: its header is there).
pub const LOG_BACKLOG: u64 = 1 << 20;
/// How often a followed file is looked at: once a scrape interval (its lines wait for the
/// interval's picture anyway), within these bounds.
pub const POLL_AT_LEAST: Duration = Duration::from_millis(250);
pub const POLL_AT_MOST: Duration = Duration::from_secs(1);

/// The look period for a session scraping every `interval` seconds.
pub fn poll_every(interval: Option<f64>) -> Duration {
    interval
        .and_then(|i| Duration::try_from_secs_f64(i).ok())
        .map_or(POLL_AT_MOST, |d| d.clamp(POLL_AT_LEAST, POLL_AT_MOST))
}

/// A file to read beside a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follow {
    pub target: TargetRef,
    pub stream: Stream,
    /// `-` for standard input.
    pub path: PathBuf,
}

impl Follow {
    fn stdin(&self) -> bool {
        self.path.as_os_str() == super::STDIN
    }
    fn origin(&self) -> String {
        if self.stdin() {
            "standard input".into()
        } else {
            self.path.display().to_string()
        }
    }
    fn event(&self, time: Option<f64>, fresh: bool, body: Vec<u8>) -> Event {
        Event::Evidence {
            target: self.target,
            time,
            stream: self.stream,
            fresh,
            body,
            origin: self.origin(),
        }
    }
}

/// The files of a rotating log directory (LMCache's `lookup_hashes_*.jsonl`), oldest first
/// (their names sort by time).
fn rotated(dir: &std::path::Path) -> Result<Vec<PathBuf>, FileError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FileError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("lookup_hashes_") && n.ends_with(".jsonl"))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Reads all of `f` now, in events of at most [`CHUNK`] bytes stamped `time`, the first of
/// each file marked fresh; a directory is its rotated files in order. Nothing is kept beyond
/// one chunk, however large the file.
pub fn read_all(
    f: &Follow,
    time: Option<f64>,
    mut each: impl FnMut(Event),
) -> Result<(), FollowError> {
    read_all_dyn(f, time, &mut each)
}

fn read_all_dyn(
    f: &Follow,
    time: Option<f64>,
    each: &mut dyn FnMut(Event),
) -> Result<(), FollowError> {
    if !f.stdin() && f.path.is_dir() {
        let all = rotated(&f.path)?;
        if all.is_empty() {
            return Err(FollowError::EmptyDirectory(f.path.clone()));
        }
        for path in all {
            let one = Follow { path, ..f.clone() };
            read_all_dyn(&one, time, each)?;
        }
        return Ok(());
    }
    let mut input: Box<dyn Read> = if f.stdin() {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(files::open(&f.path, Kind::RegularOrPipe)?.0)
    };
    let mut fresh = true;
    loop {
        let chunk = read_chunk(&mut input, None).map_err(|source| FileError::Unreadable {
            path: f.origin().into(),
            source,
        })?;
        if chunk.is_empty() && !fresh {
            return Ok(());
        }
        let done = chunk.len() < CHUNK;
        each(f.event(time, fresh, chunk));
        fresh = false;
        if done {
            return Ok(());
        }
    }
}

/// Up to [`CHUNK`] bytes (fewer only at the end), room made for `expected` of them (what a
/// file's size says is there; a pipe's is unknown).
fn read_chunk(r: &mut dyn Read, expected: Option<u64>) -> std::io::Result<Vec<u8>> {
    let room = expected.map_or(CHUNK, |n| n.min(CHUNK as u64) as usize);
    let mut out = Vec::with_capacity(room);
    r.take(CHUNK as u64).read_to_end(&mut out)?;
    Ok(out)
}

/// Where a followed file stands.
#[derive(Debug, Default)]
struct Place {
    /// Device and inode of the file being read.
    id: Option<(u64, u64)>,
    offset: u64,
}

/// Follows `f` until the receiver goes away: new bytes as events stamped with the wall
/// clock. A file that cannot be read for a while (a rotation in progress) is tried again at
/// the next look; [`check`] says at the start whether it can be read at all.
pub async fn follow(f: Follow, every: Duration, tx: tokio::sync::mpsc::Sender<Event>) {
    if f.stdin() {
        return follow_stdin(f, tx).await;
    }
    let mut place = Place::default();
    loop {
        if let Ok(events) = step(&f, &mut place) {
            let more = events
                .iter()
                .any(|e| matches!(e, Event::Evidence { body, .. } if body.len() == CHUNK));
            for e in events {
                if tx.send(e).await.is_err() {
                    return;
                }
            }
            if more {
                continue;
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// Whether `f` can be followed: an error naming it when not.
pub fn check(f: &Follow) -> Result<(), FollowError> {
    if f.stdin() {
        return Ok(());
    }
    if f.path.is_dir() {
        // Its first file may come later.
        return rotated(&f.path)
            .map(|_| ())
            .map_err(FollowError::Unreadable);
    }
    files::open(&f.path, Kind::Regular)
        .map(|_| ())
        .map_err(FollowError::Unreadable)
}

/// Why a file given beside a target cannot be read or followed; the text names it.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Missing, not a regular file or pipe, or failing to read.
    #[error(transparent)]
    Unreadable(#[from] FileError),
    /// A lookup-hash directory without its files.
    #[error("{}: no lookup_hashes_*.jsonl file in the directory", .0.display())]
    EmptyDirectory(std::path::PathBuf),
}

/// One look at the file: what grew since the last, or all of it again when it was replaced
/// or cut.
fn step(f: &Follow, place: &mut Place) -> Result<Vec<Event>, String> {
    use std::os::unix::fs::MetadataExt;
    // A rotating directory: its newest file (a new one starts over, fresh).
    let newest;
    let f = if f.path.is_dir() {
        let path = rotated(&f.path)
            .map_err(|e| e.to_string())?
            .pop()
            .ok_or_else(|| format!("{}: no lookup_hashes_*.jsonl file yet", f.path.display()))?;
        newest = Follow { path, ..f.clone() };
        &newest
    } else {
        f
    };
    let (mut file, meta) = files::open(&f.path, Kind::Regular).map_err(|e| e.to_string())?;
    let id = (meta.dev(), meta.ino());
    let mut fresh = false;
    if place.id != Some(id) || meta.len() < place.offset {
        fresh = true;
        place.offset = match (place.id, f.stream) {
            // A log first seen: its last part; a replaced one: from its start.
            (None, Stream::ServerLog | Stream::EngineLog) => meta.len().saturating_sub(LOG_BACKLOG),
            _ => 0,
        };
        place.id = Some(id);
    }
    if meta.len() == place.offset && !fresh {
        return Ok(Vec::new());
    }
    file.seek(SeekFrom::Start(place.offset))
        .map_err(|e| format!("cannot read {}: {e}", f.origin()))?;
    let mut chunk = read_chunk(&mut file, Some(meta.len().saturating_sub(place.offset)))
        .map_err(|e| format!("cannot read {}: {e}", f.origin()))?;
    if fresh && place.offset > 0 {
        // Started inside a log: from the first whole line.
        let skip = memchr::memchr(b'\n', &chunk).map_or(chunk.len(), |n| n + 1);
        chunk.drain(..skip);
        place.offset += skip as u64;
    }
    if f.stream == Stream::Trace {
        // Whole frames only, so that every later part of the trace starts at a frame (a
        // recording that keeps only its later part can still read its records). A frame
        // longer than a chunk goes as it is.
        // Bytes that cannot begin a frame (a file that is not a trace) go as they are, so the
        // decoder says what is wrong rather than "the file is empty".
        use crate::evidence::lct::Decoder;
        let whole = Decoder::whole_frames(&chunk);
        if (whole > 0 || chunk.len() < CHUNK) && !Decoder::impossible_start(&chunk[whole..]) {
            chunk.truncate(whole);
        }
    }
    place.offset += chunk.len() as u64;
    if chunk.is_empty() && !fresh {
        return Ok(Vec::new());
    }
    Ok(vec![f.event(Some(crate::timefmt::now()), fresh, chunk)])
}

async fn follow_stdin(f: Follow, out: tokio::sync::mpsc::Sender<Event>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut fresh = true;
    while let Some(bytes) = rx.recv().await {
        if out
            .send(f.event(Some(crate::timefmt::now()), fresh, bytes))
            .await
            .is_err()
        {
            return;
        }
        fresh = false;
    }
}

#[cfg(test)]
mod tests {
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
}
