//! The provider's integration tests, one binary: each file beside this one
//! is a module. `no_crypto_provider.rs` is a binary of its own, since it
//! needs a process in which no test ever installed a crypto provider.

mod common;

mod api;
mod journal;
mod payer_flow;
mod statement;
