//! What the command line does, one module per job: `main.rs` parses, [`run`] resolves each
//! command's flags and runs it;
//! [`args`] is what can be typed, [`auth`] places `--header` and `--bearer-token-file`,
//! [`settings`] merges flags over the config file over defaults for the live commands,
//! [`session`] starts a session (targets, collectors, log, runtime), [`live`] runs `watch` and
//! `demo`, [`packet`] runs `export`, `verify` and `import` (and reads
//! packets for `report --packet`), [`replay`] runs `replay`, [`serve`] runs `serve` (and serves the demo), [`report`] and [`screenshot`] run those commands, [`shell`] prints completions, the man page and
//! the newcomer's help.

pub mod args;
pub mod auth;
pub mod fleet;
pub mod follow;
pub mod live;
pub mod packet;
pub mod replay;
pub mod report;
pub mod rules;
pub mod run;
pub mod screenshot;
pub mod serve;
pub mod session;
pub mod settings;
pub mod shell;

/// Exit codes scripts can use (0 is success; a signal gives 128 + its number).
/// `report --fail-on`: a rule at or above that severity fires.
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_UNREACHABLE: i32 = 3;

/// A failure with its exit code and a message naming the input.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    /// The input was wrong: exit code [`EXIT_BAD_INPUT`].
    pub fn bad(message: impl std::fmt::Display) -> Failure {
        Failure {
            code: EXIT_BAD_INPUT,
            message: message.to_string(),
        }
    }
}

/// A positive whole number from the environment variable `name` (a cap raised), else
/// `default`; a value that is not one gives the default and says so, naming the variable.
pub fn env_count(name: &str, default: u64) -> (u64, Option<String>) {
    match std::env::var(name) {
        Err(_) => (default, None),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => (n, None),
            _ => (
                default,
                Some(format!(
                    "{name}={} is not a positive whole number; {default} is used",
                    crate::sanitize::quoted(&text, 40)
                )),
            ),
        },
    }
}

/// Writes a command's output to standard output. A reader that went away (`kvscope report |
/// head`) is not an error: what it did not read, it did not want. Any other failure names itself.
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::bad(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}
