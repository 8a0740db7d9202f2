//! Procedural macros of the `rpc` crate. This crate is an implementation detail: depend on `rpc`.
