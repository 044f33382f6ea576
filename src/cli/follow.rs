//! Which target each `--lct`, `--otel`, `--server-log` and `--engine-log` belongs to: the
//! `--lmcache`/`--engine` flag nearest before it on the command line, as for `--header`.

use std::path::PathBuf;

use clap::ArgMatches;

use super::Failure;
use super::auth::{positions, values};
use crate::vocab::{Role, Stream};

/// A file given beside a target: the `index`th `--lmcache`/`--engine` argument of `role`.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub role: Role,
    /// Place among that role's arguments.
    pub arg: usize,
    pub stream: Stream,
    pub path: PathBuf,
}

impl Given {
    /// What the session follows for it.
    pub fn follow(&self) -> crate::sources::follow::Follow {
        crate::sources::follow::Follow {
            target: crate::vocab::TargetRef {
                role: self.role,
                index: self.arg,
            },
            stream: self.stream,
            path: self.path.clone(),
        }
    }
}

/// The files one subcommand's matches give (none when it lacks the flags).
pub fn plan(m: &ArgMatches) -> Result<Vec<Given>, Failure> {
    let mut targets: Vec<(usize, (Role, usize))> = Vec::new();
    for role in [Role::Lmcache, Role::Engine] {
        let at = positions(m, role.as_str());
        targets.extend(at.into_iter().enumerate().map(|(i, p)| (p, (role, i))));
    }
    let mut out = Vec::new();
    for (id, flag, stream) in [
        ("lct", "--lct", Stream::Trace),
        ("server_log", "--server-log", Stream::ServerLog),
        ("engine_log", "--engine-log", Stream::EngineLog),
        ("otel", "--otel", Stream::Otel),
        ("lookup_hashes", "--lookup-hashes", Stream::LookupHashes),
    ] {
        for (path, pos) in values::<PathBuf>(m, id) {
            // With no target at all, a file stands alone (`report --lct FILE`): the server's
            // files belong to an LMCache target, the engine's log to an engine.
            let alone = match stream {
                Stream::EngineLog => (Role::Engine, 0),
                _ => (Role::Lmcache, 0),
            };
            let before = targets.iter().filter(|t| t.0 < pos).max_by_key(|t| t.0);
            let Some((role, arg)) = before
                .map(|t| &t.1)
                .or(targets.is_empty().then_some(&alone))
            else {
                return Err(Failure::bad(format!(
                    "{flag} {}: give it after the --lmcache or --engine target it belongs to",
                    path.display()
                )));
            };
            out.push(Given {
                role: *role,
                arg: *arg,
                stream,
                path,
            });
        }
    }
    let stdin = out
        .iter()
        .filter(|g| g.path.as_os_str() == crate::sources::STDIN)
        .count();
    if stdin > 1 {
        return Err(Failure::bad(
            "standard input ('-') can be read once: give it to one --server-log or --engine-log",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::args::Cli;

    fn plan_of(argv: &[&str]) -> Result<Vec<Given>, Failure> {
        let m = Cli::command()
            .try_get_matches_from(std::iter::once("kvscope").chain(argv.iter().copied()))
            .expect("the command line parses");
        plan(m.subcommand().expect("a subcommand").1)
    }

    #[test]
    fn each_file_goes_to_the_target_before_it() {
        let g = plan_of(&[
            "watch",
            "--lmcache",
            "http://a:8080",
            "--lct",
            "a.lct",
            "--server-log",
            "a.log",
            "--lmcache",
            "http://b:8080",
            "--engine",
            "http://e:8000",
            "--engine-log",
            "-",
            "--lct",
            "b.lct",
        ])
        .unwrap();
        let got: Vec<(Role, usize, Stream, &str)> = g
            .iter()
            .map(|g| (g.role, g.arg, g.stream, g.path.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                (Role::Lmcache, 0, Stream::Trace, "a.lct"),
                (Role::Engine, 0, Stream::Trace, "b.lct"),
                (Role::Lmcache, 0, Stream::ServerLog, "a.log"),
                (Role::Engine, 0, Stream::EngineLog, "-"),
            ]
        );
    }

    #[test]
    fn a_file_before_any_target_or_two_on_stdin_is_refused() {
        let e = plan_of(&["report", "--lct", "x.lct", "--lmcache", "m.prom"]).unwrap_err();
        assert!(e.message.contains("--lct x.lct"), "{}", e.message);
        let e = plan_of(&[
            "report",
            "--lmcache",
            "m.prom",
            "--server-log",
            "-",
            "--engine-log",
            "-",
        ])
        .unwrap_err();
        assert!(e.message.contains("standard input"), "{}", e.message);
    }
}
