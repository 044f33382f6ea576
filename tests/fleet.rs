//! The fleet view against a real Prometheus server (Debian's `prometheus`): it scrapes two
//! `kvscope serve --live-timestamps` copies of the bundled real recording (an LMCache server
//! and its vLLM engine each, grouped by a `box` label), and kvscope reads the fleet back
//! through the HTTP API.
//!
//! Without a `prometheus` binary on PATH (or in `KVSCOPE_PROMETHEUS`) these tests say loudly
//! that they were skipped; with `KVSCOPE_REQUIRE_PROMETHEUS=1` (set by `.ci/run`) its absence
//! fails them.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::Served;
use kvscope::cli::fleet::{FleetArgs, Reader};
use kvscope::cli::report::OutputFormat;
use kvscope::fleet::Fleet;
use kvscope::model::Model;
use kvscope::vocab::{Event, Role};
use serde_json::Value;

fn prometheus_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KVSCOPE_PROMETHEUS") {
        return Some(PathBuf::from(p));
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("prometheus"))
        .find(|p| p.is_file())
}

/// The binary, or `None` after saying loudly why the test is skipped.
fn need_prometheus(test: &str) -> Option<PathBuf> {
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
struct Prometheus {
    child: std::process::Child,
    dir: PathBuf,
    url: String,
}

impl Prometheus {
    /// Starts Prometheus on a port the OS just had free. Another process can take that port
    /// before Prometheus binds it, so the server is known to be ours only when its own flags
    /// name this test's config file; a server that could not bind exits and is started again
    /// on another port.
    fn start(bin: &PathBuf, targets: &[(&str, String, &str)]) -> Prometheus {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("kvscope-prom-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cfg =
            String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n");
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
    fn wait_for(&self, what: &str, cond: impl Fn(&Prometheus) -> bool) {
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
    fn query(&self, q: &str) -> Value {
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
fn get(base: &str, path: &str) -> (u16, Vec<u8>) {
    common::request(
        base,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Two boxes (a: the recording at 4×, b: at 2×), each an LMCache server and an engine, under a
/// real Prometheus that has scraped every target at least `scrapes` times.
struct Setup {
    _a: Served,
    _b: Served,
    prom: Prometheus,
}

fn setup(bin: &PathBuf, scrapes: u32) -> Setup {
    let packet = common::fixture("demo.kvpacket");
    let packet = packet.to_str().unwrap();
    let a = Served::start(&["serve", packet, "--live-timestamps", "--speed", "4"]);
    let b = Served::start(&["serve", packet, "--live-timestamps", "--speed", "2"]);
    let addr = |u: String| u.trim_start_matches("http://").to_string();
    let targets = [
        ("lmcache", addr(a.url(0)), "a"),
        ("vllm", addr(a.url(1)), "a"),
        ("lmcache", addr(b.url(0)), "b"),
        ("vllm", addr(b.url(1)), "b"),
    ];
    let prom = Prometheus::start(bin, &targets);
    prom.wait_for("done with the first scrapes", |p| {
        let v = p.query("count_over_time(up[5m]) and up == 1");
        let rows = v["data"]["result"].as_array().cloned().unwrap_or_default();
        rows.len() == 4
            && rows.iter().all(|r| {
                r["value"][1]
                    .as_str()
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| n >= scrapes)
            })
    });
    Setup { _a: a, _b: b, prom }
}

fn args(url: &str, group_by: &str) -> FleetArgs {
    FleetArgs {
        url: url.into(),
        matchers: String::new(),
        group_by: group_by.into(),
        window: 60.0,
        timeout: 5.0,
        samples: 1,
        interval: 1.0,
        auth: Default::default(),
        max_answer: 64 << 20,
        thresholds: Default::default(),
        series_limit: kvscope::store::DEFAULT_SERIES_LIMIT,
        format: OutputFormat::Json,
        fail_on: None,
        fail_unless: Vec::new(),
    }
}

/// A sample: its name, sorted labels and value (as bits).
type Sample = (String, Vec<(String, String)>, u64);

/// A body's samples, for comparing scrapes whatever the order of their lines. A label with
/// an empty value is no label in Prometheus's data model (`cache_salt=""` comes back without
/// it), so it is left out here too.
fn samples(body: &[u8]) -> BTreeSet<Sample> {
    let scrape = kvscope::expo::parse(body).unwrap();
    scrape
        .data_samples()
        .map(|s| {
            let mut labels: Vec<(String, String)> = scrape
                .labels(s)
                .iter()
                .map(|l| (l.name.to_string(), l.value().into_owned()))
                .filter(|(_, v)| !v.is_empty())
                .collect();
            labels.sort();
            (s.name.to_string(), labels, s.value.to_bits())
        })
        .collect()
}

/// `kvscope report --prometheus ARGS…`, which must exit 0: its JSON.
fn report(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--prometheus"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Where two JSON values differ: (path, one, other).
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                differences(
                    &format!("{path}.{k}"),
                    &x[k],
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Discovery, grouping, and the numbers: every scrape kvscope rebuilt from Prometheus's raw
/// samples is one of the recorded scrapes, and each instance's figures, findings and rule
/// verdicts equal the single-box analysis of those recorded scrapes, fed in at the times
/// Prometheus took them.
#[test]
fn a_real_prometheus_fleet_reads_with_the_numbers_of_the_recordings() {
    let Some(bin) =
        need_prometheus("a_real_prometheus_fleet_reads_with_the_numbers_of_the_recordings")
    else {
        return;
    };
    let s = setup(&bin, 4);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let a = args(&s.prom.url, "box");
    let mut reader = Reader::new(&a).unwrap();
    let mut fleet = Fleet::new("box", a.window);
    let (refresh, events) = rt.block_on(reader.refresh(&mut fleet)).unwrap();
    assert!(refresh.queries <= 12, "{} queries", refresh.queries);

    // Discovery and grouping: two boxes, each a server and its engine.
    let names: Vec<&str> = fleet.instances().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    for i in fleet.instances() {
        let roles: BTreeSet<(Role, &str)> = i
            .members
            .iter()
            .map(|m| (m.target.role, m.key.job.as_str()))
            .collect();
        assert_eq!(
            roles,
            BTreeSet::from([(Role::Lmcache, "lmcache"), (Role::Engine, "vllm")])
        );
    }

    let (lm_bodies, engine_body) = kvscope::demo::recorded_bodies();
    let recorded: Vec<(Role, &Vec<u8>, BTreeSet<_>)> = lm_bodies
        .iter()
        .map(|b| (Role::Lmcache, b, samples(b)))
        .chain(std::iter::once((
            Role::Engine,
            &engine_body,
            samples(&engine_body),
        )))
        .collect();
    for inst in fleet.instances() {
        let mut direct = Model::new(&[], &[], 2);
        let mut scrapes = 0;
        for m in &inst.members {
            let held = inst.model.target(m.target).scrapes().len();
            direct.add_target(
                m.target.role,
                inst.model.target(m.target).name.clone(),
                held.max(2),
                kvscope::vocab::InputKind::Files,
            );
        }
        for (_, e) in events.iter().filter(|(g, _)| *g == inst.name) {
            let Event::Scrape {
                target, time, body, ..
            } = e
            else {
                continue;
            };
            let got = samples(body);
            let (_, original, _) = recorded
                .iter()
                .find(|(r, _, set)| *r == target.role && *set == got)
                .unwrap_or_else(|| {
                    let nearest = recorded
                        .iter()
                        .filter(|(r, _, _)| *r == target.role)
                        .map(|(_, _, set)| set)
                        .min_by_key(|set| set.symmetric_difference(&got).count())
                        .unwrap();
                    let only_got: Vec<_> = got.difference(nearest).take(5).collect();
                    let only_rec: Vec<_> = nearest.difference(&got).take(5).collect();
                    panic!(
                        "box {}: a scrape at {time:?} rebuilt from Prometheus is none of the recorded ones; \
                         nearest differs by {only_got:?} (rebuilt) and {only_rec:?} (recorded)",
                        inst.name
                    )
                });
            scrapes += 1;
            direct
                .apply(Event::Scrape {
                    target: *target,
                    time: *time,
                    body: (*original).clone(),
                    format: None,
                    origin: "recorded".into(),
                })
                .unwrap();
        }
        assert!(
            scrapes >= 8,
            "box {}: {scrapes} scrapes read back",
            inst.name
        );
        direct.now = inst.model.now;
        direct.interval = inst.model.interval;
        let clean = |mut v: Value| {
            // Prometheus keeps no line order, so "the first series seen" may be another one.
            for e in v["mode"]["evidence"].as_array_mut().unwrap() {
                let d = e["detail"]
                    .as_str()
                    .unwrap()
                    .split(" (e.g.")
                    .next()
                    .unwrap();
                e["detail"] = d.to_string().into();
            }
            v
        };
        let from_fleet = clean(kvscope::report::build(&inst.model, a.window));
        let from_recording = clean(kvscope::report::build(&direct, a.window));
        for part in [
            "mode",
            "lmcache",
            "engine",
            "lmcache_embedded",
            "findings",
            "rules",
        ] {
            let mut diffs = Vec::new();
            differences(part, &from_fleet[part], &from_recording[part], &mut diffs);
            assert!(
                diffs.is_empty(),
                "box {}: {part} differs from the recording's own analysis at {diffs:#?}",
                inst.name
            );
        }
        assert_eq!(from_fleet["mode"]["architecture"], "vllm_mp_lmcache");
    }

    // The drill-down: the instance opened from the table reads the same server for its own
    // targets only, into a single-box model that judges like the fleet's.
    let picture = kvscope::tui::fleet::FleetPicture::of(&fleet, refresh, 0.0);
    let row = picture.rows.iter().find(|r| r.name == "b").unwrap();
    let opened = rt
        .block_on(kvscope::cli::fleet::open_instance(&a, row, 1.0))
        .unwrap();
    assert!(opened.note.contains("fleet instance b"), "{}", opened.note);
    let names: Vec<&str> = opened
        .model
        .targets()
        .map(|(_, t)| t.name.as_str())
        .collect();
    let expected: Vec<String> = row
        .targets
        .iter()
        .map(|(_, j, i)| format!("{j}/{i}"))
        .collect();
    assert_eq!(names, expected);
    let mut dashboard = opened.model;
    let one = opened.fleet.instance("b").unwrap();
    dashboard.now = one.model.now;
    dashboard.interval = one.model.interval;
    let from_dashboard = kvscope::report::build(&dashboard, a.window);
    let from_one = kvscope::report::build(&one.model, a.window);
    assert!(dashboard.lmcache[0].scrapes().len() >= 4);
    // Only the instance's own targets were read.
    let read: Vec<&str> = opened.fleet.instances().map(|i| i.name.as_str()).collect();
    assert_eq!(read, ["b"]);
    for part in ["mode", "lmcache", "engine", "findings", "rules"] {
        assert_eq!(
            from_dashboard[part], from_one[part],
            "the dashboard's {part}"
        );
    }
    assert_eq!(from_dashboard["mode"]["architecture"], "vllm_mp_lmcache");

    // The headless report: its schema, the same instances, and --fail-on.
    let r = report(&[&s.prom.url, "--group-by", "box"]);
    assert_eq!(r["schema"], "kvscope-fleet-report/1");
    assert_eq!(r["summary"]["instances"], 2);
    let inst = r["instances"].as_array().unwrap();
    assert_eq!(inst[0]["instance"], "a");
    assert!(inst[0]["rules"].as_array().unwrap().len() > 40);
    assert!(r["refresh"]["queries"].as_u64().unwrap() <= 12);
    let any_info = inst
        .iter()
        .any(|i| i["findings"].as_array().is_some_and(|f| !f.is_empty()));
    let gated = std::process::Command::new(env!("CARGO_BIN_EXE_kvscope"))
        .args(["report", "--prometheus", &s.prom.url, "--fail-on", "info"])
        .output()
        .unwrap();
    assert_eq!(gated.status.code(), Some(if any_info { 1 } else { 0 }));
}

/// `/federate` read as a multi-instance scrape: the same targets, grouped the same way.
#[test]
fn a_federate_endpoint_reads_as_the_same_fleet() {
    let Some(bin) = need_prometheus("a_federate_endpoint_reads_as_the_same_fleet") else {
        return;
    };
    let s = setup(&bin, 2);
    let url = format!(
        "{}/federate?match[]={}",
        s.prom.url,
        encode("{__name__=~\"lmcache_mp_.+|vllm:.+|process_start_time_seconds\"}")
    );
    let r = report(&[
        &url,
        "--group-by",
        "box",
        "--samples",
        "3",
        "--interval",
        "1100ms",
    ]);
    let inst = r["instances"].as_array().unwrap();
    let names: Vec<&str> = inst
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    for i in inst {
        assert_eq!(i["architecture"]["architecture"], "vllm_mp_lmcache");
        assert_eq!(i["targets"].as_array().unwrap().len(), 2);
        // Three polls a second apart: the server's history holds more than one scrape.
        let held = i["targets"][0]["scrapes_held"].as_u64().unwrap();
        assert!(held >= 2, "{held} scrapes held");
    }
}
