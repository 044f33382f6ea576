//! Writes the hostile corpus (`tests/hostile/corpus.rs`) to a folder, to look at or to seed a
//! fuzzer: `cargo run --example hostile_corpus -- DIR`. Each case is a subfolder; the planted
//! secret sits in `DIR/outside/`.

#[path = "../tests/hostile/corpus.rs"]
mod corpus;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: hostile_corpus DIR");
        std::process::exit(2);
    };
    let cases = corpus::build(std::path::Path::new(&dir));
    for c in &cases {
        println!("{} {:<32} {}", c.class, c.name, c.what);
    }
}
