//! Fault injection against loopback servers: the live collectors and the app must survive
//! refused connections, error statuses, silence, trickles, truncation, huge and HTML bodies,
//! and one sick target must not affect another.

use std::time::Duration;

use kvscope::model::{Model, TargetState};
use kvscope::sources::collector::{self, Poll};
use kvscope::sources::http;
use kvscope::tui::{App, theme::Theme};
use kvscope::vocab::{Role, TargetRef};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// What a fault server does with each connection.
#[derive(Clone, Copy)]
enum Fault {
    Good,
    Status500,
    Silent,
    Trickle,
    Truncated,
    Huge,
    Html,
}

async fn fault_server(fault: Fault) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metrics", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = s.read(&mut buf).await;
                let head = |len: usize, ct: &str| {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {ct}\r\ncontent-length: {len}\r\n\r\n"
                    )
                };
                let body = std::fs::read(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/fixtures/lmcache-0.5.6-cpu-run1/metrics_t31.prom"
                ))
                .unwrap();
                match fault {
                    Fault::Good => {
                        let _ = s.write_all(head(body.len(), "text/plain").as_bytes()).await;
                        let _ = s.write_all(&body).await;
                    }
                    Fault::Status500 => {
                        let _ = s.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nboom").await;
                    }
                    Fault::Silent => tokio::time::sleep(Duration::from_secs(30)).await,
                    Fault::Trickle => {
                        let _ = s.write_all(head(body.len(), "text/plain").as_bytes()).await;
                        for b in &body {
                            if s.write_all(&[*b]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    Fault::Truncated => {
                        let _ = s.write_all(head(body.len(), "text/plain").as_bytes()).await;
                        let _ = s.write_all(&body[..100]).await;
                    }
                    Fault::Huge => {
                        // No length: the client has to stop reading at its cap.
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n").await;
                        let chunk = vec![b'#'; 64 * 1024];
                        for _ in 0..1600 {
                            if s.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                    }
                    Fault::Html => {
                        let page = b"<!doctype html><html><body>Sign in</body></html>";
                        let _ = s.write_all(head(page.len(), "text/html").as_bytes()).await;
                        let _ = s.write_all(page).await;
                    }
                }
            });
        }
    });
    url
}

/// Runs one collector per URL until `done` says the app has seen enough (at most 20 s, a bound
/// for slow machines, never a wait in itself), and returns the app that consumed the events.
async fn watch(urls: Vec<String>, done: impl Fn(&App) -> bool) -> App {
    let model = Model::new(&urls, &[], 16);
    let mut app = App::new(model, 0.5, 60.0, Theme::mono(), None);
    let client = http::client(Duration::from_millis(250), &Default::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    for (index, url) in urls.iter().enumerate() {
        let poll = Poll {
            target: TargetRef {
                role: Role::Lmcache,
                index,
            },
            url: http::TargetUrl::metrics(url).unwrap(),
            interval: Duration::from_millis(100),
            limit: 1 << 20,
        };
        tokio::spawn(collector::run(poll, client.clone(), tx.clone()));
    }
    drop(tx);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        app.on_event(ev);
        app.on_tick(kvscope::timefmt::now());
        if done(&app) {
            break;
        }
    }
    app
}

fn state(app: &App, index: usize) -> (TargetState, String) {
    let t = TargetRef {
        role: Role::Lmcache,
        index,
    };
    let h = app.model().unwrap().health(t);
    (
        h.state(app.now, app.interval),
        h.last_failure
            .as_ref()
            .map(|f| f.1.clone())
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn every_fault_is_named_and_the_healthy_target_is_unaffected() {
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/metrics", l.local_addr().unwrap())
    };
    let faults = [
        Fault::Good,
        Fault::Status500,
        Fault::Silent,
        Fault::Trickle,
        Fault::Truncated,
        Fault::Huge,
        Fault::Html,
    ];
    let mut urls = Vec::new();
    for f in faults {
        urls.push(fault_server(f).await);
    }
    urls.push(refused);
    let expect = [
        "",
        "HTTP 500",
        "timed out",
        "timed out",
        "unreachable",
        "larger than",
        "HTML",
        "unreachable",
    ];
    // Every target has reached the state it is expected to be in.
    let settled = |app: &App| {
        expect.iter().enumerate().all(|(i, want)| {
            let (st, why) = state(app, i);
            if i == 0 {
                st == TargetState::Up
            } else {
                st == TargetState::Down && why.contains(want)
            }
        })
    };
    let app = watch(urls, settled).await;
    for (i, want) in expect.iter().enumerate() {
        let (st, why) = state(&app, i);
        if i == 0 {
            assert_eq!(st, TargetState::Up, "healthy target: {why}");
            assert_eq!(
                app.model().unwrap().lmcache[0].newest().unwrap().samples,
                224
            );
        } else {
            assert_eq!(st, TargetState::Down, "target {i}");
            assert!(why.contains(want), "target {i}: {why:?} lacks {want:?}");
        }
    }
    // The healthy target's numbers are there, unaffected by its sick neighbours.
    assert_eq!(
        app.shown
            .analysis
            .lmcache
            .lookup
            .hit_tokens
            .since_start
            .value(),
        Some(27136.0)
    );
}

/// Hand-written hostile LMCache routes: escape sequences in `/version` and in thread names, an
/// oversized `/status`, an HTML error page for `/healthcheck`, a malformed `/config`.
async fn hostile_routes_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body): (&str, Vec<u8>) = match path.as_str() {
                    "/openapi.json" => (
                        "200 OK",
                        br#"{"paths":{"/status":{},"/healthcheck":{},"/version":{},"/config":{},"/threads":{},"/periodic-threads-health":{}}}"#.to_vec(),
                    ),
                    "/version" => (
                        "200 OK",
                        br#""0.5.6\u001b]0;pwned\u0007\u001b[2J""#.to_vec(),
                    ),
                    "/threads" => (
                        "200 OK",
                        b"Thread: <Thread(evil\x1b[31mred, started daemon 1)>\nStack trace:\n".to_vec(),
                    ),
                    "/status" => ("200 OK", vec![b' '; 3 << 20]),
                    "/healthcheck" => ("500 Internal Server Error", b"<html>oops</html>".to_vec()),
                    "/config" => ("200 OK", b"{\"observability\": ".to_vec()),
                    "/periodic-threads-health" => (
                        "200 OK",
                        b"{\"healthy\":false,\"unhealthy_threads\":[{\"name\":\"\\u001b[2Jx\",\"last_run_ago\":9}]}".to_vec(),
                    ),
                    _ => ("404 Not Found", b"{}".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
            });
        }
    });
    base
}

#[tokio::test]
async fn hostile_route_bodies_are_named_and_never_reach_the_terminal_raw() {
    use kvscope::sources::lmcache_http;
    let base = hostile_routes_server().await;
    let model = Model::new(&[format!("{base}/metrics")], &[], 8);
    let mut app = App::new(model, 0.3, 60.0, Theme::mono(), None);
    let client = http::client(Duration::from_millis(800), &Default::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    tokio::spawn(lmcache_http::run(
        target,
        http::TargetUrl::metrics(&base).unwrap(),
        Duration::from_millis(100),
        Default::default(),
        client,
        tx,
    ));
    // Until every hostile route has been answered (20 s at most, for slow machines).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        app.on_event(ev);
        let http = &app.shown.analysis.lmcache.http;
        let read = |name: &str| {
            http.routes
                .iter()
                .any(|r| r.name == name && r.read_at.is_some())
        };
        if [
            "healthcheck",
            "status",
            "version",
            "config",
            "threads",
            "periodic_threads_health",
        ]
        .into_iter()
        .all(read)
        {
            break;
        }
    }
    app.on_tick(kvscope::timefmt::now());
    let http = &app.shown.analysis.lmcache.http;
    assert_eq!(http.healthy, Some(false));
    let status = http.routes.iter().find(|r| r.name == "status").unwrap();
    assert!(status.answer.contains("larger than"), "{status:?}");
    assert!(http.eviction_watermark.value().is_none());
    assert!(
        http.event_bus_queue_size.value().is_none(),
        "malformed /config is unknown"
    );
    assert_eq!(http.periodic_healthy, Some(false));
    // Fired, or held for its `for` before firing.
    assert!(app.shown.analysis.rules.iter().any(|f| {
        f.code == "periodic_threads_unhealthy"
            && matches!(
                f.state,
                kvscope::analysis::findings::State::Firing
                    | kvscope::analysis::findings::State::Pending
            )
    }));
    app.view.overlay = Some(kvscope::tui::app::Overlay::Server);
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 45)).unwrap();
    term.draw(|f| kvscope::tui::draw::draw(f, &app)).unwrap();
    let screen: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{7}'),
        "{screen:?}"
    );
    assert!(screen.contains("evil\\u{1b}[31mred"), "{screen}");
    assert!(screen.contains("0.5.6\\u{1b}]0;pwned"), "{screen}");
}
