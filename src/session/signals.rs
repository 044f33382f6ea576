//! Every signal that would end kvscope by default, caught, so the terminal is restored and the
//! log says it stopped whichever arrives. SIGKILL cannot be caught; nothing can restore after it.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

/// Signals whose default action ends the process and that a process may catch.
const TERMINATING: &[(i32, &str)] = &[
    (1, "SIGHUP"),
    (2, "SIGINT"),
    (3, "SIGQUIT"),
    (10, "SIGUSR1"),
    (12, "SIGUSR2"),
    (13, "SIGPIPE"),
    (14, "SIGALRM"),
    (15, "SIGTERM"),
    (24, "SIGXCPU"),
    (25, "SIGXFSZ"),
    (26, "SIGVTALRM"),
    (27, "SIGPROF"),
    (29, "SIGIO"),
    (30, "SIGPWR"),
];

/// The signal's name, for the log.
pub fn name(n: i32) -> &'static str {
    TERMINATING
        .iter()
        .find(|(k, _)| *k == n)
        .map_or("a signal", |(_, name)| name)
}

/// The terminating signals, as one stream of signal numbers.
pub struct Signals {
    rx: mpsc::UnboundedReceiver<i32>,
}

impl Signals {
    /// Starts listening (on the current tokio runtime). SIGHUP, SIGINT and SIGTERM must be
    /// caught; the others are caught where the platform allows.
    pub fn new() -> std::io::Result<Signals> {
        let (tx, rx) = mpsc::unbounded_channel();
        for &(n, _) in TERMINATING {
            let stream = match signal(SignalKind::from_raw(n)) {
                Ok(s) => s,
                Err(e) if matches!(n, 1 | 2 | 15) => return Err(e),
                Err(_) => continue,
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = stream;
                while stream.recv().await.is_some() {
                    if tx.send(n).is_err() {
                        return;
                    }
                }
            });
        }
        Ok(Signals { rx })
    }

    /// The next signal's number.
    pub async fn recv(&mut self) -> i32 {
        // The senders live as long as their tasks, which never end on their own.
        self.rx.recv().await.unwrap_or(15)
    }
}
