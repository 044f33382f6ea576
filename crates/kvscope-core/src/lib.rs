//! kvscope's core: everything that turns evidence into answers, with no terminal, no network
//! and no async runtime. The `kvscope` package around it fetches, follows files, draws and
//! runs commands; every number it shows is made here, once.
//!
//! Layers, leaves first: `vocab`, `units`, `timefmt`, `sanitize`, `files`, `url` (leaves); `expo`
//! (the exposition parser), `catalog` (every family as data), `evidence` (trace, log, span and
//! lookup-hash decoders); `store` (per-target history); `analysis` (every number, the rule
//! pack); `model` (the one reducer); `report` (the headless answer); `packet` (record, write,
//! read, redact); `demo` (the bundled recording).

pub mod analysis;
pub mod capacity;
pub mod catalog;
pub mod demo;
pub mod evidence;
pub mod expo;
pub mod files;
pub mod model;
pub mod packet;
pub mod promql;
pub mod report;
pub mod rulefile;
pub mod sanitize;
pub mod store;
/// Hostile strings for property tests: this crate's tests, and the `kvscope` package's through
/// the `testgen` feature it turns on for its own tests.
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;
pub mod timefmt;
pub mod units;
pub mod url;
pub mod vocab;
