//! `sources`: the outside world → [`Event`](crate::vocab::Event)s. Files and capture indexes
//! here; HTTP scraping in [`http`].

pub mod capture;
pub mod collector;
pub mod follow;
pub mod http;
pub mod lmcache_http;
pub mod promapi;

use std::path::{Component, Path, PathBuf};

use crate::files;

use crate::timefmt::parse_rfc3339;

/// Largest metrics file kvscope reads.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// One `--lmcache`/`--engine` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum InputArg {
    /// A scrape saved to a file, optionally with its capture time (`FILE@2026-11-22T07:23:02Z`).
    File { path: PathBuf, time: Option<f64> },
    /// A capture index (`metrics_index.tsv`: `file<TAB>utc_time…`), expanded to its files.
    Index { path: PathBuf },
    /// A live endpoint, recognised by its scheme.
    Url(String),
}

/// Reads one argument. A suffix `@TIME` is taken as a capture time when it parses as RFC 3339.
pub fn parse_arg(arg: &str) -> Result<InputArg, String> {
    let scheme = |p: &str| {
        arg.get(..p.len())
            .is_some_and(|a| a.eq_ignore_ascii_case(p))
    };
    if scheme("http://") || scheme("https://") {
        return Ok(InputArg::Url(arg.to_string()));
    }
    if let Some((path, time)) = arg.rsplit_once('@')
        && time.len() >= 10
        && time.as_bytes()[0].is_ascii_digit()
        && time.contains('T')
    {
        let t = parse_rfc3339(time).map_err(|why| {
            format!(
                "'{time}' in '{arg}' is not an RFC 3339 time such as 2026-11-22T07:23:02Z: it {why}"
            )
        })?;
        return Ok(InputArg::File {
            path: path.into(),
            time: Some(t),
        });
    }
    if arg.ends_with(".tsv") {
        return Ok(InputArg::Index { path: arg.into() });
    }
    Ok(InputArg::File {
        path: arg.into(),
        time: None,
    })
}

/// Largest capture index kvscope reads.
pub const MAX_INDEX_BYTES: u64 = 16 << 20;

/// Expands a capture index into (file, time) pairs. Rows name files inside the index's folder:
/// an absolute path, a `..`, or a link that leads out of the folder is refused, so a capture
/// sent by someone else cannot make kvscope read other files of the machine.
pub fn read_index(path: &Path) -> Result<Vec<(PathBuf, Option<f64>)>, String> {
    let text = files::read_text(path, MAX_INDEX_BYTES, files::Kind::Regular)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(fc), Some(tc)) = (col("file"), col("utc_time")) else {
        return Err(format!(
            "{} is not a capture index: its first line must name the columns 'file' and 'utc_time'",
            path.display()
        ));
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let root = dir
        .canonicalize()
        .map_err(|e| format!("cannot read the folder of {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = || format!("{} line {}", path.display(), n + 2);
        let cells: Vec<&str> = line.split('\t').collect();
        let (Some(f), Some(t)) = (cells.get(fc), cells.get(tc)) else {
            return Err(format!("{}: missing the file or utc_time column", at()));
        };
        let time = parse_rfc3339(t)
            .map_err(|why| format!("{}: '{t}' is not an RFC 3339 time: it {why}", at()))?;
        let rel = Path::new(f);
        let inside = !f.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        let file = dir.join(rel);
        let escapes = |p: &Path| p.canonicalize().is_ok_and(|c| !c.starts_with(&root));
        if !inside || escapes(&file) {
            return Err(format!(
                "{}: '{f}' is not a file inside the index's folder (rows name files next to the index; no absolute paths, '..' or links out)",
                at()
            ));
        }
        out.push((file, Some(time)));
    }
    if out.is_empty() {
        return Err(format!("{} lists no files", path.display()));
    }
    Ok(out)
}

/// Reads a metrics file (or standard input for `-`) through the [`MAX_FILE_BYTES`] cap;
/// anything but a regular file is refused.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new(STDIN) {
        return files::read_through_cap(std::io::stdin().lock(), MAX_FILE_BYTES).map_err(
            |e| match e {
                files::Capped::Io(e) => format!("cannot read standard input: {e}"),
                files::Capped::TooLarge => format!(
                    "standard input is larger than {MAX_FILE_BYTES} bytes, the most kvscope reads"
                ),
            },
        );
    }
    files::read_capped(path, MAX_FILE_BYTES, files::Kind::Regular)
}

/// The argument that means standard input.
pub const STDIN: &str = "-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_forms() {
        assert_eq!(
            parse_arg("http://127.0.0.1:8080/metrics"),
            Ok(InputArg::Url("http://127.0.0.1:8080/metrics".into()))
        );
        assert_eq!(
            parse_arg("a/b.prom@2026-11-22T07:23:02Z"),
            Ok(InputArg::File {
                path: "a/b.prom".into(),
                time: parse_rfc3339("2026-11-22T07:23:02Z").ok()
            })
        );
        assert_eq!(
            parse_arg("user@host.prom"),
            Ok(InputArg::File {
                path: "user@host.prom".into(),
                time: None
            })
        );
        assert!(parse_arg("a.prom@2026-11-22T99:00:00Z").is_err());
        assert_eq!(
            parse_arg("x/metrics_index.tsv"),
            Ok(InputArg::Index {
                path: "x/metrics_index.tsv".into()
            })
        );
    }
}

#[cfg(test)]
mod hostile {
    use super::*;

    /// Any text as a `--lmcache`/`--engine` argument: a result or an error, never a panic, and
    /// a capture time is a real time.
    #[test]
    fn any_argument_parses_or_is_refused() {
        let mut g = crate::testgen::Gen::new(13);
        for _ in 0..50_000 {
            let a = g.hostile(&[
                "a.prom@2026-11-22T07:23:02Z",
                "http://h:8080",
                "x/metrics_index.tsv",
                "-",
                "user@host.prom@2026-01-01T00:00:00+01:00",
            ]);
            if let Ok(InputArg::File { time: Some(t), .. }) = parse_arg(&a) {
                assert!(t.is_finite(), "{a:?}");
            }
        }
    }
}
