//! The optional config file (`$XDG_CONFIG_HOME/kvscope/config.toml`, else
//! `~/.config/kvscope/config.toml`, or `--config FILE`): targets, timing, theme, key bindings,
//! export settings and `[findings]` thresholds. `watch`, `demo` and `fleet` read all of it
//! (`cli::settings::resolve`), `replay` its window, theme, keys and thresholds, `report
//! --config FILE` its thresholds only (a report reads no config file it is not given); `kvscope`
//! alone looks in it for targets. Command-line flags win over it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a config file may say; every field optional.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub lmcache: Vec<String>,
    #[serde(default)]
    pub engine: Vec<String>,
    /// Targets with their own headers: `[[target]]` tables.
    #[serde(default)]
    pub target: Vec<Target>,
    pub interval: Option<String>,
    pub window: Option<String>,
    pub timeout: Option<String>,
    pub theme: Option<String>,
    /// Where `e` writes evidence packets.
    pub export_dir: Option<std::path::PathBuf>,
    /// How much of the history `e` writes (`10m`); all of it when unset.
    pub export_last: Option<String>,
    /// `e` replaces host names and addresses with pseudonyms (`--redact-hosts`).
    #[serde(default)]
    pub redact_hosts: bool,
    /// Read the mouse (`--mouse`).
    #[serde(default)]
    pub mouse: bool,
    /// Series one scrape may carry per instance.
    pub series_limit: Option<u64>,
    /// `[findings]`: rule thresholds by name (see docs/findings.md), as written, and
    /// `[findings.for]`, the rules' hold-downs.
    #[serde(default)]
    pub findings: Findings,
    /// The thresholds `[findings]` sets, checked when the file is read (an unknown key or a
    /// value out of range is an error naming the file).
    #[serde(skip)]
    pub thresholds: crate::analysis::findings::Thresholds,
    /// The file read, for errors found later (the key bindings are checked by the screen's
    /// key map); `None` when no file was read.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Action name → keys, e.g. `quit = ["q", "ctrl-x"]`.
    #[serde(default)]
    pub keys: BTreeMap<String, Vec<String>>,
}

/// The `[findings]` table: thresholds by name, and the `for` table of hold-downs by rule
/// (`eventbus_dropping = "30s"`). Read by hand from the table, so a wrong value's error names
/// its key (serde's flattening said only "expected f64").
#[derive(Debug, Default, PartialEq)]
pub struct Findings {
    pub holds: BTreeMap<String, String>,
    pub thresholds: BTreeMap<String, f64>,
}

impl<'de> Deserialize<'de> for Findings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Findings, D::Error> {
        use serde::de::Error;
        let table: BTreeMap<String, toml::Value> = Deserialize::deserialize(d)?;
        let mut out = Findings::default();
        for (key, value) in table {
            match (key.as_str(), value) {
                ("for", toml::Value::Table(t)) => {
                    for (rule, v) in t {
                        let toml::Value::String(text) = v else {
                            return Err(D::Error::custom(format!(
                                "[findings.for] {rule}: expected a duration such as \"30s\""
                            )));
                        };
                        out.holds.insert(rule, text);
                    }
                }
                ("for", _) => {
                    return Err(D::Error::custom(
                        "[findings] for: expected a table of rule = \"duration\"",
                    ));
                }
                (_, toml::Value::Float(v)) => {
                    out.thresholds.insert(key, v);
                }
                (_, toml::Value::Integer(v)) => {
                    out.thresholds.insert(key, v as f64);
                }
                (_, _) => {
                    return Err(D::Error::custom(format!(
                        "[findings] {key}: expected f64 (a number)"
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// One `[[target]]`: an LMCache or engine URL, the headers only it gets, and the trace, span
/// export and logs read beside it.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub lmcache: Option<String>,
    pub engine: Option<String>,
    /// `NAME:VALUE` headers.
    #[serde(default)]
    pub header: Vec<String>,
    pub bearer_token_file: Option<PathBuf>,
    /// As `--basic-auth-file`, `--ca-cert` (a list), `--client-cert`, `--client-key` and
    /// `--insecure` after this target's flag.
    pub basic_auth_file: Option<PathBuf>,
    #[serde(default)]
    pub ca_cert: Vec<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    #[serde(default)]
    pub insecure: bool,
    /// Files read beside this target, as `--lct`, `--otel`, `--server-log`, `--engine-log`.
    pub lct: Option<PathBuf>,
    pub otel: Option<PathBuf>,
    pub server_log: Option<PathBuf>,
    pub engine_log: Option<PathBuf>,
    pub lookup_hashes: Option<PathBuf>,
}

/// Why a config file was refused. Each names the file (when there is one) and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read: missing, not a regular file, too large, not UTF-8.
    #[error("config: {0}")]
    Unreadable(#[source] crate::files::FileError),
    /// The file was read and its text refused.
    #[error("config {}: {problem}", .path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        problem: ConfigProblem,
    },
}

/// What is wrong with a config text.
#[derive(Debug, thiserror::Error)]
pub enum ConfigProblem {
    /// Not TOML, a key kvscope does not know, or a value of the wrong type: where, and the
    /// line with its values hidden (a config holds headers, tokens and password URLs).
    #[error("{0}")]
    Toml(String),
    /// A `[findings]` threshold that does not exist or is out of its range.
    #[error("{0}")]
    Threshold(String),
    /// A `[[target]]` (numbered from 1) without exactly one of `lmcache` and `engine`.
    #[error("[[target]] #{0}: give exactly one of lmcache = \"URL\" or engine = \"URL\"")]
    Target(usize),
}

/// Largest config file kvscope reads.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Where the config file is looked for when `--config` is not given.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("kvscope").join("config.toml"))
}

impl Config {
    /// The file names at least one target, so `kvscope` alone can watch.
    pub fn names_targets(&self) -> bool {
        !self.lmcache.is_empty() || !self.engine.is_empty() || !self.target.is_empty()
    }

    /// Reads `explicit`, or the default path when it exists; no file is an empty config.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.exists()) {
                Some(p) => p,
                None => return Ok(Config::default()),
            },
        };
        let text = crate::files::read_text(&path, MAX_CONFIG_BYTES, crate::files::Kind::Regular)
            .map_err(ConfigError::Unreadable)?;
        let mut c = Config::parse(&text).map_err(|problem| ConfigError::Invalid {
            path: path.clone(),
            problem,
        })?;
        c.source = Some(path);
        Ok(c)
    }

    /// An error about this config, naming its file.
    pub fn named(&self, e: impl std::fmt::Display) -> String {
        match &self.source {
            Some(p) => format!("config {}: {e}", p.display()),
            None => format!("config: {e}"),
        }
    }

    /// A config text, checked: its TOML, its thresholds and its targets.
    pub fn parse(text: &str) -> Result<Config, ConfigProblem> {
        let mut c: Config =
            toml::from_str(text).map_err(|e| ConfigProblem::Toml(toml_error(&e, text, true)))?;
        c.thresholds = crate::analysis::findings::Thresholds::with_holds(
            &c.findings.thresholds,
            &c.findings.holds,
        )
        .map_err(ConfigProblem::Threshold)?;
        if let Some(i) = c
            .target
            .iter()
            .position(|t| t.lmcache.is_some() == t.engine.is_some())
        {
            return Err(ConfigProblem::Target(i + 1));
        }
        Ok(c)
    }
}

/// A TOML error told without the values of the file: its line and column, its message with
/// quoted text hidden, and (with `show_line`) the line with every string value hidden. The
/// parser's own message quotes the line whole, and a value may be a secret.
pub fn toml_error(e: &toml::de::Error, text: &str, show_line: bool) -> String {
    let mut at = e.span().map_or(0, |s| s.start.min(text.len()));
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let mut out = format!(
        "line {line}, column {column}: {}",
        hide_strings(e.message().trim())
    );
    if show_line && let Some(l) = text.lines().nth(line - 1) {
        let shown: String = hide_strings(l).chars().take(200).collect();
        out.push_str(&format!("\n  | {shown}"));
    }
    out
}

/// `text` with the inside of every quoted string (`"…"`, `'…'`) replaced by `…`.
fn hide_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    out.push('…');
                    out.push(c);
                    quote = None;
                }
            }
            None => {
                out.push(c);
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if quote.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_config_parses_and_unknown_keys_are_errors() {
        let c = Config::parse(
            "lmcache = [\"http://127.0.0.1:8080\"]\ninterval = \"1s\"\ntheme = \"light\"\n[keys]\nquit = [\"x\", \"ctrl-q\"]\n",
        )
        .unwrap();
        assert_eq!(c.lmcache, ["http://127.0.0.1:8080"]);
        assert_eq!(c.interval.as_deref(), Some("1s"));
        assert_eq!(c.keys["quit"], ["x", "ctrl-q"]);
        let e = Config::parse("colour = 1").unwrap_err();
        assert!(matches!(e, ConfigProblem::Toml(_)) && e.to_string().contains("colour"));
        // Hand-made: an error on the line of a bearer header, and one beside a password URL.
        let e = Config::parse("[[target]]\nheader = [\"Authorization: Bearer t0ps3cr3t\"] oops\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 2, column ") && e.contains("| header = [\"…\"]"),
            "{e}"
        );
        assert!(!e.contains("t0ps3cr3t"), "{e}");
        let e = Config::parse("lmcache = \"http://u:pw0rd1@h/metrics\"\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("pw0rd1") && e.contains("line 1"), "{e}");
        let c = Config::parse(
            "[[target]]\nengine = \"https://e:8000\"\nheader = [\"X-A: b\"]\nbearer_token_file = \"k\"\n",
        )
        .unwrap();
        assert_eq!(c.target[0].engine.as_deref(), Some("https://e:8000"));
        assert_eq!(c.target[0].header, ["X-A: b"]);
        let e = Config::parse("[[target]]\nheader = []\n").unwrap_err();
        assert!(matches!(e, ConfigProblem::Target(1)), "{e}");
        assert!(e.to_string().contains("exactly one"), "{e}");
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    #[test]
    fn any_config_text_parses_or_is_refused() {
        let mut g = crate::testgen::Gen::new(19);
        for _ in 0..5_000 {
            let text = g.hostile(&[
                "interval = \"1s\"\n",
                "[[target]]\nlmcache = \"http://h\"\n",
                "[keys]\nquit = [\"x\"]\n",
            ]);
            // Accepted or refused, never a panic; what is accepted keeps the target rule.
            if let Ok(c) = Config::parse(&text) {
                assert!(
                    c.target
                        .iter()
                        .all(|t| t.lmcache.is_some() != t.engine.is_some()),
                    "{text:?}"
                );
            }
        }
    }
}
