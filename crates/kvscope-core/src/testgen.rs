//! Hostile-input generation for property tests: deterministic (a seeded splitmix64), so a
//! failure names the case and reproduces. Strings mix ASCII, multi-byte and combining
//! characters, control and bidi characters, and huge digit runs, and mutate valid examples.

/// A deterministic source of hostile strings.
pub struct Gen(u64);

/// Pieces that break naive parsers: multi-byte characters at field boundaries, digits that are
/// not ASCII, escapes, huge numbers.
const PIECES: &[&str] = &[
    "é",
    "∞",
    "😀",
    "\u{301}",
    "٣",
    "\u{0}",
    "\u{1b}[2J",
    "\u{202e}",
    "\n",
    "\t",
    " ",
    "99999999999999999999",
    "1e309",
    "-0",
    "NaN",
    "inf",
    "+",
    "-",
    ":",
    ".",
    "@",
    "T",
    "Z",
    "/",
    "..",
    "%2e",
    "=",
];

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn piece(&mut self) -> String {
        match self.below(4) {
            0 => PIECES[self.below(PIECES.len())].to_string(),
            1 => char::from_u32(self.below(0x11_0000) as u32)
                .unwrap_or('\u{fffd}')
                .to_string(),
            2 => ((b' ' + self.below(95) as u8) as char).to_string(),
            _ => ((b'0' + self.below(10) as u8) as char).to_string(),
        }
    }

    /// A random string of up to `max` pieces.
    pub fn string(&mut self, max: usize) -> String {
        let n = self.below(max + 1);
        (0..n).map(|_| self.piece()).collect()
    }

    /// `base` with a few pieces inserted, replaced or removed at character boundaries.
    pub fn mutate(&mut self, base: &str) -> String {
        let mut chars: Vec<String> = base.chars().map(String::from).collect();
        for _ in 0..=self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(3) {
                0 => chars.insert(at, self.piece()),
                1 if at < chars.len() => chars[at] = self.piece(),
                _ if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.push(self.piece()),
            }
        }
        chars.concat()
    }

    /// Either a mutation of one of `examples` or a random string.
    pub fn hostile(&mut self, examples: &[&str]) -> String {
        if self.below(3) == 0 || examples.is_empty() {
            self.string(24)
        } else {
            let e = examples[self.below(examples.len())];
            self.mutate(e)
        }
    }
}
