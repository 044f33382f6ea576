//! `sources`: the outside world → [`Event`](crate::model::Event)s. Files and capture indexes
//! here; HTTP scraping in [`http`].

pub mod collector;
pub mod http;
pub mod lmcache_http;

use std::path::{Path, PathBuf};

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
    if arg.starts_with("http://") || arg.starts_with("https://") {
        return Ok(InputArg::Url(arg.to_string()));
    }
    if let Some((path, time)) = arg.rsplit_once('@')
        && time.len() >= 10
        && time.as_bytes()[0].is_ascii_digit()
        && time.contains('T')
    {
        let t = parse_rfc3339(time).ok_or_else(|| {
            format!("'{time}' in '{arg}' is not an RFC 3339 time such as 2026-11-22T07:23:02Z")
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

/// Expands a capture index into (file, time) pairs, paths relative to the index.
pub fn read_index(path: &Path) -> Result<Vec<(PathBuf, Option<f64>)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
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
    let mut out = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('\t').collect();
        let (Some(f), Some(t)) = (cells.get(fc), cells.get(tc)) else {
            return Err(format!(
                "{} line {}: missing the file or utc_time column",
                path.display(),
                n + 2
            ));
        };
        let time = parse_rfc3339(t).ok_or_else(|| {
            format!(
                "{} line {}: '{t}' is not an RFC 3339 time",
                path.display(),
                n + 2
            )
        })?;
        out.push((dir.join(f), Some(time)));
    }
    if out.is_empty() {
        return Err(format!("{} lists no files", path.display()));
    }
    Ok(out)
}

/// Reads a metrics file, refusing one larger than [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} is {} bytes; kvscope reads metrics files up to {MAX_FILE_BYTES} bytes",
            path.display(),
            meta.len()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

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
                time: parse_rfc3339("2026-11-22T07:23:02Z")
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
