//! A real Prometheus server for tests (Debian's `prometheus`), on a free loopback port.
//!
//! Without a `prometheus` binary on PATH (or in `KVSCOPE_PROMETHEUS`) a test says loudly that it
//! was skipped; with `KVSCOPE_REQUIRE_PROMETHEUS=1` (set by `.ci/run`) its absence fails it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn prometheus_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KVSCOPE_PROMETHEUS") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

/// The binary, or `None` after saying loudly why the test is skipped.
pub fn need_prometheus(test: &str) -> Option<PathBuf> {
    let found = prometheus_binary();
    if found.is_none() {
        if std::env::var("KVSCOPE_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1") {
            panic!("{test}: KVSCOPE_REQUIRE_PROMETHEUS=1 but no prometheus binary on PATH");
        }
        // Straight to the process's stderr: the test harness hides a passing test's eprintln.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: no `prometheus` on PATH. Install it (Debian/Ubuntu: \
             `sudo apt-get install -y prometheus`) or set KVSCOPE_PROMETHEUS=/path/to/prometheus. ***\n"
        );
    }
    found
}

/// A Prometheus server on a free loopback port scraping `targets` (job, address, box) every
/// second; stopped and its data removed when dropped.
pub struct Prometheus {
    pub child: std::process::Child,
    pub dir: PathBuf,
    pub url: String,
}

impl Prometheus {
    /// Starts Prometheus on a port the OS just had free. Another process can take that port
    /// before Prometheus binds it, so the server is known to be ours only when its own flags
    /// name this test's config file; a server that could not bind exits and is started again
    /// on another port.
    pub fn start(bin: &PathBuf, targets: &[(&str, String, &str)]) -> Prometheus {
        Prometheus::start_with(bin, targets, None)
    }

    /// [`Prometheus::start`] evaluating `rules` (a rule file's text) every second.
    pub fn start_with(
        bin: &PathBuf,
        targets: &[(&str, String, &str)],
        rules: Option<&str>,
    ) -> Prometheus {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kvscope-prom-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cfg = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n",
        );
        if let Some(rules) = rules {
            std::fs::write(dir.join("kvscope-rules.yml"), rules).unwrap();
            cfg.push_str(&format!(
                "rule_files: ['{}']\n",
                dir.join("kvscope-rules.yml").display()
            ));
        }
        cfg.push_str("scrape_configs:\n");
        for job in ["lmcache", "vllm"] {
            cfg.push_str(&format!("  - job_name: {job}\n    static_configs:\n"));
            for (_, addr, b) in targets.iter().filter(|t| t.0 == job) {
                cfg.push_str(&format!(
                    "      - targets: ['{addr}']\n        labels: {{box: {b}}}\n"
                ));
            }
        }
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, cfg).unwrap();
        for _attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
            let mut child = std::process::Command::new(bin)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("prometheus starts");
            let url = format!("http://127.0.0.1:{port}");
            // Ours and ready, or ended (it could not bind): then another port.
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                let flags = std::panic::catch_unwind(|| get(&url, "/api/v1/status/flags"));
                let ours = flags.is_ok_and(|f| {
                    String::from_utf8_lossy(&f.1).contains(&*config.to_string_lossy())
                });
                if ours && get(&url, "/-/ready").0 == 200 {
                    return Prometheus { child, dir, url };
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
        panic!("prometheus did not start on a free port in five attempts; its last log:\n{log}");
    }

    /// Waits (up to 60 s) for `cond`, failing with the server's log if it never holds.
    pub fn wait_for(&self, what: &str, cond: impl Fn(&Prometheus) -> bool) {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cond(self)))
                .unwrap_or(false)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        panic!("prometheus never became {what}; its log:\n{log}");
    }

    /// The API's answer to an instant query.
    pub fn query(&self, q: &str) -> Value {
        let path = format!("/api/v1/query?query={}", encode(q));
        serde_json::from_slice(&get(&self.url, &path).1).unwrap()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `GET path` (Prometheus keeps connections open unless told otherwise).
pub fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    super::request(
        base,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
