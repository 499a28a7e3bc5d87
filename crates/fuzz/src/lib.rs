//! Mutation fuzzing for Arbiter on stable Rust: the client-facing input paths (the message
//! decoder, the WebSocket frame reader, the client's patching, every built-in game's action
//! handling) run millions of mutated inputs, each inside `catch_unwind`, from a seeded RNG so
//! that a run is repeated exactly by its seed. See `docs/fuzzing.md`.
//!
//! There is no coverage instrumentation on stable, so this is a blind mutation fuzzer: its
//! reach comes from meaningful seeds and structure-aware mutations, not from feedback.

pub mod corpus;
pub mod mutate;
pub mod runner;
pub mod targets;

pub use runner::{Crash, Report, RunOptions, execute, run};
pub use targets::{Target, target, targets};
