//! kvscope: inspect the KV-cache path of an LLM serving stack (LMCache + vLLM/SGLang).

pub mod catalog;
pub mod expo;
pub mod store;
