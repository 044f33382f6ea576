//! The log file: what happened to targets and routes, one line each, never on the screen.
//! `$XDG_STATE_HOME/kvscope/kvscope.log` (else `~/.local/state/kvscope/kvscope.log`) or
//! `--log FILE`. Capped: at [`MAX_BYTES`] the file moves to `.1` and a new one starts.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Size at which the log is rotated.
pub const MAX_BYTES: u64 = 4 << 20;

/// An open log file.
#[derive(Debug)]
pub struct LogFile {
    path: PathBuf,
    file: std::fs::File,
    written: u64,
}

/// Where the log goes when `--log` is not given.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(base.join("kvscope").join("kvscope.log"))
}

fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

impl LogFile {
    /// Opens (creating the directory) for appending.
    pub fn open(path: &Path) -> Result<LogFile, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = open_append(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(LogFile {
            path: path.to_path_buf(),
            file,
            written,
        })
    }

    /// Appends one line stamped with the wall clock; network text is cleaned first. A failed
    /// write is dropped: logging must never stop the inspector.
    pub fn line(&mut self, message: &str) {
        if self.written >= MAX_BYTES {
            let old = self.path.with_extension("log.1");
            if std::fs::rename(&self.path, &old).is_ok()
                && let Ok(f) = open_append(&self.path)
            {
                self.file = f;
                self.written = 0;
            }
        }
        let line = format!(
            "{} {}\n",
            crate::timefmt::format_rfc3339(crate::timefmt::now()),
            crate::sanitize::clean(message)
        );
        if self.file.write_all(line.as_bytes()).is_ok() {
            self.written += line.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_stamped_cleaned_and_the_file_rotates() {
        let dir = std::env::temp_dir().join(format!("kvscope-log-{}", std::process::id()));
        let path = dir.join("sub").join("kvscope.log");
        let mut log = LogFile::open(&path).unwrap();
        log.line("target down: \u{1b}[2Jrefused");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("20") && text.contains("target down: \\u{1b}[2Jrefused\n"));
        log.written = MAX_BYTES;
        log.line("after rotation");
        assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
        assert!(
            std::fs::read_to_string(path.with_extension("log.1"))
                .unwrap()
                .contains("target down")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
