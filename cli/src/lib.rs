//! The parts of the `realsig` command that its tests and fuzz targets use too, and `realsig
//! proxy`'s library type ([`proxy::Proxy`]). The command itself is `src/main.rs`; an embedder
//! of the signer wants the `realsig` library crate, not this one.

pub mod apply;
pub mod http_text;
pub mod proxy;
pub mod service;
pub mod skew;
