//! Writes the evidence benchmark's inputs, for comparing with other readers:
//! `cargo run --release --example evidence_synth DIR` writes `DIR/synth.lct` (over a million
//! records made of the real capture's frames) and `DIR/synth.log` (a million real lines).

#[path = "../benches/common/synth.rs"]
mod synth;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: evidence_synth DIR");
    let dir = std::path::Path::new(&dir);
    std::fs::write(dir.join("synth.lct"), synth::lct(1_000_000)).unwrap();
    std::fs::write(dir.join("synth.log"), synth::log(1_000_000)).unwrap();
}
