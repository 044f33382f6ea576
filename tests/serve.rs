//! `kvscope serve PACKET`: the recorded endpoints on loopback, in recorded time. The first
//! line names every URL; each target answers what was recorded at the current moment;
//! `--live-timestamps` restamps recorded sample times and adds none.

mod common;

use common::Served;

#[test]
fn a_capture_folder_is_served_as_it_was_recorded() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    let s = Served::start(&["serve", capture.to_str().unwrap()]);
    assert!(
        s.first_line
            .starts_with("kvscope serve: lmcache http://127.0.0.1:"),
        "{}",
        s.first_line
    );
    assert_eq!(s.urls.len(), 1, "{}", s.first_line);
    let lm = s.url(0);
    // At 1× the second scrape is 25 s away: the first one is served, byte for byte.
    let t0 = std::fs::read(capture.join("metrics_t0.prom")).unwrap();
    assert_eq!(common::get(&lm, "/metrics"), (200, t0.clone()));
    assert_eq!(common::get(&lm, "/metrics?x=1"), (200, t0));
    // Routes read before the workload are served then; one read only after it is served
    // from the start.
    let idle = std::fs::read(capture.join("http_idle/status.json")).unwrap();
    assert_eq!(common::get(&lm, "/status"), (200, idle));
    let threads = std::fs::read(capture.join("http/threads.txt")).unwrap();
    assert_eq!(common::get(&lm, "/threads"), (200, threads));
    assert_eq!(common::get(&lm, "/cache/objects").0, 404);
    let post = "POST /cache/clear HTTP/1.1\r\n\r\n";
    assert_eq!(common::request(&lm, post).0, 405);
}

#[test]
fn targets_get_consecutive_ports_lmcache_first_and_live_timestamps_restamp() {
    let demo = common::fixture("demo.kvpacket");
    let s = Served::start(&["serve", demo.to_str().unwrap(), "--live-timestamps"]);
    let words: Vec<&str> = s.first_line.split_whitespace().collect();
    assert_eq!(
        words[..3],
        ["kvscope", "serve:", "lmcache"],
        "{}",
        s.first_line
    );
    assert_eq!(words[4], "engine", "{}", s.first_line);
    let port = |u: &str| u.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    assert_eq!(port(&s.url(1)), port(&s.url(0)) + 1);
    // The engine's recorded samples carry packet_a's capture time: now they carry now.
    let (status, body) = common::get(&s.url(1), "/metrics");
    assert_eq!(status, 200);
    let now_ms = kvscope::timefmt::now() * 1000.0;
    let scrape = kvscope::expo::parse(&body).unwrap();
    assert!(scrape.samples.len() > 400);
    for sample in &scrape.samples {
        let stamp = sample.timestamp.expect("stamped as recorded") * 1000.0;
        assert!((stamp - now_ms).abs() < 60_000.0, "{stamp} vs {now_ms}");
    }
    // LMCache's samples had no timestamps and get none.
    let (_, body) = common::get(&s.url(0), "/metrics");
    let scrape = kvscope::expo::parse(&body).unwrap();
    assert!(scrape.samples.iter().all(|x| x.timestamp.is_none()));
}

#[test]
fn a_file_that_is_not_a_packet_is_named() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["serve", "Cargo.toml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Cargo.toml"));
}
