//! kvscope: inspect the KV-cache path of an LLM serving stack (LMCache + vLLM/SGLang).

pub mod analysis;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod expo;
pub mod files;
pub mod fleet;
pub mod logfile;
pub mod model;
pub mod packet;
pub mod report;
pub mod sanitize;
pub mod serve;
pub mod sources;
pub mod store;
#[cfg(test)]
pub(crate) mod testgen;
pub mod timefmt;
pub mod tui;
pub mod units;
pub mod vocab;
