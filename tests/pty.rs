//! The real binary in a pseudo-terminal against `kvscope demo --serve-only`: it draws, `?` shows
//! help, `q` exits, and the terminal is restored (alternate screen left, cursor shown).
//! Output is drained on its own thread into a terminal emulator, so what is checked is the
//! screen a person would see, not the byte stream (which only carries changed cells, in pieces).
//! Waits end when the screen shows what is awaited; their bounds are generous for slow CI.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// What the session has printed: the bytes, and the screen they draw.
struct Term {
    bytes: Vec<u8>,
    screen: vt100::Parser,
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).unwrap()
}

/// Waits until the emulated screen satisfies `ok`.
fn wait_screen(term: &Arc<Mutex<Term>>, timeout: Duration, ok: impl Fn(&str) -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if ok(&term.lock().unwrap().screen.screen().contents()) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Waits until the session has printed `needle` (the reader thread may still be draining the
/// PTY when the process has already exited).
fn wait_bytes(term: &Arc<Mutex<Term>>, timeout: Duration, needle: &[u8]) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if term
            .lock()
            .unwrap()
            .bytes
            .windows(needle.len())
            .any(|w| w == needle)
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// How a session is ended.
enum End<'a> {
    /// These bytes typed (a quit key).
    Keys(&'a [u8]),
    /// This signal sent (name for `kill -`, number).
    Signal(&'a str, i32),
}

#[test]
fn watch_draws_helps_quits_and_restores_the_terminal() {
    session(&[], End::Keys(b"q"));
}

/// `--mouse`: a click on the first finding selects it (Enter then opens its evidence, not a
/// family's), and the terminal gets its mouse back when kvscope ends.
#[test]
fn with_mouse_a_click_selects_a_finding() {
    session_with(&["--mouse"], End::Keys(b"q"), &|term, w| {
        let long = Duration::from_secs(30);
        let row = std::sync::atomic::AtomicUsize::new(0);
        assert!(wait_screen(term, long, |s| {
            let found = s.lines().position(|l| l.starts_with("┌ Findings"));
            found.inspect(|&i| row.store(i, std::sync::atomic::Ordering::Relaxed));
            found.is_some()
        }));
        // The row under the pane's top border; SGR mouse reports count from 1.
        let y = row.load(std::sync::atomic::Ordering::Relaxed) + 2;
        let before = term.lock().unwrap().bytes.len();
        write!(w, "\x1b[<0;10;{y}M\x1b[<0;10;{y}m").unwrap();
        w.flush().unwrap();
        // The click is answered with a frame (the finding selected, the pane focused).
        let start = Instant::now();
        while term.lock().unwrap().bytes.len() == before && start.elapsed() < long {
            std::thread::sleep(Duration::from_millis(10));
        }
        w.write_all(b"\r").unwrap();
        w.flush().unwrap();
        assert!(
            wait_screen(term, long, |s| s.contains("why: ") && s.contains("next: ")),
            "Enter opened the clicked finding"
        );
        w.write_all(b"\x1b").unwrap();
        w.flush().unwrap();
        // Closed before the quit key is typed, so Esc and q are not read as one Alt-q.
        assert!(wait_screen(term, long, |s| !s.contains("why: ")));
    });
}

/// A dropped SSH session sends SIGHUP: kvscope must exit, restore the terminal and log that it
/// stopped. (The terminal itself cannot be hung up here: the reader thread holds the PTY open.
/// That case — tmux kill-session — was checked by hand: it exits and logs.)
#[test]
fn sighup_ends_the_session_cleanly() {
    session(&[], End::Signal("HUP", 1));
}

/// `kill -INT` (not the Ctrl-C key, which raw mode turns into a key press).
#[test]
fn sigint_restores_the_terminal() {
    session(&[], End::Signal("INT", 2));
}

#[test]
fn sigterm_restores_the_terminal() {
    session(&[], End::Signal("TERM", 15));
}

#[test]
fn sigquit_restores_the_terminal() {
    session(&[], End::Signal("QUIT", 3));
}

/// Whether the terminal is in canonical (cooked) mode with echo, as a shell needs it: what
/// `stty` says of the PTY.
fn cooked(tty: &std::path::Path) -> bool {
    let out = Command::new("stty")
        .arg("-a")
        .arg("-F")
        .arg(tty)
        .output()
        .expect("stty runs");
    let modes = String::from_utf8_lossy(&out.stdout);
    let has = |flag: &str| modes.split_whitespace().any(|w| w == flag);
    has("icanon") && has("echo")
}

#[test]
fn keys_rebound_in_the_config_file_work() {
    let dir = std::env::temp_dir().join(format!("kvscope-pty-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(&cfg, "theme = \"high-contrast\"\n[keys]\nquit = [\"x\"]\n").unwrap();
    session(&["--config", cfg.to_str().unwrap()], End::Keys(b"x"));
}

/// A kvscope process in a 120×40 pseudo-terminal, its output drained into an emulator.
struct Session {
    pty: portable_pty::PtyPair,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    term: Arc<Mutex<Term>>,
    /// Its XDG state directory (where the default log goes).
    state: std::path::PathBuf,
}

impl Session {
    /// Starts `kvscope ARGS…` with no config file of the machine's user and a state
    /// directory of its own.
    fn start(args: &[&str]) -> Session {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kvscope"));
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("kvscope-pty-no-config"),
        );
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state =
            std::env::temp_dir().join(format!("kvscope-pty-state-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&state);
        cmd.env("XDG_STATE_HOME", &state);
        let child = pty.slave.spawn_command(cmd).unwrap();
        let term = Arc::new(Mutex::new(Term {
            bytes: Vec::new(),
            screen: vt100::Parser::new(nz(40), nz(120), 0),
        }));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let sink = term.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut t = sink.lock().unwrap();
                t.bytes.extend_from_slice(&chunk[..n]);
                t.screen.process(&chunk[..n]);
            }
        });
        Session {
            pty,
            child,
            term,
            state,
        }
    }

    /// Waits for the process to end; its exit code.
    fn exit_code(&mut self, timeout: Duration) -> u32 {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.exit_code();
            }
            assert!(start.elapsed() < timeout, "kvscope did not end");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `watch` against the demo servers in a PTY, asks for help, then ends it as `end` says
/// and checks the terminal is as it was: cooked mode, primary screen, cursor shown.
fn session(extra: &[&str], end: End) {
    session_with(extra, end, &|_, _| {});
}

/// Something a test does in a running session, once it shows live data.
type During<'a> = &'a dyn Fn(&Arc<Mutex<Term>>, &mut dyn Write);

/// [`session`], doing `during` once the session shows live data.
fn session_with(extra: &[&str], end: End, during: During) {
    let demo = common::DemoServers::start();
    let urls = [demo.lmcache.clone(), demo.engine.clone()];

    let mut argv = vec![
        "watch",
        "--lmcache",
        &urls[0],
        "--engine",
        &urls[1],
        "--interval",
        "100ms",
    ];
    argv.extend(extra);
    let Session {
        pty,
        mut child,
        term,
        state,
    } = Session::start(&argv);
    let out = |needle: &[u8]| {
        let t = term.lock().unwrap();
        t.bytes.windows(needle.len()).any(|w| w == needle)
    };
    let mut writer = pty.master.take_writer().unwrap();
    let long = Duration::from_secs(30);

    assert!(
        wait_screen(&term, long, |s| s.contains("Families")),
        "drew the panes"
    );
    assert!(out(b"\x1b[?1049h"), "entered the alternate screen");
    assert!(
        wait_screen(&term, long, |s| s.contains("vllm_mp_lmcache")),
        "detected the architecture from live data"
    );
    during(&term, &mut writer);
    writer.write_all(b"?").unwrap();
    writer.flush().unwrap();
    assert!(
        wait_screen(&term, long, |s| s.contains("freeze the view")),
        "? shows the help overlay"
    );
    let tty = pty.master.tty_name().expect("the PTY has a name");
    assert!(!cooked(&tty), "kvscope runs the terminal raw");
    let expected = match end {
        End::Keys(keys) => {
            // Grown while running: what it drew at the larger size must not stay behind.
            term.lock().unwrap().screen.set_size(nz(100), nz(300));
            pty.master
                .resize(PtySize {
                    rows: 100,
                    cols: 300,
                    pixel_width: 0,
                    pixel_height: 0,
                })
                .unwrap();
            assert!(
                wait_screen(&term, long, |s| s
                    .lines()
                    .nth(90)
                    .is_some_and(|l| !l.is_empty())),
                "redrew at the new size"
            );
            writer.write_all(keys).unwrap();
            writer.flush().unwrap();
            0
        }
        End::Signal(name, n) => {
            let pid = child.process_id().expect("a pid").to_string();
            let sent = Command::new("kill")
                .args([&format!("-{name}"), &pid])
                .status()
                .unwrap();
            assert!(sent.success());
            128 + n
        }
    };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(start.elapsed() < long, "kvscope did not end");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.exit_code(), expected as u32, "{status:?}");
    assert!(
        wait_bytes(&term, long, b"\x1b[?1049l"),
        "left the alternate screen"
    );
    assert!(
        wait_bytes(&term, long, b"\x1b[?25h"),
        "showed the cursor again"
    );
    assert!(
        wait_screen(&term, long, |s| !s.contains("Families")),
        "the primary screen shows nothing of kvscope"
    );
    assert!(
        cooked(&tty),
        "the terminal is back in cooked mode with echo"
    );
    // The mouse is read only when asked for, and given back at the end.
    let mouse = extra.contains(&"--mouse");
    assert_eq!(
        out(b"\x1b[?1000h"),
        mouse,
        "mouse reporting on only with --mouse"
    );
    if mouse {
        assert!(out(b"\x1b[?1000l"), "mouse reporting off again at the end");
    }
    // The alternate screen was cleared just before it was left, so a terminal that copies
    // its rows back (tmux after a resize) shows nothing of kvscope.
    {
        let t = term.lock().unwrap();
        let bytes = &t.bytes;
        let leave = bytes
            .windows(8)
            .rposition(|w| w == b"\x1b[?1049l")
            .expect("left the alternate screen");
        let tail = &bytes[leave.saturating_sub(16)..leave];
        assert!(
            tail.windows(4).any(|w| w == b"\x1b[2J"),
            "{:?}",
            String::from_utf8_lossy(tail)
        );
    }
    let log = std::fs::read_to_string(state.join("kvscope").join("kvscope.log")).unwrap();
    if let End::Signal(name, _) = end {
        assert!(
            log.contains(&format!("kvscope stopped by SIG{name}")),
            "{log}"
        );
    }
    // Logs went to the file, not the screen.
    assert!(
        log.contains("watch started") && log.contains("kvscope stopped"),
        "{log}"
    );
    assert!(log.contains("/env: skipped"), "{log}");
    let screen = String::from_utf8_lossy(&term.lock().unwrap().bytes).into_owned();
    assert!(!screen.contains("watch started"));
}

/// `e` writes an evidence packet of what the session saw, in the background, says where, and
/// the session goes on (it quits normally). A directory that cannot be written is tested on the
/// worker itself (`session::worker`).
#[test]
fn e_exports_a_packet_in_the_background() {
    let dir = std::env::temp_dir().join(format!("kvscope-pty-export-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let press_e = |term: &Arc<Mutex<Term>>, w: &mut dyn Write| {
        w.write_all(b"e").unwrap();
        w.flush().unwrap();
        assert!(
            wait_screen(term, Duration::from_secs(30), |s| s
                .contains("export: wrote")),
            "the screen says where the packet went"
        );
    };
    session_with(
        &["--export-dir", dir.to_str().unwrap()],
        End::Keys(b"q"),
        &press_e,
    );
    let written: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].to_string_lossy().ends_with(".kvpacket"));
    let p = kvscope::packet::open(&written[0]).unwrap();
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let (events, _) = p.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, kvscope::vocab::Event::Scrape { .. }))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `replay` of the real capture: it starts playing on the packet's clock, space pauses, `.`
/// steps one capture, `G` goes to the end, `g` back to the start (rebuilding the model), `p`
/// plays like space, and `q` exits 0 with the terminal restored. No network is involved.
#[test]
fn replay_plays_steps_and_quits() {
    let capture = common::fixture("lmcache-0.5.6-cpu-run1");
    // What the screen must count: every event, those at the first moment (the first scrape
    // and the route answers read with it), and one more for the next scrape.
    let timeline = kvscope::cli::packet::evidence(&capture)
        .unwrap()
        .opened
        .timeline();
    let total = timeline.len();
    let first = timeline.peek(0).and_then(|e| e.time()).unwrap();
    let at_first = (0..total)
        .filter(|&i| timeline.peek(i).and_then(|e| e.time()) == Some(first))
        .count();
    let mut s = Session::start(&["replay", capture.to_str().unwrap()]);
    let mut w = s.pty.master.take_writer().unwrap();
    let long = Duration::from_secs(30);
    let mut press = |keys: &[u8], shows: &str| {
        w.write_all(keys).unwrap();
        w.flush().unwrap();
        assert!(
            wait_screen(&s.term, long, |screen| screen.contains(shows)),
            "after {:?}: {shows}\n{}",
            String::from_utf8_lossy(keys),
            s.term.lock().unwrap().screen.screen().contents()
        );
    };
    assert!(
        wait_screen(&s.term, long, |screen| screen.contains("▶ playing 1×")
            && screen.contains("lmcache_mp_server")),
        "plays from the start"
    );
    press(b" ", "⏸ paused (1×)");
    press(b"G", &format!("{total}/{total} events"));
    press(b"", "■ at the end");
    // The windowed hit rate and the L1 / L2 split of the capture's end (its last minute's
    // hits all came from L1).
    press(b"", "100.0% in window (L1 100.0% / L2 0.0%)");
    press(b"g", &format!(" {at_first}/{total} events"));
    press(b".", &format!(" {}/{total} events", at_first + 1));
    press(b"+", "⏸ paused (10×)");
    press(b"p", "▶ playing 10×");
    press(b"q", "");
    assert_eq!(s.exit_code(long), 0);
    assert!(
        wait_bytes(&s.term, long, b"\x1b[?1049l"),
        "left the alternate screen"
    );
    let _ = std::fs::remove_dir_all(&s.state);
}

/// Hand-made (the hostile corpus's builder): the demo packet with an event for engine-7, which
/// its manifest does not list, in the middle. The replay skips it and says so; going to the
/// end and quitting work as ever (this used to panic the session and leave `q` dead).
#[test]
fn replay_of_a_packet_with_an_unlisted_target_goes_to_the_end_and_quits() {
    let mut p = corpus::Pkt::demo();
    let mut lines = p.lines();
    let mut v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    v["event"]["target"]["index"] = 7.into();
    lines.insert(3, v.to_string());
    p.set_lines(&lines);
    p.rehash();
    let dir = std::env::temp_dir().join(format!("kvscope-pty-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("p.kvpacket");
    p.write_tar(&file);
    let mut s = Session::start(&["replay", file.to_str().unwrap()]);
    let mut w = s.pty.master.take_writer().unwrap();
    let long = Duration::from_secs(30);
    assert!(
        wait_screen(&s.term, long, |screen| screen.contains("▶ playing 1×")),
        "plays"
    );
    w.write_all(b"G").unwrap();
    w.flush().unwrap();
    assert!(
        wait_screen(&s.term, long, |screen| screen.contains("■ at the end")),
        "{}",
        s.term.lock().unwrap().screen.screen().contents()
    );
    w.write_all(b"q").unwrap();
    w.flush().unwrap();
    assert_eq!(s.exit_code(long), 0);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&s.state);
}

#[path = "hostile/corpus.rs"]
mod corpus;

/// `report` without `--format` writes text for a person at a terminal (a pipe gets JSON, as the
/// other tests read it).
#[test]
fn report_on_a_terminal_is_text() {
    let index = common::fixture("lmcache-0.5.6-cpu-run1/metrics_index.tsv");
    let mut s = Session::start(&["report", "--lmcache", index.to_str().unwrap()]);
    assert_eq!(s.exit_code(Duration::from_secs(30)), 0);
    // The reader thread may still be taking the last bytes in.
    let prefix = b"KV cache: WORKING";
    wait_bytes(&s.term, Duration::from_secs(30), prefix);
    let bytes = s.term.lock().unwrap().bytes.clone();
    assert!(
        bytes.starts_with(prefix),
        "{}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
}

#[path = "pty/glance.rs"]
mod glance;
