//! Files beside a target — its storage trace, its logs, a span export, the lookup-hash log —
//! read as [`Event::Evidence`]: all at once for `report`, or followed while they grow for
//! `watch` and `export` (a file replaced or cut under the tail starts over, and says so; a
//! rotating directory is read file by file, oldest first, and followed at its newest).
//! Standard input (`-`) is read as it comes.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use crate::files::{self, FileError, Kind};
use crate::vocab::{Event, Stream, TargetRef};

/// The most bytes one event carries.
pub const CHUNK: usize = 1 << 20;
/// The most a gzip file is read to: past it, it is refused (a file that expands without end).
pub const MAX_UNZIPPED: u64 = 8 << 30;
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
    let raw: Box<dyn Read> = if f.stdin() {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(files::open(&f.path, Kind::RegularOrPipe)?.0)
    };
    let unreadable = |source| FileError::Unreadable {
        path: f.origin().into(),
        source,
    };
    // A gzip file (a rotated log, a compressed span export) is read as what it holds; a
    // trace is binary already and never is one.
    let mut raw = std::io::BufReader::new(raw);
    let gzip = f.stream != Stream::Trace
        && std::io::BufRead::fill_buf(&mut raw)
            .map_err(unreadable)?
            .starts_with(&[0x1f, 0x8b]);
    let mut input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(raw).take(MAX_UNZIPPED + 1))
    } else {
        Box::new(raw)
    };
    let mut fresh = true;
    let mut total = 0u64;
    loop {
        let chunk = read_chunk(&mut input, None).map_err(unreadable)?;
        total += chunk.len() as u64;
        if total > MAX_UNZIPPED {
            return Err(FollowError::Unzipped(f.path.clone()));
        }
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
    /// In a rotating directory, the file being read.
    path: Option<PathBuf>,
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
    // A gzip file does not grow: it is read whole, as what it holds, once.
    if f.stream != Stream::Trace && gzip(&f.path) {
        // On a thread of its own, a chunk at a time as the session takes them.
        let read = tokio::task::spawn_blocking(move || {
            read_all(&f, Some(crate::timefmt::now()), |e| {
                drop(tx.blocking_send(e))
            })
        });
        drop(read.await);
        return;
    }
    let mut place = Place::default();
    loop {
        let looked = if f.path.is_dir() {
            step_dir(&f, &mut place)
        } else {
            step(&f, &mut place)
        };
        if let Ok(events) = looked {
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

/// Whether the file at `path` starts as gzip does.
fn gzip(path: &std::path::Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut head))
        .is_ok_and(|()| head == [0x1f, 0x8b])
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
    files::open(&f.path, Kind::Regular).map_err(FollowError::Unreadable)?;
    // A gzip file is read once, whole: one that stops part-way (cut in a copy, corrupt) is
    // refused here with what is wrong, as `report` refuses it, not read as far as it goes.
    if f.stream != Stream::Trace && gzip(&f.path) {
        read_all(f, None, |_| {})?;
    }
    Ok(())
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
    /// A gzip file that expands past [`MAX_UNZIPPED`].
    #[error("{}: a gzip file that expands past 8 GiB", .0.display())]
    Unzipped(std::path::PathBuf),
}

/// One look at a rotating directory: its files oldest first, each read to its end before the
/// next (the writer only appends to the newest), so a rotation between two looks loses
/// nothing; a file deleted under the tail gives way to the next one after it.
fn step_dir(f: &Follow, place: &mut Place) -> Result<Vec<Event>, String> {
    let all = rotated(&f.path).map_err(|e| e.to_string())?;
    if all.is_empty() {
        return Err(format!(
            "{}: no lookup_hashes_*.jsonl file yet",
            f.path.display()
        ));
    }
    let mut at = match &place.path {
        None => 0,
        Some(p) => all.iter().position(|q| q >= p).unwrap_or(all.len()),
    };
    let mut out = Vec::new();
    while let Some(path) = all.get(at) {
        if place.path.as_ref() != Some(path) {
            *place = Place {
                path: Some(path.clone()),
                ..Place::default()
            };
        }
        let one = Follow {
            path: path.clone(),
            ..f.clone()
        };
        let events = step(&one, place)?;
        let full = events
            .iter()
            .any(|e| matches!(e, Event::Evidence { body, .. } if body.len() == CHUNK));
        out.extend(events);
        if full {
            break;
        }
        at += 1;
    }
    Ok(out)
}

/// One look at the file: what grew since the last, or all of it again when it was replaced
/// or cut.
fn step(f: &Follow, place: &mut Place) -> Result<Vec<Event>, String> {
    use std::os::unix::fs::MetadataExt;
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
mod tests;
