//! Lines out of bytes that arrive in pieces of any size: what the log readers share.

/// Cuts arriving bytes into lines of at most a given length: a longer line is cut there (and
/// said to be), a line whose end has not arrived waits for it.
#[derive(Debug, Default)]
pub struct Splitter {
    /// The start of a line whose end has not arrived.
    partial: Vec<u8>,
    /// The partial line grew past the longest kept: the rest of it is dropped.
    cutting: bool,
}

impl Splitter {
    /// Calls `each(line, cut)` for every line `bytes` completes (without its `\n`), `cut` when
    /// it was longer than `max` and is given up to it.
    pub fn push(&mut self, bytes: &[u8], max: usize, mut each: impl FnMut(&[u8], bool)) {
        let mut rest = bytes;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..nl];
            if self.partial.is_empty() && !self.cutting {
                each(&piece[..piece.len().min(max)], piece.len() > max);
            } else {
                self.extend(piece, max);
                let line = std::mem::take(&mut self.partial);
                each(&line, std::mem::take(&mut self.cutting));
            }
            rest = &rest[nl + 1..];
        }
        self.extend(rest, max);
    }

    fn extend(&mut self, piece: &[u8], max: usize) {
        let room = max.saturating_sub(self.partial.len());
        if piece.len() > room {
            self.cutting = true;
        }
        self.partial
            .extend_from_slice(&piece[..piece.len().min(room)]);
    }

    /// Bytes of a line whose end has not arrived (a file that does not end in a newline, or
    /// one still being written).
    pub fn pending(&self) -> usize {
        self.partial.len()
    }

    /// What follows is another file: a line cut off here is dropped.
    pub fn clear(&mut self) {
        self.partial.clear();
        self.cutting = false;
    }
}
