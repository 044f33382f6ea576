//! A replay's clock as keys and pictures speak of it: what a key asks of it, how fast it runs,
//! and where it stands. Plain data, so the picture can carry it without the playback.

/// What the keys ask of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Play or pause (at the end, play starts again from the beginning).
    Toggle,
    /// Pause and move to the next capture (a scrape, or a failed one).
    Forward,
    /// Pause and move to the previous capture.
    Back,
    Faster,
    Slower,
    /// To the first capture.
    Start,
    /// To the last event, paused.
    End,
}

/// How fast packet time runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speed {
    X1,
    X10,
    X100,
    /// As fast as the reducer goes.
    Max,
}

impl Speed {
    const ORDER: [Speed; 4] = [Speed::X1, Speed::X10, Speed::X100, Speed::Max];

    /// Packet seconds per real second (`None`: as fast as possible).
    pub fn factor(self) -> Option<f64> {
        match self {
            Speed::X1 => Some(1.0),
            Speed::X10 => Some(10.0),
            Speed::X100 => Some(100.0),
            Speed::Max => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Speed::X1 => "1×",
            Speed::X10 => "10×",
            Speed::X100 => "100×",
            Speed::Max => "max",
        }
    }

    /// `1`, `10`, `100` (or `10x`, `10×`) or `max` (as `--speed` takes it).
    pub fn parse(text: &str) -> Result<Speed, String> {
        let number = text.strip_suffix(['x', '×']).unwrap_or(text);
        match if text == "max" { text } else { number } {
            "1" => Ok(Speed::X1),
            "10" => Ok(Speed::X10),
            "100" => Ok(Speed::X100),
            "max" => Ok(Speed::Max),
            _ => Err(format!(
                "'{text}' is not a replay speed (1, 10, 100 or max)"
            )),
        }
    }

    pub(super) fn shifted(self, up: bool) -> Speed {
        let i = Self::ORDER.iter().position(|s| *s == self).unwrap_or(0);
        let j = if up {
            (i + 1).min(Self::ORDER.len() - 1)
        } else {
            i.saturating_sub(1)
        };
        Self::ORDER[j]
    }
}

/// Where a replay is, for the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    /// Packet time now (seconds since the epoch): the clock the views use.
    pub now: f64,
    pub start: f64,
    pub end: f64,
    pub speed: Speed,
    pub playing: bool,
    /// Events applied, of `total`.
    pub applied: usize,
    pub total: usize,
}
