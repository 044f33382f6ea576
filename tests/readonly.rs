//! A whole live session against the demo's recording server sends only allowlisted GETs, and
//! what the LMCache routes say reaches the screen.

use std::sync::Arc;
use std::time::Duration;

use kvscope::demo;
use kvscope::model::Model;
use kvscope::packet::{Opened, Recording};
use kvscope::serve::{self, Server};
use kvscope::sources::{collector, http, lmcache_http};
use kvscope::tui::{App, theme::Theme};
use kvscope::vocab::{Role, TargetRef};
use tokio::sync::mpsc;

/// The demo's bundled packet with the real capture's `/env` answer added (scrubbed by the
/// capture tool; a packet never carries one), so `--allow-env` has something to read.
fn with_env() -> Opened {
    let bundled = demo::packet();
    let (mut events, _) = bundled.events();
    let first = events.iter().find_map(|e| e.time()).unwrap();
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/lmcache-0.5.6-cpu-run1/http/env.txt"),
    )
    .unwrap();
    events.insert(
        1,
        kvscope::vocab::Event::Route {
            target: TargetRef {
                role: Role::Lmcache,
                index: 0,
            },
            route: kvscope::vocab::Route::Env,
            flavor: kvscope::vocab::Flavor::Current,
            time: first,
            result: Ok((200, body)),
        },
    );
    let tar = Recording {
        targets: bundled.manifest.targets.clone(),
        events: &events,
        report_json: "{}".into(),
        created: first,
        redactions: vec![],
        attachments: vec![],
        interval: None,
    }
    .to_tar()
    .unwrap();
    kvscope::packet::from_tar(&tar).unwrap()
}

/// Runs collectors and the route poller against the demo servers until every route has been
/// read and the LMCache target scraped three times (20 s at most, a bound for slow machines); returns
/// what the servers received and the app that saw it all.
async fn session(options: lmcache_http::RouteOptions) -> (Vec<String>, App, Recorder) {
    let server = Arc::new(
        Server::new(
            with_env().timeline(),
            demo::packet().manifest.targets,
            20.0,
            false,
        )
        .unwrap()
        .keeping_requests(),
    );
    let listeners = serve::bind(0, 2).await.unwrap();
    let url = |i: usize| format!("http://{}/metrics", listeners[i].local_addr().unwrap());
    let (lm_url, en_url) = (url(0), url(1));
    for (index, l) in listeners.into_iter().enumerate() {
        tokio::spawn(serve::serve(l, server.clone(), index));
    }
    let model = Model::new(
        std::slice::from_ref(&lm_url),
        std::slice::from_ref(&en_url),
        64,
    );
    let mut app = App::new(model, 0.3, 60.0, Theme::mono(), None);
    let client = http::client(Duration::from_secs(2), &Default::default()).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let every = Duration::from_millis(100);
    for (role, url) in [(Role::Lmcache, &lm_url), (Role::Engine, &en_url)] {
        let target = TargetRef { role, index: 0 };
        tokio::spawn(collector::run(
            collector::Poll {
                target,
                url: http::TargetUrl::metrics(url).unwrap(),
                interval: every,
                limit: 1 << 24,
            },
            client.clone(),
            tx.clone(),
        ));
    }
    let target = TargetRef {
        role: Role::Lmcache,
        index: 0,
    };
    tokio::spawn(lmcache_http::run(
        target,
        http::TargetUrl::metrics(&lm_url).unwrap(),
        every,
        options,
        client.clone(),
        tx.clone(),
    ));
    drop(tx);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let routes = if options.allow_env { 7 } else { 6 };
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        app.on_event(ev);
        let model = app.model().unwrap();
        // The engine replays one snapshot, stored once; the LMCache side moves.
        let scraped = model.lmcache[0].scrapes().len() >= 3 && model.engine[0].newest().is_some();
        let read = app
            .shown
            .analysis
            .lmcache
            .http
            .routes
            .iter()
            .filter(|r| r.read_at.is_some() && r.ok)
            .count();
        if scraped && read >= routes {
            break;
        }
    }
    let seen = server.requests();
    (
        seen,
        app,
        Recorder {
            server,
            url: lm_url,
        },
    )
}

/// The recording server of a session, for requests sent to it afterwards.
struct Recorder {
    server: Arc<Server>,
    url: String,
}

impl Recorder {
    /// Sends `request_line` raw and returns what the server recorded for it.
    async fn record(&self, request_line: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/metrics");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("{request_line} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        self.server.requests().last().cloned().unwrap_or_default()
    }
}

/// The routes kvscope never sends that a request line is one of: [`NEVER_SENT`] as patterns, a
/// `{…}` or `...` standing for anything from there on.
fn never_sent(line: &str) -> Option<&'static str> {
    kvscope::vocab::NEVER_SENT.iter().copied().find(|n| {
        let stem = n.split('{').next().unwrap_or(n).trim_end_matches("...");
        line.starts_with(stem)
    })
}

#[tokio::test]
async fn a_session_sends_only_allowlisted_gets() {
    let (seen, app, recorder) = session(Default::default()).await;

    let allowed = [
        "GET /metrics",
        "GET /openapi.json",
        "GET /version",
        "GET /config",
        "GET /healthcheck",
        "GET /status",
        "GET /periodic-threads-health",
        "GET /threads",
    ];
    assert!(seen.len() > 10, "{seen:?}");
    for r in &seen {
        assert!(allowed.contains(&r.as_str()), "sent {r:?}");
    }
    for r in &seen {
        assert_eq!(never_sent(r), None, "sent {r:?}");
    }
    // The check can fail: the same server records such requests, and the patterns see them.
    for line in [
        "POST /cache/clear",
        "PUT /quota/tenant-7",
        "GET /loglevel?level=DEBUG",
        "POST /reconfigure/fs_l2",
        "DELETE /cache/objects",
    ] {
        let recorded = recorder.record(line).await;
        assert_eq!(recorded, line);
        assert!(never_sent(&recorded).is_some(), "{recorded}");
    }
    assert_eq!(never_sent("GET /metrics"), None);
    let http = &app.shown.analysis.lmcache.http;
    assert_eq!(http.version.as_deref(), Some("0.5.6-g3e11e108"));
    assert_eq!(http.healthy, Some(true));
    assert_eq!(http.eviction_watermark.value(), Some(0.8));
    assert_eq!(http.event_bus_queue_size.value(), Some(10000.0));
    assert_eq!(http.periodic_healthy, Some(true));
    assert!(
        http.threads.iter().any(|t| t == "EventBus"),
        "{:?}",
        http.threads
    );
    // /env is not read without --allow-env, and the screen's route list says so.
    assert!(!seen.iter().any(|r| r.starts_with("GET /env")));
    let env = http.routes.iter().find(|r| r.name == "env").unwrap();
    assert!(env.answer.contains("--allow-env"), "{env:?}");
    assert!(http.env.is_empty());
}

#[tokio::test]
async fn allow_env_reads_env_once_and_redacts_it() {
    let (seen, app, _) = session(lmcache_http::RouteOptions { allow_env: true }).await;
    assert_eq!(
        seen.iter().filter(|r| *r == "GET /env").count(),
        1,
        "{seen:?}"
    );
    let env = &app.shown.analysis.lmcache.http.env;
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("LMCACHE_TRACK_USAGE"), Some("false"));
    assert_eq!(get("HOME"), Some("<redacted>"));
    assert_eq!(get("PATH"), Some("<redacted>"));
}
