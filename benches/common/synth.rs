//! Large inputs made from the real capture's record and line shapes (LMCache 0.5.6, CPU run):
//! the trace's header, then its 275 real record frames over and over; the log's real lines
//! over and over. Shared by the evidence benchmark and the `evidence_synth` example.

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/lmcache-0.5.6-cpu-run1"
);

/// A `.lct` of the real header and at least `records` real record frames.
pub fn lct(records: usize) -> Vec<u8> {
    let real = std::fs::read(format!("{CAPTURE}/run.lct")).unwrap();
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos + 4 <= real.len() {
        let n = u32::from_be_bytes(real[pos..pos + 4].try_into().unwrap()) as usize;
        frames.push(&real[pos..pos + 4 + n]);
        pos += 4 + n;
    }
    let (header, records_real) = frames.split_first().unwrap();
    let mut out = header.to_vec();
    let mut n = 0;
    while n < records {
        for r in records_real {
            out.extend_from_slice(r);
        }
        n += records_real.len();
    }
    out
}

/// A log of at least `lines` real server log lines.
pub fn log(lines: usize) -> Vec<u8> {
    let real = std::fs::read(format!("{CAPTURE}/server.log")).unwrap();
    let per = real.iter().filter(|b| **b == b'\n').count();
    let mut out = Vec::with_capacity(real.len() * (lines / per + 1));
    while out.iter().filter(|b| **b == b'\n').count() < lines {
        for _ in 0..(lines / per + 1) {
            out.extend_from_slice(&real);
        }
    }
    out
}
