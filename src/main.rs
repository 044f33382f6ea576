//! The `kvscope` binary: parses the command line and hands the command to [`kvscope::cli::run`];
//! its exit code, or its failure on stderr.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use kvscope::cli::{self, Failure, args::Cli};

fn main() -> ExitCode {
    // `kvscope` alone: watch the config file's targets, or tell a newcomer where to start.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.len() == 1 {
        match kvscope::config::Config::load(None) {
            Ok(c) if c.names_targets() => argv.push("watch".into()),
            Ok(_) => {
                return cli::write_stdout(&cli::shell::newcomer_help())
                    .map_or_else(failed, |()| ExitCode::SUCCESS);
            }
            Err(e) => return failed(Failure::bad(e)),
        }
    }
    let matches = Cli::command().get_matches_from(argv);
    let parsed = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Some((_, sub)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand")
    };
    match cli::run::run(parsed.command, sub) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(f) => failed(f),
    }
}

/// An error for the user on stderr; a dead stderr (dropped SSH session) is not a reason to panic.
fn failed(f: Failure) -> ExitCode {
    use std::io::Write;
    let message = kvscope::sanitize::clean_lines(&f.message, kvscope::sanitize::MAX_LINES);
    let _ = writeln!(std::io::stderr(), "kvscope: {message}");
    ExitCode::from(f.code as u8)
}
