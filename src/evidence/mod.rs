//! Evidence beside the metrics: LMCache's storage trace (`.lct`), OTel span exports and the
//! server's and engine's logs, decoded from the bytes a source read. Pure, like `expo`: the
//! model feeds it what arrived and keeps the bounded results.

pub mod lct;
pub mod log;
pub mod msg;

#[cfg(test)]
mod tests;
