//! Fault injection against loopback servers: the live collectors and the app must survive
//! refused connections, error statuses, silence, trickles, truncation, huge and HTML bodies,
//! and one sick target must not affect another.

use std::time::Duration;

use kvscope::model::{Model, Role, TargetRef, TargetState};
use kvscope::sources::collector::{self, Poll};
use kvscope::sources::http;
use kvscope::tui::{App, theme::Theme};
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

/// Runs one collector per URL for a while and returns the app that consumed their events.
async fn watch(urls: Vec<String>, run_for: Duration) -> App {
    let model = Model::new(&urls, &[], 16);
    let mut app = App::new(model, 0.5, 60.0, Theme::mono(), None);
    let client = http::client(Duration::from_millis(400), &Default::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    for (index, url) in urls.iter().enumerate() {
        let poll = Poll {
            target: TargetRef {
                role: Role::Lmcache,
                index,
            },
            url: url.clone(),
            interval: Duration::from_millis(500),
            limit: 1 << 20,
        };
        tokio::spawn(collector::run(poll, client.clone(), tx.clone()));
    }
    drop(tx);
    let deadline = tokio::time::Instant::now() + run_for;
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        app.on_event(ev);
    }
    app.on_tick(kvscope::timefmt::now());
    app
}

fn state(app: &App, index: usize) -> (TargetState, String) {
    let t = TargetRef {
        role: Role::Lmcache,
        index,
    };
    let h = app.model.health(t);
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
    let app = watch(urls, Duration::from_millis(2500)).await;
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
    for (i, want) in expect.iter().enumerate() {
        let (st, why) = state(&app, i);
        if i == 0 {
            assert_eq!(st, TargetState::Up, "healthy target: {why}");
            assert_eq!(app.model.lmcache[0].newest().unwrap().samples, 224);
        } else {
            assert_eq!(st, TargetState::Down, "target {i}");
            assert!(why.contains(want), "target {i}: {why:?} lacks {want:?}");
        }
    }
    // The healthy target's numbers are there, unaffected by its sick neighbours.
    assert_eq!(
        app.shown.lmcache.lookup.hit_tokens.since_start.value(),
        Some(27136.0)
    );
}
