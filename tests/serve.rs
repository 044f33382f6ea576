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

/// CPU seconds (user and system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// With its file descriptors used up by idle connections, `serve` waits between failed
/// accepts instead of spinning, and answers again once they are gone.
#[test]
fn serve_out_of_descriptors_backs_off_instead_of_spinning() {
    let demo = common::fixture("demo.kvpacket");
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -n 40 && exec \"$0\" serve \"$1\"")
        .arg(env!("CARGO_BIN_EXE_kvscope"))
        .arg(&demo);
    let s = Served::with(sh);
    let addr = s.url(0).trim_start_matches("http://").to_string();
    let idle: Vec<std::net::TcpStream> = (0..60)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(idle.len() >= 40, "{} connections", idle.len());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = cpu_seconds(s.pid());
    std::thread::sleep(std::time::Duration::from_secs(2));
    let used = cpu_seconds(s.pid()) - before;
    assert!(
        used < 0.5,
        "{used} CPU seconds in 2 s with no descriptor left"
    );
    drop(idle);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if common::get(&s.url(0), "/metrics").0 == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never answered again");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A fixed first port whose next one is taken: the taken port is the one named.
#[test]
fn a_busy_port_is_named() {
    for _ in 0..20 {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let first = probe.local_addr().unwrap().port();
        drop(probe);
        let Some(next) = first.checked_add(1) else {
            continue;
        };
        let Ok(_busy) = std::net::TcpListener::bind(("127.0.0.1", next)) else {
            continue;
        };
        let demo = common::fixture("demo.kvpacket");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
            .args([
                "serve",
                demo.to_str().unwrap(),
                "--port",
                &first.to_string(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains(&format!("127.0.0.1:{first}:")) {
            continue; // the first port was taken meanwhile: try again
        }
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("127.0.0.1:{next}")), "{err}");
        return;
    }
    panic!("no free port with a taken successor in 20 tries");
}
