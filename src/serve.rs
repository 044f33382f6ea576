//! `kvscope serve`: a packet's recorded endpoints served again on loopback, in recorded time.
//! Each target gets a port and answers `/metrics` and the LMCache routes with what was
//! recorded at the current moment of the recording; when the recording ends (after holding
//! its last state for one interval) it starts again as a restarted server would, with a later
//! `process_start_time_seconds`. Recorded failures are answered as failures (503 with the
//! recorded error), routes recorded as not offered as 404.
//!
//! Bodies stay compressed: one cursor walks the timeline as the clock moves and keeps only the
//! newest answer per target and path, so serving an hour costs little memory. A request before
//! the first answer to its path gets that first answer (a route read only late in the
//! recording is still served from the start).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::packet::{Cursor, TargetEntry, Timeline};
use crate::vocab::{Event, Format, Route, SkipReason, TargetRef};

/// One answer: status, content type, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Arc<[u8]>,
}

const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

fn not_found() -> Answer {
    Answer {
        status: 404,
        content_type: JSON,
        body: Arc::from(&br#"{"detail":"Not Found"}"#[..]),
    }
}

fn failure(why: &str) -> Answer {
    Answer {
        status: 503,
        content_type: TEXT,
        body: Arc::from(format!("recorded failure: {why}\n").into_bytes()),
    }
}

/// The path an event answers, and its answer; `None` for events that answer nothing.
fn answer_of(e: &Event) -> Option<(String, Answer)> {
    match e {
        Event::Scrape { body, format, .. } => Some((
            "/metrics".into(),
            Answer {
                status: 200,
                content_type: match format {
                    Some(Format::OpenMetrics1) => OPENMETRICS,
                    _ => PROMETHEUS,
                },
                body: Arc::from(body.as_slice()),
            },
        )),
        Event::ScrapeFailed { error, .. } => Some(("/metrics".into(), failure(error))),
        Event::Route {
            route,
            flavor,
            result,
            ..
        } => {
            let answer = match result {
                Ok((status, body)) => Answer {
                    status: *status,
                    content_type: if *route == Route::Threads { TEXT } else { JSON },
                    body: Arc::from(body.as_slice()),
                },
                Err(why) => failure(why),
            };
            Some((route.path(*flavor).to_string(), answer))
        }
        Event::RouteSkipped {
            route,
            flavor,
            reason: SkipReason::NotOffered,
            ..
        } => Some((route.path(*flavor).to_string(), not_found())),
        _ => None,
    }
}

/// Where the clock is: which pass over the recording, and the recorded time within it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub cycle: u64,
    /// Seconds since the recording's first event.
    pub offset: f64,
}

/// The newest answers as of the cursor's place.
struct State {
    cursor: Cursor,
    cycle: u64,
    /// Per target (manifest order): path → answer.
    latest: Vec<HashMap<String, Answer>>,
    /// The time of the next event (`None` at the end).
    next_at: Option<f64>,
}

/// A packet being served.
pub struct Server {
    timeline: Timeline,
    targets: Vec<TargetEntry>,
    /// Per target: the first answer to each path, for requests before it was recorded.
    first: Vec<HashMap<String, Answer>>,
    start: f64,
    /// Recorded seconds in one pass (the recording and one interval held at its end).
    cycle: f64,
    speed: f64,
    live_timestamps: bool,
    began: Instant,
    state: Mutex<State>,
    /// Request lines received, when asked for ([`Server::keeping_requests`], for tests that
    /// check what a client sent); `serve` keeps none.
    requests: Option<Mutex<Vec<String>>>,
}

impl Server {
    /// Serves `timeline` (of `targets`) from now, at `speed` × the recorded pace.
    pub fn new(
        timeline: Timeline,
        targets: Vec<TargetEntry>,
        speed: f64,
        live_timestamps: bool,
    ) -> Result<Server, String> {
        let (start, end) = timeline
            .span()
            .ok_or("the packet has no timed event: nothing to serve in time")?;
        let mut first: Vec<HashMap<String, Answer>> = vec![HashMap::new(); targets.len()];
        let mut cursor = timeline.cursor();
        // A packet cut short is served as far as it is whole.
        while let Some(Ok(e)) = cursor.next(&timeline) {
            if let (Some(i), Some((path, answer))) = (slot(&targets, e.target()), answer_of(&e)) {
                first[i].entry(path).or_insert(answer);
            }
        }
        let state = State {
            cursor: timeline.cursor(),
            cycle: 0,
            latest: vec![HashMap::new(); targets.len()],
            next_at: None,
        };
        let cycle = (end - start) + timeline.interval();
        let mut server = Server {
            timeline,
            targets,
            first,
            start,
            cycle,
            speed: speed.clamp(0.01, 1000.0),
            live_timestamps,
            began: Instant::now(),
            state: Mutex::new(state),
            requests: None,
        };
        server.state.get_mut().map_err(|e| e.to_string())?.next_at = server.time_of(0);
        Ok(server)
    }

    pub fn targets(&self) -> &[TargetEntry] {
        &self.targets
    }

    /// The position `elapsed` real seconds after serving began.
    pub fn position_at(&self, elapsed: f64) -> Position {
        let recorded = elapsed * self.speed;
        let cycle = (recorded / self.cycle).floor();
        Position {
            cycle: cycle as u64,
            offset: recorded - cycle * self.cycle,
        }
    }

    fn time_of(&self, i: usize) -> Option<f64> {
        // Untimed events go with the one before them.
        self.timeline
            .peek(i)
            .map(|e| e.time().unwrap_or(self.start))
    }

    /// The answer target `index` gives to GET `path` at position `p` (positions only move
    /// forward: an earlier one than already served gets the newer answers).
    pub fn answer_at(&self, index: usize, path: &str, p: Position, now: f64) -> Answer {
        let path = path.split('?').next().unwrap_or(path);
        let found = {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            // The clock only moves on; a request that computed its position just before
            // another one took the lock gets the newer answers.
            if p.cycle > s.cycle {
                s.cursor = self.timeline.cursor();
                s.latest.iter_mut().for_each(HashMap::clear);
                s.cycle = p.cycle;
                s.next_at = self.time_of(0);
            }
            let until = self.start + p.offset;
            while s.next_at.is_some_and(|t| t <= until) {
                let State { cursor, latest, .. } = &mut *s;
                let Some(Ok(e)) = cursor.next(&self.timeline) else {
                    s.next_at = None;
                    break;
                };
                if let (Some(i), Some((path, answer))) =
                    (slot(&self.targets, e.target()), answer_of(&e))
                {
                    latest[i].insert(path, answer);
                }
                s.next_at = self.time_of(s.cursor.position());
            }
            s.latest
                .get(index)
                .and_then(|m| m.get(path))
                .or_else(|| self.first.get(index).and_then(|m| m.get(path)))
                .cloned()
        };
        let Some(mut answer) = found else {
            return not_found();
        };
        if path == "/metrics" && answer.status == 200 {
            let shift = p.cycle as f64 * self.cycle / self.speed;
            let now_ms = self.live_timestamps.then(|| (now * 1000.0).round() as i64);
            if shift > 0.0 || now_ms.is_some() {
                answer.body = Arc::from(rewrite(&answer.body, shift, now_ms));
            }
        }
        answer
    }

    /// The same server keeping the request lines it receives (method and path, the latest
    /// 10,000), for a test that checks what a client sent.
    pub fn keeping_requests(mut self) -> Server {
        self.requests = Some(Mutex::new(Vec::new()));
        self
    }

    /// The request lines kept (none unless [`Server::keeping_requests`]).
    pub fn requests(&self) -> Vec<String> {
        self.requests.as_ref().map_or(Vec::new(), |r| {
            r.lock().unwrap_or_else(|e| e.into_inner()).clone()
        })
    }

    fn record(&self, method: &str, path: &str) {
        if let Some(r) = &self.requests {
            let mut r = r.lock().unwrap_or_else(|e| e.into_inner());
            if r.len() >= 10_000 {
                r.remove(0);
            }
            r.push(format!("{method} {path}"));
        }
    }

    /// The answer now.
    pub fn answer(&self, index: usize, path: &str) -> Answer {
        let p = self.position_at(self.began.elapsed().as_secs_f64());
        self.answer_at(index, path, p, crate::timefmt::now())
    }
}

/// A target's place in the manifest's list.
fn slot(targets: &[TargetEntry], t: TargetRef) -> Option<usize> {
    targets.iter().position(|e| e.target == t)
}

/// A `/metrics` body as served later: `process_start_time_seconds` moved on by `shift` (a
/// later pass is a restarted process), and, with `now_ms`, every recorded sample timestamp
/// replaced by it (a sample without one stays without).
pub fn rewrite(body: &[u8], shift: f64, now_ms: Option<i64>) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (content, newline) = match line.strip_suffix('\n') {
            Some(c) => (c, "\n"),
            None => (line, ""),
        };
        match crate::expo::split_sample(content) {
            Ok(crate::expo::SampleText {
                series,
                name,
                value,
                timestamp: stamp,
                ..
            }) => {
                let is_start = name == "process_start_time_seconds";
                out.push_str(series);
                match value.trim().parse::<f64>() {
                    Ok(v) if is_start && shift > 0.0 => out.push_str(&format!(" {}", v + shift)),
                    _ => {
                        out.push(' ');
                        out.push_str(value);
                    }
                }
                match (stamp, now_ms) {
                    (Some(_), Some(ms)) => out.push_str(&format!(" {ms}")),
                    (Some(s), None) => {
                        out.push(' ');
                        out.push_str(s);
                    }
                    (None, _) => {}
                }
                out.push_str(newline);
            }
            _ => out.push_str(line),
        }
    }
    out.into_bytes()
}

/// Answers one target's connections until the listener fails.
pub async fn serve(listener: TcpListener, server: Arc<Server>, index: usize) {
    // A failed accept (no file descriptors left: too many open connections) is retried after
    // a pause that doubles up to a second, not at once: the loop must not spin.
    let mut pause = ACCEPT_PAUSE;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                pause = ACCEPT_PAUSE;
                stream
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let server = server.clone();
        tokio::spawn(async move {
            let answered = respond(stream, &server, index);
            let _ = tokio::time::timeout(Duration::from_secs(10), answered).await;
        });
    }
}

async fn respond(mut stream: TcpStream, server: &Server, index: usize) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    server.record(method, path);
    let answer = match method {
        "GET" | "HEAD" => server.answer(index, path),
        _ => Answer {
            status: 405,
            content_type: JSON,
            body: Arc::from(&br#"{"detail":"Method Not Allowed"}"#[..]),
        },
    };
    let reason = match answer.status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let header = format!(
        "HTTP/1.1 {} {reason}\r\nserver: kvscope-serve\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&answer.body).await?;
    }
    stream.shutdown().await
}

/// `n` listeners on consecutive loopback ports from `port` (0: any free run of ports).
pub async fn bind(port: u16, n: usize) -> Result<Vec<TcpListener>, String> {
    let at = |q: u16| move |e: std::io::Error| format!("cannot listen on 127.0.0.1:{q}: {e}");
    'attempt: for _ in 0..20 {
        let first = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(at(port))?;
        let p = first.local_addr().map_err(at(port))?.port();
        let mut out = vec![first];
        for k in 1..n {
            let next = u16::try_from(usize::from(p) + k).ok();
            match next {
                Some(q) => match TcpListener::bind(("127.0.0.1", q)).await {
                    Ok(l) => out.push(l),
                    // With a fixed port the caller asked for exactly these: the one taken is
                    // named.
                    Err(e) if port != 0 => return Err(at(q)(e)),
                    Err(_) => continue 'attempt,
                },
                None if port != 0 => {
                    return Err(format!(
                        "{n} ports from {port} run past 65535: give a lower --port"
                    ));
                }
                None => continue 'attempt,
            }
        }
        return Ok(out);
    }
    Err(format!("no {n} consecutive free ports on 127.0.0.1"))
}

/// The first pause after a failed accept.
const ACCEPT_PAUSE: Duration = Duration::from_millis(10);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_keeps_everything_but_the_start_time_and_the_stamps() {
        // Hand-written lines: a label value holding `}` and spaces, a comment, a stamped
        // sample and an unstamped one.
        let body = b"# HELP process_start_time_seconds start\nprocess_start_time_seconds 100.5\nx{a=\"} b\",c=\"\\\"q\"} 1 1700000000000\ny 2\n";
        let same = rewrite(body, 0.0, None);
        assert_eq!(same, body.to_vec());
        let later = String::from_utf8(rewrite(body, 50.0, Some(42))).unwrap();
        assert_eq!(
            later,
            "# HELP process_start_time_seconds start\nprocess_start_time_seconds 150.5\nx{a=\"} b\",c=\"\\\"q\"} 1 42\ny 2\n"
        );
    }

    /// Hand-made lines: a `}`, spaces, an escaped quote and an escaped backslash inside label
    /// values do not end the labels, so only the timestamp is restamped.
    #[test]
    fn a_label_value_cannot_end_the_labels() {
        let body = "m{l=\"a } 3 4\",q=\"x\\\" 9\",b=\"c\\\\\"} 5 6\nm 5\nm 5 6 7\n";
        let out = rewrite(body.as_bytes(), 0.0, Some(7));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "m{l=\"a } 3 4\",q=\"x\\\" 9\",b=\"c\\\\\"} 5 7\nm 5\nm 5 6 7\n"
        );
    }
}
