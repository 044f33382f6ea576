//! kvscope: inspect the KV-cache path of an LLM serving stack (LMCache + vLLM/SGLang).
//!
//! This package is the edge around [`kvscope_core`]: it fetches (`sources`), runs a session,
//! serves a packet on loopback (`serve`), draws (`tui`), reads the fleet (`fleet`) and runs
//! commands (`cli`). The core's modules are re-exported under their own names, so
//! `kvscope::analysis` and `crate::analysis` name the one implementation.

#[cfg(test)]
pub(crate) use kvscope_core::testgen;
pub use kvscope_core::{
    analysis, capacity, catalog, demo, evidence, expo, files, metric, model, named, packet, report,
    sanitize, store, timefmt, units, url, vocab,
};

pub mod cli;
pub mod config;
pub mod fleet;
pub mod logfile;
pub mod serve;
pub mod session;
pub mod sources;
pub mod tui;
