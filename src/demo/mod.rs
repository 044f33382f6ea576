//! `kvscope demo`: a loopback LMCache MP server and vLLM engine that replay real recordings.
//!
//! The LMCache side serves the real 0.5.6 `/metrics` timeline at its recorded pace (scaled by
//! `speed`) and the real HTTP route bodies (idle ones before the workload, final ones after);
//! when the timeline ends it starts again as a restarted server would: counters from zero and a
//! new `process_start_time_seconds`. The engine side serves packet_a's real vLLM scrape — one
//! snapshot from another run — with its capture time on every sample, so a scraper sees the same
//! observation repeated rather than a server standing still.
//! Not used by any production path.

mod capture;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::timefmt::parse_rfc3339;
use crate::vocab::{Event, Role, TargetRef};

/// The demo's data as events, without servers: the LMCache 0.5.6 timeline t0..=`last` at its
/// capture times, then packet_a's vLLM scrape stamped with the newest of them; and that newest
/// time. The one place tests, benchmarks and examples load the recorded pairing from.
pub fn recorded(last: usize) -> (Vec<Event>, f64) {
    let times: Vec<f64> = capture::INDEX
        .lines()
        .skip(1)
        .take(last + 1)
        .map(|line| {
            line.split('\t')
                .nth(1)
                .and_then(|t| parse_rfc3339(t).ok())
                .expect("the built-in index has times")
        })
        .collect();
    let newest = times.iter().copied().fold(0.0, f64::max);
    let lmcache = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    let mut events: Vec<Event> = capture::SCRAPES
        .iter()
        .zip(times)
        .enumerate()
        .map(|(i, (body, time))| Event::Scrape {
            target: lmcache,
            time: Some(time),
            body: body.to_vec(),
            format: None,
            origin: format!("metrics_t{i}.prom"),
        })
        .collect();
    events.push(Event::Scrape {
        target: TargetRef {
            role: Role::Engine,
            index: 0,
        },
        time: Some(newest),
        body: capture::ENGINE.as_bytes().to_vec(),
        format: None,
        origin: "vllm_metrics_loaded.prom".into(),
    });
    (events, newest)
}

/// The demo's bodies alone: the 32 LMCache scrapes in order, and the vLLM scrape.
pub fn recorded_bodies() -> (Vec<Vec<u8>>, Vec<u8>) {
    let lmcache = capture::SCRAPES.iter().map(|b| b.to_vec()).collect();
    (lmcache, capture::ENGINE.as_bytes().to_vec())
}

/// Seconds the final state is held before the replayed server "restarts".
const HOLD_AT_END: f64 = 10.0;

/// The replay clock and recorded data.
pub struct Demo {
    start: Instant,
    speed: f64,
    /// Seconds from the first scrape, per scrape.
    offsets: Vec<f64>,
    /// Workload phase per scrape (from the capture index).
    phases: Vec<String>,
    engine_body: Vec<u8>,
    /// Request lines received (method and path), most recent last; capped.
    pub requests: Mutex<Vec<String>>,
}

/// Where the replay is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// How many times the timeline has restarted.
    pub cycle: u64,
    pub index: usize,
}

impl Demo {
    /// A replay starting now at `speed` × the recorded pace.
    pub fn new(speed: f64) -> Demo {
        let mut offsets = Vec::new();
        let mut phases = Vec::new();
        for line in capture::INDEX.lines().skip(1) {
            let cells: Vec<&str> = line.split('\t').collect();
            let t = cells
                .get(1)
                .and_then(|t| parse_rfc3339(t).ok())
                .expect("the built-in index has times");
            offsets.push(t);
            phases.push(cells.get(2).unwrap_or(&"").to_string());
        }
        let first = offsets[0];
        offsets.iter_mut().for_each(|t| *t -= first);
        let observed =
            (parse_rfc3339(capture::ENGINE_CAPTURED).expect("valid time") * 1000.0) as i64;
        let mut engine_body = String::with_capacity(capture::ENGINE.len() * 2);
        for line in capture::ENGINE.lines() {
            engine_body.push_str(line);
            if !line.starts_with('#') && !line.trim().is_empty() {
                engine_body.push_str(&format!(" {observed}"));
            }
            engine_body.push('\n');
        }
        Demo {
            start: Instant::now(),
            speed: speed.max(0.01),
            offsets,
            phases,
            engine_body: engine_body.into_bytes(),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Length of one replay cycle in recorded seconds.
    pub fn cycle_seconds(&self) -> f64 {
        self.offsets.last().copied().unwrap_or(0.0) + HOLD_AT_END
    }

    /// The replay position `elapsed` wall seconds after the start.
    pub fn position_at(&self, elapsed: f64) -> Position {
        let recorded = elapsed * self.speed;
        let cycle = (recorded / self.cycle_seconds()).floor();
        let within = recorded - cycle * self.cycle_seconds();
        let index = self
            .offsets
            .partition_point(|&o| o <= within)
            .saturating_sub(1);
        Position {
            cycle: cycle as u64,
            index,
        }
    }

    fn position(&self) -> Position {
        self.position_at(self.start.elapsed().as_secs_f64())
    }

    /// The `/metrics` body at a position; later cycles carry a later process start time.
    pub fn metrics_body(&self, p: Position) -> Vec<u8> {
        let body = capture::SCRAPES[p.index];
        if p.cycle == 0 {
            return body.to_vec();
        }
        let shift = p.cycle as f64 * self.cycle_seconds() / self.speed;
        let text = String::from_utf8_lossy(body);
        let mut out = String::with_capacity(text.len() + 16);
        for line in text.lines() {
            match line
                .strip_prefix("process_start_time_seconds ")
                .and_then(|v| v.trim().parse::<f64>().ok())
            {
                Some(v) => out.push_str(&format!("process_start_time_seconds {}", v + shift)),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out.into_bytes()
    }

    /// Status, content type and body for a GET on the LMCache side.
    fn lmcache_route(&self, path: &str) -> (u16, &'static str, Vec<u8>) {
        let p = self.position();
        if path == "/metrics" || path.starts_with("/metrics?") {
            return (200, "text/plain; charset=utf-8", self.metrics_body(p));
        }
        let idle = matches!(
            self.phases[p.index].split(':').next(),
            Some("idle-before-any-traffic" | "before-workload")
        );
        // Before the workload the idle answers win; routes only captured later fall through.
        let idle_routes: &[capture::RecordedAnswer] = if idle { capture::ROUTES_IDLE } else { &[] };
        for r in idle_routes.iter().chain(capture::ROUTES_AFTER) {
            if r.path == path {
                return (
                    r.status.trim().parse().unwrap_or(200),
                    r.content_type,
                    r.body.to_vec(),
                );
            }
        }
        (
            404,
            "application/json",
            br#"{"detail":"Not Found"}"#.to_vec(),
        )
    }

    fn record(&self, line: &str) {
        let mut r = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() >= 10_000 {
            r.remove(0);
        }
        r.push(line.to_string());
    }
}

/// Serves one role (the LMCache server or the engine) until the listener fails.
pub async fn serve(listener: TcpListener, side: Role, demo: Arc<Demo>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let demo = demo.clone();
        tokio::spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(10), answer(stream, side, &demo)).await;
        });
    }
}

async fn answer(mut stream: TcpStream, side: Role, demo: &Demo) -> std::io::Result<()> {
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
    demo.record(&format!("{method} {path}"));
    let (status, ctype, body) = match (method, side) {
        ("GET" | "HEAD", Role::Lmcache) => demo.lmcache_route(path),
        ("GET" | "HEAD", Role::Engine) if path == "/metrics" || path.starts_with("/metrics?") => (
            200,
            "text/plain; version=0.0.4; charset=utf-8",
            demo.engine_body.clone(),
        ),
        ("GET" | "HEAD", Role::Engine) => (
            404,
            "application/json",
            br#"{"detail":"Not Found"}"#.to_vec(),
        ),
        _ => (
            405,
            "application/json",
            br#"{"detail":"Method Not Allowed"}"#.to_vec(),
        ),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let header = format!(
        "HTTP/1.1 {status} {reason}\r\nserver: kvscope-demo\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&body).await?;
    }
    stream.shutdown().await
}

/// Binds the LMCache side on `port` (0: any free port) and the engine on the next port.
pub async fn bind(port: u16) -> std::io::Result<(TcpListener, TcpListener)> {
    for _ in 0..20 {
        let lm = TcpListener::bind(("127.0.0.1", port)).await?;
        let p = lm.local_addr()?.port();
        match TcpListener::bind(("127.0.0.1", p.wrapping_add(1))).await {
            Ok(en) => return Ok((lm, en)),
            // With a fixed port the caller asked for exactly these two.
            Err(e) if port != 0 => return Err(e),
            Err(_) => continue,
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "no two consecutive free ports on 127.0.0.1",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_follows_the_recorded_pace_and_cycles() {
        let d = Demo::new(1.0);
        assert_eq!(d.position_at(0.0), Position { cycle: 0, index: 0 });
        // t1 was captured 25.783 s after t0.
        assert_eq!(d.position_at(25.0).index, 0);
        assert_eq!(d.position_at(26.0).index, 1);
        let end = d.cycle_seconds();
        assert_eq!(
            d.position_at(end - 0.5),
            Position {
                cycle: 0,
                index: 31
            }
        );
        assert_eq!(d.position_at(end + 0.5), Position { cycle: 1, index: 0 });
        // Ten times faster: t1 after 2.6 s.
        assert_eq!(Demo::new(10.0).position_at(2.7).index, 1);
    }

    #[test]
    fn a_restarted_cycle_has_a_new_process_start_time() {
        let d = Demo::new(1.0);
        let start = |p| {
            let body = String::from_utf8(d.metrics_body(p)).unwrap();
            body.lines()
                .find_map(|l| l.strip_prefix("process_start_time_seconds "))
                .unwrap()
                .parse::<f64>()
                .unwrap()
        };
        let first = start(Position {
            cycle: 0,
            index: 31,
        });
        let second = start(Position { cycle: 1, index: 0 });
        assert!(second > first);
    }

    #[test]
    fn engine_samples_carry_the_capture_time() {
        let d = Demo::new(1.0);
        let s = crate::expo::parse(&d.engine_body).unwrap();
        assert!(s.samples.len() > 400);
        assert!(
            s.samples
                .iter()
                .all(|x| x.timestamp == parse_rfc3339(capture::ENGINE_CAPTURED).ok())
        );
    }

    #[test]
    fn routes_idle_before_the_workload_and_final_after() {
        let d = Demo::new(1.0);
        // Position 0 is idle; the idle /status differs from the final one.
        let idle = capture::ROUTES_IDLE
            .iter()
            .find(|r| r.path == "/status")
            .unwrap()
            .body;
        let after = capture::ROUTES_AFTER
            .iter()
            .find(|r| r.path == "/status")
            .unwrap()
            .body;
        assert_ne!(idle, after);
        assert_eq!(d.lmcache_route("/status").2, idle);
        assert_eq!(d.lmcache_route("/api/status").0, 404);
        assert_eq!(d.lmcache_route("/nope").0, 404);
    }
}
