//! The parts of the `realsig` command that its tests and fuzz targets use too. The command
//! itself is `src/main.rs`; an embedder wants the `realsig` library crate, not this one.

pub mod http_text;
pub mod proxy;
pub mod service;
pub mod skew;
