//! Dev-only test kit: starts a real Arbor CA in-process on 127.0.0.1 (HTTPS, SQLite in a
//! temp dir, a generated hierarchy, a driven clock) with an http-01 responder, and a raw
//! ACME client that can send well-formed and deliberately malformed requests.
#![forbid(unsafe_code)]

pub mod alpn;
pub mod ca;
pub mod pebble;
pub mod raw;

pub use alpn::AlpnResponder;
pub use ca::TestCa;
pub use pebble::{Pebble, PebbleOptions};
pub use raw::{Raw, Resp};
