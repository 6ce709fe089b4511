//! The authkit demo as a library, so that its tests can start it on a free port and
//! drive it over real HTTP. `cargo run -p authkit-examples --bin demo` serves it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod demo;

/// The README's Rust snippets, compiled (and run where they can be) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
