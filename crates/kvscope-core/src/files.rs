//! Reading local files that users name: through a hard cap, and only what a file of that kind
//! can be. A capture must be a regular file (not `/dev/zero`, a FIFO that never ends, or a
//! directory); a secret may also come from a pipe (`--bearer-token-file <(vault read …)`).
//! The kind is checked on the opened handle, so a path swapped after the check is still caught.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What may be read from a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Regular files only.
    Regular,
    /// Regular files and pipes (process substitution, `/dev/fd/N`).
    RegularOrPipe,
}

/// What a non-regular path is, in words.
fn describe(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Why a file a user named was not read. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A directory, device, socket, or a pipe where only regular files are read.
    #[error("{} is {what}, not a regular file: kvscope reads saved files only", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{} is larger than {cap} bytes, the most kvscope reads from it", path.display())]
    TooLarge { path: PathBuf, cap: u64 },
    #[error("{} is not UTF-8 text", path.display())]
    NotText { path: PathBuf },
    /// A name that is absolute or climbs (`..`), or a link that leads out of the folder the
    /// file was named in.
    #[error(
        "{} is not a file inside {} (no absolute names, '..' or links out of it): kvscope reads only what a folder holds",
        path.display(),
        folder.display()
    )]
    Outside { path: PathBuf, folder: PathBuf },
}

impl FileError {
    fn unreadable(path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        move |source| FileError::Unreadable {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Reads at most `cap` bytes of `path`; more is an error, as is a path that is not of `kind`.
pub fn read_capped(path: &Path, cap: u64, kind: Kind) -> Result<Vec<u8>, FileError> {
    let (file, meta) = open(path, kind)?;
    let too_large = || FileError::TooLarge {
        path: path.to_path_buf(),
        cap,
    };
    if meta.is_file() && meta.len() > cap {
        return Err(too_large());
    }
    read_through_cap(file, cap).map_err(|e| match e {
        Capped::Io(e) => FileError::unreadable(path)(e),
        Capped::TooLarge => too_large(),
    })
}

/// Opens `path` when it is of `kind`, checked before opening (opening a FIFO nobody writes to
/// would wait for ever) and again on the handle.
pub fn open(path: &Path, kind: Kind) -> Result<(File, std::fs::Metadata), FileError> {
    let check = |meta: &std::fs::Metadata| {
        use std::os::unix::fs::FileTypeExt;
        let allowed = meta.is_file() || (kind == Kind::RegularOrPipe && meta.file_type().is_fifo());
        if allowed {
            Ok(())
        } else {
            Err(FileError::NotRegular {
                path: path.to_path_buf(),
                what: describe(meta),
            })
        }
    };
    check(&std::fs::metadata(path).map_err(FileError::unreadable(path))?)?;
    let file = File::open(path).map_err(FileError::unreadable(path))?;
    let meta = file.metadata().map_err(FileError::unreadable(path))?;
    check(&meta)?;
    Ok((file, meta))
}

/// A folder whose files are read by name, never leaving it: the one way in for packets,
/// capture folders and peer folders, which come from other machines. A name must be relative
/// and plain (no `..`, no empty part); it may pass through links as long as where it ends is
/// inside the folder; it is read as [`read_capped`] reads (a regular file, through a cap).
#[derive(Debug, Clone)]
pub struct Folder {
    /// As given, for messages.
    shown: PathBuf,
    /// Resolved: every path read must resolve inside it.
    root: PathBuf,
}

impl Folder {
    pub fn open(dir: &Path) -> Result<Folder, FileError> {
        let root = dir.canonicalize().map_err(FileError::unreadable(dir))?;
        Ok(Folder {
            shown: dir.to_path_buf(),
            root,
        })
    }

    /// The path of `name` as a user would see it.
    pub fn shown(&self, name: &str) -> PathBuf {
        self.shown.join(name)
    }

    /// Where `name` resolves, when that is inside the folder.
    pub fn resolve(&self, name: &str) -> Result<PathBuf, FileError> {
        let shown = self.shown(name);
        let outside = || FileError::Outside {
            path: shown.clone(),
            folder: self.shown.clone(),
        };
        if !plain_name(name) {
            return Err(outside());
        }
        let real = self
            .root
            .join(name)
            .canonicalize()
            .map_err(FileError::unreadable(&shown))?;
        if !real.starts_with(&self.root) || real == self.root {
            return Err(outside());
        }
        Ok(real)
    }

    /// Whether `name` is there at all (a link out counts: reading it says why it is refused).
    pub fn has(&self, name: &str) -> bool {
        std::fs::symlink_metadata(self.shown(name)).is_ok()
    }

    /// Reads `name` through `cap`; errors name it as the user gave it.
    pub fn read(&self, name: &str, cap: u64) -> Result<Vec<u8>, FileError> {
        let real = self.resolve(name)?;
        read_capped(&real, cap, Kind::Regular).map_err(|e| e.renamed(self.shown(name)))
    }

    /// [`Folder::read`] as UTF-8 text.
    pub fn read_text(&self, name: &str, cap: u64) -> Result<String, FileError> {
        String::from_utf8(self.read(name, cap)?).map_err(|_| FileError::NotText {
            path: self.shown(name),
        })
    }

    /// The names of the folder's own entries, sorted (at most `cap` of them).
    pub fn names(&self, cap: usize) -> Result<Vec<String>, FileError> {
        let entries = std::fs::read_dir(&self.root).map_err(FileError::unreadable(&self.shown))?;
        let mut out: Vec<String> = entries
            .flatten()
            .take(cap)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        Ok(out)
    }
}

/// A relative name of plain parts: not empty, no leading `/`, no empty, `.` or `..` part, no
/// backslash or control character. Packet members and folder files are named so.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 4096
        && !name.chars().any(|c| c == '\\' || c.is_control())
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

impl FileError {
    /// The same error about `path` (the name a user gave rather than where it resolved).
    fn renamed(self, to: PathBuf) -> FileError {
        match self {
            FileError::Unreadable { source, .. } => FileError::Unreadable { path: to, source },
            FileError::NotRegular { what, .. } => FileError::NotRegular { path: to, what },
            FileError::TooLarge { cap, .. } => FileError::TooLarge { path: to, cap },
            FileError::NotText { .. } => FileError::NotText { path: to },
            e @ FileError::Outside { .. } => e,
        }
    }
}

/// Why a capped read failed.
#[derive(Debug)]
pub enum Capped {
    Io(std::io::Error),
    TooLarge,
}

/// Reads `r` to its end, or fails as soon as it has given more than `cap` bytes: a file that
/// grows while it is read, or a stream, cannot make kvscope read without end.
pub fn read_through_cap(r: impl Read, cap: u64) -> Result<Vec<u8>, Capped> {
    let mut out = Vec::new();
    r.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(Capped::Io)?;
    if out.len() as u64 > cap {
        return Err(Capped::TooLarge);
    }
    Ok(out)
}

/// [`read_capped`] as UTF-8 text.
pub fn read_text(path: &Path, cap: u64, kind: Kind) -> Result<String, FileError> {
    String::from_utf8(read_capped(path, cap, kind)?).map_err(|_| FileError::NotText {
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_pipes_are_refused_with_their_name() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20, Kind::Regular).unwrap_err();
        assert!(
            matches!(&e, FileError::NotRegular { what, .. } if *what == "a character device"),
            "{e:?}"
        );
        assert!(
            e.to_string().contains("/dev/zero is a character device"),
            "{e}"
        );
        let e = read_capped(Path::new("/dev/zero"), 1 << 20, Kind::RegularOrPipe).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let e = read_capped(Path::new("/"), 1 << 20, Kind::Regular).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_capped(Path::new("/no/such"), 1, Kind::Regular).unwrap_err();
        assert!(matches!(e, FileError::Unreadable { .. }), "{e:?}");
        assert!(e.to_string().starts_with("cannot read /no/such"), "{e}");
        // A FIFO nobody writes to: refused at once, not waited on.
        let dir = std::env::temp_dir().join(format!("kvscope-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo");
        let e = read_capped(&fifo, 1 << 20, Kind::Regular).unwrap_err();
        assert!(e.to_string().contains("a pipe (FIFO)"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Hand-made folders: links inside are followed, links out, `..`, absolute names, FIFOs
    /// and devices are refused, each naming the file as given.
    #[test]
    fn a_folder_gives_only_what_it_holds() {
        let base = std::env::temp_dir().join(format!("kvscope-folder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = base.join("in");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a"), "a").unwrap();
        std::fs::write(base.join("secret"), "s").unwrap();
        let link = |to: &Path, at: &str| std::os::unix::fs::symlink(to, dir.join(at)).unwrap();
        link(Path::new("sub/a"), "inside");
        link(&base.join("secret"), "out");
        link(Path::new("/dev/zero"), "zero");
        link(&base, "up");
        let f = Folder::open(&dir).unwrap();
        assert_eq!(f.read("sub/a", 10).unwrap(), b"a");
        assert_eq!(f.read("inside", 10).unwrap(), b"a");
        for bad in [
            "out",
            "zero",
            "up/secret",
            "../secret",
            "/etc/passwd",
            "",
            "sub/../sub/a",
            "sub//a",
        ] {
            let e = f.read(bad, 10).unwrap_err();
            assert!(matches!(e, FileError::Outside { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("not a file inside"), "{e}");
        }
        let made = std::process::Command::new("mkfifo")
            .arg(dir.join("fifo"))
            .status();
        assert!(made.is_ok_and(|s| s.success()));
        let e = f.read("fifo", 10).unwrap_err();
        assert!(e.to_string().contains("in/fifo is a pipe (FIFO)"), "{e}");
        let e = f.read("sub", 10).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        assert!(matches!(
            f.read("sub/a", 0),
            Err(FileError::TooLarge { .. })
        ));
        assert!(f.has("out") && !f.has("nothing"));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_cap_holds_for_files_and_streams() {
        let dir = std::env::temp_dir().join(format!("kvscope-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("big");
        std::fs::write(&f, vec![b'x'; 100]).unwrap();
        assert_eq!(read_capped(&f, 100, Kind::Regular).unwrap().len(), 100);
        let e = read_capped(&f, 99, Kind::Regular).unwrap_err();
        assert!(matches!(e, FileError::TooLarge { cap: 99, .. }), "{e:?}");
        assert!(e.to_string().contains("larger than 99 bytes"), "{e}");
        // An endless stream stops at the cap.
        assert!(matches!(
            read_through_cap(std::io::repeat(0), 4096),
            Err(Capped::TooLarge)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
