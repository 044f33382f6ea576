//! Where `--header`, `--bearer-token-file`, `--basic-auth-file` and the TLS flags (`--ca-cert`,
//! `--client-cert`, `--client-key`, `--insecure`) apply, from where they stand on the command line:
//! before any target flag they go to every target; after a `--lmcache`/`--engine` value, to that
//! target only.

use std::path::PathBuf;

use clap::ArgMatches;

use super::Failure;
use crate::sources::http::{Auth, AuthPlan, Tls};
use crate::vocab::Role;

/// Whose a flag is: every target's (`None`), or the `index`th `--lmcache`/`--engine` target's.
type Owner = Option<(Role, usize)>;

/// The headers and token files one owner was given.
#[derive(Default)]
struct Scope {
    owner: Owner,
    headers: Vec<String>,
    token_files: Vec<PathBuf>,
    basic_files: Vec<PathBuf>,
    ca: Vec<PathBuf>,
    client_cert: Vec<PathBuf>,
    client_key: Vec<PathBuf>,
    insecure: bool,
}

impl Scope {
    fn auth(&self) -> Result<Auth, Failure> {
        if self.token_files.len() > 1 {
            let whose = match self.owner {
                None => "every target".to_string(),
                Some((role, i)) => format!("the {} target #{}", role.flag(), i + 1),
            };
            return Err(Failure::bad(format!(
                "--bearer-token-file given {} times for {whose}: give one per target",
                self.token_files.len()
            )));
        }
        let mut auth =
            Auth::from_flags(&self.headers, self.token_files.first().map(|p| p.as_path()))
                .map_err(Failure::bad)?;
        auth = match self.basic_files.as_slice() {
            [] => auth,
            [one] => auth.with_basic_auth_file(one).map_err(Failure::bad)?,
            more => {
                return Err(Failure::bad(format!(
                    "--basic-auth-file given {} times for one target: give one",
                    more.len()
                )));
            }
        };
        auth.tls = Tls::from_flags(&self.ca, &self.client_cert, &self.client_key, self.insecure)
            .map_err(Failure::bad)?;
        Ok(auth)
    }
}

/// The auth plan of one subcommand's matches (a subcommand without the flags gets an empty one).
pub fn plan(m: &ArgMatches) -> Result<AuthPlan, Failure> {
    let mut targets: Vec<(usize, (Role, usize))> = Vec::new();
    for role in [Role::Lmcache, Role::Engine] {
        let at = positions(m, role.as_str());
        targets.extend(at.into_iter().enumerate().map(|(i, p)| (p, (role, i))));
    }
    // The target flag nearest before a position owns it.
    let owner = |pos: usize| -> Owner {
        targets
            .iter()
            .filter(|t| t.0 < pos)
            .max_by_key(|t| t.0)
            .map(|t| t.1)
    };
    let mut scopes: Vec<Scope> = Vec::new();
    for (header, pos) in values::<String>(m, "header") {
        scope(&mut scopes, owner(pos)).headers.push(header);
    }
    for (file, pos) in values::<PathBuf>(m, "bearer_token_file") {
        scope(&mut scopes, owner(pos)).token_files.push(file);
    }
    for (file, pos) in values::<PathBuf>(m, "basic_auth_file") {
        scope(&mut scopes, owner(pos)).basic_files.push(file);
    }
    for (file, pos) in values::<PathBuf>(m, "ca_cert") {
        scope(&mut scopes, owner(pos)).ca.push(file);
    }
    for (file, pos) in values::<PathBuf>(m, "client_cert") {
        scope(&mut scopes, owner(pos)).client_cert.push(file);
    }
    for (file, pos) in values::<PathBuf>(m, "client_key") {
        scope(&mut scopes, owner(pos)).client_key.push(file);
    }
    // A flag without a value: where it was typed, if it was.
    if m.try_contains_id("insecure").is_ok()
        && m.value_source("insecure") == Some(clap::parser::ValueSource::CommandLine)
    {
        for pos in positions(m, "insecure") {
            scope(&mut scopes, owner(pos)).insecure = true;
        }
    }
    let mut plan = AuthPlan::default();
    for s in &scopes {
        let auth = s.auth()?;
        match s.owner {
            None => plan.all = auth,
            Some((role, index)) => plan.per_target.push((role, index, auth)),
        }
    }
    Ok(plan)
}

/// Where an argument's values stand on the command line (none when the subcommand lacks it).
pub(super) fn positions(m: &ArgMatches, id: &str) -> Vec<usize> {
    if !matches!(m.try_contains_id(id), Ok(true)) {
        return Vec::new();
    }
    m.indices_of(id).map(Iterator::collect).unwrap_or_default()
}

/// An argument's values with their positions.
pub(super) fn values<T: Clone + Send + Sync + 'static>(
    m: &ArgMatches,
    id: &str,
) -> Vec<(T, usize)> {
    let given = m.try_get_many::<T>(id).ok().flatten().into_iter().flatten();
    given.cloned().zip(positions(m, id)).collect()
}

fn scope(scopes: &mut Vec<Scope>, owner: Owner) -> &mut Scope {
    let i = match scopes.iter().position(|s| s.owner == owner) {
        Some(i) => i,
        None => {
            scopes.push(Scope {
                owner,
                ..Default::default()
            });
            scopes.len() - 1
        }
    };
    &mut scopes[i]
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;
    use crate::cli::args::Cli;

    fn plan_of(argv: &[&str]) -> Result<AuthPlan, Failure> {
        let m = Cli::command()
            .try_get_matches_from(std::iter::once("kvscope").chain(argv.iter().copied()))
            .expect("the command line parses");
        plan(m.subcommand().expect("a subcommand").1)
    }

    fn names(a: &Auth) -> Vec<&str> {
        a.headers.iter().map(|(k, _)| k.as_str()).collect()
    }

    fn own(p: &AuthPlan, role: Role, index: usize) -> Vec<&str> {
        let found = p.per_target.iter().find(|t| t.0 == role && t.1 == index);
        found.map(|t| names(&t.2)).unwrap_or_default()
    }

    fn token_file(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("kvscope-auth-{}-{name}", std::process::id()));
        std::fs::write(&path, "t0ken\n").unwrap();
        path
    }

    #[test]
    fn flags_before_any_target_go_to_every_target_and_after_one_to_it() {
        let tok = token_file("placement");
        let tok = tok.to_str().unwrap();
        let p = plan_of(&[
            "report",
            "--header",
            "X-All:1",
            "--lmcache",
            "a.prom",
            "--header",
            "X-Lm:2",
            "--engine",
            "b.prom",
            "--engine",
            "c.prom",
            "--bearer-token-file",
            tok,
        ])
        .unwrap();
        assert_eq!(names(&p.all), ["X-All"]);
        assert_eq!(own(&p, Role::Lmcache, 0), ["X-Lm"]);
        assert!(own(&p, Role::Engine, 0).is_empty());
        assert_eq!(own(&p, Role::Engine, 1), ["Authorization"]);
        // What a target finally sends: the shared headers, then its own.
        let sent = p.for_target(Role::Engine, 1);
        assert_eq!(names(&sent), ["X-All", "Authorization"]);
    }

    #[test]
    fn the_live_commands_place_flags_the_same_way() {
        let p = plan_of(&[
            "watch",
            "--lmcache",
            "http://a",
            "--lmcache",
            "http://b",
            "--header",
            "X-B:1",
        ])
        .unwrap();
        assert!(p.all.headers.is_empty());
        assert_eq!(own(&p, Role::Lmcache, 1), ["X-B"]);
        assert!(own(&p, Role::Lmcache, 0).is_empty());
    }

    #[test]
    fn two_token_files_for_one_owner_are_refused_naming_it() {
        let tok = token_file("twice");
        let tok = tok.to_str().unwrap();
        let e = plan_of(&[
            "report",
            "--bearer-token-file",
            tok,
            "--bearer-token-file",
            tok,
        ])
        .unwrap_err();
        assert!(e.message.contains("every target"), "{}", e.message);
        let argv = [
            "report",
            "--lmcache",
            "a",
            "--bearer-token-file",
            tok,
            "--bearer-token-file",
            tok,
        ];
        let e = plan_of(&argv).unwrap_err();
        assert!(
            e.message.contains("the --lmcache target #1"),
            "{}",
            e.message
        );
        assert_eq!(e.code, crate::cli::EXIT_BAD_INPUT);
    }

    #[test]
    fn a_malformed_header_is_named_by_position_not_by_its_text() {
        let e = plan_of(&["report", "--header", "no-colon-secret"]).unwrap_err();
        assert!(e.message.contains("--header #1"), "{}", e.message);
        assert!(!e.message.contains("no-colon-secret"), "{}", e.message);
    }

    #[test]
    fn a_command_without_auth_flags_gets_an_empty_plan() {
        let p = plan_of(&["screenshot", "--lmcache", "a.prom"]).unwrap();
        assert!(p.all.headers.is_empty() && p.per_target.is_empty());
    }
}
