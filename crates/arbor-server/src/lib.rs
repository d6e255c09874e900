//! The ACME front end (Boulder's "WFE"): HTTPS listener, routing with one file per RFC 8555
//! resource under [`routes`], JWS authentication and nonces ([`auth`], [`nonce`]), the
//! rendering of stored records into wire objects ([`render`]) and the one place where
//! errors become RFC 7807 problem documents ([`error`]).
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod error;
pub mod listener;
pub mod mtc;
pub mod mtc_issue;
pub mod nonce;
pub mod render;
pub mod routes;
pub mod state;

pub use listener::{serve_http, serve_https, tls_config};
pub use state::{AppState, FrontEndConfig, HostileKnobs};
