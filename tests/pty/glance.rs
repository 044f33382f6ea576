//! The answer at a glance in a real terminal: the verdict at three sizes, a restart banner, a
//! killed server's figures turning to "as of".

use super::*;

/// Waits until `s` shows what `ok` wants, else fails with the screen.
fn shows(s: &Session, long: Duration, ok: impl Fn(&str) -> bool, what: &str) {
    assert!(
        wait_screen(&s.term, long, ok),
        "{what}:\n{}",
        s.term.lock().unwrap().screen.screen().contents()
    );
}

/// `q` ends the session with exit 0.
fn quits(mut s: Session, long: Duration) {
    let mut w = s.pty.master.take_writer().unwrap();
    w.write_all(b"q").unwrap();
    w.flush().unwrap();
    assert_eq!(s.exit_code(long), 0);
    let _ = std::fs::remove_dir_all(&s.state);
}

/// The verdict line tops the demo's screen at 120×40, 80×24 and 200×60, as drawn, without a
/// key pressed.
#[test]
pub fn the_verdict_tops_the_demo_at_three_sizes() {
    let s = Session::start(&["demo"]);
    let long = Duration::from_secs(30);
    for (cols, rows) in [(120, 40), (80, 24), (200, 60)] {
        s.term.lock().unwrap().screen.set_size(nz(rows), nz(cols));
        s.pty
            .master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let topped = |screen: &str| {
            let mut lines = screen.lines();
            lines.next().is_some_and(|l| l.starts_with("KV cache: "))
                && screen.lines().count() >= usize::from(rows) - 1
                && lines.any(|l| l.starts_with("kvscope "))
        };
        shows(&s, long, topped, &format!("{cols}×{rows}"));
    }
    quits(s, long);
}

/// The demo's recording loops (a later pass is a restarted server): the header says LMCache
/// restarted and that since-start figures reset.
#[test]
pub fn a_looping_recording_shows_a_restart_banner() {
    let s = Session::start(&["demo", "--speed", "100"]);
    let long = Duration::from_secs(60);
    let banner = |screen: &str| {
        screen.contains("LMCache restarted at") && screen.contains("since-start figures reset")
    };
    shows(&s, long, banner, "a restart banner");
    quits(s, long);
}

/// A served recording killed under `watch`: within a few intervals the verdict says down, the
/// figure panes say "as of" the last answer, and no rate rule judges on its old numbers.
#[test]
pub fn a_killed_server_turns_the_figures_to_as_of() {
    let demo = common::fixture("demo.kvpacket");
    let served = common::Served::start(&["serve", demo.to_str().unwrap()]);
    let url = served.url(0);
    let s = Session::start(&["watch", "--lmcache", &url, "--interval", "300ms"]);
    let long = Duration::from_secs(30);
    let judged = |screen: &str| {
        screen.contains("● up")
            && screen.starts_with("KV cache: ")
            && !screen.starts_with("KV cache: UNKNOWN")
    };
    shows(&s, long, judged, "a verdict on the live server");
    drop(served);
    // The verdict line, and a figure pane's border.
    let aged = |screen: &str| {
        screen.starts_with("KV cache: DOWN")
            && screen.contains("figures as of")
            && screen.contains("─ as of ")
    };
    shows(&s, long, aged, "down, figures as of the last answer");
    quits(s, long);
}
