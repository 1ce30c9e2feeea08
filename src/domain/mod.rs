//! Pure domain code: no transport, no storage. The taxonomy, the policy model, the engine
//! that decides questions from a compiled registry, and the subject state it reads.

pub mod catalog;
pub mod decision;
pub mod diff;
pub mod engine;
pub mod geo;
pub mod policy;
pub mod subject;
pub mod taxonomy;
