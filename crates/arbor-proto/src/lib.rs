//! Arbor's wire layer: the RFC 8555 objects, identifiers, problem types, JWS/JWK and
//! base64url. Pure: no I/O, no async, no clocks (times are passed in as Unix seconds).
//!
//! Every other Arbor crate speaks these types; the HTTP front end is the only place that
//! turns errors into [`problem::Problem`] documents.
#![forbid(unsafe_code)]

pub mod b64;
pub mod eab;
pub mod identifier;
pub mod jwk;
pub mod jws;
pub mod objects;
pub mod problem;
pub mod sign;

pub use identifier::{Identifier, IdentifierType};
pub use problem::{Problem, ProblemType};
