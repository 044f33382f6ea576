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

/// Why a `--lmcache`/`--engine` argument was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArgError {
    /// `FILE@TIME` whose time looks like one but does not parse.
    #[error("'{time}' in '{arg}' is not an RFC 3339 time such as 2026-11-22T07:23:02Z: it {why}")]
    BadTime {
        arg: String,
        time: String,
        why: String,
    },
    /// `http:/…`, `https:…`: a URL with its slashes mistyped, which would otherwise be read as
    /// a file (its credentials are not shown).
    #[error("'{shown}' starts like a URL but not with http:// or https://: give the URL whole")]
    MistypedUrl { shown: String },
}

/// Reads one argument. A suffix `@TIME` is taken as a capture time when it parses as RFC 3339.
pub fn parse_arg(arg: &str) -> Result<InputArg, ArgError> {
    parse_arg_with(arg, |p| p.exists())
}

/// [`parse_arg`], with `exists` saying whether a file has the name.
fn parse_arg_with(arg: &str, exists: impl Fn(&Path) -> bool) -> Result<InputArg, ArgError> {
    let scheme = |p: &str| {
        arg.get(..p.len())
            .is_some_and(|a| a.eq_ignore_ascii_case(p))
    };
    if scheme("http://") || scheme("https://") {
        return Ok(InputArg::Url(arg.to_string()));
    }
    if scheme("http:") || scheme("https:") {
        return Err(ArgError::MistypedUrl {
            shown: crate::sanitize::clean(&crate::sanitize::redact_url(arg)),
        });
    }
    if let Some((path, time)) = arg.rsplit_once('@')
        && time.len() >= 10
        && time.as_bytes()[0].is_ascii_digit()
        && time.contains('T')
    {
        let t = parse_rfc3339(time).map_err(|why| ArgError::BadTime {
            arg: arg.to_string(),
            time: time.to_string(),
            why,
        })?;
        return Ok(InputArg::File {
            path: path.into(),
            time: Some(t),
        });
    }
    if arg.ends_with(".tsv") {
        return Ok(InputArg::Index { path: arg.into() });
    }
    // An existing file wins; otherwise `host:port` (a port of digits, a path after it or
    // not) is that host's HTTP endpoint, as a user typing `localhost:18080` means.
    if !exists(Path::new(arg)) && host_port(arg) {
        return Ok(InputArg::Url(format!("http://{arg}")));
    }
    Ok(InputArg::File {
        path: arg.into(),
        time: None,
    })
}

/// `host:port` or `host:port/path`: a host of letters, digits, `.`, `-` and `_` (or an IPv6
/// address in brackets) and a port of digits from 1 to 65535.
fn host_port(arg: &str) -> bool {
    let authority = arg.split('/').next().unwrap_or("");
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return false,
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => return false,
        },
    };
    let host_ok = !host.is_empty()
        && if authority.starts_with('[') {
            host.chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        } else {
            host.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        };
    let port_ok = !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    host_ok && port_ok
}

/// Largest capture index kvscope reads.
pub const MAX_INDEX_BYTES: u64 = 16 << 20;

/// Why a capture index cannot be expanded. Each names the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    File(#[from] files::FileError),
    #[error(
        "{} is not a capture index: its first line must name the columns 'file' and 'utc_time'",
        path.display()
    )]
    NotAnIndex { path: PathBuf },
    #[error("cannot read the folder of {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A row, by its line number in the file.
    #[error("{} line {line}: {problem}", path.display())]
    Row {
        path: PathBuf,
        line: usize,
        problem: RowProblem,
    },
    #[error("{} lists no files", path.display())]
    Empty { path: PathBuf },
}

/// What is wrong with one row of a capture index.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RowProblem {
    #[error("missing the file or utc_time column")]
    MissingColumn,
    #[error("'{time}' is not an RFC 3339 time: it {why}")]
    BadTime { time: String, why: String },
    #[error(
        "'{file}' is not a file inside the index's folder (rows name files next to the index; no absolute paths, '..' or links out)"
    )]
    Outside { file: String },
}

/// Expands a capture index into (file, time) pairs. Rows name files inside the index's folder:
/// an absolute path, a `..`, or a link that leads out of the folder is refused, so a capture
/// sent by someone else cannot make kvscope read other files of the machine.
pub fn read_index(path: &Path) -> Result<Vec<(PathBuf, Option<f64>)>, IndexError> {
    let text = files::read_text(path, MAX_INDEX_BYTES, files::Kind::Regular)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (Some(fc), Some(tc)) = (col("file"), col("utc_time")) else {
        return Err(IndexError::NotAnIndex {
            path: path.to_path_buf(),
        });
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let root = dir.canonicalize().map_err(|source| IndexError::Folder {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (n, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let row = |problem| IndexError::Row {
            path: path.to_path_buf(),
            line: n + 2,
            problem,
        };
        let cells: Vec<&str> = line.split('\t').collect();
        let (Some(f), Some(t)) = (cells.get(fc), cells.get(tc)) else {
            return Err(row(RowProblem::MissingColumn));
        };
        let time = parse_rfc3339(t).map_err(|why| {
            row(RowProblem::BadTime {
                time: t.to_string(),
                why,
            })
        })?;
        let rel = Path::new(f);
        let inside = !f.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        let file = dir.join(rel);
        let escapes = |p: &Path| p.canonicalize().is_ok_and(|c| !c.starts_with(&root));
        if !inside || escapes(&file) {
            return Err(row(RowProblem::Outside {
                file: f.to_string(),
            }));
        }
        out.push((file, Some(time)));
    }
    if out.is_empty() {
        return Err(IndexError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

/// Reads a metrics file (or standard input for `-`) through the [`MAX_FILE_BYTES`] cap;
/// anything but a regular file is refused.
pub fn read_file(path: &Path) -> Result<Vec<u8>, files::FileError> {
    if path == Path::new(STDIN) {
        let path = PathBuf::from("standard input");
        return files::read_through_cap(std::io::stdin().lock(), MAX_FILE_BYTES).map_err(
            |e| match e {
                files::Capped::Io(source) => files::FileError::Unreadable { path, source },
                files::Capped::TooLarge => files::FileError::TooLarge {
                    path,
                    cap: MAX_FILE_BYTES,
                },
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
        // host:port means that host's HTTP endpoint, unless a file has the name.
        for (arg, url) in [
            ("localhost:18080", "http://localhost:18080"),
            ("127.0.0.1:9", "http://127.0.0.1:9"),
            (
                "lmcache-0.svc:8080/metrics",
                "http://lmcache-0.svc:8080/metrics",
            ),
            ("[::1]:8000", "http://[::1]:8000"),
        ] {
            assert_eq!(parse_arg(arg), Ok(InputArg::Url(url.into())), "{arg}");
        }
        for file in [
            "a.prom",
            "host:99999",
            "host:80a",
            "c:/x.prom",
            ":80",
            "x y:80",
        ] {
            assert!(
                matches!(parse_arg(file), Ok(InputArg::File { .. })),
                "{file}: {:?}",
                parse_arg(file)
            );
        }
        assert!(
            matches!(
                parse_arg_with("localhost:18080", |p| p == Path::new("localhost:18080")),
                Ok(InputArg::File { .. })
            ),
            "an existing file wins"
        );
    }

    /// Hand-made indexes, one problem each: the error says which, and names the index's line.
    #[test]
    fn index_problems_are_told_apart() {
        let dir = std::env::temp_dir().join(format!("kvscope-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.prom"), "x 1\n").unwrap();
        let index = dir.join("metrics_index.tsv");
        let read = |text: &str| {
            std::fs::write(&index, text).unwrap();
            read_index(&index)
        };
        let ok = read("file\tutc_time\na.prom\t2026-11-22T07:23:02Z\n").unwrap();
        assert_eq!(ok.len(), 1);
        assert!(matches!(read("a\tb\n"), Err(IndexError::NotAnIndex { .. })));
        assert!(matches!(
            read("file\tutc_time\n"),
            Err(IndexError::Empty { .. })
        ));
        let row = |text: &str| match read(text) {
            Err(IndexError::Row { line, problem, .. }) => (line, problem),
            other => panic!("{other:?}"),
        };
        assert_eq!(row("file\tutc_time\na.prom\n").1, RowProblem::MissingColumn);
        assert!(matches!(
            row("file\tutc_time\na.prom\t2026-13-01T00:00:00Z\n").1,
            RowProblem::BadTime { .. }
        ));
        let (line, problem) =
            row("file\tutc_time\na.prom\t2026-11-22T07:23:02Z\n../x\t2026-11-22T07:23:03Z\n");
        assert_eq!(line, 3);
        assert_eq!(
            problem,
            RowProblem::Outside {
                file: "../x".into()
            }
        );
        let e = read("file\tutc_time\n/etc/passwd\t2026-11-22T07:23:02Z\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("metrics_index.tsv line 2: '/etc/passwd'"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
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
