//! What the command line does, one module per job, so `main.rs` only parses and dispatches:
//! [`args`] is what can be typed, [`auth`] places `--header` and `--bearer-token-file`,
//! [`settings`] merges flags over the config file over defaults for the live commands,
//! [`live`] runs `watch` and `demo`, [`report`] and [`screenshot`] run those commands.

pub mod args;
pub mod auth;
pub mod live;
pub mod report;
pub mod screenshot;
pub mod settings;

/// Exit codes scripts can use (0 is success; a signal gives 128 + its number).
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
    pub fn bad(message: impl Into<String>) -> Failure {
        Failure {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }
}
